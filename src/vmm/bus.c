// SPDX-License-Identifier: GPL-2.0-only
/*
 * bus.c - sorted range table and dispatch of port I/O and MMIO accesses.
 */
#include "bus.h"

#include <stdlib.h>

#include "../util/log.h"

void bus_init(struct bus *bus, const char *kind)
{
	memset(bus, 0, sizeof(*bus));
	bus->kind = kind;
}

void bus_free(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	size_t i;

	if (!len || base + len - 1 < base) {
		pr_err("%s range for %s at 0x%llx: invalid length 0x%llx",
		       bus->kind, name, (unsigned long long)base,
		       (unsigned long long)len);
		return -1;
	}
	for (i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base <= r->base + r->len - 1 && r->base <= base + len - 1) {
			pr_err("%s range 0x%llx+0x%llx of %s overlaps %s",
			       bus->kind, (unsigned long long)base,
			       (unsigned long long)len, name, r->name);
			return -1;
		}
		if (r->base > base)
			break;
	}
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n)
			return -1;
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, name, {} };
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, void *data,
		unsigned int len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);
	uint64_t off;

	if (!r || len == 0)
		goto unhandled;
	off = addr - r->base;
	if (len > r->len - off)
		goto unhandled;
	{
		/* Only metrics read these: relaxed, and the range is fixed. */
		struct bus_counters *c = (struct bus_counters *)&r->count;

		__atomic_fetch_add(is_write ? &c->writes : &c->reads, 1,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(is_write ? &c->write_bytes : &c->read_bytes,
				   len, __ATOMIC_RELAXED);
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, off, data, len);
	} else {
		if (r->ops->read)
			r->ops->read(r->opaque, off, data, len);
		else
			memset(data, 0xff, len);
	}
	return true;
unhandled:
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
