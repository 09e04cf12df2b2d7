// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtq.c - the split-virtqueue walker against hostile rings:
 * descriptors outside RAM, loops, zero and huge lengths, out-of-range
 * indices, bad indirect tables; and event-index suppression.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "virtio_harness.h"

#define Q 8
#define RING_AT 0x1000
#define BUF 0x10000
#define TABLE 0x20000

struct fixture {
	struct harness h;
	struct h_ring r;
	struct virtq vq;
	struct virtq_elem e;
};

/* (Re)enables the fixture's queue on its rings, with or without EVENT_IDX. */
static void enable_queue(struct fixture *f, bool event_idx)
{
	virtq_reset(&f->vq);
	f->vq.size = Q;
	f->vq.desc_gpa = f->r.desc;
	f->vq.avail_gpa = f->r.avail;
	f->vq.used_gpa = f->r.used;
	assert_int_equal(virtq_enable(&f->vq, &f->h.vm.mem, 256, true,
				      event_idx),
			 VIRTQ_OK);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	h_init(&f->h);
	h_ring_init(&f->r, RING_AT, Q);
	enable_queue(f, true);
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

/* Pops once and expects @err (VIRTQ_OK: a chain). */
static void expect_pop(struct fixture *f, enum virtq_error err)
{
	int r = virtq_pop(&f->vq, &f->e);

	if (err == VIRTQ_OK) {
		assert_int_equal(r, 1);
		assert_int_equal(f->vq.error, VIRTQ_OK);
	} else {
		assert_int_equal(r, -1);
		assert_int_equal(f->vq.error, err);
		/* Sticky: a broken queue stays broken. */
		assert_int_equal(virtq_pop(&f->vq, &f->e), -1);
	}
}

static void test_valid_chain(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	h_desc(&f->h, &f->r, 5, BUF + 512, 0, VIRTQ_DESC_F_NEXT, 6);
	h_desc(&f->h, &f->r, 6, BUF + 1024, 100, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->e), 0); /* empty */
	h_avail(&f->h, &f->r, 3);
	expect_pop(f, VIRTQ_OK);
	assert_int_equal(f->e.head, 3);
	assert_int_equal(f->e.nr_out, 1);
	assert_int_equal(f->e.nr_in, 1); /* the zero-length one is skipped */
	assert_int_equal(f->e.out_len, 16);
	assert_int_equal(f->e.in_len, 100);
	assert_ptr_equal(f->e.iov[0].iov_base, h_ptr(&f->h, BUF));
	assert_ptr_equal(f->e.iov[1].iov_base, h_ptr(&f->h, BUF + 1024));
	assert_int_equal(virtq_pop(&f->vq, &f->e), 0);
	virtq_push(&f->vq, 3, 42);
	assert_int_equal(h_used_idx(&f->h, &f->r), 1);
	{
		uint32_t id, len;

		h_used_elem(&f->h, &f->r, 0, &id, &len);
		assert_int_equal(id, 3);
		assert_int_equal(len, 42);
	}
}

static void test_avail_idx_jump(void **state)
{
	struct fixture *f = *state;
	uint16_t *a = h_ptr(&f->h, f->r.avail);

	a[1] = Q + 1;
	expect_pop(f, VIRTQ_E_AVAIL_IDX);
}

static void test_head_out_of_range(void **state)
{
	struct fixture *f = *state;

	h_avail(&f->h, &f->r, Q);
	expect_pop(f, VIRTQ_E_HEAD);
}

static void test_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 0xffff);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_HEAD);
}

static void test_loop(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(&f->h, &f->r, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_LOOP);
}

static void test_self_loop(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 2, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	h_avail(&f->h, &f->r, 2);
	expect_pop(f, VIRTQ_E_LOOP);
}

static void test_addr_outside_ram(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, H_RAM_SIZE - 8, 16, 0, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ADDR);
}

static void test_addr_wraps(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, ~0ULL - 4, 16, 0, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ADDR);
}

static void test_huge_len(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, BUF, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ADDR);
}

static void test_write_to_rom(void **state)
{
	struct fixture *f = *state;

	/* Readable from ROM is fine, writable is not. */
	h_desc(&f->h, &f->r, 0, H_ROM_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(&f->h, &f->r, 1, H_ROM_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ADDR);
}

static void test_order(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
	       1);
	h_desc(&f->h, &f->r, 1, BUF, 16, 0, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ORDER);
}

static void test_indirect_valid(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc t[3] = {
		{ BUF, 16, VIRTQ_DESC_F_NEXT, 2 },
		{ BUF + 64, 8, VIRTQ_DESC_F_WRITE, 0 },
		{ BUF + 32, 4, VIRTQ_DESC_F_NEXT, 1 },
	};

	memcpy(h_ptr(&f->h, TABLE), t, sizeof(t));
	h_desc(&f->h, &f->r, 4, TABLE, sizeof(t), VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 4);
	expect_pop(f, VIRTQ_OK);
	assert_int_equal(f->e.head, 4);
	assert_int_equal(f->e.nr_out, 2);
	assert_int_equal(f->e.nr_in, 1);
	assert_int_equal(f->e.out_len, 20);
	assert_int_equal(f->e.in_len, 8);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fixture *f = *state;

	f->vq.indirect = false;
	h_desc(&f->h, &f->r, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_INDIRECT);
}

static void test_indirect_nested(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc t = { TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0 };

	memcpy(h_ptr(&f->h, TABLE), &t, sizeof(t));
	h_desc(&f->h, &f->r, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_INDIRECT);
}

static void test_indirect_bad_len(void **state)
{
	static const uint32_t lens[] = { 0, 15, 17, 16 * (VIRTQ_MAX_SIZE + 1) };

	for (unsigned int i = 0; i < 4; i++) {
		struct fixture *f = *state;

		h_desc(&f->h, &f->r, 0, TABLE, lens[i], VIRTQ_DESC_F_INDIRECT,
		       0);
		h_avail(&f->h, &f->r, 0);
		expect_pop(f, VIRTQ_E_INDIRECT);
		teardown(state);
		setup(state);
	}
}

static void test_indirect_with_next(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, TABLE, 16,
	       VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_INDIRECT);
}

static void test_indirect_outside_ram(void **state)
{
	struct fixture *f = *state;

	h_desc(&f->h, &f->r, 0, H_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_ADDR);
}

static void test_indirect_loop(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc t[2] = {
		{ BUF, 16, VIRTQ_DESC_F_NEXT, 1 },
		{ BUF, 16, VIRTQ_DESC_F_NEXT, 0 },
	};

	memcpy(h_ptr(&f->h, TABLE), t, sizeof(t));
	h_desc(&f->h, &f->r, 0, TABLE, sizeof(t), VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_LOOP);
}

static void test_too_many_segments(void **state)
{
	struct fixture *f = *state;
	unsigned int n = VIRTQ_MAX_SEGS + 1;
	struct virtq_desc *t = h_ptr(&f->h, TABLE);

	for (unsigned int i = 0; i < n; i++)
		t[i] = (struct virtq_desc){ BUF, 1,
					    i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
					    (uint16_t)(i + 1) };
	h_desc(&f->h, &f->r, 0, TABLE, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	h_avail(&f->h, &f->r, 0);
	expect_pop(f, VIRTQ_E_TOO_BIG);
}

static void test_layout(void **state)
{
	struct fixture *f = *state;
	struct {
		uint16_t size;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 0, RING_AT, 0x2000, 0x3000 }, /* size 0 */
		{ 6, RING_AT, 0x2000, 0x3000 }, /* not a power of two */
		{ 512, RING_AT, 0x2000, 0x3000 }, /* above the maximum */
		{ 8, RING_AT + 8, 0x2000, 0x3000 }, /* desc misaligned */
		{ 8, RING_AT, 0x2001, 0x3000 }, /* avail misaligned */
		{ 8, RING_AT, 0x2000, 0x3002 }, /* used misaligned */
		{ 8, H_RAM_SIZE - 64, 0x2000, 0x3000 }, /* desc past RAM */
		{ 8, RING_AT, H_RAM_SIZE - 4, 0x3000 }, /* avail past RAM */
		{ 8, RING_AT, 0x2000, H_ROM_GPA }, /* used in ROM */
		{ 8, ~0ULL - 15, 0x2000, 0x3000 }, /* wraps */
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		virtq_reset(&f->vq);
		f->vq.size = bad[i].size;
		f->vq.desc_gpa = bad[i].desc;
		f->vq.avail_gpa = bad[i].avail;
		f->vq.used_gpa = bad[i].used;
		assert_int_equal(virtq_enable(&f->vq, &f->h.vm.mem, 256, true,
					      true),
				 VIRTQ_E_LAYOUT);
		assert_false(f->vq.enabled);
		assert_int_equal(virtq_pop(&f->vq, &f->e), -1);
	}
}

static void test_event_idx(void **state)
{
	struct fixture *f = *state;
	uint16_t *a = h_ptr(&f->h, f->r.avail);
	uint16_t *avail_event = h_ptr(&f->h, f->r.used + 4 + 8 * Q);

	for (uint16_t i = 0; i < 4; i++) {
		h_desc(&f->h, &f->r, i, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
		h_avail(&f->h, &f->r, i);
	}
	/* used_event = 2: interrupt when used idx passes 2. */
	a[2 + Q] = 2;
	for (int i = 0; i < 4; i++)
		expect_pop(f, VIRTQ_OK);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(*avail_event, 4);
	virtq_push(&f->vq, 0, 1);
	assert_true(virtq_should_notify(&f->vq)); /* first one always */
	virtq_push(&f->vq, 1, 1);
	assert_false(virtq_should_notify(&f->vq)); /* idx 2: not past 2 */
	virtq_push(&f->vq, 2, 1);
	assert_true(virtq_should_notify(&f->vq)); /* idx 3 passes 2 */
	virtq_push(&f->vq, 3, 1);
	assert_false(virtq_should_notify(&f->vq));
}

static void test_no_interrupt_flag(void **state)
{
	struct fixture *f = *state;
	uint16_t *a = h_ptr(&f->h, f->r.avail);

	f->vq.event_idx = false;
	a[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&f->vq, 0, 1);
	assert_false(virtq_should_notify(&f->vq));
	a[0] = 0;
	assert_true(virtq_should_notify(&f->vq));
}

/*
 * Without event index, VIRTQ_USED_F_NO_NOTIFY: whatever the driver left in
 * the flags is cleared by the first enable; disable sets it, enable clears
 * it and reports entries added meanwhile.
 */
static void test_no_notify_flag(void **state)
{
	struct fixture *f = *state;
	uint16_t *used_flags = h_ptr(&f->h, f->r.used);

	*used_flags = 0xffff; /* garbage from the driver */
	enable_queue(f, false);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(*used_flags, 0);
	virtq_disable_notify(&f->vq);
	assert_int_equal(*used_flags, VIRTQ_USED_F_NO_NOTIFY);
	virtq_disable_notify(&f->vq);
	assert_int_equal(*used_flags, VIRTQ_USED_F_NO_NOTIFY);
	h_desc(&f->h, &f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(*used_flags, 0);
	expect_pop(f, VIRTQ_OK);
	assert_int_equal(virtq_next(&f->vq, &f->e), 0);
	assert_int_equal(*used_flags, 0);
	/* A broken ring is left alone. */
	virtq_disable_notify(&f->vq);
	f->vq.error = VIRTQ_E_HEAD;
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(*used_flags, VIRTQ_USED_F_NO_NOTIFY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_valid_chain),
		T(test_no_notify_flag),
		T(test_avail_idx_jump),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_loop),
		T(test_self_loop),
		T(test_addr_outside_ram),
		T(test_addr_wraps),
		T(test_huge_len),
		T(test_write_to_rom),
		T(test_order),
		T(test_indirect_valid),
		T(test_indirect_not_negotiated),
		T(test_indirect_nested),
		T(test_indirect_bad_len),
		T(test_indirect_with_next),
		T(test_indirect_outside_ram),
		T(test_indirect_loop),
		T(test_too_many_segments),
		T(test_layout),
		T(test_event_idx),
		T(test_no_interrupt_flag),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
