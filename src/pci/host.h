/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * host.h - the PCI host bridge of a VM (docs/pci.md): configuration
 * mechanism #1 on ports 0xcf8/0xcfc, ECAM, the BAR windows, the bridge's
 * own function at 00:00.0, and the MSI routes of the VM's GSIs.
 */
#ifndef VMON_PCI_HOST_H
#define VMON_PCI_HOST_H

#include "msi.h"
#include "pci.h"

struct vm;
struct pci_hotplug;

#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc

/* The bridge: Red Hat's "QEMU PCIe host bridge" identity. */
#define PCI_HOST_VENDOR 0x1b36
#define PCI_HOST_DEVICE 0x0008

struct pci_host {
	struct vm *vm;
	struct pci_bus bus;
	struct pci_dev bridge;
	struct msi_routes msi;
	struct pci_hotplug *hotplug; /* hotplug.h: with ACPI, else NULL */
};

/*
 * Creates the host bridge of @vm (vm->pci) and registers its ports and
 * windows. 0, or -1 (logged). The VM's device registry tears it down
 * after the devices on it (created later, destroyed first).
 */
int pci_host_create(struct vm *vm);

/* The bus's port and MMIO handlers (exposed for the unit tests). */
void pci_conf1_read(void *opaque, uint64_t off, void *data, unsigned int len);
void pci_conf1_write(void *opaque, uint64_t off, const void *data,
		     unsigned int len);
void pci_ecam_read(void *opaque, uint64_t off, void *data, unsigned int len);
void pci_ecam_write(void *opaque, uint64_t off, const void *data,
		    unsigned int len);

#endif
