// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_parse.c - unit tests for parse_size() and parse_uint()
 * (src/util/parse.c): suffixes, default units, overflow and garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/parse.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)
#define PIB (1ULL << 50)

static uint64_t size_ok(const char *s, uint64_t unit)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(parse_size(s, unit, &v), 0);
	return v;
}

static void size_bad(const char *s, uint64_t unit)
{
	uint64_t v = 0x1234;

	assert_int_equal(parse_size(s, unit, &v), -1);
	assert_int_equal(v, 0x1234); /* untouched on error */
}

static void test_size_suffixes(void **state)
{
	(void)state;
	assert_int_equal(size_ok("1K", 1), KIB);
	assert_int_equal(size_ok("3k", 1), 3 * KIB);
	assert_int_equal(size_ok("256M", 1), 256 * MIB);
	assert_int_equal(size_ok("256m", MIB), 256 * MIB);
	assert_int_equal(size_ok("1G", 1), GIB);
	assert_int_equal(size_ok("5g", 1), 5 * GIB);
	assert_int_equal(size_ok("2T", 1), 2 * TIB);
	assert_int_equal(size_ok("7P", 1), 7 * PIB);
	assert_int_equal(size_ok("0K", 1), 0);
}

static void test_size_ib_and_b(void **state)
{
	(void)state;
	assert_int_equal(size_ok("4KiB", 1), 4 * KIB);
	assert_int_equal(size_ok("4kib", 1), 4 * KIB);
	assert_int_equal(size_ok("4KIB", 1), 4 * KIB);
	assert_int_equal(size_ok("4KB", 1), 4 * KIB);
	assert_int_equal(size_ok("4kb", 1), 4 * KIB);
	assert_int_equal(size_ok("512MiB", 1), 512 * MIB);
	assert_int_equal(size_ok("2GiB", 1), 2 * GIB);
	assert_int_equal(size_ok("2GB", 1), 2 * GIB);
	assert_int_equal(size_ok("1TiB", 1), TIB);
	assert_int_equal(size_ok("1PiB", 1), PIB);
	/* A plain "B" suffix means bytes, whatever the default unit. */
	assert_int_equal(size_ok("4096B", MIB), 4096);
	assert_int_equal(size_ok("4096b", MIB), 4096);
}

static void test_size_bare_number(void **state)
{
	(void)state;
	assert_int_equal(size_ok("512", MIB), 512 * MIB);
	assert_int_equal(size_ok("512", 1), 512);
	assert_int_equal(size_ok("0", MIB), 0);
	assert_int_equal(size_ok("3", GIB), 3 * GIB);
	/* Leading zeros are decimal, not octal. */
	assert_int_equal(size_ok("010", 1), 10);
	assert_int_equal(size_ok("18446744073709551615", 1), UINT64_MAX);
}

static void test_size_overflow(void **state)
{
	(void)state;
	/* 2^64 does not fit at all. */
	size_bad("18446744073709551616", 1);
	size_bad("99999999999999999999999", 1);
	/* 16384P = 2^64: one more than fits; 16383P fits. */
	size_bad("16384P", 1);
	assert_int_equal(size_ok("16383P", 1), 16383 * PIB);
	size_bad("16777216T", 1);
	size_bad("17179869184G", 1);
	assert_int_equal(size_ok("17179869183G", 1), 17179869183ULL * GIB);
	size_bad("17592186044416M", 1);
	size_bad("18014398509481984K", 1);
	/* Overflow through the default unit of a bare number. */
	size_bad("17592186044416", MIB);
	assert_int_equal(size_ok("17592186044415", MIB),
			 17592186044415ULL * MIB);
}

static void test_size_garbage(void **state)
{
	(void)state;
	size_bad("", MIB);
	size_bad(NULL, MIB);
	size_bad("M", 1);
	size_bad("KiB", 1);
	size_bad("-1", 1);
	size_bad("-1M", 1);
	size_bad("+1", 1);
	size_bad(" 1", 1);
	size_bad("1 ", 1);
	size_bad("1 M", 1);
	size_bad("1M ", 1);
	size_bad("0x10", 1);
	size_bad("1.5G", 1);
	size_bad("1X", 1);
	size_bad("1E", 1); /* exbibytes are not offered */
	size_bad("1MM", 1);
	size_bad("1Mi", 1);
	size_bad("1MiBB", 1);
	size_bad("1MBi", 1);
	size_bad("1iB", 1);
	size_bad("1BB", 1);
	size_bad("1BiB", 1);
	size_bad("12abc", 1);
}

static uint64_t uint_ok(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(parse_uint(s, min, max, &v), 0);
	return v;
}

static void uint_bad(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 0x1234;

	assert_int_equal(parse_uint(s, min, max, &v), -1);
	assert_int_equal(v, 0x1234);
}

static void test_uint(void **state)
{
	(void)state;
	assert_int_equal(uint_ok("0", 0, 10), 0);
	assert_int_equal(uint_ok("10", 0, 10), 10);
	assert_int_equal(uint_ok("5", 5, 5), 5);
	assert_int_equal(uint_ok("007", 0, 10), 7);
	assert_int_equal(uint_ok("18446744073709551615", 0, UINT64_MAX),
			 UINT64_MAX);
	uint_bad("11", 0, 10);
	uint_bad("4", 5, 10);
	uint_bad("18446744073709551616", 0, UINT64_MAX);
	uint_bad("", 0, 10);
	uint_bad(NULL, 0, 10);
	uint_bad("-1", 0, UINT64_MAX);
	uint_bad("+1", 0, 10);
	uint_bad(" 1", 0, 10);
	uint_bad("1 ", 0, 10);
	uint_bad("1K", 0, UINT64_MAX);
	uint_bad("0x1", 0, 10);
	uint_bad("abc", 0, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_ib_and_b),
		cmocka_unit_test(test_size_bare_number),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_garbage),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
