/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio_harness.h - a VM without KVM for virtio unit tests: guest RAM in
 * a heap buffer, the MMIO bus, and a minimal virtio-mmio "driver" that
 * programs registers through the bus exactly as a guest's accesses would.
 */
#ifndef VMON_TESTS_VIRTIO_HARNESS_H
#define VMON_TESTS_VIRTIO_HARNESS_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/mmio.h"
#include "virtio/virtq.h"
#include "vmm/iothread.h"
#include "vmm/vm.h"

#define H_RAM_SIZE (4ULL << 20)
#define H_ROM_GPA (16ULL << 20) /* a read-only region after RAM */
#define H_ROM_SIZE 0x10000ULL

struct harness {
	struct vm vm;
	uint8_t *ram;
	uint8_t *rom;
	struct iothread *io;
};

static inline void h_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	h->vm.fd = -1;
	h->vm.stop_efd = -1;
	pthread_mutex_init(&h->vm.lock, NULL);
	pthread_mutex_init(&h->vm.discard_lock, NULL);
	bus_init(&h->vm.pio, "port");
	bus_init(&h->vm.mmio, "MMIO");
	h->ram = aligned_alloc(4096, H_RAM_SIZE);
	h->rom = aligned_alloc(4096, H_ROM_SIZE);
	memset(h->ram, 0, H_RAM_SIZE);
	memset(h->rom, 0, H_ROM_SIZE);
	gmem_add_region(&h->vm.mem, 0, H_RAM_SIZE, h->ram, false, "ram");
	gmem_add_region(&h->vm.mem, H_ROM_GPA, H_ROM_SIZE, h->rom, true, "rom");
	h->vm.mem.ram_size = H_RAM_SIZE;
	h->io = iothread_create();
}

/* Stops the I/O thread, then tears the devices down as vm_destroy does. */
static inline void h_fini(struct harness *h)
{
	iothread_destroy(h->io);
	device_destroy_all(&h->vm.devices);
	bus_free(&h->vm.pio);
	bus_free(&h->vm.mmio);
	pthread_mutex_destroy(&h->vm.lock);
	free(h->ram);
	free(h->rom);
}

static inline void *h_ptr(struct harness *h, uint64_t gpa)
{
	return h->ram + gpa;
}

static inline void h_w32(struct harness *h, uint64_t base, uint64_t off,
			 uint32_t v)
{
	bus_access(&h->vm.mmio, base + off, &v, 4, true);
}

static inline uint32_t h_r32(struct harness *h, uint64_t base, uint64_t off)
{
	uint32_t v = 0;

	bus_access(&h->vm.mmio, base + off, &v, 4, false);
	return v;
}

/* Negotiates @want (64 bits); returns the status read back. */
static inline uint32_t h_negotiate(struct harness *h, uint64_t base,
				   uint64_t want)
{
	h_w32(h, base, VIRTIO_MMIO_STATUS, 0);
	h_w32(h, base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	h_w32(h, base, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	h_w32(h, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	h_w32(h, base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	h_w32(h, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	h_w32(h, base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	h_w32(h, base, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK);
	return h_r32(h, base, VIRTIO_MMIO_STATUS);
}

static inline void h_queue(struct harness *h, uint64_t base, uint32_t q,
			   uint32_t size, uint64_t desc, uint64_t avail,
			   uint64_t used)
{
	h_w32(h, base, VIRTIO_MMIO_QUEUE_SEL, q);
	h_w32(h, base, VIRTIO_MMIO_QUEUE_NUM, size);
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	h_w32(h, base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	h_w32(h, base, VIRTIO_MMIO_QUEUE_READY, 1);
}

static inline void h_driver_ok(struct harness *h, uint64_t base)
{
	h_w32(h, base, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A split ring in harness RAM at @desc (avail and used follow). */
struct h_ring {
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx;
};

static inline void h_ring_init(struct h_ring *r, uint64_t at, uint16_t size)
{
	r->size = size;
	r->desc = at;
	r->avail = at + 16ULL * size;
	r->used = (r->avail + 6 + 2ULL * size + 3) & ~3ULL;
	r->avail_idx = 0;
}

static inline void h_desc(struct harness *h, const struct h_ring *r, uint16_t i,
			  uint64_t addr, uint32_t len, uint16_t flags,
			  uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(h_ptr(h, r->desc + 16ULL * i), &d, sizeof(d));
}

static inline void h_avail(struct harness *h, struct h_ring *r, uint16_t head)
{
	uint16_t *a = h_ptr(h, r->avail);

	a[2 + (r->avail_idx % r->size)] = head;
	/* used_event: interrupt me for the next used entry (EVENT_IDX). */
	a[2 + r->size] = __atomic_load_n((uint16_t *)h_ptr(h, r->used + 2),
					 __ATOMIC_ACQUIRE);
	r->avail_idx++;
	__atomic_store_n(&a[1], r->avail_idx, __ATOMIC_RELEASE);
}

static inline uint16_t h_used_idx(struct harness *h, const struct h_ring *r)
{
	return __atomic_load_n((uint16_t *)h_ptr(h, r->used + 2),
			       __ATOMIC_ACQUIRE);
}

static inline void h_used_elem(struct harness *h, const struct h_ring *r,
			       uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = h_ptr(h, r->used + 4 + 8ULL * (i % r->size));

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Waits up to @ms for an interrupt on @d; returns true and drains it. */
static inline bool h_wait_irq(struct virtio_dev *d, int ms)
{
	struct pollfd p = { .fd = d->call_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(d->call_fd, &v, sizeof(v)) == sizeof(v);
}

/* Waits until the used index of @r reaches @idx (the device is async). */
static inline bool h_wait_used(struct harness *h, struct virtio_dev *d,
			       const struct h_ring *r, uint16_t idx, int ms)
{
	/* Interrupts may be suppressed (event index): poll as well. */
	for (int waited = 0; h_used_idx(h, r) != idx; waited += 10) {
		if (waited >= ms)
			return false;
		h_wait_irq(d, 10);
	}
	return true;
}

#endif
