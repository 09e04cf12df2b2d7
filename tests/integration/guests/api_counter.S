/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_counter.S - a guest for the control-plane tests: a PVH entry (32-bit
 * protected mode, as vmon's ELF loader starts it) that counts forever and
 * writes "c=XXXXXXXX\n" (the count in hex) to COM1 every 4096 steps. Its
 * very first instruction writes "!\n" (the benchmark's "first
 * instruction" mark).
 * While the VM is paused no line may appear; after resume the count goes
 * on from where it stopped.
 */
#define COM1 0x3f8
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long _start

	.text
	.code32
	.globl _start
_start:
	movw $COM1, %dx
	movb $'!', %al
	outb %al, %dx
	movb $'\n', %al
	outb %al, %dx
	xorl %esi, %esi			/* the counter */
1:	incl %esi
	testl $0xfff, %esi
	jnz 1b
	movw $COM1, %dx
	movb $'c', %al
	outb %al, %dx
	movb $'=', %al
	outb %al, %dx
	movl $8, %ecx
2:	roll $4, %esi
	movl %esi, %eax
	andl $0xf, %eax
	movb hexdigits(%eax), %al
	outb %al, %dx
	loop 2b
	movb $'\n', %al
	outb %al, %dx
	jmp 1b

	.section .rodata
hexdigits:
	.ascii "0123456789abcdef"
