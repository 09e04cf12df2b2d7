/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * layout.h - the guest-physical memory map vmon builds on x86 and the
 * fixed addresses of its boot structures. docs/design.md has the picture.
 */
#ifndef VMON_ARCH_X86_LAYOUT_H
#define VMON_ARCH_X86_LAYOUT_H

/* Boot structures in the first 640 KiB (all inside RAM, below EBDA). */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_IDT_ADDR 0x520ULL
#define BOOT_START_INFO_ADDR 0x6000ULL /* PVH hvm_start_info + memmap */
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL /* Linux boot_params */
#define BOOT_PML4_ADDR 0x9000ULL /* identity page tables: PML4, PDPT, */
#define BOOT_PDPT_ADDR 0xa000ULL /* and four PDs of 2 MiB pages that */
#define BOOT_PD_ADDR 0xb000ULL /* map the first 4 GiB */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 4096ULL
#define BOOT_STACK_ADDR 0x8ff0ULL

/* Legacy areas, reserved in the e820 map. */
#define EBDA_START 0x9fc00ULL
#define LOW_RAM_END 0xa0000ULL /* 640 KiB */
#define BIOS_START 0xf0000ULL /* MP floating pointer and table live here */
#define BIOS_END 0x100000ULL

#define KERNEL_LOAD_ADDR 0x100000ULL /* 1 MiB: default bzImage load */

/* The 32-bit MMIO hole: no RAM between 3 GiB and 4 GiB. */
#define MMIO_HOLE_START 0xc0000000ULL
#define MMIO_HOLE_END 0x100000000ULL

/* Virtio-mmio devices: slot n at VIRTIO_MMIO_WINDOW + n * 0x1000. */
#define VIRTIO_MMIO_WINDOW 0xd0000000ULL
#define VIRTIO_MMIO_STRIDE 0x1000ULL
#define VIRTIO_MMIO_SLOTS 16

/*
 * PCI (docs/pci.md): the memory window for BARs fills the hole's first
 * 256 MiB, below the virtio-mmio window; ECAM for bus 0 (1 MiB) sits
 * between the virtio-mmio window and the IOAPIC; I/O BARs go at 0xc000.
 */
#define PCI_MMIO_WINDOW MMIO_HOLE_START
#define PCI_MMIO_WINDOW_SIZE 0x10000000ULL
#define PCI_ECAM_ADDR 0xe0000000ULL
#define PCI_ECAM_SIZE 0x100000ULL /* bus 0 only */
#define PCI_IO_WINDOW 0xc000ULL
#define PCI_IO_WINDOW_SIZE 0x4000ULL

#define IOAPIC_ADDR 0xfec00000ULL
#define LAPIC_ADDR 0xfee00000ULL

/* KVM's private VMX pages, placed at the top of the hole as QEMU does. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR 0xfeffd000ULL

/* A read-only firmware area at the top of the hole (KVM_MEM_READONLY). */
#define ROM_ADDR 0xfffc0000ULL
#define ROM_SIZE 0x40000ULL /* 256 KiB, up to the reset vector at 4 GiB */

#endif
