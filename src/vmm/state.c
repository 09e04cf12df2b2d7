// SPDX-License-Identifier: GPL-2.0-only
/*
 * state.c - the device state serializer (see state.h): little-endian
 * integers into a growable buffer, and a reader that checks every length
 * and keeps the first error.
 */
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void state_writer_free(struct state_writer *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

static uint8_t *reserve(struct state_writer *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *p;

		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->failed = true;
				return NULL;
			}
			cap *= 2;
		}
		p = realloc(w->data, cap);
		if (!p) {
			w->failed = true;
			return NULL;
		}
		w->data = p;
		w->cap = cap;
	}
	w->len += n;
	return w->data + w->len - n;
}

static void put_le(struct state_writer *w, uint64_t v, unsigned int n)
{
	uint8_t *p = reserve(w, n);

	for (unsigned int i = 0; p && i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void state_put_u8(struct state_writer *w, uint8_t v)
{
	put_le(w, v, 1);
}

void state_put_u16(struct state_writer *w, uint16_t v)
{
	put_le(w, v, 2);
}

void state_put_u32(struct state_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

void state_put_u64(struct state_writer *w, uint64_t v)
{
	put_le(w, v, 8);
}

void state_put_bool(struct state_writer *w, bool v)
{
	put_le(w, v ? 1 : 0, 1);
}

void state_put_bytes(struct state_writer *w, const void *p, size_t n)
{
	uint8_t *d = reserve(w, n);

	if (d && n)
		memcpy(d, p, n);
}

size_t state_begin(struct state_writer *w, uint32_t tag, uint32_t version)
{
	state_put_u32(w, tag);
	state_put_u32(w, version);
	state_put_u32(w, 0); /* length, patched by state_end() */
	return w->len;
}

void state_end(struct state_writer *w, size_t section)
{
	size_t n = w->len - section;

	if (w->failed || section < 4 || section > w->len)
		return;
	if (n > STATE_MAX_SECTION) {
		w->failed = true;
		return;
	}
	for (unsigned int i = 0; i < 4; i++)
		w->data[section - 4 + i] = (uint8_t)(n >> (8 * i));
}

void state_reader_init(struct state_reader *r, const void *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->len = data ? len : 0;
}

void state_fail(struct state_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

bool state_check(struct state_reader *r, bool cond, const char *what)
{
	if (!cond)
		state_fail(r, "%s: invalid", what);
	return cond;
}

static const uint8_t *take(struct state_reader *r, size_t n, const char *what)
{
	if (r->failed)
		return NULL;
	if (n > r->len - r->pos) {
		state_fail(r, "%s: truncated", what);
		return NULL;
	}
	r->pos += n;
	return r->data + r->pos - n;
}

static uint64_t get_le(struct state_reader *r, unsigned int n, const char *what)
{
	const uint8_t *p = take(r, n, what);
	uint64_t v = 0;

	for (unsigned int i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t state_get_u8(struct state_reader *r, const char *what)
{
	return (uint8_t)get_le(r, 1, what);
}

uint16_t state_get_u16(struct state_reader *r, const char *what)
{
	return (uint16_t)get_le(r, 2, what);
}

uint32_t state_get_u32(struct state_reader *r, const char *what)
{
	return (uint32_t)get_le(r, 4, what);
}

uint64_t state_get_u64(struct state_reader *r, const char *what)
{
	return get_le(r, 8, what);
}

bool state_get_bool(struct state_reader *r, const char *what)
{
	uint8_t v = state_get_u8(r, what);

	state_check(r, v <= 1, what);
	return v == 1;
}

void state_get_bytes(struct state_reader *r, void *p, size_t n,
		     const char *what)
{
	const uint8_t *s = take(r, n, what);

	if (s)
		memcpy(p, s, n);
	else if (n)
		memset(p, 0, n);
}

int state_enter(struct state_reader *r, uint32_t tag, uint32_t version,
		struct state_reader *sub, const char *what)
{
	return state_enter_versions(r, tag, version, version, NULL, sub, what);
}

int state_enter_versions(struct state_reader *r, uint32_t tag, uint32_t min,
			 uint32_t max, uint32_t *version,
			 struct state_reader *sub, const char *what)
{
	uint32_t t = state_get_u32(r, what);
	uint32_t v = state_get_u32(r, what);
	uint32_t n = state_get_u32(r, what);
	const uint8_t *p;

	state_reader_init(sub, NULL, 0);
	if (r->failed)
		return -1;
	if (t != tag) {
		state_fail(r, "%s: section tag 0x%x, expected 0x%x", what, t,
			   tag);
		return -1;
	}
	if (v < min || v > max) {
		if (min == max)
			state_fail(r,
				   "%s: state version %u, this vmon reads %u",
				   what, v, max);
		else
			state_fail(
				r,
				"%s: state version %u, this vmon reads %u to %u",
				what, v, min, max);
		return -1;
	}
	if (version)
		*version = v;
	if (n > STATE_MAX_SECTION) {
		state_fail(r, "%s: section of %u bytes is too large", what, n);
		return -1;
	}
	p = take(r, n, what);
	if (!p)
		return -1;
	state_reader_init(sub, p, n);
	return 0;
}

void state_expect_end(struct state_reader *r, const char *what)
{
	if (!r->failed && r->pos != r->len)
		state_fail(r, "%s: %zu bytes of unexpected data", what,
			   r->len - r->pos);
}
