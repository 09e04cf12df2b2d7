/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hotplug.h - hot plug and unplug of virtio-pci devices on a running VM
 * (docs/pci.md), the VM side of the API's PUT and DELETE /drives/{id}
 * after boot: a device goes in the lowest free hotpluggable slot and the
 * guest is told through ACPI (src/pci/hotplug.h); an unplug asks the
 * guest to eject, and the device is freed once it has.
 *
 * Every call is from the control thread (the API thread, under its
 * lock); virtio_hotplug_add() and virtio_hotplug_reap() want the VM
 * paused (vm_pause()), so that no vCPU is inside the device.
 */
#ifndef VMON_VIRTIO_HOTPLUG_H
#define VMON_VIRTIO_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>

#include "../vmm/device.h"

struct vm;
struct virtio_dev;

/* Whether @vm can hot plug (PCI and ACPI); else @err says why. */
bool virtio_hotplug_possible(struct vm *vm, char *err, size_t len);

/*
 * Before virtio_hotplug_add(), the VM running: starts the virtio I/O
 * thread if the VM has none yet (it started without virtio devices).
 * 0, or -1 with @err.
 */
int virtio_hotplug_prepare(struct vm *vm, char *err, size_t len);

/*
 * Creates the @i-th device of type @what ("disk", "net"), which vm->cfg
 * already lists, and tells the guest. The device, or NULL with @err
 * (nothing is left of it then).
 */
struct virtio_dev *virtio_hotplug_add(struct vm *vm, const char *what,
				      unsigned int i, char *err, size_t len);

/*
 * Asks the guest to eject @d. 0, or -1 with @err (not on PCI, an eject
 * already pending).
 */
int virtio_hotplug_unplug(struct vm *vm, struct virtio_dev *d, char *err,
			  size_t len);

/* Whether an eject of @d was asked and the guest has not done it. */
bool virtio_hotplug_pending(struct vm *vm, struct virtio_dev *d);

/*
 * Frees the devices the guest ejected: for each, @gone(@opaque, kind,
 * index) first (the caller drops the configuration's entry), then the
 * device leaves the registry. Returns how many.
 */
unsigned int virtio_hotplug_reap(struct vm *vm,
				 void (*gone)(void *opaque,
					      enum device_kind kind,
					      unsigned int index),
				 void *opaque);

#endif
