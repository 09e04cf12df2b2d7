// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_dirty_ring.c - unit tests for the harvest of KVM's dirty ring
 * (src/vmm/dirty_ring.c) on a ring in memory, as KVM fills it: entries
 * taken in order into vmon's own bitmap and handed back (RESET), and the
 * state KVM's PVM backend leaves at times, pushed entries without their
 * DIRTY flag before DIRTY ones, taken too so that the ring moves on; a
 * free ring, or one whose entries wait for KVM's reset, is left alone.
 */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "vmm/dirty.h"
#include "vmm/memory.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define ENTRIES 256U
#define PAGES 512U

/* Never dereferenced: a plausible user-space address for pointer math. */
static uint8_t *const fake_base = (uint8_t *)0x7f0000000000ULL;

struct fixture {
	struct vm vm;
	struct vcpu vcpu;
	struct kvm_dirty_gfn ring[ENTRIES];
	uint64_t bits[PAGES / 64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (gmem_layout_ram(&f->vm.mem, fake_base, PAGES * 4096ULL))
		return -1;
	f->vm.mem.dirty = f->bits;
	f->vm.dirty_ring_entries = ENTRIES;
	f->vcpu.vm = &f->vm;
	f->vcpu.dirty_ring = f->ring;
	pthread_mutex_init(&f->vcpu.dirty_lock, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pthread_mutex_destroy(&f->vcpu.dirty_lock);
	free(f);
	return 0;
}

/* KVM's push of page @pg of slot 0 at absolute index @i. */
static void push(struct fixture *f, uint32_t i, uint64_t pg, uint32_t flags)
{
	struct kvm_dirty_gfn *e = &f->ring[i % ENTRIES];

	e->slot = 0;
	e->offset = pg;
	e->flags = flags;
}

static bool marked(const struct fixture *f, uint64_t pg)
{
	return f->bits[pg / 64] >> (pg % 64) & 1;
}

static unsigned int count_marked(const struct fixture *f)
{
	unsigned int n = 0;

	for (unsigned int w = 0; w < PAGES / 64; w++)
		n += (unsigned int)__builtin_popcountll(f->bits[w]);
	return n;
}

/* Entries in order, across the end of the ring: taken, handed back. */
static void test_harvest_in_order(void **state)
{
	struct fixture *f = *state;

	f->vcpu.dirty_fetch = ENTRIES - 2;
	for (uint32_t i = 0; i < 5; i++)
		push(f, ENTRIES - 2 + i, 10 + i, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(dirty_ring_take(&f->vcpu), 5);
	assert_int_equal(f->vcpu.dirty_fetch, ENTRIES + 3);
	for (uint32_t i = 0; i < 5; i++) {
		assert_true(marked(f, 10 + i));
		assert_int_equal(f->ring[(ENTRIES - 2 + i) % ENTRIES].flags,
				 KVM_DIRTY_GFN_F_RESET);
	}
	assert_int_equal(count_marked(f), 5);
	/* Nothing new: nothing taken. */
	assert_int_equal(dirty_ring_take(&f->vcpu), 0);
}

/*
 * KVM pushed two entries without their flag, then DIRTY ones (as a PVM
 * host's ring was found, full): all taken, the fetch index past them.
 */
static void test_unflagged_entries_taken(void **state)
{
	struct fixture *f = *state;

	f->vcpu.dirty_fetch = 100;
	push(f, 100, 7, 0);
	push(f, 101, 8, 0);
	for (uint32_t i = 102; i < 110; i++)
		push(f, i, i, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(dirty_ring_take(&f->vcpu), 10);
	assert_int_equal(f->vcpu.dirty_fetch, 110);
	assert_true(marked(f, 7) && marked(f, 8));
	for (uint32_t i = 100; i < 110; i++)
		assert_int_equal(f->ring[i].flags, KVM_DIRTY_GFN_F_RESET);
	assert_int_equal(count_marked(f), 10);
}

/* A free ring: nothing taken, nothing written. */
static void test_free_ring_left_alone(void **state)
{
	struct fixture *f = *state;

	f->vcpu.dirty_fetch = 3;
	push(f, 3, 5, 0);
	assert_int_equal(dirty_ring_take(&f->vcpu), 0);
	assert_int_equal(f->vcpu.dirty_fetch, 3);
	for (uint32_t i = 0; i < ENTRIES; i++)
		assert_int_equal(f->ring[i].flags, 0);
	assert_int_equal(count_marked(f), 0);
}

/*
 * A DIRTY entry further than KVM's reserve, or harvested entries that
 * wait for KVM's reset after the free ones: not the lost-flag state.
 */
static void test_far_or_harvested_left_alone(void **state)
{
	struct fixture *f = *state;

	f->vcpu.dirty_fetch = 0;
	push(f, 64, 1, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(dirty_ring_take(&f->vcpu), 0);
	assert_int_equal(f->ring[64].flags, KVM_DIRTY_GFN_F_DIRTY);
	push(f, 64, 1, 0);
	push(f, 2, 2, KVM_DIRTY_GFN_F_RESET);
	push(f, 3, 3, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(dirty_ring_take(&f->vcpu), 0);
	assert_int_equal(f->vcpu.dirty_fetch, 0);
	assert_int_equal(f->ring[0].flags, 0);
	assert_int_equal(count_marked(f), 0);
}

/* Tracking just went off (no own bitmap): taken and dropped. */
static void test_tracking_off(void **state)
{
	struct fixture *f = *state;

	f->vm.mem.dirty = NULL;
	push(f, 0, 4, 0);
	push(f, 1, 5, KVM_DIRTY_GFN_F_DIRTY);
	assert_int_equal(dirty_ring_take(&f->vcpu), 2);
	assert_int_equal(f->ring[0].flags, KVM_DIRTY_GFN_F_RESET);
	assert_int_equal(f->ring[1].flags, KVM_DIRTY_GFN_F_RESET);
	assert_int_equal(count_marked(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_harvest_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unflagged_entries_taken,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_ring_left_alone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_far_or_harvested_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracking_off, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
