/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mce.h - the vCPUs' machine-check banks (mce.c): QEMU's MCG_CAP.
 */
#ifndef VMON_ARCH_X86_MCE_H
#define VMON_ARCH_X86_MCE_H

#include <stdint.h>

struct arch_kvm;
struct kvm;
struct kvm_cpuid2;
struct vcpu;

/* Fills @a's MCE fields from the host's KVM (none if it has no MCE). */
void mce_probe(struct kvm *kvm, struct arch_kvm *a);
/* The MCG_CAP a vCPU gets: 10 banks and QEMU's flags the host supports. */
uint64_t mce_vcpu_cap(const struct arch_kvm *a);
/* KVM_X86_SETUP_MCE on @vcpu if @cpuid has MCE and MCA; 0 or -1, logged. */
int mce_vcpu_setup(struct vcpu *vcpu, struct kvm_cpuid2 *cpuid);

#endif
