/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_counters.h - how many API requests of each kind an instance served
 * and how many of them failed, by Firecracker's names for them (its
 * get_api_requests, put_api_requests and patch_api_requests metrics).
 * Counted by the router, read by the metrics writer on any thread.
 */
#ifndef VMON_API_API_COUNTERS_H
#define VMON_API_API_COUNTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_counter {
	APC_GET_INSTANCE_INFO,
	APC_GET_MACHINE_CFG,
	APC_GET_MMDS,
	APC_GET_VMM_VERSION,
	APC_PUT_ACTIONS,
	APC_PUT_BOOT_SOURCE,
	APC_PUT_DRIVE,
	APC_PUT_LOGGER,
	APC_PUT_MACHINE_CFG,
	APC_PUT_CPU_CFG,
	APC_PUT_METRICS,
	APC_PUT_NETWORK,
	APC_PUT_MMDS,
	APC_PUT_VSOCK,
	APC_PATCH_DRIVE,
	APC_PATCH_NETWORK,
	APC_PATCH_MACHINE_CFG,
	APC_PATCH_MMDS,
	APC_NR
};

struct api_counters {
	uint64_t count[APC_NR];
	uint64_t fails[APC_NR];
	uint64_t deprecated; /* requests that used a deprecated field */
};

/* Counts a request answered with @status (>= 400: also a failure). */
void api_count(struct api_counters *c, const char *method, const char *path,
	       unsigned int status);
/*
 * Whether a successful request used a field Firecracker deprecates (its
 * response then carries "Deprecation: true"); counts it if so.
 */
bool api_count_deprecated(struct api_counters *c, const char *method,
			  const char *path, const char *body, size_t len,
			  unsigned int status);
/*
 * Adds Firecracker's get_api_requests, put_api_requests and
 * patch_api_requests groups (cumulative counts) to @m.
 */
void api_counters_json(const struct api_counters *c, json_t *m);

#endif
