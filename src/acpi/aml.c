// SPDX-License-Identifier: GPL-2.0-only
/*
 * aml.c - the AML byte-code emitter (aml.h): a growing buffer, name
 * strings, integers, the PkgLength of nested objects and the resource
 * descriptors of a ResourceTemplate. Owns the buffer.
 */
#include "aml.h"

#include <stdlib.h>
#include <string.h>

enum {
	AML_ZERO = 0x00,
	AML_ONE = 0x01,
	AML_NAME = 0x08,
	AML_BYTE = 0x0a,
	AML_WORD = 0x0b,
	AML_DWORD = 0x0c,
	AML_STRING = 0x0d,
	AML_QWORD = 0x0e,
	AML_SCOPE = 0x10,
	AML_BUFFER = 0x11,
	AML_PACKAGE = 0x12,
	AML_METHOD = 0x14,
	AML_DUAL_NAME = 0x2e,
	AML_MULTI_NAME = 0x2f,
	AML_EXT = 0x5b,
	AML_EXT_DEVICE = 0x82,
	AML_ROOT = 0x5c,
	AML_PARENT = 0x5e,
	AML_LOCAL0 = 0x60,
	AML_ARG0 = 0x68,
	AML_STORE = 0x70,
	AML_AND = 0x7b,
	AML_NOTIFY = 0x86,
	AML_EXT_OPREGION = 0x80,
	AML_EXT_FIELD = 0x81,
	AML_IF = 0xa0,
	AML_RETURN = 0xa4,
	AML_ONES = 0xff,
};

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static bool reserve(struct aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *b;

	if (a->err)
		return false;
	if (a->len + n <= a->cap)
		return true;
	while (cap < a->len + n)
		cap *= 2;
	b = realloc(a->buf, cap);
	if (!b) {
		a->err = true;
		return false;
	}
	a->buf = b;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* One segment of @s up to '.' or the end into @seg; its length or -1. */
static int name_seg(const char *s, char seg[4])
{
	int n = 0;

	while (s[n] && s[n] != '.') {
		char c = s[n];

		if (n == 4 || !((c >= 'A' && c <= 'Z') || c == '_' ||
				(n && c >= '0' && c <= '9')))
			return -1;
		seg[n++] = c;
	}
	if (!n)
		return -1;
	memset(seg + n, '_', (size_t)(4 - n));
	return n;
}

void aml_name_string(struct aml *a, const char *path)
{
	char segs[16][4];
	unsigned int nr = 0;

	if (*path == '\\')
		aml_byte(a, AML_ROOT), path++;
	while (*path == '^')
		aml_byte(a, AML_PARENT), path++;
	for (;;) {
		int n = nr < 16 ? name_seg(path, segs[nr]) : -1;

		if (n < 0) {
			a->err = true;
			return;
		}
		nr++;
		path += n;
		if (!*path)
			break;
		path++;
	}
	if (nr == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (nr > 2)
		aml_byte(a, AML_MULTI_NAME), aml_byte(a, (uint8_t)nr);
	aml_bytes(a, segs, 4 * nr);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff)
		aml_byte(a, AML_BYTE), le(a, v, 1);
	else if (v <= 0xffff)
		aml_byte(a, AML_WORD), le(a, v, 2);
	else if (v <= 0xffffffff)
		aml_byte(a, AML_DWORD), le(a, v, 4);
	else
		aml_byte(a, AML_QWORD), le(a, v, 8);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

static unsigned int eisa_char(char c)
{
	return (unsigned int)(c - 'A' + 1) & 0x1f;
}

static unsigned int hex(char c)
{
	return c <= '9' ? (unsigned int)(c - '0') :
			  (unsigned int)((c | 0x20) - 'a' + 10);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (strlen(id) != 7) {
		a->err = true;
		return;
	}
	/* Three 5-bit letters and four hex digits, stored big-endian. */
	v = eisa_char(id[0]) << 26 | eisa_char(id[1]) << 21 |
	    eisa_char(id[2]) << 16 | hex(id[3]) << 12 | hex(id[4]) << 8 |
	    hex(id[5]) << 4 | hex(id[6]);
	aml_byte(a, AML_DWORD);
	le(a, __builtin_bswap32(v), 4);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, name);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs)
{
	size_t mark;

	aml_byte(a, AML_METHOD);
	mark = a->len;
	aml_name_string(a, name);
	aml_byte(a, (uint8_t)(nargs & 7)); /* NotSerialized, SyncLevel 0 */
	return mark;
}

size_t aml_package_begin(struct aml *a, unsigned int n)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE);
	mark = a->len;
	aml_byte(a, (uint8_t)n);
	return mark;
}

/* A Buffer's size comes first: aml_end() inserts it with the PkgLength. */
#define BUFFER_MARK ((size_t)1 << (sizeof(size_t) * 8 - 1))

size_t aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	return a->len | BUFFER_MARK;
}

/* Inserts @n bytes of @p at @at. */
static void insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (!reserve(a, n) || at > a->len)
		return;
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

/* The PkgLength of @body bytes, which counts its own bytes too. */
static size_t pkg_length(size_t body, uint8_t out[4])
{
	size_t n = body + 1 <= 63	? 1 :
		   body + 2 < (1 << 12) ? 2 :
		   body + 3 < (1 << 20) ? 3 :
					  4;
	size_t len = body + n;

	if (n == 1) {
		out[0] = (uint8_t)len;
		return 1;
	}
	out[0] = (uint8_t)((n - 1) << 6 | (len & 0xf));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	return n;
}

void aml_end(struct aml *a, size_t mark)
{
	bool buffer = mark & BUFFER_MARK;
	size_t at = mark & ~BUFFER_MARK;
	uint8_t hdr[4 + 9];
	size_t n, size_len = 0;
	struct aml sz;

	if (a->err || at > a->len)
		return;
	aml_init(&sz);
	if (buffer) /* BufferSize, an integer, before the bytes */
		aml_integer(&sz, a->len - at);
	if (sz.err || sz.len > 9) {
		a->err = true;
		aml_free(&sz);
		return;
	}
	size_len = sz.len;
	n = pkg_length(a->len - at + size_len, hdr);
	if (size_len)
		memcpy(hdr + n, sz.buf, size_len);
	aml_free(&sz);
	insert(a, at, hdr, n + size_len);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	/* IO(Decode16, base, base, 1, len) */
	uint8_t d[] = { 0x47,	       0x01,
			(uint8_t)base, (uint8_t)(base >> 8),
			(uint8_t)base, (uint8_t)(base >> 8),
			0x01,	       len };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *a, unsigned int irq)
{
	uint16_t mask = (uint16_t)(1U << (irq & 15));
	uint8_t d[] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	aml_byte(a, 0x86);
	le(a, 9, 2);
	aml_byte(a, 0x01); /* read-write */
	le(a, base, 4);
	le(a, len, 4);
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, bool edge)
{
	aml_byte(a, 0x89);
	le(a, 6, 2);
	/* consumer; edge or level; active high; exclusive */
	aml_byte(a, (uint8_t)(0x01 | (edge ? 0x02 : 0)));
	aml_byte(a, 1);
	le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
	uint8_t d[] = { 0x79, 0x00 }; /* checksum 0: none */

	aml_bytes(a, d, sizeof(d));
}

/* --- control flow, storage and fields (hotplug methods) ----------------- */

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF);
	return a->len;
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND);
}

void aml_notify(struct aml *a)
{
	aml_byte(a, AML_NOTIFY);
}

void aml_local(struct aml *a, unsigned int n)
{
	aml_byte(a, (uint8_t)(AML_LOCAL0 + (n & 7)));
}

void aml_arg(struct aml *a, unsigned int n)
{
	aml_byte(a, (uint8_t)(AML_ARG0 + (n < 7 ? n : 6)));
}

void aml_opregion_io(struct aml *a, const char *name, uint16_t base,
		     uint16_t len)
{
	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_OPREGION);
	aml_name_string(a, name);
	aml_byte(a, 0x01); /* SystemIO */
	aml_integer(a, base);
	aml_integer(a, len);
}

size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	size_t mark;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_FIELD);
	mark = a->len;
	aml_name_string(a, region);
	aml_byte(a, flags);
	return mark;
}

void aml_field_unit(struct aml *a, const char *name, unsigned int bits)
{
	char seg[4];

	/* A one-byte PkgLength holds up to 63 bits: all vmon uses. */
	if (strlen(name) != 4 || bits == 0 || bits > 63 ||
	    name_seg(name, seg) != 4) {
		a->err = true;
		return;
	}
	aml_bytes(a, seg, 4);
	aml_byte(a, (uint8_t)bits);
}
