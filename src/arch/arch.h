/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arch.h - what the VM core, the virtio placement and the program ask of
 * the architecture: the platform set-up of a new VM, the guest-physical
 * RAM layout, where virtio-mmio devices and their interrupt lines go, the
 * host check, the vCPU model, the kernel loaders and the boot vCPU.
 *
 * Each architecture implements all of it in its own folder, src/arch/ARCH
 * (x86: src/arch/x86, arch.c and the files it names), and meson.build picks
 * the folder of the host. What it keeps per host KVM and per VM hangs off
 * the opaque kvm->arch and vm->arch (x86: x86.h). The fatal-exit report,
 * vcpu_report() (vmm/vcpu.h), is the architecture's too (x86: report.c).
 */
#ifndef VMON_ARCH_ARCH_H
#define VMON_ARCH_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct arch_kvm;
struct arch_vm;
struct guest_mem;
struct kvm;
struct state_reader;
struct state_writer;
struct vcpu;
struct vm;
struct vm_config;

/* Where the boot vCPU starts: filled by arch_load_kernel(). */
struct boot_entry {
	int mode; /* the architecture's boot protocol (x86: enum boot_mode) */
	uint64_t entry; /* guest-physical entry point */
	uint64_t arg; /* the protocol's argument (x86: boot_params etc.) */
};

/* --- The host's KVM (src/vmm/kvm.c) --- */

/*
 * Checks what the architecture needs of the host's KVM at @path beyond the
 * common capabilities, caps kvm->max_vcpus to what its platform can
 * address, and fills kvm->arch (x86: the CPUID KVM supports). 0 or -1,
 * logged; kvm_close() then frees what was filled.
 */
int arch_kvm_open(struct kvm *kvm, const char *path);

/* Frees kvm->arch; safe on a partly opened @kvm. */
void arch_kvm_close(struct kvm *kvm);

/* --- The VM core (src/vmm/vm.c) --- */

/*
 * Platform set-up of a new VM, before its memory and vCPUs (x86: KVM's
 * TSS and identity-map pages, the in-kernel irqchip and PIT). 0 or -1,
 * logged.
 */
int arch_vm_init(struct vm *vm);

/* Frees vm->arch (the vCPU model, arch_cpu_setup()); safe if never set. */
void arch_vm_destroy(struct vm *vm);

/*
 * Lays out @ram_size bytes of guest RAM, mapped at @base on the host, as
 * regions of @mem around the architecture's holes (x86: below and above
 * the 32-bit MMIO hole, e820.c). No KVM call. 0, or -1 if @mem is full.
 */
int gmem_layout_ram(struct guest_mem *mem, uint8_t *base, uint64_t ram_size);

/*
 * The firmware ROM's window (x86: below 4 GiB, up to the reset vector).
 * vm_create_from() maps it with the RAM, before the irqchip exists, and
 * vm_add_rom() fills it (vm.c says why).
 */
void arch_rom_window(uint64_t *gpa, uint64_t *size);

/* --- Device placement (src/virtio/setup.c) --- */

/*
 * The guest-physical base and interrupt line of virtio-mmio slot @n;
 * returns 0, or -1 if the platform has no slot @n (slots are 0, 1, ...).
 */
int arch_virtio_mmio_slot(unsigned int n, uint64_t *base, unsigned int *irq);

/* --- PCI (src/pci/host.c) --- */

/* Where the PCI host bridge's ECAM and BAR windows go. */
struct arch_pci_layout {
	uint64_t ecam_base, ecam_size;
	uint64_t mmio_base, mmio_size; /* 32-bit memory BARs */
	uint64_t io_base, io_size; /* I/O BARs */
};
void arch_pci_layout(struct arch_pci_layout *l);

/*
 * The interrupt controller's routes of GSIs to pins (x86: the PICs and
 * the IOAPIC, as KVM's default or ACPI wants them) into @e (room for
 * @max); their number. Whoever sets the GSI routing (MSI-X) keeps them.
 */
struct kvm_irq_routing_entry;
unsigned int arch_irqchip_routes(const struct vm *vm,
				 struct kvm_irq_routing_entry *e,
				 unsigned int max);

/* --- Building a VM (src/app/run.c) --- */

/* Checks @cfg against what this host can give a guest; 0 or -1, logged. */
int arch_check_host(const struct kvm *kvm, const struct vm_config *cfg);

/*
 * Sets up the vCPU model of @vm, vm->arch, from its configuration (x86: the
 * CPUID template) before the vCPUs are initialised; options the guest
 * command line needs are appended to @extra (NUL-terminated, @extra_len
 * bytes). 0 or -1, logged.
 */
int arch_cpu_setup(struct vm *vm, char *extra, size_t extra_len);

/* Per-vCPU state from the vCPU model (x86: CPUID, LAPIC, MTRRs). */
int arch_vcpu_init(struct vcpu *vcpu);

/*
 * Loads @kernel (and @initrd, may be NULL) into guest memory with the
 * command line @cmdline in the format the file has, and fills @entry.
 * Errors are logged. Returns 0 or -1.
 */
int arch_load_kernel(struct vm *vm, const char *kernel, const char *initrd,
		     const char *cmdline, struct boot_entry *entry);

/*
 * Where the boot vCPU starts a BIOS in the ROM window (x86: the reset
 * vector, in real mode) instead of a kernel.
 */
void arch_firmware_entry(struct boot_entry *entry);

/* Sets the boot vCPU's registers for @entry; 0 or -1 (errno set). */
int arch_setup_boot_cpu(struct vcpu *vcpu, const struct boot_entry *entry);

/* A vm_wake() mode: the vCPU waits for a SIPI, as after an INIT. */
#define ARCH_WAKE_WAIT_SIPI (-1)
/*
 * Restarts @vcpu as firmware does on a resume from S3, on its own thread
 * before its next KVM_RUN: at @entry in the architecture's @mode (x86:
 * enum boot_mode), or waiting for a SIPI. No guest memory is written.
 * 0 or -1 (errno set).
 */
int arch_vcpu_wake(struct vcpu *vcpu, int mode, uint64_t entry);

/* --- Snapshots (src/snapshot; x86: vcpu_state.c, vm_state.c, cpu_model.c) --- */

/*
 * Appends one section with everything of @vcpu (paused or not started)
 * that KVM holds: registers, FPU, MSRs, interrupt controller, CPUID...
 * 0 or -1, logged.
 */
int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w);
/*
 * Reads that section from an untrusted @r, checks all of it (against this
 * host too) and only then gives it to KVM. 0, or -1 with @r failed.
 */
int arch_vcpu_restore(struct vcpu *vcpu, struct state_reader *r);
/*
 * The VM's own state (x86: PIC, IOAPIC, PIT, KVM clock) as one section;
 * restore as arch_vcpu_restore(), and the restored clock becomes the
 * paused clock vm_resume() sets.
 */
int arch_vm_save(struct vm *vm, struct state_writer *w);
int arch_vm_restore(struct vm *vm, struct state_reader *r);
/*
 * The CPU model and host features a snapshot depends on, as one section
 * of its header; _check() fails @r naming the first difference with this
 * host, _print() writes it for people.
 */
int arch_cpu_model_save(const struct kvm *kvm, struct state_writer *w);
void arch_cpu_model_check(const struct kvm *kvm, struct state_reader *r);
void arch_cpu_model_print(struct state_reader *r, FILE *f);

#endif
