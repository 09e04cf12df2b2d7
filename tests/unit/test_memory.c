// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_memory.c - unit tests for guest-physical translation and the RAM
 * layout (src/vmm/memory.c, src/arch/x86/e820.c): region edges,
 * overflow-safe range checks for any guest value, read-only regions, and
 * the split of RAM around the 32-bit MMIO hole, and which pages of
 * anonymous RAM were never populated (src/vmm/pagemap.c). Large layouts use a fake
 * base pointer: only addresses are computed, nothing is dereferenced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "vmm/memory.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* Never dereferenced: a plausible user-space address for pointer math. */
static uint8_t *const fake_base = (uint8_t *)0x7f0000000000ULL;

static void test_layout_small(void **state)
{
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_layout_ram(&mem, fake_base, 256 * MIB), 0);
	assert_ptr_equal(mem.base, fake_base);
	assert_int_equal(mem.ram_size, 256 * MIB);
	assert_int_equal(mem.nr, 1);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 256 * MIB);
	assert_ptr_equal(mem.regions[0].hva, fake_base);
	assert_false(mem.regions[0].readonly);
	assert_int_equal(gmem_low_ram_end(&mem), 256 * MIB);
}

static void test_layout_exactly_3g(void **state)
{
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_layout_ram(&mem, fake_base, 3 * GIB), 0);
	assert_int_equal(mem.nr, 1);
	assert_int_equal(mem.regions[0].size, MMIO_HOLE_START);
	assert_int_equal(gmem_low_ram_end(&mem), MMIO_HOLE_START);
	assert_null(gpa_to_hva(&mem, MMIO_HOLE_START, 1));
	assert_null(gpa_to_hva(&mem, MMIO_HOLE_END, 1));
}

static void test_layout_hole_split(void **state)
{
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	/* 5 GiB: 3 GiB below the hole, 2 GiB from 4 GiB up. */
	assert_int_equal(gmem_layout_ram(&mem, fake_base, 5 * GIB), 0);
	assert_int_equal(mem.ram_size, 5 * GIB);
	assert_int_equal(mem.nr, 2);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 3 * GIB);
	assert_ptr_equal(mem.regions[0].hva, fake_base);
	assert_int_equal(mem.regions[1].gpa, 4 * GIB);
	assert_int_equal(mem.regions[1].size, 2 * GIB);
	/* The high part continues right after the low part in the mapping. */
	assert_ptr_equal(mem.regions[1].hva, fake_base + 3 * GIB);
	assert_int_not_equal(mem.regions[0].slot, mem.regions[1].slot);
	assert_int_equal(gmem_low_ram_end(&mem), 3 * GIB);

	/* Translation on both sides of, and inside, the hole. */
	assert_ptr_equal(gpa_to_hva(&mem, 3 * GIB - 4096, 4096),
			 fake_base + 3 * GIB - 4096);
	assert_null(gpa_to_hva(&mem, 3 * GIB - 4096, 4097));
	assert_null(gpa_to_hva(&mem, 3 * GIB, 1));
	assert_null(gpa_to_hva(&mem, IOAPIC_ADDR, 4));
	assert_null(gpa_to_hva(&mem, LAPIC_ADDR, 4));
	assert_null(gpa_to_hva(&mem, 4 * GIB - 1, 1));
	assert_null(gpa_to_hva(&mem, 4 * GIB - 1, 2));
	assert_ptr_equal(gpa_to_hva(&mem, 4 * GIB, 1), fake_base + 3 * GIB);
	assert_ptr_equal(gpa_to_hva(&mem, 6 * GIB - 1, 1),
			 fake_base + 5 * GIB - 1);
	assert_null(gpa_to_hva(&mem, 6 * GIB, 1));
	assert_null(gpa_to_hva(&mem, 6 * GIB - 1, 2));
	/* A range spanning the hole is not one region: refused. */
	assert_null(gpa_to_hva(&mem, 3 * GIB - 1, GIB + 2));
	assert_null(gpa_to_hva(&mem, 0, 5 * GIB));
}

static void test_layout_just_above_3g(void **state)
{
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_layout_ram(&mem, fake_base, 3 * GIB + 4096), 0);
	assert_int_equal(mem.nr, 2);
	assert_int_equal(mem.regions[1].gpa, MMIO_HOLE_END);
	assert_int_equal(mem.regions[1].size, 4096);
	assert_non_null(gpa_to_hva(&mem, MMIO_HOLE_END, 4096));
	assert_null(gpa_to_hva(&mem, MMIO_HOLE_END, 4097));
}

static void test_region_edges(void **state)
{
	static uint8_t ram[0x4000];
	struct guest_mem mem;
	uint8_t buf[16];

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_add_region(&mem, 0x10000, sizeof(ram), ram, false,
					 "ram"),
			 0);
	assert_ptr_equal(gpa_to_hva(&mem, 0x10000, 1), ram);
	assert_ptr_equal(gpa_to_hva(&mem, 0x10000, sizeof(ram)), ram);
	assert_ptr_equal(gpa_to_hva(&mem, 0x13fff, 1), ram + 0x3fff);
	assert_ptr_equal(gpa_to_hva(&mem, 0x13ff0, 16), ram + 0x3ff0);
	/* Zero-length ranges inside a region are fine, at its end are not. */
	assert_ptr_equal(gpa_to_hva(&mem, 0x12000, 0), ram + 0x2000);
	assert_null(gpa_to_hva(&mem, 0x14000, 0));
	/* One byte too many, one byte before, one byte after. */
	assert_null(gpa_to_hva(&mem, 0x10000, sizeof(ram) + 1));
	assert_null(gpa_to_hva(&mem, 0x13ff0, 17));
	assert_null(gpa_to_hva(&mem, 0xffff, 1));
	assert_null(gpa_to_hva(&mem, 0xffff, 2));
	assert_null(gpa_to_hva(&mem, 0x14000, 1));
	assert_null(gpa_to_hva(&mem, 0, 1));

	/* gmem_read/gmem_write use the same check, and copy on success. */
	memset(buf, 0x42, sizeof(buf));
	assert_int_equal(gmem_write(&mem, 0x13ff0, buf, 16), 0);
	assert_memory_equal(ram + 0x3ff0, buf, 16);
	assert_int_equal(gmem_write(&mem, 0x13ff1, buf, 16), -1);
	assert_int_equal(ram[0x3fef], 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_read(&mem, 0x13ff8, buf, 8), 0);
	assert_int_equal(buf[0], 0x42);
	assert_int_equal(gmem_read(&mem, 0x13ff8, buf, 9), -1);
}

static void test_overflow(void **state)
{
	static uint8_t ram[0x1000];
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_add_region(&mem, 0x1000, sizeof(ram), ram, false,
					 "ram"),
			 0);
	/* gpa + len wraps to inside the region: must still be refused. */
	assert_null(gpa_to_hva(&mem, UINT64_MAX, 0x1002));
	assert_null(gpa_to_hva(&mem, UINT64_MAX - 0xfff, 0x1800));
	assert_null(gpa_to_hva(&mem, 0x1800, UINT64_MAX));
	assert_null(gpa_to_hva(&mem, 0x1000, UINT64_MAX));
	assert_null(gpa_to_hva(&mem, 0x1fff, UINT64_MAX - 0x1ffe));
	assert_null(gpa_to_hva(&mem, UINT64_MAX, 1));
	assert_null(gpa_to_hva(&mem, UINT64_MAX, UINT64_MAX));
	assert_null(gpa_to_hva_rw(&mem, UINT64_MAX, 0x1002));

	/* A region that ends at the top of the address space. */
	assert_int_equal(gmem_add_region(&mem, UINT64_MAX - 0xfff, 0x1000,
					 fake_base, false, "top"),
			 0);
	assert_ptr_equal(gpa_to_hva(&mem, UINT64_MAX, 1), fake_base + 0xfff);
	assert_null(gpa_to_hva(&mem, UINT64_MAX, 2));
	assert_ptr_equal(gpa_to_hva(&mem, UINT64_MAX - 0xfff, 0x1000),
			 fake_base);
	assert_null(gpa_to_hva(&mem, UINT64_MAX - 0xfff, 0x1001));
}

static void test_readonly(void **state)
{
	static uint8_t rom[0x100], ram[0x100];
	struct guest_mem mem;
	uint8_t b = 7;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(
		gmem_add_region(&mem, 0, sizeof(ram), ram, false, "ram"), 0);
	assert_int_equal(gmem_add_region(&mem, 0x1000, sizeof(rom), rom, true,
					 "rom"),
			 0);
	assert_int_equal(mem.regions[1].slot, 1);
	assert_ptr_equal(gpa_to_hva(&mem, 0x1010, 4), rom + 0x10);
	assert_null(gpa_to_hva_rw(&mem, 0x1010, 4));
	assert_ptr_equal(gpa_to_hva_rw(&mem, 0x10, 4), ram + 0x10);
	assert_int_equal(gmem_write(&mem, 0x1000, &b, 1), -1);
	assert_int_equal(rom[0], 0);
	assert_int_equal(gmem_read(&mem, 0x1000, &b, 1), 0);
	assert_int_equal(b, 0);
}

/* Dirty tracking: writable translations and marks set the page bits. */
static void test_dirty_marks(void **state)
{
	static uint8_t rom[4096];
	uint64_t bits[2] = { 0, 0 };
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_layout_ram(&mem, fake_base, 128 * 4096), 0);
	assert_int_equal(gmem_add_region(&mem, 0x100000000ULL, sizeof(rom), rom,
					 true, "rom"),
			 0);
	/* Off: nothing marked, nothing dereferenced. */
	assert_non_null(gpa_to_hva_rw(&mem, 0x3000, 8));
	mem.dirty = bits;
	assert_non_null(gpa_to_hva(&mem, 0x5000, 8)); /* a read: no mark */
	assert_int_equal(bits[0], 0);
	/* A write across a page boundary marks both pages. */
	assert_non_null(gpa_to_hva_rw(&mem, 0x3ff8, 16));
	assert_int_equal(bits[0], 1ULL << 3 | 1ULL << 4);
	gmem_mark_dirty(&mem, 65 * 4096, 1);
	assert_int_equal(bits[1], 1ULL << 1);
	/* Outside RAM (a ROM, no memory at all): nothing. */
	gmem_mark_dirty(&mem, 0x100000000ULL, 4096);
	gmem_mark_dirty(&mem, 200 * 4096, 4096);
	assert_int_equal(bits[0], 1ULL << 3 | 1ULL << 4);
	assert_int_equal(bits[1], 1ULL << 1);
}

static void test_region_table_full(void **state)
{
	struct guest_mem mem;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	for (unsigned int i = 0; i < MEM_MAX_REGIONS; i++)
		assert_int_equal(gmem_add_region(&mem, i * GIB, MIB,
						 fake_base + i * MIB, false,
						 "r"),
				 0);
	assert_int_equal(gmem_add_region(&mem, 100 * GIB, MIB, fake_base, false,
					 "over"),
			 -1);
	assert_int_equal(mem.nr, MEM_MAX_REGIONS);
	/* A layout into a full table fails. */
	assert_int_equal(gmem_layout_ram(&mem, fake_base, MIB), -1);
}

/*
 * gmem_unpopulated(): pages never touched are set, pages written or read
 * (a read maps the zero page) are clear, and a page given back with
 * MADV_DONTNEED is unpopulated again. Not anonymous: refused.
 */
static void test_unpopulated(void **state)
{
	const uint64_t pages = 256;
	struct guest_mem mem;
	uint64_t bits[4];
	volatile uint8_t *p;

	(void)state;
	memset(&mem, 0, sizeof(mem));
	mem.base = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem.base != MAP_FAILED);
	madvise(mem.base, pages * 4096, MADV_NOHUGEPAGE);
	mem.ram_size = pages * 4096;
	assert_int_equal(gmem_unpopulated(&mem, bits), -1);
	mem.anon = true;
	p = mem.base;
	p[0] = 1;
	p[5 * 4096 + 100] = 2;
	(void)p[64 * 4096];
	p[255 * 4096] = 3;
	memset(bits, 0xa5, sizeof(bits));
	assert_int_equal(gmem_unpopulated(&mem, bits), 0);
	for (uint64_t pg = 0; pg < pages; pg++) {
		bool touched = pg == 0 || pg == 5 || pg == 64 || pg == 255;

		assert_int_equal(!!(bits[pg / 64] & (1ULL << (pg % 64))),
				 !touched);
	}
	madvise(mem.base + 5 * 4096, 4096, MADV_DONTNEED);
	assert_int_equal(gmem_unpopulated(&mem, bits), 0);
	assert_true(bits[0] & (1ULL << 5));
	assert_false(bits[0] & 1);
	munmap(mem.base, pages * 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_small),
		cmocka_unit_test(test_layout_exactly_3g),
		cmocka_unit_test(test_layout_hole_split),
		cmocka_unit_test(test_layout_just_above_3g),
		cmocka_unit_test(test_region_edges),
		cmocka_unit_test(test_dirty_marks),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_region_table_full),
		cmocka_unit_test(test_unpopulated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
