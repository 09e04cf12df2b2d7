/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi_tables.h - what the ACPI guest tests (acpi.c, s3.c) share: finding
 * the RSDP in the BIOS area, the XSDT's tables with their checksums, the
 * little-endian field readers, a sleep package's SLP_TYP in the DSDT and
 * a word on the command line.
 */
#ifndef GUEST_ACPI_TABLES_H
#define GUEST_ACPI_TABLES_H

#include "rt.h"

#define SLP_EN (1U << 13)

struct hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static inline uint8_t sum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

static inline const uint8_t *find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) &&
		    sum((const void *)a, 20) == 0)
			return (const uint8_t *)a;
	return 0;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The table @sig among the XSDT's entries, its checksum checked. */
static inline const uint8_t *xsdt_find(const struct hdr *x, const char *sig)
{
	const uint8_t *e = (const uint8_t *)(x + 1);
	uint32_t n = (x->length - sizeof(*x)) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const struct hdr *t = (const struct hdr *)rd64(e + 8 * i);

		if (!memcmp(t->sig, sig, 4)) {
			check(sum(t, t->length) == 0, "%s checksum", sig);
			return (const uint8_t *)t;
		}
	}
	check(false, "XSDT lists %s", sig);
	return 0;
}

/*
 * SLP_TYPa of the sleep package @name ("_S5_"): Name(_Sx_, Package(4)
 * { typ, ... }) in the DSDT; -1 if there is none.
 */
static inline int sleep_type(const uint8_t *dsdt, const char *name)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = 36; i + 8 < len; i++) {
		const uint8_t *p = dsdt + i;

		if (memcmp(p, name, 4) || p[4] != 0x12)
			continue;
		/* PackageOp, 1-byte PkgLength, NumElements, first element */
		if (p[7] == 0x00 || p[7] == 0x01)
			return p[7];
		if (p[7] == 0x0a)
			return p[8];
	}
	return -1;
}

#endif
