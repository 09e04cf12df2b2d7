// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce.c - the machine-check architecture a vCPU shows, set up as QEMU's PC
 * does: MCG_CAP with 10 banks, MCG_CTL_P and MCG_SER_P (whatever of them
 * the host's KVM supports, KVM_X86_GET_MCE_CAP_SUPPORTED), given to KVM by
 * KVM_X86_SETUP_MCE when the vCPU's CPUID has both MCE and MCA (on AMD SVM
 * KVM keeps only bits 0-8 of it: no MCG_SER_P there). Without
 * it KVM leaves MCG_CAP at its own default of 32 banks. Owns
 * arch_kvm.mce_cap and .mce_banks.
 */
#include "mce.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../vmm/kvm.h"
#include "../../vmm/vcpu.h"
#include "../../vmm/vm.h"
#include "cpuid.h"
#include "x86.h"

#define MCG_CTL_P (1ULL << 8)
#define MCG_SER_P (1ULL << 24)
#define MCG_BANKS_MASK 0xffULL
#define MCE_BANKS_QEMU 10ULL /* QEMU's MCE_BANKS_DEF */

#define CPUID_1_EDX_MCE (1U << 7)
#define CPUID_1_EDX_MCA (1U << 14)

void mce_probe(struct kvm *kvm, struct arch_kvm *a)
{
	int banks = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MCE);
	__u64 cap = 0;

	a->mce_banks = 0;
	if (banks <= 0 || ioctl(kvm->fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &cap))
		return; /* no MCE emulation: vCPUs keep KVM's default */
	a->mce_banks = (unsigned int)banks;
	a->mce_cap = cap;
}

uint64_t mce_vcpu_cap(const struct arch_kvm *a)
{
	uint64_t banks = MCE_BANKS_QEMU;

	if (banks > a->mce_banks)
		banks = a->mce_banks;
	return ((MCG_CTL_P | MCG_SER_P) & a->mce_cap) | banks;
}

int mce_vcpu_setup(struct vcpu *vcpu, struct kvm_cpuid2 *cpuid)
{
	const struct arch_kvm *a = vcpu->vm->kvm->arch;
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 1, 0);
	__u64 cap;

	if (!a->mce_banks || !e ||
	    (e->edx & (CPUID_1_EDX_MCE | CPUID_1_EDX_MCA)) !=
		    (CPUID_1_EDX_MCE | CPUID_1_EDX_MCA))
		return 0;
	cap = mce_vcpu_cap(a);
	if (ioctl(vcpu->fd, KVM_X86_SETUP_MCE, &cap)) {
		pr_err("vcpu%u: KVM_X86_SETUP_MCE (MCG_CAP 0x%llx): %s",
		       vcpu->id, (unsigned long long)cap, strerror(errno));
		return -1;
	}
	return 0;
}
