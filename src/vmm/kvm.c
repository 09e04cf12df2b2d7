// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm.c - opening /dev/kvm and checking what the host's KVM offers.
 */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../util/log.h"

/*
 * Whether KVM's backend module @name is loaded: from sysfs, or, in a root
 * without it (`vmon jail`'s), from VMON_KVM_BACKEND, which the jailer
 * sets from sysfs before it enters the jail (kvm_host_backend()).
 */
static bool kvm_module(const char *name)
{
	const char *env;
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	if (access(path, F_OK) == 0)
		return true;
	if (access("/sys/module", F_OK) == 0)
		return false;
	env = getenv("VMON_KVM_BACKEND");
	return env && strcmp(env, name) == 0;
}

bool kvm_host_is_pvm(void)
{
	return kvm_module("kvm_pvm");
}

const char *kvm_host_backend(void)
{
	static const char *const names[] = { "kvm_pvm", "kvm_amd",
					     "kvm_intel" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (kvm_module(names[i]))
			return names[i];
	return NULL;
}

static const struct kvm_cap required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

int kvm_require_caps(const struct kvm *kvm, const char *path,
		     const struct kvm_cap *caps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			pr_err("%s: this KVM lacks %s", path, caps[i].name);
			return -1;
		}
	}
	return 0;
}

/*
 * Why the device node is missing, as far as sysfs tells: KVM's core can be
 * there (loaded or built in) with no backend that made /dev/kvm, as on a
 * CPU that shows this kernel no VMX/SVM, or a PVM guest, where kvm_pvm
 * declines to bind ("this kernel is itself a kvm-pvm guest").
 */
static const char *missing_hint(void)
{
	if (access("/sys/module/kvm", F_OK))
		return " (is the kvm module loaded?)";
	if (kvm_host_is_pvm())
		return " (kvm_pvm is in this kernel but did not bind, as in "
		       "a kernel that is itself a PVM guest; the kernel log "
		       "says why)";
	return " (the kvm module is loaded, but no backend made the "
	       "device: is kvm_intel or kvm_amd loaded, and does the CPU "
	       "show VMX or SVM?)";
}

int kvm_open(struct kvm *kvm, const char *path)
{
	int v;

	memset(kvm, 0, sizeof(*kvm));
	kvm->spare_vm_fd = -1;
	if (!path)
		path = "/dev/kvm";
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		pr_err("%s: %s%s", path, strerror(errno),
		       errno == ENOENT ? missing_hint() :
		       errno == EACCES ? " (add yourself to the kvm group)" :
					 "");
		return -1;
	}
	v = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		pr_err("%s: KVM API version %d, vmon needs %d", path, v,
		       KVM_API_VERSION);
		goto fail;
	}
	if (kvm_require_caps(kvm, path, required_caps,
			     sizeof(required_caps) / sizeof(*required_caps)))
		goto fail;
	kvm->run_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		pr_err("%s: KVM_GET_VCPU_MMAP_SIZE: %s", path, strerror(errno));
		goto fail;
	}
	v = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (v <= 0)
		v = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = v > 0 ? (unsigned int)v : 4;
	v = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	kvm->nr_memslots = v > 0 ? (unsigned int)v : 32;
	kvm->readonly_mem =
		ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;

	if (arch_kvm_open(kvm, path))
		goto fail;
	kvm->pvm = kvm_host_is_pvm();
	kvm->svm = !kvm->pvm && kvm_module("kvm_amd");
	return 0;
fail:
	kvm_close(kvm);
	return -1;
}

void kvm_prepare_vm(struct kvm *kvm)
{
	if (kvm->spare_vm_fd < 0)
		kvm->spare_vm_fd = kvm_take_vm(kvm);
}

int kvm_take_vm(struct kvm *kvm)
{
	int fd = kvm->spare_vm_fd;

	kvm->spare_vm_fd = -1;
	if (fd >= 0)
		return fd;
	do
		fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	return fd;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->spare_vm_fd >= 0)
		close(kvm->spare_vm_fd);
	kvm->spare_vm_fd = -1;
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
	arch_kvm_close(kvm);
}
