// SPDX-License-Identifier: GPL-2.0-only
/*
 * e820.c - guest RAM on x86: laid out below and above the 32-bit MMIO
 * hole (gmem_layout_ram(), src/arch/arch.h), and the e820 memory map
 * shared by the Linux zero page, the PVH start info, multiboot and fw_cfg.
 */
#include "e820.h"

#include "../arch.h"
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

int gmem_layout_ram(struct guest_mem *mem, uint8_t *base, uint64_t ram_size)
{
	uint64_t low = ram_size < MMIO_HOLE_START ? ram_size : MMIO_HOLE_START;

	mem->base = base;
	mem->ram_size = ram_size;
	if (gmem_add_region(mem, 0, low, base, false, "ram-low"))
		return -1;
	if (ram_size > low &&
	    gmem_add_region(mem, MMIO_HOLE_END, ram_size - low, base + low,
			    false, "ram-high"))
		return -1;
	return 0;
}

uint64_t gmem_low_ram_end(const struct guest_mem *mem)
{
	return mem->ram_size < MMIO_HOLE_START ? mem->ram_size :
						 MMIO_HOLE_START;
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

void arch_rom_window(uint64_t *gpa, uint64_t *size)
{
	*gpa = ROM_ADDR;
	*size = ROM_SIZE;
}
