/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * speed_loop.h - the compute loop of the user-mode speed test, shared by
 * the guest program (run in ring 3) and its host twin (speed_host.c), and
 * its measurement: the fewest TSC cycles over SPEED_REPS runs.
 *
 * Many short runs (about 0.6 ms each) rather than a few long ones: on a
 * busy host a run that a preemption or an interrupt hits is slower, and
 * the best of many short runs still finds an undisturbed one where a 5 ms
 * run is hit nearly every time.
 */
#ifndef GUEST_SPEED_LOOP_H
#define GUEST_SPEED_LOOP_H

#include <stdint.h>

#define SPEED_ITERS 2000000ULL
#define SPEED_REPS 100

static inline uint64_t speed_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence"
			 : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* add/dec/jnz, as the PVM host notes measure; returns the sum. */
static inline uint64_t speed_loop(uint64_t n)
{
	uint64_t acc = 0;

	__asm__ volatile("1: add %1, %0\n\tdec %1\n\tjnz 1b"
			 : "+r"(acc), "+r"(n));
	return acc;
}

/* The best (fewest) cycles of SPEED_REPS loops of SPEED_ITERS. */
static inline uint64_t speed_measure(uint64_t *sum)
{
	uint64_t best = ~0ULL;

	for (int i = 0; i < SPEED_REPS; i++) {
		uint64_t t0 = speed_rdtsc();

		*sum = speed_loop(SPEED_ITERS);
		t0 = speed_rdtsc() - t0;
		if (t0 < best)
			best = t0;
	}
	return best;
}

#endif
