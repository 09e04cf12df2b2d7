// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_balance.c - unit tests for `vmon balance`'s decision
 * (src/app/balance_policy.c) with made-up VMs: over the target it takes
 * from the VMs with the most free memory first, within their free memory
 * and then down to the floor but never below it; under the target by more
 * than the slack it gives back to the VMs with the least free memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app/balance_policy.h"

#define MIB BAL_MIB

static struct bal_vm vm(uint64_t mem_mib, uint64_t res_mib, uint64_t free_mib,
			uint64_t target_mib)
{
	return (struct bal_vm){ .mem = mem_mib * MIB,
				.resident = res_mib * MIB,
				.free = free_mib * MIB,
				.target = target_mib * MIB,
				.balloon = true };
}

/* Four 256 MiB VMs using 800 MiB, target 600: 200 MiB from the freest. */
static void test_takes_from_most_free(void **state)
{
	struct bal_vm v[4] = { vm(256, 200, 10, 0), vm(256, 200, 150, 0),
			       vm(256, 200, 80, 0), vm(256, 200, 0, 0) };

	(void)state;
	assert_int_equal(balance_plan(v, 4, 600 * MIB, 32 * MIB, 30 * MIB),
			 800 * MIB);
	assert_int_equal(v[1].new_target, 150 * MIB); /* all its free memory */
	assert_int_equal(v[2].new_target, 50 * MIB); /* the rest */
	assert_int_equal(v[0].new_target, 0);
	assert_int_equal(v[3].new_target, 0);
}

/* Not enough free memory: the rest down to the floor, never below it. */
static void test_floor(void **state)
{
	struct bal_vm v[2] = { vm(128, 128, 20, 0), vm(128, 128, 10, 0) };
	uint64_t floor = 64 * MIB;

	(void)state;
	balance_plan(v, 2, 64 * MIB, floor, 0);
	for (int i = 0; i < 2; i++) {
		assert_true(v[i].mem - v[i].new_target >= floor);
		assert_int_equal(v[i].new_target, 64 * MIB);
	}
}

/* A balloon that leaves less than the floor is let out to the floor. */
static void test_floor_restored(void **state)
{
	struct bal_vm v[1] = { vm(128, 20, 5, 120) };

	(void)state;
	balance_plan(v, 1, 1024 * MIB, 32 * MIB, 2000 * MIB);
	assert_int_equal(v[0].new_target, 96 * MIB);
	v[0] = vm(16, 10, 0, 8); /* RAM under the floor: no balloon at all */
	balance_plan(v, 1, 1024 * MIB, 32 * MIB, 2000 * MIB);
	assert_int_equal(v[0].new_target, 0);
}

/* Under the target: the headroom beyond the slack goes back, least free
 * first; within the slack nothing moves. */
static void test_gives_back(void **state)
{
	struct bal_vm v[2] = { vm(256, 100, 100, 64), vm(256, 100, 5, 64) };

	(void)state;
	balance_plan(v, 2, 240 * MIB, 32 * MIB, 50 * MIB);
	assert_int_equal(v[0].new_target, 64 * MIB);
	assert_int_equal(v[1].new_target, 64 * MIB);
	balance_plan(v, 2, 350 * MIB, 32 * MIB, 50 * MIB);
	assert_int_equal(v[1].new_target, 0); /* least free: first */
	assert_int_equal(v[0].new_target, 28 * MIB); /* 100 - 64 = 36 back */
}

/* VMs without a balloon count in the sum but never move. */
static void test_no_balloon(void **state)
{
	struct bal_vm v[2] = { vm(256, 300, 200, 0), vm(256, 100, 50, 0) };

	(void)state;
	v[0].balloon = false;
	assert_int_equal(balance_plan(v, 2, 350 * MIB, 32 * MIB, 0), 400 * MIB);
	assert_int_equal(v[0].new_target, 0);
	assert_int_equal(v[1].new_target, 50 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_from_most_free),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_floor_restored),
		cmocka_unit_test(test_gives_back),
		cmocka_unit_test(test_no_balloon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
