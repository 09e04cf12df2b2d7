// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc64.c - CRC-64/XZ (crc64.h), table-driven, eight bytes at a time
 * ("slicing by 8": eight tables, one per byte position of a 64-bit word,
 * so the bytes of a word are folded in with independent lookups); the
 * bytes before and after the aligned words one at a time. The tables are
 * built on first use. Live migration checksums every page batch with it.
 */
#include "crc64.h"

#include <endian.h>
#include <pthread.h>
#include <string.h>

#define CRC64_POLY_REFLECTED 0xC96C5795D7870F42ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		table[0][i] = c;
	}
	/* table[k][i]: byte i followed by k zero bytes. */
	for (unsigned int k = 1; k < 8; k++)
		for (unsigned int i = 0; i < 256; i++)
			table[k][i] = (table[k - 1][i] >> 8) ^
				      table[0][table[k - 1][i] & 0xff];
}

static uint64_t crc_byte(uint64_t crc, uint8_t b)
{
	return table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

uint64_t crc64(uint64_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&table_once, build_table);
	crc = ~crc;
	for (; len && ((uintptr_t)b & 7); len--)
		crc = crc_byte(crc, *b++);
	for (; len >= 8; len -= 8, b += 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		crc ^= le64toh(w);
		crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^
		      table[5][(crc >> 16) & 0xff] ^
		      table[4][(crc >> 24) & 0xff] ^
		      table[3][(crc >> 32) & 0xff] ^
		      table[2][(crc >> 40) & 0xff] ^
		      table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
	}
	for (; len; len--)
		crc = crc_byte(crc, *b++);
	return ~crc;
}
