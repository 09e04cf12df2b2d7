// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c - the ACPI tables as QEMU hands them to its firmware
 * (loader.h): two blobs and a script of 128-byte commands, ALLOCATE (a
 * file into the firmware's memory: the RSDP in the F segment, the rest
 * high), ADD_POINTER (add the address a file landed at to a pointer in
 * another) and ADD_CHECKSUM (fix a table's checksum byte after that).
 * The pointers are the RSDP's XSDT, the XSDT's entries and the FADT's
 * FACS and DSDT (32- and 64-bit); nothing else in vmon's tables points.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

#include "defs.h"

#define CMD_ALLOCATE 1
#define CMD_ADD_POINTER 2
#define CMD_ADD_CHECKSUM 3
#define ZONE_HIGH 1
#define ZONE_FSEG 2
#define NAME_LEN 56
#define TABLES_LEN 0x4000

static uint8_t *next_cmd(struct acpi_loader *l, uint32_t cmd)
{
	uint8_t *c;

	if (l->script_len + 128 > sizeof(l->script))
		return NULL;
	c = l->script + l->script_len;
	l->script_len += 128;
	memcpy(c, &cmd, 4);
	return c;
}

static void allocate(struct acpi_loader *l, const char *file, uint32_t align,
		     uint8_t zone)
{
	uint8_t *c = next_cmd(l, CMD_ALLOCATE);

	if (!c)
		return;
	strncpy((char *)c + 4, file, NAME_LEN - 1);
	memcpy(c + 4 + NAME_LEN, &align, 4);
	c[8 + NAME_LEN] = zone;
}

static void pointer(struct acpi_loader *l, const char *dst, uint32_t off,
		    uint8_t size)
{
	uint8_t *c = next_cmd(l, CMD_ADD_POINTER);

	if (!c)
		return;
	strncpy((char *)c + 4, dst, NAME_LEN - 1);
	strncpy((char *)c + 4 + NAME_LEN, ACPI_LOADER_TABLES_FILE,
		NAME_LEN - 1);
	memcpy(c + 4 + 2 * NAME_LEN, &off, 4);
	c[8 + 2 * NAME_LEN] = size;
}

static void checksum(struct acpi_loader *l, const char *file, uint32_t off,
		     uint32_t start, uint32_t len)
{
	uint8_t *c = next_cmd(l, CMD_ADD_CHECKSUM);

	if (!c)
		return;
	strncpy((char *)c + 4, file, NAME_LEN - 1);
	memcpy(c + 4 + NAME_LEN, &off, 4);
	memcpy(c + 8 + NAME_LEN, &start, 4);
	memcpy(c + 12 + NAME_LEN, &len, 4);
}

static void script(struct acpi_loader *l, const struct acpi_layout *t)
{
	const char *tab = ACPI_LOADER_TABLES_FILE,
		   *rsdp = ACPI_LOADER_RSDP_FILE;
	uint32_t xsdt = (uint32_t)t->xsdt, fadt = (uint32_t)t->fadt;
	uint32_t xsdt_len = sizeof(struct acpi_header) + 2 * 8;

	allocate(l, rsdp, 16, ZONE_FSEG);
	allocate(l, tab, 64, ZONE_HIGH);
	pointer(l, rsdp, offsetof(struct acpi_rsdp, xsdt), 8);
	pointer(l, tab, xsdt + (uint32_t)sizeof(struct acpi_header), 8);
	pointer(l, tab, xsdt + (uint32_t)sizeof(struct acpi_header) + 8, 8);
	pointer(l, tab, fadt + offsetof(struct acpi_fadt, firmware_ctrl), 4);
	pointer(l, tab, fadt + offsetof(struct acpi_fadt, dsdt), 4);
	pointer(l, tab, fadt + offsetof(struct acpi_fadt, x_firmware_ctrl), 8);
	pointer(l, tab, fadt + offsetof(struct acpi_fadt, x_dsdt), 8);
	checksum(l, tab, xsdt + offsetof(struct acpi_header, checksum), xsdt,
		 xsdt_len);
	checksum(l, tab, fadt + offsetof(struct acpi_header, checksum), fadt,
		 sizeof(struct acpi_fadt));
	checksum(l, rsdp, offsetof(struct acpi_rsdp, checksum), 0, 20);
	checksum(l, rsdp, offsetof(struct acpi_rsdp, ext_checksum), 0,
		 sizeof(struct acpi_rsdp));
}

int acpi_loader_build(const struct acpi_desc *d, struct acpi_loader *l)
{
	struct acpi_layout t;

	memset(l, 0, sizeof(*l));
	l->tables = malloc(TABLES_LEN);
	if (!l->tables || acpi_build(d, l->tables, TABLES_LEN, 0, &t)) {
		acpi_loader_free(l);
		return -1;
	}
	l->tables_len = t.size;
	memcpy(l->rsdp, l->tables + t.rsdp, sizeof(l->rsdp));
	script(l, &t);
	return 0;
}

void acpi_loader_free(struct acpi_loader *l)
{
	free(l->tables);
	l->tables = NULL;
}
