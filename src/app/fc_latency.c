// SPDX-License-Identifier: GPL-2.0-only
/*
 * fc_latency.c - the last duration of each operation that Firecracker's
 * `latencies_us` metrics group reports (fc_latency.h), kept in atomics: the
 * API thread records, the metrics writer reads.
 */
#include <stdatomic.h>
#include <time.h>

#include "fc_latency.h"

static _Atomic uint64_t op_us[FC_LAT_NR], vmm_us[FC_LAT_NR];

/* Firecracker's field names: the operation's, then the VMM part's. */
static const char *const names[FC_LAT_NR][2] = {
	[FC_LAT_PAUSE] = { "pause_vm", "vmm_pause_vm" },
	[FC_LAT_RESUME] = { "resume_vm", "vmm_resume_vm" },
	[FC_LAT_FULL_SNAPSHOT] = { "full_create_snapshot",
				   "vmm_full_create_snapshot" },
	[FC_LAT_DIFF_SNAPSHOT] = { "diff_create_snapshot",
				   "vmm_diff_create_snapshot" },
	[FC_LAT_LOAD_SNAPSHOT] = { "load_snapshot", "vmm_load_snapshot" },
};

uint64_t fc_latency_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void fc_latency_record(enum fc_latency which, uint64_t op_start,
		       uint64_t vmm_start)
{
	uint64_t now = fc_latency_now();

	if (which >= FC_LAT_NR)
		return;
	atomic_store_explicit(&op_us[which], (now - op_start) / 1000,
			      memory_order_relaxed);
	atomic_store_explicit(&vmm_us[which], (now - vmm_start) / 1000,
			      memory_order_relaxed);
}

void fc_latency_json(json_t *g)
{
	for (int i = 0; i < FC_LAT_NR; i++) {
		json_object_set_new(
			g, names[i][0],
			json_integer((json_int_t)atomic_load_explicit(
				&op_us[i], memory_order_relaxed)));
		json_object_set_new(
			g, names[i][1],
			json_integer((json_int_t)atomic_load_explicit(
				&vmm_us[i], memory_order_relaxed)));
	}
}
