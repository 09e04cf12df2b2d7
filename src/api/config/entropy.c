// SPDX-License-Identifier: GPL-2.0-only
/*
 * entropy.c - PUT /entropy: the virtio-rng device and its rate limiter,
 * kept in api_config.devices; its --config-file section and its part of
 * GET /vm/config. A registered object (object.h): nothing else names it.
 */
#include "common.h"
#include "object.h"

static const char *const entropy_fields[] = { "rate_limiter", NULL };

static int cfg_parse_entropy(struct api_config *n, json_t *body, char *err)
{
	struct rl_config rl = { 0 };

	if (api_check_fields(body, "entropy", entropy_fields, err) ||
	    api_parse_rl(body, "entropy", "rate_limiter", &rl, NULL, err))
		return -1;
	n->devices.rng_rl = rl;
	n->devices.rng = true;
	return 0;
}

static json_t *cfg_entropy_json(const struct api_config *c)
{
	json_t *e = json_object();

	api_rl_json(e, "rate_limiter", &c->devices.rng_rl);
	return e;
}

static void entropy_json(const struct api_config *c, json_t *j)
{
	if (c->devices.rng)
		json_object_set_new(j, "entropy", cfg_entropy_json(c));
}

static const struct api_object entropy_object = {
	.key = "entropy",
	.order = 50,
	.parse = cfg_parse_entropy,
	.json = entropy_json,
};
API_OBJECT(entropy_object);
