/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * triple.S - fixture guest: loads an empty IDT and executes ud2; #UD, #GP
 * and #DF cannot be delivered, so the CPU shuts down (triple fault).
 */
#include "pvh-note.inc"
	.text
	.code32
	.globl start
start:
	lidt idtr
	ud2

	.section .rodata
	.align 8
idtr:	.word 0
	.long 0
