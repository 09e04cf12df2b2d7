/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hotplug.h - ACPI PCI hotplug of bus 0 (docs/pci.md): the controller's
 * register block the DSDT's methods read (slots brought up, slots the
 * host wants down) and write (eject), and the GPE0 block whose hotplug
 * bit raises the SCI, so Linux's acpiphp sees insertions and eject
 * requests without a driver of its own. The host side (the API) inserts
 * devices, asks for ejections and reaps the devices the guest ejected.
 */
#ifndef VMON_PCI_HOTPLUG_H
#define VMON_PCI_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

/* The register block (port I/O, dword accesses). */
#define PCI_HP_BASE 0xae00
#define PCI_HP_LEN 16
#define PCI_HP_UP 0x0 /* read: slots inserted since the last read (clears) */
#define PCI_HP_DOWN 0x4 /* read: slots the host asks the guest to eject */
#define PCI_HP_EJECT 0x8 /* write: eject the slots set (of those in DOWN) */
#define PCI_HP_SLOTS 0xc /* read: the hotpluggable slots (1..31) */
#define PCI_HP_SLOT_MASK 0xfffffffeU

/* GPE0: 2 bytes of status (write 1 to clear), then 2 of enable. */
#define ACPI_GPE0_BASE 0xafe0
#define ACPI_GPE0_LEN 4
#define ACPI_GPE_PCI_HOTPLUG 1 /* the bit, and \_GPE._E01 */

struct pci_hotplug {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t up, down; /* slot bits as the guest reads them */
	uint32_t ejected; /* off the bus, model not yet freed (reap) */
	uint16_t gpe_sts, gpe_en;
	/* Set by the SCI: the PM device (NULL in the unit tests). */
	void (*sci)(void *opaque, bool level);
	void *sci_opaque;
};

/*
 * Creates the controller of @vm (vm->pci and the ACPI PM device first)
 * and registers its ports; vm->pci->hotplug. 0 or -1 (logged).
 */
int pci_hotplug_create(struct vm *vm);

/* The ports' handlers and set-up without a VM (the unit tests). */
void pci_hotplug_init(struct pci_hotplug *h, struct vm *vm);
void pci_hp_read(void *opaque, uint64_t off, void *data, unsigned int len);
void pci_hp_write(void *opaque, uint64_t off, const void *data,
		  unsigned int len);
void pci_gpe_read(void *opaque, uint64_t off, void *data, unsigned int len);
void pci_gpe_write(void *opaque, uint64_t off, const void *data,
		   unsigned int len);

/* A device now in @slot: the guest is told (UP, the GPE). Any thread. */
void pci_hotplug_inserted(struct pci_hotplug *h, unsigned int slot);
/*
 * Asks the guest to eject @slot (DOWN, the GPE). 0, or -1 if an eject of
 * it is already pending or it is not a hotpluggable slot.
 */
int pci_hotplug_request_eject(struct pci_hotplug *h, unsigned int slot);
/* Whether an eject of @slot was asked and the guest has not done it. */
bool pci_hotplug_pending(struct pci_hotplug *h, unsigned int slot);
/*
 * The slots the guest ejected since the last call (their devices are
 * off the bus already): the caller frees their models, VM paused.
 */
uint32_t pci_hotplug_take_ejected(struct pci_hotplug *h);
/* Those slots, left in place. */
uint32_t pci_hotplug_ejected(struct pci_hotplug *h);

#endif
