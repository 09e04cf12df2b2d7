// SPDX-License-Identifier: GPL-2.0-only
/*
 * rom.c - the firmware ROM at the top of the 32-bit hole: read-only guest
 * memory (KVM_MEM_READONLY) where a BIOS would be. vmon needs no firmware;
 * the ROM holds an identification string ("VMON-ROM <version>") that
 * guests and tests can read, and a reset vector that halts. Guest writes
 * exit to vmon and are dropped (vm_add_rom()).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../arch/x86/layout.h"
#include "../vmm/vm.h"
#include "devices.h"

int rom_create(struct vm *vm)
{
	static const uint8_t reset[] = { 0xf4, 0xeb, 0xfd }; /* hlt; jmp .-3 */
	/* Populated at once: page faults are costly here (vm.c). */
	uint8_t *img = mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int ret;

	if (img == MAP_FAILED)
		return -1;
	memset(img, 0xff, ROM_SIZE);
	memset(img, 0, 64);
	strncpy((char *)img, ROM_SIGNATURE " " VMON_VERSION, 63);
	memcpy(img + ROM_SIZE - 16, reset, sizeof(reset));
	ret = vm_add_rom(vm, ROM_ADDR, img, ROM_SIZE, "rom");
	munmap(img, ROM_SIZE);
	return ret;
}
