// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_blk.c - the qcow2 block back-end (block.h) over the qcow2 engine
 * (qcow2.h). First version: each request runs to its end inside
 * submit(), synchronously on the I/O thread (pread/pwrite of data and
 * metadata; never on a vCPU thread), and completes at the next reap();
 * the completion eventfd is signalled so the I/O thread comes back for
 * it. O_DIRECT is not used for qcow2 images.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "block.h"
#include "qcow2.h"

struct qcow2_blk {
	struct qcow2 *q;
	int efd;
	struct block_req *head, *tail; /* done, waiting for reap() */
};

static int qb_open(struct block *b, const struct block_params *p, char *err,
		   size_t errlen)
{
	struct qcow2_blk *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "%.400s: out of memory", p->path);
		return -ENOMEM;
	}
	s->q = qcow2_open(p->path, -1, p->readonly, err, errlen);
	if (!s->q) {
		free(s);
		return -EINVAL;
	}
	s->efd = p->event_fd;
	b->size = qcow2_size(s->q);
	b->priv = s;
	return 0;
}

static int rw(struct qcow2 *q, const struct block_req *r)
{
	uint64_t off = r->offset, done = 0;

	for (unsigned int i = 0; i < r->nr_iov && done < r->len; i++) {
		uint64_t n = r->iov[i].iov_len;
		int ret;

		if (n > r->len - done)
			n = r->len - done;
		ret = r->op == BLOCK_READ ?
			      qcow2_read(q, off, r->iov[i].iov_base, n) :
			      qcow2_write(q, off, r->iov[i].iov_base, n);
		if (ret)
			return ret;
		off += n;
		done += n;
	}
	return done > INT32_MAX ? INT32_MAX : (int)done;
}

static int run(struct qcow2 *q, const struct block_req *r)
{
	switch (r->op) {
	case BLOCK_READ:
	case BLOCK_WRITE:
		return rw(q, r);
	case BLOCK_FLUSH:
		return qcow2_flush(q);
	case BLOCK_DISCARD:
		return qcow2_zero(q, r->offset, r->len, true);
	case BLOCK_WRITE_ZEROES:
		return qcow2_zero(q, r->offset, r->len, false);
	}
	return -EINVAL;
}

static int qb_submit(struct block *b, struct block_req *r)
{
	struct qcow2_blk *s = b->priv;

	/* The result waits in the back-end's field until reap(). */
	r->bounce_done = (uint64_t)(int64_t)run(s->q, r);
	r->bounce_next = NULL;
	if (s->tail)
		s->tail->bounce_next = r;
	else
		s->head = r;
	s->tail = r;
	return 0;
}

static void qb_commit(struct block *b)
{
	struct qcow2_blk *s = b->priv;

	if (s->head && s->efd >= 0)
		eventfd_write(s->efd, 1);
}

static unsigned int qb_reap(struct block *b)
{
	struct qcow2_blk *s = b->priv;
	unsigned int n = 0;

	while (s->head) {
		struct block_req *r = s->head;

		s->head = r->bounce_next;
		if (!s->head)
			s->tail = NULL;
		n++;
		block_complete(b, r, (int)(int64_t)r->bounce_done);
	}
	return n;
}

static int qb_wait(struct block *b)
{
	(void)b;
	return 0; /* everything submitted is done already */
}

static void qb_close(struct block *b)
{
	struct qcow2_blk *s = b->priv;

	qcow2_flush(s->q);
	qcow2_close(s->q);
	free(s);
}

const struct block_ops block_qcow2_ops = {
	.name = "qcow2",
	.open = qb_open,
	.submit = qb_submit,
	.commit = qb_commit,
	.reap = qb_reap,
	.wait = qb_wait,
	.close = qb_close,
};
