/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu_custom.h - a custom CPU template (Firecracker's PUT /cpu-config):
 * CPUID register modifiers, MSR modifiers and the KVM capabilities the VM
 * requires, as plain data. Filled by the API's JSON layer
 * (src/api/config/cpu_config.c), applied and checked against the host by
 * the architecture when the VM is built (src/arch/x86/cpu_custom.c).
 */
#ifndef VMON_CONFIG_CPU_CUSTOM_H
#define VMON_CONFIG_CPU_CUSTOM_H

#include <stdbool.h>
#include <stdint.h>

#define CPU_CUSTOM_MAX_CPUID 128
#define CPU_CUSTOM_MAX_MSR 32
#define CPU_CUSTOM_MAX_CAPS 32

/* One register of one CPUID leaf: the bits of @mask take @value's. */
struct cpuid_modifier {
	uint32_t leaf, subleaf;
	uint32_t flags; /* KVM's entry flags, as given (reported back) */
	uint8_t reg; /* enum cpuid_reg: 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint32_t mask, value;
};

/* One MSR: the bits of @mask take @value's. */
struct msr_modifier {
	uint32_t addr;
	uint64_t mask, value;
};

/* A KVM capability: required (KVM_CHECK_EXTENSION) or, with !, not. */
struct kvm_cap_modifier {
	uint32_t cap;
	bool remove;
};

struct cpu_custom {
	unsigned int nr_cpuid, nr_msr, nr_caps;
	struct cpuid_modifier cpuid[CPU_CUSTOM_MAX_CPUID];
	struct msr_modifier msr[CPU_CUSTOM_MAX_MSR];
	struct kvm_cap_modifier caps[CPU_CUSTOM_MAX_CAPS];
};

#endif
