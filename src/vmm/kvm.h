/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm.h - the host's KVM: /dev/kvm, the API version and capabilities
 * vmon needs, the size of the vCPU run area, and the PVM-backend check.
 */
#ifndef VMON_VMM_KVM_H
#define VMON_VMM_KVM_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

struct kvm {
	int fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned int max_vcpus;
	unsigned int nr_memslots;
	bool readonly_mem;
	bool pvm; /* the software (PVM) backend: /sys/module/kvm_pvm */
	struct kvm_cpuid2 *supported_cpuid;
};

/* Opens @path (NULL: /dev/kvm) and checks it; errors logged, -1 returned. */
int kvm_open(struct kvm *kvm, const char *path);
void kvm_close(struct kvm *kvm);

/* True when the host's KVM uses the PVM backend. */
bool kvm_host_is_pvm(void);

#endif
