/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi_harness.h - what the ACPI unit tests of PCI share: a machine
 * description with the PCI host bridge's windows, and a table of the
 * built block found by address, its signature and checksum checked.
 */
#ifndef VMON_TESTS_ACPI_HARNESS_H
#define VMON_TESTS_ACPI_HARNESS_H

#include <string.h>

#include "acpi/defs.h"
#include "acpi/tables.h"

#define ACPI_H_GPA 0xe0000ULL
#define ACPI_H_SIZE 0x10000

/* @nr_cpus CPUs, the host bridge on with its ECAM and memory window. */
static inline void acpi_h_desc(struct acpi_desc *d, unsigned int nr_cpus)
{
	memset(d, 0, sizeof(*d));
	d->nr_cpus = nr_cpus;
	d->lapic_addr = 0xfee00000;
	d->ioapic_addr = 0xfec00000;
	d->ioapic_id = (uint8_t)nr_cpus;
	d->pci.on = true;
	d->pci.ecam_base = 0xe0000000;
	d->pci.bus_end = 0;
	d->pci.mmio_base = 0xc0000000;
	d->pci.mmio_size = 0x10000000;
}

/* The table at @gpa of @buf (built at ACPI_H_GPA): signature, checksum. */
static inline const struct acpi_header *
acpi_h_table(const uint8_t *buf, uint64_t gpa, const char *sig)
{
	const struct acpi_header *h = (const void *)(buf + (gpa - ACPI_H_GPA));

	assert_memory_equal(h->sig, sig, 4);
	assert_int_equal(acpi_sum(h, h->length), 0);
	return h;
}

#endif
