/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msrs.h - the MSRs of a vCPU snapshot (msrs.c): every MSR KVM lists
 * (KVM_GET_MSR_INDEX_LIST, the TSC and kvmclock ones included) that reads
 * back, saved as index/value pairs; and the x86 CPU model checks of a
 * restore (cpu_model.c).
 */
#ifndef VMON_ARCH_X86_MSRS_H
#define VMON_ARCH_X86_MSRS_H

#include <linux/kvm.h>
#include <stdint.h>

struct kvm;
struct state_reader;
struct state_writer;
struct vcpu;

/* At most this many MSRs in a vCPU state. */
#define X86_MAX_MSRS 1024

/* Reads every listed MSR that KVM lets the host read; 0 or -1. */
int x86_msrs_get(struct vcpu *vcpu, struct kvm_msrs **out);
/* The index/value pairs of a state (NULL and @r failed on error). */
struct kvm_msrs *x86_msrs_read(struct state_reader *r);
/* Writes them all; -1 (errno EINVAL) naming none if one is refused. */
int x86_msrs_set(struct vcpu *vcpu, const struct kvm_msrs *m);

/* XSAVE area size KVM uses on this host, 0 without XSAVE. */
uint32_t x86_xsave_size(const struct kvm *kvm);
/*
 * Fails @r, naming the leaf, register and bits, if the guest CPUID @c
 * shows a feature that @host (the CPUID this host gives the same vCPU)
 * does not.
 */
void x86_cpuid_check_host(struct kvm_cpuid2 *host, struct kvm_cpuid2 *c,
			  struct state_reader *r);

#endif
