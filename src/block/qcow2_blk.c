// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_blk.c - the qcow2 block back-end (block.h) over the qcow2 engine
 * (qcow2.h), on the disk's I/O thread (never a vCPU thread).
 *
 * Reads of allocated data clusters (of the image, or of a backing file
 * below an unallocated one) and writes to clusters that can be written in
 * place are mapped to host extents (merged where the clusters are
 * contiguous in one file) and go through io_uring, asynchronously, as
 * does a flush when no metadata waits (an fdatasync of the image).
 * Writes that allocate clusters go through io_uring too (qcow2_awrite.c).
 * A flush with metadata to write runs the engine's ordered flush in steps
 * (qcow2_flush_step()) whose fdatasyncs go on the ring, so the I/O thread
 * never waits for the disk: until it ends, the requests submitted after
 * it are held in order and the allocations in flight wait before naming
 * their clusters (both change the engine's tables); reads whose data is
 * mapped without writing to the image (no dirty table evicted from the
 * cache: qcow2_set_peek()) go on meanwhile.
 * Each 1 MiB written to the image starts the kernel's writeback of the
 * file (early writeback, writeback() below).
 * Everything else runs to its end inside submit() in the engine (reads
 * of zero and compressed clusters, discard, write-zeroes, in order:
 * discard and write-zeroes first wait for the allocations in flight) and
 * completes at the next reap(); the completion eventfd is signalled for
 * those too.
 * Clusters freed by the engine are not reused before a flush, which
 * first waits for the io_uring requests in flight (the engine's drain
 * hook), so an in-flight write never lands in a reused cluster.
 * O_DIRECT is not used for qcow2 images.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "qcow2_blk.h"

/* Bytes written to the image between two early writebacks. */
#define QB_WRITEBACK_BYTES (1ULL << 20)

void qb_finished(struct qcow2_blk *s, struct block_req *r, int res)
{
	r->bounce_done = (uint64_t)(int64_t)res;
	r->bounce_next = NULL;
	if (s->tail)
		s->tail->bounce_next = r;
	else
		s->head = r;
	s->tail = r;
}

/* Zeroes @q's slices of @g from byte @from on (a read past the file end). */
static void zero_tail(struct qreq *q, const struct qseg *g, uint64_t from)
{
	for (unsigned int i = g->iov0; i < g->iov0 + g->niov; i++) {
		uint64_t l = q->iov[i].iov_len;

		if (from >= l) {
			from -= l;
			continue;
		}
		memset((uint8_t *)q->iov[i].iov_base + from, 0, l - from);
		from = 0;
	}
}

static void seg_done(struct qcow2_blk *s, struct qseg *g, int res)
{
	struct qreq *q = g->q;

	s->sqes--;
	if (res > 0 && q->r->op == BLOCK_WRITE && g->fd == qcow2_fd(s->q))
		qb_written(s, g->host, (uint64_t)res);
	if (res < 0 && !q->err)
		q->err = res;
	else if (res >= 0 && (uint64_t)res < g->len) {
		if (q->r->op == BLOCK_READ)
			zero_tail(q, g, (uint64_t)res);
		else if (!q->err)
			q->err = -EIO;
	}
	qb_put(s, q);
}

void qb_put(struct qcow2_blk *s, struct qreq *q)
{
	if (--q->pending)
		return;
	q->r->bounce = NULL;
	qb_finished(s, q->r,
		    q->err	       ? q->err :
		    q->len > INT32_MAX ? INT32_MAX :
					 (int)q->len);
	free(q);
}

unsigned int qb_take_cqes(struct qcow2_blk *s)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
		struct qtag *t = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&s->ring, cqe);
		if (t->kind == QT_ALLOC) {
			qb_alloc_io_done(s, (struct qalloc *)t, res);
		} else if (t->kind == QT_WRITEBACK) {
			s->sqes--;
			s->wb_busy = false;
		} else if (t->kind == QT_FLUSH) {
			s->sqes--;
			s->fl_synced = true; /* its next step: reap() */
			s->fl_res = res;
		} else {
			seg_done(s, (struct qseg *)t, res);
		}
		n++;
	}
	return n;
}

void qb_drain_ring(void *opaque)
{
	struct qcow2_blk *s = opaque;
	struct io_uring_cqe *cqe;

	io_uring_submit(&s->ring);
	while (s->sqes) {
		if (io_uring_wait_cqe(&s->ring, &cqe))
			break;
		qb_take_cqes(s);
	}
}

static int qb_open(struct block *b, const struct block_params *p, char *err,
		   size_t errlen)
{
	struct qcow2_blk *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		snprintf(err, errlen, "%.400s: out of memory", p->path);
		return -ENOMEM;
	}
	s->q = qcow2_open(p->path, -1, p->readonly, err, errlen);
	if (!s->q) {
		free(s);
		return -EINVAL;
	}
	s->ring_size = 2 * (p->depth ? p->depth : 1);
	ret = io_uring_queue_init(s->ring_size, &s->ring, 0);
	if (ret)
		snprintf(err, errlen, "%.400s: io_uring: %s", p->path,
			 strerror(-ret));
	else if (p->event_fd >= 0 &&
		 (ret = io_uring_register_eventfd(&s->ring, p->event_fd)) < 0) {
		snprintf(err, errlen, "%.400s: completion eventfd: %s", p->path,
			 strerror(-ret));
		io_uring_queue_exit(&s->ring);
	}
	if (ret) {
		qcow2_close(s->q);
		free(s);
		return ret < 0 ? ret : -ret;
	}
	qcow2_set_hooks(s->q, NULL, qb_drain_ring, s);
	s->efd = p->event_fd;
	b->size = qcow2_size(s->q);
	b->priv = s;
	return 0;
}

static int read_engine(struct qcow2 *q, const struct block_req *r)
{
	uint64_t off = r->offset, done = 0;

	for (unsigned int i = 0; i < r->nr_iov && done < r->len; i++) {
		uint64_t n = r->iov[i].iov_len;
		int ret;

		if (n > r->len - done)
			n = r->len - done;
		ret = qcow2_read(q, off, r->iov[i].iov_base, n);
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
		return read_engine(q, r);
	case BLOCK_WRITE: /* qcow2_awrite.c */
		break;
	case BLOCK_FLUSH:
		return qcow2_flush(q);
	case BLOCK_DISCARD:
		return qcow2_zero(q, r->offset, r->len, true);
	case BLOCK_WRITE_ZEROES:
		return qcow2_zero(q, r->offset, r->len, false);
	}
	return -EINVAL;
}

uint64_t qb_rw_len(const struct block_req *r)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < r->nr_iov && n < r->len; i++)
		n += r->iov[i].iov_len;
	return n < r->len ? n : r->len;
}

bool qb_add_seg(struct qreq *q, unsigned int max, int fd, uint64_t at,
		uint64_t host, uint64_t len)
{
	if (q->nseg) {
		struct qseg *last = &q->seg[q->nseg - 1];

		if (last->fd == fd && last->host + last->len == host &&
		    last->at + last->len == at) {
			last->len += len;
			return true;
		}
	}
	if (q->nseg == max)
		return false;
	q->seg[q->nseg++] = (struct qseg){
		.q = q, .fd = fd, .at = at, .host = host, .len = len
	};
	return true;
}

/*
 * The host extents of @q->r's @len bytes into @q->seg: false if a
 * cluster is not plain data of the image (the engine's job).
 */
static bool map_extents(struct qcow2 *img, struct qreq *q, unsigned int max)
{
	const struct block_req *r = q->r;
	uint64_t done = 0;

	q->nseg = 0;
	while (done < q->len) {
		uint64_t n, host;
		int fd;

		if (!qcow2_host_offset(img, r->offset + done,
				       r->op == BLOCK_WRITE, &host, &n, &fd))
			return false;
		if (n > q->len - done)
			n = q->len - done;
		if (!qb_add_seg(q, max, fd, done, host, n))
			return false;
		done += n;
	}
	return true;
}

void qb_slice_iov(struct qreq *q)
{
	const struct block_req *r = q->r;
	unsigned int vi = 0;
	uint64_t skip = 0, pos = 0;

	q->niov = 0;
	for (unsigned int k = 0; k < q->nseg; k++) {
		struct qseg *g = &q->seg[k];
		uint64_t need = g->len, gap = g->at - pos;

		while (gap) { /* bytes of the request no segment writes */
			uint64_t l = r->iov[vi].iov_len - skip;

			l = l < gap ? l : gap;
			gap -= l;
			skip += l;
			if (skip == r->iov[vi].iov_len) {
				vi++;
				skip = 0;
			}
		}
		g->iov0 = q->niov;
		while (need) {
			uint64_t l = r->iov[vi].iov_len - skip;

			if (l > need)
				l = need;
			q->iov[q->niov].iov_base =
				(uint8_t *)r->iov[vi].iov_base + skip;
			q->iov[q->niov++].iov_len = l;
			need -= l;
			skip += l;
			if (skip == r->iov[vi].iov_len) {
				vi++;
				skip = 0;
			}
		}
		g->niov = q->niov - g->iov0;
		pos = g->at + g->len;
	}
}

/* A read or write of data clusters, mapped: its context, or NULL. */
static struct qreq *map(struct qcow2_blk *s, struct block_req *r)
{
	uint64_t len = qb_rw_len(r), cs = 1ULL << qcow2_hdr(s->q)->cluster_bits;
	uint64_t size = qcow2_size(s->q);
	unsigned int max;
	struct qreq *q;

	if (!len || r->offset > size || len > size - r->offset ||
	    len / cs + 2 > s->ring_size)
		return NULL;
	max = (unsigned int)(len / cs + 2);
	q = malloc(sizeof(*q) + max * sizeof(struct qseg) +
		   (r->nr_iov + max) * sizeof(struct iovec));
	if (!q)
		return NULL;
	q->r = r;
	q->len = len;
	q->err = 0;
	q->pending = 0;
	q->seg = (struct qseg *)(q + 1);
	q->iov = (struct iovec *)(q->seg + max);
	if (!map_extents(s->q, q, max)) {
		free(q);
		return NULL;
	}
	qb_slice_iov(q);
	return q;
}

struct io_uring_sqe *qb_sqe(struct qcow2_blk *s)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	while (!(sqe = io_uring_get_sqe(&s->ring)))
		if (io_uring_submit(&s->ring) < 0 &&
		    !io_uring_wait_cqe(&s->ring, &cqe))
			qb_take_cqes(s); /* the kernel wants room first */
	s->sqes++;
	return sqe;
}

void qb_queue(struct qcow2_blk *s, struct qreq *q)
{
	q->pending += q->nseg;
	q->r->bounce = q;
	for (unsigned int k = 0; k < q->nseg; k++) {
		struct qseg *g = &q->seg[k];
		struct io_uring_sqe *sqe = qb_sqe(s);

		if (q->r->op == BLOCK_FLUSH)
			io_uring_prep_fsync(sqe, g->fd, IORING_FSYNC_DATASYNC);
		else if (q->r->op == BLOCK_READ)
			io_uring_prep_readv(sqe, g->fd, &q->iov[g->iov0],
					    g->niov, g->host);
		else
			io_uring_prep_writev(sqe, g->fd, &q->iov[g->iov0],
					     g->niov, g->host);
		io_uring_sqe_set_data(sqe, g);
	}
}

/* A flush with no metadata to write: an fdatasync on the ring. */
static struct qreq *map_flush(struct qcow2_blk *s, struct block_req *r)
{
	struct qreq *q = calloc(1, sizeof(*q) + sizeof(struct qseg));

	if (!q)
		return NULL;
	q->r = r;
	q->nseg = 1;
	q->seg = (struct qseg *)(q + 1);
	q->seg[0] = (struct qseg){ .q = q, .fd = qcow2_fd(s->q) };
	return q;
}

/*
 * The flush's next step: its next fdatasync on the ring, or its end (its
 * result on the done list; the caller then sends the held requests).
 */
static void flush_step(struct qcow2_blk *s)
{
	int r = qcow2_flush_step(s->q);
	struct io_uring_sqe *sqe;

	if (r == -EINPROGRESS) {
		s->fl_async++;
		s->fl_tag.kind = QT_FLUSH;
		sqe = qb_sqe(s);
		io_uring_prep_fsync(sqe, qcow2_fd(s->q), IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data(sqe, &s->fl_tag);
		io_uring_submit(&s->ring);
		return;
	}
	qb_finished(s, s->fl, r);
	s->fl = NULL;
}

static void submit(struct qcow2_blk *s, struct block_req *r)
{
	struct qreq *q = NULL;

	r->bounce = NULL;
	if (r->op == BLOCK_FLUSH && qcow2_meta_dirty(s->q)) {
		s->fl = r;
		qcow2_flush_start(s->q);
		flush_step(s);
		return;
	}
	if (r->op == BLOCK_READ || r->op == BLOCK_WRITE)
		q = map(s, r);
	else if (r->op == BLOCK_FLUSH)
		q = map_flush(s, r);
	if (q && io_uring_sq_space_left(&s->ring) < q->nseg)
		io_uring_submit(&s->ring);
	if (q && io_uring_sq_space_left(&s->ring) >= q->nseg) {
		qb_queue(s, q);
		return;
	}
	free(q);
	if (r->op == BLOCK_WRITE) {
		qb_awrite(s, r);
		return;
	}
	/* Entries the engine clears must not be set by an allocation after
	 * it (a flush does not wait: what is in flight is not named yet). */
	if (r->op == BLOCK_DISCARD || r->op == BLOCK_WRITE_ZEROES)
		qb_alloc_settle(s);
	/* The result waits in the back-end's field until reap(). */
	qb_finished(s, r, run(s->q, r));
}

/*
 * A read while a flush runs in steps: sent now if its data is mapped
 * without changing the image (qcow2_set_peek()), as the data of
 * allocated clusters and of plain backing files is; false: it waits
 * with the others.
 */
static bool read_now(struct qcow2_blk *s, struct block_req *r)
{
	struct qreq *q;

	qcow2_set_peek(s->q, true);
	q = map(s, r);
	qcow2_set_peek(s->q, false);
	if (q && io_uring_sq_space_left(&s->ring) < q->nseg)
		io_uring_submit(&s->ring);
	if (!q || io_uring_sq_space_left(&s->ring) < q->nseg) {
		free(q);
		return false;
	}
	qb_queue(s, q);
	return true;
}

static int qb_submit(struct block *b, struct block_req *r)
{
	struct qcow2_blk *s = b->priv;

	if (!s->fl) {
		submit(s, r);
		return 0;
	}
	r->bounce = NULL;
	if (r->op == BLOCK_READ && read_now(s, r))
		return 0;
	r->bounce_next = NULL; /* after the flush, in order */
	if (s->held_tail)
		s->held_tail->bounce_next = r;
	else
		s->held = r;
	s->held_tail = r;
	return 0;
}

/* The flush's fdatasync ended: its next step, and at its end the requests
 * held meanwhile (up to a flush that waits in its turn). */
static void flush_synced(struct qcow2_blk *s)
{
	s->fl_synced = false;
	qcow2_synced(s->q, s->fl_res);
	if (s->fl_res < 0) {
		qb_finished(s, s->fl, s->fl_res);
		s->fl = NULL;
	} else {
		flush_step(s);
	}
	while (s->held && !s->fl) {
		struct block_req *r = s->held;

		s->held = r->bounce_next;
		if (!s->held)
			s->held_tail = NULL;
		submit(s, r);
	}
	io_uring_submit(&s->ring);
}

static void qb_commit(struct block *b)
{
	struct qcow2_blk *s = b->priv;

	io_uring_submit(&s->ring);
	if (s->head && s->efd >= 0)
		eventfd_write(s->efd, 1);
}

/*
 * A write more than QB_WRITEBACK_BYTES away from the range the writes
 * since the last writeback span starts a new range (a new stream, or a
 * random write).
 */
void qb_written(struct qcow2_blk *s, uint64_t host, uint64_t len)
{
	if (!s->wb_bytes || host + len + QB_WRITEBACK_BYTES < s->wb_lo ||
	    host > s->wb_hi + QB_WRITEBACK_BYTES) {
		s->wb_lo = host;
		s->wb_hi = host + len;
		s->wb_bytes = len;
		return;
	}
	if (host < s->wb_lo)
		s->wb_lo = host;
	if (host + len > s->wb_hi)
		s->wb_hi = host + len;
	s->wb_bytes += len;
}

/*
 * Early writeback of a stream: once QB_WRITEBACK_BYTES or more were
 * written to the image in a range of the file at most twice their size (a
 * sequential stream, as its requests complete in any order), the kernel
 * is told to start writing that range back (sync_file_range
 * SYNC_FILE_RANGE_WRITE on io_uring: it does not wait for the disk, nor
 * make anything durable), so that a guest's flush finds most of its data
 * on the way instead of all of it in the page cache. Scattered writes
 * start none: writing them back early only competes with the guest's
 * next writes (random 4 KiB writes measured 26-28 % slower with it). One
 * at a time; the flush's fdatasyncs and their order are unchanged.
 */
static void writeback(struct qcow2_blk *s)
{
	struct io_uring_sqe *sqe;
	uint64_t lo = s->wb_lo, len = s->wb_hi - s->wb_lo, n = s->wb_bytes;

	if (s->wb_busy || n < QB_WRITEBACK_BYTES)
		return;
	s->wb_bytes = 0;
	if (len > 2 * n || len > UINT32_MAX)
		return;
	s->wb_busy = true;
	s->wb_started++;
	s->wb_tag.kind = QT_WRITEBACK;
	sqe = qb_sqe(s);
	io_uring_prep_sync_file_range(sqe, qcow2_fd(s->q), (unsigned int)len,
				      lo, SYNC_FILE_RANGE_WRITE);
	io_uring_sqe_set_data(sqe, &s->wb_tag);
	io_uring_submit(&s->ring);
}

static unsigned int qb_reap(struct block *b)
{
	struct qcow2_blk *s = b->priv;
	unsigned int n = 0;

	qb_take_cqes(s);
	if (s->fl_synced)
		flush_synced(s);
	if (!s->fl)
		qb_alloc_run(s);
	writeback(s);
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
	struct qcow2_blk *s = b->priv;
	struct io_uring_cqe *cqe;

	if (s->head || (s->ready && !s->fl) || s->fl_synced || !s->sqes)
		return 0;
	io_uring_submit(&s->ring);
	return io_uring_wait_cqe(&s->ring, &cqe);
}

static void qb_close(struct block *b)
{
	struct qcow2_blk *s = b->priv;

	qb_drain_ring(s);
	qcow2_set_hooks(s->q, NULL, NULL, NULL); /* nothing in flight now */
	io_uring_queue_exit(&s->ring);
	qcow2_close(s->q); /* writes the dirty metadata (a flush) */
	free(s);
}

struct qcow2 *block_qcow2(struct block *b)
{
	return b->ops == &block_qcow2_ops ? ((struct qcow2_blk *)b->priv)->q :
					    NULL;
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
