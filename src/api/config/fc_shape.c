// SPDX-License-Identifier: GPL-2.0-only
/*
 * fc_shape.c - GET /vm/config in Firecracker's shape: every section and
 * every key of Firecracker's configuration objects present, null where
 * unset, and its enum spellings ("Warning", not "warning"), so a saved
 * configuration replays as a --config-file. vmon's own extra keys stay.
 */
#include <string.h>
#include <strings.h>

#include "common.h"

/* A section (or list item) and the keys Firecracker always writes. */
struct fc_keys {
	const char *section;
	bool list;
	const char *keys[10];
};

static const struct fc_keys fc_sections[] = {
	{ "boot-source",
	  false,
	  { "kernel_image_path", "initrd_path", "boot_args" } },
	{ "machine-config",
	  false,
	  { "vcpu_count", "mem_size_mib", "smt", "cpu_template",
	    "track_dirty_pages", "huge_pages" } },
	{ "logger",
	  false,
	  { "log_path", "level", "show_level", "show_log_origin", "module" } },
	{ "metrics", false, { "metrics_path" } },
	{ "drives",
	  true,
	  { "drive_id", "partuuid", "is_root_device", "cache_type",
	    "is_read_only", "path_on_host", "rate_limiter", "io_engine",
	    "socket" } },
	{ "network-interfaces",
	  true,
	  { "iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
	    "tx_rate_limiter" } },
	{ "vsock", false, { "vsock_id", "guest_cid", "uds_path" } },
	{ "balloon",
	  false,
	  { "amount_mib", "deflate_on_oom", "stats_polling_interval_s" } },
	{ "entropy", false, { "rate_limiter" } },
	{ "cpu-config", false, { NULL } },
	{ "mmds-config", false, { NULL } },
};

/* A rate limiter's buckets, and a bucket's keys. */
static void fill_rate_limiter(json_t *rl)
{
	static const char *const buckets[] = { "bandwidth", "ops" };

	if (!json_is_object(rl))
		return;
	for (size_t i = 0; i < 2; i++) {
		json_t *b = json_object_get(rl, buckets[i]);

		if (!b)
			json_object_set_new(rl, buckets[i], json_null());
		else if (!json_object_get(b, "one_time_burst"))
			json_object_set_new(b, "one_time_burst", json_null());
	}
}

static void fill_object(json_t *o, const char *const *keys)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return;
	for (size_t i = 0; i < 10 && keys[i]; i++)
		if (!json_object_get(o, keys[i]))
			json_object_set_new(o, keys[i], json_null());
	json_object_foreach(o, key, v)
	{
		if (strstr(key, "rate_limiter"))
			fill_rate_limiter(v);
	}
}

/* Firecracker's spelling of a log level given in any case. */
static void normalise_level(json_t *logger)
{
	static const char *const levels[] = { "Off",  "Error", "Warning",
					      "Info", "Debug", "Trace" };
	const char *l = json_string_value(json_object_get(logger, "level"));

	for (size_t i = 0; l && i < sizeof(levels) / sizeof(*levels); i++)
		if (!strcasecmp(l, levels[i])) {
			json_object_set_new(logger, "level",
					    json_string(levels[i]));
			return;
		}
}

void api_fc_shape(json_t *full)
{
	for (size_t i = 0; i < sizeof(fc_sections) / sizeof(*fc_sections);
	     i++) {
		const struct fc_keys *s = &fc_sections[i];
		json_t *v = json_object_get(full, s->section);
		size_t k;
		json_t *e;

		if (!v) {
			json_object_set_new(full, s->section,
					    s->list ? json_array() :
						      json_null());
			continue;
		}
		if (!s->list) {
			fill_object(v, s->keys);
			continue;
		}
		json_array_foreach(v, k, e) fill_object(e, s->keys);
	}
	normalise_level(json_object_get(full, "logger"));
}
