/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu_custom.h - a custom CPU template (config/cpu_custom.h) applied to a
 * VM's CPUID and each vCPU's MSRs, after a check that this host can honour
 * it: see cpu_custom.c.
 */
#ifndef VMON_ARCH_X86_CPU_CUSTOM_H
#define VMON_ARCH_X86_CPU_CUSTOM_H

#include <linux/kvm.h>
#include <stddef.h>

#include "../../config/cpu_custom.h"

/*
 * Whether @cc can be honoured on @c (the VM's CPUID, its template applied)
 * given what KVM supports (@supported) and, on a PVM host, what the guest
 * reads from the CPU itself whatever the VMM sets (@raw; NULL elsewhere).
 * 0, or -1 with the reason in @err.
 */
int cpu_custom_check(const struct cpu_custom *cc, struct kvm_cpuid2 *c,
		     struct kvm_cpuid2 *supported, struct kvm_cpuid2 *raw,
		     char *err, size_t errlen);
/* Applies the CPUID modifiers of @cc to @c (checked before). */
void cpu_custom_apply_cpuid(const struct cpu_custom *cc, struct kvm_cpuid2 *c);
/* The host CPU's own CPUID for every leaf of @like; NULL on failure. */
struct kvm_cpuid2 *cpu_custom_raw_host(const struct kvm_cpuid2 *like);
/* The capabilities @cc requires are offered by KVM (@kvm_fd): 0 or -1. */
int cpu_custom_check_caps(const struct cpu_custom *cc, int kvm_fd, char *err,
			  size_t errlen);
/* Formats a refusal into @err; returns -1. */
__attribute__((format(printf, 3, 4))) int cpu_custom_fail(char *err, size_t len,
							  const char *fmt, ...);
/* The MSR modifiers of @cc on vCPU @vcpu_fd: 0, or -1 with @err. */
int cpu_custom_apply_msrs(const struct cpu_custom *cc, int vcpu_fd, char *err,
			  size_t errlen);

#endif
