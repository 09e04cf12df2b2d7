// SPDX-License-Identifier: GPL-2.0-only
/*
 * rng.c - virtio-rng (virtio 1.2, 5.4): the guest's hwrng. Each buffer
 * the driver offers is filled with bytes from the host's getrandom().
 * No state beyond the transport's (its saved model section is empty).
 */
#include <errno.h>
#include <sys/random.h>

#include "devices.h"
#include "mmio.h"

#define VIRTIO_ID_RNG 4
#define RNG_QUEUE_SIZE 64
#define RNG_MAX_FILL 4096 /* per buffer: enough for any hwrng read */

static uint32_t fill_random(const struct virtq_elem *e)
{
	uint8_t buf[RNG_MAX_FILL];
	uint64_t want = e->in_len < sizeof(buf) ? e->in_len : sizeof(buf);
	ssize_t got;

	do
		got = getrandom(buf, want, 0);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return 0;
	return (uint32_t)virtq_buf_to_iov(e->iov + e->nr_out, e->nr_in, 0, buf,
					  (uint64_t)got);
}

static void rng_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtq *vq = &d->vqs[q];
	struct virtq_elem e;
	unsigned int budget = vq->size;
	bool pushed = false;

	for (;;) {
		int r = virtq_next(vq, &e);

		if (r < 0)
			return;
		if (r == 0)
			break;
		virtq_push(vq, e.head, fill_random(&e));
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

static const struct virtio_dev_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.queue_notify = rng_notify,
};

struct virtio_dev *virtio_rng_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq)
{
	return virtio_mmio_create(vm, io, base, irq, &rng_ops, 1,
				  RNG_QUEUE_SIZE, 0, NULL, "virtio-rng");
}
