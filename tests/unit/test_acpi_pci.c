// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_acpi_pci.c - unit tests of the ACPI side of PCI (src/acpi/pci.c):
 * with the host bridge on, the XSDT lists an MCFG whose checksum holds
 * and whose allocation names the ECAM window and bus range; without it,
 * neither MCFG nor PCI0 appears; iasl disassembles the MCFG and the DSDT
 * (PCI0 with _CRS and _PRT, the ECAM reserved by RES0) without errors and
 * compiles the DSDT back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acpi_harness.h"

#define GPA ACPI_H_GPA
#define SIZE ACPI_H_SIZE

static uint8_t buf[SIZE];
static struct acpi_layout l;

static void build(bool pci)
{
	struct acpi_desc d;

	acpi_h_desc(&d, 2);
	d.pci.on = pci;
	d.pci.nr_intx = 2;
	d.pci.intx[0].slot = 1;
	d.pci.intx[0].gsi = 5;
	d.pci.intx[1].slot = 2;
	d.pci.intx[1].gsi = 6;
	assert_int_equal(acpi_build(&d, buf, SIZE, GPA, &l), 0);
}

static const struct acpi_header *table(uint64_t gpa, const char *sig)
{
	return acpi_h_table(buf, gpa, sig);
}

static bool dsdt_has(const char *name)
{
	const struct acpi_header *h = table(l.dsdt, "DSDT");

	return memmem(h + 1, h->length - sizeof(*h), name, 4) != NULL;
}

static void test_mcfg(void **state)
{
	const struct acpi_header *x, *m;
	uint64_t e[3], base;

	(void)state;
	build(true);
	x = table(l.xsdt, "XSDT");
	assert_int_equal(x->length, sizeof(*x) + 24);
	memcpy(e, x + 1, sizeof(e));
	assert_int_equal(e[2], l.mcfg);
	m = table(l.mcfg, "MCFG");
	assert_int_equal(m->length, sizeof(*m) + 8 + 16);
	memcpy(&base, (const uint8_t *)(m + 1) + 8, 8);
	assert_int_equal(base, 0xe0000000);
	assert_int_equal(((const uint8_t *)(m + 1))[8 + 10], 0); /* start */
	assert_int_equal(((const uint8_t *)(m + 1))[8 + 11], 0); /* end */
	assert_true(dsdt_has("PCI0"));
	assert_true(dsdt_has("_PRT"));
	assert_true(dsdt_has("RES0"));
}

static void test_no_pci(void **state)
{
	const struct acpi_header *x;

	(void)state;
	build(false);
	x = table(l.xsdt, "XSDT");
	assert_int_equal(x->length, sizeof(*x) + 16);
	assert_int_equal(l.mcfg, 0);
	assert_false(dsdt_has("PCI0"));
}

static void test_iasl(void **state)
{
	char dir[] = "/tmp/vmon-acpi-pci-XXXXXX";
	static const char *const names[] = { "mcfg", "dsdt" };
	char cmd[1024];

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1")) {
		skip(); /* scripts/setup installs acpica-tools */
		return;
	}
	build(true);
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 2; i++) {
		const struct acpi_header *h =
			table(i ? l.dsdt : l.mcfg, i ? "DSDT" : "MCFG");
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(h, 1, h->length, f), h->length);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s.dat >%s.log 2>&1 && "
			 "! grep -qi 'error' %s.log %s.dsl",
			 dir, names[i], names[i], names[i], names[i]);
		if (system(cmd))
			fail_msg("iasl -d %s failed, see %s/%s.log", names[i],
				 dir, names[i]);
	}
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && grep -q PNP0A08 dsdt.dsl && grep -q _PRT dsdt.dsl && "
		"grep -q 00000000E0000000 mcfg.dsl && "
		"iasl -p re dsdt.dsl >re.log 2>&1 && "
		"grep -q ' 0 Errors, 0 Warnings' re.log",
		dir);
	if (system(cmd))
		fail_msg("the PCI DSDT or MCFG is not as expected, see %s",
			 dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mcfg),
		cmocka_unit_test(test_no_pci),
		cmocka_unit_test(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
