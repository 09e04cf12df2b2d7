// SPDX-License-Identifier: GPL-2.0-only
/*
 * bzimage.c - the Linux x86 boot protocol (Documentation/arch/x86/boot.rst):
 * setup header checks, the zero page (boot_params) with e820 map, command
 * line and initrd, and the 64-bit entry point.
 */
#include <stdio.h>
#include <string.h>

#include "../../util/log.h"
#include "../../vmm/vm.h"
#include "boot.h"
#include "layout.h"
#include "x86.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_FLAG 0xaa55
#define MIN_VERSION 0x020c /* 2.12: xloadflags, 64-bit entry */
#define LOADER_TYPE_UNDEFINED 0xff

static const struct setup_header *hdr_of(const uint8_t *img)
{
	return (const struct setup_header *)(img + SETUP_HEADER_OFFSET);
}

bool bzimage_detect(const uint8_t *img, size_t size)
{
	const struct setup_header *h;

	if (size < SETUP_HEADER_OFFSET + sizeof(*h))
		return false;
	h = hdr_of(img);
	return h->boot_flag == BOOT_FLAG && h->header == HDRS_MAGIC;
}

int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info,
		  char *err, size_t errlen)
{
	const struct setup_header *h;
	unsigned int sects;

	if (!bzimage_detect(img, size)) {
		snprintf(err, errlen, "not a bzImage (no HdrS setup header)");
		return -1;
	}
	h = hdr_of(img);
	info->version = h->version;
	if (h->version < MIN_VERSION || !(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(
			err, errlen,
			"boot protocol %u.%02u without a 64-bit entry point (vmon needs 2.12 or later, a 64-bit kernel)",
			h->version >> 8, h->version & 0xff);
		return -1;
	}
	sects = h->setup_sects ? h->setup_sects : 4;
	info->setup_size = (sects + 1) * 512;
	if (info->setup_size >= size) {
		snprintf(err, errlen,
			 "truncated: setup of %u bytes, file of %zu",
			 info->setup_size, size);
		return -1;
	}
	info->load_addr = KERNEL_LOAD_ADDR;
	if (h->relocatable_kernel && h->pref_address >= KERNEL_LOAD_ADDR &&
	    h->pref_address < MMIO_HOLE_START)
		info->load_addr = h->pref_address;
	info->init_size = h->init_size;
	if (info->init_size < size - info->setup_size)
		info->init_size = (uint32_t)(size - info->setup_size);
	info->initrd_addr_max = h->initrd_addr_max ? h->initrd_addr_max :
						     0x37ffffff;
	/* cmdline_size excludes the NUL; vmon caps it at BOOT_CMDLINE_MAX. */
	info->cmdline_size = h->cmdline_size && h->cmdline_size <
							BOOT_CMDLINE_MAX ?
				     h->cmdline_size + 1 :
			     h->cmdline_size ? (uint32_t)BOOT_CMDLINE_MAX :
					       256;
	return 0;
}

void linux_zero_page(struct boot_params *bp, const uint8_t *img,
		     const struct e820_map_entry *map, int nmap,
		     uint64_t cmdline_gpa, uint64_t initrd_gpa,
		     uint64_t initrd_size)
{
	size_t hdr_len = 0x202 + img[0x201] - SETUP_HEADER_OFFSET;

	memset(bp, 0, sizeof(*bp));
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, img + SETUP_HEADER_OFFSET, hdr_len);
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(cmdline_gpa >> 32);
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	if (nmap > E820_MAX_ENTRIES_ZEROPAGE)
		nmap = E820_MAX_ENTRIES_ZEROPAGE;
	for (int i = 0; i < nmap; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)nmap;
}

int bzimage_load(struct vm *vm, const struct boot_files *f,
		 struct boot_entry *entry)
{
	struct e820_map_entry map[E820_MAX_MAP];
	struct bzimage_info info;
	struct boot_params *bp;
	uint64_t initrd_gpa = 0, initrd_size = 0;
	char err[160];
	int nmap;

	if (bzimage_parse(f->kernel.data, f->kernel.size, &info, err,
			  sizeof(err))) {
		pr_err("kernel %s: %s", f->kernel.path, err);
		return -1;
	}
	if (boot_copy(vm, &f->kernel, info.load_addr,
		      f->kernel.data + info.setup_size,
		      f->kernel.size - info.setup_size, info.init_size))
		return -1;
	if (f->initrd.data) {
		if (boot_place_initrd(
			    vm, &f->initrd, info.load_addr + info.init_size,
			    (uint64_t)info.initrd_addr_max + 1, &initrd_gpa))
			return -1;
		initrd_size = f->initrd.size;
	}
	if (boot_write_cmdline(vm, f->cmdline, info.cmdline_size))
		return -1;
	nmap = e820_build(&vm->mem, map, E820_MAX_MAP);
	bp = gpa_to_hva_rw(&vm->mem, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	if (nmap < 0 || !bp) {
		pr_err("memory: too small for the boot structures");
		return -1;
	}
	linux_zero_page(bp, f->kernel.data, map, nmap, BOOT_CMDLINE_ADDR,
			initrd_gpa, initrd_size);
	if (info.version >= 0x020e) /* boot protocol 2.14: acpi_rsdp_addr */
		bp->acpi_rsdp_addr = vm->arch->rsdp;
	entry->mode = BOOT_MODE_LINUX64;
	entry->entry = info.load_addr + 0x200;
	entry->arg = BOOT_ZERO_PAGE_ADDR;
	return 0;
}
