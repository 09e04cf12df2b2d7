// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_bus.c - unit tests for the port/MMIO range table (src/vmm/bus.c):
 * registration order, overlap and wrap refusal, lookups at range edges,
 * and dispatch of accesses, including ones that leave their range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/bus.h"

struct dev {
	unsigned int reads, writes;
	uint64_t last_off;
	unsigned int last_len;
	uint64_t last_val;
	uint8_t fill;
};

static void dev_read(void *opaque, uint64_t offset, void *data,
		     unsigned int len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = offset;
	d->last_len = len;
	memset(data, d->fill, len);
}

static void dev_write(void *opaque, uint64_t offset, const void *data,
		      unsigned int len)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_off = offset;
	d->last_len = len;
	d->last_val = bus_get(data, len);
}

static const struct bus_ops dev_ops = { dev_read, dev_write };
static const struct bus_ops write_only_ops = { NULL, dev_write };
static const struct bus_ops read_only_ops = { dev_read, NULL };

static void test_register_sorted(void **state)
{
	struct dev a = { 0 }, b = { 0 }, c = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "port");
	assert_string_equal(bus.kind, "port");
	assert_int_equal(bus.nr, 0);
	assert_null(bus_find(&bus, 0));
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &dev_ops, &b, "b"), 0);
	assert_int_equal(bus_register(&bus, 0x60, 1, &dev_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x400, 0x10, &dev_ops, &c, "c"), 0);
	assert_int_equal(bus.nr, 3);
	assert_int_equal(bus.ranges[0].base, 0x60);
	assert_int_equal(bus.ranges[1].base, 0x3f8);
	assert_int_equal(bus.ranges[2].base, 0x400);
	assert_ptr_equal(bus.ranges[1].opaque, &b);
	assert_string_equal(bus.ranges[2].name, "c");
	bus_free(&bus);
	assert_null(bus.ranges);
	assert_int_equal(bus.nr, 0);
}

static void test_register_many(void **state)
{
	struct dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "MMIO");
	/* Descending bases: every insert goes to the front; grows past 16. */
	for (int i = 99; i >= 0; i--)
		assert_int_equal(bus_register(&bus, 0x1000 * (uint64_t)i,
					      0x1000, &dev_ops, &d, "d"),
				 0);
	assert_int_equal(bus.nr, 100);
	for (size_t i = 0; i < bus.nr; i++)
		assert_int_equal(bus.ranges[i].base, 0x1000 * i);
	for (uint64_t i = 0; i < 100; i++) {
		assert_ptr_equal(bus_find(&bus, 0x1000 * i), &bus.ranges[i]);
		assert_ptr_equal(bus_find(&bus, 0x1000 * i + 0xfff),
				 &bus.ranges[i]);
	}
	assert_null(bus_find(&bus, 0x64000));
	bus_free(&bus);
}

static void test_overlap_refused(void **state)
{
	struct dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "port");
	assert_int_equal(bus_register(&bus, 0x100, 0x10, &dev_ops, &d, "x"), 0);
	assert_int_equal(bus_register(&bus, 0x200, 0x10, &dev_ops, &d, "y"), 0);
	/* Same, inside, containing, straddling either end. */
	assert_int_equal(bus_register(&bus, 0x100, 0x10, &dev_ops, &d, "n"),
			 -1);
	assert_int_equal(bus_register(&bus, 0x104, 2, &dev_ops, &d, "n"), -1);
	assert_int_equal(bus_register(&bus, 0xf0, 0x200, &dev_ops, &d, "n"),
			 -1);
	assert_int_equal(bus_register(&bus, 0xf8, 0x9, &dev_ops, &d, "n"), -1);
	assert_int_equal(bus_register(&bus, 0x10f, 1, &dev_ops, &d, "n"), -1);
	assert_int_equal(bus_register(&bus, 0x1ff, 2, &dev_ops, &d, "n"), -1);
	/* A long range starting before both and reaching the second. */
	assert_int_equal(bus_register(&bus, 0x110, 0xf1, &dev_ops, &d, "n"),
			 -1);
	assert_int_equal(bus.nr, 2);
	/* Exactly adjacent ranges are fine. */
	assert_int_equal(bus_register(&bus, 0xf8, 8, &dev_ops, &d, "l"), 0);
	assert_int_equal(bus_register(&bus, 0x110, 0xf0, &dev_ops, &d, "m"), 0);
	assert_int_equal(bus_register(&bus, 0x210, 1, &dev_ops, &d, "r"), 0);
	assert_int_equal(bus.nr, 5);
	for (size_t i = 1; i < bus.nr; i++)
		assert_true(bus.ranges[i - 1].base + bus.ranges[i - 1].len <=
			    bus.ranges[i].base);
	bus_free(&bus);
}

static void test_bad_ranges(void **state)
{
	struct dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "MMIO");
	assert_int_equal(bus_register(&bus, 0x1000, 0, &dev_ops, &d, "e"), -1);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, &dev_ops, &d, "w"),
			 -1);
	assert_int_equal(bus_register(&bus, 2, UINT64_MAX, &dev_ops, &d, "w"),
			 -1);
	assert_int_equal(bus.nr, 0);
	/* Up to the very last address is fine: [2^64 - 16, 2^64). */
	assert_int_equal(bus_register(&bus, UINT64_MAX - 15, 16, &dev_ops, &d,
				      "top"),
			 0);
	assert_ptr_equal(bus_find(&bus, UINT64_MAX), &bus.ranges[0]);
	assert_null(bus_find(&bus, UINT64_MAX - 16));
	/* And a range overlapping it at the very end is refused. */
	assert_int_equal(bus_register(&bus, UINT64_MAX, 1, &dev_ops, &d, "o"),
			 -1);
	bus_free(&bus);

	bus_init(&bus, "MMIO");
	assert_int_equal(bus_register(&bus, 1, UINT64_MAX, &dev_ops, &d, "all"),
			 0);
	assert_null(bus_find(&bus, 0));
	assert_non_null(bus_find(&bus, 1));
	assert_non_null(bus_find(&bus, UINT64_MAX));
	assert_int_equal(bus_register(&bus, 0, 1, &dev_ops, &d, "zero"), 0);
	assert_int_equal(bus_register(&bus, 0, 2, &dev_ops, &d, "n"), -1);
	bus_free(&bus);
}

static void test_find_edges(void **state)
{
	struct dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "port");
	assert_int_equal(bus_register(&bus, 0x70, 2, &dev_ops, &d, "rtc"), 0);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &dev_ops, &d, "com1"), 0);
	assert_null(bus_find(&bus, 0x6f));
	assert_string_equal(bus_find(&bus, 0x70)->name, "rtc");
	assert_string_equal(bus_find(&bus, 0x71)->name, "rtc");
	assert_null(bus_find(&bus, 0x72));
	assert_null(bus_find(&bus, 0x3f7));
	assert_string_equal(bus_find(&bus, 0x3f8)->name, "com1");
	assert_string_equal(bus_find(&bus, 0x3ff)->name, "com1");
	assert_null(bus_find(&bus, 0x400));
	assert_null(bus_find(&bus, 0));
	assert_null(bus_find(&bus, UINT64_MAX));
	bus_free(&bus);
}

static void test_access(void **state)
{
	struct dev d = { .fill = 0x5a };
	uint8_t buf[8];
	struct bus bus;

	(void)state;
	bus_init(&bus, "MMIO");
	assert_int_equal(bus_register(&bus, 0x1000, 0x10, &dev_ops, &d, "d"),
			 0);

	/* Reads and writes get the offset into the range and the length. */
	memset(buf, 0, sizeof(buf));
	assert_true(bus_access(&bus, 0x1004, buf, 4, false));
	assert_int_equal(d.reads, 1);
	assert_int_equal(d.last_off, 4);
	assert_int_equal(d.last_len, 4);
	assert_int_equal(bus_get(buf, 4), 0x5a5a5a5a);
	assert_int_equal(buf[4], 0);
	bus_put(buf, 2, 0xbeef);
	assert_true(bus_access(&bus, 0x100e, buf, 2, true));
	assert_int_equal(d.writes, 1);
	assert_int_equal(d.last_off, 0xe);
	assert_int_equal(d.last_val, 0xbeef);
	/* The whole range in one access. */
	assert_true(bus_access(&bus, 0x1008, buf, 8, false));
	assert_int_equal(d.last_off, 8);
	assert_int_equal(d.last_len, 8);

	/* Spanning the end of the range: unhandled, reads all-ones. */
	d.reads = d.writes = 0;
	memset(buf, 0, sizeof(buf));
	assert_false(bus_access(&bus, 0x100e, buf, 4, false));
	assert_int_equal(bus_get(buf, 4), 0xffffffff);
	assert_int_equal(buf[4], 0);
	memset(buf, 0, sizeof(buf));
	assert_false(bus_access(&bus, 0x100f, buf, 8, false));
	assert_int_equal(bus_get(buf, 8), UINT64_MAX);
	assert_false(bus_access(&bus, 0x100d, buf, 4, true));
	/* Starting before it, or after it. */
	memset(buf, 0, sizeof(buf));
	assert_false(bus_access(&bus, 0xffe, buf, 4, false));
	assert_int_equal(bus_get(buf, 4), 0xffffffff);
	memset(buf, 0, sizeof(buf));
	assert_false(bus_access(&bus, 0x1010, buf, 1, false));
	assert_int_equal(buf[0], 0xff);
	assert_false(bus_access(&bus, 0x1010, buf, 1, true));
	/* Zero-length accesses are never dispatched. */
	assert_false(bus_access(&bus, 0x1000, buf, 0, false));
	assert_false(bus_access(&bus, 0x1000, buf, 0, true));
	assert_int_equal(d.reads, 0);
	assert_int_equal(d.writes, 0);
	bus_free(&bus);
}

static void test_access_missing_callbacks(void **state)
{
	struct dev d = { .fill = 0x11 };
	uint8_t buf[4] = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "port");
	assert_int_equal(bus_register(&bus, 0x80, 1, &write_only_ops, &d, "w"),
			 0);
	assert_int_equal(bus_register(&bus, 0x90, 1, &read_only_ops, &d, "r"),
			 0);
	/* No read callback: handled, reads all-ones. */
	assert_true(bus_access(&bus, 0x80, buf, 1, false));
	assert_int_equal(buf[0], 0xff);
	assert_true(bus_access(&bus, 0x80, buf, 1, true));
	assert_int_equal(d.writes, 1);
	/* No write callback: handled, write dropped. */
	assert_true(bus_access(&bus, 0x90, buf, 1, true));
	assert_int_equal(d.writes, 1);
	assert_true(bus_access(&bus, 0x90, buf, 1, false));
	assert_int_equal(buf[0], 0x11);
	bus_free(&bus);
}

static void test_value_helpers(void **state)
{
	uint8_t buf[8] = { 0 };

	(void)state;
	bus_put(buf, 1, 0x1234);
	assert_int_equal(buf[0], 0x34);
	assert_int_equal(buf[1], 0);
	assert_int_equal(bus_get(buf, 1), 0x34);
	bus_put(buf, 4, 0x11223344);
	assert_int_equal(buf[0], 0x44);
	assert_int_equal(buf[3], 0x11);
	assert_int_equal(bus_get(buf, 2), 0x3344);
	bus_put(buf, 8, 0x0102030405060708ULL);
	assert_int_equal(bus_get(buf, 8), 0x0102030405060708ULL);
	assert_int_equal(buf[7], 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_sorted),
		cmocka_unit_test(test_register_many),
		cmocka_unit_test(test_overlap_refused),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_find_edges),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_access_missing_callbacks),
		cmocka_unit_test(test_value_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
