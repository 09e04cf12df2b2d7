// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_qcow2.c - the qcow2 metadata code (src/block/qcow2*.c): header
 * parsing refuses what it must (bad magic, version, cluster size, unknown
 * incompatible features, encryption, external data files, tables larger
 * than the file) and round-trips what `vmon img create` writes; refcount
 * fields of every width; the engine on an image `vmon img create` made:
 * writes across clusters read back, zeroing and discarding free clusters,
 * the refcounts stay consistent (qcow2_check) and survive a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/img.h"
#include "block/qcow2_int.h"

#define CS 65536

static uint8_t hdr[CS];

/* A header as `vmon img create` writes it, for a file of 4 clusters. */
static void make_header(const char *backing)
{
	struct qcow2_header h = { .version = 3,
				  .cluster_bits = 16,
				  .refcount_order = 4,
				  .size = 1 << 20,
				  .l1_size = 1,
				  .l1_offset = 3 * CS,
				  .reft_offset = CS,
				  .reft_clusters = 1 };

	snprintf(h.backing, sizeof(h.backing), "%s", backing);
	snprintf(h.backing_fmt, sizeof(h.backing_fmt), "%s",
		 *backing ? "raw" : "");
	assert_true(qcow2_format_header(&h, hdr, sizeof(hdr)) > 0);
}

static int parse(uint64_t file_size, struct qcow2_header *h, char *err)
{
	return qcow2_parse_header(hdr, sizeof(hdr), file_size, h, err, 256);
}

static void test_header_roundtrip(void **state)
{
	struct qcow2_header h;
	char err[256];

	(void)state;
	make_header("base.raw");
	assert_int_equal(parse(4 * CS, &h, err), 0);
	assert_int_equal(h.version, 3);
	assert_int_equal(h.cluster_bits, 16);
	assert_int_equal(h.size, 1 << 20);
	assert_int_equal(h.refcount_order, 4);
	assert_string_equal(h.backing, "base.raw");
	assert_string_equal(h.backing_fmt, "raw");
}

/* @what broken at @off (big-endian @len bytes of @v): refused with @why. */
static void refused(unsigned int off, unsigned int len, uint64_t v,
		    const char *why)
{
	struct qcow2_header h;
	char err[256] = "";

	make_header("");
	for (unsigned int i = 0; i < len; i++)
		hdr[off + i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	assert_int_equal(parse(4 * CS, &h, err), -1);
	if (!strstr(err, why))
		fail_msg("offset %u: '%s' does not say '%s'", off, err, why);
}

static void test_header_refused(void **state)
{
	struct qcow2_header h;
	char err[256];

	(void)state;
	refused(0, 4, 0x12345678, "not a qcow2 image");
	refused(4, 4, 4, "version 4");
	refused(20, 4, 30, "cluster bits");
	refused(72, 8, 1ULL << 20, "unsupported incompatible features");
	refused(72, 8, QCOW2_INCOMPAT_DATA_FILE, "external data files");
	refused(32, 4, 1, "encrypted");
	refused(36, 4, 0, "L1 table of 0 entries is too small");
	refused(36, 4, 1 << 24, "larger than the file allows");
	refused(40, 8, 100 * CS, "larger than the file allows");
	refused(56, 4, 1000, "refcount table");
	refused(96, 4, 7, "refcount order");
	make_header("");
	assert_int_equal(parse(3 * CS, &h, err), -1); /* L1 past the end */
	assert_int_equal(qcow2_parse_header(hdr, 40, 4 * CS, &h, err, 256), -1);
}

static void test_refcount_widths(void **state)
{
	uint8_t rb[64];

	(void)state;
	for (unsigned int order = 0; order <= 6; order++) {
		uint64_t max = order == 6 ? UINT64_MAX :
					    (1ULL << (1U << order)) - 1;

		memset(rb, 0, sizeof(rb));
		qcow2_rc_set(rb, 3, order, max);
		qcow2_rc_set(rb, 4, order, 1);
		assert_int_equal(qcow2_rc_get(rb, 2, order), 0);
		assert_true(qcow2_rc_get(rb, 3, order) == max);
		assert_int_equal(qcow2_rc_get(rb, 4, order), 1);
		assert_int_equal(qcow2_rc_get(rb, 5, order), 0);
	}
}

static void expect_clean(struct qcow2 *q)
{
	struct qcow2_check r;

	assert_int_equal(qcow2_check(q, &r, true), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
}

static void expect_leaks(struct qcow2 *q, uint64_t n)
{
	struct qcow2_check r;

	assert_int_equal(qcow2_check(q, &r, false), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, n);
}

static void test_engine(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2-XXXXXX", err[512];
	char *argv[] = { "img", "create", path, "8M", NULL };
	static uint8_t buf[3 * CS], back[3 * CS];
	struct qcow2 *q;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cmd_img(4, argv), 0);
	q = qcow2_open(path, -1, false, err, sizeof(err));
	assert_non_null(q);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* Unaligned, across three clusters and into a fourth. */
	assert_int_equal(qcow2_write(q, 1000, buf, sizeof(buf)), 0);
	assert_int_equal(qcow2_read(q, 1000, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	assert_int_equal(qcow2_read(q, 0, back, 1000), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(back[i], 0);
	expect_clean(q);
	/* Zero the whole second cluster, discard the third. */
	assert_int_equal(qcow2_zero(q, CS, CS, false), 0);
	assert_int_equal(qcow2_zero(q, 2 * CS, CS, true), 0);
	assert_int_equal(qcow2_read(q, CS, back, 2 * CS), 0);
	for (int i = 0; i < 2 * CS; i++)
		assert_int_equal(back[i], 0);
	/* The freed clusters keep their reference until the next flush. */
	expect_leaks(q, 2);
	assert_int_equal(qcow2_flush(q), 0);
	expect_clean(q);
	assert_int_equal(qcow2_write(q, 8 << 20, buf, 1), -EINVAL);
	assert_int_equal(qcow2_flush(q), 0);
	qcow2_close(q);
	q = qcow2_open(path, -1, true, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(qcow2_read(q, 1000, back, CS - 1000), 0);
	assert_memory_equal(buf, back, CS - 1000);
	assert_int_equal(qcow2_write(q, 0, buf, 1), -EROFS);
	expect_clean(q);
	qcow2_close(q);
	unlink(path);
}

static void test_open_errors(void **state)
{
	char err[512];

	(void)state;
	assert_null(
		qcow2_open("/nonexistent/x.qcow2", -1, true, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.qcow2: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_refcount_widths),
		cmocka_unit_test(test_engine),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
