// SPDX-License-Identifier: GPL-2.0-only
/*
 * triple_fault.c - guest test 7a: with an empty IDT, a general-protection
 * fault (a load from a non-canonical address) in ring 0 cannot be
 * delivered, nor can the double fault: the CPU shuts down. vmon must exit
 * with EXIT_TRIPLE_FAULT (8) and print its register report. The program
 * prints the faulting RIP and the RBX it set, for the host to compare.
 */
#include "rt.h"

extern char fault_insn[];

int main(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	printf("faulting rip=0x%lx rbx=0x8000000000000000\n",
	       (uint64_t)fault_insn);
	asm volatile("lidt %0\n\t"
		     "movabs $0x8000000000000000, %%rbx\n\t"
		     ".globl fault_insn\n"
		     "fault_insn:\n\t"
		     "movq (%%rbx), %%rax"
		     :
		     : "m"(no_idt)
		     : "rax", "rbx", "memory");
	check(false, "survived a fault with no IDT");
	return 0;
}
