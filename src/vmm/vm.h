/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vm.h - one virtual machine: the KVM VM file descriptor, guest memory,
 * the I/O buses, the vCPUs, the devices, and the VM's lifecycle.
 *
 * Ownership: the main thread creates and destroys everything here. vCPU
 * threads only read the buses and memory table (fixed before they start)
 * and call vm_request_stop(). See docs/design.md.
 *
 * Pause: vm_pause() kicks every vCPU out of KVM_RUN and waits until all
 * are parked on pause_cond, at an instruction boundary, parks the I/O
 * thread and quiesces every device (device_pause_all()); the KVM clock is
 * saved then and restored by vm_resume(), so the guest's clock does not
 * jump over the pause. One controlling thread at a time calls vm_pause()
 * and vm_resume() (the API thread, under its lock).
 */
#ifndef VMON_VMM_VM_H
#define VMON_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "../config/config.h"
#include "device.h"
#include "kvm.h"
#include "memory.h"

struct vcpu;
struct iothread;
struct arch_vm;
struct pci_host;

#define VM_CONSOLE_OUTS 4

struct outq;

struct vm {
	struct kvm *kvm;
	int fd;
	const struct vm_config *cfg;

	struct guest_mem mem;
	/*
	 * The ROM window arch_rom_window() names, mapped and in its memory
	 * slot from the start; vm_add_rom() fills it and takes it over.
	 * Shared: it is rom_shared_image()'s pages, never written or unmapped.
	 */
	uint8_t *rom_window;
	uint64_t rom_window_size;
	bool rom_window_shared;
	struct bus pio;
	struct bus mmio;

	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	struct arch_vm *arch; /* the architecture's vCPU model (x86: CPUID) */
	char *cmdline; /* the final guest command line */

	/* Every device, typed (device.h); destroyed newest first. */
	struct device_registry devices;
	/*
	 * The virtio I/O thread, NULL without virtio devices; vm_destroy()
	 * stops it before it destroys the devices it serves.
	 */
	struct iothread *io;
	struct pci_host *pci; /* the PCI host bridge (src/pci), or NULL */
	/*
	 * The guest consoles' output queues by descriptor, for consoles that
	 * print to the same one to share a queue (devices/console_out.c).
	 */
	struct {
		struct outq *q;
		int fd;
	} console_outs[VM_CONSOLE_OUTS];

	/* Lifecycle: the first vm_request_stop() sets the exit code. */
	pthread_mutex_t lock;
	atomic_bool stopping;
	int exit_code;
	int stop_efd; /* eventfd: the main loop wakes up when stopping */

	/* Pause protocol, all under pause_lock. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_bool pause_req; /* vCPUs park instead of entering KVM_RUN */
	atomic_bool paused; /* all running vCPUs parked, clock saved */
	unsigned int nr_running; /* vCPU threads not yet returned */
	unsigned int nr_parked;
	uint64_t paused_clock; /* KVM_GET_CLOCK at pause time */
	/* The host's wall clock then (ns since the epoch; 0: unknown) */
	uint64_t paused_realtime;
	bool clock_saved;
	/*
	 * Set by a snapshot load with clock_realtime: the next resume adds
	 * the wall-clock time since paused_realtime to the guest's clock.
	 */
	bool clock_advance;
	/* The Uffd back-end's userfaultfd (snapshot/uffd.h), or -1 */
	int uffd;
	/*
	 * Guest RAM given back to the host (vm_discard()): under
	 * discard_lock, through discard_hook while something other than the
	 * kernel fills missing pages (a post-copy migration's pages to come).
	 */
	pthread_mutex_t discard_lock;
	int (*discard_hook)(void *opaque, uint8_t *hva, uint64_t len);
	void *discard_opaque;
	/* Entries of each vCPU's dirty ring, 0: no ring (dirty.h) */
	uint32_t dirty_ring_entries;
	/*
	 * CLOCK_MONOTONIC ns of a vCPU's first KVM_RUN since the last
	 * vm_resume() (or the start): a migration's "vCPU runs" mark.
	 */
	_Atomic uint64_t run_ns;
	/*
	 * ACPI S3 (vm_suspend(), vm_wake()): the vCPUs stay parked while
	 * set, as in a pause; devices and RAM are kept.
	 */
	atomic_bool asleep;
};

/*
 * Creates the VM: KVM VM, memory (RAM and the ROM window), then
 * arch_vm_init() (irqchip...) and the vCPUs.
 */
int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg);
/*
 * As vm_create(), with guest RAM mapped private from @mem_fd (a
 * snapshot's memory file of cfg->mem_size bytes) instead of anonymous
 * memory; @mem_fd may be closed afterwards. -1: vm_create().
 */
int vm_create_from(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg,
		   int mem_fd);
/*
 * Stops and joins the vCPUs, stops the I/O thread, destroys the devices
 * (newest first), frees memory, closes fds.
 */
void vm_destroy(struct vm *vm);

/*
 * Registers a device of @kind with the VM (device.h). Returns its handle,
 * or NULL if there are too many devices (the caller frees @opaque).
 */
struct device *vm_add_device(struct vm *vm, enum device_kind kind,
			     const struct device_ops *ops, void *opaque);
/* The @nth device of @kind in creation order, or NULL. */
static inline struct device *vm_device(struct vm *vm, enum device_kind kind,
				       unsigned int nth)
{
	return device_find(&vm->devices, kind, nth);
}

/*
 * The ROM window (arch_rom_window()) while no ROM took it: its memory,
 * zeros and writable by vmon, to build a ROM in place for vm_add_rom()
 * (no copy); NULL once taken. @gpa and @size say where it is.
 */
uint8_t *vm_rom_window(struct vm *vm, uint64_t *gpa, uint64_t *size);

/*
 * The contents of the ROM window at @gpa of @size bytes when they are the
 * same for every VM of configuration @cfg (src/devices/rom.c: no
 * firmware), page-aligned in the binary's read-only data, or NULL. The
 * window maps those pages instead of anonymous memory: instances share
 * them as they share the binary's text, and nothing fills them at start.
 * vm_rom_window() then returns them: only vm_add_rom() of that same
 * image may take the window.
 */
const uint8_t *rom_shared_image(const struct vm_config *cfg, uint64_t gpa,
				uint64_t size);

/*
 * Maps @size bytes (a multiple of 4 KiB) at @gpa as read-only guest memory
 * (KVM_MEM_READONLY) holding a copy of @data: guest reads see it, guest
 * writes exit to vmon, which drops them. Before vm_start() only. @data may
 * be the ROM window's own memory (vm_rom_window()), filled in place.
 */
int vm_add_rom(struct vm *vm, uint64_t gpa, const void *data, uint64_t size,
	       const char *name);

/* Registers an I/O port or MMIO range for a device. */
int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len,
		    const struct bus_ops *ops, void *opaque, const char *name);
int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len,
		     const struct bus_ops *ops, void *opaque, const char *name);

/* Sets ISA/GSI interrupt line @gsi to @level (in-kernel irqchip). */
int vm_irq_line(struct vm *vm, unsigned int gsi, int level);

/*
 * Asks the VM to stop with @code; the first request wins, later ones are
 * ignored. Safe from any thread. @why (may be NULL) is logged at info level.
 */
void vm_request_stop(struct vm *vm, int code, const char *why);
static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

/*
 * Stops all vCPUs at an instruction boundary and saves the KVM clock.
 * Returns 0 (also when already paused), or -1 if the VM is stopping.
 * Bounded: a kicked vCPU leaves KVM_RUN at once. Any thread but a vCPU's.
 */
int vm_pause(struct vm *vm);
/* Restores the KVM clock and lets the vCPUs run again; 0 or -1. */
int vm_resume(struct vm *vm);
static inline bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->paused);
}
/* The guest's KVM clock in ns (KVM_GET_CLOCK), or -1 on error. */
int64_t vm_guest_clock(struct vm *vm);

/*
 * Suspend to RAM (ACPI S3): every vCPU parks at its next exit, the
 * caller's (a vCPU thread) after the exit it is handling. Safe from any
 * thread.
 */
void vm_suspend(struct vm *vm);
/*
 * Ends a suspend: the boot vCPU restarts at @boot (arch_vcpu_wake()), the
 * others as after an INIT (waiting for a SIPI). Safe from any thread.
 */
struct boot_entry;
void vm_wake(struct vm *vm, const struct boot_entry *boot);

/* Starts all vCPU threads; returns 0 or -1. */
int vm_start(struct vm *vm);

/*
 * Gives [hva, hva + len) of guest RAM back to the host (the balloon):
 * MADV_DONTNEED, or MADV_REMOVE for RAM shared from a file (whose pages
 * would otherwise stay in the page cache); through the discard hook when
 * one is set. Both page aligned. 0, or -1 with errno. Any thread.
 */
int vm_discard(struct vm *vm, uint8_t *hva, uint64_t len);
/*
 * Sets (or with NULL clears) the hook vm_discard() calls instead of
 * madvise(): it must give the range back itself. Once this returns, no
 * call of the previous hook is running or will start.
 */
void vm_set_discard_hook(struct vm *vm,
			 int (*hook)(void *opaque, uint8_t *hva, uint64_t len),
			 void *opaque);

#endif
