/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qcow2_blk.h - the qcow2 block back-end's state, shared by its two
 * files: qcow2_blk.c (the block_ops, reads, in-place writes, flushes and
 * the engine's requests) and qcow2_awrite.c (allocating writes through
 * io_uring). Nothing else includes it.
 */
#ifndef VMON_BLOCK_QCOW2_BLK_H
#define VMON_BLOCK_QCOW2_BLK_H

#include <liburing.h>

#include "block.h"
#include "qcow2.h"

/* What a completion's user data points to: a struct qseg or qalloc,
 * both starting with it, or the back-end's early writeback, or the
 * fdatasync of a flush with metadata to write. */
enum qtag_kind { QT_SEG, QT_ALLOC, QT_WRITEBACK, QT_FLUSH };
struct qtag {
	enum qtag_kind kind;
};

/* One host extent of a request: contiguous in the file. */
struct qseg {
	struct qtag tag;
	struct qreq *q;
	unsigned int iov0, niov; /* its slices in q->iov */
	int fd; /* the image's, or a backing file's (reads) */
	uint64_t at; /* where it starts in the request's bytes */
	uint64_t host, len;
};

/* A request on io_uring (in its block_req's @bounce). */
struct qreq {
	struct block_req *r;
	unsigned int pending; /* segments and allocations in flight */
	int err;
	uint64_t len;
	unsigned int nseg, niov;
	struct qseg *seg;
	struct iovec *iov;
};

struct qalloc;

struct qcow2_blk {
	struct qcow2 *q;
	int efd;
	struct io_uring ring;
	unsigned int ring_size;
	unsigned int sqes; /* in flight on the ring */
	struct block_req *head, *tail; /* done, waiting for reap() */
	/* Allocating writes (qcow2_awrite.c). */
	struct qalloc *active; /* clusters being allocated */
	unsigned int nalloc;
	struct qalloc *ready, *ready_tail; /* I/O done, next step waits */
	struct block_req *wait, *wait_tail; /* for a cluster being allocated */
	/* Early writeback (qcow2_blk.c): bytes written to the image since
	 * the last one started, the file range they span, and the one in
	 * flight (at most one). */
	uint64_t wb_bytes, wb_lo, wb_hi;
	uint64_t wb_started; /* how many, for the tests */
	bool wb_busy;
	struct qtag wb_tag;
	/* A flush with metadata to write (qcow2_blk.c): the engine's steps
	 * with their fdatasyncs on the ring (NULL: none). Requests submitted
	 * meanwhile are held, in order, and the allocations' next steps wait
	 * (the engine is not changed between the steps). */
	struct block_req *fl;
	struct qtag fl_tag;
	bool fl_synced; /* its fdatasync ended (@fl_res): next step */
	int fl_res;
	struct block_req *held, *held_tail;
	uint64_t fl_async; /* flushes that waited for a sync, for the tests */
};

/* @len bytes were written to the image file at @host (early writeback). */
void qb_written(struct qcow2_blk *s, uint64_t host, uint64_t len);
/* @r finished with @res: on the done list until reap(). */
void qb_finished(struct qcow2_blk *s, struct block_req *r, int res);
/* One of @q's segments or allocations ended: @q completes at the last. */
void qb_put(struct qcow2_blk *s, struct qreq *q);
/* Moves what the ring completed to the done list (an allocation's to
 * its ready list); returns how many. */
unsigned int qb_take_cqes(struct qcow2_blk *s);
/* The engine's drain hook: every io_uring request ends first (before it
 * frees clusters). @opaque: the back-end. */
void qb_drain_ring(void *opaque);
/* A submission queue entry (the queue sent to the kernel when full):
 * may complete segments of other requests, not of one being queued
 * (qb_awrite() holds a reference; map()'s queue has room). */
struct io_uring_sqe *qb_sqe(struct qcow2_blk *s);
/* Adds @len bytes of request byte @at at @host of @fd to @q's segments
 * (merged with the last one when contiguous): false if @max are used. */
bool qb_add_seg(struct qreq *q, unsigned int max, int fd, uint64_t at,
		uint64_t host, uint64_t len);
/* Cuts @q->r's buffers into each segment's slices (q->iov). */
void qb_slice_iov(struct qreq *q);
/* Queues @q's segments on the ring. */
void qb_queue(struct qcow2_blk *s, struct qreq *q);
/* The bytes @r moves: its length, or less if its buffers are shorter. */
uint64_t qb_rw_len(const struct block_req *r);

/*
 * A write with clusters to allocate (qcow2_awrite.c): queued (or waiting
 * for a cluster another write allocates), or finished with an error.
 */
void qb_awrite(struct qcow2_blk *s, struct block_req *r);
/* An allocation's I/O completed (from the ring): its next step waits. */
void qb_alloc_io_done(struct qcow2_blk *s, struct qalloc *a, int res);
/* Runs the waiting next steps (never inside the engine). */
void qb_alloc_run(struct qcow2_blk *s);
/* Waits until no allocation is in flight (before the engine clears
 * entries: discard, write-zeroes). */
void qb_alloc_settle(struct qcow2_blk *s);

#endif
