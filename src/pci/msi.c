// SPDX-License-Identifier: GPL-2.0-only
/*
 * msi.c - the VM's MSI routes (msi.h): GSI allocation above the interrupt
 * controller's lines and the full routing table KVM_SET_GSI_ROUTING
 * takes, rebuilt from the controller's routes and the MSI ones.
 */
#include "msi.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "../vmm/vm.h"

#define CHIP_ROUTES_MAX 64

int msi_routes_init(struct msi_routes *m, struct vm *vm)
{
	struct kvm_irq_routing_entry e[CHIP_ROUTES_MAX];
	unsigned int n = arch_irqchip_routes(vm, e, CHIP_ROUTES_MAX);
	int cap = 1024;

	memset(m, 0, sizeof(*m));
	m->vm = vm;
	pthread_mutex_init(&m->lock, NULL);
	for (unsigned int i = 0; i < n; i++)
		if (e[i].gsi >= m->first)
			m->first = e[i].gsi + 1;
	if (vm->fd >= 0) {
		cap = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
		if (cap <= 0) {
			pr_err("PCI MSI-X: KVM has no GSI routing (KVM_CAP_IRQ_ROUTING)");
			return -1;
		}
	}
	m->limit = (unsigned int)cap;
	return 0;
}

void msi_routes_fini(struct msi_routes *m)
{
	pthread_mutex_destroy(&m->lock);
}

int msi_gsi_alloc(struct msi_routes *m, const char *who)
{
	int gsi = -1;

	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr && gsi < 0; i++)
		if (m->r[i].freed) {
			m->r[i].freed = false;
			gsi = (int)(m->first + i);
		}
	if (gsi >= 0)
		; /* a GSI an unplugged device gave back */
	else if (m->nr < MSI_MAX_ROUTES && m->first + m->nr < m->limit)
		gsi = (int)(m->first + m->nr++);
	else
		pr_err("%s: no GSI left for an MSI-X vector (%u in use; the host's KVM routes at most %u GSIs, vmon %u MSI vectors)",
		       who, m->nr, m->limit, MSI_MAX_ROUTES);
	pthread_mutex_unlock(&m->lock);
	return gsi;
}

static int commit(struct msi_routes *m);

void msi_gsi_free(struct msi_routes *m, unsigned int gsi)
{
	unsigned int i = gsi - m->first;

	pthread_mutex_lock(&m->lock);
	if (gsi >= m->first && i < m->nr && !m->r[i].freed) {
		m->r[i].freed = true;
		if (m->r[i].set) {
			m->r[i].set = false;
			commit(m);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

/* The whole table to KVM: the controller's routes, then the MSI ones. */
static int commit(struct msi_routes *m)
{
	size_t max = CHIP_ROUTES_MAX + MSI_MAX_ROUTES;
	struct kvm_irq_routing *r;
	unsigned int n;
	int ret;

	m->updates++;
	if (m->vm->fd < 0)
		return 0;
	r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -1;
	n = arch_irqchip_routes(m->vm, r->entries, CHIP_ROUTES_MAX);
	for (unsigned int i = 0; i < m->nr; i++) {
		struct kvm_irq_routing_entry *e = &r->entries[n];

		if (!m->r[i].set)
			continue;
		e->gsi = m->first + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)m->r[i].addr;
		e->u.msi.address_hi = (uint32_t)(m->r[i].addr >> 32);
		e->u.msi.data = m->r[i].data;
		n++;
	}
	r->nr = n;
	ret = ioctl(m->vm->fd, KVM_SET_GSI_ROUTING, r);
	if (ret)
		pr_err("PCI MSI-X: KVM_SET_GSI_ROUTING of %u routes: %s", n,
		       strerror(errno));
	free(r);
	return ret ? -1 : 0;
}

int msi_route_set(struct msi_routes *m, unsigned int gsi, uint64_t addr,
		  uint32_t data, bool set)
{
	unsigned int i = gsi - m->first;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (gsi < m->first || i >= m->nr) {
		ret = -1;
	} else if (m->r[i].set != set ||
		   (set && (m->r[i].addr != addr || m->r[i].data != data))) {
		m->r[i].addr = addr;
		m->r[i].data = data;
		m->r[i].set = set;
		ret = commit(m);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}
