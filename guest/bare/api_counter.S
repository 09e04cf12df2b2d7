/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_counter.S - the guest of the control-plane tests (vmon_api.py
 * boot_counter(), test_api_*.py) and of bench/api_bench.py: a PVH entry
 * (32-bit protected mode, as vmon's ELF loader starts it) that counts
 * forever. What they rely on, and what this program keeps:
 * - its very first instruction writes "!\n" to COM1: the benchmark's
 *   "InstanceStart to the guest's first instruction" mark;
 * - then, every 4096 steps, a line "c=XXXXXXXX\n" (exactly 10 characters:
 *   the count in 8 lower-case hex digits), so the lines read 0x1000,
 *   0x2000, ... in order with none lost or repeated (test_api_pause.py;
 *   vmon_api.Instance.last_count());
 * - after each line it writes the count into one page of a ring of 256
 *   pages at 4 MiB (page (count >> 12) & 0xff): the memory the snapshot
 *   tests see it dirty (test_snapshot_diff.py), a few pages at a time;
 * - it runs on any vCPU count and from 16 MiB of RAM; the APs stay in
 *   wait-for-SIPI; while the VM is paused no line appears, after resume
 *   the count goes on from where it stopped.
 * It is bare (no runtime) because the runtime's set-up before main() costs
 * ~25 ms of emulated ring-0 work on a PVM host, more than the start-up time
 * the benchmark measures up to the "!".
 */
#include "pvh-note.inc"

#define COM1 0x3f8
#define MEM_RING 0x400000

	pvh_note _start

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
	movl %esi, %ebx
	andl $0xff000, %ebx
	movl %esi, MEM_RING(%ebx)
	jmp 1b

	.section .rodata
hexdigits:
	.ascii "0123456789abcdef"
