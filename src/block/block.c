// SPDX-License-Identifier: GPL-2.0-only
/*
 * block.c - the generic half of the block layer (block.h): picks the
 * back-end for an image (its format), keeps the in-flight count around
 * its ops, completes requests (a fua write's flush; a failed flush makes
 * every later one fail).
 */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "qcow2.h"

/* The back-end for @p: its forced format, else what the header says. */
static const struct block_ops *pick(const struct block_params *p)
{
	uint8_t magic[4] = { 0 };
	int fd;

	if (p->format == BLOCK_FORMAT_RAW)
		return &block_raw_ops;
	if (p->format == BLOCK_FORMAT_QCOW2)
		return &block_qcow2_ops;
	fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return &block_raw_ops; /* its open names the error */
	if (pread(fd, magic, sizeof(magic), 0) != sizeof(magic))
		magic[0] = 0;
	close(fd);
	return qcow2_probe(magic, sizeof(magic)) ? &block_qcow2_ops :
						   &block_raw_ops;
}

#ifdef VMON_TEST_HOOKS
/*
 * Test builds: the Nth flush completed from now on (from 1) fails with
 * -EIO whatever the host said, as on a disk whose fdatasync failed: N
 * from block_test_fail_flush(), else from VMON_TEST_FLUSH_FAIL at the
 * first flush. Completions run on one thread per disk; tests use one.
 */
static long fail_in = -1;

void block_test_fail_flush(long n)
{
	fail_in = n;
}

static int injected(int res)
{
	if (fail_in < 0) {
		const char *e = getenv("VMON_TEST_FLUSH_FAIL");

		fail_in = e ? strtol(e, NULL, 10) : 0;
	}
	return fail_in > 0 && --fail_in == 0 ? -EIO : res;
}
#else
static int injected(int res)
{
	return res;
}
#endif

/*
 * A flush's result: once one failed, every later one fails too. The
 * kernel may drop the pages it could not write and report that only
 * once, so a later fdatasync succeeding says nothing of them (QEMU does
 * the same); the guest is told instead of trusting lost writes.
 */
static int flush_result(struct block *b, int res)
{
	res = injected(res);
	if (res < 0 && !b->flush_failed) {
		b->flush_failed = true;
		pr_err("disk %s: a flush failed (%s): writes may be lost; every later flush of it fails",
		       b->path, strerror(-res));
	}
	return b->flush_failed && res >= 0 ? -EIO : res;
}

void block_complete(struct block *b, struct block_req *r, int res)
{
	if (r->fua_flushing) {
		/* The flush after a fua write: the write's result stands. */
		r->fua_flushing = false;
		r->op = BLOCK_WRITE;
		res = flush_result(b, res);
		if (res >= 0)
			res = r->fua_res;
	} else if (r->fua && r->op == BLOCK_WRITE && res >= 0) {
		/* Flushed by block_reap() once the back-end's reap is over. */
		r->fua_res = res;
		r->fua_next = b->fua_head;
		b->fua_head = r;
		return;
	} else if (r->op == BLOCK_FLUSH) {
		res = flush_result(b, res);
	}
	block_dirty_mark(b, r);
	b->done(b->opaque, r, res);
}

struct block *block_open(const struct block_params *p, char *err, size_t errlen)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "%.400s: out of memory", p->path);
		return NULL;
	}
	b->ops = pick(p);
	snprintf(b->path, sizeof(b->path), "%s", p->path);
	b->done = p->done;
	b->opaque = p->opaque;
	if (b->ops->open(b, p, err, errlen)) {
		free(b);
		return NULL;
	}
	return b;
}

int block_submit(struct block *b, struct block_req *r)
{
	int err = b->ops->submit(b, r);

	if (!err)
		b->inflight++;
	return err;
}

void block_commit(struct block *b)
{
	b->ops->commit(b);
}

/*
 * Sends the flush of each fua write the reap just finished (the request
 * stays in flight as a flush of its range); returns how many went.
 */
static unsigned int flush_fua(struct block *b)
{
	unsigned int n = 0;

	while (b->fua_head) {
		struct block_req *r = b->fua_head;

		b->fua_head = r->fua_next;
		r->op = BLOCK_FLUSH;
		r->fua_flushing = true;
		if (b->ops->submit(b, r)) {
			block_complete(b, r, -EIO);
			continue;
		}
		n++;
	}
	if (n)
		b->ops->commit(b);
	return n;
}

unsigned int block_reap(struct block *b)
{
	unsigned int n = b->ops->reap(b);

	/* The back-end counted the fua writes it finished: not done yet. */
	n -= flush_fua(b);
	b->inflight -= n < b->inflight ? n : b->inflight;
	return n;
}

void block_drain(struct block *b)
{
	while (b->inflight) {
		if (b->ops->wait(b))
			break;
		block_reap(b);
	}
}

void block_close(struct block *b)
{
	if (!b)
		return;
	block_drain(b);
	b->ops->close(b);
	free((void *)b->dirty);
	free(b);
}
