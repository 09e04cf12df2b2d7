// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw.c - the raw image back-end (block.h): a regular file or a block
 * device, read and written through io_uring. With O_DIRECT, requests
 * whose guest buffers are not sector aligned go through bounce buffers: a
 * pool of at most RAW_BOUNCE_BUFS buffers of RAW_BOUNCE_CHUNK bytes per
 * disk, a request moving RAW_BOUNCE_CHUNK at a time and waiting its turn
 * when every buffer is in use (the guest cannot make the host allocate
 * more, docs/limits.md). Write-zeroes falls back to writing zeroes where
 * fallocate cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/bounds.h"
#include "block.h"

#define RAW_DIRECT_ALIGN 512
#define RAW_BOUNCE_ALIGN 4096
#define RAW_BOUNCE_CHUNK (256 * 1024)
#define RAW_BOUNCE_BUFS 16 /* 4 MiB of bounce memory per disk at most */

/*
 * Copies between @iov (from byte @skip on) and @buf, @len bytes at most,
 * in either direction.
 */
static void iov_copy(const struct iovec *iov, unsigned int n, uint64_t skip,
		     uint8_t *buf, uint64_t len, bool to_buf)
{
	for (unsigned int i = 0; i < n && len; i++) {
		uint8_t *base = iov[i].iov_base;
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		base += skip;
		l -= skip;
		skip = 0;
		if (l > len)
			l = len;
		if (to_buf)
			memcpy(buf, base, l);
		else
			memcpy(base, buf, l);
		buf += l;
		len -= l;
	}
}

struct raw {
	int fd;
	bool direct;
	struct io_uring ring;
	void *pool[RAW_BOUNCE_BUFS]; /* free bounce buffers */
	unsigned int npool, nbufs; /* free, allocated */
	struct block_req *wait_head, *wait_tail; /* waiting for a buffer */
	bool resubmit; /* sqes queued while reaping */
	unsigned int completed; /* requests completed by this reap */
};

static int open_fd(struct raw *r, const struct block_params *p, uint64_t *size,
		   char *err, size_t errlen)
{
	struct stat st;

	r->fd = open(p->path, (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
				      (p->direct ? O_DIRECT : 0));
	if (r->fd < 0 || fstat(r->fd, &st))
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(r->fd, BLKGETSIZE64, size))
			goto fail;
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		snprintf(err, errlen,
			 "%.400s: not a regular file or block device", p->path);
		return -EINVAL;
	}
	return 0;
fail:
	snprintf(err, errlen, "%.400s: %s", p->path, strerror(errno));
	return -errno;
}

static int raw_open(struct block *b, const struct block_params *p, char *err,
		    size_t errlen)
{
	struct raw *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "%.400s: out of memory", p->path);
		return -ENOMEM;
	}
	r->direct = p->direct;
	ret = open_fd(r, p, &b->size, err, errlen);
	if (!ret) {
		ret = io_uring_queue_init(p->depth, &r->ring, 0);
		if (ret)
			snprintf(err, errlen, "%.400s: io_uring: %s", p->path,
				 strerror(-ret));
	}
	if (!ret && io_uring_register_eventfd(&r->ring, p->event_fd)) {
		ret = -errno;
		snprintf(err, errlen, "%.400s: completion eventfd: %s", p->path,
			 strerror(errno));
		io_uring_queue_exit(&r->ring);
	}
	if (ret) {
		if (r->fd >= 0)
			close(r->fd);
		free(r);
		return ret;
	}
	b->priv = r;
	return 0;
}

static bool aligned(const struct block_req *q)
{
	for (unsigned int i = 0; i < q->nr_iov; i++)
		if ((uintptr_t)q->iov[i].iov_base % RAW_DIRECT_ALIGN ||
		    q->iov[i].iov_len % RAW_DIRECT_ALIGN)
			return false;
	return true;
}

static bool needs_bounce(const struct raw *r, const struct block_req *q)
{
	return (q->op == BLOCK_READ || q->op == BLOCK_WRITE) && q->len &&
	       r->direct && !aligned(q);
}

/* A bounce buffer from the pool, or NULL when all are in use. */
static void *get_buf(struct raw *r)
{
	void *p;

	if (r->npool)
		return r->pool[--r->npool];
	if (r->nbufs == RAW_BOUNCE_BUFS) {
		bound_hit(BOUND_DISK_BOUNCE);
		return NULL;
	}
	p = aligned_alloc(RAW_BOUNCE_ALIGN, RAW_BOUNCE_CHUNK);
	if (p)
		r->nbufs++;
	return p;
}

static void set_rw(struct io_uring_sqe *sqe, enum block_op op, int fd,
		   const struct iovec *iov, unsigned int n, uint64_t off,
		   uint64_t len)
{
	(void)len;
	if (op == BLOCK_READ)
		io_uring_prep_readv(sqe, fd, iov, n, off);
	else
		io_uring_prep_writev(sqe, fd, iov, n, off);
}

static struct io_uring_sqe *get_sqe(struct raw *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

/* Queues the next chunk of bounced @q (its buffer held): 0 or -EAGAIN. */
static int start_chunk(struct raw *r, struct block_req *q)
{
	uint64_t n = q->len - q->bounce_done;
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EAGAIN;
	if (n > RAW_BOUNCE_CHUNK)
		n = RAW_BOUNCE_CHUNK;
	if (q->op == BLOCK_WRITE)
		iov_copy(q->iov, q->nr_iov, q->bounce_done, q->bounce, n, true);
	q->biov.iov_base = q->bounce;
	q->biov.iov_len = n;
	set_rw(sqe, q->op, r->fd, &q->biov, 1, q->offset + q->bounce_done, n);
	io_uring_sqe_set_data(sqe, q);
	r->resubmit = true;
	return 0;
}

static void prep(struct raw *r, struct io_uring_sqe *sqe, struct block_req *q)
{
	int mode = FALLOC_FL_KEEP_SIZE;

	switch (q->op) {
	case BLOCK_READ:
	case BLOCK_WRITE:
		set_rw(sqe, q->op, r->fd, q->iov, q->nr_iov, q->offset, q->len);
		break;
	case BLOCK_FLUSH:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
		/* A write's own flush (fua): its range only. */
		if (q->len && q->len <= UINT32_MAX) {
			sqe->off = q->offset;
			sqe->len = (uint32_t)q->len;
		}
		break;
	case BLOCK_DISCARD:
	case BLOCK_WRITE_ZEROES:
		if (q->op == BLOCK_DISCARD || q->unmap)
			mode |= FALLOC_FL_PUNCH_HOLE;
		else
			mode |= FALLOC_FL_ZERO_RANGE;
		io_uring_prep_fallocate(sqe, r->fd, mode, q->offset, q->len);
		break;
	}
	io_uring_sqe_set_data(sqe, q);
}

/* Bounced @q: starts at once with a free buffer, else waits for one. */
static int submit_bounced(struct raw *r, struct block_req *q)
{
	q->bounce_done = 0;
	q->bounce_next = NULL;
	q->bounce = get_buf(r);
	if (!q->bounce) {
		if (r->wait_tail)
			r->wait_tail->bounce_next = q;
		else
			r->wait_head = q;
		r->wait_tail = q;
		return 0;
	}
	if (start_chunk(r, q)) {
		r->pool[r->npool++] = q->bounce;
		q->bounce = NULL;
		return -EAGAIN;
	}
	return 0;
}

static int raw_submit(struct block *b, struct block_req *q)
{
	struct raw *r = b->priv;
	struct io_uring_sqe *sqe;

	q->bounce = NULL;
	if (needs_bounce(r, q))
		return submit_bounced(r, q);
	sqe = get_sqe(r);
	if (!sqe)
		return -EAGAIN;
	prep(r, sqe, q);
	return 0;
}

static void raw_commit(struct block *b)
{
	struct raw *r = b->priv;

	r->resubmit = false;
	io_uring_submit(&r->ring);
}

/* Write-zeroes where the file system cannot fallocate: plain writes. */
static int write_zeroes(struct raw *r, const struct block_req *q)
{
	static const uint8_t zeros[65536];
	uint64_t done = 0;

	while (done < q->len) {
		uint64_t n = q->len - done;
		ssize_t w;

		if (n > sizeof(zeros))
			n = sizeof(zeros);
		w = pwrite(r->fd, zeros, n, (off_t)(q->offset + done));
		if (w <= 0)
			return -EIO;
		done += (uint64_t)w;
	}
	return 0;
}

/* Completes @q (one chunk of a bounced request is not a completion). */
static void complete(struct block *b, struct block_req *q, int res)
{
	struct raw *r = b->priv;

	r->completed++;
	block_complete(b, q, res);
}

/*
 * Gives @q's bounce buffer to the first request waiting for one (which
 * starts, or fails at once), else back to the pool.
 */
static void release_buf(struct block *b, struct block_req *q)
{
	struct raw *r = b->priv;
	struct block_req *w = r->wait_head;

	if (!w) {
		r->pool[r->npool++] = q->bounce;
		q->bounce = NULL;
		return;
	}
	r->wait_head = w->bounce_next;
	if (!r->wait_head)
		r->wait_tail = NULL;
	w->bounce = q->bounce;
	q->bounce = NULL;
	if (start_chunk(r, w)) {
		release_buf(b, w);
		complete(b, w, -EIO);
	}
}

/*
 * A chunk of bounced @q finished with @res: the next one starts, or @q
 * completes (an error, a short transfer or the end).
 */
static void finish_chunk(struct block *b, struct block_req *q, int res)
{
	struct raw *r = b->priv;
	uint64_t chunk = q->biov.iov_len;

	if (res > 0) {
		if (q->op == BLOCK_READ)
			iov_copy(q->iov, q->nr_iov, q->bounce_done, q->bounce,
				 (uint64_t)res, false);
		q->bounce_done += (uint64_t)res;
		if ((uint64_t)res == chunk && q->bounce_done < q->len) {
			if (!start_chunk(r, q))
				return;
			res = -EIO;
		}
	}
	release_buf(b, q);
	if (res >= 0)
		res = q->bounce_done > INT32_MAX ? INT32_MAX :
						   (int)q->bounce_done;
	complete(b, q, res);
}

static void finish(struct block *b, struct block_req *q, int res)
{
	struct raw *r = b->priv;

	if (q->bounce) {
		finish_chunk(b, q, res);
		return;
	}
	if (q->op == BLOCK_WRITE_ZEROES && res == -EOPNOTSUPP)
		res = write_zeroes(r, q);
	complete(b, q, res);
}

static unsigned int raw_reap(struct block *b)
{
	struct raw *r = b->priv;
	struct io_uring_cqe *cqe;

	r->completed = 0;
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct block_req *q = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		if (q)
			finish(b, q, res);
	}
	/* Next chunks of bounced requests. */
	if (r->resubmit) {
		r->resubmit = false;
		io_uring_submit(&r->ring);
	}
	return r->completed;
}

static int raw_wait(struct block *b)
{
	struct raw *r = b->priv;
	struct io_uring_cqe *cqe;

	return io_uring_wait_cqe(&r->ring, &cqe);
}

static void raw_close(struct block *b)
{
	struct raw *r = b->priv;

	io_uring_queue_exit(&r->ring);
	close(r->fd);
	while (r->npool)
		free(r->pool[--r->npool]);
	free(r);
}

const struct block_ops block_raw_ops = {
	.name = "raw",
	.open = raw_open,
	.submit = raw_submit,
	.commit = raw_commit,
	.reap = raw_reap,
	.wait = raw_wait,
	.close = raw_close,
};
