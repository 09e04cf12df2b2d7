// SPDX-License-Identifier: GPL-2.0-only
/*
 * emul_fail.c - guest test: an instruction in ring 0 that a PVM host's
 * instruction emulator cannot run (`lock cmpxchg16b`, as Linux's SLUB
 * uses it). On a PVM host KVM stops the vCPU with an emulation failure and
 * vmon must end with its report (exit 10, the instruction bytes, a hint);
 * on a VMX/SVM host the instruction simply runs and the program passes.
 * The program prints the RIP of the instruction first.
 */
#include "rt.h"

extern char emul_insn[];

int main(void)
{
	static uint64_t pair[2] __attribute__((aligned(16))) = { 1, 2 };
	uint64_t lo = 1, hi = 2;

	printf("unemulated instruction at rip=0x%lx\n", (uint64_t)emul_insn);
	/* Compare RDX:RAX with the pair, store RCX:RBX if equal. */
	asm volatile("movabs $0x00c0ffee00c0ffee, %%r8\n\t"
		     ".globl emul_insn\n"
		     "emul_insn:\n\t"
		     "lock cmpxchg16b %0"
		     : "+m"(pair), "+a"(lo), "+d"(hi)
		     : "b"(3ULL), "c"(4ULL)
		     : "r8", "memory", "cc");
	check(pair[0] == 3 && pair[1] == 4, "cmpxchg16b ran (no PVM emulator)");
	return 0;
}
