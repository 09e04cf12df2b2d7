// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu_custom.c - Firecracker's custom CPU templates (PUT /cpu-config) on
 * x86: CPUID register modifiers, MSR modifiers and required KVM
 * capabilities, applied where this host can honour them and refused,
 * naming the leaf, register and bit (and the feature, where vmon knows its
 * name), where it cannot:
 * - a feature bit set that KVM cannot give a guest (not in
 *   KVM_GET_SUPPORTED_CPUID, and not one vmon may show anyway);
 * - on a PVM host, a feature bit cleared that the guest reads from the CPU
 *   itself: there the VMM's CPUID only hides bits KVM reports
 *   (docs/guest.md), the others the guest sees as the host has them;
 * - the hypervisor leaves 0x40000000+, which vmon leaves as KVM reports
 *   them (kvmclock; a PVM guest kernel checks them);
 * - a leaf the VM's CPUID does not have; an MSR KVM does not let vmon set.
 */
#include "cpu_custom.h"

#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"

static const char reg_names[][4] = { "eax", "ebx", "ecx", "edx" };

int cpu_custom_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* One bit of a known feature: can the host give it, or hide it? */
static int check_bit(const struct cpuid_modifier *m, unsigned int bit,
		     struct kvm_cpuid2 *supported, struct kvm_cpuid2 *raw,
		     char *err, size_t len)
{
	const struct cpu_feature *f =
		cpu_feature_at(m->leaf, m->subleaf, m->reg, bit);
	bool want = m->value >> bit & 1;

	if (!f)
		return 0;
	if (want && !f->forcible && !cpuid_has(supported, f))
		return cpu_custom_fail(
			err, len,
			"cpu-config: CPUID leaf 0x%x subleaf 0x%x %s bit %u (%s): KVM on this host cannot give it to a guest",
			m->leaf, m->subleaf, reg_names[m->reg], bit, f->name);
	if (!want && raw && !cpuid_has(supported, f) && cpuid_has(raw, f))
		return cpu_custom_fail(
			err, len,
			"cpu-config: CPUID leaf 0x%x subleaf 0x%x %s bit %u (%s): this PVM host lets the guest read it from the CPU whatever vmon sets (only bits KVM reports can be hidden); use clearcpuid=%s on the guest's command line",
			m->leaf, m->subleaf, reg_names[m->reg], bit, f->name,
			f->name);
	return 0;
}

int cpu_custom_check(const struct cpu_custom *cc, struct kvm_cpuid2 *c,
		     struct kvm_cpuid2 *supported, struct kvm_cpuid2 *raw,
		     char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cc->nr_cpuid; i++) {
		const struct cpuid_modifier *m = &cc->cpuid[i];

		if (m->leaf >= 0x40000000 && m->leaf <= 0x4fffffff)
			return cpu_custom_fail(
				err, errlen,
				"cpu-config: CPUID leaf 0x%x: vmon leaves the hypervisor leaves as KVM reports them (kvmclock; a PVM guest kernel checks them)",
				m->leaf);
		if (!cpuid_find(c, m->leaf, m->subleaf))
			return cpu_custom_fail(
				err, errlen,
				"cpu-config: CPUID leaf 0x%x subleaf 0x%x: not in the CPUID this host's KVM gives a guest",
				m->leaf, m->subleaf);
		for (unsigned int b = 0; b < 32; b++)
			if ((m->mask >> b & 1) &&
			    check_bit(m, b, supported, raw, err, errlen))
				return -1;
	}
	return 0;
}

void cpu_custom_apply_cpuid(const struct cpu_custom *cc, struct kvm_cpuid2 *c)
{
	for (unsigned int i = 0; i < cc->nr_cpuid; i++) {
		const struct cpuid_modifier *m = &cc->cpuid[i];
		struct kvm_cpuid_entry2 *e = cpuid_find(c, m->leaf, m->subleaf);
		uint32_t *r;

		if (!e)
			continue;
		r = cpuid_reg(e, (enum cpuid_reg)m->reg);
		*r = (*r & ~m->mask) | (m->value & m->mask);
	}
}

struct kvm_cpuid2 *cpu_custom_raw_host(const struct kvm_cpuid2 *like)
{
	struct kvm_cpuid2 *raw = cpuid_dup(like);

	if (!raw)
		return NULL;
	for (uint32_t i = 0; i < raw->nent; i++) {
		struct kvm_cpuid_entry2 *e = &raw->entries[i];

		__cpuid_count(e->function, e->index, e->eax, e->ebx, e->ecx,
			      e->edx);
	}
	return raw;
}

int cpu_custom_check_caps(const struct cpu_custom *cc, int kvm_fd, char *err,
			  size_t errlen)
{
	for (unsigned int i = 0; i < cc->nr_caps; i++) {
		const struct kvm_cap_modifier *k = &cc->caps[i];

		/* "!N": vmon still needs the capabilities it uses. */
		if (k->remove)
			continue;
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)k->cap) <=
		    0)
			return cpu_custom_fail(
				err, errlen,
				"cpu-config: KVM capability %u is not available on this host",
				k->cap);
	}
	return 0;
}

int cpu_custom_apply_msrs(const struct cpu_custom *cc, int vcpu_fd, char *err,
			  size_t errlen)
{
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      sizeof(struct kvm_msr_entry)];
	} msrs;

	for (unsigned int i = 0; i < cc->nr_msr; i++) {
		const struct msr_modifier *m = &cc->msr[i];
		struct kvm_msr_entry *e = &msrs.hdr.entries[0];

		memset(&msrs, 0, sizeof(msrs));
		msrs.hdr.nmsrs = 1;
		e->index = m->addr;
		if (ioctl(vcpu_fd, KVM_GET_MSRS, &msrs) != 1)
			return cpu_custom_fail(
				err, errlen,
				"cpu-config: MSR 0x%x: KVM on this host does not let vmon read or set it",
				m->addr);
		e->data = (e->data & ~m->mask) | (m->value & m->mask);
		if (ioctl(vcpu_fd, KVM_SET_MSRS, &msrs) != 1)
			return cpu_custom_fail(
				err, errlen,
				"cpu-config: MSR 0x%x: KVM on this host refuses the value 0x%llx",
				m->addr, (unsigned long long)e->data);
	}
	return 0;
}
