// SPDX-License-Identifier: GPL-2.0-only
/*
 * rom.c - guest test 8: the firmware ROM at 0xfffc0000 (KVM_MEM_READONLY)
 * reads as vmon filled it; writes of every width, from ring 0 and from
 * ring 3, become MMIO exits that vmon drops, and the contents stay.
 */
#include "rt.h"

#define ROM 0xfffc0000UL
#define ROM_SIZE 0x40000UL
#define RESET_VECTOR 0xfffffff0UL

static uint64_t user_write(uint64_t addr)
{
	*(volatile uint32_t *)addr = 0x11223344;
	return *(volatile uint32_t *)addr;
}

int main(void)
{
	const char *sig = (const char *)ROM;
	uint64_t before = mmio_read64(ROM), mid = mmio_read64(ROM + 0x1000);
	uint64_t v;

	printf("rom id: %s\n", sig);
	check(!strncmp(sig, "VMON-ROM ", 9), "ROM starts with its signature");
	check(mmio_read8(RESET_VECTOR) == 0xf4 &&
		      mmio_read16(RESET_VECTOR + 1) == 0xfdeb,
	      "reset vector holds hlt; jmp");
	check(mid == ~0ULL, "unused ROM reads 0xff: 0x%lx", mid);

	mmio_write8(ROM, 0);
	mmio_write16(ROM + 2, 0);
	mmio_write32(ROM + 4, 0);
	mmio_write64(ROM + 0x1000, 0);
	mmio_write64(RESET_VECTOR, 0);
	check(mmio_read64(ROM) == before,
	      "ROM unchanged after 1/2/4-byte writes: 0x%lx", mmio_read64(ROM));
	check(mmio_read64(ROM + 0x1000) == mid,
	      "ROM unchanged after an 8-byte write");
	check(mmio_read8(RESET_VECTOR) == 0xf4, "reset vector unchanged");
	v = rt_user_call(user_write, ROM + 0x2000);
	check(v == 0xffffffff, "ring-3 write to ROM dropped, reads 0x%lx", v);
	check(!strncmp(sig, "VMON-ROM ", 9), "signature intact at the end");
	return 0;
}
