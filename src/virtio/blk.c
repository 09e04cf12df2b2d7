// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk.c - the virtio-blk device model (virtio 1.2, 5.2); requests are
 * checked by blk_req.c and stored by a block back-end (src/block: a raw
 * image through io_uring). Requests are popped and submitted on the I/O
 * thread; the back-end's completion eventfd brings them back there.
 */
#include "../util/bounds.h"
#include "blk.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../block/block.h"
#include "../util/log.h"
#include "../util/rl_timer.h"
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

enum { ONCE_BLK = 0x7620 };

struct blk_io {
	struct block_req bq; /* what the back-end does */
	struct blk_req r;
	uint16_t head;
	uint32_t used_len; /* bytes written to the guest on success */
};

struct blk {
	struct virtio_dev *dev;
	struct disk_config cfg;
	struct blk_limits lim;
	struct block *bk; /* the image's back-end */
	int efd; /* the back-end's completions */
	bool push; /* completions go to the guest (not dropped by a reset) */
	bool stalled; /* stopped popping at BLK_MAX_INFLIGHT */
	/* Rate limiting (see the end of this file). */
	struct rate_limiter rl;
	struct rl_timer rl_timer;
	bool throttled; /* the queue waits for the limiter's timer */
	/* The I/O thread polls the queue: the driver need not notify. */
	bool polling;
	struct virtio_io_stats st;
};

static bool blk_throttle(struct blk *b, const struct blk_req *r);
static void blk_count(struct blk *b, const struct blk_req *r);
static void blk_rl_fire(void *opaque);

static void complete(struct blk *b, struct blk_io *io, uint8_t status)
{
	*io->r.status = status;
	virtq_push(&b->dev->vqs[0], io->head,
		   status == VIRTIO_BLK_S_OK ? io->used_len : 1);
	free(io);
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
		}
		break;
	case VIRTIO_BLK_T_DISCARD:
		/* Discard is a hint: a file system without holes is fine. */
		if (res == -EOPNOTSUPP)
			res = 0;
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	default:
		st = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	}
	complete(b, io, st);
}

/* The back-end finished @q (block.h's done callback). */
static void blk_done(void *opaque, struct block_req *q, int res)
{
	struct blk *b = opaque;
	struct blk_io *io =
		(struct blk_io *)((char *)q - offsetof(struct blk_io, bq));

	/* The data landed now, maybe after its pages were collected. */
	if (q->op == BLOCK_READ && res > 0)
		for (unsigned int i = 0; i < q->nr_iov; i++)
			gmem_mark_dirty_hva(&b->dev->vm->mem,
					    q->iov[i].iov_base,
					    q->iov[i].iov_len);
	if (b->push)
		finish_io(b, io, res);
	else
		free(io);
}

static void to_block_req(const struct blk *b, struct blk_io *io)
{
	const struct blk_req *r = &io->r;
	struct block_req *q = &io->bq;

	memset(q, 0, sizeof(*q));
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		q->op = BLOCK_READ;
		break;
	case VIRTIO_BLK_T_OUT:
		q->op = BLOCK_WRITE;
		/*
		 * Without VIRTIO_BLK_F_FLUSH the cache is write-through
		 * (virtio 1.2, 5.2.5): each write is stable when done.
		 */
		q->fua = !virtio_has_feature(b->dev, VIRTIO_BLK_F_FLUSH);
		break;
	case VIRTIO_BLK_T_FLUSH:
		q->op = BLOCK_FLUSH;
		break;
	case VIRTIO_BLK_T_DISCARD:
		q->op = BLOCK_DISCARD;
		break;
	default:
		q->op = BLOCK_WRITE_ZEROES;
		break;
	}
	q->offset = r->offset;
	q->len = r->len;
	q->unmap = r->unmap;
	q->iov = r->iov;
	q->nr_iov = r->nr_iov;
}

/* Hands @io to the back-end; false if it was completed at once. */
static bool submit(struct blk *b, struct blk_io *io)
{
	struct blk_req *r = &io->r;

	if (r->type == VIRTIO_BLK_T_GET_ID) {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };

		memcpy(id, b->cfg.serial, strnlen(b->cfg.serial, sizeof(id)));
		virtq_buf_to_iov(r->iov, r->nr_iov, 0, id, r->len);
		io->used_len = (uint32_t)r->len + 1;
		complete(b, io, VIRTIO_BLK_S_OK);
		return false;
	}
	io->used_len = r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->len + 1 : 1;
	to_block_req(b, io);
	if (block_submit(b->bk, &io->bq)) {
		complete(b, io, VIRTIO_BLK_S_IOERR);
		return false;
	}
	return true;
}

/* Completes what the back-end finished; returns how many. */
static unsigned int reap(struct blk *b, bool push)
{
	b->push = push;
	return block_reap(b->bk);
}

/* Takes and starts the queue's requests; returns how many it took. */
static unsigned int blk_process(struct blk *b)
{
	struct virtio_dev *d = b->dev;
	struct virtq *vq = &d->vqs[0];
	struct virtq_elem e;
	bool pushed = false, queued = false;
	unsigned int taken = 0;

	b->stalled = false;
	if (b->throttled)
		return 0; /* the rate limiter's timer resumes the queue */
	for (;;) {
		struct blk_io *io;
		int r;

		if (b->bk->inflight >= BLK_MAX_INFLIGHT) {
			bound_hit(BOUND_BLK_INFLIGHT);
			b->stalled = true;
			break;
		}
		/* Polled, the ring stays quiet when empty (blk_poll()). */
		r = b->polling ? virtq_pop(vq, &e) : virtq_next(vq, &e);
		if (r <= 0)
			break;
		taken++;
		io = malloc(sizeof(*io));
		if (!io) {
			virtq_unpop(vq);
			taken--;
			b->stalled = true;
			break;
		}
		io->head = e.head;
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
			taken--;
			break;
		}
		blk_count(b, &io->r);
		if (submit(b, io))
			queued = true;
		else
			pushed = true;
	}
	if (queued) {
		block_commit(b->bk);
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
	return taken;
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

/*
 * The I/O thread's poller (iothread_set_poll): finished requests and new
 * ones, found without a system call; true if it completed or took any.
 * A vCPU holding the lock (a register access) makes it pass this turn.
 * While it polls, the driver is told not to notify (virtq_disable_notify());
 * at the stretch's @end notifications are asked for again and what came
 * meanwhile is taken (blk_process() through virtq_next()).
 */
static bool blk_poll(void *opaque, bool end)
{
	struct blk *b = opaque;
	struct virtio_dev *d = b->dev;
	bool progress = false;

	if (!d)
		return false;
	if (end) {
		pthread_mutex_lock(&d->lock);
		if (b->polling) {
			b->polling = false;
			if (virtio_queue_usable(d, 0) && !b->throttled)
				blk_process(b);
		}
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	if (pthread_mutex_trylock(&d->lock))
		return false;
	if (!b->polling && virtio_queue_usable(d, 0)) {
		b->polling = true;
		virtq_disable_notify(&d->vqs[0]);
	}
	if (b->bk->inflight && reap(b, virtio_queue_usable(d, 0))) {
		virtio_notify_queue(d, 0);
		progress = true;
	}
	if (virtio_queue_usable(d, 0) && !b->throttled &&
	    virtq_has_avail(&d->vqs[0]) && blk_process(b))
		progress = true;
	pthread_mutex_unlock(&d->lock);
	return progress;
}

/* Waits for every in-flight request and drops it (device reset). */
static void drain(struct blk *b)
{
	b->push = false;
	block_drain(b->bk);
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
	b->push = false;
	block_close(b->bk);
	if (b->efd >= 0)
		close(b->efd);
	rl_timer_close(&b->rl_timer);
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

/* Opens the back-end of @path with @b's options. NULL: @err says why. */
static struct block *open_image(struct blk *b, const char *path, char *err,
				size_t errlen)
{
	struct block_params p = {
		.path = path,
		.format = (enum block_format)b->cfg.format,
		.readonly = b->cfg.readonly,
		.direct = b->cfg.direct,
		.depth = BLK_MAX_INFLIGHT,
		.event_fd = b->efd,
		.done = blk_done,
		.opaque = b,
	};

	return block_open(&p, err, errlen);
}

static int blk_open(struct blk *b)
{
	const struct disk_config *c = &b->cfg;
	char err[512];

	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		pr_err("disk %s: completion eventfd: %s", c->path,
		       strerror(errno));
		return -1;
	}
	b->bk = open_image(b, c->path, err, sizeof(err));
	if (!b->bk) {
		pr_err("disk %s", err);
		return -1;
	}
	if (b->bk->size % VIRTIO_BLK_SECTOR)
		pr_warn("disk %s: size is not a multiple of 512: the last %llu bytes are not visible",
			c->path,
			(unsigned long long)(b->bk->size % VIRTIO_BLK_SECTOR));
	b->lim.capacity = b->bk->size / VIRTIO_BLK_SECTOR;
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

	if (!b)
		return NULL;
	b->cfg = *disk;
	b->rl_timer.fd = -1;
	if (blk_open(b)) {
		blk_destroy(b);
		return NULL;
	}
	if (disk->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	/* From here on, the device's destroy frees b. */
	d = virtio_dev_create(vm, io, base, irq, &blk_ops, 1, BLK_QUEUE_SIZE,
			      features, b, "virtio-blk");
	if (!d)
		return NULL;
	b->dev = d;
	if (iothread_add(io, b->efd, EPOLLIN, blk_completion, b) ||
	    iothread_set_poll(io, b->efd, blk_poll)) {
		pr_err("disk %s: completion eventfd: %s", disk->path,
		       strerror(errno));
		return NULL;
	}
	rl_init(&b->rl, &disk->rl, rl_now_ns());
	if (rl_timer_init(&b->rl_timer, io, blk_rl_fire, b)) {
		pr_err("disk %s: rate limiter timer: %s", disk->path,
		       strerror(errno));
		return NULL;
	}
	return d;
}

/* --- control plane: rate limiter, backing file, counters --------------- */

static uint64_t req_bytes(const struct blk_req *r)
{
	return r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ?
		       r->len :
		       0;
}

/* True if @r must wait for the rate limiter (the timer is then armed). */
static bool blk_throttle(struct blk *b, const struct blk_req *r)
{
	if (!rl_timer_throttle(&b->rl_timer, &b->rl, req_bytes(r)))
		return false;
	b->throttled = true;
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

/* The limiter's wait is over, or its limits changed: the queue goes on. */
static void blk_rl_fire(void *opaque)
{
	struct blk *b = opaque;

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

	pthread_mutex_lock(&d->lock);
	b->cfg.rl = *rl;
	rl_init(&b->rl, rl, rl_now_ns());
	/* Whatever waited goes on under the new limits, on the I/O thread. */
	if (b->throttled)
		rl_timer_kick(&b->rl_timer);
	pthread_mutex_unlock(&d->lock);
}

struct blk_swap {
	struct blk *b;
	struct block *nb; /* the new back-end, opened by the caller */
	const char *path;
};

/*
 * Backing-file hot swap, on the I/O thread (it owns the back-end): the
 * requests in flight finish on the old back-end, waited for without the
 * device lock (a vCPU reading the device's registers does not wait for
 * host I/O); then the new one takes over and the old one is closed.
 */
static void blk_swap_file(void *arg)
{
	struct blk_swap *s = arg;
	struct blk *b = s->b;
	struct virtio_dev *d = b->dev;
	struct block *old;

	pthread_mutex_lock(&d->lock);
	while (b->bk->inflight) {
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
	old = b->bk;
	b->bk = s->nb;
	snprintf(b->cfg.path, sizeof(b->cfg.path), "%s", s->path);
	b->lim.capacity = s->nb->size / VIRTIO_BLK_SECTOR;
	virtio_config_changed(d);
	if (b->stalled)
		virtio_requeue(d, 0);
	pthread_mutex_unlock(&d->lock);
	block_close(old);
}

int virtio_blk_set_path(struct virtio_dev *d, const char *path, char *err,
			size_t errlen)
{
	struct blk *b = d->priv;
	struct blk_swap swap = { .b = b, .path = path };

	swap.nb = open_image(b, path, err, errlen);
	if (!swap.nb)
		return -1;
	/* The I/O thread owns the back-end: it swaps the file. */
	iothread_call(d->io, blk_swap_file, &swap);
	return 0;
}

struct block *virtio_blk_block(struct virtio_dev *d, char *path, size_t len)
{
	struct blk *b = d->priv;
	struct block *bk;

	pthread_mutex_lock(&d->lock);
	bk = b->bk;
	snprintf(path, len, "%s", b->cfg.path);
	pthread_mutex_unlock(&d->lock);
	return bk;
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

	if (!b->bk->inflight)
		return;
	b->push = virtio_queue_usable(d, 0);
	block_drain(b->bk);
	if (b->push)
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

	if (b->bk->inflight) {
		pr_err("%s %s: cannot save state with %u requests in flight",
		       d->name, b->cfg.path, b->bk->inflight);
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

/* --- the device type: one per disk (setup.c places it) --- */

static unsigned int blk_type_count(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

static struct virtio_dev *blk_type_place(const struct virtio_place *p,
					 unsigned int i)
{
	return virtio_blk_create(p->vm, p->io, p->base, p->irq,
				 &p->vm->cfg->disks[i]);
}

static const struct virtio_type virtio_blk_type = {
	.what = "disk",
	.order = 20,
	.count = blk_type_count,
	.create = blk_type_place,
};
VIRTIO_TYPE(virtio_blk_type);
