/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * outq.h - a bounded output queue with a writer thread of its own, for
 * what a guest prints (the UART's and virtio-console's output). Putting
 * bytes never blocks: it takes what fits. The writer writes them to the
 * output descriptor (blocking there if it must), no faster than the rate
 * limit, and drops (and counts) what comes after the size cap. Closing
 * gives the writer a grace period to write the rest, then leaves it
 * behind if the output does not drain (a stuck terminal cannot hold up
 * vmon's exit). Producers writing to the same output share one queue
 * (outq_params.share): their bytes go out in the order they were put,
 * under one rate limit, and each has its own room callback. Thread-safe.
 */
#ifndef VMON_UTIL_OUTQ_H
#define VMON_UTIL_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq_params {
	int fd; /* where the bytes go; the caller keeps it open */
	size_t size; /* buffered bytes at most */
	uint64_t rate; /* bytes per second, bursts of one second; 0: none */
	uint64_t max_bytes; /* written at most, later bytes dropped; 0: none */
	/*
	 * Called on the writer thread, without the queue's lock, when the
	 * free space reaches @room_mark again after a put left less.
	 */
	void (*room)(void *opaque);
	void *opaque;
	size_t room_mark;
	const char *name; /* for messages ("serial", "virtio-console") */
	/*
	 * Another producer's queue to the same output: join its ring and
	 * writer (fd, size and bounds are then that queue's).
	 */
	struct outq *share;
};

struct outq;

/* What outq_close() gives a writer at teardown (docs/limits.md). */
#define OUTQ_CLOSE_GRACE_MS 2000
/* What a VM pause waits for queued output at most. */
#define OUTQ_PAUSE_DRAIN_MS 1000

/* NULL (errno set) on failure. */
struct outq *outq_create(const struct outq_params *p);
/* Queues what fits of @buf; returns how many bytes were taken. */
size_t outq_put(struct outq *q, const void *buf, size_t len);
size_t outq_space(struct outq *q);
/*
 * Waits up to @timeout_ms until everything queued was written (a VM
 * pause: no guest output appears while paused). True if it was.
 */
bool outq_drain(struct outq *q, unsigned int timeout_ms);
/* Bytes dropped past the size cap. */
uint64_t outq_capped(struct outq *q);
/*
 * Ends this producer: no callback of its runs after this returns. The
 * last producer of a queue waits up to @grace_ms for the writer to write
 * what is queued, then frees it (or, if the output does not drain,
 * leaves it to the stuck writer, which frees it if its write ever
 * returns). NULL is fine.
 */
void outq_close(struct outq *q, unsigned int grace_ms);

#endif
