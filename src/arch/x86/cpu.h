/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu.h - x86 vCPU state: per-vCPU CPUID and local APIC setup, the
 * register state a boot protocol starts in, and the fatal-exit report.
 */
#ifndef VMON_ARCH_X86_CPU_H
#define VMON_ARCH_X86_CPU_H

#include <stdint.h>

struct vcpu;
struct vm;

enum boot_mode {
	BOOT_MODE_LINUX64, /* 64-bit Linux boot protocol: RSI = boot_params */
	BOOT_MODE_PVH, /* 32-bit protected mode, EBX = hvm_start_info */
	BOOT_MODE_MULTIBOOT, /* 32-bit protected mode, EAX magic, EBX info */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t entry; /* guest-physical entry point */
	uint64_t arg; /* boot_params / start_info / multiboot info address */
};

/* CPUID (template + topology), LAPIC LINT pins, MTRRs for one vCPU. */
int x86_vcpu_init(struct vcpu *vcpu);
/* Sets the BSP's registers for @entry (page tables written if needed). */
int x86_vcpu_boot_regs(struct vcpu *vcpu, const struct boot_entry *entry);

/* Reads up to @len bytes of code at the guest's RIP; returns the count. */
unsigned int x86_read_code_at_rip(struct vcpu *vcpu, uint8_t *buf,
				  unsigned int len);
/* A hint for an instruction KVM could not emulate, or NULL. */
const char *x86_emulation_hint(const uint8_t *insn, unsigned int len);

#endif
