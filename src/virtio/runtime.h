/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * runtime.h - run-time control of the virtio-blk and virtio-net devices
 * for the control plane (PATCH /drives, PATCH /network-interfaces): rate
 * limiters, the disk's backing file, and the I/O counters of the metrics
 * (also those of virtio-vsock and virtio-rng).
 * Thread-safe: each takes the device lock; none waits for the guest.
 */
#ifndef VMON_VIRTIO_RUNTIME_H
#define VMON_VIRTIO_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "../util/ratelimit.h"

struct virtio_dev;

/* Requests and bytes each way, and the rate limiters' waits. */
struct virtio_io_stats {
	uint64_t in_ops, in_bytes; /* blk: reads; net: frames received */
	uint64_t out_ops, out_bytes; /* blk: writes; net: frames sent */
	uint64_t other_ops; /* blk: flush, discard, write-zeroes, get-id */
	uint64_t throttled; /* blk; net: transmit */
	uint64_t throttled_ns;
	uint64_t rx_throttled; /* net: receive */
	uint64_t rx_throttled_ns;
};

/*
 * Reopens the disk on @path (same read-only and O_DIRECT modes), after
 * the requests in flight completed, and tells the guest its capacity may
 * have changed. Returns 0, or -1 with @err (the old file stays).
 */
int virtio_blk_set_path(struct virtio_dev *d, const char *path, char *err,
			size_t errlen);
/*
 * Block migration: the disk's back-end (its format, its dirty tracking)
 * and its image path into @path; both stay while no
 * virtio_blk_set_path() runs.
 */
struct block;
struct block *virtio_blk_block(struct virtio_dev *d, char *path, size_t len);
/* Replaces the disk's rate limiter (buckets start full). */
void virtio_blk_set_rate_limiter(struct virtio_dev *d,
				 const struct rl_config *rl);
void virtio_blk_stats(struct virtio_dev *d, struct virtio_io_stats *out);

void virtio_net_set_rate_limiters(struct virtio_dev *d,
				  const struct rl_config *rx,
				  const struct rl_config *tx);
void virtio_net_stats(struct virtio_dev *d, struct virtio_io_stats *out);

/* virtio-vsock: packets and bytes each way (rx: to the guest). */
struct virtio_vsock_stats {
	uint64_t rx_packets, rx_bytes; /* bytes: stream payload only */
	uint64_t tx_packets, tx_bytes;
	uint64_t conns_added, conns_removed;
	uint64_t rx_read_fails; /* host socket reads that failed */
	uint64_t tx_write_fails; /* host socket writes that failed */
};
void virtio_vsock_stats(struct virtio_dev *d, struct virtio_vsock_stats *out);

/* virtio-rng: buffers filled, their bytes, failures and limiter waits. */
struct virtio_rng_stats {
	uint64_t events, bytes, host_fails, throttled;
};
void virtio_rng_stats(struct virtio_dev *d, struct virtio_rng_stats *out);

#endif
