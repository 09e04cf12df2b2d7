// SPDX-License-Identifier: GPL-2.0-only
/*
 * mig_dirty.c - the guest of the live-migration tests: dirties memory
 * as fast as the CPU allows (ring 3, native on every host) and checks it.
 * A region of REGION_MB MiB at 16 MiB is written page after page in a
 * scrambled order; each write stores, in the page, the page's index and
 * the generation that wrote it, and records the generation in a table
 * elsewhere in memory. Every ROUND writes the program prints
 * "d=NNNNNNNN\n" (the round, 8 hex digits: the host follows the rounds
 * across a migration, none lost or repeated), and every VERIFY rounds it
 * reads the whole region back against the table: "verify ok" or
 * "verify BAD page P" (a page that came back stale from a migration).
 * It runs until the VM is stopped. Needs 48 MiB of RAM.
 */
#include "rt.h"

#define REGION ((volatile uint64_t *)(16ULL << 20))
#define REGION_MB 16
#define PAGES (REGION_MB * 256)
#define TABLE ((volatile uint64_t *)(40ULL << 20)) /* PAGES entries */
#define ROUND 200000ULL
#define VERIFY 8

static uint64_t gen;

/* One round of writes (ring 3): page (k * 2654435761) % PAGES. */
static uint64_t dirty(uint64_t round)
{
	for (uint64_t k = 0; k < ROUND; k++) {
		uint64_t p = ((round * ROUND + k) * 2654435761ULL) % PAGES;
		volatile uint64_t *w = REGION + p * 512;

		gen++;
		w[0] = p;
		w[1] = gen;
		w[511] = gen ^ 0x5a5a5a5a5a5a5a5aULL;
		TABLE[p] = gen;
	}
	return 0;
}

/* Reads the region back (ring 3): the first bad page + 1, or 0. */
static uint64_t verify(uint64_t unused)
{
	(void)unused;
	for (uint64_t p = 0; p < PAGES; p++) {
		volatile uint64_t *w = REGION + p * 512;
		uint64_t g = TABLE[p];

		if (!g)
			continue;
		if (w[0] != p || w[1] != g ||
		    w[511] != (g ^ 0x5a5a5a5a5a5a5a5aULL))
			return p + 1;
	}
	return 0;
}

int main(void)
{
	for (uint64_t round = 1;; round++) {
		rt_user_call(dirty, round);
		printf("d=%08lx\n", (unsigned long)round);
		if (round % VERIFY == 0) {
			uint64_t bad = rt_user_call(verify, 0);

			if (bad)
				printf("verify BAD page %lu\n",
				       (unsigned long)(bad - 1));
			else
				printf("verify ok\n");
		}
	}
	return 0;
}
