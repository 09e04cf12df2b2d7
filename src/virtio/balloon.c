// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon.c - virtio-balloon (virtio 1.2, 5.5): the guest gives pages
 * back, vmon returns them to the host (vm_discard(): the host's RSS
 * drops; a later guest access reads zeros, or the memory file's page for
 * RAM restored from a snapshot's file). Inflate and deflate queues,
 * statistics polled every N seconds, free page reporting, deflate-on-OOM
 * offered on request, free page hinting runs started and stopped by the
 * host (the hints are counted, the pages left alone: see hinted()).
 * The target changes at run time through virtio_balloon_set_target().
 */
#include "../util/bounds.h"
#include "balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"

#define VIRTIO_ID_BALLOON 5

/* Feature bits (virtio 1.2, 5.5.3). */
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5

#define BALLOON_PAGE 4096ULL
#define BALLOON_QUEUE_SIZE 128
#define BALLOON_BUDGET 64
/*
 * Page numbers handled per turn of the I/O thread, across chains: a longer
 * inflate chain goes on in the next turns (docs/limits.md).
 */
#define BALLOON_PFNS_PER_TURN 16384

enum { ONCE_BALLOON = 0x7650 };

/* What each queue index is: they are numbered without absent queues. */
enum balloon_role {
	Q_INFLATE,
	Q_DEFLATE,
	Q_STATS,
	Q_HINTING,
	Q_REPORTING,
	Q_NONE
};
#define BALLOON_QUEUES 5

struct balloon {
	struct virtio_dev *dev;
	struct balloon_config cfg;
	uint32_t num_pages; /* the target, in 4 KiB pages */
	uint32_t actual; /* written by the driver */
	int timer_fd;
	bool stats_held; /* we hold the driver's stats buffer */
	uint16_t stats_head;
	struct balloon_info info;
	struct virtq_elem elem;
	/*
	 * The inflate chain at the head of the queue, partly done: its head
	 * and the bytes of page numbers handled. It stays on the avail ring
	 * (unpopped) between turns, so a snapshot just replays it.
	 */
	uint16_t part_head;
	uint64_t part_off;
	/* Free page hinting: the host's command (config space), the id
	 * the next run gets, and whether a guest's STOP ends the run. */
	uint32_t host_cmd;
	uint32_t next_cmd;
	bool ack_on_stop;
};

/* The queues present, in the order of virtio 1.2, 5.5.2. */
static enum balloon_role role(struct virtio_dev *d, unsigned int q)
{
	static const struct {
		enum balloon_role role;
		int feature; /* -1: always there */
	} order[] = {
		{ Q_INFLATE, -1 },
		{ Q_DEFLATE, -1 },
		{ Q_STATS, VIRTIO_BALLOON_F_STATS_VQ },
		{ Q_HINTING, VIRTIO_BALLOON_F_FREE_PAGE_HINT },
		{ Q_REPORTING, VIRTIO_BALLOON_F_PAGE_REPORTING },
	};
	unsigned int n = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		if (order[i].feature >= 0 &&
		    !virtio_has_feature(d, (unsigned int)order[i].feature))
			continue;
		if (n++ == q)
			return order[i].role;
	}
	return Q_NONE;
}

/* Returns [hva, hva + len) of guest RAM to the host; both page aligned. */
static void discard(struct vm *vm, uint8_t *hva, uint64_t len)
{
	if (len && vm_discard(vm, hva, len))
		log_once(ONCE_BALLOON, (uintptr_t)hva,
			 "balloon: giving guest RAM back to the host: %s",
			 strerror(errno));
}

/*
 * Inflate: the buffers hold 32-bit page frame numbers of 4 KiB pages;
 * contiguous ones go back to the host in one madvise. Handles at most
 * *@budget of them (taken from it), from where an earlier turn stopped;
 * returns true when the chain is done.
 */
static bool inflate(struct balloon *b, const struct virtq_elem *e,
		    unsigned int *budget)
{
	const struct guest_mem *mem = &b->dev->vm->mem;
	uint8_t *run = NULL;
	uint64_t run_len = 0, off = 0;
	bool done;

	if (b->part_off && b->part_head == e->head)
		off = b->part_off;
	for (; off + 4 <= e->out_len; off += 4) {
		uint32_t pfn;
		uint8_t *p;

		if (!*budget)
			break;
		--*budget;
		virtq_iov_to_buf(e->iov, e->nr_out, off, &pfn, 4);
		p = gpa_to_hva_rw(mem, (uint64_t)pfn * BALLOON_PAGE,
				  BALLOON_PAGE);
		if (!p) {
			log_once(
				ONCE_BALLOON, b->dev->base,
				"%s: page frame 0x%x is not guest RAM: ignored",
				b->dev->name, pfn);
			continue;
		}
		b->info.inflated_bytes += BALLOON_PAGE;
		if (run && p == run + run_len) {
			run_len += BALLOON_PAGE;
			continue;
		}
		discard(b->dev->vm, run, run_len);
		run = p;
		run_len = BALLOON_PAGE;
	}
	discard(b->dev->vm, run, run_len);
	done = off + 4 > e->out_len;
	b->part_head = e->head;
	b->part_off = done ? 0 : off;
	return done;
}

/* Free page reporting: each device-writable buffer is a free range. */
static void reported(struct balloon *b, const struct virtq_elem *e)
{
	for (unsigned int i = e->nr_out; i < e->nr_out + e->nr_in; i++) {
		uint8_t *p = e->iov[i].iov_base;
		uint64_t len = e->iov[i].iov_len;
		/* Whole pages only: skip to the first page boundary. */
		uint64_t skip = (BALLOON_PAGE - (uintptr_t)p % BALLOON_PAGE) %
				BALLOON_PAGE;

		if (len <= skip)
			continue;
		len = (len - skip) & ~(BALLOON_PAGE - 1);
		discard(b->dev->vm, p + skip, len);
		b->info.reported_bytes += len;
	}
}

/*
 * Free page hinting: a device-readable buffer carries the guest's command
 * (the run id it hints for, or STOP when it has finished), each
 * device-writable one a block of free pages. The pages are counted, not
 * returned to the host: Linux's driver may give a hinted page back to its
 * allocator (under memory pressure) before the host handled the hint, so
 * discarding it could lose the data written since. Free page reporting
 * returns memory safely.
 */
static void hinted(struct balloon *b, const struct virtq_elem *e)
{
	uint32_t cmd;

	if (e->out_len >= 4) {
		virtq_iov_to_buf(e->iov, e->nr_out, 0, &cmd, 4);
		b->info.guest_cmd = cmd;
		b->info.guest_cmd_seen = true;
		if (cmd == BALLOON_CMD_STOP && b->host_cmd >= BALLOON_CMD_MIN &&
		    b->ack_on_stop) {
			b->host_cmd = BALLOON_CMD_DONE;
			virtio_config_changed(b->dev);
		}
	}
	if (b->host_cmd >= BALLOON_CMD_MIN && b->info.guest_cmd == b->host_cmd)
		b->info.hinted_bytes += e->in_len;
}

/* Statistics: {le16 tag, le64 value} entries, packed. */
static void take_stats(struct balloon *b, const struct virtq_elem *e)
{
	for (uint64_t off = 0; off + 10 <= e->out_len; off += 10) {
		uint8_t s[10];
		uint16_t tag;
		uint64_t val;

		virtq_iov_to_buf(e->iov, e->nr_out, off, s, 10);
		memcpy(&tag, s, 2);
		memcpy(&val, s + 2, 8);
		if (tag < BALLOON_NR_STATS) {
			b->info.stats[tag] = val;
			b->info.have_stat[tag] = true;
		}
	}
	b->info.stats_updates++;
	pr_debug(
		"%s: statistics update %u: free %llu, total %llu, available %llu",
		b->dev->name, b->info.stats_updates,
		(unsigned long long)b->info.stats[BALLOON_MEMFREE],
		(unsigned long long)b->info.stats[BALLOON_MEMTOT],
		(unsigned long long)b->info.stats[BALLOON_AVAIL]);
}

static void balloon_notify(struct virtio_dev *d, unsigned int q)
{
	struct balloon *b = d->priv;
	struct virtq *vq = &d->vqs[q];
	enum balloon_role r = role(d, q);
	unsigned int pfns = BALLOON_PFNS_PER_TURN;
	bool pushed = false;

	if (r == Q_NONE)
		return;
	for (int i = 0; i < BALLOON_BUDGET; i++) {
		int got = virtq_next(vq, &b->elem);

		if (got <= 0)
			break;
		if (r == Q_STATS) {
			/* Kept until we want the next update. */
			if (b->stats_held)
				virtq_push(vq, b->stats_head, 0);
			take_stats(b, &b->elem);
			b->stats_held = true;
			b->stats_head = b->elem.head;
			continue;
		}
		if (r == Q_INFLATE && !inflate(b, &b->elem, &pfns)) {
			/* The rest of the chain in the next turn. */
			bound_hit(BOUND_BALLOON_PFNS);
			virtq_unpop(vq);
			virtio_requeue(d, q);
			break;
		}
		b->info.inflate_count += r == Q_INFLATE;
		b->info.deflate_count += r == Q_DEFLATE;
		if (r == Q_REPORTING)
			reported(b, &b->elem);
		if (r == Q_HINTING)
			hinted(b, &b->elem);
		/* Deflate: nothing to do, a page comes back when touched. */
		virtq_push(vq, b->elem.head, 0);
		pushed = true;
		if (i == BALLOON_BUDGET - 1) {
			bound_hit(BOUND_BALLOON_CHAINS);
			virtio_requeue(d, q);
		}
	}
	if (pushed)
		virtio_notify_queue(d, q);
}

/* Every stats period: give the stats buffer back, the driver refills it. */
static void stats_timer(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	struct virtio_dev *d = b->dev;
	uint64_t n;

	(void)events;
	if (read(b->timer_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (b->stats_held && virtio_queue_usable(d, 2) &&
	    role(d, 2) == Q_STATS) {
		virtq_push(&d->vqs[2], b->stats_head, 0);
		b->stats_held = false;
		virtio_notify_queue(d, 2);
	}
	pthread_mutex_unlock(&d->lock);
}

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = d->priv;

	b->stats_held = false;
	b->actual = 0;
	b->part_off = 0;
	b->host_cmd = BALLOON_CMD_STOP;
	b->info.guest_cmd_seen = false;
}

static void balloon_config_read(struct virtio_dev *d, uint64_t off, void *data,
				unsigned int len)
{
	struct balloon *b = d->priv;
	/* num_pages, actual, free_page_hint_cmd_id, poison_val */
	uint32_t cfg[4] = { b->num_pages, b->actual, b->host_cmd, 0 };

	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, (uint8_t *)cfg + off, len);
}

static void balloon_config_write(struct virtio_dev *d, uint64_t off,
				 const void *data, unsigned int len)
{
	struct balloon *b = d->priv;

	/* Only `actual` (offset 4) belongs to the driver. */
	if (off == 4 && len == 4) {
		uint32_t old = b->actual;

		memcpy(&b->actual, data, 4);
		/* Once per target: the target can only change from the host. */
		if (b->num_pages && b->actual == b->num_pages &&
		    old != b->num_pages)
			pr_info("%s: the guest reached the balloon target of %llu MiB",
				d->name,
				(unsigned long long)(b->num_pages *
							     BALLOON_PAGE >>
						     20));
	} else
		log_once(ONCE_BALLOON, d->base + 0x100 + off,
			 "%s: write to read-only configuration at 0x%llx",
			 d->name, (unsigned long long)off);
}

static void balloon_destroy(void *priv)
{
	struct balloon *b = priv;

	if (b->timer_fd >= 0)
		close(b->timer_fd);
	free(b);
}

static int balloon_save(struct virtio_dev *d, struct state_writer *w);
static int balloon_restore(struct virtio_dev *d, struct state_reader *r);

static const struct virtio_dev_ops balloon_ops = {
	.device_id = VIRTIO_ID_BALLOON,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
	.state_version = 1,
	.save = balloon_save,
	.restore = balloon_restore,
};

int virtio_balloon_set_target(struct virtio_dev *d, uint64_t bytes)
{
	struct balloon *b = d->priv;

	if (bytes / BALLOON_PAGE > UINT32_MAX || bytes > d->vm->mem.ram_size)
		return -1;
	pthread_mutex_lock(&d->lock);
	b->num_pages = (uint32_t)(bytes / BALLOON_PAGE);
	virtio_config_changed(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int virtio_balloon_set_stats_interval(struct virtio_dev *d,
				      unsigned int seconds)
{
	struct balloon *b = d->priv;
	/* The first period ends at once: the guest reports right away. */
	struct itimerspec its = {
		.it_interval = { .tv_sec = seconds },
		.it_value = { .tv_nsec = 1 },
	};

	if (b->timer_fd < 0 || !seconds)
		return -1;
	return timerfd_settime(b->timer_fd, 0, &its, NULL);
}

int virtio_balloon_hint(struct virtio_dev *d, bool start, bool ack_on_stop)
{
	struct balloon *b = d->priv;

	if (!b->cfg.hinting)
		return -1;
	pthread_mutex_lock(&d->lock);
	if (start) {
		/* A new run id, never STOP or DONE (it wraps). */
		if (b->next_cmd < BALLOON_CMD_MIN)
			b->next_cmd = BALLOON_CMD_MIN;
		b->host_cmd = b->next_cmd++;
		b->ack_on_stop = ack_on_stop;
	} else {
		b->host_cmd = BALLOON_CMD_DONE;
	}
	virtio_config_changed(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void virtio_balloon_get(struct virtio_dev *d, struct balloon_info *out)
{
	struct balloon *b = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = b->info;
	out->host_cmd = b->host_cmd;
	out->target_bytes = b->num_pages * BALLOON_PAGE;
	out->actual_bytes = b->actual * BALLOON_PAGE;
	pthread_mutex_unlock(&d->lock);
}

struct virtio_dev *virtio_balloon_create(struct vm *vm, struct iothread *io,
					 uint64_t base, unsigned int irq,
					 const struct balloon_config *cfg)
{
	uint64_t features = 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	struct balloon *b = calloc(1, sizeof(*b));
	struct virtio_dev *d;

	if (!b)
		return NULL;
	b->cfg = *cfg;
	b->timer_fd = -1;
	b->num_pages = (uint32_t)(cfg->size / BALLOON_PAGE);
	if (cfg->deflate_on_oom)
		features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (cfg->reporting)
		features |= 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
	if (cfg->hinting)
		features |= 1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT;
	/* From here on, the device's destroy frees b. */
	d = virtio_dev_create(vm, io, base, irq, &balloon_ops, BALLOON_QUEUES,
			      BALLOON_QUEUE_SIZE, features, b,
			      "virtio-balloon");
	if (!d)
		return NULL;
	b->dev = d;
	if (cfg->stats_interval) {
		struct itimerspec its = {
			.it_interval = { .tv_sec = cfg->stats_interval },
			.it_value = { .tv_sec = cfg->stats_interval },
		};

		b->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					     TFD_NONBLOCK | TFD_CLOEXEC);
		if (b->timer_fd < 0 ||
		    timerfd_settime(b->timer_fd, 0, &its, NULL) ||
		    iothread_add(io, b->timer_fd, EPOLLIN, stats_timer, b)) {
			pr_err("balloon: statistics timer: %s",
			       strerror(errno));
			return NULL;
		}
	}
	return d;
}

/* --- saved state --------------------------------------------------------- */

/*
 * The target and the guest's actual size, the statistics buffer held, and
 * the counters the control plane reports. The statistics timer is
 * configuration (it keeps running).
 */
static int balloon_save(struct virtio_dev *d, struct state_writer *w)
{
	struct balloon *b = d->priv;

	state_put_u32(w, b->num_pages);
	state_put_u32(w, b->actual);
	state_put_bool(w, b->stats_held);
	state_put_u16(w, b->stats_head);
	state_put_u64(w, b->info.inflated_bytes);
	state_put_u64(w, b->info.reported_bytes);
	state_put_u32(w, b->info.stats_updates);
	for (unsigned int i = 0; i < BALLOON_NR_STATS; i++) {
		state_put_bool(w, b->info.have_stat[i]);
		state_put_u64(w, b->info.stats[i]);
	}
	return 0;
}

static int balloon_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct balloon *b = d->priv;
	struct balloon t = { 0 };

	t.num_pages = state_get_u32(r, "balloon target");
	t.actual = state_get_u32(r, "balloon actual");
	t.stats_held = state_get_bool(r, "balloon statistics held");
	t.stats_head = state_get_u16(r, "balloon statistics buffer");
	t.info.inflated_bytes = state_get_u64(r, "balloon inflated bytes");
	t.info.reported_bytes = state_get_u64(r, "balloon reported bytes");
	t.info.stats_updates = state_get_u32(r, "balloon statistics updates");
	for (unsigned int i = 0; i < BALLOON_NR_STATS; i++) {
		t.info.have_stat[i] = state_get_bool(r, "balloon statistic");
		t.info.stats[i] = state_get_u64(r, "balloon statistic");
	}
	state_check(r, t.num_pages * BALLOON_PAGE <= d->vm->mem.ram_size,
		    "balloon target");
	/* The transport is restored: the held buffer is queue 2's. */
	state_check(r,
		    !t.stats_held || (role(d, 2) == Q_STATS &&
				      t.stats_head < d->vqs[2].size),
		    "balloon statistics buffer");
	state_expect_end(r, "balloon");
	if (!state_ok(r))
		return -1;
	b->num_pages = t.num_pages;
	b->actual = t.actual;
	b->stats_held = t.stats_held;
	b->stats_head = t.stats_head;
	b->info = t.info;
	return 0;
}

/* --- the device type: one when configured (setup.c places it) --- */

static unsigned int balloon_type_count(const struct vm_config *cfg)
{
	return cfg->balloon.enabled ? 1 : 0;
}

static struct virtio_dev *balloon_type_place(const struct virtio_place *p,
					     unsigned int i)
{
	(void)i;
	return virtio_balloon_create(p->vm, p->io, p->base, p->irq,
				     &p->vm->cfg->balloon);
}

static const struct virtio_type virtio_balloon_type = {
	.what = "balloon",
	.order = 50,
	.count = balloon_type_count,
	.create = balloon_type_place,
};
VIRTIO_TYPE(virtio_balloon_type);
