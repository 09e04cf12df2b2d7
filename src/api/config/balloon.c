// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon.c - PUT/PATCH/GET /balloon and PATCH /balloon/statistics: the
 * target in MiB, the statistics interval, free page reporting and hinting, checked by the balloon
 * validator (the target against the memory at PUT time, as Firecracker).
 */
#include <string.h>

#include "common.h"
#include "object.h"

static const struct api_field balloon_keys[] = {
	{ "size", "amount_mib" },
	{ "stats_interval", "stats_polling_interval_s" },
	{ NULL, NULL },
};

static const char *const balloon_fields[] = {
	"amount_mib",	     "deflate_on_oom",	    "stats_polling_interval_s",
	"free_page_hinting", "free_page_reporting", NULL
};

int cfg_parse_balloon(struct api_config *n, json_t *body, char *err)
{
	struct balloon_config b;
	struct config_err e;
	uint64_t mib = 0, interval = 0;

	memset(&b, 0, sizeof(b));
	if (api_check_fields(body, "balloon", balloon_fields, err) ||
	    api_get_uint(body, "balloon", "amount_mib", true, 0,
			 API_MAX_MEM_MIB, &mib, NULL, err) ||
	    api_get_uint(body, "balloon", "stats_polling_interval_s", false, 0,
			 UINT32_MAX, &interval, NULL, err) ||
	    api_get_bool(body, "balloon", "free_page_hinting", &b.hinting,
			 err) ||
	    api_get_bool(body, "balloon", "free_page_reporting", &b.reporting,
			 err))
		return -1;
	if (!json_object_get(body, "deflate_on_oom"))
		return api_fail(err, "balloon: missing field `deflate_on_oom`");
	if (api_get_bool(body, "balloon", "deflate_on_oom", &b.deflate_on_oom,
			 err))
		return -1;
	if (n->huge_pages && !strcmp(n->huge_pages, "2M"))
		return api_fail(
			err,
			"balloon: the balloon device is incompatible with huge pages 2M (as in Firecracker)");
	b.enabled = true;
	b.size = mib << 20;
	b.stats_interval = (unsigned int)interval;
	if (config_check_balloon(&b, n->mem_size_mib << 20, &e))
		return api_config_err(err, "balloon", &e, balloon_keys);
	n->balloon = b;
	n->balloon_mib = mib;
	n->balloon_set = true;
	return 0;
}

int api_config_balloon(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_balloon(n_, body, err));
}

static const char *const balloon_patch_fields[] = { "amount_mib", NULL };
static const char *const balloon_stats_fields[] = { "stats_polling_interval_s",
						    NULL };

int api_config_balloon_amount(const struct api_config *c, json_t *body,
			      uint64_t *mib, char *err)
{
	struct balloon_config b = c->balloon;
	struct config_err e;

	if (!c->balloon_set)
		return api_fail(err,
				"balloon: no balloon device is configured");
	if (api_check_fields(body, "balloon", balloon_patch_fields, err) ||
	    api_get_uint(body, "balloon", "amount_mib", true, 0,
			 API_MAX_MEM_MIB, mib, NULL, err))
		return -1;
	b.size = *mib << 20;
	if (config_check_balloon(&b, c->mem_size_mib << 20, &e))
		return api_config_err(err, "balloon", &e, balloon_keys);
	return 0;
}

int api_config_balloon_interval(const struct api_config *c, json_t *body,
				unsigned int *seconds, char *err)
{
	const char *what = "balloon/statistics";
	struct config_err e;
	uint64_t s = 0;

	if (!c->balloon_set)
		return api_fail(err, "%s: no balloon device is configured",
				what);
	if (api_check_fields(body, what, balloon_stats_fields, err) ||
	    api_get_uint(body, what, "stats_polling_interval_s", true, 0,
			 UINT32_MAX, &s, NULL, err))
		return -1;
	if (config_check_stats_interval(s, &e))
		return api_config_err(err, what, &e, balloon_keys);
	*seconds = (unsigned int)s;
	return 0;
}

int api_config_balloon_hint_start(json_t *body, bool *ack, char *err)
{
	static const char *const fields[] = { "acknowledge_on_stop", NULL };
	const char *what = "balloon/hinting/start";

	return api_check_fields(body, what, fields, err) ||
			       api_get_bool(body, what, "acknowledge_on_stop",
					    ack, err) ?
		       -1 :
		       0;
}

json_t *api_config_balloon_json(const struct api_config *c)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib",
			 (json_int_t)c->balloon_mib, "deflate_on_oom",
			 c->balloon.deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)c->balloon.stats_interval,
			 "free_page_hinting", c->balloon.hinting,
			 "free_page_reporting", c->balloon.reporting);
}

static void balloon_json(const struct api_config *c, json_t *j)
{
	if (c->balloon_set)
		json_object_set_new(j, "balloon", api_config_balloon_json(c));
}

static const struct api_object balloon_object = {
	.key = "balloon",
	.order = 40,
	.parse = cfg_parse_balloon,
	.json = balloon_json,
};
API_OBJECT(balloon_object);
