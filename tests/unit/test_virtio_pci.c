// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtio_pci.c - unit tests of the virtio-pci transport
 * (src/virtio/pci.c) with virtio-rng on a VM without KVM: the function's
 * identity and vendor capabilities as a driver walks them through
 * 0xcf8/0xcfc, the common configuration (features, queue set-up, vector
 * numbers checked), one request through the queue answered by an MSI-X
 * vector, INTx with MSI-X off (ISR read-to-clear), guest-controlled
 * values refused, and the virtio reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pci/host.h"
#include "pci/msix.h"
#include "virtio/devices.h"
#include "virtio/pci.h"
#include "pci_harness.h"

#define RING_GPA 0x10000
#define BUF_GPA 0x20000

static struct harness h;
static struct vm_config cfg;
static struct virtio_dev *dev;
static uint64_t bar;
static unsigned int caps[5]; /* by virtio capability type */

static uint32_t cfg_read(unsigned int reg, unsigned int len)
{
	return h_conf1_read(&h, 1, reg, len);
}

static void cfg_write(unsigned int reg, uint32_t v, unsigned int len)
{
	h_conf1_write(&h, 1, reg, v, len);
}
/* BAR 0 offset of the structure of virtio capability @type. */
static uint64_t region(unsigned int type)
{
	return cfg_read(caps[type] + 8, 4);
}

static uint64_t rd(uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	bus_access(&h.vm.mmio, bar + off, &v, len, false);
	return v;
}

static void wr(uint64_t off, uint64_t v, unsigned int len)
{
	bus_access(&h.vm.mmio, bar + off, &v, len, true);
}

static uint64_t common(unsigned int field, unsigned int len)
{
	return rd(region(VIRTIO_PCI_CAP_COMMON_CFG) + field, len);
}

static void set_common(unsigned int field, uint64_t v, unsigned int len)
{
	wr(region(VIRTIO_PCI_CAP_COMMON_CFG) + field, v, len);
}

static int setup(void **state)
{
	unsigned int off;

	(void)state;
	h_init(&h);
	memset(&cfg, 0, sizeof(cfg));
	cfg.virtio_pci = true;
	h.vm.cfg = &cfg;
	assert_int_equal(pci_host_create(&h.vm), 0);
	dev = virtio_rng_create(&h.vm, h.io, 0, 5);
	assert_non_null(dev);
	assert_non_null(dev->tp);
	memset(caps, 0, sizeof(caps));
	for (off = cfg_read(0x34, 1); off; off = cfg_read(off + 1, 1))
		if (cfg_read(off, 1) == PCI_CAP_ID_VNDR &&
		    cfg_read(off + 3, 1) < 5)
			caps[cfg_read(off + 3, 1)] = off;
	bar = cfg_read(0x10, 4) & ~0xfU;
	cfg_write(0x04, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_fini(&h);
	return 0;
}

static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(cfg_read(0, 2), 0x1af4);
	assert_int_equal(cfg_read(2, 2), 0x1040 + 4);
	assert_true(cfg_read(8, 1) >= 1); /* modern only: revision 1 */
	assert_int_equal(cfg_read(0x2c, 2), 0x1af4);
	assert_int_equal(cfg_read(0x3d, 1), 1); /* INTA# */
	assert_int_equal(cfg_read(0x3c, 1), 5);
	for (unsigned int t = 1; t <= 4; t++) {
		assert_int_not_equal(caps[t], 0);
		assert_int_equal(cfg_read(caps[t] + 4, 1), 0); /* BAR 0 */
		assert_true(region(t) + cfg_read(caps[t] + 12, 4) <=
			    VIRTIO_PCI_BAR_SIZE);
	}
	assert_int_equal(cfg_read(caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 2, 1), 20);
	assert_int_equal(cfg_read(caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 16, 4),
			 VIRTIO_PCI_NOTIFY_MULT);
	/* BAR 0 sizes to its layout. */
	cfg_write(0x10, 0xffffffff, 4);
	assert_int_equal(cfg_read(0x10, 4), ~(VIRTIO_PCI_BAR_SIZE - 1U));
	cfg_write(0x10, (uint32_t)bar, 4);
	assert_int_equal(common(VPCI_NUM_QUEUES, 2), 1);
}

/* Negotiates VERSION_1 and sets up queue 0 at RING_GPA (size 8). */
static void driver_setup(struct h_ring *r)
{
	set_common(VPCI_STATUS, 0, 1);
	set_common(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	set_common(VPCI_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_common(VPCI_DFSELECT, 1, 4);
	assert_true(common(VPCI_DF, 4) & 1); /* VERSION_1 */
	set_common(VPCI_GFSELECT, 1, 4);
	set_common(VPCI_GF, 1, 4);
	set_common(VPCI_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK,
		   1);
	assert_true(common(VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	set_common(VPCI_Q_SELECT, 0, 2);
	assert_true(common(VPCI_Q_SIZE, 2) >= 8);
	h_ring_init(r, RING_GPA, 8);
	set_common(VPCI_Q_SIZE, 8, 2);
	set_common(VPCI_Q_DESC, r->desc, 8);
	set_common(VPCI_Q_AVAIL, (uint32_t)r->avail, 4); /* halves */
	set_common(VPCI_Q_AVAIL + 4, 0, 4);
	set_common(VPCI_Q_USED, r->used, 8);
	assert_int_equal(common(VPCI_Q_AVAIL, 8), r->avail);
}

static void driver_ok(void)
{
	set_common(VPCI_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK,
		   1);
}

/* One 16-byte request on @r, kicked through the notify region. */
static void request(struct h_ring *r)
{
	uint64_t noff = cfg_read(caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 8, 4);

	h_desc(&h, r, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&h, r, 0);
	wr(noff + common(VPCI_Q_NOFF, 2) * VIRTIO_PCI_NOTIFY_MULT, 0, 2);
	for (int i = 0; i < 100 && h_used_idx(&h, r) != r->avail_idx; i++)
		iothread_poll(h.io, 50);
	assert_int_equal(h_used_idx(&h, r), r->avail_idx);
}

static uint64_t drain(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void test_msix_request(void **state)
{
	struct msix *x = virtio_pci_msix(dev);
	struct h_ring r;
	unsigned int cap;
	uint64_t table;

	(void)state;
	for (cap = cfg_read(0x34, 1); cfg_read(cap, 1) != PCI_CAP_ID_MSIX;
	     cap = cfg_read(cap + 1, 1))
		assert_int_not_equal(cap, 0);
	assert_int_equal(cfg_read(cap + 2, 2) & 0x7ff, 1); /* 2 vectors */
	table = cfg_read(cap + 4, 4) & ~7U;
	cfg_write(cap + 2, MSIX_CTRL_ENABLE, 2);
	/* Vector 1 for queue 0; configuration changes get none. */
	wr(table + 16, 0xfee00000, 4);
	wr(table + 24, 0x41, 4);
	wr(table + 28, 0, 4);
	driver_setup(&r);
	set_common(VPCI_Q_MSIX, 1, 2);
	assert_int_equal(common(VPCI_Q_MSIX, 2), 1);
	set_common(VPCI_MSIX_CONFIG, 7, 2); /* no such vector */
	assert_int_equal(common(VPCI_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	set_common(VPCI_Q_ENABLE, 1, 2);
	assert_int_equal(common(VPCI_Q_ENABLE, 2), 1);
	driver_ok();
	assert_false(common(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	request(&r);
	/* The interrupt came by vector 1 through its route, not the line. */
	assert_int_equal(drain(x->fd[1]), 1);
	assert_int_equal(drain(x->fd[0]), 0);
	assert_int_equal(
		h.vm.pci->msi.r[x->gsi[1] - (int)h.vm.pci->msi.first].data,
		0x41);
	assert_false(h_wait_irq(dev, 0));
	/* Masked by the function: pending, sent when unmasked. */
	cfg_write(cap + 3, (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8, 1);
	request(&r);
	assert_int_equal(drain(x->fd[1]), 0);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA, 8), 2);
	cfg_write(cap + 3, MSIX_CTRL_ENABLE >> 8, 1);
	assert_int_equal(drain(x->fd[1]), 1);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA, 8), 0);
}

/* MSI-X on, vector 1 at @data for queue 0, the queue up: its cap. */
static unsigned int msix_up(struct h_ring *r, uint32_t data)
{
	unsigned int cap;
	uint64_t table;

	for (cap = cfg_read(0x34, 1); cfg_read(cap, 1) != PCI_CAP_ID_MSIX;
	     cap = cfg_read(cap + 1, 1))
		assert_int_not_equal(cap, 0);
	table = cfg_read(cap + 4, 4) & ~7U;
	cfg_write(cap + 2, MSIX_CTRL_ENABLE, 2);
	wr(table + 16, 0xfee00000, 4);
	wr(table + 24, data, 4);
	wr(table + 28, 0, 4);
	driver_setup(r);
	set_common(VPCI_Q_MSIX, 1, 2);
	set_common(VPCI_Q_ENABLE, 1, 2);
	driver_ok();
	return cap;
}

static void test_snapshot(void **state)
{
	struct msix *x = virtio_pci_msix(dev);
	struct state_writer w;
	struct state_reader r;
	unsigned int cap;
	struct h_ring ring;

	(void)state;
	cap = msix_up(&ring, 0x52);
	request(&ring);
	assert_int_equal(drain(x->fd[1]), 1);
	state_writer_init(&w);
	assert_int_equal(device_save(dev->device, &w), 0);
	/* The driver resets everything; the state brings it back. */
	set_common(VPCI_STATUS, 0, 1);
	cfg_write(cap + 2, 0, 2);
	wr((cfg_read(cap + 4, 4) & ~7U) + 24, 0, 4);
	cfg_write(0x04, 0, 2);
	/* A truncated state is refused and changes nothing. */
	state_reader_init(&r, w.data, w.len - 3);
	assert_int_equal(device_restore(dev->device, &r), -1);
	assert_false(msix_enabled(x));
	state_reader_init(&r, w.data, w.len);
	assert_int_equal(device_restore(dev->device, &r), 0);
	assert_true(msix_enabled(x));
	assert_int_equal(cfg_read(0x04, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(common(VPCI_Q_MSIX, 2), 1);
	assert_int_equal(common(VPCI_Q_ENABLE, 2), 1);
	assert_true(common(VPCI_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(
		h.vm.pci->msi.r[x->gsi[1] - (int)h.vm.pci->msi.first].data,
		0x52);
	/* And the device answers on the restored vector. */
	request(&ring);
	assert_int_equal(drain(x->fd[1]), 1);
	state_writer_free(&w);
}

static void test_intx(void **state)
{
	struct h_ring r;

	(void)state;
	driver_setup(&r);
	set_common(VPCI_Q_ENABLE, 1, 2);
	driver_ok();
	request(&r);
	/* MSI-X off: the line, and the ISR says why, once. */
	assert_true(h_wait_irq(dev, 1000));
	assert_int_equal(rd(region(VIRTIO_PCI_CAP_ISR_CFG), 1),
			 VIRTIO_INT_USED);
	assert_int_equal(rd(region(VIRTIO_PCI_CAP_ISR_CFG), 1), 0);
	/* The bytes arrived. */
	assert_int_not_equal(memcmp(h_ptr(&h, BUF_GPA), "\0\0\0\0\0\0\0\0", 8),
			     0);
}

static void test_hostile(void **state)
{
	struct h_ring r;

	(void)state;
	driver_setup(&r);
	/* Queue selector past the last queue: size 0, writes ignored. */
	set_common(VPCI_Q_SELECT, 9, 2);
	assert_int_equal(common(VPCI_Q_SIZE, 2), 0);
	set_common(VPCI_Q_ENABLE, 1, 2);
	assert_int_equal(common(VPCI_Q_ENABLE, 2), 0);
	/* A queue size that is not a power of two: the device breaks. */
	set_common(VPCI_Q_SELECT, 0, 2);
	set_common(VPCI_Q_SIZE, 7, 2);
	set_common(VPCI_Q_ENABLE, 1, 2);
	assert_true(common(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset: queues, vectors and status back to their defaults. */
	set_common(VPCI_STATUS, 0, 1);
	assert_int_equal(common(VPCI_STATUS, 1), 0);
	assert_int_equal(common(VPCI_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(common(VPCI_Q_ENABLE, 2), 0);
	/* Rings outside guest RAM. */
	driver_setup(&r);
	set_common(VPCI_Q_DESC, 0xfff00000000ULL, 8);
	set_common(VPCI_Q_ENABLE, 1, 2);
	assert_true(common(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Accesses beyond the structures: nothing, and no crash. */
	wr(VIRTIO_PCI_COMMON_SIZE - 2, 0xffffffff, 4);
	wr(VIRTIO_PCI_NOTIFY + 0x400, 0, 2);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA + 8, 8), 0);
	/* Read-only fields stay. */
	set_common(VPCI_NUM_QUEUES, 5, 2);
	assert_int_equal(common(VPCI_NUM_QUEUES, 2), 1);
}

static void test_memory_off(void **state)
{
	(void)state;
	cfg_write(0x04, 0, 2);
	assert_int_equal(rd(VPCI_NUM_QUEUES, 2), 0xffff);
	cfg_write(0x04, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(rd(VPCI_NUM_QUEUES, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_off, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
