/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fc_metrics.h - Firecracker's metrics groups and field names (api_server,
 * block, net, vcpu, uart, i8042, put_api_requests, ... and the per-device
 * block_ID and net_ID groups) filled from vmon's counters, 0 where vmon
 * has no such event. Added to the metrics line beside vmon's own groups.
 */
#ifndef VMON_APP_FC_METRICS_H
#define VMON_APP_FC_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../api/api_counters.h"
#include "../virtio/runtime.h"

struct vm;

/* One drive's or interface's counters, by its API id. */
struct fc_dev_stats {
	const char *id;
	struct virtio_io_stats st;
};

struct fc_metrics_src {
	struct vm *vm; /* NULL before boot */
	const struct api_counters *requests;
	const struct fc_dev_stats *blk, *net;
	unsigned int nr_blk, nr_net;
};

/* Sets api_server.process_startup_time_us (@cpu: _cpu_us) to @us. */
void fc_metrics_startup(bool cpu, uint64_t us);

/* Adds Firecracker's groups to @m, with cumulative counts. */
void fc_metrics_add(json_t *m, const struct fc_metrics_src *src);

/*
 * Firecracker reports counters as increments since the previous line:
 * turns the counters of @m's Firecracker groups into differences from
 * *@prev (NULL: the first line), then makes *@prev the new cumulative
 * values. Values that are not counters (start-up times, latencies,
 * signals seen, minimum and maximum) are left as they are.
 */
void fc_metrics_since(json_t *m, json_t **prev);

#endif
