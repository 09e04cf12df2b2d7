// SPDX-License-Identifier: GPL-2.0-only
/*
 * entropy.c - PUT /entropy: the virtio-rng device (without a rate
 * limiter yet).
 */
#include "common.h"

static const char *const entropy_fields[] = { "rate_limiter", NULL };

int cfg_parse_entropy(struct api_config *n, json_t *body, char *err)
{
	struct rl_config rl = { 0 };

	if (api_check_fields(body, "entropy", entropy_fields, err) ||
	    api_parse_rl(body, "entropy", "rate_limiter", &rl, NULL, err))
		return -1;
	if (rl_config_enabled(&rl))
		return api_fail(
			err,
			"entropy: field `rate_limiter`: vmon's virtio-rng has no rate limiter yet");
	n->entropy_set = true;
	return 0;
}

int api_config_entropy(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_entropy(&n_, body, err));
}
