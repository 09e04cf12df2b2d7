/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memory.h - guest-physical memory: the host mapping of guest RAM, its
 * regions (KVM memory slots: RAM as the architecture lays it out, and
 * ROMs), and the only sanctioned way to turn a guest-physical range into a
 * host pointer.
 */
#ifndef VMON_VMM_MEMORY_H
#define VMON_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_REGIONS 8

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint32_t slot;
	bool readonly;
	const char *name;
};

struct guest_mem {
	uint8_t *base; /* one mapping of all RAM */
	/* RAM is a shared file mapping (--mem-file): freed with MADV_REMOVE. */
	bool file_shared;
	/*
	 * RAM is private anonymous memory nothing fills behind vmon's back
	 * (no file, no userfaultfd): a page the host never populated reads
	 * as zeros (gmem_unpopulated()).
	 */
	bool anon;
	uint64_t ram_size;
	struct mem_region regions[MEM_MAX_REGIONS];
	unsigned int nr;
	/*
	 * Pages of RAM vmon itself wrote while dirty tracking is on (dirty.h),
	 * one bit per page by offset from base; NULL when off. Read and set
	 * atomically: devices mark from any thread.
	 */
	uint64_t *dirty;
};

/*
 * Returns the host address of [gpa, gpa + len) if the whole range lies in
 * one region (RAM or ROM), else NULL. Overflow-safe for any guest value.
 */
void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/*
 * As gpa_to_hva(), but only for writable RAM: the caller is about to
 * write there, so with dirty tracking on the pages are marked dirty.
 */
void *gpa_to_hva_rw(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/*
 * Marks [gpa, gpa + len) dirty for a write through a host pointer taken
 * earlier (virtqueue rings); nothing if tracking is off or not RAM.
 */
void gmem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/*
 * The same for host addresses inside guest RAM: a write that completed
 * later than its buffer was translated (an asynchronous block read), so
 * a live migration that sent the page in between sends it again.
 */
void gmem_mark_dirty_hva(const struct guest_mem *mem, const void *hva,
			 uint64_t len);

/* Copies guest memory; return 0, or -1 if the range is not all guest RAM. */
int gmem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
	      uint64_t len);
int gmem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf,
	       uint64_t len);

/* A RAM region: writable and inside the one mapping of RAM at base. */
static inline bool gmem_is_ram(const struct guest_mem *mem,
			       const struct mem_region *r)
{
	return !r->readonly && r->hva >= mem->base &&
	       (uint64_t)(r->hva - mem->base) < mem->ram_size;
}

#define PAGEMAP_PAGE 4096ULL
/*
 * Sets in @bits (one bit per 4 KiB page of RAM, from base) the pages the
 * host has never populated (neither resident nor in swap: they read as
 * zeros) and clears the others, from /proc/self/pagemap. A page written
 * after the call is not seen: callers read it with dirty tracking on.
 * 0, or -1 if RAM is not anonymous (mem->anon) or the file is unreadable.
 */
int gmem_unpopulated(const struct guest_mem *mem, uint64_t *bits);

/* Adds a region to the table (no KVM call); returns 0 or -1 if full. */
int gmem_add_region(struct guest_mem *mem, uint64_t gpa, uint64_t size,
		    void *hva, bool readonly, const char *name);

/*
 * The split of RAM into regions is the architecture's: gmem_layout_ram()
 * in src/arch/arch.h.
 */

#endif
