// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_awrite.c - the qcow2 back-end's allocating writes (qcow2_blk.h)
 * through io_uring, on the disk's I/O thread, without waiting for I/O.
 *
 * A write is cut at cluster boundaries: clusters writable in place are
 * io_uring writes into them (as qcow2_blk.c does for whole requests);
 * the other clusters are allocations (struct qalloc). The engine gives
 * each a new cluster, its refcount raised in the write-back cache
 * (qcow2_alloc_begin()). Clusters the write covers whole whose new
 * clusters follow each other in the file (the usual case: a sequential
 * write to a fresh overlay) are one allocation, a run, written with one
 * io_uring write straight from the request's buffers. A partial write
 * first gets the rest of the cluster: read through io_uring from the
 * file that holds it (the backing file, usually), or from the engine
 * when it is zero, compressed or not in one file; then the whole cluster
 * is written through io_uring from a buffer of its own. Only when the
 * write has completed does the engine set the L2 entries
 * (qcow2_alloc_finish(), which lets its flush order the data before the
 * table naming it, as docs/qcow2.md says). A failed write frees the
 * clusters again: nothing ever names unwritten data.
 *
 * With extended L2 entries, a write to a cluster of the image's own whose
 * subclusters are not all allocated, or to a part of a cluster without a
 * host cluster (qcow2_sub_write()), is an allocation of
 * subclusters (qcow2_sub_begin()): the cluster's own host cluster or a
 * new one, the write widened to whole subclusters where they are not
 * allocated, the widened parts read from the engine (from below, or
 * zeros: small reads on this thread), then one io_uring write of that
 * span, and only then the subclusters marked allocated
 * (qcow2_sub_finish()). The allocated subclusters a write reaches are
 * written in place before it (the loop below maps them first), so
 * nothing of theirs is written but the guest's bytes: writes in flight
 * to them are not undone.
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

/*
 * One allocation: a cluster a write covers only in part (its content in
 * @buf), or a run of whole clusters the write covers, their new clusters
 * next to each other in the file: one write straight from the request's
 * buffers (@buf NULL).
 */
struct qalloc {
	struct qtag tag; /* first: the ring's user data points to it */
	struct qreq *q;
	uint64_t voff; /* the first guest cluster */
	uint64_t host; /* its new cluster; the run's follow it */
	unsigned int n; /* clusters */
	uint64_t *old; /* their old L2 entries */
	uint64_t at, in, len; /* @len bytes of request byte @at, at @in */
	uint64_t clen; /* a partial cluster's bytes inside the virtual size */
	/* Subclusters (qcow2_sub_begin()): the bytes of the cluster written,
	 * [@ws, @we) from its start, and whether @host is new. */
	bool sub, fresh;
	uint64_t ws, we;
	enum qalloc_step step;
	int res;
	unsigned int niov;
	struct iovec *iov;
	uint8_t *buf; /* the partial cluster */
	struct qalloc *next; /* s->active */
	struct qalloc *rnext; /* s->ready */
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
		if (a->voff >> bits <= last &&
		    (a->voff >> bits) + a->n - 1 >= first)
			return true;
	return false;
}

/* @r's buffers from request byte @at on, @n bytes, as slices in @out
 * (at most r->nr_iov): how many. */
static unsigned int slice(const struct block_req *r, uint64_t at, uint64_t n,
			  struct iovec *out)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < r->nr_iov && n; i++) {
		uint64_t l = r->iov[i].iov_len;

		if (at >= l) {
			at -= l;
			continue;
		}
		l -= at;
		l = l < n ? l : n;
		out[k++] =
			(struct iovec){ (uint8_t *)r->iov[i].iov_base + at, l };
		n -= l;
		at = 0;
	}
	return k;
}

static void io(struct qcow2_blk *s, struct qalloc *a, int fd, uint64_t off)
{
	struct io_uring_sqe *sqe = qb_sqe(s);

	if (a->step == QA_READ)
		io_uring_prep_readv(sqe, fd, a->iov, a->niov, off);
	else
		io_uring_prep_writev(sqe, fd, a->iov, a->niov, off);
	io_uring_sqe_set_data(sqe, &a->tag);
}

/* The bytes the data write of @a writes, and where in its host cluster. */
static uint64_t wlen(const struct qcow2_blk *s, const struct qalloc *a)
{
	if (a->sub)
		return a->we - a->ws;
	return a->buf ? cluster_size(s) : a->len;
}

static uint64_t wstart(const struct qalloc *a)
{
	return a->sub ? a->ws : 0;
}

/* The guest's bytes (over a partial cluster's old content), then the
 * write. */
static void write_data(struct qcow2_blk *s, struct qalloc *a)
{
	a->niov = slice(a->q->r, a->at, a->len, a->iov);
	if (a->buf) {
		uint8_t *p = a->buf + a->in;

		for (unsigned int i = 0; i < a->niov; i++) {
			memcpy(p, a->iov[i].iov_base, a->iov[i].iov_len);
			p += a->iov[i].iov_len;
		}
		a->iov[0] = (struct iovec){ a->buf + wstart(a), wlen(s, a) };
		a->niov = 1;
	}
	a->step = QA_WRITE;
	io(s, a, qcow2_fd(s->q), a->host + wstart(a));
}

/* The allocation ends: the L2 entries set, or (@res < 0) the clusters
 * freed. */
static void end_alloc(struct qcow2_blk *s, struct qalloc *a, int res)
{
	struct qalloc **p = &s->active;
	uint64_t cs = cluster_size(s);

	for (unsigned int i = 0; i < a->n; i++) {
		int r = a->sub ? qcow2_sub_finish(s->q, a->voff + a->in, a->ws,
						  a->we, a->host, a->fresh,
						  res) :
				 qcow2_alloc_finish(s->q, a->voff + i * cs,
						    a->host + i * cs, a->old[i],
						    res);

		if (r && !a->q->err)
			a->q->err = r;
	}
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	s->nalloc--;
	qb_put(s, a->q);
	free(a);
}

/*
 * A new allocation of request @q's @len bytes at byte @at, the first
 * cluster's new one at @host (its old entry @old), room for @maxn
 * clusters (and a cluster buffer when @partial); in s->active.
 */
static struct qalloc *new_alloc(struct qcow2_blk *s, struct qreq *q,
				uint64_t at, uint64_t len, uint64_t host,
				uint64_t old, unsigned int maxn, bool partial)
{
	uint64_t cs = cluster_size(s), o = q->r->offset + at;
	unsigned int niov = q->r->nr_iov + 1;
	struct qalloc *a =
		malloc(sizeof(*a) + maxn * sizeof(uint64_t) +
		       niov * sizeof(struct iovec) + (partial ? cs : 0));

	if (!a)
		return NULL;
	*a = (struct qalloc){ .tag = { .kind = QT_ALLOC },
			      .q = q,
			      .voff = o & ~(cs - 1),
			      .host = host,
			      .n = 1,
			      .at = at,
			      .in = o & (cs - 1),
			      .len = len,
			      .clen = cs };
	a->old = (uint64_t *)(a + 1);
	a->old[0] = old;
	a->iov = (struct iovec *)(a->old + maxn);
	a->buf = partial ? (uint8_t *)(a->iov + niov) : NULL;
	a->next = s->active;
	s->active = a;
	s->nalloc++;
	q->pending++;
	return a;
}

/* Starts allocating the cluster of request @q's @n bytes at byte @at,
 * which the write covers in part. */
static int start_alloc(struct qcow2_blk *s, struct qreq *q, uint64_t at,
		       uint64_t n)
{
	uint64_t cs = cluster_size(s), o = q->r->offset + at, h, hl, host, old;
	uint64_t left = qcow2_size(s->q) - (o & ~(cs - 1));
	struct qalloc *a;
	int fd, r = qcow2_alloc_begin(s->q, o & ~(cs - 1), &host, &old);

	if (r)
		return r;
	a = new_alloc(s, q, at, n, host, old, 1, true);
	if (!a)
		return qcow2_alloc_finish(s->q, o & ~(cs - 1), host, old,
					  -ENOMEM);
	a->clen = left < cs ? left : cs;
	memset(a->buf + a->clen, 0, cs - a->clen);
	if (a->in == 0 && a->len == a->clen) {
		write_data(s, a);
		return 0;
	}
	if (qcow2_host_offset(s->q, a->voff, false, &h, &hl, &fd) &&
	    hl >= a->clen) {
		a->step = QA_READ; /* copy-on-write from the file below */
		a->iov[0] = (struct iovec){ a->buf, a->clen };
		a->niov = 1;
		io(s, a, fd, h);
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

/*
 * Allocates the whole cluster at request @q's byte @at: added to the run
 * @*run when its new cluster follows the run's in the file, else the
 * start of a new run (@*run's write started). @maxn: the clusters a run
 * of @q can reach.
 */
static int whole_alloc(struct qcow2_blk *s, struct qreq *q, uint64_t at,
		       unsigned int maxn, struct qalloc **run)
{
	uint64_t cs = cluster_size(s), o = q->r->offset + at, host, old;
	struct qalloc *a = *run;
	int r = qcow2_alloc_begin(s->q, o, &host, &old);

	if (r)
		return r;
	if (a && a->voff + a->n * cs == o && a->host + a->n * cs == host) {
		a->old[a->n++] = old;
		a->len += cs;
		return 0;
	}
	if (a)
		write_data(s, a);
	*run = new_alloc(s, q, at, cs, host, old, maxn, false);
	if (!*run)
		return qcow2_alloc_finish(s->q, o, host, old, -ENOMEM);
	return 0;
}

/*
 * Starts the write of request @q's @n bytes at byte @at into subclusters
 * (qcow2_sub_begin()): the parts the write widens to whole subclusters
 * read from the engine (what the guest reads there now: from below, or
 * zeros), then [ws, we) of the cluster written through io_uring.
 */
static int start_sub(struct qcow2_blk *s, struct qreq *q, uint64_t at,
		     uint64_t n)
{
	uint64_t o = q->r->offset + at, host, ws, we;
	struct qalloc *a;
	bool fresh;
	int r = qcow2_sub_begin(s->q, o, n, &host, &fresh, &ws, &we);

	if (r)
		return r;
	a = new_alloc(s, q, at, n, host, 0, 1, true);
	if (!a)
		return qcow2_sub_finish(s->q, o, ws, we, host, fresh, -ENOMEM);
	a->sub = true;
	a->fresh = fresh;
	a->ws = ws;
	a->we = we;
	r = qcow2_read(s->q, a->voff + ws, a->buf + ws, a->in - ws);
	if (!r)
		r = qcow2_read(s->q, o + n, a->buf + a->in + n, we - a->in - n);
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
	struct qalloc *run = NULL;
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
		if (qcow2_sub_write(s->q, o, n)) {
			if (run)
				write_data(s, run);
			run = NULL;
			q->err = start_sub(s, q, done, n);
			continue;
		}
		if (n == cs && size - o >= cs) {
			q->err = whole_alloc(s, q, done, max, &run);
			continue;
		}
		if (run)
			write_data(s, run);
		run = NULL;
		q->err = start_alloc(s, q, done, n);
	}
	if (run)
		write_data(s, run);
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
			res = (uint64_t)res < wlen(s, a) ? -EIO : 0;
		if (!res)
			qb_written(s, a->host + wstart(a), wlen(s, a));
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
