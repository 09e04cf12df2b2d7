// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk.c - the virtio-blk device model (virtio 1.2, 5.2) on a raw image;
 * requests are checked by blk_req.c. Reads, writes, flushes (fdatasync), discards and
 * write-zeroes (fallocate) go to io_uring from the I/O thread; the ring's
 * eventfd brings the completions back to the same thread.
 */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "runtime.h"

#define VIRTIO_ID_BLOCK 2

/* Feature bits (virtio 1.2, 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BLK_QUEUE_SIZE 256
#define BLK_MAX_INFLIGHT BLK_QUEUE_SIZE
#define BLK_DIRECT_ALIGN 512
#define BLK_ASYNC_BYTES (128 * 1024)

enum { ONCE_BLK = 0x7620 };

struct blk_io {
	struct blk_req r;
	uint16_t head;
	uint32_t used_len; /* bytes written to the guest on success */
	void *bounce; /* O_DIRECT with unaligned guest buffers */
	struct iovec biov; /* the bounce buffer, submitted instead of r.iov */
};

struct blk {
	struct virtio_dev *dev;
	struct disk_config cfg;
	struct blk_limits lim;
	int fd;
	int efd;
	bool ring_ok;
	struct io_uring ring;
	unsigned int inflight;
	bool stalled; /* stopped popping at BLK_MAX_INFLIGHT */
	/* Rate limiting (see the end of this file). */
	struct rate_limiter rl;
	int rl_fd; /* timerfd: the wait the limiter asked for is over */
	bool throttled; /* rl_fd armed: the queue is not processed */
	struct virtio_io_stats st;
};

static bool blk_throttle(struct blk *b, const struct blk_req *r);
static void blk_count(struct blk *b, const struct blk_req *r);
static void blk_rl_timer(void *opaque, uint32_t events);

static void complete(struct blk *b, struct blk_io *io, uint8_t status)
{
	*io->r.status = status;
	virtq_push(&b->dev->vqs[0], io->head,
		   status == VIRTIO_BLK_S_OK ? io->used_len : 1);
	free(io->bounce);
	free(io);
}

static bool aligned(const struct blk_req *r)
{
	for (unsigned int i = 0; i < r->nr_iov; i++)
		if ((uintptr_t)r->iov[i].iov_base % BLK_DIRECT_ALIGN ||
		    r->iov[i].iov_len % BLK_DIRECT_ALIGN)
			return false;
	return true;
}

static void zero_fallback(struct blk *b, struct blk_io *io, int *res)
{
	static const uint8_t zeros[65536];
	uint64_t done = 0;

	while (done < io->r.len) {
		uint64_t n = io->r.len - done;
		ssize_t w;

		if (n > sizeof(zeros))
			n = sizeof(zeros);
		w = pwrite(b->fd, zeros, n, (off_t)(io->r.offset + done));
		if (w <= 0) {
			*res = -EIO;
			return;
		}
		done += (uint64_t)w;
	}
	*res = 0;
}

static void finish_io(struct blk *b, struct blk_io *io, int res)
{
	uint8_t st = VIRTIO_BLK_S_OK;

	switch (io->r.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (res < 0 || (uint64_t)res != io->r.len) {
			log_once(ONCE_BLK, b->dev->base, "%s: %s at %llu: %s",
				 b->cfg.path, io->r.type ? "write" : "read",
				 (unsigned long long)io->r.offset,
				 res < 0 ? strerror(-res) : "short transfer");
			st = VIRTIO_BLK_S_IOERR;
		} else if (io->bounce && io->r.type == VIRTIO_BLK_T_IN) {
			virtq_buf_to_iov(io->r.iov, io->r.nr_iov, 0, io->bounce,
					 io->r.len);
		}
		break;
	case VIRTIO_BLK_T_DISCARD:
		/* Discard is a hint: a file system without holes is fine. */
		if (res == -EOPNOTSUPP)
			res = 0;
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (res == -EOPNOTSUPP)
			zero_fallback(b, io, &res);
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	default:
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	}
	complete(b, io, st);
}

/* Prepares the io_uring submission for @io; false if done synchronously. */
static bool submit(struct blk *b, struct blk_io *io)
{
	struct io_uring_sqe *sqe;
	struct blk_req *r = &io->r;
	int mode;

	if (r->type == VIRTIO_BLK_T_GET_ID) {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };

		memcpy(id, b->cfg.serial, strnlen(b->cfg.serial, sizeof(id)));
		virtq_buf_to_iov(r->iov, r->nr_iov, 0, id, r->len);
		io->used_len = (uint32_t)r->len + 1;
		complete(b, io, VIRTIO_BLK_S_OK);
		return false;
	}
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
	    r->len && b->cfg.direct && !aligned(r)) {
		size_t sz = (r->len + 4095) & ~(size_t)4095;

		io->bounce = aligned_alloc(4096, sz);
		if (!io->bounce) {
			complete(b, io, VIRTIO_BLK_S_IOERR);
			return false;
		}
		if (r->type == VIRTIO_BLK_T_OUT)
			virtq_iov_to_buf(r->iov, r->nr_iov, 0, io->bounce,
					 r->len);
		io->biov.iov_base = io->bounce;
		io->biov.iov_len = r->len;
	}
	sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	if (!sqe) {
		complete(b, io, VIRTIO_BLK_S_IOERR);
		return false;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		io->used_len =
			r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->len + 1 : 1;
		if (r->type == VIRTIO_BLK_T_IN)
			io_uring_prep_readv(sqe, b->fd,
					    io->bounce ? &io->biov : r->iov,
					    io->bounce ? 1 : r->nr_iov,
					    r->offset);
		else
			io_uring_prep_writev(sqe, b->fd,
					     io->bounce ? &io->biov : r->iov,
					     io->bounce ? 1 : r->nr_iov,
					     r->offset);
		/*
		 * Large transfers go to io_uring's workers at once: copies to
		 * and from the page cache then run in parallel, not one after
		 * another on the I/O thread.
		 */
		if (r->len >= BLK_ASYNC_BYTES)
			io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
		break;
	case VIRTIO_BLK_T_FLUSH:
		io->used_len = 1;
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	default: /* discard, write-zeroes */
		io->used_len = 1;
		mode = FALLOC_FL_KEEP_SIZE;
		if (r->type == VIRTIO_BLK_T_DISCARD || r->unmap)
			mode |= FALLOC_FL_PUNCH_HOLE;
		else
			mode |= FALLOC_FL_ZERO_RANGE;
		io_uring_prep_fallocate(sqe, b->fd, mode, r->offset, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	b->inflight++;
	return true;
}

/* Takes every available completion; returns how many. */
static unsigned int reap(struct blk *b, bool push)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		struct blk_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		if (!io)
			continue;
		b->inflight--;
		n++;
		if (push) {
			finish_io(b, io, res);
		} else {
			free(io->bounce);
			free(io);
		}
	}
	return n;
}

static void blk_process(struct blk *b)
{
	struct virtio_dev *d = b->dev;
	struct virtq *vq = &d->vqs[0];
	struct virtq_elem e;
	bool pushed = false, queued = false;

	b->stalled = false;
	if (b->throttled)
		return; /* the rate limiter's timer resumes the queue */
	for (;;) {
		struct blk_io *io;
		int r;

		if (b->inflight >= BLK_MAX_INFLIGHT) {
			b->stalled = true;
			break;
		}
		r = virtq_next(vq, &e);
		if (r <= 0)
			break;
		io = malloc(sizeof(*io));
		if (!io) {
			virtq_unpop(vq);
			b->stalled = true;
			break;
		}
		io->head = e.head;
		io->bounce = NULL;
		r = blk_parse(&e, &b->lim, &io->r);
		if (r < 0) {
			free(io);
			virtio_set_broken(
				d, "request without header or status byte");
			break;
		}
		if (r != VIRTIO_BLK_S_OK) {
			complete(b, io, (uint8_t)r);
			pushed = true;
			continue;
		}
		if (blk_throttle(b, &io->r)) {
			free(io);
			virtq_unpop(vq);
			break;
		}
		blk_count(b, &io->r);
		if (submit(b, io))
			queued = true;
		else
			pushed = true;
	}
	if (queued) {
		io_uring_submit(&b->ring);
		/*
		 * Reads from the page cache complete inside the submission:
		 * answer them now instead of after another epoll round trip.
		 */
		if (reap(b, true))
			pushed = true;
	}
	if (pushed)
		virtio_notify_queue(d, 0);
	virtio_check_queue(d, 0);
}

static void blk_notify(struct virtio_dev *d, unsigned int q)
{
	(void)q;
	blk_process(d->priv);
}

static void blk_completion(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	struct virtio_dev *d = b->dev;
	uint64_t v;

	(void)events;
	if (read(b->efd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (reap(b, virtio_queue_usable(d, 0))) {
		virtio_notify_queue(d, 0);
		if (b->stalled && virtio_queue_usable(d, 0))
			blk_process(b);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Waits for every in-flight request and drops it (device reset). */
static void drain(struct blk *b)
{
	while (b->inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
			break;
		reap(b, false);
	}
	b->stalled = false;
}

static void blk_reset(struct virtio_dev *d)
{
	drain(d->priv);
}

static void put_le(uint8_t *cfg, unsigned int off, uint64_t v, unsigned int n)
{
	memcpy(cfg + off, &v, n);
}

static void blk_config_read(struct virtio_dev *d, uint64_t off, void *data,
			    unsigned int len)
{
	struct blk *b = d->priv;
	uint8_t cfg[60] = { 0 };

	put_le(cfg, 0, b->lim.capacity, 8);
	put_le(cfg, 12, VIRTIO_BLK_SEG_MAX, 4);
	put_le(cfg, 20, VIRTIO_BLK_SECTOR, 4);
	put_le(cfg, 34, 1, 2); /* num_queues */
	put_le(cfg, 36, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(cfg, 40, 1, 4); /* max_discard_seg */
	put_le(cfg, 44, 1, 4); /* discard_sector_alignment */
	put_le(cfg, 48, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(cfg, 52, 1, 4); /* max_write_zeroes_seg */
	cfg[56] = 1; /* write_zeroes_may_unmap */
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void blk_destroy(void *priv)
{
	struct blk *b = priv;

	if (!b)
		return;
	if (b->ring_ok) {
		drain(b);
		io_uring_queue_exit(&b->ring);
	}
	if (b->efd >= 0)
		close(b->efd);
	if (b->rl_fd >= 0)
		close(b->rl_fd);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static void blk_pause(struct virtio_dev *d);
static void blk_resume(struct virtio_dev *d);
static int blk_save(struct virtio_dev *d, struct state_writer *w);
static int blk_restore(struct virtio_dev *d, struct state_reader *r);

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.state_version = 1,
	.pause = blk_pause,
	.resume = blk_resume,
	.save = blk_save,
	.restore = blk_restore,
};

static int open_image(struct blk *b)
{
	const struct disk_config *c = &b->cfg;
	struct stat st;
	uint64_t size;

	b->fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
				      (c->direct ? O_DIRECT : 0));
	if (b->fd < 0) {
		pr_err("--disk %s: %s", c->path, strerror(errno));
		return -1;
	}
	if (fstat(b->fd, &st)) {
		pr_err("--disk %s: %s", c->path, strerror(errno));
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size)) {
			pr_err("--disk %s: %s", c->path, strerror(errno));
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		pr_err("--disk %s: not a regular file or block device",
		       c->path);
		return -1;
	}
	if (size % VIRTIO_BLK_SECTOR)
		pr_warn("--disk %s: size is not a multiple of 512: the last %llu bytes are not visible",
			c->path,
			(unsigned long long)(size % VIRTIO_BLK_SECTOR));
	b->lim.capacity = size / VIRTIO_BLK_SECTOR;
	b->lim.readonly = c->readonly;
	b->lim.discard = b->lim.write_zeroes = !c->readonly;
	return 0;
}

struct virtio_dev *virtio_blk_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct disk_config *disk)
{
	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			    (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	struct virtio_dev *d;
	struct blk *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return NULL;
	b->cfg = *disk;
	b->efd = -1;
	b->rl_fd = -1;
	if (open_image(b)) {
		if (b->fd >= 0)
			close(b->fd);
		free(b);
		return NULL;
	}
	if (disk->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	/* From here on, the device's destroy frees b. */
	d = virtio_mmio_create(vm, io, base, irq, &blk_ops, 1, BLK_QUEUE_SIZE,
			       features, b, "virtio-blk");
	if (!d)
		return NULL;
	b->dev = d;
	err = io_uring_queue_init(BLK_MAX_INFLIGHT, &b->ring, 0);
	if (err) {
		pr_err("--disk %s: io_uring: %s", disk->path, strerror(-err));
		return NULL;
	}
	b->ring_ok = true;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0 || io_uring_register_eventfd(&b->ring, b->efd) ||
	    iothread_add(io, b->efd, EPOLLIN, blk_completion, b)) {
		pr_err("--disk %s: completion eventfd: %s", disk->path,
		       strerror(errno));
		return NULL;
	}
	rl_init(&b->rl, &disk->rl, rl_now_ns());
	b->rl_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (b->rl_fd < 0 ||
	    iothread_add(io, b->rl_fd, EPOLLIN, blk_rl_timer, b)) {
		pr_err("--disk %s: rate limiter timer: %s", disk->path,
		       strerror(errno));
		return NULL;
	}
	return d;
}

/* --- control plane: rate limiter, backing file, counters --------------- */

/* Arms the timer for a wait of @ns; the queue rests until it fires. */
static void arm_timer(int fd, uint64_t ns)
{
	struct itimerspec its = { 0 };

	if (ns == 0)
		ns = 1;
	its.it_value.tv_sec = (time_t)(ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(ns % 1000000000ULL);
	timerfd_settime(fd, 0, &its, NULL);
}

static uint64_t req_bytes(const struct blk_req *r)
{
	return r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ?
		       r->len :
		       0;
}

/* True if @r must wait for the rate limiter (the timer is then armed). */
static bool blk_throttle(struct blk *b, const struct blk_req *r)
{
	uint64_t wait;

	if (!rl_enabled(&b->rl))
		return false;
	wait = rl_consume(&b->rl, req_bytes(r), rl_now_ns());
	if (!wait)
		return false;
	b->throttled = true;
	arm_timer(b->rl_fd, wait);
	return true;
}

static void blk_count(struct blk *b, const struct blk_req *r)
{
	if (r->type == VIRTIO_BLK_T_IN) {
		b->st.in_ops++;
		b->st.in_bytes += r->len;
	} else if (r->type == VIRTIO_BLK_T_OUT) {
		b->st.out_ops++;
		b->st.out_bytes += r->len;
	} else {
		b->st.other_ops++;
	}
}

static void blk_rl_timer(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	uint64_t n;

	(void)events;
	if (read(b->rl_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&b->dev->lock);
	b->throttled = false;
	if (virtio_queue_usable(b->dev, 0))
		blk_process(b);
	pthread_mutex_unlock(&b->dev->lock);
}

void virtio_blk_set_rate_limiter(struct virtio_dev *d,
				 const struct rl_config *rl)
{
	struct blk *b = d->priv;
	struct itimerspec off = { 0 };

	pthread_mutex_lock(&d->lock);
	b->cfg.rl = *rl;
	rl_init(&b->rl, rl, rl_now_ns());
	if (b->throttled) {
		/* Whatever waited goes on under the new limits. */
		timerfd_settime(b->rl_fd, 0, &off, NULL);
		b->throttled = false;
		virtio_requeue(d, 0);
	}
	pthread_mutex_unlock(&d->lock);
}

struct blk_swap {
	struct blk *b;
	int fd;
	const char *path;
	uint64_t size;
};

/*
 * On the I/O thread: requests in flight finish on the old file, waited
 * for without the device lock (a vCPU reading the device's registers does
 * not wait for host I/O); then the new file takes over.
 */
static void blk_swap_file(void *arg)
{
	struct blk_swap *s = arg;
	struct blk *b = s->b;
	struct virtio_dev *d = b->dev;

	pthread_mutex_lock(&d->lock);
	while (b->inflight) {
		struct pollfd p = { .fd = b->efd, .events = POLLIN };
		uint64_t v;

		pthread_mutex_unlock(&d->lock);
		if (poll(&p, 1, 10) == 1 && read(b->efd, &v, sizeof(v)) < 0) {
			/* drained meanwhile: reap() below looks anyway */
		}
		pthread_mutex_lock(&d->lock);
		if (reap(b, virtio_queue_usable(d, 0)))
			virtio_notify_queue(d, 0);
	}
	close(b->fd);
	b->fd = s->fd;
	snprintf(b->cfg.path, sizeof(b->cfg.path), "%s", s->path);
	b->lim.capacity = s->size / VIRTIO_BLK_SECTOR;
	virtio_config_changed(d);
	if (b->stalled)
		virtio_requeue(d, 0);
	pthread_mutex_unlock(&d->lock);
}

int virtio_blk_set_path(struct virtio_dev *d, const char *path, char *err,
			size_t errlen)
{
	struct blk *b = d->priv;
	struct blk_swap swap;
	struct stat st;
	uint64_t size;
	int fd = open(path, (b->cfg.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
				    (b->cfg.direct ? O_DIRECT : 0));

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size)) {
			snprintf(err, errlen, "%.400s: %s", path,
				 strerror(errno));
			close(fd);
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		snprintf(err, errlen,
			 "%.400s: not a regular file or block device", path);
		close(fd);
		return -1;
	}
	swap.b = b;
	swap.fd = fd;
	swap.path = path;
	swap.size = size;
	/* The I/O thread owns the back-end: it swaps the file. */
	iothread_call(d->io, blk_swap_file, &swap);
	return 0;
}

void virtio_blk_stats(struct virtio_dev *d, struct virtio_io_stats *out)
{
	struct blk *b = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = b->st;
	out->throttled = b->rl.throttled;
	out->throttled_ns = b->rl.throttled_ns;
	pthread_mutex_unlock(&d->lock);
}

/* --- device interface: pause, saved state -------------------------------- */

/*
 * Pause (the vCPUs and the I/O thread are parked): every request in
 * flight completes into guest memory and onto the used ring now, so
 * nothing changes guest memory until the resume and the saved state has
 * no host I/O pending.
 */
static void blk_pause(struct virtio_dev *d)
{
	struct blk *b = d->priv;
	bool pushed = false;

	while (b->inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
			break;
		if (reap(b, virtio_queue_usable(d, 0)))
			pushed = true;
	}
	if (pushed)
		virtio_notify_queue(d, 0);
}

/* Requests left on the ring when in-flight ones filled it go on. */
static void blk_resume(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	if (b->stalled || b->throttled)
		virtio_requeue(d, 0);
}

/*
 * The configuration the guest sees (the disk's capacity and mode); the
 * queue's state is the transport's. Only with nothing in flight (paused).
 */
static int blk_save(struct virtio_dev *d, struct state_writer *w)
{
	struct blk *b = d->priv;

	if (b->inflight) {
		pr_err("%s %s: cannot save state with %u requests in flight",
		       d->name, b->cfg.path, b->inflight);
		return -1;
	}
	state_put_u64(w, b->lim.capacity);
	state_put_bool(w, b->cfg.readonly);
	return 0;
}

static int blk_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct blk *b = d->priv;
	uint64_t capacity = state_get_u64(r, "disk capacity");
	bool readonly = state_get_bool(r, "disk read-only");

	state_expect_end(r, "virtio-blk");
	if (state_ok(r) && capacity != b->lim.capacity)
		state_fail(r, "disk capacity: %llu sectors saved, %s has %llu",
			   (unsigned long long)capacity, b->cfg.path,
			   (unsigned long long)b->lim.capacity);
	state_check(r, readonly == b->cfg.readonly, "disk read-only");
	return state_ok(r) ? 0 : -1;
}
