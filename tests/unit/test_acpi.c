// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_acpi.c - unit tests of the ACPI tables (src/acpi): the AML
 * emitter's encodings (name strings, integers, EISA ids, PkgLength of
 * every size), every table's checksum, and the fields parsed back; with
 * iasl (Debian's acpica-tools, installed by scripts/setup) every table is
 * disassembled and the DSDT recompiled without errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi/aml.h"
#include "acpi/defs.h"
#include "acpi/tables.h"

#define GPA 0xe0000ULL
#define SIZE 0x10000

static void aml_is(struct aml *a, const uint8_t *want, size_t len)
{
	assert_false(a->err);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->buf, want, len);
	aml_free(a);
}

static void test_aml_names(void **state)
{
	static const uint8_t path[] = { 0x5c, 0x2e, '_', 'S', 'B',
					'_',  'C',  'O', 'M', '1' };
	static const uint8_t multi[] = { 0x2f, 3,   'A', '_', '_', '_', 'B',
					 '_',  '_', '_', 'C', 'D', '_', '_' };
	static const uint8_t eisa[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_name_string(&a, "\\_SB_.COM1");
	aml_is(&a, path, sizeof(path));
	aml_init(&a);
	aml_name_string(&a, "A.B.CD");
	aml_is(&a, multi, sizeof(multi));
	aml_init(&a);
	aml_eisaid(&a, "PNP0501");
	aml_is(&a, eisa, sizeof(eisa));
	aml_init(&a);
	aml_name_string(&a, "TOOLONG");
	assert_true(a.err);
	aml_free(&a);
	aml_init(&a);
	aml_name_string(&a, "1ABC"); /* a digit cannot lead */
	assert_true(a.err);
	aml_free(&a);
}

static void test_aml_integers(void **state)
{
	static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x02, 0x0b, 0x00,
					0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
					0x0e, 0,    0,	  0,	0,    1,
					0,    0,    0,	  0xff };
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 1ULL << 32);
	aml_byte(&a, 0xff);
	aml_is(&a, want, sizeof(want));
}

/* A Package whose body is @n bytes: the PkgLength and its bytes. */
static void pkg_len_case(size_t n, const uint8_t *lead, size_t lead_len)
{
	struct aml a;
	size_t mark;
	uint8_t *filler = calloc(1, n);

	assert_non_null(filler);
	aml_init(&a);
	mark = aml_package_begin(&a, 0);
	aml_bytes(&a, filler, n - 1); /* NumElements is one of the n */
	aml_end(&a, mark);
	assert_false(a.err);
	assert_int_equal(a.len, 1 + lead_len + n);
	assert_memory_equal(a.buf + 1, lead, lead_len);
	aml_free(&a);
	free(filler);
}

static void test_aml_pkg_length(void **state)
{
	/* 62 + 1 = 63: one byte; 63 + 2 = 65 = 0x41: two, low nibble 1 */
	static const uint8_t one[] = { 63 };
	static const uint8_t two[] = { 0x41, 0x04 };
	/* 5000 + 3 = 5003 = 0x138b: three bytes */
	static const uint8_t three[] = { 0x8b, 0x38, 0x01 };

	(void)state;
	pkg_len_case(62, one, 1);
	pkg_len_case(63, two, 2);
	pkg_len_case(5000, three, 3);
}

static void test_aml_buffer(void **state)
{
	/* Buffer: PkgLength covers BufferSize and the bytes. */
	static const uint8_t want[] = { 0x11, 0x05, 0x0a, 0x02, 0x79, 0x00 };
	struct aml a;
	size_t mark;

	(void)state;
	aml_init(&a);
	mark = aml_buffer_begin(&a);
	aml_res_end(&a);
	aml_end(&a, mark);
	aml_is(&a, want, sizeof(want));
}

static void desc(struct acpi_desc *d, unsigned int cpus, unsigned int nvirt)
{
	memset(d, 0, sizeof(*d));
	d->nr_cpus = cpus;
	d->lapic_addr = 0xfee00000;
	d->ioapic_addr = 0xfec00000;
	d->ioapic_id = (uint8_t)cpus;
	d->nr_virtio = nvirt;
	for (unsigned int i = 0; i < nvirt; i++) {
		d->virtio[i].base = 0xd0000000ULL + i * 0x1000;
		d->virtio[i].size = 0x200;
		d->virtio[i].irq = 5 + i;
	}
}

struct built {
	uint8_t *buf;
	struct acpi_layout l;
};

static void *at(struct built *b, uint64_t gpa)
{
	assert_true(gpa >= GPA && gpa < GPA + b->l.size);
	return b->buf + (gpa - GPA);
}

static void build(struct built *b, unsigned int cpus, unsigned int nvirt)
{
	struct acpi_desc d;

	desc(&d, cpus, nvirt);
	b->buf = malloc(SIZE);
	assert_non_null(b->buf);
	assert_int_equal(acpi_build(&d, b->buf, SIZE, GPA, &b->l), 0);
}

static const struct acpi_header *table(struct built *b, uint64_t gpa,
				       const char *sig)
{
	const struct acpi_header *h = at(b, gpa);

	assert_memory_equal(h->sig, sig, 4);
	assert_int_equal(acpi_sum(h, h->length), 0);
	return h;
}

static void test_checksums(void **state)
{
	struct built b;
	const struct acpi_rsdp *r;
	const struct acpi_header *x;
	const struct acpi_facs *facs;
	uint64_t e[2];

	(void)state;
	build(&b, 3, 2);
	r = at(&b, b.l.rsdp);
	assert_int_equal(b.l.rsdp, GPA);
	assert_memory_equal(r->sig, "RSD PTR ", 8);
	assert_int_equal(acpi_sum(r, 20), 0);
	assert_int_equal(acpi_sum(r, sizeof(*r)), 0);
	assert_int_equal(r->revision, 2);
	assert_int_equal(r->length, 36);
	assert_int_equal(r->xsdt, b.l.xsdt);
	x = table(&b, b.l.xsdt, "XSDT");
	assert_int_equal(x->length, sizeof(*x) + 16);
	memcpy(e, x + 1, sizeof(e));
	assert_int_equal(e[0], b.l.fadt);
	assert_int_equal(e[1], b.l.madt);
	table(&b, b.l.fadt, "FACP");
	table(&b, b.l.madt, "APIC");
	table(&b, b.l.dsdt, "DSDT");
	facs = at(&b, b.l.facs);
	assert_memory_equal(facs->sig, "FACS", 4);
	assert_int_equal(facs->length, 64);
	assert_int_equal(b.l.facs % 64, 0);
	free(b.buf);
}

static void test_fadt(void **state)
{
	struct built b;
	const struct acpi_fadt *f;

	(void)state;
	build(&b, 1, 0);
	f = (const struct acpi_fadt *)table(&b, b.l.fadt, "FACP");
	assert_int_equal(f->h.length, 276);
	assert_int_equal(f->h.revision, 6);
	assert_int_equal(f->dsdt, b.l.dsdt);
	assert_int_equal(f->x_dsdt, b.l.dsdt);
	assert_int_equal(f->firmware_ctrl, b.l.facs);
	assert_int_equal(f->x_firmware_ctrl, b.l.facs);
	assert_int_equal(f->sci_int, 9);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->pm1a_evt_blk, 0x600);
	assert_int_equal(f->pm1_evt_len, 4);
	assert_int_equal(f->pm1a_cnt_blk, 0x604);
	assert_int_equal(f->pm1_cnt_len, 2);
	assert_int_equal(f->pm_tmr_blk, 0x608);
	assert_int_equal(f->pm_tmr_len, 4);
	assert_int_equal(f->x_pm_tmr_blk.space, ACPI_GAS_IO);
	assert_int_equal(f->x_pm_tmr_blk.address, 0x608);
	assert_int_equal(f->x_pm_tmr_blk.bit_width, 32);
	assert_int_equal(f->x_pm1a_cnt_blk.address, 0x604);
	assert_int_equal(f->reset_reg.space, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.address, ACPI_RESET_PORT);
	assert_int_equal(f->reset_value, ACPI_RESET_VALUE);
	assert_true(f->flags & FADT_RESET_REG_SUP);
	assert_true(f->flags & FADT_TMR_VAL_EXT);
	assert_false(f->flags & FADT_HW_REDUCED);
	/* PWR_BUTTON (bit 4) clear: the fixed-feature power button */
	assert_false(f->flags & (1U << 4));
	free(b.buf);
}

static void test_madt(void **state)
{
	struct built b;
	const struct acpi_madt *m;
	const uint8_t *p, *end;
	unsigned int lapics = 0, isos = 0, ioapics = 0, nmis = 0;

	(void)state;
	build(&b, 4, 0);
	m = (const struct acpi_madt *)table(&b, b.l.madt, "APIC");
	assert_int_equal(m->lapic_addr, 0xfee00000);
	assert_int_equal(m->flags, 1);
	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->h.length;
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		if (p[0] == MADT_LAPIC) {
			const struct madt_lapic *l = (const void *)p;

			assert_int_equal(l->apic_id, lapics);
			assert_int_equal(l->uid, lapics);
			assert_int_equal(l->flags, 1);
			lapics++;
		} else if (p[0] == MADT_IOAPIC) {
			const struct madt_ioapic *io = (const void *)p;

			assert_int_equal(io->addr, 0xfec00000);
			assert_int_equal(io->id, 4);
			assert_int_equal(io->gsi_base, 0);
			ioapics++;
		} else if (p[0] == MADT_ISO) {
			const struct madt_iso *o = (const void *)p;

			if (o->source == 0) {
				assert_int_equal(o->gsi, 2);
				assert_int_equal(o->flags, 0);
			} else {
				assert_int_equal(o->source, 9);
				assert_int_equal(o->gsi, 9);
				assert_int_equal(o->flags, 0xd);
			}
			isos++;
		} else if (p[0] == MADT_LAPIC_NMI) {
			assert_int_equal(p[5], 1); /* LINT1 */
			nmis++;
		} else {
			fail();
		}
		p += p[1];
	}
	assert_int_equal(lapics, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
	free(b.buf);
}

static size_t count(const uint8_t *p, size_t len, const char *s)
{
	size_t n = 0, sl = strlen(s);

	for (size_t i = 0; i + sl <= len; i++)
		n += !memcmp(p + i, s, sl);
	return n;
}

static void test_dsdt(void **state)
{
	struct built b;
	const struct acpi_header *h;
	const uint8_t *aml;
	size_t len;

	(void)state;
	build(&b, 2, 3);
	h = table(&b, b.l.dsdt, "DSDT");
	aml = (const uint8_t *)(h + 1);
	len = h->length - sizeof(*h);
	assert_int_equal(count(aml, len, "LNRO0005"), 3);
	assert_int_equal(count(aml, len, "_S5_"), 1);
	assert_int_equal(count(aml, len, "COM1"), 1);
	assert_int_equal(count(aml, len, "V002"), 1);
	free(b.buf);
}

static void test_limits(void **state)
{
	struct acpi_desc d;
	struct acpi_layout l;
	uint8_t small[256];
	uint8_t *big = malloc(SIZE);

	(void)state;
	assert_non_null(big);
	desc(&d, 2, 1);
	assert_int_equal(acpi_build(&d, small, sizeof(small), GPA, &l), -1);
	desc(&d, 0, 0);
	assert_int_equal(acpi_build(&d, big, SIZE, GPA, &l), -1);
	desc(&d, 255, ACPI_MAX_VIRTIO);
	assert_int_equal(acpi_build(&d, big, SIZE, GPA, &l), 0);
	assert_true(l.size < SIZE);
	free(big);
}

/* --- iasl --------------------------------------------------------------- */

static int sh(const char *cmd)
{
	return system(cmd);
}

static void write_table(const char *dir, const char *name, const void *p,
			size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void test_iasl(void **state)
{
	static const char *const names[] = { "dsdt", "facp", "apic", "xsdt" };
	char dir[] = "/tmp/vmon-acpi-XXXXXX";
	char cmd[1024];
	struct built b;
	uint64_t gpas[4];

	(void)state;
	if (sh("command -v iasl >/dev/null 2>&1")) {
		skip(); /* scripts/setup installs acpica-tools */
		return;
	}
	assert_non_null(mkdtemp(dir));
	build(&b, 2, 2);
	gpas[0] = b.l.dsdt;
	gpas[1] = b.l.fadt;
	gpas[2] = b.l.madt;
	gpas[3] = b.l.xsdt;
	for (int i = 0; i < 4; i++) {
		const struct acpi_header *h = at(&b, gpas[i]);

		write_table(dir, names[i], h, h->length);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s.dat >%s.log 2>&1 && "
			 "! grep -qi 'error' %s.log %s.dsl",
			 dir, names[i], names[i], names[i], names[i]);
		if (sh(cmd))
			fail_msg("iasl -d %s failed, see %s/%s.log", names[i],
				 dir, names[i]);
	}
	/* The disassembled DSDT compiles back without errors or warnings. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -p re dsdt.dsl >re.log 2>&1 && "
		 "grep -q ' 0 Errors, 0 Warnings' re.log",
		 dir);
	if (sh(cmd))
		fail_msg("iasl could not recompile the DSDT, see %s/re.log",
			 dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
	free(b.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aml_names),
		cmocka_unit_test(test_aml_integers),
		cmocka_unit_test(test_aml_pkg_length),
		cmocka_unit_test(test_aml_buffer),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
