// SPDX-License-Identifier: GPL-2.0-only
/*
 * arch.c - the x86 side of src/arch/arch.h that has no file of its own:
 * what x86 needs of the host's KVM (the x86 capabilities, the CPUID it
 * supports: kvm->arch), the PC platform of a new VM (KVM's private TSS and
 * identity-map pages, the in-kernel PIC/IOAPIC and PIT), where virtio-mmio
 * devices and their IOAPIC pins go, the host's guest-physical address
 * width, and the CPUID template (vm->arch). The RAM layout is in e820.c,
 * the loaders behind boot.c, the vCPU state in cpu.c.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../config/config.h"
#include "../../vmm/kvm.h"
#include "../../vmm/vm.h"
#include "../arch.h"
#include "acpi.h"
#include "cpu_custom.h"
#include "cpu_named.h"
#include "cpuid.h"
#include "layout.h"
#include "mce.h"
#include "x86.h"

/* Beyond the common ones kvm_open() checks. */
static const struct kvm_cap x86_caps[] = {
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
};

int arch_kvm_open(struct kvm *kvm, const char *path)
{
	struct arch_kvm *a;

	if (kvm_require_caps(kvm, path, x86_caps,
			     sizeof(x86_caps) / sizeof(*x86_caps)))
		return -1;
	/* APIC IDs fit in 8 bits (xAPIC, MP table). */
	if (kvm->max_vcpus > 254)
		kvm->max_vcpus = 254;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	kvm->arch = a;
	a->supported_cpuid = cpuid_alloc();
	if (!a->supported_cpuid)
		return -1;
	a->supported_cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, a->supported_cpuid)) {
		pr_err("%s: KVM_GET_SUPPORTED_CPUID: %s", path,
		       strerror(errno));
		return -1;
	}
	mce_probe(kvm, a);
	return 0;
}

void arch_kvm_close(struct kvm *kvm)
{
	if (!kvm->arch)
		return;
	free(kvm->arch->supported_cpuid);
	free(kvm->arch);
	kvm->arch = NULL;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap)) {
		pr_err("KVM_SET_TSS_ADDR/IDENTITY_MAP_ADDR: %s",
		       strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0)) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit)) {
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	if (vm->cfg->acpi)
		return acpi_irq_routing(vm);
	return 0;
}

void arch_vm_destroy(struct vm *vm)
{
	if (!vm->arch)
		return;
	free(vm->arch->cpuid);
	free(vm->arch);
	vm->arch = NULL;
}

/*
 * IOAPIC pins free for virtio (edge, active high in the MP table): the
 * PIT, keyboard, COM1-2, RTC, mouse and FPU lines are avoided. IRQ 9,
 * the ACPI SCI, comes last: with ACPI on, the 16th slot is refused
 * (acpi.c).
 */
static const unsigned int virtio_irqs[VIRTIO_MMIO_SLOTS] = {
	5, 6, 7, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 9,
};

int arch_virtio_mmio_slot(unsigned int n, uint64_t *base, unsigned int *irq)
{
	if (n >= VIRTIO_MMIO_SLOTS)
		return -1;
	*base = VIRTIO_MMIO_WINDOW + n * VIRTIO_MMIO_STRIDE;
	*irq = virtio_irqs[n];
	return 0;
}

int arch_check_host(const struct kvm *kvm, const struct vm_config *cfg)
{
	struct kvm_cpuid_entry2 *e =
		cpuid_find(kvm->arch->supported_cpuid, 0x80000008, 0);
	unsigned int bits = e && (e->eax & 0xff) ? e->eax & 0xff : 36;
	uint64_t top = cfg->mem_size > MMIO_HOLE_START ?
			       cfg->mem_size + (1ULL << 30) :
			       cfg->mem_size;

	if (bits < 64 && top > (1ULL << bits)) {
		pr_err("memory %lluM: more than this host can map (guest physical addresses have %u bits)",
		       (unsigned long long)(cfg->mem_size >> 20), bits);
		return -1;
	}
	return 0;
}

/* A named template's refusal says the template, not cpu-config. */
static void named_err(const char *name, char *err, size_t errlen)
{
	const char *p = "cpu-config: ";
	char why[256];

	snprintf(why, sizeof(why), "%s",
		 strncmp(err, p, strlen(p)) ? err : err + strlen(p));
	snprintf(err, errlen, "CPU template %.8s: %.230s", name, why);
}

/*
 * Firecracker's named template, then PUT /cpu-config, where this host can
 * honour them (checked against what KVM supports and, on a PVM host,
 * what the guest reads from the CPU itself).
 */
static int apply_custom(struct vm *vm, char *err, size_t errlen)
{
	const struct cpu_custom *cc = vm->cfg->cpu_custom;
	struct kvm_cpuid2 *supported = vm->kvm->arch->supported_cpuid;
	struct kvm_cpuid2 *raw = NULL;
	struct cpu_custom *named = NULL;
	int r = -1;

	if (!cc && !vm->cfg->cpu_named)
		return 0;
	if (vm->kvm->pvm && !(raw = cpu_custom_raw_host(supported)))
		goto oom;
	if (vm->cfg->cpu_named) {
		named = malloc(sizeof(*named));
		if (!named)
			goto oom;
		if (cpu_named_build(vm->cfg->cpu_named, vm->arch->cpuid, named,
				    err, errlen))
			goto out;
		if (cpu_custom_check(named, vm->arch->cpuid, supported, raw,
				     err, errlen)) {
			named_err(vm->cfg->cpu_named, err, errlen);
			goto out;
		}
		cpu_custom_apply_cpuid(named, vm->arch->cpuid);
	}
	if (cc && (cpu_custom_check_caps(cc, vm->kvm->fd, err, errlen) ||
		   cpu_custom_check(cc, vm->arch->cpuid, supported, raw, err,
				    errlen)))
		goto out;
	if (cc)
		cpu_custom_apply_cpuid(cc, vm->arch->cpuid);
	r = 0;
	goto out;
oom:
	snprintf(err, errlen, "cpu-config: out of memory");
out:
	free(named);
	free(raw);
	return r;
}

int arch_cpu_setup(struct vm *vm, char *extra, size_t extra_len)
{
	const char *def = vm->kvm->pvm ? "pvm" : "host";
	char err[256];

	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		return -1;
	vm->arch->cpuid = cpuid_dup(vm->kvm->arch->supported_cpuid);
	if (!vm->arch->cpuid)
		return -1;
	/* On a PVM host the guest executes CPUID natively: hide by cmdline. */
	if (cpuid_apply_template(vm->arch->cpuid, vm->cfg->cpu_template, def,
				 vm->kvm->pvm, extra, extra_len, err,
				 sizeof(err)) ||
	    apply_custom(vm, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	return 0;
}
