// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_boot.c - unit tests for the x86 boot structures: the e820 map, the
 * MP table, bzImage setup-header checks, the Linux zero page, and the
 * hints for instructions the PVM backend cannot emulate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "vmm/memory.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static uint8_t *const fake_base = (uint8_t *)0x7f0000000000ULL;

/* --- e820 --- */

static int build_map(uint64_t ram, struct e820_map_entry *map, int max)
{
	struct guest_mem mem;

	memset(&mem, 0, sizeof(mem));
	assert_int_equal(gmem_layout_ram(&mem, fake_base, ram), 0);
	return e820_build(&mem, map, max);
}

static void expect_entry(const struct e820_map_entry *e, uint64_t addr,
			 uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void expect_legacy(const struct e820_map_entry *map)
{
	expect_entry(&map[0], 0, 0x9fc00, E820_TYPE_RAM);
	expect_entry(&map[1], 0x9fc00, 0x400, E820_TYPE_RESERVED);
	expect_entry(&map[2], 0xf0000, 0x10000, E820_TYPE_RESERVED);
}

static void test_e820_small(void **state)
{
	struct e820_map_entry map[E820_MAX_MAP];

	(void)state;
	assert_int_equal(build_map(256 * MIB, map, E820_MAX_MAP), 4);
	expect_legacy(map);
	expect_entry(&map[3], MIB, 255 * MIB, E820_TYPE_RAM);
	/* Exactly enough room. */
	assert_int_equal(build_map(256 * MIB, map, 4), 4);
	assert_int_equal(build_map(256 * MIB, map, 3), -1);
	assert_int_equal(build_map(256 * MIB, map, 0), -1);
	/* The smallest RAM --mem accepts. */
	assert_int_equal(build_map(2 * MIB, map, E820_MAX_MAP), 4);
	expect_entry(&map[3], MIB, MIB, E820_TYPE_RAM);
	/* 1 MiB of RAM leaves none above the BIOS area: refused. */
	assert_int_equal(build_map(MIB, map, E820_MAX_MAP), -1);
}

static void test_e820_3g(void **state)
{
	struct e820_map_entry map[E820_MAX_MAP];

	(void)state;
	assert_int_equal(build_map(3 * GIB, map, E820_MAX_MAP), 4);
	expect_legacy(map);
	expect_entry(&map[3], MIB, 3 * GIB - MIB, E820_TYPE_RAM);
}

static void test_e820_above_4g(void **state)
{
	struct e820_map_entry map[E820_MAX_MAP];

	(void)state;
	assert_int_equal(build_map(6 * GIB, map, E820_MAX_MAP), 5);
	expect_legacy(map);
	expect_entry(&map[3], MIB, 3 * GIB - MIB, E820_TYPE_RAM);
	/* The 1 GiB hidden by the hole is moved above 4 GiB. */
	expect_entry(&map[4], 4 * GIB, 3 * GIB, E820_TYPE_RAM);
	assert_int_equal(build_map(6 * GIB, map, 4), -1);
	/* Nothing maps the MMIO hole, and entries are sorted, disjoint. */
	for (int i = 1; i < 5; i++)
		assert_true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
	for (int i = 0; i < 5; i++)
		assert_true(map[i].addr + map[i].size <= MMIO_HOLE_START ||
			    map[i].addr >= MMIO_HOLE_END);
}

/* --- MP table --- */

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The MP table for @ncpus with ISA IRQ 0 on IOAPIC pin @irq0_pin. */
static void check_mptable_irq0(unsigned int ncpus, uint8_t irq0_pin)
{
	size_t size = mptable_size(ncpus);
	uint8_t *buf = malloc(size + 64);
	const uint8_t *mpc, *p;
	unsigned int cpus = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;
	uint16_t count;
	long len;

	assert_non_null(buf);
	memset(buf, 0xcc, size + 64);
	len = mptable_build_irq0(buf, size, 0xf0000, ncpus, irq0_pin);
	assert_int_equal(len, (long)size);
	/* Nothing written past the table. */
	for (size_t i = size; i < size + 64; i++)
		assert_int_equal(buf[i], 0xcc);

	/* Floating pointer: "_MP_", 16 bytes, sums to 0, points after it. */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(get32(buf + 4), 0xf0000 + 16);
	assert_int_equal(buf[8], 1); /* length in 16-byte units */
	assert_int_equal(buf[9], 4); /* spec 1.4 */
	assert_int_equal(sum(buf, 16), 0);
	assert_int_equal(buf[11], 0); /* no default configuration */

	/* Configuration table header. */
	mpc = buf + 16;
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(get16(mpc + 4), size - 16);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(sum(mpc, get16(mpc + 4)), 0);
	count = get16(mpc + 34);
	assert_int_equal(count, ncpus + 1 + 1 + MPTABLE_NR_IRQS + 2);
	assert_int_equal(get32(mpc + 36), LAPIC_ADDR);

	p = mpc + 44;
	for (unsigned int i = 0; i < count; i++) {
		assert_true(p < buf + size);
		switch (p[0]) {
		case 0: /* processor */
			assert_int_equal(p[1], cpus); /* APIC ID */
			assert_true(p[3] & 1); /* enabled */
			assert_int_equal(!!(p[3] & 2), cpus == 0); /* BSP */
			cpus++;
			p += 20;
			break;
		case 1: /* bus */
			assert_memory_equal(p + 2, "ISA   ", 6);
			buses++;
			p += 8;
			break;
		case 2: /* I/O APIC */
			assert_int_equal(p[1], ncpus); /* after the CPUs */
			assert_true(p[3] & 1);
			assert_int_equal(get32(p + 4), IOAPIC_ADDR);
			ioapics++;
			p += 8;
			break;
		case 3: /* I/O interrupt: ISA IRQ n -> IOAPIC pin n */
			assert_int_equal(p[5], ints);
			assert_int_equal(p[6], ncpus);
			assert_int_equal(p[7], ints ? ints : irq0_pin);
			ints++;
			p += 8;
			break;
		case 4: /* local interrupt: LINT0 ExtINT, LINT1 NMI */
			assert_int_equal(p[1], lints ? 1 : 3);
			assert_int_equal(p[6], 0xff);
			assert_int_equal(p[7], lints);
			lints++;
			p += 8;
			break;
		default:
			fail_msg("entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, buf + size);
	assert_int_equal(cpus, ncpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, MPTABLE_NR_IRQS);
	assert_int_equal(lints, 2);
	free(buf);
}

static void check_mptable(unsigned int ncpus)
{
	check_mptable_irq0(ncpus, 0);
}

static void test_mptable(void **state)
{
	(void)state;
	check_mptable(1);
	check_mptable(2);
	check_mptable(7);
	check_mptable(254);
	check_mptable_irq0(2, 2); /* with ACPI's routing */
}

static void test_mptable_errors(void **state)
{
	size_t size = mptable_size(255);
	uint8_t *buf = calloc(1, size);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(mptable_build(buf, size, 0xf0000, 0), -1);
	assert_int_equal(mptable_build(buf, size, 0xf0000, 255), -1);
	assert_int_equal(mptable_build(buf, mptable_size(4) - 1, 0xf0000, 4),
			 -1);
	/* A refused build writes nothing. */
	for (size_t i = 0; i < size; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(mptable_build(buf, mptable_size(4), 0xf0000, 4),
			 (long)mptable_size(4));
	free(buf);
}

/* --- bzImage --- */

#define IMG_SIZE (64 * 1024)

static uint8_t *make_bzimage(void)
{
	uint8_t *img = calloc(1, IMG_SIZE);
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);

	assert_non_null(img);
	for (size_t i = 0; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i * 7);
	memset(h, 0, sizeof(*h));
	h->setup_sects = 27;
	h->boot_flag = 0xaa55;
	/* jump at 0x200: its offset byte gives the header's end. */
	h->jump = 0x6aeb;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->init_size = 0x2000000;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	h->kernel_alignment = 0x200000;
	h->pref_address = 0x1000000;
	return img;
}

static struct setup_header *hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

static void test_bzimage_parse(void **state)
{
	uint8_t *img = make_bzimage();
	struct bzimage_info info;
	char err[200] = "";

	(void)state;
	assert_true(bzimage_detect(img, IMG_SIZE));
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.version, 0x020f);
	assert_int_equal(info.setup_size, 28 * 512);
	/* Not relocatable: the default 1 MiB. */
	assert_int_equal(info.load_addr, KERNEL_LOAD_ADDR);
	assert_int_equal(info.init_size, 0x2000000);
	assert_int_equal(info.initrd_addr_max, 0x7fffffff);
	assert_int_equal(info.cmdline_size, 2048);

	/* Relocatable: pref_address, if it is usable RAM below the hole. */
	hdr(img)->relocatable_kernel = 1;
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.load_addr, 0x1000000);
	hdr(img)->pref_address = 0x80000;
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.load_addr, KERNEL_LOAD_ADDR);
	hdr(img)->pref_address = MMIO_HOLE_START;
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.load_addr, KERNEL_LOAD_ADDR);
	hdr(img)->pref_address = 0xffffffff80000000ULL;
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.load_addr, KERNEL_LOAD_ADDR);

	/* setup_sects 0 means 4; defaults for unset fields. */
	hdr(img)->setup_sects = 0;
	hdr(img)->initrd_addr_max = 0;
	hdr(img)->cmdline_size = 0;
	hdr(img)->init_size = 0;
	assert_int_equal(bzimage_parse(img, IMG_SIZE, &info, err, sizeof(err)),
			 0);
	assert_int_equal(info.setup_size, 5 * 512);
	assert_int_equal(info.initrd_addr_max, 0x37ffffff);
	assert_int_equal(info.cmdline_size, 256);
	/* init_size is at least what the file holds after the setup. */
	assert_int_equal(info.init_size, IMG_SIZE - 5 * 512);
	free(img);
}

static void parse_error(uint8_t *img, size_t size, const char *needle)
{
	struct bzimage_info info;
	char err[200] = "";

	assert_int_equal(bzimage_parse(img, size, &info, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_bzimage_refused(void **state)
{
	uint8_t *img = make_bzimage();

	(void)state;
	/* Not a bzImage at all. */
	hdr(img)->header = 0x53726449;
	assert_false(bzimage_detect(img, IMG_SIZE));
	parse_error(img, IMG_SIZE, "not a bzImage");
	hdr(img)->header = 0x53726448;
	hdr(img)->boot_flag = 0;
	assert_false(bzimage_detect(img, IMG_SIZE));
	hdr(img)->boot_flag = 0xaa55;
	/* Too short to hold the header. */
	assert_false(
		bzimage_detect(img, 0x1f1 + sizeof(struct setup_header) - 1));
	assert_true(bzimage_detect(img, 0x1f1 + sizeof(struct setup_header)));
	assert_false(bzimage_detect(img, 0));
	/* Old protocol. */
	hdr(img)->version = 0x020b;
	parse_error(img, IMG_SIZE, "boot protocol 2.11 without a 64-bit");
	hdr(img)->version = 0x0204;
	parse_error(img, IMG_SIZE, "boot protocol 2.04");
	hdr(img)->version = 0x020c;
	/* No 64-bit entry point. */
	hdr(img)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	parse_error(img, IMG_SIZE, "boot protocol 2.12 without a 64-bit");
	hdr(img)->xloadflags = XLF_KERNEL_64;
	/* Setup larger than the file. */
	parse_error(img, 28 * 512, "truncated: setup of 14336 bytes");
	hdr(img)->setup_sects = 0xff;
	parse_error(img, IMG_SIZE, "truncated: setup of 131072 bytes");
	free(img);
}

/* --- zero page --- */

static void test_zero_page(void **state)
{
	uint8_t *img = make_bzimage();
	struct boot_params *bp = malloc(sizeof(*bp));
	struct e820_map_entry map[E820_MAX_MAP];
	size_t hdr_end = 0x202 + img[0x201];
	int n = build_map(6 * GIB, map, E820_MAX_MAP);

	(void)state;
	assert_non_null(bp);
	assert_int_equal(n, 5);
	memset(bp, 0xee, sizeof(*bp));
	linux_zero_page(bp, img, map, n, 0x20000, 0x1f000000, 0x123456);
	/* The setup header up to its end (0x202 + jump offset) is copied. */
	assert_int_equal(hdr_end, 0x26c);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.setup_sects, 27);
	assert_int_equal(bp->hdr.init_size, 0x2000000);
	assert_int_equal(bp->hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp->hdr.pref_address, 0x1000000);
	assert_int_equal(bp->hdr.xloadflags,
			 XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	/* Loader fields. */
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0x1f000000);
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0x123456);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	/* Everything outside the header and the loader fields is zero. */
	assert_int_equal(bp->screen_info.orig_video_isVGA, 0);
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	/* e820 copied. */
	assert_int_equal(bp->e820_entries, 5);
	for (int i = 0; i < n; i++) {
		assert_int_equal(bp->e820_table[i].addr, map[i].addr);
		assert_int_equal(bp->e820_table[i].size, map[i].size);
		assert_int_equal(bp->e820_table[i].type, map[i].type);
	}
	assert_int_equal(bp->e820_table[5].size, 0);

	/* Initrd and command line above 4 GiB use the ext_ fields. */
	linux_zero_page(bp, img, map, n, 0x100020000ULL, 0x123456789000ULL,
			0x100000001ULL);
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp->ext_cmd_line_ptr, 1);
	assert_int_equal(bp->hdr.ramdisk_image, 0x56789000);
	assert_int_equal(bp->ext_ramdisk_image, 0x1234);
	assert_int_equal(bp->hdr.ramdisk_size, 1);
	assert_int_equal(bp->ext_ramdisk_size, 1);

	/* No initrd: all ramdisk fields zero. */
	linux_zero_page(bp, img, map, n, 0x20000, 0, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	free(bp);
	free(img);
}

static void test_zero_page_header_len(void **state)
{
	uint8_t *img = make_bzimage();
	struct boot_params *bp = malloc(sizeof(*bp));
	struct e820_map_entry map[1] = { { 0, MIB, E820_TYPE_RAM } };

	(void)state;
	assert_non_null(bp);
	/* A short header (old jump offset): the fields after it stay 0. */
	img[0x201] = 0x2e; /* ends at 0x230, before kernel_alignment */
	linux_zero_page(bp, img, map, 1, 0x20000, 0, 0);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.kernel_alignment, 0);
	assert_int_equal(bp->hdr.init_size, 0);
	assert_int_equal(bp->hdr.pref_address, 0);
	/* An offset beyond struct setup_header is clamped to it. */
	img[0x201] = 0xff;
	memset(bp, 0xee, sizeof(*bp));
	linux_zero_page(bp, img, map, 1, 0x20000, 0, 0);
	assert_int_equal(bp->hdr.init_size, 0x2000000);
	assert_int_equal(bp->e820_entries, 1);
	/* The bytes after the header in boot_params are not image bytes. */
	assert_int_equal(((uint8_t *)bp)[0x1f1 + sizeof(bp->hdr)], 0);
	free(bp);
	free(img);
}

/* --- emulation hints --- */

static const char *hint(const uint8_t *b, unsigned int len)
{
	return x86_emulation_hint(b, len);
}

#define HINT(...)                              \
	hint((const uint8_t[]){ __VA_ARGS__ }, \
	     sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void expect_hint(const char *h, const char *needle)
{
	assert_non_null(h);
	if (!strstr(h, needle))
		fail_msg("hint '%s' lacks '%s'", h, needle);
}

static void test_emulation_hints(void **state)
{
	(void)state;
	expect_hint(HINT(0xf0, 0x48, 0x0f, 0xc7, 0x0f), "cmpxchg16b");
	expect_hint(HINT(0xf0, 0x48, 0x0f, 0xc7, 0x0f), "-cx16");
	expect_hint(HINT(0x48, 0x0f, 0xae, 0x2f), "xsave/xrstor");
	expect_hint(HINT(0x0f, 0xae, 0x27), "xsave/xrstor"); /* xsave */
	expect_hint(HINT(0x0f, 0x01, 0xca), "clac/stac");
	expect_hint(HINT(0x0f, 0x01, 0xcb), "clac/stac");
	expect_hint(HINT(0xf3, 0x48, 0x0f, 0xb8, 0xc0), "popcnt");
	expect_hint(HINT(0xcc), "int3");
	expect_hint(HINT(0x9b), "fwait");
	expect_hint(HINT(0xdb, 0xe2), "fnclex");
	expect_hint(HINT(0x0f, 0x01, 0xd0), "xgetbv");
	expect_hint(HINT(0x0f, 0xc7, 0xf0), "rdrand");
	expect_hint(HINT(0xf3, 0x48, 0x0f, 0xae, 0xd8), "fs/gs base");

	/* Near misses are not flagged. */
	assert_null(HINT(0xf0, 0x0f, 0xc7, 0x0f)); /* cmpxchg8b */
	assert_null(HINT(0x0f, 0xae, 0xe8)); /* lfence (mod 3) */
	assert_null(HINT(0x0f, 0xae, 0x07)); /* fxsave */
	assert_null(HINT(0x0f, 0xb8, 0xc0)); /* jmpe, not popcnt */
	assert_null(HINT(0x0f, 0x01, 0xc1)); /* vmcall */
	assert_null(HINT(0x90));
	assert_null(HINT(0xdb, 0xe3));
	/* Truncated input never reads past @len. */
	assert_null(hint((const uint8_t[]){ 0xf0, 0x48, 0x0f, 0xc7 }, 4));
	assert_null(hint((const uint8_t[]){ 0x0f, 0x01 }, 2));
	assert_null(hint((const uint8_t[]){ 0xf3, 0x48 }, 2));
	assert_null(hint((const uint8_t[]){ 0xdb }, 1));
	assert_null(hint(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_3g),
		cmocka_unit_test(test_e820_above_4g),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_mptable_errors),
		cmocka_unit_test(test_bzimage_parse),
		cmocka_unit_test(test_bzimage_refused),
		cmocka_unit_test(test_zero_page),
		cmocka_unit_test(test_zero_page_header_len),
		cmocka_unit_test(test_emulation_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
