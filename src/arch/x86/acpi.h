/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi.h - ACPI on x86 (acpi.c): the tables in guest memory and the
 * interrupt routing they describe.
 */
#ifndef VMON_ARCH_X86_ACPI_H
#define VMON_ARCH_X86_ACPI_H

struct vm;

/* The tables' block: the RSDP first, in the BIOS area a guest scans. */
#define ACPI_TABLES_ADDR 0xe0000ULL
#define ACPI_TABLES_SIZE 0x10000ULL
/* A virtio-mmio device's register window, as on the command line. */
#define ACPI_VIRTIO_MMIO_SIZE 0x200

/*
 * With ACPI on (cfg->acpi): builds the tables for @vm into guest memory
 * and sets vm->arch->rsdp; otherwise sets it to 0. 0 or -1, logged.
 */
int acpi_write_tables(struct vm *vm);
/*
 * The tables for firmware that places them (--firmware with ACPI): QEMU's
 * table-loader files (src/acpi/loader.h). 0 or -1, logged.
 */
struct acpi_loader;
int acpi_loader_for(struct vm *vm, struct acpi_loader *l);
/* ISA IRQ 0 to IOAPIC pin 2 (KVM_SET_GSI_ROUTING); 0 or -1, logged. */
int acpi_irq_routing(struct vm *vm);

#endif
