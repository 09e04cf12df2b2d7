// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_snapshot_file.c - the snapshot state file's outside (src/snapshot):
 * the CRC-64/XZ check value, a packed file unpacks to its payload, and
 * every truncation and every single-byte change of a packed file is
 * refused with a message; crash-safe writing leaves no temporary file.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapshot/crc64.h"
#include "snapshot/file.h"

static void test_crc64_check_value(void **state)
{
	(void)state;
	assert_true(crc64(0, "123456789", 9) == 0x995DC9BBDF1939FAULL);
	assert_true(crc64(crc64(0, "1234", 4), "56789", 5) ==
		    0x995DC9BBDF1939FAULL);
	assert_true(crc64(0, "", 0) == 0);
}

/*
 * Long inputs take the 16-byte folding path (PCLMULQDQ where the CPU has
 * it): the values are the byte-wise table's; any split gives the same.
 */
static void test_crc64_long(void **state)
{
	static uint8_t b[4099];
	uint64_t c;

	(void)state;
	for (unsigned int i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	assert_true(crc64(0, b, 4099) == 0xda7493fb81068c9eULL);
	assert_true(crc64(0, b + 1, 4096) == 0xba2fb880c0fca954ULL);
	for (unsigned int cut = 0; cut < 80; cut++) {
		c = crc64(crc64(0, b, cut), b + cut, 4099 - cut);
		assert_true(c == 0xda7493fb81068c9eULL);
	}
}

static void pack(struct state_writer *file)
{
	struct state_writer p;

	state_writer_init(&p);
	for (uint32_t i = 0; i < 40; i++)
		state_put_u32(&p, i * 2654435761U);
	assert_int_equal(snapfile_pack(&p, file), 0);
	state_writer_free(&p);
}

static void test_pack_unpack(void **state)
{
	struct state_writer f;
	const uint8_t *payload;
	char err[SNAPSHOT_ERR_MAX];
	size_t plen;

	(void)state;
	pack(&f);
	assert_int_equal(snapfile_unpack(f.data, f.len, &payload, &plen, err,
					 sizeof(err)),
			 0);
	assert_int_equal(plen, 160);
	assert_ptr_equal(payload, f.data + SNAPSHOT_HEAD_SIZE);
	state_writer_free(&f);
}

static void test_every_corruption_refused(void **state)
{
	struct state_writer f;
	const uint8_t *payload;
	char err[SNAPSHOT_ERR_MAX];
	size_t plen;

	(void)state;
	pack(&f);
	for (size_t n = 0; n < f.len; n++) {
		err[0] = 0;
		assert_int_equal(snapfile_unpack(f.data, n, &payload, &plen,
						 err, sizeof(err)),
				 -1);
		assert_true(err[0]);
	}
	for (size_t i = 0; i < f.len; i++) {
		f.data[i] ^= 0x20;
		err[0] = 0;
		assert_int_equal(snapfile_unpack(f.data, f.len, &payload, &plen,
						 err, sizeof(err)),
				 -1);
		assert_true(err[0]);
		f.data[i] ^= 0x20;
	}
	state_writer_free(&f);
}

static void test_write_crash_safe(void **state)
{
	char dir[] = "/tmp/vmon-snapfile-XXXXXX", path[64], err[256];
	static uint8_t mem[3 * 4096];
	size_t len = 0, entries = 0;
	uint8_t *back;
	struct dirent *e;
	DIR *d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(snapfile_write(path, "abc", 3, err, sizeof(err)), 0);
	back = snapfile_read(path, &len, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(len, 3);
	assert_memory_equal(back, "abc", 3);
	free(back);
	mem[4096 + 7] = 1;
	snprintf(path, sizeof(path), "%s/memory", dir);
	assert_int_equal(snapfile_write_memory(path, mem, sizeof(mem), NULL,
					       err, sizeof(err)),
			 0);
	back = snapfile_read(path, &len, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(len, sizeof(mem));
	assert_memory_equal(back, mem, sizeof(mem));
	free(back);
	/* A Diff: only the pages of the map, zero pages included. */
	{
		static const uint8_t zero[4096];
		uint64_t pages = 1 << 0 | 1 << 2;

		mem[0] = 5;
		assert_int_equal(snapfile_write_memory(path, mem, sizeof(mem),
						       &pages, err,
						       sizeof(err)),
				 0);
		back = snapfile_read(path, &len, err, sizeof(err));
		assert_non_null(back);
		assert_int_equal(len, sizeof(mem));
		assert_int_equal(back[0], 5);
		/* page 1 not in the map: a hole, though not zero in RAM */
		assert_memory_equal(back + 4096, zero, 4096);
		free(back);
	}
	d = opendir(dir);
	while ((e = readdir(d)))
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 2); /* no temporary file left */
	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64_check_value),
		cmocka_unit_test(test_crc64_long),
		cmocka_unit_test(test_pack_unpack),
		cmocka_unit_test(test_every_corruption_refused),
		cmocka_unit_test(test_write_crash_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
