// SPDX-License-Identifier: GPL-2.0-only
/*
 * balance_policy.c - how `vmon balance` moves balloon targets
 * (balance_policy.h): pure arithmetic on the VMs it is given.
 */
#include "balance_policy.h"

#include <stdlib.h>

#define MAX_SORTED 1024

/* Most free memory first; among equals, the larger resident first. */
static int more_free(const void *a, const void *b)
{
	const struct bal_vm *x = *(struct bal_vm *const *)a;
	const struct bal_vm *y = *(struct bal_vm *const *)b;

	if (x->free != y->free)
		return x->free > y->free ? -1 : 1;
	if (x->resident != y->resident)
		return x->resident > y->resident ? -1 : 1;
	return 0;
}

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + BAL_MIB - 1) / BAL_MIB * BAL_MIB;
}

/* The largest target that leaves @v @floor of RAM, in whole MiB. */
static uint64_t max_target(const struct bal_vm *v, uint64_t floor)
{
	return v->mem > floor ? (v->mem - floor) / BAL_MIB * BAL_MIB : 0;
}

/* Inflates @v by up to @need (each pass bounded by @cap); returns taken. */
static uint64_t take(struct bal_vm *v, uint64_t need, uint64_t cap,
		     uint64_t floor)
{
	uint64_t limit = max_target(v, floor), room, t;

	if (!v->balloon || v->new_target >= limit)
		return 0;
	room = limit - v->new_target;
	t = mib_up(need);
	if (t > room)
		t = room;
	if (t > cap)
		t = cap / BAL_MIB * BAL_MIB;
	v->new_target += t;
	return t;
}

/* Deflates @v by up to @give; returns what was given back. */
static uint64_t give(struct bal_vm *v, uint64_t give)
{
	uint64_t g = give / BAL_MIB * BAL_MIB;

	if (!v->balloon)
		return 0;
	if (g > v->new_target)
		g = v->new_target;
	v->new_target -= g;
	return g;
}

uint64_t balance_plan(struct bal_vm *vms, size_t n, uint64_t host_target,
		      uint64_t floor, uint64_t slack)
{
	struct bal_vm *order[MAX_SORTED];
	uint64_t total = 0, need;
	size_t m = n < MAX_SORTED ? n : MAX_SORTED;

	for (size_t i = 0; i < n; i++) {
		struct bal_vm *v = &vms[i];

		total += v->resident;
		v->new_target = v->target;
		if (v->balloon && v->new_target > max_target(v, floor))
			v->new_target = max_target(v, floor);
	}
	for (size_t i = 0; i < m; i++)
		order[i] = &vms[i];
	/* An array of pointers into @vms: the elements are pointers. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	qsort(order, m, sizeof(*order), more_free);
	if (total > host_target) {
		need = total - host_target;
		for (size_t i = 0; i < m && need; i++) {
			uint64_t t =
				take(order[i], need, order[i]->free, floor);

			need -= t < need ? t : need;
		}
		for (size_t i = 0; i < m && need; i++) {
			uint64_t t = take(order[i], need, UINT64_MAX, floor);

			need -= t < need ? t : need;
		}
	} else if (host_target - total > slack) {
		need = host_target - total - slack;
		for (size_t i = m; i-- > 0 && need;)
			need -= give(order[i], need);
	}
	return total;
}
