// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_awrite.c - the qcow2 back-end's allocating writes (qcow2_blk.h)
 * through io_uring, on the disk's I/O thread, without waiting for I/O.
 *
 * A write is cut at cluster boundaries: clusters writable in place are
 * io_uring writes into them (as qcow2_blk.c does for whole requests);
 * each other cluster is an allocation (struct qalloc). The engine gives
 * it a new cluster, its refcount raised in the write-back cache
 * (qcow2_alloc_begin()); a partial write first gets the rest of the
 * cluster: read through io_uring from the file that holds it (the
 * backing file, usually), or from the engine when it is zero, compressed
 * or not in one file; then the whole cluster is written through io_uring,
 * and only when that write has completed does the engine set the L2
 * entry (qcow2_alloc_finish(), which lets its flush order the data
 * before the table naming it, as docs/qcow2.md says). A failed write
 * frees the cluster again: nothing ever names unwritten data.
 *
 * One cluster has one allocation at a time: a write touching a cluster
 * being allocated waits (whole, in arrival order) until that allocation
 * ends, then is looked at again (the cluster is in place by then).
 * Writes to other clusters go on meanwhile. Completions only move an
 * allocation to the ready list; its next step runs at reap() (or while
 * the back-end settles before an engine request), never inside the
 * engine (whose flush may wait for the ring).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2_blk.h"

enum qalloc_step { QA_READ, QA_WRITE };

struct qalloc {
	struct qtag tag; /* first: the ring's user data points to it */
	struct qreq *q;
	uint64_t voff; /* the guest cluster */
	uint64_t host, old; /* the new cluster, the old L2 entry */
	uint64_t at, in, len; /* @len bytes of request byte @at, at @in */
	uint64_t clen; /* the cluster's bytes inside the virtual size */
	enum qalloc_step step;
	int res;
	struct iovec iov;
	struct qalloc *next; /* s->active */
	struct qalloc *rnext; /* s->ready */
	uint8_t buf[]; /* the cluster */
};

static uint64_t cluster_size(const struct qcow2_blk *s)
{
	return 1ULL << qcow2_hdr(s->q)->cluster_bits;
}

/* Whether [@off, @off + @len) touches a cluster being allocated. */
static bool busy(const struct qcow2_blk *s, uint64_t off, uint64_t len)
{
	unsigned int bits = qcow2_hdr(s->q)->cluster_bits;
	uint64_t first = off >> bits, last = (off + len - 1) >> bits;

	for (const struct qalloc *a = s->active; a; a = a->next)
		if (a->voff >> bits >= first && a->voff >> bits <= last)
			return true;
	return false;
}

/* @n bytes of @r's buffers from request byte @at on, into @dst. */
static void copy_in(const struct block_req *r, uint64_t at, uint8_t *dst,
		    uint64_t n)
{
	for (unsigned int i = 0; i < r->nr_iov && n; i++) {
		uint64_t l = r->iov[i].iov_len;

		if (at >= l) {
			at -= l;
			continue;
		}
		l -= at;
		l = l < n ? l : n;
		memcpy(dst, (const uint8_t *)r->iov[i].iov_base + at, l);
		dst += l;
		n -= l;
		at = 0;
	}
}

static void io(struct qcow2_blk *s, struct qalloc *a, int fd, uint64_t off,
	       uint64_t len)
{
	struct io_uring_sqe *sqe = qb_sqe(s);

	a->iov = (struct iovec){ a->buf, len };
	if (a->step == QA_READ)
		io_uring_prep_readv(sqe, fd, &a->iov, 1, off);
	else
		io_uring_prep_writev(sqe, fd, &a->iov, 1, off);
	io_uring_sqe_set_data(sqe, &a->tag);
}

/* The guest's bytes over the cluster's old content, then the write. */
static void write_data(struct qcow2_blk *s, struct qalloc *a)
{
	copy_in(a->q->r, a->at, a->buf + a->in, a->len);
	a->step = QA_WRITE;
	io(s, a, qcow2_fd(s->q), a->host, cluster_size(s));
}

/* The allocation ends: the L2 entry set, or (@res < 0) the cluster freed. */
static void end_alloc(struct qcow2_blk *s, struct qalloc *a, int res)
{
	struct qalloc **p = &s->active;
	int r = qcow2_alloc_finish(s->q, a->voff, a->host, a->old, res);

	if (r && !a->q->err)
		a->q->err = r;
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	s->nalloc--;
	qb_put(s, a->q);
	free(a);
}

/* Starts allocating the cluster of request @q's @n bytes at byte @at. */
static int start_alloc(struct qcow2_blk *s, struct qreq *q, uint64_t at,
		       uint64_t n)
{
	uint64_t cs = cluster_size(s), o = q->r->offset + at, h, hl;
	uint64_t left = qcow2_size(s->q) - (o & ~(cs - 1));
	struct qalloc *a = malloc(sizeof(*a) + cs);
	int fd, r;

	if (!a)
		return -ENOMEM;
	*a = (struct qalloc){ .tag = { .alloc = true },
			      .q = q,
			      .voff = o & ~(cs - 1),
			      .at = at,
			      .in = o & (cs - 1),
			      .len = n,
			      .clen = left < cs ? left : cs };
	r = qcow2_alloc_begin(s->q, a->voff, &a->host, &a->old);
	if (r) {
		free(a);
		return r;
	}
	a->next = s->active;
	s->active = a;
	s->nalloc++;
	q->pending++;
	memset(a->buf + a->clen, 0, cs - a->clen);
	if (a->in == 0 && a->len == a->clen) {
		write_data(s, a);
		return 0;
	}
	if (qcow2_host_offset(s->q, a->voff, false, &h, &hl, &fd) &&
	    hl >= a->clen) {
		a->step = QA_READ; /* copy-on-write from the file below */
		io(s, a, fd, h, a->clen);
		return 0;
	}
	r = qcow2_alloc_fill(s->q, a->voff, a->buf);
	if (r) {
		end_alloc(s, a, r);
		return r;
	}
	write_data(s, a);
	return 0;
}

void qb_awrite(struct qcow2_blk *s, struct block_req *r)
{
	uint64_t len = qb_rw_len(r), cs = cluster_size(s), n, host;
	uint64_t size = qcow2_size(s->q);
	unsigned int max = (unsigned int)(len / cs + 2);
	struct qreq *q;
	int fd;

	if (!len || r->offset > size || len > size - r->offset) {
		qb_finished(s, r, len ? -EINVAL : 0);
		return;
	}
	if (busy(s, r->offset, len)) {
		r->bounce_next = NULL;
		if (s->wait_tail)
			s->wait_tail->bounce_next = r;
		else
			s->wait = r;
		s->wait_tail = r;
		return;
	}
	q = malloc(sizeof(*q) + max * sizeof(struct qseg) +
		   (r->nr_iov + max) * sizeof(struct iovec));
	if (!q) {
		qb_finished(s, r, -ENOMEM);
		return;
	}
	*q = (struct qreq){ .r = r, .len = len, .pending = 1 };
	q->seg = (struct qseg *)(q + 1);
	q->iov = (struct iovec *)(q->seg + max);
	for (uint64_t done = 0; done < len && !q->err; done += n) {
		uint64_t o = r->offset + done;

		if (qcow2_host_offset(s->q, o, true, &host, &n, &fd)) {
			n = n < len - done ? n : len - done;
			qb_add_seg(q, max, fd, done, host, n);
			continue;
		}
		n = cs - (o & (cs - 1));
		n = n < len - done ? n : len - done;
		q->err = start_alloc(s, q, done, n);
	}
	qb_slice_iov(q);
	qb_queue(s, q);
	qb_put(s, q); /* the reference of this function */
}

void qb_alloc_io_done(struct qcow2_blk *s, struct qalloc *a, int res)
{
	s->sqes--;
	a->res = res;
	a->rnext = NULL;
	if (s->ready_tail)
		s->ready_tail->rnext = a;
	else
		s->ready = a;
	s->ready_tail = a;
}

/* The writes that waited for a cluster are looked at again. */
static void retry_waiting(struct qcow2_blk *s)
{
	struct block_req *r = s->wait;

	s->wait = s->wait_tail = NULL;
	while (r) {
		struct block_req *next = r->bounce_next;

		qb_awrite(s, r);
		r = next;
	}
}

void qb_alloc_run(struct qcow2_blk *s)
{
	struct qalloc *a;

	while ((a = s->ready)) {
		int res = a->res;

		s->ready = a->rnext;
		if (!s->ready)
			s->ready_tail = NULL;
		if (a->step == QA_READ && res >= 0) {
			if ((uint64_t)res < a->clen) /* past the file's end */
				memset(a->buf + res, 0,
				       a->clen - (uint64_t)res);
			write_data(s, a);
			continue;
		}
		if (res >= 0)
			res = (uint64_t)res < cluster_size(s) ? -EIO : 0;
		end_alloc(s, a, res);
		if (s->wait)
			retry_waiting(s);
	}
	if (io_uring_sq_ready(&s->ring))
		io_uring_submit(&s->ring);
}

void qb_alloc_settle(struct qcow2_blk *s)
{
	struct io_uring_cqe *cqe;

	while (s->nalloc) {
		if (!s->ready) {
			io_uring_submit(&s->ring);
			if (io_uring_wait_cqe(&s->ring, &cqe))
				break;
			qb_take_cqes(s);
		}
		qb_alloc_run(s);
	}
}
