// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_acpi_loader.c - the table-loader files of src/acpi/loader.c run as
 * SeaBIOS runs them: a small interpreter of the ALLOCATE, ADD_POINTER and
 * ADD_CHECKSUM commands places the two blobs at chosen addresses in a
 * fake memory; every pointer must then lead to its table and every
 * checksum be right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acpi/defs.h"
#include "acpi/loader.h"
#include "acpi/tables.h"

#define MEM_SIZE 0x20000
#define RSDP_AT 0xf5a0 /* what the F segment allocation might give */
#define TABLES_AT 0x10000 /* 64-byte aligned */

static uint8_t mem[MEM_SIZE];

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint32_t file_at(const char *name)
{
	if (!strcmp(name, ACPI_LOADER_RSDP_FILE))
		return RSDP_AT;
	assert_string_equal(name, ACPI_LOADER_TABLES_FILE);
	return TABLES_AT;
}

/* One command of the script, on mem[]. */
static void run_cmd(const uint8_t *c, const struct acpi_loader *l)
{
	uint32_t cmd = (uint32_t)le(c, 4), at, off, start, len;
	uint64_t v;

	switch (cmd) {
	case 1: /* ALLOCATE: file, align, zone */
		at = file_at((const char *)c + 4);
		assert_int_equal(at % le(c + 60, 4), 0);
		if (at == RSDP_AT)
			memcpy(mem + at, l->rsdp, sizeof(l->rsdp));
		else
			memcpy(mem + at, l->tables, l->tables_len);
		break;
	case 2: /* ADD_POINTER: dest, src, offset, size */
		at = file_at((const char *)c + 4) + (uint32_t)le(c + 116, 4);
		assert_int_equal(file_at((const char *)c + 60), TABLES_AT);
		v = le(mem + at, c[120]) + TABLES_AT;
		memcpy(mem + at, &v, c[120]); /* little-endian host */
		break;
	case 3: /* ADD_CHECKSUM: file, offset, start, length */
		at = file_at((const char *)c + 4);
		off = (uint32_t)le(c + 60, 4);
		start = (uint32_t)le(c + 64, 4);
		len = (uint32_t)le(c + 68, 4);
		mem[at + off] = (uint8_t)(mem[at + off] -
					  acpi_sum(mem + at + start, len));
		break;
	default:
		fail_msg("unknown loader command %u", cmd);
	}
}

static const uint8_t *table(uint64_t addr, const char *sig)
{
	const uint8_t *t;

	assert_true(addr >= TABLES_AT && addr < MEM_SIZE - 36);
	t = mem + addr;
	assert_memory_equal(t, sig, 4);
	if (strcmp(sig, "FACS"))
		assert_int_equal(acpi_sum(t, (size_t)le(t + 4, 4)), 0);
	return t;
}

static void test_loader(void **state)
{
	struct acpi_desc d = { .nr_cpus = 2,
			       .lapic_addr = 0xfee00000,
			       .ioapic_addr = 0xfec00000,
			       .ioapic_id = 2 };
	struct acpi_loader l;
	const uint8_t *r = mem + RSDP_AT, *x, *f;

	(void)state;
	assert_int_equal(acpi_loader_build(&d, &l), 0);
	assert_int_equal(l.script_len % 128, 0);
	assert_true(l.tables_len > 0 && TABLES_AT + l.tables_len <= MEM_SIZE);
	for (size_t i = 0; i < l.script_len; i += 128)
		run_cmd(l.script + i, &l);
	acpi_loader_free(&l);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_sum(r, 20), 0);
	assert_int_equal(acpi_sum(r, 36), 0);
	x = table(le(r + 24, 8), "XSDT");
	assert_int_equal(le(x + 4, 4), 36 + 16);
	table(le(x + 44, 8), "APIC");
	f = table(le(x + 36, 8), "FACP");
	table(le(f + 36, 4), "FACS");
	table(le(f + 40, 4), "DSDT");
	assert_int_equal(le(f + 132, 8), le(f + 36, 4));
	assert_int_equal(le(f + 140, 8), le(f + 40, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
