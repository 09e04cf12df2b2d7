/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loader.h - the tables for firmware that places them itself (loader.c):
 * QEMU's BIOS linker/loader script ("etc/table-loader") that SeaBIOS runs
 * over the fw_cfg files "etc/acpi/rsdp" (the RSDP, in the F segment) and
 * "etc/acpi/tables" (every table, built by acpi_build() at address 0, so
 * each pointer holds an offset the loader turns into an address).
 */
#ifndef VMON_ACPI_LOADER_H
#define VMON_ACPI_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "tables.h"

#define ACPI_LOADER_RSDP_FILE "etc/acpi/rsdp"
#define ACPI_LOADER_TABLES_FILE "etc/acpi/tables"
#define ACPI_LOADER_SCRIPT_FILE "etc/table-loader"
#define ACPI_LOADER_MAX_CMDS 16

struct acpi_loader {
	uint8_t *tables; /* the block, built at 0 */
	size_t tables_len;
	uint8_t rsdp[36]; /* a copy of its RSDP */
	uint8_t script[ACPI_LOADER_MAX_CMDS * 128];
	size_t script_len;
};

/* Builds the three files for @d; 0 or -1. Free with acpi_loader_free(). */
int acpi_loader_build(const struct acpi_desc *d, struct acpi_loader *l);
void acpi_loader_free(struct acpi_loader *l);

#endif
