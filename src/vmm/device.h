/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * device.h - the device model: one interface every device implements
 * (legacy PC devices and virtio-mmio transports alike), and the typed
 * registry the VM owns. docs/device-model.md describes both.
 *
 * A device is created from the configuration by its constructor, which
 * registers it with vm_add_device() under its kind; the registry numbers
 * devices of one kind in creation order (index) and hands out stable
 * handles (struct device *, valid until the VM is destroyed). The control
 * plane finds a device by kind and index, then gets the typed model with
 * device_model(), which checks the kind: never by a name string.
 *
 * Operations (each optional, NULL: nothing to do / no state):
 *  reset    back to the power-on state (not yet called by the VM: reboot
 *           ends vmon; here for the snapshot and reboot work).
 *  pause    quiesce: after it returns the device touches neither guest
 *           memory nor its interrupt line until resume, and host I/O it had
 *           in flight has completed (virtio-blk drains io_uring). Called by
 *           vm_pause() after the vCPUs and the I/O thread are parked.
 *  resume   undoes pause (vm_resume(), before the vCPUs run again).
 *  save     appends the device's state to a state_writer; only while the
 *           device is paused (or not started). Returns 0 or -1.
 *  restore  reads state written by save (same kind, same configuration)
 *           from an untrusted reader; checks every value first and, on
 *           failure, leaves the device as it was or in its reset state.
 *           Only while paused or before start. Returns 0 or -1 (r->err).
 *  destroy  frees the device; the registry calls it in reverse order of
 *           creation, after the vCPUs and the I/O thread are stopped.
 *
 * Threads and lock order. Threads: main (console, signals, teardown), one
 * per vCPU (register accesses), the I/O thread (virtio queues, back-end
 * completions, control requests posted with iothread_call()), the API
 * thread (control plane). Locks, outermost first; a thread holding one
 * only takes locks further down the list:
 *   1. api_ctx.lock        the control plane (API thread; main thread
 *                          before teardown).
 *   2. a device lock       virtio_dev.lock, serial, i8042, rtc, fw_cfg,
 *                          testdev: one at a time, never two devices'.
 *   3. vm.lock             vm_request_stop(), which may be called with a
 *                          device lock held (i8042 reset, console C-a x);
 *   4. vm.pause_lock       then this one, to wake parked vCPUs.
 *   5. iothread.pause_lock vm_pause() parks the I/O thread under 4;
 *                          iothread_call() holds it only to queue a call.
 *   6. iothread.lock, iothread.call_lock: leaves (handler list, calls).
 * vm_pause() releases vm.pause_lock before it calls the devices' pause
 * ops, which take their device lock: no device op is called with a VM
 * lock held, and nothing waits for a device lock under 3, 4 or 5.
 * Host I/O is never waited for under a device lock on the API thread:
 * back-end requests (virtio_blk_set_path) are posted to the I/O thread,
 * which owns the back-end; while that thread is parked (VM paused, so the
 * device is quiesced and has nothing in flight) they run on the caller.
 */
#ifndef VMON_VMM_DEVICE_H
#define VMON_VMM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

enum device_kind {
	DEVICE_SERIAL,
	DEVICE_I8042,
	DEVICE_RTC,
	DEVICE_DEBUG_EXIT,
	DEVICE_POST,
	DEVICE_ROM,
	DEVICE_TESTDEV,
	DEVICE_FW_CFG,
	DEVICE_HYPERCALL,
	/*
	 * virtio-mmio transports, by the virtio device id behind them:
	 * DEVICE_VIRTIO(id). A new virtio device needs no entry here; the
	 * names below are shorthands for the control plane and the tests.
	 */
	DEVICE_VIRTIO_BASE,
	DEVICE_VIRTIO_NET = DEVICE_VIRTIO_BASE + 1,
	DEVICE_VIRTIO_BLK = DEVICE_VIRTIO_BASE + 2,
	DEVICE_VIRTIO_CONSOLE = DEVICE_VIRTIO_BASE + 3,
	DEVICE_VIRTIO_RNG = DEVICE_VIRTIO_BASE + 4,
	DEVICE_VIRTIO_BALLOON = DEVICE_VIRTIO_BASE + 5,
	DEVICE_VIRTIO_VSOCK = DEVICE_VIRTIO_BASE + 19,
	DEVICE_VIRTIO_END = DEVICE_VIRTIO_BASE + 64,
	/* Kinds added later go here: the numbers above are in snapshots. */
	DEVICE_ACPI_PM = DEVICE_VIRTIO_END,
	DEVICE_PCI_HOST,
	DEVICE_FW_DEBUG, /* the firmware's debug port 0x402 (--firmware) */
	DEVICE_BOOT_TIMER, /* Firecracker's boot timer (--boot-timer) */
	DEVICE_PCI_HOTPLUG, /* src/pci/hotplug.c */
	DEVICE_REMOVED, /* a hot-unplugged device's empty place */
	DEVICE_NR_KINDS
};

/* Virtio device ids 1..63 (the virtio specification's list). */
#define DEVICE_VIRTIO_ID_MAX 63
/* The kind of a virtio-mmio transport with virtio device @id. */
#define DEVICE_VIRTIO(id) ((enum device_kind)(DEVICE_VIRTIO_BASE + (id)))

#define DEVICE_MAX 64

struct device;

struct device_ops {
	uint32_t state_version; /* of what save writes */
	void (*reset)(struct device *dev);
	void (*pause)(struct device *dev);
	void (*resume)(struct device *dev);
	int (*save)(struct device *dev, struct state_writer *w);
	int (*restore)(struct device *dev, struct state_reader *r);
	void (*destroy)(struct device *dev);
};

struct device {
	enum device_kind kind;
	unsigned int index; /* among devices of its kind, creation order */
	unsigned int id; /* position in the registry */
	const struct device_ops *ops;
	void *opaque; /* the model: use device_model() */
};

struct device_registry {
	struct device devs[DEVICE_MAX];
	unsigned int nr;
	unsigned int per_kind[DEVICE_NR_KINDS];
};

/* For devices without state or resources of their own (ports only). */
extern const struct device_ops device_stateless_ops;

/* "serial", "virtio-blk"... for messages. */
const char *device_kind_name(enum device_kind kind);
static inline bool device_kind_is_virtio(enum device_kind kind)
{
	return kind > DEVICE_VIRTIO_BASE && kind < DEVICE_VIRTIO_END;
}

/*
 * Registers @opaque as the next device of @kind. Returns its handle, or
 * NULL (logged) if the registry is full; the caller then frees @opaque.
 */
struct device *device_register(struct device_registry *reg,
			       enum device_kind kind,
			       const struct device_ops *ops, void *opaque);
/* The @nth device of @kind (creation order), or NULL. */
struct device *device_find(struct device_registry *reg, enum device_kind kind,
			   unsigned int nth);
/* The model of @dev if @dev is a @kind device, else NULL (NULL-safe). */
void *device_model(const struct device *dev, enum device_kind kind);

/*
 * Hot unplug: destroys @dev (the VM paused) and leaves an empty place
 * (DEVICE_REMOVED, no ops) so other handles stay valid; the devices of
 * its kind with a higher index move down one, as the configuration's
 * list. device_register() reuses such a place once the registry is full.
 */
void device_remove(struct device_registry *reg, struct device *dev);

/* Every device, in creation order (pause: reverse order). */
void device_reset_all(struct device_registry *reg);
void device_pause_all(struct device_registry *reg);
void device_resume_all(struct device_registry *reg);
/* Destroys every device, newest first, and empties the registry. */
void device_destroy_all(struct device_registry *reg);

/*
 * One device's state as a section (tag: kind and index, version: the
 * ops' state_version). device_restore() checks the section belongs to
 * @dev and that the device read all of it.
 */
int device_save(struct device *dev, struct state_writer *w);
int device_restore(struct device *dev, struct state_reader *r);
/* All devices: a count, then each device's section in creation order. */
int device_save_all(struct device_registry *reg, struct state_writer *w);
int device_restore_all(struct device_registry *reg, struct state_reader *r);

#endif
