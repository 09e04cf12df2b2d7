/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * boot.h - putting a kernel into guest memory: format detection (bzImage,
 * multiboot, ELF with or without a PVH note), the initrd, the command line,
 * and the firmware tables every format gets (MP table). Each loader lives
 * in its own file; this header is their common interface.
 */
#ifndef VMON_ARCH_X86_BOOT_H
#define VMON_ARCH_X86_BOOT_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "e820.h"

struct vm;

/* A kernel or initrd file, mapped read-only. */
struct boot_file {
	const char *what; /* "kernel" or "initrd" */
	const char *path;
	const uint8_t *data;
	size_t size;
};

struct boot_files {
	struct boot_file kernel;
	struct boot_file initrd; /* data NULL: none */
	const char *cmdline;
};

/* arch_load_kernel() (arch.h, boot.c) detects the format and loads it. */

/* --- bzimage.c: the Linux x86 boot protocol --- */
struct bzimage_info {
	uint16_t version;
	uint32_t setup_size; /* bytes before the protected-mode kernel */
	uint64_t load_addr;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
};

bool bzimage_detect(const uint8_t *img, size_t size);
/* Validates the setup header; on error fills @err and returns -1. */
int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info,
		  char *err, size_t errlen);
/* Builds the zero page for a kernel whose setup header is in @img. */
void linux_zero_page(struct boot_params *bp, const uint8_t *img,
		     const struct e820_map_entry *map, int nmap,
		     uint64_t cmdline_gpa, uint64_t initrd_gpa,
		     uint64_t initrd_size);
int bzimage_load(struct vm *vm, const struct boot_files *f,
		 struct boot_entry *entry);

/* --- multiboot.c: Multiboot v1 (QEMU's loader behaviour) --- */
/* A header in the first 8 KiB, unless the file is ELF64 and the header
 * has no address fields (flag 16). */
bool multiboot_detect(const uint8_t *img, size_t size);
/* @initrd: the --initrd list of modules ("PATH [ARGS],..."), or NULL. */
int multiboot_load(struct vm *vm, const struct boot_files *f,
		   const char *initrd, struct boot_entry *entry);

/* --- elf.c: ELF vmlinux (PVH entry note, else the 64-bit entry) --- */
bool elf_detect(const uint8_t *img, size_t size);
int elf_load(struct vm *vm, const struct boot_files *f,
	     struct boot_entry *entry);

/* --- shared helpers (boot.c) --- */
/* Places the initrd as high as possible below @max_end, above @min_addr. */
int boot_place_initrd(struct vm *vm, const struct boot_file *initrd,
		      uint64_t min_addr, uint64_t max_end, uint64_t *gpa);
/* Copies the command line to BOOT_CMDLINE_ADDR; @max includes the NUL. */
int boot_write_cmdline(struct vm *vm, const char *cmdline, size_t max);
/* Copies @len bytes to guest RAM at @gpa or reports what does not fit. */
int boot_copy(struct vm *vm, const struct boot_file *f, uint64_t gpa,
	      const void *src, uint64_t len, uint64_t memsz);

#endif
