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
#include <stdbool.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CRC64_POLY 0x42F0E1EBA9EA3693ULL
#define CRC64_POLY_REFLECTED 0xC96C5795D7870F42ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static uint64_t crc_byte(uint64_t crc, uint8_t b)
{
	return table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

#if defined(__x86_64__)
/*
 * Folding with carry-less multiplication (PCLMULQDQ), 16 bytes a step.
 * A 16-byte block A (its first byte's low bit the highest power) followed
 * by 128 more bits is worth A_hi * x^192 + A_lo * x^128 modulo the
 * polynomial: two 64x64 products folded into the next block. Loaded
 * little-endian, a block's bits are reflected, and a product of two
 * reflected 64-bit values is the reflected 128-bit product of one factor
 * with x^(n-1) mod P times x: hence the constants x^191 and x^127 mod P,
 * reflected. The last 16 bytes so folded are then run through the
 * tables from a zero register (the first 8 bytes carry the register in).
 */
static uint64_t k191, k127;
static bool have_clmul;

static uint64_t reflect64(uint64_t v)
{
	uint64_t r = 0;

	for (int i = 0; i < 64; i++)
		r |= ((v >> i) & 1) << (63 - i);
	return r;
}

/* x^n mod P, not reflected. */
static uint64_t xpow_mod(unsigned int n)
{
	uint64_t v = 1;

	while (n--)
		v = (v << 1) ^ (v >> 63 ? CRC64_POLY : 0);
	return v;
}

static void build_clmul(void)
{
	__builtin_cpu_init();
	have_clmul = __builtin_cpu_supports("pclmul") &&
		     __builtin_cpu_supports("sse4.1");
	k191 = reflect64(xpow_mod(191));
	k127 = reflect64(xpow_mod(127));
}

/* @len >= 32, a multiple of 16: the register after @len bytes at @b. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t
crc_clmul(uint64_t crc, const uint8_t *b, size_t len)
{
	__m128i k = _mm_set_epi64x((long long)k127, (long long)k191);
	__m128i v = _mm_loadu_si128((const __m128i *)b);
	uint8_t last[16];

	v = _mm_xor_si128(v, _mm_set_epi64x(0, (long long)crc));
	for (size_t off = 16; off < len; off += 16) {
		__m128i lo = _mm_clmulepi64_si128(v, k, 0x00);
		__m128i hi = _mm_clmulepi64_si128(v, k, 0x11);

		v = _mm_xor_si128(_mm_xor_si128(lo, hi),
				  _mm_loadu_si128((const __m128i *)(b + off)));
	}
	_mm_storeu_si128((__m128i *)last, v);
	crc = 0;
	for (int i = 0; i < 16; i++)
		crc = crc_byte(crc, last[i]);
	return crc;
}
#endif

static void build_table(void)
{
#if defined(__x86_64__)
	build_clmul();
#endif
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

uint64_t crc64(uint64_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&table_once, build_table);
	crc = ~crc;
#if defined(__x86_64__)
	if (have_clmul && len >= 32) {
		size_t n = len & ~(size_t)15;

		crc = crc_clmul(crc, b, n);
		b += n;
		len -= n;
	}
#endif
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
