/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tables.h - the ACPI tables vmon gives a guest (ACPI 6.5): RSDP, XSDT,
 * FADT, FACS, MADT and DSDT, built into one block of guest memory from a
 * description of the machine. No KVM, no VM: the unit tests build them
 * too. The x86 glue (src/arch/x86/acpi.c) fills the description and
 * places the block; the PM device (src/devices/acpi_pm.c) implements the
 * registers the FADT names.
 */
#ifndef VMON_ACPI_TABLES_H
#define VMON_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_VIRTIO 16

/* The PM registers (port I/O), as QEMU's PIIX4 places them. */
#define ACPI_PM_BASE 0x600
#define ACPI_PM1A_EVT (ACPI_PM_BASE + 0) /* status 2 bytes, enable 2 */
#define ACPI_PM1A_CNT (ACPI_PM_BASE + 4) /* 2 bytes */
#define ACPI_PM_TMR (ACPI_PM_BASE + 8) /* 4 bytes, 32-bit counter */
#define ACPI_RESET_PORT (ACPI_PM_BASE + 12) /* 1 byte */
#define ACPI_PM_LEN 16
#define ACPI_RESET_VALUE 0x01
#define ACPI_SCI_IRQ 9
/* SLP_TYP values of the \_S3 and \_S5 packages: QEMU's PIIX4 ones. */
#define ACPI_SLP_TYP_S3 1
#define ACPI_SLP_TYP_S5 0
/* PM1 status and enable bits, PM1 control bits */
#define ACPI_PM1_TMR (1U << 0)
#define ACPI_PM1_PWRBTN (1U << 8)
#define ACPI_PM1_RTC (1U << 10)
#define ACPI_PM1_WAK (1U << 15)
#define ACPI_PM1_SCI_EN (1U << 0)
#define ACPI_PM1_SLP_TYP(v) (((v) >> 10) & 7U)
#define ACPI_PM1_SLP_EN (1U << 13)
#define ACPI_PM_TIMER_HZ 3579545ULL

struct acpi_virtio {
	uint64_t base;
	uint32_t size;
	uint32_t irq;
};

/* The PCI host bridge (src/acpi/pci.c): MCFG and PCI0 when @on. */
struct acpi_pci {
	bool on;
	uint64_t ecam_base;
	uint8_t bus_end;
	uint32_t mmio_base, mmio_size;
	bool hotplug; /* ACPI hotplug: GPE0, the slots' AML (pci_hotplug.c) */
	unsigned int nr_intx;
	struct {
		uint8_t slot;
		uint32_t gsi;
	} intx[32];
};

struct acpi_desc {
	unsigned int nr_cpus; /* APIC ids 0 .. nr_cpus - 1 */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	uint8_t ioapic_id;
	unsigned int nr_virtio;
	struct acpi_virtio virtio[ACPI_MAX_VIRTIO];
	struct acpi_pci pci;
};

/* Where each table went: guest-physical addresses. */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt;
	uint64_t mcfg; /* 0: no PCI */
	size_t size; /* bytes of the block used */
};

/*
 * Builds every table into @buf (@len bytes, zeroed here) that the guest
 * sees at @gpa, the RSDP first (16-byte aligned @gpa). Fills @out.
 * Returns 0, or -1 if they do not fit or memory ran out.
 */
int acpi_build(const struct acpi_desc *d, uint8_t *buf, size_t len,
	       uint64_t gpa, struct acpi_layout *out);

/* Where acpi_build() at @gpa puts the FACS (always the same place). */
uint64_t acpi_facs_gpa(uint64_t gpa);

/* The DSDT's AML body (dsdt.c) into a malloc'ed buffer; NULL on error. */
uint8_t *acpi_dsdt_aml(const struct acpi_desc *d, size_t *len);

/* PCI (pci.c): the MCFG's size and body, the DSDT's host bridge. */
struct aml;
size_t acpi_mcfg_size(void);
void acpi_mcfg_body(void *table, const struct acpi_desc *d);
void acpi_dsdt_pci(struct aml *a, const struct acpi_desc *d);
/* PCI hotplug (pci_hotplug.c): inside PCI0, and the \_GPE scope. */
void acpi_dsdt_pci_hotplug(struct aml *a, const struct acpi_pci *p);
void acpi_dsdt_gpe(struct aml *a, const struct acpi_desc *d);

/* The sum of @len bytes, which a valid table makes 0. */
uint8_t acpi_sum(const void *p, size_t len);

#endif
