/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmio.h - the virtio-mmio transport (version 2, virtio 1.2 section 4.2)
 * and the device framework the device models (blk, rng, console...) plug
 * into: register file, feature negotiation, device status, queue setup,
 * notifications in through ioeventfd and interrupts out through irqfd.
 *
 * Threads: register accesses arrive on vCPU threads; queue kicks and all
 * device work run on the I/O thread. Both hold dev->lock, so a device's
 * callbacks are never concurrent with each other or with a reset.
 */
#ifndef VMON_VIRTIO_MMIO_H
#define VMON_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/device.h"
#include "virtq.h"

struct vm;
struct iothread;

/* Device status bits (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Transport feature bits (virtio 1.2, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Interrupt status bits. */
#define VIRTIO_INT_USED 1
#define VIRTIO_INT_CONFIG 2

/* Register offsets (virtio 1.2, 4.2.2). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4e4f4d56 /* "VMON" */
#define VIRTIO_MMIO_SIZE 0x200

#define VIRTIO_MAX_QUEUES 8

struct virtio_dev;

struct virtio_dev_ops {
	uint32_t device_id;
	/* Device-specific configuration space (offset from 0x100). */
	void (*config_read)(struct virtio_dev *d, uint64_t off, void *data,
			    unsigned int len);
	void (*config_write)(struct virtio_dev *d, uint64_t off,
			     const void *data, unsigned int len);
	/* The driver notified queue @q (I/O thread). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* DRIVER_OK was set; returns 0 or -1 (device then NEEDS_RESET). */
	int (*activate)(struct virtio_dev *d);
	/* Back to the initial state: stop and forget in-flight work. */
	void (*reset)(struct virtio_dev *d);
	/* Frees the device model's state @priv (teardown, I/O thread gone). */
	void (*destroy)(void *priv);
	/*
	 * The device model's part of the device interface (device.h), each
	 * called with the device lock held, the transport handling its own
	 * state around them. pause: finish in-flight host I/O; resume: undo.
	 * save: the model's state (version @state_version); restore: read it
	 * back after the transport's state, checking all before applying any;
	 * on failure the transport resets the device. A restored device that
	 * is DRIVER_OK gets activate() again to set its back-end up.
	 */
	uint32_t state_version;
	void (*pause)(struct virtio_dev *d);
	void (*resume)(struct virtio_dev *d);
	int (*save)(struct virtio_dev *d, struct state_writer *w);
	int (*restore)(struct virtio_dev *d, struct state_reader *r);
};

/*
 * A transport other than virtio-mmio (virtio-pci) hooks the framework
 * here; all run with the device lock held.
 */
struct virtio_transport {
	/*
	 * Interrupts the driver for queue @q (-1: configuration change),
	 * the ISR bits already set; false: raise the device's line instead.
	 */
	bool (*interrupt)(struct virtio_dev *d, int q);
	/* The driver reset the device (status 0). */
	void (*reset)(struct virtio_dev *d);
	/* Teardown, before the model's destroy. */
	void (*destroy)(struct virtio_dev *d);
	/* Snapshots: the transport's state, after the model's section. */
	void (*save)(struct virtio_dev *d, struct state_writer *w);
	/* Reads and checks it, applying nothing; 0 or -1 (@r failed). */
	int (*load)(struct virtio_dev *d, struct state_reader *r);
	/* Applies what load() read if @apply, else forgets it. */
	void (*loaded)(struct virtio_dev *d, bool apply);
};

struct virtio_kick {
	struct virtio_dev *dev;
	unsigned int q;
	int fd;
	bool ioeventfd; /* KVM signals fd on a QueueNotify write of q */
};

struct virtio_dev {
	struct vm *vm;
	struct iothread *io;
	struct device *device; /* the VM's handle of this device */
	const struct virtio_dev_ops *ops;
	void *priv;
	const struct virtio_transport *tp; /* NULL: virtio-mmio */
	void *tp_priv;
	char name[32];
	uint64_t base;
	unsigned int irq;

	pthread_mutex_t lock;
	uint64_t host_features;
	uint64_t driver_features;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel;
	uint32_t status;
	uint32_t config_generation;
	atomic_uint isr;

	unsigned int nr_queues;
	uint16_t queue_max;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	struct virtio_kick kicks[VIRTIO_MAX_QUEUES];
	int call_fd; /* eventfd; with irqfd, KVM raises the IRQ from it */
	bool irqfd;
	/*
	 * Restored from a snapshot or a migration: the first resume looks at
	 * every queue once, as the guest's kicks for requests still on the
	 * rings (left there by a rate limiter or a full ring) went to the
	 * device that saved them.
	 */
	bool requeue_on_resume;
};

/*
 * Creates a device at MMIO @base with interrupt @irq, @nr_queues queues of
 * at most @queue_max entries, offering @features (the transport adds
 * VERSION_1, INDIRECT_DESC and EVENT_IDX). Registers it with the VM's
 * device registry under the kind of @ops->device_id (DEVICE_VIRTIO_BLK...).
 * Takes @priv: ops->destroy(@priv) runs at teardown, or at once if creation
 * fails (NULL returned). Without a KVM VM (vm->fd < 0, unit tests) kicks
 * arrive by MMIO write only and interrupts only signal call_fd.
 */
struct virtio_dev *virtio_mmio_create(struct vm *vm, struct iothread *io,
				      uint64_t base, unsigned int irq,
				      const struct virtio_dev_ops *ops,
				      unsigned int nr_queues,
				      uint16_t queue_max, uint64_t features,
				      void *priv, const char *name);

/*
 * The transport-neutral part of virtio_mmio_create(): the device, its
 * queues' kick eventfds on @io, its registration. The transport then sets
 * base, irq (and tp) and registers its registers and KVM eventfds.
 */
struct virtio_dev *virtio_dev_new(struct vm *vm, struct iothread *io,
				  const struct virtio_dev_ops *ops,
				  unsigned int nr_queues, uint16_t queue_max,
				  uint64_t features, void *priv,
				  const char *name);
/* KVM raises d->irq from call_fd (irqfd); 0 or -1 (logged). */
int virtio_setup_irqfd(struct virtio_dev *d);

/*
 * virtio_mmio_create(), or virtio_pci_create() (pci.h) when the VM's
 * configuration puts virtio devices on PCI (cfg->virtio_pci), which
 * takes @irq for INTx and ignores @base: what the device models call.
 */
struct virtio_dev *virtio_dev_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct virtio_dev_ops *ops,
				     unsigned int nr_queues, uint16_t queue_max,
				     uint64_t features, void *priv,
				     const char *name);

/* The common register semantics, shared by the transports (lock held). */
void virtio_write_driver_features(struct virtio_dev *d, uint32_t v);
void virtio_write_status(struct virtio_dev *d, uint32_t v);
void virtio_write_queue_ready(struct virtio_dev *d, struct virtq *vq,
			      uint32_t v);

/*
 * The @nth virtio device of @kind (DEVICE_VIRTIO_BLK...), in creation
 * order, or NULL: the control plane's typed lookup.
 */
struct virtio_dev *virtio_find(struct vm *vm, enum device_kind kind,
			       unsigned int nth);

/* The kernel command-line entry announcing @d: "virtio_mmio.device=..." */
int virtio_mmio_cmdline(const struct virtio_dev *d, char *buf, size_t len);

static inline bool virtio_has_feature(const struct virtio_dev *d,
				      unsigned int bit)
{
	return d->driver_features & (1ULL << bit);
}

/* Whether queue @q may be processed (DRIVER_OK, not broken, enabled). */
bool virtio_queue_usable(const struct virtio_dev *d, unsigned int q);

/* After pushing used entries on @q: interrupts the driver if it wants. */
void virtio_notify_queue(struct virtio_dev *d, unsigned int q);
/* Makes the I/O thread call queue_notify(@q) again (work left over). */
void virtio_requeue(struct virtio_dev *d, unsigned int q);
/* Raises a configuration-change interrupt (config changed). */
void virtio_config_changed(struct virtio_dev *d);
/*
 * Checks queue @q for a violation found by the walker; if there is one,
 * sets DEVICE_NEEDS_RESET, logs once and returns true. Call with the lock.
 */
bool virtio_check_queue(struct virtio_dev *d, unsigned int q);
/* Puts the device into DEVICE_NEEDS_RESET for @why (logged once). */
void virtio_set_broken(struct virtio_dev *d, const char *why);

/* The MMIO register file (exposed for tests and the fuzzer). */
void virtio_mmio_read(void *opaque, uint64_t off, void *data, unsigned int len);
void virtio_mmio_write(void *opaque, uint64_t off, const void *data,
		       unsigned int len);

#endif
