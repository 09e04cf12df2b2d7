/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.h - parsing of user-supplied numbers and sizes ("256M", "1G").
 */
#ifndef VMON_UTIL_PARSE_H
#define VMON_UTIL_PARSE_H

#include <stdint.h>

/*
 * Parses a size: a decimal number with an optional binary suffix
 * K, M, G, T, P (case-insensitive, optionally followed by "iB" or "B").
 * A bare number is taken in @default_unit bytes (1 for bytes, 1 << 20 to
 * read "512" as 512 MiB as QEMU's -m does). Returns 0 or -1 (invalid or
 * overflow).
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parses an unsigned decimal integer within [min, max]. Returns 0 or -1. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
