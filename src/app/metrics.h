/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics.h - a VM's counters as one JSON object: VM exits by reason,
 * per-device access and byte counters (from the buses), vCPU time in the
 * guest vs in vmon, KVM's binary statistics (KVM_GET_STATS_FD), the
 * guest clock, and where guest RAM lives on the host (memstat.h). Written as JSON lines to the metrics file.
 */
#ifndef VMON_APP_METRICS_H
#define VMON_APP_METRICS_H

#include <jansson.h>

struct vm;

/* The current metrics of @vm (NULL: none running yet); new reference. */
json_t *metrics_collect(struct vm *vm);
/* Appends @m as one line to @fd; 0 or -1 (errno set). */
int metrics_write_line(int fd, json_t *m);

#endif
