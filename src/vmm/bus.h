/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bus.h - address-range dispatch for port I/O and MMIO exits.
 *
 * A device model registers [base, base + len) with read/write callbacks.
 * Registration happens before the vCPUs start; afterwards the bus is only
 * read, so vCPU threads look ranges up without a lock. Callbacks run on
 * the vCPU thread that exited and must do their own locking.
 */
#ifndef VMON_VMM_BUS_H
#define VMON_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bus_ops {
	/* Fill @data (len bytes, little-endian) for a read at @offset. */
	void (*read)(void *opaque, uint64_t offset, void *data,
		     unsigned int len);
	void (*write)(void *opaque, uint64_t offset, const void *data,
		      unsigned int len);
};

/* Access counters of a range, updated by vCPU threads (relaxed atomics). */
struct bus_counters {
	uint64_t reads, writes;
	uint64_t read_bytes, write_bytes;
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	struct bus_counters count;
};

struct bus {
	const char *kind; /* "port" or "MMIO", for messages */
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr, cap;
};

void bus_init(struct bus *bus, const char *kind);
void bus_free(struct bus *bus);
/* Returns 0, or -1 (overlap, empty or wrapping range: logged). */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/*
 * Dispatches one access. An access that is not fully inside one range is
 * unhandled: returns false, and for a read fills @data with all-ones.
 */
bool bus_access(const struct bus *bus, uint64_t addr, void *data,
		unsigned int len, bool is_write);

/* Little-endian value helpers for callbacks (len 1, 2, 4 or 8). */
static inline uint64_t bus_get(const void *data, unsigned int len)
{
	uint64_t v = 0;

	memcpy(&v, data, len > 8 ? 8 : len);
	return v;
}

static inline void bus_put(void *data, unsigned int len, uint64_t v)
{
	memcpy(data, &v, len > 8 ? 8 : len);
}

#endif
