// SPDX-License-Identifier: GPL-2.0-only
/*
 * rom.c - the firmware ROM at the top of the 32-bit hole: read-only guest
 * memory (KVM_MEM_READONLY) where a BIOS would be. Without firmware the
 * ROM holds an identification string ("VMON-ROM <version>") that guests
 * and tests can read, and a reset vector that halts. With a BIOS image
 * (vm_config.firmware, no kernel: docs/firmware.md) the image ends at
 * 4 GiB, so its reset vector is the CPU's, and its last 256 KiB are also
 * copied to RAM below 1 MiB (0xc0000-0xfffff, bios-256k.bin's code starts
 * below 0xe0000), the ISA BIOS area, writable as QEMU's
 * microvm has it (SeaBIOS keeps its variables there and, without an
 * i440FX or Q35 to unlock shadow RAM, expects it writable), and the
 * firmware gets its debug port (fw_debug.c). Guest writes
 * to the ROM exit to vmon and are dropped (vm_add_rom()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../arch/x86/layout.h"
#include "../util/log.h"
#include "../vmm/vm.h"
#include "devices.h"

#define FW_UNIT 0x10000ULL /* a BIOS image is a multiple of 64 KiB */
#define ISA_BIOS_END 0x100000ULL
#define ISA_BIOS_SIZE 0x40000ULL

/* Opens @path and checks its size; the fd, or -1 (logged). */
static int open_firmware(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_err("firmware %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("firmware %s: not a regular file", path);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	if (!*size || *size % FW_UNIT || *size > ROM_SIZE) {
		pr_err("firmware %s: %llu bytes is not a BIOS image (a multiple of 64 KiB, at most %llu KiB: the ROM window)",
		       path, (unsigned long long)*size,
		       (unsigned long long)(ROM_SIZE >> 10));
		close(fd);
		return -1;
	}
	return fd;
}

int rom_check_firmware(const char *path)
{
	uint64_t size;
	int fd = open_firmware(path, &size);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Reads the BIOS to the top of @img and its ISA part into RAM. */
static int load_firmware(struct vm *vm, const char *path, uint8_t *img)
{
	uint64_t size, isa;
	uint8_t *at;
	int fd = open_firmware(path, &size);
	ssize_t n = -1;

	if (fd < 0)
		return -1;
	at = img + ROM_SIZE - size;
	for (uint64_t done = 0; done < size; done += (uint64_t)n) {
		n = read(fd, at + done, size - done);
		if (n <= 0)
			break;
	}
	close(fd);
	if (n <= 0) {
		pr_err("firmware %s: cannot read it", path);
		return -1;
	}
	isa = size < ISA_BIOS_SIZE ? size : ISA_BIOS_SIZE;
	if (gmem_write(&vm->mem, ISA_BIOS_END - isa, img + ROM_SIZE - isa,
		       isa)) {
		pr_err("firmware %s: no RAM for the ISA BIOS area", path);
		return -1;
	}
	pr_info("firmware %s: %llu KiB at 0x%llx", path,
		(unsigned long long)(size >> 10),
		(unsigned long long)(ROM_ADDR + ROM_SIZE - size));
	return 0;
}

/*
 * The ROM without firmware: the signature and version, 0xff, and a reset
 * vector that halts. Constant and page-aligned: the ROM window maps these
 * pages of the binary (rom_shared_image()), shared between instances.
 */
#define ROM_SIG_SIZE 64
#define ROM_RESET_SIZE 16
static const struct {
	char sig[ROM_SIG_SIZE];
	uint8_t fill[ROM_SIZE - ROM_SIG_SIZE - ROM_RESET_SIZE];
	uint8_t reset[ROM_RESET_SIZE];
} default_rom __attribute__((aligned(4096))) = {
	.sig = ROM_SIGNATURE " " VMON_VERSION,
	.fill = { [0 ... ROM_SIZE - ROM_SIG_SIZE - ROM_RESET_SIZE - 1] = 0xff },
	.reset = { 0xf4, 0xeb, 0xfd, [3 ... ROM_RESET_SIZE - 1] = 0xff },
};
_Static_assert(sizeof(default_rom) == ROM_SIZE, "the ROM image's size");
_Static_assert(sizeof(ROM_SIGNATURE " " VMON_VERSION) < ROM_SIG_SIZE,
	       "the ROM signature ends with a NUL");

static bool has_firmware(const struct vm_config *cfg)
{
	return cfg && cfg->firmware && !cfg->kernel;
}

const uint8_t *rom_shared_image(const struct vm_config *cfg, uint64_t gpa,
				uint64_t size)
{
	if (has_firmware(cfg) || gpa != ROM_ADDR || size != ROM_SIZE)
		return NULL;
	return (const uint8_t *)&default_rom;
}

int rom_create(struct vm *vm)
{
	uint64_t gpa, size;
	/* Built in the window itself when it is free (no copy), else here. */
	uint8_t *win = vm_rom_window(vm, &gpa, &size);
	bool in_place = win && gpa == ROM_ADDR && size == ROM_SIZE;
	uint8_t *img;
	int ret;

	if (in_place && win == rom_shared_image(vm->cfg, gpa, size))
		return vm_add_rom(vm, ROM_ADDR, win, ROM_SIZE, "rom");
	img = in_place ? win :
			 mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (img == MAP_FAILED)
		return -1;
	if (has_firmware(vm->cfg)) {
		memset(img, 0xff, ROM_SIZE);
		if (load_firmware(vm, vm->cfg->firmware, img) ||
		    fw_debug_create(vm)) {
			if (!in_place)
				munmap(img, ROM_SIZE);
			return -1;
		}
	} else {
		memcpy(img, &default_rom, ROM_SIZE);
	}
	ret = vm_add_rom(vm, ROM_ADDR, img, ROM_SIZE, "rom");
	if (!in_place)
		munmap(img, ROM_SIZE);
	return ret;
}
