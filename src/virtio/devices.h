/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devices.h - constructors of the virtio device models, and the code that
 * places all configured virtio devices on the MMIO window, starts the I/O
 * thread and announces the devices on the kernel command line.
 */
#ifndef VMON_VIRTIO_DEVICES_H
#define VMON_VIRTIO_DEVICES_H

#include <stdint.h>

#include "../vmm/config.h"

struct vm;
struct iothread;
struct virtio_dev;

/* virtio-rng (device 4): one queue filled from getrandom(). */
struct virtio_dev *virtio_rng_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq);

/* virtio-blk (device 2) backed by a raw image, I/O through io_uring. */
struct virtio_dev *virtio_blk_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct disk_config *disk);

/*
 * Creates every virtio device @vm->cfg asks for, with the I/O thread that
 * serves them, and returns in *@cmdline (malloc'd, "" if none) the
 * virtio_mmio.device= entries to append to the guest command line.
 * Returns 0 or -1 (logged). Teardown goes through the VM's device list.
 */
int virtio_devices_create(struct vm *vm, char **cmdline);

#endif
