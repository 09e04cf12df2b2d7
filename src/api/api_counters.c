// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_counters.c - counts API requests by Firecracker's metric names (see
 * api_counters.h). Relaxed atomics: the router counts under its lock, the
 * metrics writer reads from any thread.
 */
#include "api_counters.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct counter_def {
	const char *method;
	const char *path; /* exact; "/KEY/": /KEY/{id} */
	const char *group; /* "get", "put" or "patch" */
	const char *name; /* the metric's name without _count / _fails */
};

static const struct counter_def defs[APC_NR] = {
	[APC_GET_INSTANCE_INFO] = { "GET", "/", "get", "instance_info" },
	[APC_GET_MACHINE_CFG] = { "GET", "/machine-config", "get",
				  "machine_cfg" },
	[APC_GET_MMDS] = { "GET", "/mmds", "get", "mmds" },
	[APC_GET_VMM_VERSION] = { "GET", "/version", "get", "vmm_version" },
	[APC_PUT_ACTIONS] = { "PUT", "/actions", "put", "actions" },
	[APC_PUT_BOOT_SOURCE] = { "PUT", "/boot-source", "put", "boot_source" },
	[APC_PUT_DRIVE] = { "PUT", "/drives/", "put", "drive" },
	[APC_PUT_LOGGER] = { "PUT", "/logger", "put", "logger" },
	[APC_PUT_MACHINE_CFG] = { "PUT", "/machine-config", "put",
				  "machine_cfg" },
	[APC_PUT_CPU_CFG] = { "PUT", "/cpu-config", "put", "cpu_cfg" },
	[APC_PUT_METRICS] = { "PUT", "/metrics", "put", "metrics" },
	[APC_PUT_NETWORK] = { "PUT", "/network-interfaces/", "put", "network" },
	[APC_PUT_MMDS] = { "PUT", "/mmds", "put", "mmds" },
	[APC_PUT_VSOCK] = { "PUT", "/vsock", "put", "vsock" },
	[APC_PATCH_DRIVE] = { "PATCH", "/drives/", "patch", "drive" },
	[APC_PATCH_NETWORK] = { "PATCH", "/network-interfaces/", "patch",
				"network" },
	[APC_PATCH_MACHINE_CFG] = { "PATCH", "/machine-config", "patch",
				    "machine_cfg" },
	[APC_PATCH_MMDS] = { "PATCH", "/mmds", "patch", "mmds" },
};

static bool path_is(const char *def, const char *path)
{
	size_t l = strlen(def);

	if (l > 1 && def[l - 1] == '/')
		return !strncmp(path, def, l) && path[l] &&
		       !strchr(path + l, '/');
	return !strcmp(path, def);
}

void api_count(struct api_counters *c, const char *method, const char *path,
	       unsigned int status)
{
	for (int i = 0; i < APC_NR; i++) {
		if (strcmp(defs[i].method, method) != 0 ||
		    !path_is(defs[i].path, path))
			continue;
		__atomic_fetch_add(&c->count[i], 1, __ATOMIC_RELAXED);
		if (status >= 400)
			__atomic_fetch_add(&c->fails[i], 1, __ATOMIC_RELAXED);
		return;
	}
}

/* The fields Firecracker's API marks deprecated, by request. */
static const struct {
	const char *method, *path, *field;
} deprecated[] = {
	{ "PUT", "/vsock", "vsock_id" },
	{ "PUT", "/snapshot/load", "mem_file_path" },
	{ "PUT", "/snapshot/load", "enable_diff_snapshots" },
};

bool api_count_deprecated(struct api_counters *c, const char *method,
			  const char *path, const char *body, size_t len,
			  unsigned int status)
{
	json_t *j = NULL;
	bool used = false;

	if (status >= 300 || !body || !len)
		return false;
	for (size_t i = 0; i < sizeof(deprecated) / sizeof(*deprecated); i++) {
		if (strcmp(method, deprecated[i].method) != 0 ||
		    strcmp(path, deprecated[i].path) != 0)
			continue;
		if (!j)
			j = json_loadb(body, len, 0, NULL);
		if (json_object_get(j, deprecated[i].field))
			used = true;
	}
	json_decref(j);
	if (used)
		__atomic_fetch_add(&c->deprecated, 1, __ATOMIC_RELAXED);
	return used;
}

static void set_u64(json_t *g, const char *key, const uint64_t *v)
{
	json_object_set_new(
		g, key,
		json_integer((json_int_t)__atomic_load_n(v, __ATOMIC_RELAXED)));
}

void api_counters_json(const struct api_counters *c, json_t *m)
{
	static const char *const groups[][2] = {
		{ "get", "get_api_requests" },
		{ "put", "put_api_requests" },
		{ "patch", "patch_api_requests" },
	};

	for (size_t k = 0; k < sizeof(groups) / sizeof(*groups); k++) {
		json_t *g = json_object();

		for (int i = 0; i < APC_NR; i++) {
			char key[64];

			if (strcmp(defs[i].group, groups[k][0]) != 0)
				continue;
			snprintf(key, sizeof(key), "%s_count", defs[i].name);
			set_u64(g, key, &c->count[i]);
			/* Firecracker counts no failures of GET requests. */
			if (k == 0)
				continue;
			snprintf(key, sizeof(key), "%s_fails", defs[i].name);
			set_u64(g, key, &c->fails[i]);
		}
		json_object_set_new(m, groups[k][1], g);
	}
}
