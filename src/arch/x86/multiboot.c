// SPDX-License-Identifier: GPL-2.0-only
/*
 * multiboot.c - the Multiboot (version 1) boot protocol, as QEMU's loader
 * implements it: the header in the first 8 KiB of the file; with flag 16
 * its address fields say what to load where, else the file must be ELF32
 * and its PT_LOAD segments are loaded at their physical addresses (bss
 * zeroed). The command line is "<kernel path> <--cmdline>", the --initrd
 * files (a comma-separated list, each "PATH [ARGS]") become modules placed
 * page-aligned after the kernel, and the information structure carries
 * mem_lower/mem_upper, the memory map and the boot loader name. Entry in
 * 32-bit protected mode, paging off, EAX = 0x2badb002, EBX = the info.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/log.h"
#include "../../vmm/vm.h"
#include "boot.h"
#include "layout.h"

#define MB_HEADER_MAGIC 0x1badb002U
#define MB_BOOT_MAGIC 0x2badb002U
#define MB_SEARCH 8192
#define MB_FLAG_PAGE_ALIGN (1U << 0)
#define MB_FLAG_MEMORY (1U << 1)
#define MB_FLAG_VIDEO (1U << 2)
#define MB_FLAG_AOUT (1U << 16)
#define MB_FLAGS_KNOWN (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY | MB_FLAG_VIDEO)

#define MBI_MEMORY (1U << 0)
#define MBI_CMDLINE (1U << 2)
#define MBI_MODS (1U << 3)
#define MBI_MMAP (1U << 6)
#define MBI_LOADER_NAME (1U << 9)

/* The information area, in low RAM below the AP trampoline page. */
#define MB_INFO_ADDR BOOT_START_INFO_ADDR /* 0x6000 */
#define MB_MMAP_ADDR (MB_INFO_ADDR + 0x80)
#define MB_MODS_ADDR (MB_INFO_ADDR + 0x200)
#define MB_NAME_ADDR (MB_INFO_ADDR + 0x300)
#define MB_STRINGS_ADDR (MB_INFO_ADDR + 0x400)
#define MB_INFO_END (MB_INFO_ADDR + 0x2000)
#define MB_MAX_MODS 16

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
	uint8_t framebuffer[28];
} __attribute__((packed));

struct mb_mmap_entry {
	uint32_t size; /* of the rest: 20 */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

/* Returns the header's file offset, or -1 if there is none. */
static long find_header(const uint8_t *img, size_t size)
{
	size_t end = size < MB_SEARCH ? size : MB_SEARCH;

	for (size_t off = 0; off + 12 <= end; off += 4) {
		uint32_t w[3];

		memcpy(w, img + off, sizeof(w));
		if (w[0] == MB_HEADER_MAGIC && w[0] + w[1] + w[2] == 0)
			return (long)off;
	}
	return -1;
}

static bool is_elf32(const uint8_t *img, size_t size)
{
	return size >= EI_NIDENT && !memcmp(img, ELFMAG, SELFMAG) &&
	       img[EI_CLASS] == ELFCLASS32;
}

bool multiboot_detect(const uint8_t *img, size_t size)
{
	long off = find_header(img, size);
	struct mb_header h;

	if (off < 0)
		return false;
	memset(&h, 0, sizeof(h));
	memcpy(&h, img + off,
	       size - (size_t)off < sizeof(h) ? size - (size_t)off : sizeof(h));
	/*
	 * An ELF64 file without the address fields boots as ELF (PVH):
	 * vmon's guest programs carry both a multiboot header and the note.
	 */
	return (h.flags & MB_FLAG_AOUT) || is_elf32(img, size) ||
	       size < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Copies one piece of the kernel, refusing vmon's own boot areas. */
static int load_piece(struct vm *vm, const struct boot_file *k, uint64_t gpa,
		      const uint8_t *src, uint64_t len, uint64_t memsz,
		      uint64_t *end)
{
	if (gpa + memsz < gpa || gpa + memsz > UINT32_MAX ||
	    overlaps(gpa, memsz, MB_INFO_ADDR, MB_INFO_END - MB_INFO_ADDR) ||
	    overlaps(gpa, memsz, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX)) {
		pr_err("kernel %s: multiboot image at 0x%llx+0x%llx overlaps vmon's boot information (0x%llx-0x%llx, 0x%llx-0x%llx) or leaves 4 GiB",
		       k->path, (unsigned long long)gpa,
		       (unsigned long long)memsz,
		       (unsigned long long)MB_INFO_ADDR,
		       (unsigned long long)MB_INFO_END,
		       (unsigned long long)BOOT_CMDLINE_ADDR,
		       (unsigned long long)(BOOT_CMDLINE_ADDR +
					    BOOT_CMDLINE_MAX));
		return -1;
	}
	if (boot_copy(vm, k, gpa, src, len, memsz))
		return -1;
	if (gpa + memsz > *end)
		*end = gpa + memsz;
	return 0;
}

static int load_aout(struct vm *vm, const struct boot_file *k, long hoff,
		     const struct mb_header *h, uint64_t *end, uint32_t *entry)
{
	uint64_t off, len, memsz;

	if ((size_t)hoff + sizeof(*h) > k->size ||
	    h->header_addr < h->load_addr ||
	    h->header_addr - h->load_addr > (uint64_t)hoff) {
		pr_err("kernel %s: multiboot header addresses are inconsistent",
		       k->path);
		return -1;
	}
	off = (uint64_t)hoff - (h->header_addr - h->load_addr);
	if (h->load_end_addr == 0) {
		len = k->size - off;
	} else if (h->load_end_addr < h->load_addr ||
		   h->load_end_addr - h->load_addr > k->size - off) {
		pr_err("kernel %s: multiboot load_end_addr 0x%x is outside the file",
		       k->path, h->load_end_addr);
		return -1;
	} else {
		len = h->load_end_addr - h->load_addr;
	}
	memsz = len;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + len) {
			pr_err("kernel %s: multiboot bss_end_addr 0x%x is below the image",
			       k->path, h->bss_end_addr);
			return -1;
		}
		memsz = h->bss_end_addr - h->load_addr;
	}
	*entry = h->entry_addr;
	return load_piece(vm, k, h->load_addr, k->data + off, len, memsz, end);
}

static int load_elf32(struct vm *vm, const struct boot_file *k, uint64_t *end,
		      uint32_t *entry)
{
	const Elf32_Ehdr *eh = (const void *)k->data;
	bool entry_found = false;

	if (k->size < sizeof(*eh) || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_386 || eh->e_phentsize < sizeof(Elf32_Phdr) ||
	    eh->e_phnum == 0 ||
	    (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize >
		    k->size) {
		pr_err("kernel %s: not a loadable 32-bit x86 ELF file (multiboot)",
		       k->path);
		return -1;
	}
	*entry = eh->e_entry;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *ph =
			(const void *)(k->data + eh->e_phoff +
				       (uint64_t)i * eh->e_phentsize);

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if ((uint64_t)ph->p_offset + ph->p_filesz > k->size ||
		    ph->p_filesz > ph->p_memsz) {
			pr_err("kernel %s: ELF segment %u is truncated",
			       k->path, i);
			return -1;
		}
		if (load_piece(vm, k, ph->p_paddr, k->data + ph->p_offset,
			       ph->p_filesz, ph->p_memsz, end))
			return -1;
		/* A virtual entry point becomes physical via its segment. */
		if (!entry_found && eh->e_entry >= ph->p_vaddr &&
		    eh->e_entry - ph->p_vaddr < ph->p_memsz) {
			*entry = eh->e_entry - ph->p_vaddr + ph->p_paddr;
			entry_found = true;
		}
	}
	if (!*end) {
		pr_err("kernel %s: ELF file has nothing to load", k->path);
		return -1;
	}
	return 0;
}

/* Writes a string into the info area; returns its address or 0. */
static uint32_t put_string(struct vm *vm, uint64_t *next, const char *s,
			   size_t len)
{
	uint64_t at = *next;

	if (len + 1 > MB_INFO_END - at)
		return 0;
	if (gmem_write(&vm->mem, at, s, len) ||
	    gmem_write(&vm->mem, at + len, "", 1))
		return 0;
	*next = at + len + 1;
	return (uint32_t)at;
}

/* Loads one module "PATH [ARGS]" page-aligned at *end. */
static int load_module(struct vm *vm, const char *spec, uint64_t *end,
		       uint64_t *strings, struct mb_module *mod)
{
	struct boot_file f = { .what = "initrd" };
	char *path = strndup(spec, strcspn(spec, " "));
	uint64_t at = (*end + 0xfff) & ~0xfffULL;
	uint64_t top = gmem_low_ram_end(&vm->mem);
	struct stat st;
	int fd = -1, ret = -1;

	if (!path)
		return -1;
	f.path = path;
	/* Non-blocking: a FIFO is refused below instead of hanging here. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st)) {
		pr_err("initrd %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("initrd %s: not a regular file", path);
		goto out;
	}
	f.size = (size_t)st.st_size;
	if (at > top || f.size > top - at) {
		pr_err("initrd %s: multiboot module does not fit in guest RAM below %llu MiB",
		       path, (unsigned long long)(top >> 20));
		goto out;
	}
	if (f.size) {
		f.data = mmap(NULL, f.size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f.data == MAP_FAILED) {
			pr_err("initrd %s: %s", path, strerror(errno));
			goto out;
		}
		ret = boot_copy(vm, &f, at, f.data, f.size, f.size);
		munmap((void *)f.data, f.size);
		if (ret)
			goto out;
		ret = -1;
	}
	mod->mod_start = (uint32_t)at;
	mod->mod_end = (uint32_t)(at + f.size);
	mod->string = put_string(vm, strings, spec, strlen(spec));
	if (!mod->string) {
		pr_err("multiboot modules: the module names are too long");
		goto out;
	}
	*end = at + f.size;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* --initrd "PATH [ARGS][,PATH [ARGS]...]": QEMU's module list syntax. */
static int load_modules(struct vm *vm, const char *list, uint64_t *end,
			struct mb_info *mbi)
{
	struct mb_module mods[MB_MAX_MODS];
	uint64_t strings = MB_STRINGS_ADDR;
	unsigned int n = 0;

	memset(mods, 0, sizeof(mods));
	for (const char *p = list; p; n++) {
		const char *comma = strchr(p, ',');
		char *spec = comma ? strndup(p, (size_t)(comma - p)) :
				     strdup(p);
		int r;

		if (!spec)
			return -1;
		if (n == MB_MAX_MODS) {
			pr_err("multiboot modules: more than %d", MB_MAX_MODS);
			free(spec);
			return -1;
		}
		r = load_module(vm, spec, end, &strings, &mods[n]);
		free(spec);
		if (r)
			return -1;
		p = comma ? comma + 1 : NULL;
	}
	if (gmem_write(&vm->mem, MB_MODS_ADDR, mods, n * sizeof(mods[0])))
		return -1;
	mbi->flags |= MBI_MODS;
	mbi->mods_count = n;
	mbi->mods_addr = MB_MODS_ADDR;
	return 0;
}

static int write_info(struct vm *vm, const struct boot_files *f,
		      const char *initrd, uint64_t end)
{
	struct e820_map_entry map[E820_MAX_MAP];
	struct mb_mmap_entry mm[E820_MAX_MAP];
	static const char name[] = "vmon " VMON_VERSION;
	const struct vm_config *cfg = vm->cfg;
	const char *args = cfg->cmdline ? cfg->cmdline : "";
	size_t len = strlen(f->kernel.path) + 1 + strlen(args) + 1;
	struct mb_info mbi;
	char *cmdline;
	int n = e820_build(&vm->mem, map, E820_MAX_MAP), ret;

	if (n < 0) {
		pr_err("memory: too small for the boot structures");
		return -1;
	}
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
	/* Conventional memory below the EBDA, and RAM from 1 MiB on. */
	mbi.mem_lower = (uint32_t)(map[0].size >> 10);
	mbi.mem_upper =
		(uint32_t)((gmem_low_ram_end(&vm->mem) - BIOS_END) >> 10);
	for (int i = 0; i < n; i++)
		mm[i] = (struct mb_mmap_entry){ 20, map[i].addr, map[i].size,
						map[i].type };
	mbi.mmap_addr = MB_MMAP_ADDR;
	mbi.mmap_length = (uint32_t)(n * sizeof(mm[0]));
	mbi.boot_loader_name = MB_NAME_ADDR;
	mbi.cmdline = BOOT_CMDLINE_ADDR;
	if (initrd && load_modules(vm, initrd, &end, &mbi))
		return -1;
	/* As QEMU: the kernel's path, a space, then the user's command line. */
	cmdline = malloc(len);
	if (!cmdline)
		return -1;
	snprintf(cmdline, len, "%s %s", f->kernel.path, args);
	ret = boot_write_cmdline(vm, cmdline, BOOT_CMDLINE_MAX);
	free(cmdline);
	/*
	 * The guest's command line is the user's text: no Linux defaults,
	 * no CPU-template additions (fw_cfg reports this one too).
	 */
	cmdline = strdup(args);
	if (!cmdline)
		return -1;
	free(vm->cmdline);
	vm->cmdline = cmdline;
	if (ret || gmem_write(&vm->mem, MB_MMAP_ADDR, mm, mbi.mmap_length) ||
	    gmem_write(&vm->mem, MB_NAME_ADDR, name, sizeof(name)) ||
	    gmem_write(&vm->mem, MB_INFO_ADDR, &mbi, sizeof(mbi)))
		return -1;
	return 0;
}

int multiboot_load(struct vm *vm, const struct boot_files *f,
		   const char *initrd, struct boot_entry *entry)
{
	const struct boot_file *k = &f->kernel;
	long hoff = find_header(k->data, k->size);
	struct mb_header h;
	uint64_t end = 0;
	uint32_t entry_addr = 0;

	memset(&h, 0, sizeof(h));
	memcpy(&h, k->data + hoff,
	       k->size - (size_t)hoff < sizeof(h) ? k->size - (size_t)hoff :
						    sizeof(h));
	if (h.flags & 0xffff & ~MB_FLAGS_KNOWN) {
		pr_err("kernel %s: multiboot header requires features vmon lacks (flags 0x%x)",
		       k->path, h.flags);
		return -1;
	}
	if (h.flags & MB_FLAG_AOUT) {
		if (load_aout(vm, k, hoff, &h, &end, &entry_addr))
			return -1;
	} else if (!is_elf32(k->data, k->size)) {
		pr_err("kernel %s: multiboot header has no address fields (flag 16) and the file is not ELF32",
		       k->path);
		return -1;
	} else if (load_elf32(vm, k, &end, &entry_addr)) {
		return -1;
	}
	if (write_info(vm, f, initrd, end))
		return -1;
	entry->mode = BOOT_MODE_MULTIBOOT;
	entry->entry = entry_addr;
	entry->arg = MB_INFO_ADDR;
	return 0;
}
