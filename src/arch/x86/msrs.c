// SPDX-License-Identifier: GPL-2.0-only
/*
 * msrs.c - the MSRs of a vCPU snapshot: the list KVM gives
 * (KVM_GET_MSR_INDEX_LIST: architectural, TSC, kvmclock and the others it
 * emulates), each read with KVM_GET_MSRS and kept if it reads, written
 * back with KVM_SET_MSRS on restore.
 */
#include "msrs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../vmm/kvm.h"
#include "../../vmm/state.h"
#include "../../vmm/vcpu.h"
#include "../../vmm/vm.h"

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m =
		calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));

	if (m)
		m->nmsrs = n;
	return m;
}

/* KVM's list of MSRs to save, or NULL. */
static struct kvm_msr_list *msr_index_list(const struct kvm *kvm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe) && errno != E2BIG)
		return NULL;
	if (probe.nmsrs > X86_MAX_MSRS)
		probe.nmsrs = X86_MAX_MSRS;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return NULL;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, l)) {
		free(l);
		return NULL;
	}
	return l;
}

/*
 * KVM_GET_MSRS stops at the first MSR it cannot read: read the rest after
 * it, dropping the unreadable ones.
 */
static int read_all(struct vcpu *vcpu, struct kvm_msrs *m)
{
	uint32_t total = m->nmsrs, pos = 0, kept = 0;
	struct kvm_msrs *part = msrs_alloc(total);

	if (!part)
		return -1;
	while (pos < total) {
		int n;

		part->nmsrs = total - pos;
		for (uint32_t i = 0; i < part->nmsrs; i++)
			part->entries[i].index = m->entries[pos + i].index;
		n = ioctl(vcpu->fd, KVM_GET_MSRS, part);
		if (n < 0) {
			free(part);
			return -1;
		}
		memcpy(&m->entries[kept], part->entries,
		       (size_t)n * sizeof(struct kvm_msr_entry));
		kept += (uint32_t)n;
		pos += (uint32_t)n;
		if (pos < total) {
			pr_debug("vcpu%u: MSR 0x%x does not read: not saved",
				 vcpu->id, m->entries[pos].index);
			pos++;
		}
	}
	m->nmsrs = kept;
	free(part);
	return 0;
}

int x86_msrs_get(struct vcpu *vcpu, struct kvm_msrs **out)
{
	struct kvm_msr_list *l = msr_index_list(vcpu->vm->kvm);
	struct kvm_msrs *m;

	*out = NULL;
	if (!l)
		return -1;
	m = msrs_alloc(l->nmsrs);
	if (!m) {
		free(l);
		return -1;
	}
	for (uint32_t i = 0; i < l->nmsrs; i++)
		m->entries[i].index = l->indices[i];
	free(l);
	*out = m;
	return read_all(vcpu, m);
}

struct kvm_msrs *x86_msrs_read(struct state_reader *r)
{
	uint32_t n = state_get_u32(r, "msr count");
	struct kvm_msrs *m;

	if (!state_check(r, n <= X86_MAX_MSRS, "msr count"))
		return NULL;
	m = msrs_alloc(n);
	if (!m) {
		state_fail(r, "msrs: out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		m->entries[i].index = state_get_u32(r, "msr index");
		m->entries[i].data = state_get_u64(r, "msr value");
	}
	if (!state_ok(r)) {
		free(m);
		return NULL;
	}
	return m;
}

int x86_msrs_set(struct vcpu *vcpu, const struct kvm_msrs *m)
{
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, m);

	if (n < 0)
		return -1;
	if ((uint32_t)n < m->nmsrs) {
		pr_err("vcpu%u: MSR 0x%x: KVM refuses the saved value 0x%llx",
		       vcpu->id, m->entries[n].index,
		       (unsigned long long)m->entries[n].data);
		errno = EINVAL;
		return -1;
	}
	return 0;
}
