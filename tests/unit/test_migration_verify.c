// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_migration_verify.c - the switch-over check of guest RAM against
 * the dirty log (src/migration/verify.c): a page changed after it was
 * sent and not in the bitmap is added to it; a page in the bitmap, or
 * unchanged, is left alone; a page sent as zeros (unread) and then
 * written is found; with anonymous RAM a page never populated counts as
 * zeros without being read; the modes parse, and PUT /migration/send's
 * field `verify` takes them (auto when absent, 400 for another value).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/vmconfig.h"
#include "migration/migration.h"
#include "vmm/memory.h"

#define PAGES 200ULL

static bool bit(const uint64_t *b, uint64_t pg)
{
	return b[pg / 64] & (1ULL << (pg % 64));
}

static void send_all(struct mig_verify *v, const uint8_t *ram, bool zeros)
{
	for (uint64_t pg = 0; pg < PAGES; pg++)
		mig_verify_sent(v, pg, zeros ? NULL : ram + pg * MIG_PAGE);
}

static void test_changed(void **state)
{
	struct guest_mem mem = { 0 };
	uint64_t bitmap[(PAGES + 63) / 64] = { 0 };
	struct mig_verify *v = mig_verify_new(PAGES);
	uint8_t *ram = malloc(PAGES * MIG_PAGE);

	(void)state;
	assert_non_null(v);
	assert_non_null(ram);
	for (uint64_t i = 0; i < PAGES * MIG_PAGE; i++)
		ram[i] = (uint8_t)(i * 7 + i / 4096);
	mem.base = ram;
	mem.ram_size = PAGES * MIG_PAGE;
	send_all(v, ram, false);
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 0);

	ram[3 * MIG_PAGE + 100] ^= 1; /* changed, not reported */
	ram[150 * MIG_PAGE + 4095] ^= 0x80; /* its last byte */
	ram[70 * MIG_PAGE] ^= 1; /* changed and reported */
	bitmap[70 / 64] |= 1ULL << (70 % 64);
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 2);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		assert_int_equal(bit(bitmap, pg),
				 pg == 3 || pg == 70 || pg == 150);

	/* Sent again: nothing left. */
	memset(bitmap, 0, sizeof(bitmap));
	mig_verify_sent(v, 3, ram + 3 * MIG_PAGE);
	mig_verify_sent(v, 70, ram + 70 * MIG_PAGE);
	mig_verify_sent(v, 150, ram + 150 * MIG_PAGE);
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 0);
	mig_verify_free(v);
	free(ram);
}

/* Pages sent as zeros without being read (first round, unpopulated). */
static void test_zero_pages(void **state)
{
	struct guest_mem mem = { 0 };
	uint64_t bitmap[(PAGES + 63) / 64] = { 0 };
	struct mig_verify *v = mig_verify_new(PAGES);
	uint8_t *ram = mmap(NULL, PAGES * MIG_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_non_null(v);
	assert_ptr_not_equal(ram, MAP_FAILED);
	mem.base = ram;
	mem.ram_size = PAGES * MIG_PAGE;
	mem.anon = true;
	send_all(v, ram, true);
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 0);
	ram[42 * MIG_PAGE + 9] = 1;
	ram[43 * MIG_PAGE] = 0; /* populated, still zeros */
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 1);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		assert_int_equal(bit(bitmap, pg), pg == 42);
	/* Given back (a balloon): zeros again, as sent. */
	memset(bitmap, 0, sizeof(bitmap));
	assert_int_equal(madvise(ram + 42 * MIG_PAGE, MIG_PAGE, MADV_DONTNEED),
			 0);
	assert_int_equal(mig_verify_check(v, &mem, bitmap), 0);
	mig_verify_free(v);
	munmap(ram, PAGES * MIG_PAGE);
}

static void test_modes(void **state)
{
	enum mig_verify_mode m;

	(void)state;
	assert_int_equal(mig_verify_mode_parse("on", &m), 0);
	assert_int_equal(m, MIG_VERIFY_ON);
	assert_int_equal(mig_verify_mode_parse("off", &m), 0);
	assert_int_equal(m, MIG_VERIFY_OFF);
	assert_int_equal(mig_verify_mode_parse("auto", &m), 0);
	assert_int_equal(m, MIG_VERIFY_AUTO);
	assert_int_equal(mig_verify_mode_parse("yes", &m), -1);
	assert_string_equal(mig_verify_mode_name(MIG_VERIFY_OFF), "off");
}

static int send_parse(const char *text, struct mig_params *p, char *err)
{
	json_t *body = json_loads(text, 0, NULL);
	int r;

	assert_non_null(body);
	r = api_migration_send_parse(body, p, err);
	json_decref(body);
	return r;
}

static void test_send_field(void **state)
{
	struct mig_params p;
	char err[API_ERR_MAX];

	(void)state;
	assert_int_equal(send_parse("{\"url\": \"unix:/tmp/m\"}", &p, err), 0);
	assert_int_equal(p.verify, MIG_VERIFY_AUTO);
	assert_int_equal(
		send_parse("{\"url\": \"unix:/tmp/m\", \"verify\": \"off\"}",
			   &p, err),
		0);
	assert_int_equal(p.verify, MIG_VERIFY_OFF);
	assert_int_equal(
		send_parse("{\"url\": \"unix:/tmp/m\", \"verify\": \"on\"}", &p,
			   err),
		0);
	assert_int_equal(p.verify, MIG_VERIFY_ON);
	assert_int_equal(
		send_parse("{\"url\": \"unix:/tmp/m\", \"verify\": \"yes\"}",
			   &p, err),
		-1);
	assert_non_null(strstr(err, "`verify`"));
	assert_int_equal(
		send_parse("{\"url\": \"unix:/tmp/m\", \"verify\": true}", &p,
			   err),
		-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_zero_pages),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_send_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
