/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86.h - what x86 keeps in the core's objects through their opaque
 * pointers: kvm->arch (the CPUID the host's KVM supports) and vm->arch
 * (the vCPU model: the CPUID template applied). Filled and freed by
 * arch.c; read by cpu.c.
 */
#ifndef VMON_ARCH_X86_X86_H
#define VMON_ARCH_X86_X86_H

#include <stdint.h>

struct kvm_cpuid2;

struct arch_kvm {
	struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID */
	/* Machine checks (mce.c): KVM's banks (0: none) and MCG_CAP flags */
	unsigned int mce_banks;
	uint64_t mce_cap;
};

struct arch_vm {
	/* The template applied, before the per-vCPU topology. */
	struct kvm_cpuid2 *cpuid;
	/* The ACPI RSDP's guest-physical address (acpi.c); 0: no ACPI */
	uint64_t rsdp;
};

#endif
