// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad_insn.c - guest test 7b: an invalid instruction (ud2) in ring 0 with
 * an empty IDT: the #UD cannot be delivered, so the CPU shuts down (on a
 * PVM host, whose emulator runs ring-0 code, see the host-side test for
 * what vmon reports there). The program prints the RIP of the ud2.
 */
#include "rt.h"

extern char bad_insn[];

int main(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	printf("invalid instruction at rip=0x%lx\n", (uint64_t)bad_insn);
	asm volatile("lidt %0\n\t"
		     "movabs $0x00c0ffee00c0ffee, %%rcx\n\t"
		     ".globl bad_insn\n"
		     "bad_insn:\n\t"
		     "ud2"
		     :
		     : "m"(no_idt)
		     : "rcx", "memory");
	check(false, "survived ud2 with no IDT");
	return 0;
}
