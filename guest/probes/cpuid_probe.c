// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid_probe.c - prints the CPUID the guest reads (the boot CPU, kernel
 * mode, and leaf 1 ECX again from user mode), one line per leaf:
 * "cpuid LEAF.SUB eax=... ebx=... ecx=... edx=...", and IA32_MISC_ENABLE
 * (MSR 0x1a0, "msr 1a0=..."), then exits 0. The
 * host side (integration/fc_machine) checks SMT topology and cpu-config.
 */
#include "rt.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	r[0] = leaf;
	r[2] = sub;
	asm volatile("cpuid" : "+a"(r[0]), "=b"(r[1]), "+c"(r[2]), "=d"(r[3]));
}

static uint64_t user_leaf1_ecx(uint64_t unused)
{
	uint32_t r[4];

	(void)unused;
	cpuid(1, 0, r);
	return r[2];
}

int main(void)
{
	static const uint32_t leaves[][2] = {
		{ 1, 0 }, { 4, 0 }, { 4, 3 }, { 7, 0 }, { 0xb, 0 }, { 0xb, 1 },
	};

	for (unsigned int i = 0; i < sizeof(leaves) / sizeof(*leaves); i++) {
		uint32_t r[4];

		cpuid(leaves[i][0], leaves[i][1], r);
		printf("cpuid %x.%x eax=%08x ebx=%08x ecx=%08x edx=%08x\n",
		       leaves[i][0], leaves[i][1], r[0], r[1], r[2], r[3]);
	}
	printf("msr 1a0=%016llx\n", (unsigned long long)rdmsr(0x1a0));
	printf("ucpuid 1.0 ecx=%08x\n",
	       (uint32_t)rt_user_call(user_leaf1_ecx, 0));
	rt_puts("cpuid probe done\n");
	rt_exit(0);
}
