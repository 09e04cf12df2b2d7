// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix.c - MSI-X (msix.h): the capability's enable and function mask, the
 * vector table and the pending bits, each vector's GSI route kept to its
 * message while it is unmasked, and delivery through its irqfd.
 */
#include "msix.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../util/log.h"
#include "../vmm/vm.h"
#include "msi.h"
#include "pci.h"

enum { ONCE_MSIX = 0x7801 };

static uint32_t entry_get(const struct msix *x, unsigned int v,
			  unsigned int word)
{
	return pci_get32(x->table, v * MSIX_ENTRY_SIZE + word * 4);
}

static uint64_t entry_addr(const struct msix *x, unsigned int v)
{
	return entry_get(x, v, 0) | (uint64_t)entry_get(x, v, 1) << 32;
}

static bool masked(const struct msix *x, unsigned int v)
{
	return (x->ctrl & MSIX_CTRL_MASKALL) ||
	       (entry_get(x, v, 3) & MSIX_VECTOR_MASKED);
}

static void deliver(struct msix *x, unsigned int v)
{
	uint64_t one = 1;

	if (!msi_addr_valid(entry_addr(x, v))) {
		log_once(
			ONCE_MSIX, (uintptr_t)x + v,
			"%s: MSI-X vector %u: address 0x%llx is no LAPIC's: dropped",
			x->pdev->name, v, (unsigned long long)entry_addr(x, v));
		return;
	}
	x->fired++;
	if (write(x->fd[v], &one, sizeof(one)) < 0)
		log_once(ONCE_MSIX, (uintptr_t)x + v, "%s: MSI-X vector %u: %s",
			 x->pdev->name, v, strerror(errno));
}

/* Vector @v may have changed state: route it, send what is pending. */
static void update(struct msix *x, unsigned int v)
{
	uint64_t addr = entry_addr(x, v);

	if (!(x->ctrl & MSIX_CTRL_ENABLE) || masked(x, v))
		return;
	if (x->routes && x->gsi[v] >= 0)
		msi_route_set(x->routes, (unsigned int)x->gsi[v], addr,
			      entry_get(x, v, 2), msi_addr_valid(addr));
	if (x->pba & (1ULL << v)) {
		x->pba &= ~(1ULL << v);
		deliver(x, v);
	}
}

static int setup_vector(struct msix *x, unsigned int v)
{
	struct vm *vm = x->routes ? x->routes->vm : NULL;
	struct kvm_irqfd irqfd = { 0 };

	x->gsi[v] = x->routes ? msi_gsi_alloc(x->routes, x->pdev->name) : -1;
	if (x->routes && x->gsi[v] < 0)
		return -1;
	x->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->fd[v] < 0) {
		pr_err("%s: MSI-X eventfd: %s", x->pdev->name, strerror(errno));
		return -1;
	}
	if (!vm || vm->fd < 0)
		return 0;
	irqfd.fd = (uint32_t)x->fd[v];
	irqfd.gsi = (uint32_t)x->gsi[v];
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd)) {
		pr_err("%s: KVM_IRQFD for MSI-X vector %u (GSI %d): %s",
		       x->pdev->name, v, x->gsi[v], strerror(errno));
		return -1;
	}
	x->irqfd[v] = true;
	return 0;
}

int msix_init(struct msix *x, struct pci_dev *p, struct msi_routes *routes,
	      unsigned int nr, unsigned int bar, uint32_t table_off,
	      uint32_t pba_off)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->pdev = p;
	x->routes = routes;
	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++)
		x->fd[v] = -1;
	if (!nr || nr > MSIX_MAX_VECTORS || bar >= PCI_NR_BARS ||
	    (table_off | pba_off) & 7) {
		pr_err("%s: %u MSI-X vectors: at most %u", p->name, nr,
		       MSIX_MAX_VECTORS);
		return -1;
	}
	x->cap = pci_add_cap(p, PCI_CAP_ID_MSIX, 12);
	if (!x->cap)
		return -1;
	x->nr = nr;
	pci_set16(p->cfg, x->cap + 2, (uint16_t)(nr - 1));
	p->wmask[x->cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	pci_set32(p->cfg, x->cap + 4, table_off | bar);
	pci_set32(p->cfg, x->cap + 8, pba_off | bar);
	for (unsigned int v = 0; v < nr; v++) {
		x->table[v * MSIX_ENTRY_SIZE + 12] = MSIX_VECTOR_MASKED;
		if (setup_vector(x, v))
			return -1;
	}
	return 0;
}

static void deassign(struct msix *x, unsigned int v)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)x->fd[v],
		.gsi = (uint32_t)x->gsi[v],
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (!x->irqfd[v] || !x->routes) /* an irqfd has its routes */
		return;
	ioctl(x->routes->vm->fd, KVM_IRQFD, &irqfd);
	x->irqfd[v] = false;
}

void msix_fini(struct msix *x)
{
	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++) {
		deassign(x, v);
		if (x->fd[v] >= 0)
			close(x->fd[v]);
	}
	pthread_mutex_destroy(&x->lock);
}

void msix_release(struct msix *x)
{
	pthread_mutex_lock(&x->lock);
	for (unsigned int v = 0; v < x->nr; v++) {
		deassign(x, v);
		if (x->routes && x->gsi[v] >= 0)
			msi_gsi_free(x->routes, (unsigned int)x->gsi[v]);
		x->gsi[v] = -1;
	}
	pthread_mutex_unlock(&x->lock);
}

bool msix_enabled(struct msix *x)
{
	bool on;

	pthread_mutex_lock(&x->lock);
	on = x->ctrl & MSIX_CTRL_ENABLE;
	pthread_mutex_unlock(&x->lock);
	return on;
}

bool msix_notify(struct msix *x, unsigned int v)
{
	bool on;

	pthread_mutex_lock(&x->lock);
	on = x->ctrl & MSIX_CTRL_ENABLE;
	if (on && v < x->nr) {
		if (masked(x, v))
			x->pba |= 1ULL << v;
		else
			deliver(x, v);
	}
	pthread_mutex_unlock(&x->lock);
	return on;
}

void msix_reset(struct msix *x)
{
	pthread_mutex_lock(&x->lock);
	x->ctrl = 0;
	x->pba = 0;
	memset(x->table, 0, sizeof(x->table));
	for (unsigned int v = 0; v < x->nr; v++) {
		x->table[v * MSIX_ENTRY_SIZE + 12] = MSIX_VECTOR_MASKED;
		if (x->routes && x->gsi[v] >= 0)
			msi_route_set(x->routes, (unsigned int)x->gsi[v], 0, 0,
				      false);
	}
	pthread_mutex_unlock(&x->lock);
	if (x->cap)
		x->pdev->cfg[x->cap + 3] &= ~(uint8_t)(MSIX_CTRL_ENABLE >> 8 |
						       MSIX_CTRL_MASKALL >> 8);
}

void msix_table_read(struct msix *x, uint64_t off, void *data, unsigned int len)
{
	uint64_t v = 0;

	memset(data, 0, len);
	if ((len != 4 && len != 8) || off % len)
		return;
	pthread_mutex_lock(&x->lock);
	/* Bounded by the table itself too: the sanitizer build's GCC asks. */
	if (off < x->nr * MSIX_ENTRY_SIZE && off + len <= sizeof(x->table))
		memcpy(&v, &x->table[off], len);
	pthread_mutex_unlock(&x->lock);
	memcpy(data, &v, len);
}

static void table_write32(struct msix *x, uint64_t off, uint32_t val)
{
	unsigned int v = (unsigned int)(off / MSIX_ENTRY_SIZE);
	unsigned int word = (unsigned int)(off % MSIX_ENTRY_SIZE) / 4;

	if (v >= x->nr)
		return;
	if (word == 3)
		val &= MSIX_VECTOR_MASKED; /* the rest is reserved */
	pci_set32(x->table, (unsigned int)off, val);
	update(x, v);
}

void msix_table_write(struct msix *x, uint64_t off, const void *data,
		      unsigned int len)
{
	uint64_t val = bus_get(data, len);

	if ((len != 4 && len != 8) || off % len) {
		log_once(ONCE_MSIX, (uintptr_t)x,
			 "%s: %u-byte MSI-X table write at 0x%llx: ignored",
			 x->pdev->name, len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&x->lock);
	table_write32(x, off, (uint32_t)val);
	if (len == 8)
		table_write32(x, off + 4, (uint32_t)(val >> 32));
	pthread_mutex_unlock(&x->lock);
}

void msix_pba_read(struct msix *x, uint64_t off, void *data, unsigned int len)
{
	uint64_t pba;

	memset(data, 0, len);
	if ((len != 4 && len != 8) || off % len || off >= 8)
		return;
	pthread_mutex_lock(&x->lock);
	pba = x->pba;
	pthread_mutex_unlock(&x->lock);
	bus_put(data, len, pba >> (8 * off));
}

void msix_config_written(struct msix *x, unsigned int off, unsigned int len)
{
	uint16_t ctrl;

	if (!x->cap || off + len <= x->cap + 2 || off >= x->cap + 4)
		return;
	ctrl = pci_get16(x->pdev->cfg, x->cap + 2);
	pthread_mutex_lock(&x->lock);
	if (ctrl != x->ctrl) {
		x->ctrl = ctrl;
		for (unsigned int v = 0; v < x->nr; v++)
			update(x, v);
	}
	pthread_mutex_unlock(&x->lock);
}

bool msix_state_valid(const struct msix *x, const uint8_t *table, uint64_t pba)
{
	if (x->nr < 64 && (pba >> x->nr))
		return false;
	for (unsigned int v = 0; v < x->nr; v++)
		if (pci_get32(table, v * MSIX_ENTRY_SIZE + 12) &
		    ~(uint32_t)MSIX_VECTOR_MASKED)
			return false;
	return true;
}

void msix_load(struct msix *x, const uint8_t *table, uint64_t pba)
{
	pthread_mutex_lock(&x->lock);
	memcpy(x->table, table, x->nr * MSIX_ENTRY_SIZE);
	x->pba = pba;
	x->ctrl = 0; /* the configuration space's load sets it */
	pthread_mutex_unlock(&x->lock);
}
