// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci_hotplug.c - the AML of ACPI PCI hotplug (docs/pci.md), for the
 * controller of src/pci/hotplug.h: under \_SB.PCI0 the register block as
 * an operation region (PCIU slots up, PCID slots down, B0EJ eject), a
 * device per slot 1-31 with _ADR, _SUN and _EJ0, and PCNT, which
 * notifies each slot up (Device Check) or down (Eject Request); and
 * \_GPE._E01, the hotplug GPE's handler, which calls PCNT. Linux's
 * acpiphp needs nothing more.
 */
#include <stdio.h>

#include "../pci/hotplug.h"
#include "aml.h"
#include "tables.h"

#define NOTIFY_DEVICE_CHECK 1
#define NOTIFY_EJECT_REQUEST 3

static void slot_name(char name[5], unsigned int slot)
{
	snprintf(name, 5, "S%02X", slot & 0xff);
}

static void slot_device(struct aml *a, unsigned int slot)
{
	char name[5];
	size_t dev, m;

	slot_name(name, slot);
	dev = aml_device_begin(a, name);
	aml_name(a, "_ADR");
	aml_integer(a, (uint64_t)slot << 16);
	aml_name(a, "_SUN");
	aml_integer(a, slot);
	m = aml_method_begin(a, "_EJ0", 1);
	aml_store(a);
	aml_integer(a, 1ULL << slot);
	aml_name_string(a, "B0EJ");
	aml_end(a, m);
	aml_end(a, dev);
}

/* If (And (Local@local, slot bit)) { Notify (Sxx, @how) } */
static void notify_if(struct aml *a, unsigned int slot, unsigned int local,
		      unsigned int how)
{
	char name[5];
	size_t m = aml_if_begin(a);

	aml_and(a);
	aml_local(a, local);
	aml_integer(a, 1ULL << slot);
	aml_byte(a, 0); /* no target */
	slot_name(name, slot);
	aml_notify(a);
	aml_name_string(a, name);
	aml_integer(a, how);
	aml_end(a, m);
}

static void pcnt(struct aml *a)
{
	size_t m = aml_method_begin(a, "PCNT", 0);

	aml_store(a);
	aml_name_string(a, "PCIU");
	aml_local(a, 0);
	aml_store(a);
	aml_name_string(a, "PCID");
	aml_local(a, 1);
	for (unsigned int s = 1; s < 32; s++) {
		notify_if(a, s, 0, NOTIFY_DEVICE_CHECK);
		notify_if(a, s, 1, NOTIFY_EJECT_REQUEST);
	}
	aml_end(a, m);
}

void acpi_dsdt_pci_hotplug(struct aml *a, const struct acpi_pci *p)
{
	size_t f;

	if (!p->hotplug)
		return;
	aml_opregion_io(a, "PCST", PCI_HP_BASE, PCI_HP_LEN);
	f = aml_field_begin(a, "PCST",
			    AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_ZEROS);
	aml_field_unit(a, "PCIU", 32);
	aml_field_unit(a, "PCID", 32);
	aml_field_unit(a, "B0EJ", 32);
	aml_field_unit(a, "PSLT", 32);
	aml_end(a, f);
	for (unsigned int s = 1; s < 32; s++)
		slot_device(a, s);
	pcnt(a);
}

void acpi_dsdt_gpe(struct aml *a, const struct acpi_desc *d)
{
	char name[5];
	size_t sc, m;

	if (!d->pci.on || !d->pci.hotplug)
		return;
	snprintf(name, sizeof(name), "_E%02X", ACPI_GPE_PCI_HOTPLUG);
	sc = aml_scope_begin(a, "\\_GPE");
	m = aml_method_begin(a, name, 0);
	aml_name_string(a, "\\_SB_.PCI0.PCNT");
	aml_end(a, m);
	aml_end(a, sc);
}
