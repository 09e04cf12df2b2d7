// SPDX-License-Identifier: GPL-2.0-only
/*
 * hotplug.c - hot plug and unplug of virtio-pci devices (hotplug.h): the
 * slot and INTx line of a new device, its creation through the device
 * types' registry (setup.c), the ACPI controller's notifications, and the
 * freeing of the devices the guest ejected.
 */
#include "hotplug.h"

#include <stdio.h>

#include "../acpi/tables.h"
#include "../arch/arch.h"
#include "../pci/host.h"
#include "../pci/hotplug.h"
#include "../vmm/iothread.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "pci.h"

bool virtio_hotplug_possible(struct vm *vm, char *err, size_t len)
{
	if (!vm->pci || !vm->pci->hotplug) {
		snprintf(err, len, "hotplug needs PCI with ACPI (%s is off)",
			 vm->pci ? "ACPI" : "PCI");
		return false;
	}
	return true;
}

int virtio_hotplug_prepare(struct vm *vm, char *err, size_t len)
{
	if (vm->io)
		return 0;
	/* The VM started without virtio devices: their thread, now. */
	vm->io = iothread_create();
	if (vm->io && !iothread_start(vm->io))
		return 0;
	snprintf(err, len, "the virtio I/O thread could not be started");
	return -1;
}

/*
 * The lowest free slot that has an INTx line of its own (the platform's
 * virtio lines, not the SCI), with the line in *@irq; -1 if none.
 */
static int free_slot(struct vm *vm, unsigned int *irq)
{
	struct pci_bus *bus = &vm->pci->bus;
	int slot = -1;
	uint64_t base;

	pthread_mutex_lock(&bus->lock);
	for (unsigned int s = 1; s < PCI_MAX_DEVS && slot < 0; s++) {
		if (arch_virtio_mmio_slot(s - 1, &base, irq))
			break;
		/* Nor one an ejected device holds until it is reaped. */
		if (!bus->devs[s] && !(bus->held >> s & 1) &&
		    *irq != ACPI_SCI_IRQ)
			slot = (int)s;
	}
	pthread_mutex_unlock(&bus->lock);
	return slot;
}

/* The newest device of @kind if there are more than @before: a failed add. */
static void drop_partial(struct vm *vm, enum device_kind kind,
			 unsigned int before)
{
	struct device *dev;

	if (vm->devices.per_kind[kind] <= before)
		return;
	dev = device_find(&vm->devices, kind, vm->devices.per_kind[kind] - 1);
	if (dev)
		device_remove(&vm->devices, dev);
}

struct virtio_dev *virtio_hotplug_add(struct vm *vm, const char *what,
				      unsigned int i, char *err, size_t len)
{
	enum device_kind blk = DEVICE_VIRTIO_BLK, net = DEVICE_VIRTIO_NET;
	enum device_kind kind = what[0] == 'd' ? blk : net;
	unsigned int before = vm->devices.per_kind[kind], irq = 0;
	struct virtio_dev *d;
	int slot;

	if (!virtio_hotplug_possible(vm, err, len))
		return NULL;
	if (!vm->io) {
		snprintf(err, len,
			 "no virtio I/O thread (virtio_hotplug_prepare)");
		return NULL;
	}
	slot = free_slot(vm, &irq);
	if (slot < 0) {
		snprintf(err, len, "no free hotpluggable PCI slot");
		return NULL;
	}
	iothread_set_owner(vm->io, (unsigned int)slot);
	d = virtio_type_create(vm, what, i, irq);
	iothread_set_owner(vm->io, 0);
	if (!d || virtio_pci_slot(d) != slot || d->device->kind != kind ||
	    d->device->index != i) {
		iothread_remove_owner(vm->io, (unsigned int)slot);
		drop_partial(vm, kind, before);
		snprintf(err, len,
			 "the device could not be created (see the log)");
		return NULL;
	}
	pci_hotplug_inserted(vm->pci->hotplug, (unsigned int)slot);
	return d;
}

int virtio_hotplug_unplug(struct vm *vm, struct virtio_dev *d, char *err,
			  size_t len)
{
	int slot = virtio_pci_slot(d);

	if (!virtio_hotplug_possible(vm, err, len))
		return -1;
	if (slot < 0) {
		snprintf(err, len, "the device is not on PCI");
		return -1;
	}
	if (pci_hotplug_request_eject(vm->pci->hotplug, (unsigned int)slot)) {
		snprintf(
			err, len,
			"an unplug is pending: the guest has not ejected PCI slot %d yet",
			slot);
		return -1;
	}
	return 0;
}

bool virtio_hotplug_pending(struct vm *vm, struct virtio_dev *d)
{
	int slot = virtio_pci_slot(d);

	return slot >= 0 && vm->pci && vm->pci->hotplug &&
	       pci_hotplug_pending(vm->pci->hotplug, (unsigned int)slot);
}

/*
 * The virtio-pci device the guest ejected from @slot, or NULL: in the
 * registry with that slot and off the bus (one on the bus is never freed
 * here, whatever the slot bits say).
 */
static struct device *ejected_in_slot(struct vm *vm, unsigned int slot)
{
	for (unsigned int i = 0; i < vm->devices.nr; i++) {
		struct device *dev = &vm->devices.devs[i];

		if (device_kind_is_virtio(dev->kind) &&
		    virtio_pci_slot(dev->opaque) == (int)slot &&
		    !virtio_pci_on_bus(dev->opaque))
			return dev;
	}
	return NULL;
}

unsigned int virtio_hotplug_reap(struct vm *vm,
				 void (*gone)(void *opaque,
					      enum device_kind kind,
					      unsigned int index),
				 void *opaque)
{
	uint32_t slots;
	unsigned int n = 0;

	if (!vm->pci || !vm->pci->hotplug)
		return 0;
	slots = pci_hotplug_take_ejected(vm->pci->hotplug);
	for (unsigned int s = 0; s < PCI_MAX_DEVS; s++) {
		struct device *dev;

		if (!(slots >> s & 1))
			continue;
		dev = ejected_in_slot(vm, s);
		if (dev) {
			if (gone)
				gone(opaque, dev->kind, dev->index);
			/* Its fds leave the I/O thread before they close. */
			if (vm->io)
				iothread_remove_owner(vm->io, s);
			virtio_pci_unplugged(dev->opaque);
			device_remove(&vm->devices, dev);
			n++;
		}
		/* Free for the next hot-add. */
		pci_bus_hold(&vm->pci->bus, s, false);
	}
	return n;
}
