// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_loader.c - libFuzzer target for the kernel loaders: a hostile
 * kernel file given to `--kernel` goes through the format detection and
 * the loader that claims it (multiboot v1, the bzImage boot protocol, ELF
 * with or without a PVH note), into a VM of 32 MiB. A loader must refuse
 * what does not fit (segments beyond RAM, headers beyond the file, sizes
 * that overflow) with a message, never write outside guest RAM or read
 * outside the file. The file is mapped from a memfd as vmon maps a kernel
 * (the loaders drop the pages they copied, which a heap copy would not
 * survive), so a read past its end faults at the page after it. Guest
 * RAM is populated once and kept from one input to the next: the loaders
 * only write it (each structure is zeroed or copied whole before use), so
 * what an earlier input left there changes nothing, and an input that
 * zeroes a 32 MiB segment costs a memset instead of 8,192 page faults
 * (dropping RAM after each input held the target to about 750 inputs a
 * second).
 *
 * Input: [0] bit 0: a command line is given, bit 1: an initrd (the input
 * itself, as the user may pass any file) for bzImage and ELF; then the
 * kernel file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/x86.h"
#include "config/config.h"
#include "util/log.h"
#include "vmm/vm.h"

#define RAM_SIZE (32u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm *vm;
static uint8_t *ram;
static int memfd = -1;

static void setup(void)
{
	static struct vm_config cfg = { .cmdline = "console=ttyS0" };
	static struct vm v;

	log_level = LOG_ERROR;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ram == MAP_FAILED)
		abort();
	vm = &v;
	vm->fd = -1;
	vm->cfg = &cfg;
	vm->nr_vcpus = 1;
	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		abort();
	gmem_add_region(&vm->mem, 0, RAM_SIZE, ram, false, "ram");
	vm->mem.ram_size = RAM_SIZE;
	memfd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
}

/* The kernel file: @data in a fresh memfd, mapped private and read-only. */
static uint8_t *map_kernel(const uint8_t *data, size_t size)
{
	void *p;

	if (ftruncate(memfd, 0) || ftruncate(memfd, (off_t)size) ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, memfd, 0);
	if (p == MAP_FAILED)
		abort();
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_files f;
	struct boot_entry entry;
	uint8_t *img;

	if (size < 2)
		return 0;
	if (!vm)
		setup();
	img = map_kernel(data + 1, size - 1);
	memset(&f, 0, sizeof(f));
	f.kernel = (struct boot_file){ "kernel", "fuzz-kernel", img, size - 1 };
	if (data[0] & 2)
		f.initrd = (struct boot_file){ "initrd", "fuzz-initrd", img,
					       size - 1 };
	f.cmdline = data[0] & 1 ? "console=ttyS0 root=/dev/vda" : "";
	if (multiboot_detect(img, size - 1))
		(void)multiboot_load(vm, &f, NULL, &entry);
	else if (bzimage_detect(img, size - 1))
		(void)bzimage_load(vm, &f, &entry);
	else if (elf_detect(img, size - 1))
		(void)elf_load(vm, &f, &entry);
	munmap(img, size - 1);
	free(vm->cmdline);
	vm->cmdline = NULL;
	return 0;
}
