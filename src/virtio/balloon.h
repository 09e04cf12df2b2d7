/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * balloon.h - the run-time interface of the virtio-balloon device, for
 * the control plane: change the target, read what the guest reports.
 * All functions are thread-safe (they take the device lock).
 */
#ifndef VMON_VIRTIO_BALLOON_H
#define VMON_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;

/* Statistics tags (virtio 1.2, 5.5.6.3). */
enum balloon_stat {
	BALLOON_SWAP_IN,
	BALLOON_SWAP_OUT,
	BALLOON_MAJFLT,
	BALLOON_MINFLT,
	BALLOON_MEMFREE,
	BALLOON_MEMTOT,
	BALLOON_AVAIL,
	BALLOON_CACHES,
	BALLOON_HTLB_PGALLOC,
	BALLOON_HTLB_PGFAIL,
	BALLOON_NR_STATS
};

struct balloon_info {
	uint64_t target_bytes; /* what vmon asks the guest to give back */
	uint64_t actual_bytes; /* what the guest says it gave */
	uint64_t inflated_bytes; /* pages vmon returned to the host so far */
	uint64_t reported_bytes; /* free pages reported and returned */
	uint64_t stats[BALLOON_NR_STATS]; /* the guest's last statistics */
	bool have_stat[BALLOON_NR_STATS];
	unsigned int stats_updates; /* how many statistics updates came */
	/* Buffers handled on the inflate and deflate queues (metrics; not
	 * saved, they start at 0 after a restore). */
	uint64_t inflate_count, deflate_count;
	/* Free page hinting: the host's command (0 STOP, 1 DONE, else the
	 * run's id), the guest's last (if any), the bytes it hinted. */
	uint32_t host_cmd, guest_cmd;
	bool guest_cmd_seen;
	uint64_t hinted_bytes;
};

#define BALLOON_CMD_STOP 0
#define BALLOON_CMD_DONE 1
#define BALLOON_CMD_MIN 2

/* Sets the balloon's target size; the guest is told at once. */
int virtio_balloon_set_target(struct virtio_dev *d, uint64_t bytes);
void virtio_balloon_get(struct virtio_dev *d, struct balloon_info *out);
/*
 * Free page hinting (when configured; else -1): @start a run under a new
 * command id (@ack_on_stop: the guest's STOP ends it with DONE), or end
 * the current one (DONE: the guest frees the pages it held).
 */
int virtio_balloon_hint(struct virtio_dev *d, bool start, bool ack_on_stop);
/*
 * A new statistics interval (seconds, not 0), the next update requested
 * at once; -1 if the device was created without statistics.
 */
int virtio_balloon_set_stats_interval(struct virtio_dev *d,
				      unsigned int seconds);

#endif
