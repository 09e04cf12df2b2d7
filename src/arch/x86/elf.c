// SPDX-License-Identifier: GPL-2.0-only
/*
 * elf.c - an uncompressed ELF64 kernel (vmlinux): its PT_LOAD segments at
 * their physical addresses, then either the PVH entry from the Xen
 * PHYS32_ENTRY note (hvm_start_info in EBX) or, without that note, the
 * 64-bit Linux entry point e_entry with a synthesized zero page.
 */
#include <elf.h>
#include <string.h>

#include "../../util/log.h"
#include "../../vmm/vm.h"
#include "boot.h"
#include "layout.h"
#include "pvh.h"
#include "x86.h"

#define LINUX_COMMAND_LINE_SIZE 2048

bool elf_detect(const uint8_t *img, size_t size)
{
	return size >= EI_NIDENT && !memcmp(img, ELFMAG, SELFMAG);
}

/* Checks that [off, off + len) lies inside the file. */
static bool in_file(const struct boot_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static int find_pvh_entry(const struct boot_file *f, const Elf64_Phdr *ph,
			  uint64_t *entry)
{
	uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	if (!in_file(f, ph->p_offset, ph->p_filesz))
		return -1;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		uint64_t name_off = off + sizeof(n), desc_off, next;

		/* Copied: the file need not align its notes. */
		memcpy(&n, f->data + off, sizeof(n));
		desc_off = name_off + ((n.n_namesz + 3ULL) & ~3ULL);
		next = desc_off + ((n.n_descsz + 3ULL) & ~3ULL);
		if (next > end)
			return -1;
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    !memcmp(f->data + name_off, "Xen", 4)) {
			uint64_t v = 0;

			if (n.n_descsz != 4 && n.n_descsz != 8)
				return -1;
			memcpy(&v, f->data + desc_off, n.n_descsz);
			*entry = v;
			return 1;
		}
		off = next;
	}
	return 0;
}

static int load_pvh(struct vm *vm, const struct boot_files *f,
		    uint64_t kernel_end, uint64_t pvh_entry,
		    struct boot_entry *entry)
{
	struct e820_map_entry map[E820_MAX_MAP];
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	struct hvm_memmap_table_entry mm[E820_MAX_MAP];
	const uint64_t modlist = BOOT_START_INFO_ADDR + 0x40;
	const uint64_t memmap = BOOT_START_INFO_ADDR + 0x80;
	int n = e820_build(&vm->mem, map, E820_MAX_MAP);

	if (n < 0) {
		pr_err("memory: too small for the boot structures");
		return -1;
	}
	memset(&si, 0, sizeof(si));
	si.magic = HVM_START_MAGIC;
	si.version = 1;
	si.cmdline_paddr = BOOT_CMDLINE_ADDR;
	si.memmap_paddr = memmap;
	si.memmap_entries = (uint32_t)n;
	si.rsdp_paddr = vm->arch->rsdp;
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < n; i++) {
		mm[i].addr = map[i].addr;
		mm[i].size = map[i].size;
		mm[i].type = map[i].type;
	}
	if (f->initrd.data) {
		memset(&mod, 0, sizeof(mod));
		if (boot_place_initrd(vm, &f->initrd, kernel_end,
				      MMIO_HOLE_START, &mod.paddr))
			return -1;
		mod.size = f->initrd.size;
		si.nr_modules = 1;
		si.modlist_paddr = modlist;
		if (gmem_write(&vm->mem, modlist, &mod, sizeof(mod)))
			return -1;
	}
	if (boot_write_cmdline(vm, f->cmdline, LINUX_COMMAND_LINE_SIZE) ||
	    gmem_write(&vm->mem, memmap, mm, n * sizeof(mm[0])) ||
	    gmem_write(&vm->mem, BOOT_START_INFO_ADDR, &si, sizeof(si)))
		return -1;
	entry->mode = BOOT_MODE_PVH;
	entry->entry = pvh_entry;
	entry->arg = BOOT_START_INFO_ADDR;
	return 0;
}

/* Without a PVH note: the 64-bit boot protocol with a minimal header. */
static int load_linux64(struct vm *vm, const struct boot_files *f,
			uint64_t kernel_end, uint64_t e_entry,
			struct boot_entry *entry)
{
	struct e820_map_entry map[E820_MAX_MAP];
	uint8_t fake[0x300];
	struct setup_header *h = (struct setup_header *)(fake + 0x1f1);
	struct boot_params *bp;
	uint64_t initrd_gpa = 0;
	int n = e820_build(&vm->mem, map, E820_MAX_MAP);

	bp = gpa_to_hva_rw(&vm->mem, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	if (n < 0 || !bp) {
		pr_err("memory: too small for the boot structures");
		return -1;
	}
	memset(fake, 0, sizeof(fake));
	fake[0x201] = (uint8_t)(sizeof(*h) - (0x202 - 0x1f1));
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020c;
	h->kernel_alignment = 0x01000000;
	h->cmdline_size = LINUX_COMMAND_LINE_SIZE - 1;
	if (f->initrd.data && boot_place_initrd(vm, &f->initrd, kernel_end,
						MMIO_HOLE_START, &initrd_gpa))
		return -1;
	if (boot_write_cmdline(vm, f->cmdline, LINUX_COMMAND_LINE_SIZE))
		return -1;
	linux_zero_page(bp, fake, map, n, BOOT_CMDLINE_ADDR, initrd_gpa,
			f->initrd.data ? f->initrd.size : 0);
	entry->mode = BOOT_MODE_LINUX64;
	entry->entry = e_entry;
	entry->arg = BOOT_ZERO_PAGE_ADDR;
	return 0;
}

int elf_load(struct vm *vm, const struct boot_files *f,
	     struct boot_entry *entry)
{
	const struct boot_file *k = &f->kernel;
	Elf64_Ehdr ehdr;
	const Elf64_Ehdr *eh = &ehdr;
	uint64_t kernel_end = 0, pvh_entry = 0;
	bool pvh = false;

	/* Headers are copied out: a hostile file need not align them. */
	if (k->size >= sizeof(ehdr))
		memcpy(&ehdr, k->data, sizeof(ehdr));
	if (k->size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
		pr_err("kernel %s: ELF file is not a 64-bit x86 kernel (and has no multiboot header)",
		       k->path);
		return -1;
	}
	if (eh->e_phentsize < sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    !in_file(k, eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize)) {
		pr_err("kernel %s: ELF program headers are missing or truncated",
		       k->path);
		return -1;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phdr;
		const Elf64_Phdr *ph = &phdr;

		memcpy(&phdr,
		       k->data + eh->e_phoff + (uint64_t)i * eh->e_phentsize,
		       sizeof(phdr));

		if (ph->p_type == PT_NOTE && !pvh) {
			int r = find_pvh_entry(k, ph, &pvh_entry);

			if (r < 0) {
				pr_err("kernel %s: malformed ELF note",
				       k->path);
				return -1;
			}
			pvh = r == 1;
		}
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if (!in_file(k, ph->p_offset, ph->p_filesz) ||
		    ph->p_filesz > ph->p_memsz) {
			pr_err("kernel %s: ELF segment %u is truncated",
			       k->path, i);
			return -1;
		}
		if (boot_copy(vm, k, ph->p_paddr, k->data + ph->p_offset,
			      ph->p_filesz, ph->p_memsz))
			return -1;
		if (ph->p_paddr + ph->p_memsz > kernel_end)
			kernel_end = ph->p_paddr + ph->p_memsz;
	}
	if (!kernel_end) {
		pr_err("kernel %s: ELF file has nothing to load", k->path);
		return -1;
	}
	if (pvh)
		return load_pvh(vm, f, kernel_end, pvh_entry, entry);
	return load_linux64(vm, f, kernel_end, eh->e_entry, entry);
}
