/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * start.S - the guest runtime's entry points and low-level code: the
 * multiboot header and PVH note, the 32-bit entry that enters long mode
 * (static identity page tables for the first 4 GiB in 2 MiB pages, all
 * user-accessible), the AP real-mode trampoline, interrupt entry stubs,
 * and the ring-3 call and its return gate.
 * Built with -DRT_ENTRY_LINUX64 instead, the image has neither header nor
 * note and enters through the 64-bit Linux boot protocol (an ELF without a
 * PVH note: e_entry in long mode, RSI = the zero page); the probes
 * (guest/probes) boot that way, the only guests that use that vmon path.
 */
#include "../../src/devices/hypercall.h"
#include "pvh-note.inc"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_KCODE32 0x28
#define RT_MAX_CPUS 8
#define KSTACK_SIZE 16384
#define RT_BOOT_LINUX64 0x53726448 /* rt.h */

#define CR0_PE 0x1
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

/* ---------------------------------------------------------------- header */
#ifndef RT_ENTRY_LINUX64
	.section .head, "ax"
	.align 4
multiboot_header:
#ifdef MULTIBOOT_AOUT
	/* flags bit 16: the address fields below are valid */
	.long 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
	.long multiboot_header, _image_start, _edata, _end, _start
#else
	/* flags 0: an ELF image, loaded from its program headers */
	.long 0x1badb002, 0, -0x1badb002
#endif

	pvh_note _start
#endif

/* The runtime's data segments (its GDT is loaded). */
.macro load_data_segments
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
.endm

/* PAE, EFER.LME, paging: a far jump to 64-bit code must follow. */
.macro enter_long_mode
	load_data_segments
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_PE), %eax
	movl %eax, %cr0
.endm

#ifndef RT_ENTRY_LINUX64
/* --------------------------------------------------- 32-bit entry (BSP) */
	.section .head, "ax"
	.code32
	.globl _start
_start:
	cli
	movl %eax, rt_boot_magic
	movl %ebx, rt_boot_info
	lgdt gdt_ptr
	ljmp $SEL_KCODE32, $1f
1:	enter_long_mode
	ljmp $SEL_KCODE, $start64
#else
/* ------------------------------------ 64-bit Linux boot protocol (BSP) */
	.section .head, "ax"
	.code64
	.globl _start
_start:
	/*
	 * Long mode on the loader's page tables and GDT: switch to ours (both
	 * map the first 4 GiB 1:1) and reload CS through a far return.
	 */
	cli
	movl $RT_BOOT_LINUX64, rt_boot_magic
	movl %esi, rt_boot_info
	movq $(kstacks + KSTACK_SIZE), %rsp
	movq $pml4, %rax
	movq %rax, %cr3
	lgdt gdt_ptr
	load_data_segments
	pushq $SEL_KCODE
	pushq $start64
	lretq
#endif


/* --------------------------------------- AP trampoline (copied to 0x8000) */
	.code16
	.globl ap_tramp, ap_tramp_end
ap_tramp:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_gdt_ptr - ap_tramp
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_start32
	.align 4
ap_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.code32
ap_start32:
	enter_long_mode
	ljmp $SEL_KCODE, $ap_start64

/* ------------------------------------------------------------ 64-bit */
	.code64
start64:
	movq $(kstacks + KSTACK_SIZE), %rsp
	xorl %ebp, %ebp
	call rt_start
2:	cli
	hlt
	jmp 2b

ap_start64:
	/* this CPU's local APIC ID picks its stack */
	movl $0xfee00020, %eax
	movl (%rax), %edi
	shrl $24, %edi
	cmpl $RT_MAX_CPUS, %edi
	jae 2b
	leaq 1(%rdi), %rax
	imulq $KSTACK_SIZE, %rax
	addq $kstacks, %rax
	movq %rax, %rsp
	xorl %ebp, %ebp
	call rt_ap_main
	jmp 2b

/* ------------------------------------------------------ interrupt stubs */
.macro isr_noerr n
isr_\n:
	pushq $0
	pushq $\n
	jmp isr_common
.endm
.macro isr_err n
isr_\n:
	pushq $\n
	jmp isr_common
.endm

	/* exceptions: the CPU pushes an error code for 8, 10-14, 17, 21, 29, 30 */
	isr_noerr 0
	isr_noerr 1
	isr_noerr 2
	isr_noerr 3
	isr_noerr 4
	isr_noerr 5
	isr_noerr 6
	isr_noerr 7
	isr_err 8
	isr_noerr 9
	isr_err 10
	isr_err 11
	isr_err 12
	isr_err 13
	isr_err 14
	isr_noerr 15
	isr_noerr 16
	isr_err 17
	isr_noerr 18
	isr_noerr 19
	isr_noerr 20
	isr_err 21
	isr_noerr 22
	isr_noerr 23
	isr_noerr 24
	isr_noerr 25
	isr_noerr 26
	isr_noerr 27
	isr_noerr 28
	isr_err 29
	isr_err 30
	isr_noerr 31
.altmacro
	.set vec, 32
	.rept 224
	isr_noerr %vec
	.set vec, vec + 1
	.endr
.noaltmacro

isr_common:
	cld
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	/* 16-byte stack alignment for the C handler */
	movq %rsp, %rbx
	andq $-16, %rsp
	call rt_isr
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

.macro isr_addr n
	.quad isr_\n
.endm
	.section .rodata
	.align 8
	.globl isr_table
isr_table:
.altmacro
	.set vec, 0
	.rept 256
	isr_addr %vec
	.set vec, vec + 1
	.endr
.noaltmacro

/* -------------------------------------------------------------- ring 3 */
	.text
/*
 * uint64_t rt_user_enter(fn, arg, user_stack_top, &tss_rsp0)
 * Saves the callee-saved registers, points the TSS's RSP0 at them and
 * irets to fn(arg) in ring 3; fn returns to user_exit, whose int $0x80
 * lands in user_return with the result in RAX.
 */
	.globl rt_user_enter
rt_user_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp /* RSP0 must be 16-byte aligned: the CPU aligns it */
	movq %rsp, (%rcx)
	subq $8, %rdx
	movq $user_exit, (%rdx)
	pushq $(SEL_UDATA | 3)
	pushq %rdx
	pushq $0x202 /* IF */
	pushq $(SEL_UCODE | 3)
	pushq %rdi
	movq %rsi, %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %ebp, %ebp
	movw $(SEL_UDATA | 3), %r8w
	movw %r8w, %ds
	movw %r8w, %es
	iretq

	.globl user_return, rt_user_resume, user_exit
user_return:
	/* interrupt gate 0x80 (DPL 3): RSP is RSP0 minus the 5-word frame */
	addq $40, %rsp
	jmp 1f
/*
 * rt_user_resume(result, rsp0): the same return from C, for a host where
 * int $0x80 at user_exit arrives as an exception (a PVM host reports #UD).
 */
rt_user_resume:
	movq %rdi, %rax
	movq %rsi, %rsp
1:	movw $SEL_KDATA, %cx
	movw %cx, %ds
	movw %cx, %es
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* Runs in ring 3: fn's return value is in RAX. */
user_exit:
	int $0x80
	ud2

/* uint64_t hypercall(nr, a0, a1, a2, a3): see docs/hypercalls.md */
	.globl hypercall
hypercall:
	pushq %rbx
	movl %edi, %eax /* function number */
	movq %rsi, %rbx /* a0 */
	movq %rcx, %rsi /* a2 */
	movq %rdx, %rcx /* a1 */
	movq %r8, %rdi /* a3 */
	movw $VMON_HC_PORT, %dx
	outl %eax, %dx
	popq %rbx
	ret

/* ------------------------------------------------ page tables and GDT */
	.data
	.align 4096
	.globl pml4
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x7, pd + 0x1007, pd + 0x2007, pd + 0x3007
	.fill 508, 8, 0
pd:
	/* 4 GiB identity map: present, writable, user, 2 MiB pages */
	.set page, 0
	.rept 2048
	.quad (page << 21) | 0x87
	.set page, page + 1
	.endr

	.align 16
	.globl gdt, gdt_end
gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff /* 0x10 kernel data */
	.quad 0x00cff2000000ffff /* 0x18 user data */
	.quad 0x00affa000000ffff /* 0x20 user code, 64-bit */
	.quad 0x00cf9a000000ffff /* 0x28 kernel code, 32-bit */
	.fill 2 * RT_MAX_CPUS, 8, 0 /* 0x30: one TSS descriptor per CPU */
gdt_end:
	.align 4
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.bss
	.align 16
	.globl kstacks
kstacks:
	.skip (RT_MAX_CPUS + 1) * KSTACK_SIZE
