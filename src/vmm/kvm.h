/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm.h - the host's KVM: /dev/kvm, the API version and the common
 * capabilities vmon needs (the architecture checks its own and keeps what
 * it reads in kvm->arch: arch_kvm_open()), the size of the vCPU run area,
 * and the PVM-backend check.
 */
#ifndef VMON_VMM_KVM_H
#define VMON_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arch_kvm;

struct kvm {
	int fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned int max_vcpus;
	unsigned int nr_memslots;
	bool readonly_mem;
	bool pvm; /* the software (PVM) backend: /sys/module/kvm_pvm */
	/*
	 * AMD SVM (/sys/module/kvm_amd): KVM puts a vCPU in its reset state
	 * at a shutdown exit (the VMCB is undefined after a shutdown).
	 */
	bool svm;
	struct arch_kvm *arch; /* the architecture's (arch_kvm_open()) */
	/* A VM created ahead by kvm_prepare_vm(), or -1 (kvm_take_vm()) */
	int spare_vm_fd;
};

/* A KVM capability (KVM_CAP_...) vmon needs, and its name for errors. */
struct kvm_cap {
	int cap;
	const char *name;
};

/*
 * Checks that the KVM opened from @path has each of @caps; logs the first
 * it lacks and returns -1.
 */
int kvm_require_caps(const struct kvm *kvm, const char *path,
		     const struct kvm_cap *caps, size_t n);

/* Opens @path (NULL: /dev/kvm) and checks it; errors logged, -1 returned. */
int kvm_open(struct kvm *kvm, const char *path);
void kvm_close(struct kvm *kvm);
/*
 * Creates a KVM VM ahead of need, for a process that waits for its
 * configuration (the API): KVM_CREATE_VM costs 0.3-0.7 ms here, paid
 * before the request instead of in it. Failures are left to
 * kvm_take_vm() to report.
 */
void kvm_prepare_vm(struct kvm *kvm);
/* The prepared VM's fd, or a new one; -1 with errno on failure. */
int kvm_take_vm(struct kvm *kvm);

/* True when the host's KVM uses the PVM backend. */
bool kvm_host_is_pvm(void);
/*
 * KVM's backend module: "kvm_pvm", "kvm_amd", "kvm_intel", or NULL if
 * none is known. Inside a jail, whose root has no /sys, both come from
 * VMON_KVM_BACKEND (set by the jailer).
 */
const char *kvm_host_backend(void);

#endif
