// SPDX-License-Identifier: GPL-2.0-only
/*
 * e820.c - builds the e820 memory map shared by the Linux zero page, the
 * PVH start info, multiboot and fw_cfg.
 */
#include "e820.h"

#include "layout.h"

static int add(struct e820_map_entry *out, int n, int max, uint64_t addr,
	       uint64_t size, uint32_t type)
{
	if (n < 0 || n >= max || !size)
		return n < 0 || n >= max ? -1 : n;
	out[n].addr = addr;
	out[n].size = size;
	out[n].type = type;
	return n + 1;
}

int e820_build(const struct guest_mem *mem, struct e820_map_entry *out, int max)
{
	uint64_t low_end = gmem_low_ram_end(mem);
	int n = 0;

	if (low_end <= BIOS_END)
		return -1;
	n = add(out, n, max, 0, EBDA_START, E820_TYPE_RAM);
	n = add(out, n, max, EBDA_START, LOW_RAM_END - EBDA_START,
		E820_TYPE_RESERVED);
	n = add(out, n, max, BIOS_START, BIOS_END - BIOS_START,
		E820_TYPE_RESERVED);
	n = add(out, n, max, BIOS_END, low_end - BIOS_END, E820_TYPE_RAM);
	if (mem->ram_size > low_end)
		n = add(out, n, max, MMIO_HOLE_END, mem->ram_size - low_end,
			E820_TYPE_RAM);
	return n;
}
