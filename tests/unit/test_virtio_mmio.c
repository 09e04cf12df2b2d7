// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtio_mmio.c - the virtio-mmio transport driven through the MMIO
 * bus as a guest would: identification, feature negotiation, the status
 * state machine, queue setup validation, hostile register accesses, and a
 * full request through virtio-rng on the I/O thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "util/log.h"
#include "virtio/devices.h"
#include "virtio_harness.h"

#define BASE 0xd0000000ULL
#define RING_AT 0x1000
#define BUF 0x10000
#define ALL_FEATURES                                                       \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_F_EVENT_IDX))

struct fixture {
	struct harness h;
	struct virtio_dev *d;
	struct h_ring r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	log_level = LOG_ERROR; /* hostile-guest warnings are expected */
	h_init(&f->h);
	f->d = virtio_rng_create(&f->h.vm, f->h.io, BASE, 5);
	assert_non_null(f->d);
	assert_int_equal(iothread_start(f->h.io), 0);
	h_ring_init(&f->r, RING_AT, 16);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	h_fini(&f->h);
	free(f);
	return 0;
}

static bool wait_status(struct fixture *f, uint32_t bit)
{
	for (int i = 0; i < 200; i++) {
		if (h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) & bit)
			return true;
		usleep(5000);
	}
	return false;
}

static void test_identification(void **state)
{
	struct fixture *f = *state;
	uint64_t feat;

	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_MAGIC), 0x74726976);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_DEVICE_ID), 4);
	h_w32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat = (uint64_t)h_r32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	h_w32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat |= h_r32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(feat, ALL_FEATURES);
	h_w32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_SHM_LEN_LOW),
			 0xffffffff);
}

static void test_negotiation(void **state)
{
	struct fixture *f = *state;

	/* A legacy driver (no VERSION_1) is refused. */
	assert_false(h_negotiate(&f->h, BASE, 1ULL << VIRTIO_F_EVENT_IDX) &
		     VIRTIO_STATUS_FEATURES_OK);
	/* So is a feature the device did not offer. */
	assert_false(h_negotiate(&f->h, BASE, ALL_FEATURES | 1) &
		     VIRTIO_STATUS_FEATURES_OK);
	assert_true(h_negotiate(&f->h, BASE, 1ULL << VIRTIO_F_VERSION_1) &
		    VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(f->d->driver_features, 1ULL << VIRTIO_F_VERSION_1);
	/* Features are frozen after FEATURES_OK. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(f->d->driver_features, 1ULL << VIRTIO_F_VERSION_1);
	/* Reset clears everything. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->d->driver_features, 0);
}

static void test_status_rules(void **state)
{
	struct fixture *f = *state;
	uint32_t st;

	/* DRIVER_OK without FEATURES_OK is ignored. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS), 0);
	st = h_negotiate(&f->h, BASE, ALL_FEATURES);
	assert_true(st & VIRTIO_STATUS_FEATURES_OK);
	/* Bits cannot be cleared except by a reset. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS), st);
	/* The driver cannot set NEEDS_RESET itself. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_NEEDS_RESET);
	assert_false(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		     VIRTIO_STATUS_NEEDS_RESET);
}

static void test_bad_queue_layout(void **state)
{
	struct fixture *f = *state;

	h_negotiate(&f->h, BASE, ALL_FEATURES);
	h_queue(&f->h, BASE, 0, 100, RING_AT, RING_AT + 0x1000,
		RING_AT + 0x2000);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_NEEDS_RESET);
	/* Reset recovers the device. */
	h_negotiate(&f->h, BASE, ALL_FEATURES);
	h_queue(&f->h, BASE, 0, 16, f->r.desc, f->r.avail, f->r.used);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_QUEUE_READY), 1);
	assert_false(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		     VIRTIO_STATUS_NEEDS_RESET);
	/* Queue registers are locked while the queue is ready. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x12345);
	assert_int_equal(f->d->vqs[0].desc_gpa, f->r.desc);
	/* Nonexistent queues ignore writes. */
	h_queue(&f->h, BASE, 5, 16, f->r.desc, f->r.avail, f->r.used);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_SEL, 5);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_odd_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0x1122334455667788ULL;

	/* Wrong widths, unaligned offsets, unknown registers: ignored. */
	bus_access(&f->h.vm.mmio, BASE + VIRTIO_MMIO_STATUS, &v, 1, true);
	bus_access(&f->h.vm.mmio, BASE + VIRTIO_MMIO_STATUS, &v, 8, true);
	bus_access(&f->h.vm.mmio, BASE + VIRTIO_MMIO_STATUS + 2, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + 0xf0, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + VIRTIO_MMIO_MAGIC, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + 0x1fc, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + 0x1ff, &v, 8, false);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_MAGIC), 0x74726976);
	/* Notify of a nonexistent queue. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void start(struct fixture *f, uint64_t features)
{
	assert_true(h_negotiate(&f->h, BASE, features) &
		    VIRTIO_STATUS_FEATURES_OK);
	h_queue(&f->h, BASE, 0, 16, f->r.desc, f->r.avail, f->r.used);
	h_driver_ok(&f->h, BASE);
}

static void test_rng_request(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = h_ptr(&f->h, BUF);
	uint32_t id, len;
	unsigned int nonzero = 0;

	start(f, ALL_FEATURES);
	h_desc(&f->h, &f->r, 0, BUF, 256, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, 1, 2000));
	h_used_elem(&f->h, &f->r, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 256);
	for (int i = 0; i < 256; i++)
		nonzero += buf[i] != 0;
	assert_true(nonzero > 200); /* 256 random bytes: ~255 nonzero */
	assert_true(h_r32(&f->h, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_INT_USED);
	h_w32(&f->h, BASE, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* A buffer outside the used limit: nothing beyond it is touched. */
	memset(buf, 0, 4096);
	h_desc(&f->h, &f->r, 1, BUF, 100, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 1);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, 2, 2000));
	for (int i = 100; i < 4096; i++)
		assert_int_equal(buf[i], 0);
}

static void test_hostile_ring_needs_reset(void **state)
{
	struct fixture *f = *state;
	uint32_t isr;

	start(f, ALL_FEATURES);
	h_desc(&f->h, &f->r, 0, H_RAM_SIZE - 16, 256, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_status(f, VIRTIO_STATUS_NEEDS_RESET));
	assert_int_equal(h_used_idx(&f->h, &f->r), 0);
	assert_true(h_wait_irq(f->d, 2000));
	isr = h_r32(&f->h, BASE, VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_true(isr & VIRTIO_INT_CONFIG);
	/* Further kicks are ignored; a reset brings the device back. */
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS), 0);
	memset(h_ptr(&f->h, RING_AT), 0, 0x1000);
	h_ring_init(&f->r, RING_AT, 16);
	start(f, ALL_FEATURES);
	h_desc(&f->h, &f->r, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, 1, 2000));
}

static void test_avail_flood(void **state)
{
	struct fixture *f = *state;
	uint16_t *a = h_ptr(&f->h, f->r.avail);

	/* avail->idx far ahead of what the queue can hold. */
	start(f, ALL_FEATURES);
	a[1] = 40000;
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_status(f, VIRTIO_STATUS_NEEDS_RESET));
}

static void test_cmdline(void **state)
{
	struct fixture *f = *state;
	char buf[96];

	assert_int_equal(virtio_mmio_cmdline(f->d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_mmio.device=512@0xd0000000:5");
	assert_int_equal(virtio_mmio_cmdline(f->d, buf, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_identification),
		T(test_negotiation),
		T(test_status_rules),
		T(test_bad_queue_layout),
		T(test_odd_accesses),
		T(test_rng_request),
		T(test_hostile_ring_needs_reset),
		T(test_avail_flood),
		T(test_cmdline),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
