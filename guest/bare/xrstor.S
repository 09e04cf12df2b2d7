/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xrstor.S - bare guest (test_cli.py): executes xrstor in kernel mode. A
 * PVM host's instruction emulator rejects it (emulation failure); on
 * VMX/SVM hosts it raises #UD (CR4.OSXSAVE is clear) and, with no IDT,
 * triple-faults. Bare: the runtime's IDT would catch the #UD.
 */
#include "pvh-note.inc"

	pvh_note _start

	.text
	.code32
	.globl _start
_start:
	mov $0x3f8, %dx
	mov $'X', %al
	out %al, %dx
	xor %eax, %eax
	xor %edx, %edx
	mov $0x200000, %edi
	xrstor (%edi)
	hlt
