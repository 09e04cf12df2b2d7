/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu.h - x86 vCPU state: per-vCPU CPUID and local APIC setup, the
 * register state a boot protocol starts in, and the fatal-exit report.
 */
#ifndef VMON_ARCH_X86_CPU_H
#define VMON_ARCH_X86_CPU_H

#include <stdint.h>

#include "../arch.h"

struct vcpu;
struct vm;

enum boot_mode {
	BOOT_MODE_LINUX64, /* 64-bit Linux boot protocol: RSI = boot_params */
	BOOT_MODE_PVH, /* 32-bit protected mode, EBX = hvm_start_info */
	BOOT_MODE_MULTIBOOT, /* 32-bit protected mode, EAX magic, EBX info */
	/* Firmware's entries (wake.c): guest memory untouched, arg unused */
	BOOT_MODE_RESET, /* the reset vector: CS base 0xffff0000, IP 0xfff0 */
	BOOT_MODE_REAL, /* real mode at entry: CS entry >> 4, IP entry & 0xf */
	BOOT_MODE_FLAT32, /* flat 32-bit protected mode, paging off */
};

/*
 * struct boot_entry (arch.h): mode is an enum boot_mode, arg the address
 * of boot_params / start_info / multiboot info. arch_vcpu_init() sets
 * CPUID (template + topology), LAPIC LINT pins and MTRRs for one vCPU;
 * arch_setup_boot_cpu() the BSP's registers (page tables written if
 * needed). Both in cpu.c.
 */

/* The registers of one of the firmware's entries (wake.c); 0 or -1. */
int x86_firmware_entry(struct vcpu *vcpu, int mode, uint64_t entry);

/* Reads up to @len bytes of code at the guest's RIP; returns the count. */
unsigned int x86_read_code_at_rip(struct vcpu *vcpu, uint8_t *buf,
				  unsigned int len);
/* A hint for an instruction KVM could not emulate, or NULL. */
const char *x86_emulation_hint(const uint8_t *insn, unsigned int len);

#endif
