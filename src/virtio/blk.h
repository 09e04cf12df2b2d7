/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blk.h - the virtio-blk request parser (virtio 1.2, 5.2.6), separate from
 * the device so that unit tests and the fuzzer can feed it hostile chains.
 */
#ifndef VMON_VIRTIO_BLK_H
#define VMON_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WZ_F_UNMAP 1
/* Limits vmon advertises in the configuration space. */
#define VIRTIO_BLK_SEG_MAX (VIRTQ_MAX_SEGS - 2)
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1U << 22) /* 2 GiB */

/* What the device knows when it checks a request. */
struct blk_limits {
	uint64_t capacity; /* in 512-byte sectors */
	bool readonly;
	bool discard; /* VIRTIO_BLK_F_DISCARD offered */
	bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES offered */
};

/* A checked request: an operation on [offset, offset + len) of the image. */
struct blk_req {
	uint32_t type;
	uint64_t offset; /* bytes */
	uint64_t len; /* bytes of data (read, write, discard, zeroes) */
	bool unmap; /* write-zeroes may deallocate */
	uint8_t *status; /* the status byte in guest memory */
	unsigned int nr_iov; /* data buffers (read, write, get-id) */
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Checks chain @e against @lim and fills @r. Returns -1 if the chain has no
 * room for a header and a status byte (no status can be reported: the
 * device is broken), else the status to complete with at once
 * (VIRTIO_BLK_S_IOERR / _UNSUPP) or VIRTIO_BLK_S_OK if @r is to be done.
 */
int blk_parse(const struct virtq_elem *e, const struct blk_limits *lim,
	      struct blk_req *r);

#endif
