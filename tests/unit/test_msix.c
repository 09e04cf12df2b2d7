// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_msix.c - unit tests of MSI-X (src/pci/msix.c, msi.c) on a VM
 * without KVM: the capability as a driver reads it through 0xcf8/0xcfc,
 * the table's reset state and access rules, enable and function mask,
 * per-vector masks, pending bits delivered on unmask, the GSI routes
 * following the messages, and running out of GSIs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pci/host.h"
#include "pci/msix.h"
#include "pci_harness.h"

#define NR_VEC 4
#define TABLE_OFF 0x0
#define PBA_OFF 0x800

static struct harness h;
static struct pci_dev dev;
static struct msix x;

static void bar_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	if (off >= PBA_OFF)
		msix_pba_read(opaque, off - PBA_OFF, data, len);
	else
		msix_table_read(opaque, off, data, len);
}

static void bar_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	if (off < PBA_OFF)
		msix_table_write(opaque, off, data, len);
}

static const struct bus_ops bar_ops = { bar_read, bar_write };

static void cfg_written(struct pci_dev *p, unsigned int off, unsigned int len)
{
	msix_config_written(p->opaque, off, len);
}

static const struct pci_dev_ops dev_ops = { .config_written = cfg_written };

static uint32_t cfg_read(unsigned int reg, unsigned int len)
{
	return h_conf1_read(&h, 1, reg, len);
}

static void cfg_write(unsigned int reg, uint32_t v, unsigned int len)
{
	h_conf1_write(&h, 1, reg, v, len);
}
static uint64_t bar_base(void)
{
	return cfg_read(0x10, 4) & ~0xfU;
}

static uint64_t mem_read(uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	bus_access(&h.vm.mmio, bar_base() + off, &v, len, false);
	return v;
}

static void mem_write(uint64_t off, uint64_t v, unsigned int len)
{
	bus_access(&h.vm.mmio, bar_base() + off, &v, len, true);
}

/* Signals on vector @v's eventfd since the last call. */
static uint64_t signals(unsigned int v)
{
	uint64_t n = 0;

	if (read(x.fd[v], &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static int setup(void **state)
{
	(void)state;
	h_init(&h);
	assert_int_equal(pci_host_create(&h.vm), 0);
	pci_dev_init(&dev, "msix-test", 0x1af4, 0x1044, 0xff0000, 1);
	dev.ops = &dev_ops;
	dev.opaque = &x;
	assert_int_equal(
		pci_add_bar(&dev, 0, 0x1000, false, false, &bar_ops, &x), 0);
	assert_int_equal(msix_init(&x, &dev, &h.vm.pci->msi, NR_VEC, 0,
				   TABLE_OFF, PBA_OFF),
			 0);
	assert_int_equal(pci_bus_add(&h.vm.pci->bus, &dev, -1), 0);
	cfg_write(0x04, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	msix_fini(&x);
	return 0;
}

/* Programs vector @v with a valid message and unmasks it. */
static void program(unsigned int v, uint32_t data)
{
	mem_write(v * 16 + 0, 0xfee00000, 4);
	mem_write(v * 16 + 4, 0, 4);
	mem_write(v * 16 + 8, data, 4);
	mem_write(v * 16 + 12, 0, 4);
}

static void test_capability(void **state)
{
	unsigned int cap;

	(void)state;
	cap = cfg_read(0x34, 1);
	assert_int_equal(cfg_read(cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_read(cap + 2, 2), NR_VEC - 1);
	assert_int_equal(cfg_read(cap + 4, 4), TABLE_OFF | 0);
	assert_int_equal(cfg_read(cap + 8, 4), PBA_OFF | 0);
	/* Table size is read-only; enable and mask-all are not. */
	cfg_write(cap + 2, 0xffff, 2);
	assert_int_equal(cfg_read(cap + 2, 2), 0xc000 | (NR_VEC - 1));
	assert_true(msix_enabled(&x));
	cfg_write(cap + 3, 0, 1);
	assert_false(msix_enabled(&x));
	/* Each vector has its own GSI above the interrupt controller's. */
	for (unsigned int v = 0; v < NR_VEC; v++)
		assert_int_equal(x.gsi[v], (int)h.vm.pci->msi.first + (int)v);
	assert_true(h.vm.pci->msi.first >= 16);
}

static void test_table(void **state)
{
	(void)state;
	/* Reset: zero messages, every vector masked, nothing pending. */
	for (unsigned int v = 0; v < NR_VEC; v++) {
		assert_int_equal(mem_read(v * 16, 8), 0);
		assert_int_equal(mem_read(v * 16 + 12, 4), 1);
	}
	assert_int_equal(mem_read(PBA_OFF, 8), 0);
	/* Dword and qword accesses; others are ignored. */
	mem_write(16, 0xfee01000, 4);
	mem_write(20, 0x1, 4);
	assert_int_equal(mem_read(16, 8), 0x1fee01000ULL);
	mem_write(24, 0x0000000100000041ULL, 8);
	assert_int_equal(mem_read(24, 4), 0x41);
	assert_int_equal(mem_read(28, 4), 1);
	mem_write(24, 0xffff, 2);
	assert_int_equal(mem_read(24, 4), 0x41);
	assert_int_equal(mem_read(26, 2), 0);
	/* Reserved vector control bits stay zero. */
	mem_write(28, 0xfffffffe, 4);
	assert_int_equal(mem_read(28, 4), 0);
	/* Past the last vector: reads 0, writes dropped. */
	mem_write(NR_VEC * 16, 0x1234, 4);
	assert_int_equal(mem_read(NR_VEC * 16, 4), 0);
}

static void test_disabled(void **state)
{
	(void)state;
	program(0, 0x30);
	/* MSI-X off: the caller must use INTx. */
	assert_false(msix_notify(&x, 0));
	assert_int_equal(signals(0), 0);
	assert_int_equal(mem_read(PBA_OFF, 8), 0);
}

static void test_function_mask(void **state)
{
	unsigned int cap = cfg_read(0x34, 1);

	(void)state;
	program(1, 0x31);
	cfg_write(cap + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 2);
	assert_true(msix_notify(&x, 1));
	assert_int_equal(signals(1), 0);
	assert_int_equal(mem_read(PBA_OFF, 8), 1 << 1);
	/* Unmasking the function delivers the pending vector once. */
	cfg_write(cap + 3, MSIX_CTRL_ENABLE >> 8, 1);
	assert_int_equal(signals(1), 1);
	assert_int_equal(mem_read(PBA_OFF, 8), 0);
	assert_true(msix_notify(&x, 1));
	assert_int_equal(signals(1), 1);
	/* Its route carries the message. */
	assert_true(h.vm.pci->msi.r[1].set);
	assert_int_equal(h.vm.pci->msi.r[1].addr, 0xfee00000);
	assert_int_equal(h.vm.pci->msi.r[1].data, 0x31);
}

static void test_vector_mask(void **state)
{
	unsigned int cap = cfg_read(0x34, 1);
	unsigned int updates;

	(void)state;
	cfg_write(cap + 2, MSIX_CTRL_ENABLE, 2);
	/* Masked (reset state): pending. */
	assert_true(msix_notify(&x, 2));
	assert_true(msix_notify(&x, 3));
	assert_int_equal(mem_read(PBA_OFF, 4), 0xc);
	assert_int_equal(signals(2), 0);
	/* Unmask vector 2 only: it is sent, 3 stays pending. */
	program(2, 0x32);
	assert_int_equal(signals(2), 1);
	assert_int_equal(signals(3), 0);
	assert_int_equal(mem_read(PBA_OFF, 4), 0x8);
	/* A new message while unmasked moves the route. */
	updates = h.vm.pci->msi.updates;
	mem_write(2 * 16 + 8, 0x42, 4);
	assert_int_equal(h.vm.pci->msi.r[2].data, 0x42);
	assert_true(h.vm.pci->msi.updates > updates);
	/* The same message again: no new routing table. */
	updates = h.vm.pci->msi.updates;
	mem_write(2 * 16 + 8, 0x42, 4);
	assert_int_equal(h.vm.pci->msi.updates, updates);
	/* Masked again: pending, delivered at unmask. */
	mem_write(2 * 16 + 12, 1, 4);
	assert_true(msix_notify(&x, 2));
	assert_int_equal(signals(2), 0);
	mem_write(2 * 16 + 12, 0, 4);
	assert_int_equal(signals(2), 1);
	/* No such vector: nothing. */
	assert_true(msix_notify(&x, NR_VEC));
	assert_true(msix_notify(&x, 0xffff));
	assert_int_equal(x.fired, 2);
}

static void test_bad_address(void **state)
{
	unsigned int cap = cfg_read(0x34, 1);

	(void)state;
	cfg_write(cap + 2, MSIX_CTRL_ENABLE, 2);
	mem_write(0, 0x1000, 4); /* RAM, not a LAPIC */
	mem_write(12, 0, 4);
	assert_true(msix_notify(&x, 0));
	assert_int_equal(signals(0), 0);
	assert_false(h.vm.pci->msi.r[0].set);
}

static void test_reset(void **state)
{
	unsigned int cap = cfg_read(0x34, 1);

	(void)state;
	program(0, 0x30);
	cfg_write(cap + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 2);
	msix_notify(&x, 0);
	msix_reset(&x);
	assert_false(msix_enabled(&x));
	assert_int_equal(cfg_read(cap + 2, 2), NR_VEC - 1);
	assert_int_equal(mem_read(12, 4), 1);
	assert_int_equal(mem_read(PBA_OFF, 8), 0);
}

static void test_out_of_gsis(void **state)
{
	struct pci_dev p;
	struct msix y;

	(void)state;
	h.vm.pci->msi.limit = h.vm.pci->msi.first + h.vm.pci->msi.nr + 2;
	pci_dev_init(&p, "greedy", 0x1af4, 0x1041, 0, 1);
	assert_int_equal(msix_init(&y, &p, &h.vm.pci->msi, 3, 0, 0, 0x800), -1);
	msix_fini(&y);
	/* Too many vectors for the table. */
	pci_dev_init(&p, "huge", 0x1af4, 0x1041, 0, 1);
	assert_int_equal(
		msix_init(&y, &p, NULL, MSIX_MAX_VECTORS + 1, 0, 0, 0x800), -1);
	msix_fini(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vector_mask, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_gsis, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
