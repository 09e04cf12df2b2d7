/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * block.h - the interface between a block device model (virtio-blk) and
 * the host back-end that stores its image. A back-end (raw.c: a raw file
 * or block device through io_uring; qcow2.c: qcow2 images) implements struct
 * block_ops; the model only sees struct block and the calls below.
 *
 * Requests are vectored byte ranges, queued with block_submit(), sent to
 * the host with block_commit() and completed through the @done callback
 * that block_reap() (or block_drain()) calls, on the caller's thread.
 * The back-end signals the @event_fd the model gave it (an eventfd the
 * I/O thread watches) when completions wait for block_reap(). None of
 * these calls take a lock: the model serialises them (its device lock).
 */
#ifndef VMON_BLOCK_BLOCK_H
#define VMON_BLOCK_BLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_op {
	BLOCK_READ,
	BLOCK_WRITE,
	BLOCK_FLUSH, /* data written so far reaches stable storage */
	BLOCK_DISCARD, /* the range may be deallocated (a hint) */
	BLOCK_WRITE_ZEROES, /* the range reads as zeroes afterwards */
};

/* One request; the caller owns it (and its buffers) until @done. */
struct block_req {
	enum block_op op;
	uint64_t offset; /* bytes */
	uint64_t len; /* bytes (read, write, discard, write-zeroes) */
	bool unmap; /* write-zeroes may deallocate */
	/*
	 * Write: on stable storage before @done (a write-through cache). The
	 * generic layer follows the write with a flush of its range.
	 */
	bool fua;
	const struct iovec *iov; /* read and write data */
	unsigned int nr_iov;
	/* The generic layer's: a written fua request waiting for its flush. */
	bool fua_flushing;
	int fua_res; /* the write's result */
	struct block_req *fua_next;
	/* The back-end's, for the request's lifetime. */
	void *bounce;
	struct iovec biov;
	uint64_t bounce_done; /* bytes moved through the bounce buffer */
	struct block_req *bounce_next; /* waiting for a bounce buffer */
};

/*
 * Called once per submitted request, with @res the bytes transferred
 * (read, write) or 0, or -errno.
 */
typedef void (*block_done_fn)(void *opaque, struct block_req *r, int res);

/* The image format: probed from the header, or forced. */
enum block_format {
	BLOCK_FORMAT_AUTO,
	BLOCK_FORMAT_RAW,
	BLOCK_FORMAT_QCOW2,
};

struct block_params {
	const char *path;
	enum block_format format;
	bool readonly; /* opened read-only */
	bool direct; /* bypass the host page cache (O_DIRECT) */
	unsigned int depth; /* requests in flight at most */
	int event_fd; /* signalled when completions wait */
	block_done_fn done;
	void *opaque; /* passed to @done */
};

struct block;

/* One back-end. Every call returns 0 or -errno unless it says otherwise. */
struct block_ops {
	const char *name;
	/* Opens @p->path into @b (b->size set); @err gets "PATH: cause". */
	int (*open)(struct block *b, const struct block_params *p, char *err,
		    size_t errlen);
	/* Queues @r; -errno: not queued (nothing will complete). */
	int (*submit)(struct block *b, struct block_req *r);
	/* Sends what is queued to the host. */
	void (*commit)(struct block *b);
	/* Calls @done for each finished request; returns how many. */
	unsigned int (*reap)(struct block *b);
	/* Waits for one completion at least (nothing in flight: returns). */
	int (*wait)(struct block *b);
	void (*close)(struct block *b);
};

struct block {
	const struct block_ops *ops;
	uint64_t size; /* bytes */
	unsigned int inflight; /* submitted, not yet completed */
	block_done_fn done;
	void *opaque;
	void *priv; /* the back-end's */
	/* Dirty-block tracking (block_dirty.c): on, and its bitmap. */
	_Atomic(bool) dirty_on;
	_Atomic(uint64_t) *dirty;
	/* Written fua requests, flushed after the back-end's reap. */
	struct block_req *fua_head;
	/* A flush failed: every later one fails too (block.c). */
	bool flush_failed;
	char path[256]; /* for messages (cut if longer) */
};

/*
 * Opens the image @p names with the back-end of its format (a qcow2
 * header, unless @p->format says raw, picks qcow2). Returns NULL with
 * @err filled ("PATH: cause") on failure.
 */
struct block *block_open(const struct block_params *p, char *err,
			 size_t errlen);
/* Queues @r (0), or -errno: @r is not queued and @done is not called. */
int block_submit(struct block *b, struct block_req *r);
void block_commit(struct block *b);
/* Completes what has finished (calls @done); returns how many. */
unsigned int block_reap(struct block *b);
/* Waits until nothing is in flight, completing everything (calls @done). */
void block_drain(struct block *b);
/* Drains @b, then frees it. NULL is fine. */
void block_close(struct block *b);

/*
 * For the back-ends: @r finished with @res; marks what a write changed
 * (dirty tracking) and calls the model's @done. A flush that failed makes
 * every later flush of @b fail with -EIO (and says so once).
 */
void block_complete(struct block *b, struct block_req *r, int res);
#ifdef VMON_TEST_HOOKS
/* Test builds: the @n-th flush completed from now on fails (block.c). */
void block_test_fail_flush(long n);
#endif
/* block_complete()'s dirty tracking of @r (block_dirty.c). */
void block_dirty_mark(struct block *b, const struct block_req *r);

/*
 * Dirty-block tracking (block_dirty.c), for block migration: one bit per
 * BLOCK_DIRTY_CHUNK bytes of the image as the guest sees it, set when a
 * write, discard or write-zeroes completes (block_complete(), on the
 * model's thread), so a range read after its bit was collected is read
 * again if a write to it lands later. Collected from any thread (atomic
 * words). The bitmap lives until block_close() once started.
 */
#define BLOCK_DIRTY_CHUNK (64ULL << 10)
/* Bitmap words for @b (64 chunks a word). */
uint64_t block_dirty_words(const struct block *b);
/* Turns tracking on, every chunk clean. 0 or -ENOMEM. */
int block_dirty_start(struct block *b);
/* ORs the chunks written since the last collection into @bitmap, clears. */
void block_dirty_collect(struct block *b, uint64_t *bitmap);
void block_dirty_stop(struct block *b);

/* The back-ends. */
extern const struct block_ops block_raw_ops;
extern const struct block_ops block_qcow2_ops;
/*
 * The qcow2 engine (qcow2.h) under @b, NULL if @b is not a qcow2 image:
 * block migration reads and writes guest bytes through it, on the
 * thread that owns @b (or with that thread still).
 */
struct qcow2;
struct qcow2 *block_qcow2(struct block *b);

#endif
