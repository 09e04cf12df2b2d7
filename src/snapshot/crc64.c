// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc64.c - CRC-64/XZ (crc64.h), table-driven, one byte at a time; the
 * table is built on first use.
 */
#include "crc64.h"

#include <pthread.h>

#define CRC64_POLY_REFLECTED 0xC96C5795D7870F42ULL

static uint64_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		table[i] = c;
	}
}

uint64_t crc64(uint64_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&table_once, build_table);
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}
