// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce.c - guest test: the machine-check architecture is QEMU's PC one.
 * CPUID shows MCE and MCA, and MCG_CAP has 10 banks with MCG_CTL_P and
 * MCG_SER_P (KVM's own default would be 32 banks); the bank registers
 * of the last bank are there and the one after it is not counted.
 * vmon gives MCG_SER_P only where the host's KVM supports it, and KVM on
 * AMD SVM drops it: "mce.ser=0" on the command line expects it absent.
 */
#include "rt.h"

#define MSR_MCG_CAP 0x179
#define MCG_CTL_P (1ULL << 8)
#define MCG_SER_P (1ULL << 24)

int main(void)
{
	uint32_t a = 1, b, c = 0, d;
	uint64_t cap;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	check((d & (1U << 7)) && (d & (1U << 14)),
	      "CPUID.1:EDX has MCE and MCA (0x%x)", d);
	cap = rdmsr(MSR_MCG_CAP);
	check((cap & 0xff) == 10, "MCG_CAP has 10 banks, as QEMU: 0x%lx", cap);
	check((cap & MCG_CTL_P) != 0, "MCG_CAP has MCG_CTL_P: 0x%lx", cap);
	if (cmdline_has("mce.ser=0"))
		check(!(cap & MCG_SER_P),
		      "MCG_CAP has no MCG_SER_P (nor has the host's KVM): 0x%lx",
		      cap);
	else
		check((cap & MCG_SER_P) != 0, "MCG_CAP has MCG_SER_P: 0x%lx",
		      cap);
	return 0;
}
