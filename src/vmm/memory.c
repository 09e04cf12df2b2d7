// SPDX-License-Identifier: GPL-2.0-only
/*
 * memory.c - guest-physical address translation and the region table.
 * The RAM layout is the architecture's: gmem_layout_ram() in src/arch.
 */
#include "memory.h"

#include <string.h>

static const struct mem_region *find_region(const struct guest_mem *mem,
					    uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = find_region(mem, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

/* Sets the bits of the RAM pages [hva, hva + len) in the dirty bitmap. */
static void mark(const struct guest_mem *mem, uint64_t *bits,
		 const uint8_t *hva, uint64_t len)
{
	uint64_t first, last;

	if (hva < mem->base || !len ||
	    (uint64_t)(hva - mem->base) >= mem->ram_size)
		return;
	first = (uint64_t)(hva - mem->base) / 4096;
	last = ((uint64_t)(hva - mem->base) + len - 1) / 4096;
	for (uint64_t p = first; p <= last; p++) {
		uint64_t bit = 1ULL << (p % 64);

		/* Read first: most marks find the bit set already. */
		if (!(__atomic_load_n(&bits[p / 64], __ATOMIC_RELAXED) & bit))
			__atomic_fetch_or(&bits[p / 64], bit, __ATOMIC_RELAXED);
	}
}

void *gpa_to_hva_rw(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = find_region(mem, gpa, len);
	uint64_t *bits;

	if (!r || r->readonly)
		return NULL;
	bits = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);
	if (bits)
		mark(mem, bits, r->hva + (gpa - r->gpa), len);
	return r->hva + (gpa - r->gpa);
}

void gmem_mark_dirty_hva(const struct guest_mem *mem, const void *hva,
			 uint64_t len)
{
	uint64_t *bits = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);

	if (bits)
		mark(mem, bits, hva, len);
}

void gmem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t *bits = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);

	if (bits)
		gpa_to_hva_rw(mem, gpa, len);
}

int gmem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
	      uint64_t len)
{
	const void *p = gpa_to_hva(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf,
	       uint64_t len)
{
	void *p = gpa_to_hva_rw(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

int gmem_add_region(struct guest_mem *mem, uint64_t gpa, uint64_t size,
		    void *hva, bool readonly, const char *name)
{
	struct mem_region *r;

	if (mem->nr == MEM_MAX_REGIONS)
		return -1;
	r = &mem->regions[mem->nr];
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->slot = mem->nr;
	r->readonly = readonly;
	r->name = name;
	mem->nr++;
	return 0;
}
