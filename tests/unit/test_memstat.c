// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_memstat.c - unit tests for the memory report's parsers
 * (src/app/memstat.c): smaps summed over the guest RAM mapping only,
 * long lines, ksm_stat with and without a per-mapping KSM field, and
 * ksm_merging_pages where ksm_stat lacks it (Debian 12's 6.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app/memstat.h"

#define KIB(n) ((uint64_t)(n) << 10)

static const char smaps_text[] =
	"55738845c000-55738845e000 r--p 00000000 fe:00 247134 /usr/bin/vmon\n"
	"Rss:                   8 kB\n"
	"Pss:                   8 kB\n"
	"Private_Clean:         8 kB\n"
	"Swap:                  1 kB\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0\n"
	"Size:               1024 kB\n"
	"Rss:                 300 kB\n"
	"Pss:                 200 kB\n"
	"Shared_Clean:         40 kB\n"
	"Shared_Dirty:         60 kB\n"
	"Private_Clean:        50 kB\n"
	"Private_Dirty:       150 kB\n"
	"KSM:                  64 kB\n"
	"Swap:                 12 kB\n"
	"7f0000100000-7f0000200000 rw-p 00000000 00:00 0\n"
	"Rss:                 100 kB\n"
	"Pss:                 100 kB\n"
	"Private_Dirty:       100 kB\n"
	"7f0000200000-7f0000300000 rw-p 00000000 00:00 0 /a/very/long/path/"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"Rss:          999999 kB\n"
	"Rss:                   4 kB\n"
	"Pss:                   4 kB\n";

static FILE *text(const char *s)
{
	return fmemopen((void *)s, strlen(s), "r");
}

/* Only the two mappings in [0x7f0000000000, +2 MiB) are guest RAM. */
static void test_smaps_ram_only(void **state)
{
	struct mem_usage u;
	FILE *f = text(smaps_text);

	(void)state;
	memset(&u, 0, sizeof(u));
	assert_int_equal(memstat_parse_smaps(f, 0x7f0000000000, 2 << 20, &u),
			 0);
	fclose(f);
	assert_int_equal(u.ram_size, 2 << 20);
	assert_int_equal(u.rss, KIB(400));
	assert_int_equal(u.pss, KIB(300));
	assert_int_equal(u.shared, KIB(100));
	assert_int_equal(u.private_, KIB(300));
	assert_int_equal(u.swap, KIB(12));
	assert_int_equal(u.ksm, KIB(64));
	assert_true(u.ksm_per_mapping);
	/* The whole process; the piece of the long path line is skipped. */
	assert_int_equal(u.proc_rss, KIB(8 + 300 + 100 + 4));
	assert_int_equal(u.proc_pss, KIB(8 + 200 + 100 + 4));
}

static void test_smaps_empty(void **state)
{
	struct mem_usage u;
	FILE *f = text("nothing here\n");

	(void)state;
	memset(&u, 0, sizeof(u));
	assert_int_equal(memstat_parse_smaps(f, 0, 4096, &u), -1);
	fclose(f);
}

static const char ksm_text[] = "ksm_rmap_items 10\n"
			       "ksm_zero_pages 0\n"
			       "ksm_merging_pages 3\n"
			       "ksm_process_profit 4096\n"
			       "ksm_merge_any: no\n";

/* Without smaps' KSM field, ksm_stat's merging pages count. */
static void test_ksm_stat(void **state)
{
	struct mem_usage u;
	FILE *f = text(ksm_text);

	(void)state;
	memset(&u, 0, sizeof(u));
	memstat_parse_ksm_stat(f, &u);
	fclose(f);
	assert_true(u.have_ksm_stat);
	assert_int_equal(u.ksm, 3 * 4096);
	assert_int_equal(u.ksm_profit, 4096);

	memset(&u, 0, sizeof(u));
	u.ksm = KIB(64);
	u.ksm_per_mapping = true;
	f = text(ksm_text);
	memstat_parse_ksm_stat(f, &u);
	fclose(f);
	assert_int_equal(u.ksm, KIB(64)); /* the mapping's own figure */
}

/* Debian 12's 6.1: ksm_stat without merging pages, ksm_merging_pages has them. */
static void test_ksm_merging_file(void **state)
{
	struct mem_usage u;
	FILE *f = text("ksm_rmap_items 10\n");

	(void)state;
	memset(&u, 0, sizeof(u));
	memstat_parse_ksm_stat(f, &u);
	fclose(f);
	assert_false(u.have_ksm_stat);
	assert_int_equal(u.ksm, 0);
	f = text("6\n");
	memstat_parse_ksm_merging(f, &u);
	fclose(f);
	assert_int_equal(u.ksm, 6 * 4096);

	memset(&u, 0, sizeof(u));
	u.ksm = KIB(64);
	u.ksm_per_mapping = true;
	f = text("6\n");
	memstat_parse_ksm_merging(f, &u);
	fclose(f);
	assert_int_equal(u.ksm, KIB(64)); /* the mapping's own figure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smaps_ram_only),
		cmocka_unit_test(test_smaps_empty),
		cmocka_unit_test(test_ksm_stat),
		cmocka_unit_test(test_ksm_merging_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
