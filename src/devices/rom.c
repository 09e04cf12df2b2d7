// SPDX-License-Identifier: GPL-2.0-only
/*
 * rom.c - the firmware ROM at the top of the 32-bit hole: read-only guest
 * memory (KVM_MEM_READONLY) where a BIOS would be. vmon needs no firmware;
 * the ROM holds an identification string ("VMON-ROM <version>") that
 * guests and tests can read, and a reset vector that halts. Guest writes
 * exit to vmon and are dropped (vm_add_rom()).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../arch/x86/layout.h"
#include "../vmm/vm.h"
#include "devices.h"

int rom_create(struct vm *vm)
{
	static const uint8_t reset[] = { 0xf4, 0xeb, 0xfd }; /* hlt; jmp .-3 */
	uint64_t gpa, size;
	/* Built in the window itself when it is free (no copy), else here. */
	uint8_t *win = vm_rom_window(vm, &gpa, &size);
	bool in_place = win && gpa == ROM_ADDR && size == ROM_SIZE;
	uint8_t *img = in_place ? win :
				  mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (img == MAP_FAILED)
		return -1;
	memset(img, 0xff, ROM_SIZE);
	memset(img, 0, 64);
	strncpy((char *)img, ROM_SIGNATURE " " VMON_VERSION, 63);
	memcpy(img + ROM_SIZE - 16, reset, sizeof(reset));
	ret = vm_add_rom(vm, ROM_ADDR, img, ROM_SIZE, "rom");
	if (!in_place)
		munmap(img, ROM_SIZE);
	return ret;
}
