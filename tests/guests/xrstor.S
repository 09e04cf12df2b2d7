/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xrstor.S - fixture guest: executes xrstor in kernel mode. A PVM host's
 * instruction emulator rejects it (emulation failure); on VMX/SVM hosts it
 * raises #UD (CR4.OSXSAVE is clear) and, with no IDT, triple-faults.
 */
#include "pvh-note.inc"
	.text
	.code32
	.globl start
start:
	mov $0x3f8, %dx
	mov $'X', %al
	out %al, %dx
	xor %eax, %eax
	xor %edx, %edx
	mov $0x200000, %edi
	xrstor (%edi)
	hlt
