// SPDX-License-Identifier: GPL-2.0-only
/*
 * entropy.c - PUT /entropy: the virtio-rng device and its rate limiter.
 */
#include "common.h"

static const char *const entropy_fields[] = { "rate_limiter", NULL };

int cfg_parse_entropy(struct api_config *n, json_t *body, char *err)
{
	struct rl_config rl = { 0 };

	if (api_check_fields(body, "entropy", entropy_fields, err) ||
	    api_parse_rl(body, "entropy", "rate_limiter", &rl, NULL, err))
		return -1;
	n->entropy_rl = rl;
	n->entropy_set = true;
	return 0;
}

int api_config_entropy(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_entropy(&n_, body, err));
}

json_t *cfg_entropy_json(const struct api_config *c)
{
	json_t *e = json_object();

	api_rl_json(e, "rate_limiter", &c->entropy_rl);
	return e;
}
