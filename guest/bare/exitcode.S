/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exitcode.S - bare guest (test_cli.py, bench/boot): prints
 * "vmon-fixture: exit" on the serial port and writes N to the debug-exit
 * port 0xf4, where N is the decimal number at the start of the kernel
 * command line (hvm_start_info in EBX, cmdline_paddr at offset 24). Bare:
 * the benchmark times the VMM up to the guest's first instructions.
 */
#include "pvh-note.inc"

	pvh_note _start

	.text
	.code32
	.globl _start
_start:
	mov 24(%ebx), %esi	/* cmdline_paddr (low half) */
	xor %ecx, %ecx		/* N */
1:	movzbl (%esi), %eax
	sub $'0', %eax
	cmp $9, %eax
	ja 2f
	imul $10, %ecx
	add %eax, %ecx
	inc %esi
	jmp 1b
2:	mov $msg, %esi
	mov $0x3f8, %dx
3:	lodsb
	test %al, %al
	jz 4f
	out %al, %dx
	jmp 3b
4:	mov %cl, %al
	out %al, $0xf4
	hlt
	jmp 4b

	.section .rodata
msg:	.asciz "vmon-fixture: exit\n"
