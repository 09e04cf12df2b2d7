// SPDX-License-Identifier: GPL-2.0-only
/*
 * host.c - the PCI host bridge (host.h): configuration mechanism #1 on
 * ports 0xcf8 (CONFIG_ADDRESS, dword accesses) and 0xcfc-0xcff
 * (CONFIG_DATA, any width at any of its bytes), ECAM for bus 0, the
 * memory and I/O windows that send BAR accesses to the bus, and the
 * bridge's function 00:00.0. Owns vm->pci.
 */
#include "host.h"

#include <stdlib.h>
#include <string.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"

#define CONF1_ENABLE 0x80000000U

void pci_conf1_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct pci_host *h = opaque;
	uint32_t a;

	if (off < 4) { /* CONFIG_ADDRESS */
		pthread_mutex_lock(&h->bus.lock);
		a = h->bus.conf1_addr;
		pthread_mutex_unlock(&h->bus.lock);
		if (off == 0 && len == 4)
			bus_put(data, 4, a);
		else
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&h->bus.lock);
	a = h->bus.conf1_addr;
	pthread_mutex_unlock(&h->bus.lock);
	if (!(a & CONF1_ENABLE) || (a >> 16 & 0xff)) {
		memset(data, 0xff, len);
		return;
	}
	pci_config_read(&h->bus, a >> 11 & 0x1f, a >> 8 & 7,
			(a & 0xfc) + (unsigned int)(off - 4), data, len);
}

void pci_conf1_write(void *opaque, uint64_t off, const void *data,
		     unsigned int len)
{
	struct pci_host *h = opaque;
	uint32_t a;

	if (off < 4) {
		/* Only a dword reaches CONFIG_ADDRESS, as on chipsets. */
		if (off == 0 && len == 4) {
			pthread_mutex_lock(&h->bus.lock);
			h->bus.conf1_addr = (uint32_t)bus_get(data, 4) &
					    0x80fffffcU;
			pthread_mutex_unlock(&h->bus.lock);
		}
		return;
	}
	pthread_mutex_lock(&h->bus.lock);
	a = h->bus.conf1_addr;
	pthread_mutex_unlock(&h->bus.lock);
	if (!(a & CONF1_ENABLE) || (a >> 16 & 0xff))
		return;
	pci_config_write(&h->bus, a >> 11 & 0x1f, a >> 8 & 7,
			 (a & 0xfc) + (unsigned int)(off - 4), data, len);
}

/* ECAM: bus in bits 27:20 (only 0 here), device 19:15, function 14:12. */
void pci_ecam_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct pci_host *h = opaque;

	if ((off & 0xfff) + len > 0x1000 || off >> 20) {
		memset(data, 0xff, len);
		return;
	}
	pci_config_read(&h->bus, off >> 15 & 0x1f, off >> 12 & 7, off & 0xfff,
			data, len);
}

void pci_ecam_write(void *opaque, uint64_t off, const void *data,
		    unsigned int len)
{
	struct pci_host *h = opaque;

	if ((off & 0xfff) + len > 0x1000 || off >> 20)
		return;
	pci_config_write(&h->bus, off >> 15 & 0x1f, off >> 12 & 7, off & 0xfff,
			 data, len);
}

static void mmio_window_read(void *opaque, uint64_t off, void *data,
			     unsigned int len)
{
	struct pci_host *h = opaque;

	pci_window_access(&h->bus, false, h->bus.mmio.base + off, data, len,
			  false);
}

static void mmio_window_write(void *opaque, uint64_t off, const void *data,
			      unsigned int len)
{
	struct pci_host *h = opaque;

	pci_window_access(&h->bus, false, h->bus.mmio.base + off, (void *)data,
			  len, true);
}

static void io_window_read(void *opaque, uint64_t off, void *data,
			   unsigned int len)
{
	struct pci_host *h = opaque;

	pci_window_access(&h->bus, true, h->bus.io.base + off, data, len,
			  false);
}

static void io_window_write(void *opaque, uint64_t off, const void *data,
			    unsigned int len)
{
	struct pci_host *h = opaque;

	pci_window_access(&h->bus, true, h->bus.io.base + off, (void *)data,
			  len, true);
}

static const struct bus_ops conf1_ops = { pci_conf1_read, pci_conf1_write };
static const struct bus_ops ecam_ops = { pci_ecam_read, pci_ecam_write };
static const struct bus_ops mmio_window_ops = { mmio_window_read,
						mmio_window_write };
static const struct bus_ops io_window_ops = { io_window_read, io_window_write };

static void host_destroy(struct device *dev)
{
	struct pci_host *h = dev->opaque;

	h->vm->pci = NULL;
	msi_routes_fini(&h->msi);
	pci_bus_fini(&h->bus);
	free(h);
}

/* CONFIG_ADDRESS and the bridge's configuration space. */
static int host_save(struct device *dev, struct state_writer *w)
{
	struct pci_host *h = dev->opaque;

	pthread_mutex_lock(&h->bus.lock);
	state_put_u32(w, h->bus.conf1_addr);
	state_put_bytes(w, h->bridge.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&h->bus.lock);
	return 0;
}

static int host_restore(struct device *dev, struct state_reader *r)
{
	struct pci_host *h = dev->opaque;
	uint8_t cfg[PCI_CFG_SIZE];
	uint32_t a = state_get_u32(r, "PCI CONFIG_ADDRESS");

	state_get_bytes(r, cfg, sizeof(cfg), "PCI host bridge configuration");
	if (!state_ok(r) ||
	    !state_check(r, !(a & ~0x80fffffcU), "PCI CONFIG_ADDRESS") ||
	    !state_check(r, pci_config_compatible(&h->bridge, cfg),
			 "PCI host bridge configuration"))
		return -1;
	pthread_mutex_lock(&h->bus.lock);
	h->bus.conf1_addr = a;
	pthread_mutex_unlock(&h->bus.lock);
	pci_config_load(&h->bridge, cfg);
	return 0;
}

static const struct device_ops host_device_ops = {
	.state_version = 1,
	.save = host_save,
	.restore = host_restore,
	.destroy = host_destroy,
};

static int register_windows(struct vm *vm, struct pci_host *h,
			    const struct arch_pci_layout *l)
{
	h->bus.ecam_base = l->ecam_base;
	h->bus.ecam_size = l->ecam_size;
	return vm_register_pio(vm, PCI_CONF1_ADDR_PORT, 8, &conf1_ops, h,
			       "pci-conf1") ||
	       vm_register_mmio(vm, l->ecam_base, l->ecam_size, &ecam_ops, h,
				"pci-ecam") ||
	       vm_register_mmio(vm, l->mmio_base, l->mmio_size,
				&mmio_window_ops, h, "pci-mmio") ||
	       vm_register_pio(vm, (uint16_t)l->io_base, (uint16_t)l->io_size,
			       &io_window_ops, h, "pci-io");
}

int pci_host_create(struct vm *vm)
{
	struct arch_pci_layout l;
	struct pci_window mmio, io;
	struct pci_host *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	arch_pci_layout(&l);
	mmio = (struct pci_window){ .base = l.mmio_base, .size = l.mmio_size };
	io = (struct pci_window){ .base = l.io_base, .size = l.io_size };
	h->vm = vm;
	pci_bus_init(&h->bus, vm, &mmio, &io);
	if (msi_routes_init(&h->msi, vm)) {
		pci_bus_fini(&h->bus);
		free(h);
		return -1;
	}
	if (!vm_add_device(vm, DEVICE_PCI_HOST, &host_device_ops, h)) {
		msi_routes_fini(&h->msi);
		pci_bus_fini(&h->bus);
		free(h);
		return -1;
	}
	vm->pci = h;
	pci_dev_init(&h->bridge, "pci-host", PCI_HOST_VENDOR, PCI_HOST_DEVICE,
		     0x060000, 0);
	if (pci_bus_add(&h->bus, &h->bridge, 0) || register_windows(vm, h, &l))
		return -1;
	return 0;
}
