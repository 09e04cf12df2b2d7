/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * state.h - the byte format of device state (save/restore): a growable
 * writer and a bounds-checked reader of little-endian integers, byte
 * strings and tagged, versioned, length-prefixed sections.
 *
 * The reader trusts nothing: state may come from a truncated or hostile
 * snapshot file. Every get_* checks the remaining length; the first
 * failure (short input, a value out of range, a wrong tag or version) is
 * sticky: later reads return 0 and state_ok() is false, and r->err names
 * what failed. Restore code reads everything into locals, checks them
 * with state_check(), and applies nothing unless state_ok().
 *
 * A section is: u32 tag, u32 version, u32 length, then length bytes.
 * state_end() patches the length; state_enter() checks tag, version and
 * length and gives a reader limited to the section.
 */
#ifndef VMON_VMM_STATE_H
#define VMON_VMM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_ERR_MAX 128
/* Upper bound of one device's state; a larger section is refused. */
#define STATE_MAX_SECTION (1U << 24)

struct state_writer {
	uint8_t *data;
	size_t len, cap;
	bool failed; /* out of memory: the buffer is incomplete */
};

struct state_reader {
	const uint8_t *data;
	size_t len, pos;
	bool failed;
	char err[STATE_ERR_MAX];
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bool(struct state_writer *w, bool v);
void state_put_bytes(struct state_writer *w, const void *p, size_t n);
/* Opens a section; returns the handle state_end() needs. */
size_t state_begin(struct state_writer *w, uint32_t tag, uint32_t version);
void state_end(struct state_writer *w, size_t section);

void state_reader_init(struct state_reader *r, const void *data, size_t len);
uint8_t state_get_u8(struct state_reader *r, const char *what);
uint16_t state_get_u16(struct state_reader *r, const char *what);
uint32_t state_get_u32(struct state_reader *r, const char *what);
uint64_t state_get_u64(struct state_reader *r, const char *what);
/* A byte that must be 0 or 1. */
bool state_get_bool(struct state_reader *r, const char *what);
/* Copies @n bytes to @p (zeroes on failure). */
void state_get_bytes(struct state_reader *r, void *p, size_t n,
		     const char *what);
/*
 * Enters the section at the read position: checks @tag, that its version
 * is @version, and its length; *@sub then reads the section only, and @r
 * moves past it. Returns 0, or -1 (@r failed).
 */
int state_enter(struct state_reader *r, uint32_t tag, uint32_t version,
		struct state_reader *sub, const char *what);
/* The same for a section of any version from @min to @max: *@version. */
int state_enter_versions(struct state_reader *r, uint32_t tag, uint32_t min,
			 uint32_t max, uint32_t *version,
			 struct state_reader *sub, const char *what);
/* Fails @r with "@what: invalid" unless @cond. Returns @cond. */
bool state_check(struct state_reader *r, bool cond, const char *what);
/* Fails @r with a formatted message (the first failure is kept). */
void state_fail(struct state_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fails @r unless everything was read. */
void state_expect_end(struct state_reader *r, const char *what);

static inline bool state_ok(const struct state_reader *r)
{
	return !r->failed;
}

#endif
