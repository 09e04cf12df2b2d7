// SPDX-License-Identifier: GPL-2.0-only
/*
 * user_speed.c - guest test 5: a compute loop (speed_loop.h) in guest
 * ring 3, timed with the TSC inside ring 3; prints "cycles=N sum=S" for
 * the host side, which compares it with the same loop on the host.
 */
#include "rt.h"
#include "speed_loop.h"

static uint64_t sum;

static uint64_t user_loop(uint64_t arg)
{
	(void)arg;
	return speed_measure(&sum);
}

int main(void)
{
	uint64_t cycles = rt_user_call(user_loop, 0);

	printf("cycles=%lu sum=%lu\n", cycles, sum);
	check(sum == SPEED_ITERS * (SPEED_ITERS + 1) / 2,
	      "ring-3 loop computed the right sum");
	return 0;
}
