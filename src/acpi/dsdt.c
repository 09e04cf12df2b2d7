// SPDX-License-Identifier: GPL-2.0-only
/*
 * dsdt.c - the AML of vmon's DSDT: the COM1 UART (PNP0501), each
 * virtio-mmio device as an ACPI device with _HID "LNRO0005" and its
 * memory and interrupt in _CRS (as Firecracker does, so Linux's
 * virtio_mmio driver finds them without virtio_mmio.device=), and the
 * \_S3 and \_S5 sleep packages the PM device understands.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aml.h"
#include "tables.h"

static void com1(struct aml *a)
{
	size_t dev = aml_device_begin(a, "COM1");
	size_t buf;

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	buf = aml_buffer_begin(a);
	aml_res_io(a, 0x3f8, 8);
	aml_res_irq_noflags(a, 4);
	aml_res_end(a);
	aml_end(a, buf);
	aml_end(a, dev);
}

static void virtio(struct aml *a, unsigned int i, const struct acpi_virtio *v)
{
	char name[5];
	size_t dev, buf;

	snprintf(name, sizeof(name), "V%03X", i & 0xfff);
	dev = aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, i);
	aml_name(a, "_CCA"); /* cache-coherent DMA */
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	buf = aml_buffer_begin(a);
	aml_res_mem32_fixed(a, (uint32_t)v->base, v->size);
	aml_res_interrupt(a, v->irq, true);
	aml_res_end(a);
	aml_end(a, buf);
	aml_end(a, dev);
}

static void sleep_state(struct aml *a, const char *name, unsigned int typ)
{
	size_t pkg;

	aml_name(a, name);
	pkg = aml_package_begin(a, 4);
	aml_integer(a, typ); /* PM1a SLP_TYP */
	aml_integer(a, typ); /* PM1b (none) */
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);
}

uint8_t *acpi_dsdt_aml(const struct acpi_desc *d, size_t *len)
{
	struct aml a;
	size_t sb;

	aml_init(&a);
	sb = aml_scope_begin(&a, "\\_SB_");
	com1(&a);
	for (unsigned int i = 0; i < d->nr_virtio && i < ACPI_MAX_VIRTIO; i++)
		virtio(&a, i, &d->virtio[i]);
	acpi_dsdt_pci(&a, d);
	aml_end(&a, sb);
	acpi_dsdt_gpe(&a, d);
	sleep_state(&a, "\\_S3_", ACPI_SLP_TYP_S3);
	sleep_state(&a, "\\_S5_", ACPI_SLP_TYP_S5);
	if (a.err) {
		aml_free(&a);
		return NULL;
	}
	*len = a.len;
	return a.buf;
}
