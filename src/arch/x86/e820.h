/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e820.h - the guest's physical memory map as firmware would report it:
 * RAM, the legacy EBDA/BIOS holes, and RAM above the 32-bit MMIO hole.
 */
#ifndef VMON_ARCH_X86_E820_H
#define VMON_ARCH_X86_E820_H

#include <stdint.h>

#include "../../vmm/memory.h"

#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2

struct e820_map_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define E820_MAX_MAP 8

/* Top of RAM below 4 GiB (exclusive). */
uint64_t gmem_low_ram_end(const struct guest_mem *mem);

/* Fills @out (room for @max entries); returns the count or -1. */
int e820_build(const struct guest_mem *mem, struct e820_map_entry *out,
	       int max);

#endif
