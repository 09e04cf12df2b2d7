// SPDX-License-Identifier: GPL-2.0-only
/*
 * testdev.c - a test device with the register layout of QEMU's pc-testdev,
 * so test kernels written for it run under vmon, and vmon's own guest
 * programs have a scratch device for port-I/O and MMIO exits:
 *   0xe0-0xe3   a 32-bit scratch register, readable and writable at any
 *               width and offset;
 *   0xe4-0xe7   a 4-byte write names a page to flush (a no-op here);
 *   0x2000+n    (n < 24) a write sets ISA IRQ line n to (value != 0); a
 *               wider write acts as that many 1-byte writes to successive
 *               ports (byte i of the value to line n + i), as QEMU splits
 *               it, so an outl of 1 to 0x200b raises IRQ 11 (and lowers
 *               12-14);
 *   0xff000000  a 64 KiB RAM-like MMIO buffer: reads return what was written.
 * Owns the scratch register and the buffer (its saved state); one mutex
 * guards both.
 * Off by default (--test-device).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../vmm/vm.h"
#include "devices.h"

struct testdev {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t scratch[TESTDEV_SCRATCH_LEN];
	uint8_t iomem[TESTDEV_IOMEM_SIZE];
};

static void scratch_read(void *opaque, uint64_t off, void *data,
			 unsigned int len)
{
	struct testdev *t = opaque;

	/* The bus only passes accesses that lie inside the 4 bytes. */
	pthread_mutex_lock(&t->lock);
	memcpy(data, t->scratch + off, len);
	pthread_mutex_unlock(&t->lock);
}

static void scratch_write(void *opaque, uint64_t off, const void *data,
			  unsigned int len)
{
	struct testdev *t = opaque;

	pthread_mutex_lock(&t->lock);
	memcpy(t->scratch + off, data, len);
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops scratch_ops = {
	.read = scratch_read,
	.write = scratch_write,
};

static void flush_write(void *opaque, uint64_t off, const void *data,
			unsigned int len)
{
	/*
	 * QEMU flushes the TLB-visible mapping of the page; vmon's guest RAM
	 * is always coherent with the guest, so there is nothing to do.
	 */
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
}

static const struct bus_ops flush_ops = {
	.write = flush_write,
};

static void irq_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	struct testdev *t = opaque;
	const uint8_t *b = data;

	/* off + len <= TESTDEV_NR_IRQS: the bus checked the range. */
	for (unsigned int i = 0; i < len; i++)
		vm_irq_line(t->vm, (unsigned int)off + i, b[i] != 0);
}

static const struct bus_ops irq_ops = {
	.write = irq_write,
};

static void iomem_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct testdev *t = opaque;

	pthread_mutex_lock(&t->lock);
	memcpy(data, t->iomem + off, len);
	pthread_mutex_unlock(&t->lock);
}

static void iomem_write(void *opaque, uint64_t off, const void *data,
			unsigned int len)
{
	struct testdev *t = opaque;

	pthread_mutex_lock(&t->lock);
	memcpy(t->iomem + off, data, len);
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops iomem_ops = {
	.read = iomem_read,
	.write = iomem_write,
};

static const struct device_ops testdev_device_ops;

int testdev_create(struct vm *vm)
{
	struct testdev *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->vm = vm;
	pthread_mutex_init(&t->lock, NULL);
	if (!vm_add_device(vm, DEVICE_TESTDEV, &testdev_device_ops, t)) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return -1;
	}
	if (vm_register_pio(vm, TESTDEV_SCRATCH_PORT, TESTDEV_SCRATCH_LEN,
			    &scratch_ops, t, "testdev") ||
	    vm_register_pio(vm, TESTDEV_FLUSH_PORT, 4, &flush_ops, t,
			    "testdev-flush") ||
	    vm_register_pio(vm, TESTDEV_IRQ_PORT, TESTDEV_NR_IRQS, &irq_ops, t,
			    "testdev-irq") ||
	    vm_register_mmio(vm, TESTDEV_IOMEM_ADDR, TESTDEV_IOMEM_SIZE,
			     &iomem_ops, t, "testdev-iomem"))
		return -1;
	return 0;
}

/* --- the device interface: reset, state, teardown ------------------------ */

static void testdev_reset(struct device *dev)
{
	struct testdev *t = dev->opaque;

	pthread_mutex_lock(&t->lock);
	memset(t->scratch, 0, sizeof(t->scratch));
	memset(t->iomem, 0, sizeof(t->iomem));
	pthread_mutex_unlock(&t->lock);
}

/* The scratch register and the buffer; IRQ lines live in the irqchip. */
static int testdev_save(struct device *dev, struct state_writer *w)
{
	struct testdev *t = dev->opaque;

	pthread_mutex_lock(&t->lock);
	state_put_bytes(w, t->scratch, sizeof(t->scratch));
	state_put_bytes(w, t->iomem, sizeof(t->iomem));
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int testdev_restore(struct device *dev, struct state_reader *r)
{
	struct testdev *t = dev->opaque;

	/* All there before anything is copied: the buffer is 64 KiB. */
	state_check(r, r->len - r->pos == sizeof(t->scratch) + sizeof(t->iomem),
		    "testdev state size");
	if (!state_ok(r))
		return -1;
	pthread_mutex_lock(&t->lock);
	state_get_bytes(r, t->scratch, sizeof(t->scratch), "testdev scratch");
	state_get_bytes(r, t->iomem, sizeof(t->iomem), "testdev buffer");
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void testdev_destroy(struct device *dev)
{
	struct testdev *t = dev->opaque;

	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct device_ops testdev_device_ops = {
	.state_version = 1,
	.reset = testdev_reset,
	.save = testdev_save,
	.restore = testdev_restore,
	.destroy = testdev_destroy,
};
