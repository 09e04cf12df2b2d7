// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot.c - kernel format detection and the parts every loader shares:
 * mapping the files, placing the initrd and command line, MP table.
 */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/log.h"
#include "../../vmm/vm.h"
#include "acpi.h"
#include "layout.h"
#include "mptable.h"

static int map_file(const char *what, const char *path, struct boot_file *f)
{
	struct stat st;
	int fd;

	f->what = what;
	f->path = path;
	/* Non-blocking: a FIFO is refused below instead of hanging here. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_err("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		pr_err("%s %s: %s", what, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		pr_err("%s %s: file is empty", what, path);
		close(fd);
		return -1;
	}
	f->size = (size_t)st.st_size;
	f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED) {
		pr_err("%s %s: %s", what, path, strerror(errno));
		f->data = NULL;
		return -1;
	}
	return 0;
}

static void unmap_file(struct boot_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

#define COPY_CHUNK (2ULL << 20)

static uint64_t mib_up(uint64_t v)
{
	return (v + (1 << 20) - 1) >> 20;
}

int boot_copy(struct vm *vm, const struct boot_file *f, uint64_t gpa,
	      const void *src, uint64_t len, uint64_t memsz)
{
	uint8_t *dst;

	if (len > memsz || gpa + memsz < gpa)
		return -1;
	dst = gpa_to_hva_rw(&vm->mem, gpa, memsz);
	if (!dst) {
		pr_err("%s %s: needs guest memory up to %llu MiB, the VM has %llu MiB",
		       f->what, f->path,
		       (unsigned long long)mib_up(gpa + memsz),
		       (unsigned long long)(vm->mem.ram_size >> 20));
		return -1;
	}
	/*
	 * Copy in chunks and drop each chunk of the file mapping right after:
	 * the kernel's pages then count once (in guest RAM), not twice, in
	 * vmon's resident memory.
	 */
	for (uint64_t off = 0; off < len;) {
		uint64_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
		const uint8_t *from = (const uint8_t *)src + off;
		/* Whole pages of the source chunk, rounded down. */
		uint8_t *a = (uint8_t *)from - ((uintptr_t)from & 4095);
		uint8_t *b =
			(uint8_t *)from + n - ((uintptr_t)(from + n) & 4095);

		memcpy(dst + off, from, n);
		if (b > a)
			madvise(a, (size_t)(b - a), MADV_DONTNEED);
		off += n;
	}
	memset(dst + len, 0, memsz - len);
	return 0;
}

int boot_place_initrd(struct vm *vm, const struct boot_file *initrd,
		      uint64_t min_addr, uint64_t max_end, uint64_t *gpa)
{
	uint64_t top = gmem_low_ram_end(&vm->mem);
	uint64_t addr;

	if (max_end < top)
		top = max_end;
	if (initrd->size > top ||
	    ((top - initrd->size) & ~0xfffULL) < min_addr) {
		pr_err("initrd %s: %llu MiB does not fit in guest memory above the kernel (memory %llu MiB)",
		       initrd->path, (unsigned long long)mib_up(initrd->size),
		       (unsigned long long)(vm->mem.ram_size >> 20));
		return -1;
	}
	addr = (top - initrd->size) & ~0xfffULL;
	if (boot_copy(vm, initrd, addr, initrd->data, initrd->size,
		      initrd->size))
		return -1;
	*gpa = addr;
	return 0;
}

int boot_write_cmdline(struct vm *vm, const char *cmdline, size_t max)
{
	size_t len = strlen(cmdline) + 1;

	if (max > BOOT_CMDLINE_MAX)
		max = BOOT_CMDLINE_MAX;
	if (len > max) {
		pr_err("kernel command line: %zu bytes, the kernel accepts at most %zu",
		       len - 1, max - 1);
		return -1;
	}
	return gmem_write(&vm->mem, BOOT_CMDLINE_ADDR, cmdline, len);
}

static int write_mptable(struct vm *vm)
{
	size_t size = mptable_size(vm->nr_vcpus);
	uint8_t *p = gpa_to_hva_rw(&vm->mem, BIOS_START, size);

	/* With ACPI, IRQ 0 reaches pin 2 (acpi_irq_routing()). */
	if (!p || mptable_build_irq0(p, size, BIOS_START, vm->nr_vcpus,
				     vm->cfg->acpi ? 2 : 0) < 0) {
		pr_err("MP table for %u vCPUs does not fit", vm->nr_vcpus);
		return -1;
	}
	return 0;
}

int arch_load_kernel(struct vm *vm, const char *kernel, const char *initrd,
		     const char *cmdline, struct boot_entry *entry)
{
	struct boot_files f;
	int ret = -1;

	memset(&f, 0, sizeof(f));
	f.cmdline = cmdline;
	if (map_file("kernel", kernel, &f.kernel))
		return -1;
	if (write_mptable(vm) || acpi_write_tables(vm))
		goto out;
	/* Before the ELF check: multiboot kernels are often ELF32 files. */
	if (multiboot_detect(f.kernel.data, f.kernel.size)) {
		ret = multiboot_load(vm, &f, initrd, entry);
		goto out;
	}
	if (initrd && map_file("initrd", initrd, &f.initrd))
		goto out;
	if (bzimage_detect(f.kernel.data, f.kernel.size))
		ret = bzimage_load(vm, &f, entry);
	else if (elf_detect(f.kernel.data, f.kernel.size))
		ret = elf_load(vm, &f, entry);
	else
		pr_err("kernel %s: not a kernel vmon can boot (bzImage, ELF vmlinux or multiboot)",
		       kernel);
out:
	unmap_file(&f.initrd);
	unmap_file(&f.kernel);
	return ret;
}
