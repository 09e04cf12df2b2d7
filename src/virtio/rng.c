// SPDX-License-Identifier: GPL-2.0-only
/*
 * rng.c - virtio-rng (virtio 1.2, 5.4): the guest's hwrng. Each buffer
 * the driver offers is filled with bytes from the host's getrandom(),
 * within the rate limiter the configuration gives (vm_config.rng_rl).
 * No state beyond the transport's and the limiter's configuration (its
 * saved model section is empty); the metrics' counters are not saved.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/log.h"
#include "../util/rl_timer.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "runtime.h"

#define VIRTIO_ID_RNG 4
#define RNG_QUEUE_SIZE 64
#define RNG_MAX_FILL 4096 /* per buffer: enough for any hwrng read */

struct rng {
	struct virtio_dev *dev;
	struct rate_limiter rl;
	struct rl_timer rl_timer;
	bool throttled; /* the queue waits for the limiter's timer */
	struct virtio_rng_stats st; /* under the device lock */
};

static uint64_t fill_len(const struct virtq_elem *e)
{
	return e->in_len < RNG_MAX_FILL ? e->in_len : RNG_MAX_FILL;
}

static uint32_t fill_random(struct rng *g, const struct virtq_elem *e)
{
	uint8_t buf[RNG_MAX_FILL];
	ssize_t got;
	uint32_t n;

	do
		got = getrandom(buf, fill_len(e), 0);
	while (got < 0 && errno == EINTR);
	g->st.events++;
	if (got < 0 || (got == 0 && fill_len(e))) {
		g->st.host_fails++;
		return 0;
	}
	n = (uint32_t)virtq_buf_to_iov(e->iov + e->nr_out, e->nr_in, 0, buf,
				       (uint64_t)got);
	g->st.bytes += n;
	return n;
}

static void rng_notify(struct virtio_dev *d, unsigned int q)
{
	struct rng *g = d->priv;
	struct virtq *vq = &d->vqs[q];
	struct virtq_elem e;
	unsigned int budget = vq->size;
	bool pushed = false;

	if (g->throttled)
		return; /* the rate limiter's timer resumes the queue */
	for (;;) {
		int r = virtq_next(vq, &e);

		if (r < 0)
			return;
		if (r == 0)
			break;
		if (rl_timer_throttle(&g->rl_timer, &g->rl, fill_len(&e))) {
			virtq_unpop(vq);
			g->throttled = true;
			break;
		}
		virtq_push(vq, e.head, fill_random(g, &e));
		pushed = true;
		if (--budget == 0) {
			/* A busy guest must not keep the I/O thread here. */
			virtio_requeue(d, q);
			break;
		}
	}
	if (pushed)
		virtio_notify_queue(d, q);
}

static void rng_rl_fire(void *opaque)
{
	struct rng *g = opaque;

	pthread_mutex_lock(&g->dev->lock);
	g->throttled = false;
	if (virtio_queue_usable(g->dev, 0))
		rng_notify(g->dev, 0);
	pthread_mutex_unlock(&g->dev->lock);
}

void virtio_rng_stats(struct virtio_dev *d, struct virtio_rng_stats *out)
{
	struct rng *g = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = g->st;
	out->throttled = g->rl.throttled;
	pthread_mutex_unlock(&d->lock);
}

static void rng_destroy(void *priv)
{
	struct rng *g = priv;

	rl_timer_close(&g->rl_timer);
	free(g);
}

static const struct virtio_dev_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.queue_notify = rng_notify,
	.destroy = rng_destroy,
};

struct virtio_dev *virtio_rng_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq)
{
	static const struct rl_config none;
	struct rng *g = calloc(1, sizeof(*g));
	struct virtio_dev *d;

	if (!g)
		return NULL;
	g->rl_timer.fd = -1;
	rl_init(&g->rl, vm->cfg ? &vm->cfg->rng_rl : &none, rl_now_ns());
	/* From here on, the device's destroy frees g. */
	d = virtio_dev_create(vm, io, base, irq, &rng_ops, 1, RNG_QUEUE_SIZE, 0,
			      g, "virtio-rng");
	if (!d)
		return NULL;
	g->dev = d;
	if (rl_timer_init(&g->rl_timer, io, rng_rl_fire, g)) {
		pr_err("virtio-rng: rate limiter timer: %s", strerror(errno));
		return NULL;
	}
	return d;
}

/* --- the device type: one when configured (setup.c places it) --- */

static unsigned int rng_type_count(const struct vm_config *cfg)
{
	return cfg->rng ? 1 : 0;
}

static struct virtio_dev *rng_type_place(const struct virtio_place *p,
					 unsigned int i)
{
	(void)i;
	return virtio_rng_create(p->vm, p->io, p->base, p->irq);
}

static const struct virtio_type virtio_rng_type = {
	.what = "rng",
	.order = 60,
	.count = rng_type_count,
	.create = rng_type_place,
};
VIRTIO_TYPE(virtio_rng_type);
