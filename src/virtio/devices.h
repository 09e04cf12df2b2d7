/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devices.h - constructors of the virtio device models, and the code that
 * places all configured virtio devices on the MMIO window, starts the I/O
 * thread and announces the devices on the kernel command line.
 */
#ifndef VMON_VIRTIO_DEVICES_H
#define VMON_VIRTIO_DEVICES_H

#include <stdint.h>

#include "../config/config.h"
#include "../util/registry.h"

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

/* virtio-net (device 1) on a tap device. */
struct virtio_dev *virtio_net_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct net_config *net);

/* virtio-vsock (device 19): the guest's vsock, bridged to Unix sockets. */
struct virtio_dev *virtio_vsock_create(struct vm *vm, struct iothread *io,
				       uint64_t base, unsigned int irq,
				       const struct vsock_config *vsock);

/* virtio-balloon (device 5); run-time control in balloon.h. */
struct virtio_dev *virtio_balloon_create(struct vm *vm, struct iothread *io,
					 uint64_t base, unsigned int irq,
					 const struct balloon_config *balloon);

/*
 * virtio-console (device 3): hvc0. Guest output goes to @out_fd (-1:
 * dropped); input is read from @in_fd (-1: none) on the I/O thread.
 */
struct virtio_dev *virtio_console_create(struct vm *vm, struct iothread *io,
					 uint64_t base, unsigned int irq,
					 int in_fd, int out_fd);

/*
 * A virtio device type: how many devices of it the configuration asks for
 * and how to create the i-th one in the slot at @base with line @irq.
 * Each model describes itself in its own file with VIRTIO_TYPE(); the
 * placement below creates the devices of every registered type, types in
 * ascending @order (the slot order, which the guest sees as its device
 * order), devices of a type in configuration order: the i-th device of a
 * type has registry index i, which the control plane relies on.
 */
struct virtio_place {
	struct vm *vm; /* vm->cfg: the configuration */
	struct iothread *io;
	uint64_t base;
	unsigned int irq;
	int con_in, con_out; /* the console's terminal (virtio-console) */
};

struct virtio_type {
	const char *what; /* "disk", "net"...: for placement errors */
	unsigned int order;
	unsigned int (*count)(const struct vm_config *cfg);
	struct virtio_dev *(*create)(const struct virtio_place *p,
				     unsigned int i);
};

REGISTRY_DECLARE(const struct virtio_type, vmon_virtio_types);
#define VIRTIO_TYPE(type) REGISTER(vmon_virtio_types, type)

/*
 * Creates every virtio device @vm->cfg asks for, with the I/O thread that
 * serves them (a virtio console uses @con_in and @con_out), and returns in
 * *@cmdline (malloc'd, "" if none) the virtio_mmio.device= entries to
 * append to the guest command line. Returns 0 or -1 (logged). Teardown
 * goes through the VM's device registry; the n-th configured drive
 * (network interface), cfg->disks[n] (nets[n]), is the n-th
 * DEVICE_VIRTIO_BLK (_NET).
 */
int virtio_devices_create(struct vm *vm, int con_in, int con_out,
			  char **cmdline);

/*
 * Hot plug: creates the @i-th device of the type called @what ("disk",
 * "net"), which vm->cfg lists, on the VM's I/O thread with INTx line
 * @irq (virtio-pci: in the lowest free PCI slot). NULL on error (logged).
 */
struct virtio_dev *virtio_type_create(struct vm *vm, const char *what,
				      unsigned int i, unsigned int irq);

#endif
