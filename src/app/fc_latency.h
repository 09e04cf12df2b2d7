/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fc_latency.h - the durations behind Firecracker's `latencies_us` metrics
 * group: the last pause, resume, snapshot create (Full, Diff) and load, each
 * twice, as Firecracker has them: the whole API operation (`pause_vm`...)
 * and the VMM's own part of it (`vmm_pause_vm`...).
 */
#ifndef VMON_APP_FC_LATENCY_H
#define VMON_APP_FC_LATENCY_H

#include <jansson.h>
#include <stdint.h>

enum fc_latency {
	FC_LAT_PAUSE,
	FC_LAT_RESUME,
	FC_LAT_FULL_SNAPSHOT,
	FC_LAT_DIFF_SNAPSHOT,
	FC_LAT_LOAD_SNAPSHOT,
	FC_LAT_NR
};

/* CLOCK_MONOTONIC now, in ns: what the two calls below take as a start. */
uint64_t fc_latency_now(void);
/* The operation @which began at @op_start and its VMM part at @vmm_start. */
void fc_latency_record(enum fc_latency which, uint64_t op_start,
		       uint64_t vmm_start);
/* Sets the fields of the `latencies_us` group @g (0 until one happened). */
void fc_latency_json(json_t *g);

#endif
