/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvh.h - the PVH boot ABI's start-of-day structures (Xen's
 * arch-x86/hvm/start_info.h, version 1), as a PVH-capable kernel
 * expects them in EBX at its 32-bit entry point.
 */
#ifndef VMON_ARCH_X86_PVH_H
#define VMON_ARCH_X86_PVH_H

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap");

#endif
