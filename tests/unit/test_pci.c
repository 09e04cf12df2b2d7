// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pci.c - unit tests of the PCI bus and host bridge (src/pci/pci.c,
 * host.c) on a VM without KVM: configuration reads and writes of every
 * width through 0xcf8/0xcfc and ECAM, read-only and write-1-to-clear
 * bits, BAR sizing and relocation, decoding by the command register,
 * the capability list, and absent devices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "pci/host.h"
#include "pci_harness.h"

static struct arch_pci_layout lay;

struct bar_dev {
	uint64_t last_off;
	unsigned int reads, writes, moves;
	uint64_t moved_to;
	bool moved_on;
};

static void bar_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct bar_dev *b = opaque;

	b->reads++;
	b->last_off = off;
	memset(data, 0x5a, len);
}

static void bar_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	struct bar_dev *b = opaque;

	(void)data;
	(void)len;
	b->writes++;
	b->last_off = off;
}

static const struct bus_ops bar_ops = { bar_read, bar_write };

static void bar_moved(struct pci_dev *p, unsigned int n, uint64_t addr, bool on)
{
	struct bar_dev *b = p->opaque;

	(void)n;
	b->moves++;
	b->moved_to = addr;
	b->moved_on = on;
}

static const struct pci_dev_ops dev_ops = { .bar_moved = bar_moved };

static struct harness h;
static struct pci_dev dev;
static struct bar_dev bd;

static uint32_t conf1_read(unsigned int slot, unsigned int reg,
			   unsigned int len)
{
	return h_conf1_read(&h, slot, reg, len);
}

static void conf1_write(unsigned int slot, unsigned int reg, uint32_t v,
			unsigned int len)
{
	h_conf1_write(&h, slot, reg, v, len);
}

static uint64_t ecam_read(unsigned int slot, unsigned int reg, unsigned int len)
{
	uint64_t v = 0;

	bus_access(&h.vm.mmio, lay.ecam_base + (slot << 15) + reg, &v, len,
		   false);
	return v;
}

static void ecam_write(unsigned int slot, unsigned int reg, uint64_t v,
		       unsigned int len)
{
	bus_access(&h.vm.mmio, lay.ecam_base + (slot << 15) + reg, &v, len,
		   true);
}

static int setup(void **state)
{
	(void)state;
	arch_pci_layout(&lay);
	h_init(&h);
	memset(&bd, 0, sizeof(bd));
	assert_int_equal(pci_host_create(&h.vm), 0);
	pci_dev_init(&dev, "test", 0x1234, 0x5678, 0x0c0330, 2);
	dev.ops = &dev_ops;
	dev.opaque = &bd;
	assert_int_equal(
		pci_add_bar(&dev, 0, 0x4000, false, false, &bar_ops, &bd), 0);
	assert_int_equal(
		pci_add_bar(&dev, 2, 0x100000, false, true, &bar_ops, &bd), 0);
	assert_int_equal(pci_add_bar(&dev, 4, 0x20, true, false, &bar_ops, &bd),
			 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

static void test_host_bridge(void **state)
{
	(void)state;
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	assert_int_equal(dev.slot, 1);
	assert_int_equal(conf1_read(0, 0, 4),
			 PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	assert_int_equal(conf1_read(0, 0x0a, 2), 0x0600);
	assert_int_equal(conf1_read(0, 0x0e, 1), 0);
	/* Empty slot, other function, other bus: all ones. */
	assert_int_equal(conf1_read(5, 0, 4), 0xffffffff);
	assert_int_equal(conf1_read(1 << 5 | 1, 0, 4) & 0xffff, 0xffff);
	assert_int_equal(ecam_read(7, 0, 4), 0xffffffff);
	assert_int_equal(ecam_read(0, 0x100, 4), 0);
}

static void test_widths(void **state)
{
	uint32_t a = 0x80000000U | 1 << 11, v = 0;

	(void)state;
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	/* Every width at every byte of CONFIG_DATA. */
	assert_int_equal(conf1_read(1, 0, 4), 0x56781234);
	assert_int_equal(conf1_read(1, 0, 2), 0x1234);
	assert_int_equal(conf1_read(1, 2, 2), 0x5678);
	assert_int_equal(conf1_read(1, 1, 1), 0x12);
	assert_int_equal(conf1_read(1, 3, 1), 0x56);
	assert_int_equal(conf1_read(1, 8, 4), 0x0c033002);
	assert_int_equal(ecam_read(1, 0, 8) >> 32 & 0xffff, 0);
	assert_int_equal(ecam_read(1, 0, 2), 0x1234);
	assert_int_equal(ecam_read(1, 9, 1), 0x30);
	/* CONFIG_ADDRESS: dword only, read back with reserved bits clear. */
	bus_access(&h.vm.pio, 0xcf8, &a, 4, true);
	bus_access(&h.vm.pio, 0xcf8, &v, 4, false);
	assert_int_equal(v, a);
	v = 0x7f000003;
	bus_access(&h.vm.pio, 0xcf8, &v, 4, true);
	bus_access(&h.vm.pio, 0xcf8, &v, 4, false);
	assert_int_equal(v, 0);
	v = 0xab;
	bus_access(&h.vm.pio, 0xcf9, &v, 1, true);
	bus_access(&h.vm.pio, 0xcf8, &v, 4, false);
	assert_int_equal(v, 0);
	/* Disabled CONFIG_ADDRESS: data reads all ones. */
	bus_access(&h.vm.pio, 0xcfc, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	/* Read-only identity; writable interrupt line by byte and word. */
	conf1_write(1, 0, 0xffffffff, 4);
	assert_int_equal(conf1_read(1, 0, 4), 0x56781234);
	conf1_write(1, 0x3c, 0x0b, 1);
	assert_int_equal(conf1_read(1, 0x3c, 1), 0x0b);
	ecam_write(1, 0x3c, 0xff0a, 2);
	assert_int_equal(ecam_read(1, 0x3c, 2), 0x000a);
	/* Status: error bits are write-1-to-clear. */
	dev.cfg[PCI_STATUS + 1] = 0x80;
	conf1_write(1, 0x06, 0x0000, 2);
	assert_int_equal(conf1_read(1, 0x07, 1), 0x80);
	conf1_write(1, 0x04, 0x80000000, 4);
	assert_int_equal(conf1_read(1, 0x07, 1), 0);
}

static void test_bar_sizing(void **state)
{
	uint64_t hi;

	(void)state;
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	/* Placed in the window, aligned to their sizes. */
	assert_int_equal(conf1_read(1, 0x10, 4), lay.mmio_base);
	assert_int_equal(conf1_read(1, 0x18, 4) & 0xf, PCI_BAR_MEM64);
	assert_int_equal(conf1_read(1, 0x18, 4) & ~0xfU,
			 lay.mmio_base + 0x100000);
	assert_int_equal(conf1_read(1, 0x20, 4), lay.io_base | 1);
	/* Unimplemented BARs read 0 and stay 0. */
	conf1_write(1, 0x14, 0xffffffff, 4);
	assert_int_equal(conf1_read(1, 0x14, 4), 0);
	/* Sizing: all ones reads back the size mask with the flags. */
	conf1_write(1, 0x10, 0xffffffff, 4);
	assert_int_equal(conf1_read(1, 0x10, 4), 0xffffc000);
	conf1_write(1, 0x18, 0xffffffff, 4);
	conf1_write(1, 0x1c, 0xffffffff, 4);
	assert_int_equal(conf1_read(1, 0x18, 4), 0xfff00004);
	hi = conf1_read(1, 0x1c, 4);
	assert_int_equal(hi, 0xffffffff);
	conf1_write(1, 0x20, 0xffffffff, 4);
	assert_int_equal(conf1_read(1, 0x20, 4), 0xffe1);
	/* By bytes, as some guests do. */
	conf1_write(1, 0x10, 0, 4);
	for (unsigned int i = 0; i < 4; i++)
		conf1_write(1, 0x10 + i, 0xff, 1);
	assert_int_equal(conf1_read(1, 0x10, 4), 0xffffc000);
}

static void test_decoding(void **state)
{
	uint64_t base = lay.mmio_base + 0x40000;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	/* Not decoding before the command register says so. */
	bus_access(&h.vm.mmio, lay.mmio_base + 8, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(bd.reads, 0);
	conf1_write(1, 0x04, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(bd.moves, 2); /* the two memory BARs */
	assert_true(bd.moved_on);
	bus_access(&h.vm.mmio, lay.mmio_base + 8, &v, 4, false);
	assert_int_equal(v, 0x5a5a5a5a);
	assert_int_equal(bd.last_off, 8);
	/* The I/O BAR waits for the I/O bit. */
	bus_access(&h.vm.pio, lay.io_base + 4, &v, 2, true);
	assert_int_equal(bd.writes, 0);
	conf1_write(1, 0x04, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	bus_access(&h.vm.pio, lay.io_base + 4, &v, 2, true);
	assert_int_equal(bd.writes, 1);
	/* Moved: the old place is gone, the new one decodes. */
	conf1_write(1, 0x10, (uint32_t)base, 4);
	assert_int_equal(bd.moved_to, base);
	bus_access(&h.vm.mmio, lay.mmio_base + 8, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	bus_access(&h.vm.mmio, base + 0x3ffc, &v, 4, false);
	assert_int_equal(bd.last_off, 0x3ffc);
	/* An access running past the BAR's end goes nowhere. */
	bd.reads = 0;
	bus_access(&h.vm.mmio, base + 0x3ffe, &v, 4, false);
	assert_int_equal(bd.reads, 0);
	/* Outside the window: not decoded. */
	conf1_write(1, 0x10, 0x10000000, 4);
	assert_false(bd.moved_on);
	/* Memory off. */
	conf1_write(1, 0x10, (uint32_t)base, 4);
	assert_true(bd.moved_on);
	conf1_write(1, 0x04, 0, 1);
	assert_false(bd.moved_on);
}

static void test_caps(void **state)
{
	unsigned int a, b, off, n = 0;

	(void)state;
	a = pci_add_cap(&dev, PCI_CAP_ID_VNDR, 6);
	b = pci_add_cap(&dev, PCI_CAP_ID_MSIX, 12);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x48);
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	assert_true(conf1_read(1, 0x06, 2) & PCI_STATUS_CAP_LIST);
	/* Walk the list as a driver does. */
	for (off = conf1_read(1, 0x34, 1); off;
	     off = conf1_read(1, off + 1, 1)) {
		assert_true(off >= 0x40 && off % 4 == 0);
		assert_int_equal(conf1_read(1, off, 1),
				 n ? PCI_CAP_ID_MSIX : PCI_CAP_ID_VNDR);
		n++;
	}
	assert_int_equal(n, 2);
	/* The list is read-only. */
	conf1_write(1, 0x34, 0, 1);
	conf1_write(1, 0x41, 0xff, 1);
	assert_int_equal(conf1_read(1, 0x34, 1), 0x40);
	assert_int_equal(conf1_read(1, 0x41, 1), 0x48);
	/* Full. */
	assert_int_equal(pci_add_cap(&dev, PCI_CAP_ID_VNDR, 0xc0), 0);
}

static void test_bad_bars(void **state)
{
	struct pci_dev p;

	(void)state;
	pci_dev_init(&p, "bad", 1, 2, 0, 0);
	assert_int_equal(
		pci_add_bar(&p, 6, 0x1000, false, false, &bar_ops, NULL), -1);
	assert_int_equal(
		pci_add_bar(&p, 5, 0x1000, false, true, &bar_ops, NULL), -1);
	assert_int_equal(
		pci_add_bar(&p, 0, 0x1800, false, false, &bar_ops, NULL), -1);
	assert_int_equal(pci_add_bar(&p, 0, 8, false, false, &bar_ops, NULL),
			 -1);
	/* Larger than the window: refused at placement. */
	assert_int_equal(pci_add_bar(&p, 0, 1ULL << 31, false, false, &bar_ops,
				     NULL),
			 0);
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &p, -1), -1);
	/* Slot taken. */
	pci_dev_init(&p, "bad", 1, 2, 0, 0);
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &p, 0), -1);
}

static void test_host_state(void **state)
{
	struct device *host = vm_device(&h.vm, DEVICE_PCI_HOST, 0);
	struct state_writer w;
	struct state_reader r;
	uint32_t a = 0x80000000U | 1 << 11 | 0x3c, v = 0;

	(void)state;
	assert_non_null(host);
	bus_access(&h.vm.pio, 0xcf8, &a, 4, true);
	conf1_write(0, 0x3c, 0x0e, 1);
	bus_access(&h.vm.pio, 0xcf8, &a, 4, true);
	state_writer_init(&w);
	assert_int_equal(device_save(host, &w), 0);
	v = 0;
	bus_access(&h.vm.pio, 0xcf8, &v, 4, true);
	conf1_write(0, 0x3c, 0, 1);
	state_reader_init(&r, w.data, w.len);
	assert_int_equal(device_restore(host, &r), 0);
	bus_access(&h.vm.pio, 0xcf8, &v, 4, false);
	assert_int_equal(v, a);
	assert_int_equal(conf1_read(0, 0x3c, 1), 0x0e);
	/* Another bridge's identity is refused. */
	w.data[w.len - PCI_CFG_SIZE] ^= 1; /* the vendor ID */
	state_reader_init(&r, w.data, w.len);
	assert_int_equal(device_restore(host, &r), -1);
	state_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_state, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
