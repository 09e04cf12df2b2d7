// SPDX-License-Identifier: GPL-2.0-only
/*
 * registry.c - the one helper of the linker-section registries
 * (registry.h): a registry's entries in the order they ask for.
 */
#include "registry.h"

static unsigned int order_of(const void *entry, size_t order_offset)
{
	return *(const unsigned int *)((const char *)entry + order_offset);
}

unsigned int registry_sorted(const void *const *start, const void *const *stop,
			     const void **out, unsigned int max,
			     size_t order_offset)
{
	unsigned int n = 0;

	/* Insertion sort: a handful of entries, and stable. */
	for (const void *const *e = start; e < stop && n < max; e++) {
		unsigned int i = n++;
		unsigned int order = order_of(*e, order_offset);

		while (i > 0 && order_of(out[i - 1], order_offset) > order) {
			out[i] = out[i - 1];
			i--;
		}
		out[i] = *e;
	}
	return n;
}
