/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * triple.S - bare guest (test_cli.py): loads an empty IDT and executes
 * ud2; #UD, #GP and #DF cannot be delivered, so the CPU shuts down
 * (triple fault). Bare: the runtime's IDT would catch the #UD.
 */
#include "pvh-note.inc"

	pvh_note _start

	.text
	.code32
	.globl _start
_start:
	lidt idtr
	ud2

	.section .rodata
	.align 8
idtr:	.word 0
	.long 0
