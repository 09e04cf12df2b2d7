// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci.c - the ACPI side of PCI (docs/pci.md): the MCFG table that names
 * the ECAM window, and the DSDT's host bridge PCI0 (PNP0A08, compatible
 * with PNP0A03) with its bus, I/O and memory windows in _CRS and the INTx
 * lines of its slots in _PRT, plus the ECAM window reserved as a
 * motherboard resource (PNP0C02), which Linux wants before it uses MCFG.
 */
#include <string.h>

#include "aml.h"
#include "defs.h"
#include "tables.h"

/* MCFG: the header, 8 reserved bytes, one allocation (PCI Firmware 3.0). */
struct mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __attribute__((packed));

size_t acpi_mcfg_size(void)
{
	return sizeof(struct acpi_header) + 8 + sizeof(struct mcfg_alloc);
}

void acpi_mcfg_body(void *table, const struct acpi_desc *d)
{
	struct mcfg_alloc m = {
		.base = d->pci.ecam_base,
		.bus_start = 0,
		.bus_end = d->pci.bus_end,
	};

	memcpy((uint8_t *)table + sizeof(struct acpi_header) + 8, &m,
	       sizeof(m));
}

static void le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/*
 * A Word (@size 2) or DWord (@size 4) Address Space Descriptor of a
 * bridge window: producer, fixed minimum and maximum, no translation.
 */
static void window(struct aml *a, uint8_t type, uint8_t tflags,
		   unsigned int size, uint64_t min, uint64_t max)
{
	aml_byte(a, size == 2 ? 0x88 : 0x87);
	le(a, 3 + 5 * size, 2);
	aml_byte(a, type); /* 0 memory, 1 I/O, 2 bus numbers */
	aml_byte(a, 0x0c); /* MinFixed, MaxFixed, producer */
	aml_byte(a, tflags);
	le(a, 0, size); /* granularity */
	le(a, min, size);
	le(a, max, size);
	le(a, 0, size); /* translation */
	le(a, max - min + 1, size);
}

static void crs(struct aml *a, const struct acpi_pci *p)
{
	size_t buf;

	aml_name(a, "_CRS");
	buf = aml_buffer_begin(a);
	window(a, 2, 0, 2, 0, p->bus_end);
	/* All I/O ports but the configuration mechanism's. */
	window(a, 1, 0x03, 2, 0, 0x0cf7);
	window(a, 1, 0x03, 2, 0x0d00, 0xffff);
	window(a, 0, 0x01, 4, p->mmio_base, p->mmio_base + p->mmio_size - 1);
	aml_res_end(a);
	aml_end(a, buf);
}

/* _PRT: each slot's INTA# straight to its GSI (no link devices). */
static void prt(struct aml *a, const struct acpi_pci *p)
{
	size_t pkg, entry;

	aml_name(a, "_PRT");
	pkg = aml_package_begin(a, p->nr_intx);
	for (unsigned int i = 0; i < p->nr_intx; i++) {
		entry = aml_package_begin(a, 4);
		aml_integer(a, (uint64_t)p->intx[i].slot << 16 | 0xffff);
		aml_integer(a, 0); /* INTA# */
		aml_integer(a, 0); /* no source: a GSI */
		aml_integer(a, p->intx[i].gsi);
		aml_end(a, entry);
	}
	aml_end(a, pkg);
}

void acpi_dsdt_pci(struct aml *a, const struct acpi_desc *d)
{
	const struct acpi_pci *p = &d->pci;
	size_t dev, buf;

	if (!p->on)
		return;
	dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	crs(a, p);
	prt(a, p);
	acpi_dsdt_pci_hotplug(a, p);
	aml_end(a, dev);
	dev = aml_device_begin(a, "RES0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_CRS");
	buf = aml_buffer_begin(a);
	aml_res_mem32_fixed(a, (uint32_t)p->ecam_base,
			    (uint32_t)(p->bus_end + 1) << 20);
	aml_res_end(a);
	aml_end(a, buf);
	aml_end(a, dev);
}
