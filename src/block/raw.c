// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw.c - the raw image back-end (block.h): a regular file or a block
 * device, read and written through io_uring. With O_DIRECT, requests
 * whose guest buffers are not sector aligned go through a bounce buffer;
 * write-zeroes falls back to writing zeroes where fallocate cannot.
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

#include "block.h"

#define RAW_DIRECT_ALIGN 512
#define RAW_BOUNCE_ALIGN 4096
#define RAW_ASYNC_BYTES (128 * 1024)

/* Copies between @iov and @buf, @len bytes at most, in either direction. */
static void iov_copy(const struct iovec *iov, unsigned int n, uint8_t *buf,
		     uint64_t len, bool to_buf)
{
	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len < len ? iov[i].iov_len : len;

		if (to_buf)
			memcpy(buf, iov[i].iov_base, l);
		else
			memcpy(iov[i].iov_base, buf, l);
		buf += l;
		len -= l;
	}
}

struct raw {
	int fd;
	bool direct;
	struct io_uring ring;
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

/* With O_DIRECT, unaligned data goes through an aligned copy. */
static int bounce(struct raw *r, struct block_req *q)
{
	size_t sz;

	q->bounce = NULL;
	if ((q->op != BLOCK_READ && q->op != BLOCK_WRITE) || !q->len ||
	    !r->direct || aligned(q))
		return 0;
	sz = (q->len + RAW_BOUNCE_ALIGN - 1) & ~(size_t)(RAW_BOUNCE_ALIGN - 1);
	q->bounce = aligned_alloc(RAW_BOUNCE_ALIGN, sz);
	if (!q->bounce)
		return -ENOMEM;
	if (q->op == BLOCK_WRITE)
		iov_copy(q->iov, q->nr_iov, q->bounce, q->len, true);
	q->biov.iov_base = q->bounce;
	q->biov.iov_len = q->len;
	return 0;
}

static void prep(struct raw *r, struct io_uring_sqe *sqe, struct block_req *q)
{
	const struct iovec *iov = q->bounce ? &q->biov : q->iov;
	unsigned int n = q->bounce ? 1 : q->nr_iov;
	int mode = FALLOC_FL_KEEP_SIZE;

	switch (q->op) {
	case BLOCK_READ:
	case BLOCK_WRITE:
		if (q->op == BLOCK_READ)
			io_uring_prep_readv(sqe, r->fd, iov, n, q->offset);
		else
			io_uring_prep_writev(sqe, r->fd, iov, n, q->offset);
		/*
		 * Large transfers go to io_uring's workers at once: copies to
		 * and from the page cache then run in parallel, not one after
		 * another on the I/O thread.
		 */
		if (q->len >= RAW_ASYNC_BYTES)
			io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
		break;
	case BLOCK_FLUSH:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
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

static int raw_submit(struct block *b, struct block_req *q)
{
	struct raw *r = b->priv;
	struct io_uring_sqe *sqe;

	if (bounce(r, q))
		return -ENOMEM;
	sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	if (!sqe) {
		free(q->bounce);
		q->bounce = NULL;
		return -EAGAIN;
	}
	prep(r, sqe, q);
	return 0;
}

static void raw_commit(struct block *b)
{
	struct raw *r = b->priv;

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

static void finish(struct block *b, struct block_req *q, int res)
{
	struct raw *r = b->priv;

	if (q->op == BLOCK_WRITE_ZEROES && res == -EOPNOTSUPP)
		res = write_zeroes(r, q);
	if (q->bounce && q->op == BLOCK_READ && res > 0)
		iov_copy(q->iov, q->nr_iov, q->bounce, (uint64_t)res, false);
	free(q->bounce);
	q->bounce = NULL;
	b->done(b->opaque, q, res);
}

static unsigned int raw_reap(struct block *b)
{
	struct raw *r = b->priv;
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct block_req *q = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		if (!q)
			continue;
		n++;
		finish(b, q, res);
	}
	return n;
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
