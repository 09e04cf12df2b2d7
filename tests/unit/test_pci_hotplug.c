// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pci_hotplug.c - unit tests of ACPI PCI hotplug: the controller's
 * register block and GPE0 block (src/pci/hotplug.c: UP read-to-clear,
 * DOWN until ejected, ejects of slots not asked for ignored, GPE status
 * write-1-to-clear and the SCI following status and enable), a hot-added
 * virtio-blk on a harness VM's bus (src/virtio/hotplug.c: the free slot,
 * its identity through 0xcf8/0xcfc, the guest told), an eject that takes
 * a device off the bus and the reap that frees it (the registry's index
 * of later devices moving down, its GSIs reused; a full registry reusing
 * a removed device's place), and the AML (src/acpi/pci_hotplug.c):
 * iasl disassembles the DSDT with the slots, PCNT and \_GPE._E01 and
 * compiles it back, and the FADT names the GPE0 block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi_harness.h"
#include "pci/host.h"
#include "pci/hotplug.h"
#include "pci_harness.h"
#include "virtio/devices.h"
#include "virtio/hotplug.h"
#include "virtio/pci.h"

static bool sci_level;
static unsigned int sci_calls;

static void sci(void *opaque, bool level)
{
	(void)opaque;
	sci_level = level;
	sci_calls++;
}

static uint32_t rd(struct pci_hotplug *h, unsigned int off)
{
	uint32_t v = 0;

	pci_hp_read(h, off, &v, 4);
	return v;
}

static void wr(struct pci_hotplug *h, unsigned int off, uint32_t v)
{
	pci_hp_write(h, off, &v, 4);
}

static uint32_t gpe_rd(struct pci_hotplug *h, unsigned int off,
		       unsigned int len)
{
	uint32_t v = 0;

	pci_gpe_read(h, off, &v, len);
	return v;
}

static void gpe_wr(struct pci_hotplug *h, unsigned int off, uint32_t v,
		   unsigned int len)
{
	pci_gpe_write(h, off, &v, len);
}

static void test_registers(void **state)
{
	struct pci_hotplug h;
	const uint32_t bit = 1U << ACPI_GPE_PCI_HOTPLUG;

	(void)state;
	pci_hotplug_init(&h, NULL);
	h.sci = sci;
	sci_level = false;
	assert_int_equal(rd(&h, PCI_HP_SLOTS), PCI_HP_SLOT_MASK);
	assert_int_equal(rd(&h, PCI_HP_UP), 0);
	/* An insertion: UP and the GPE status, no SCI until enabled. */
	pci_hotplug_inserted(&h, 3);
	assert_int_equal(gpe_rd(&h, 0, 2), bit);
	assert_false(sci_level);
	gpe_wr(&h, 2, bit, 2);
	assert_int_equal(gpe_rd(&h, 0, 4), bit | bit << 16);
	assert_true(sci_level);
	/* A byte read does not take UP; a dword read does. */
	assert_int_equal(gpe_rd(&h, 0, 1), bit);
	assert_int_equal(rd(&h, PCI_HP_UP), 1U << 3);
	assert_int_equal(rd(&h, PCI_HP_UP), 0);
	/* Status is write-1-to-clear: 0 changes nothing, the bit clears. */
	gpe_wr(&h, 0, 0, 2);
	assert_true(sci_level);
	gpe_wr(&h, 0, bit, 1);
	assert_false(sci_level);
	assert_int_equal(gpe_rd(&h, 2, 2), bit); /* still enabled */
	/* An eject request stays in DOWN until the guest ejects. */
	assert_int_equal(pci_hotplug_request_eject(&h, 3), 0);
	assert_true(sci_level);
	assert_int_equal(pci_hotplug_request_eject(&h, 3), -1);
	assert_int_equal(pci_hotplug_request_eject(&h, 0), -1); /* bridge */
	assert_int_equal(pci_hotplug_request_eject(&h, 32), -1);
	assert_true(pci_hotplug_pending(&h, 3));
	assert_int_equal(rd(&h, PCI_HP_DOWN), 1U << 3);
	assert_int_equal(rd(&h, PCI_HP_DOWN), 1U << 3);
	/* Ejects of slots not asked for, or not by dword, do nothing. */
	wr(&h, PCI_HP_EJECT, 1U << 4);
	pci_hp_write(&h, PCI_HP_EJECT, &(uint16_t){ 1U << 3 }, 2);
	assert_int_equal(pci_hotplug_ejected(&h), 0);
	assert_int_equal(rd(&h, PCI_HP_DOWN), 1U << 3);
	wr(&h, PCI_HP_EJECT, 1U << 3 | 1U << 4);
	assert_int_equal(rd(&h, PCI_HP_DOWN), 0);
	assert_false(pci_hotplug_pending(&h, 3));
	assert_int_equal(pci_hotplug_take_ejected(&h), 1U << 3);
	assert_int_equal(pci_hotplug_take_ejected(&h), 0);
	/* The EJECT register reads 0; accesses past the block are ignored. */
	assert_int_equal(rd(&h, PCI_HP_EJECT), 0);
	gpe_wr(&h, 3, 0xff, 4);
	assert_int_equal(gpe_rd(&h, 2, 2), bit);
	pthread_mutex_destroy(&h.lock);
}

/* A full registry reuses the place of a removed device. */
static void test_registry_reuse(void **state)
{
	static struct device_registry reg;
	struct device *a, *b, *c;

	(void)state;
	memset(&reg, 0, sizeof(reg));
	for (unsigned int i = 0; i < DEVICE_MAX; i++)
		assert_non_null(device_register(&reg, DEVICE_VIRTIO_BLK,
						&device_stateless_ops, NULL));
	assert_null(device_register(&reg, DEVICE_VIRTIO_NET,
				    &device_stateless_ops, NULL));
	a = device_find(&reg, DEVICE_VIRTIO_BLK, 3);
	device_remove(&reg, a);
	assert_int_equal(a->kind, DEVICE_REMOVED);
	b = device_find(&reg, DEVICE_VIRTIO_BLK, DEVICE_MAX - 2);
	assert_non_null(b);
	assert_int_equal(b->id, DEVICE_MAX - 1); /* moved down one index */
	c = device_register(&reg, DEVICE_VIRTIO_BLK, &device_stateless_ops,
			    NULL);
	assert_ptr_equal(c, a);
	assert_int_equal(c->id, 3);
	assert_int_equal(c->index, DEVICE_MAX - 1); /* the newest */
	assert_int_equal(reg.nr, DEVICE_MAX);
	assert_null(device_find(&reg, DEVICE_REMOVED, 0));
	/* Removing an older one moves the reused (newest) one down too. */
	device_remove(&reg, device_find(&reg, DEVICE_VIRTIO_BLK, 0));
	assert_int_equal(c->index, DEVICE_MAX - 2);
	assert_null(device_find(&reg, DEVICE_VIRTIO_BLK, DEVICE_MAX - 1));
}

/* --- on a harness VM's bus -------------------------------------------- */

static struct harness hv;
static struct vm_config cfg;
static struct pci_hotplug hp;
static char path[64];

static int vm_setup(void **state)
{
	int fd;

	(void)state;
	h_init(&hv);
	memset(&cfg, 0, sizeof(cfg));
	cfg.virtio_pci = true;
	hv.vm.cfg = &cfg;
	hv.vm.io = hv.io;
	assert_int_equal(pci_host_create(&hv.vm), 0);
	pci_hotplug_init(&hp, &hv.vm);
	hp.sci = sci;
	hv.vm.pci->hotplug = &hp;
	/* Two boot devices: rng in slot 1, a disk in slot 2. */
	assert_non_null(virtio_rng_create(&hv.vm, hv.io, 0, 5));
	snprintf(path, sizeof(path), "/tmp/vmon-hotplug-test.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	for (unsigned int i = 0; i < 3; i++)
		snprintf(cfg.disks[i].path, sizeof(cfg.disks[i].path), "%s",
			 path);
	cfg.nr_disks = 1;
	assert_non_null(virtio_type_create(&hv.vm, "disk", 0, 6));
	return 0;
}

static int vm_teardown(void **state)
{
	(void)state;
	hv.vm.pci->hotplug = NULL;
	h_fini(&hv);
	pthread_mutex_destroy(&hp.lock);
	unlink(path);
	return 0;
}

static void test_add_eject_reap(void **state)
{
	char err[256] = "";
	struct virtio_dev *d;
	unsigned int gsis;

	(void)state;
	assert_true(virtio_hotplug_possible(&hv.vm, err, sizeof(err)));
	/* The new disk: device 1 of its kind, in slot 3, the guest told. */
	cfg.nr_disks = 2;
	d = virtio_hotplug_add(&hv.vm, "disk", 1, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(virtio_pci_slot(d), 3);
	assert_int_equal(d->device->index, 1);
	assert_int_equal(h_conf1_read(&hv, 3, 0, 4), 0x10421af4);
	assert_true(h_conf1_read(&hv, 3, 0x10, 4) & ~0xfU); /* BAR placed */
	assert_int_equal(rd(&hp, PCI_HP_UP), 1U << 3);
	gsis = hv.vm.pci->msi.nr;
	/* Unplug the boot disk (slot 2): the guest ejects it. */
	d = virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 0);
	assert_int_equal(virtio_hotplug_unplug(&hv.vm, d, err, sizeof(err)), 0);
	assert_true(virtio_hotplug_pending(&hv.vm, d));
	assert_int_equal(virtio_hotplug_unplug(&hv.vm, d, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "pending"));
	assert_int_equal(h_conf1_read(&hv, 2, 0, 4), 0x10421af4);
	wr(&hp, PCI_HP_EJECT, 1U << 2);
	assert_int_equal(h_conf1_read(&hv, 2, 0, 4), 0xffffffff);
	assert_int_equal(virtio_hotplug_reap(&hv.vm, NULL, NULL), 1);
	assert_int_equal(virtio_hotplug_reap(&hv.vm, NULL, NULL), 0);
	/* The hot-added disk is now the first. */
	d = virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 0);
	assert_non_null(d);
	assert_int_equal(virtio_pci_slot(d), 3);
	assert_null(virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 1));
	assert_non_null(device_find(&hv.vm.devices, DEVICE_REMOVED, 0));
	/* The freed slot is the next one used. */
	memmove(&cfg.disks[0], &cfg.disks[1], sizeof(cfg.disks[0]));
	cfg.nr_disks = 2;
	d = virtio_hotplug_add(&hv.vm, "disk", 1, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(virtio_pci_slot(d), 2);
	/* Its MSI-X vectors took the GSIs the ejected disk gave back. */
	assert_int_equal(hv.vm.pci->msi.nr, gsis);
}

/*
 * A device the guest ejected keeps its slot until it is reaped: a disk
 * added in between takes another, and the reap frees only the ejected
 * one. (fuzz_pci found the reap freeing a disk added into the slot of
 * one ejected but not yet reaped, while the bus still held it.)
 */
static void test_ejected_slot_kept(void **state)
{
	char err[256] = "";
	struct virtio_dev *d0, *d1, *d2;

	(void)state;
	cfg.nr_disks = 2;
	d1 = virtio_hotplug_add(&hv.vm, "disk", 1, err, sizeof(err));
	assert_non_null(d1);
	assert_int_equal(virtio_pci_slot(d1), 3);
	d0 = virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 0);
	assert_int_equal(virtio_hotplug_unplug(&hv.vm, d0, err, sizeof(err)),
			 0);
	wr(&hp, PCI_HP_EJECT, 1U << 2);
	assert_false(virtio_pci_on_bus(d0));
	assert_true(virtio_pci_on_bus(d1));
	/* PUT /drives before the API reaped the ejected disk. */
	cfg.nr_disks = 3;
	d2 = virtio_hotplug_add(&hv.vm, "disk", 2, err, sizeof(err));
	assert_non_null(d2);
	assert_int_equal(virtio_pci_slot(d2), 4);
	assert_int_equal(virtio_hotplug_reap(&hv.vm, NULL, NULL), 1);
	/* The two live disks are still on the bus, slot 2 is free. */
	assert_int_equal(h_conf1_read(&hv, 2, 0, 4), 0xffffffff);
	assert_int_equal(h_conf1_read(&hv, 3, 0, 4), 0x10421af4);
	assert_int_equal(h_conf1_read(&hv, 4, 0, 4), 0x10421af4);
	assert_ptr_equal(virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 0), d1);
	assert_ptr_equal(virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 1), d2);
	assert_true(virtio_pci_on_bus(d1) && virtio_pci_on_bus(d2));
}

/*
 * A virtio-pci device freed while still on the bus (a hot-add that failed
 * after it was placed, the VM's end) leaves the bus first: its slot reads
 * as empty instead of through freed memory.
 */
static void test_removed_leaves_bus(void **state)
{
	char err[256] = "";
	struct virtio_dev *d;
	uint64_t bar, v = 0;

	(void)state;
	cfg.nr_disks = 2;
	d = virtio_hotplug_add(&hv.vm, "disk", 1, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(virtio_pci_slot(d), 3);
	/* Its BAR 0 decodes: the common configuration's feature select. */
	bar = h_conf1_read(&hv, 3, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	h_conf1_write(&hv, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	bus_access(&hv.vm.mmio, bar, &v, 4, false);
	assert_int_equal(v, 0);
	device_remove(&hv.vm.devices, d->device);
	assert_int_equal(h_conf1_read(&hv, 3, 0, 4), 0xffffffff);
	/* Nothing decodes its BAR any more. */
	bus_access(&hv.vm.mmio, bar, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
}

static void test_add_refused(void **state)
{
	char err[256] = "";

	(void)state;
	/* Not in the configuration: nothing is left in the registry. */
	cfg.nr_disks = 1;
	assert_null(virtio_hotplug_add(&hv.vm, "disk", 1, err, sizeof(err)));
	assert_null(virtio_find(&hv.vm, DEVICE_VIRTIO_BLK, 1));
	/* The rng is not a hotplug target of the API but can be asked out;
	 * without the controller, nothing is possible. */
	hv.vm.pci->hotplug = NULL;
	assert_false(virtio_hotplug_possible(&hv.vm, err, sizeof(err)));
	assert_non_null(strstr(err, "ACPI"));
	hv.vm.pci->hotplug = &hp;
}

/* --- the AML and the FADT --------------------------------------------- */

#define GPA ACPI_H_GPA
#define SIZE ACPI_H_SIZE

static uint8_t buf[SIZE];
static struct acpi_layout l;

static void build(bool hotplug)
{
	struct acpi_desc d;

	acpi_h_desc(&d, 1);
	d.pci.hotplug = hotplug;
	assert_int_equal(acpi_build(&d, buf, SIZE, GPA, &l), 0);
}

static const struct acpi_header *table(uint64_t gpa, const char *sig)
{
	return acpi_h_table(buf, gpa, sig);
}

static void test_fadt_gpe(void **state)
{
	const struct acpi_fadt *f;

	(void)state;
	build(true);
	f = (const struct acpi_fadt *)table(l.fadt, "FACP");
	assert_int_equal(f->gpe0_blk, ACPI_GPE0_BASE);
	assert_int_equal(f->gpe0_blk_len, ACPI_GPE0_LEN);
	assert_int_equal(f->x_gpe0_blk.address, ACPI_GPE0_BASE);
	build(false);
	f = (const struct acpi_fadt *)table(l.fadt, "FACP");
	assert_int_equal(f->gpe0_blk, 0);
	assert_int_equal(f->gpe0_blk_len, 0);
}

static void test_iasl(void **state)
{
	char dir[] = "/tmp/vmon-acpi-hp-XXXXXX";
	const struct acpi_header *h;
	char cmd[2048];
	FILE *f;

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1")) {
		skip(); /* scripts/setup installs acpica-tools */
		return;
	}
	build(true);
	h = table(l.dsdt, "DSDT");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "%s/dsdt.dat", dir);
	f = fopen(cmd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, h->length, f), h->length);
	fclose(f);
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && iasl -d dsdt.dat >d.log 2>&1 && "
		"! grep -qi error d.log dsdt.dsl && "
		"grep -q 'OperationRegion (PCST, SystemIO, 0xAE00, 0x10)' dsdt.dsl && "
		"grep -q 'Device (S1F)' dsdt.dsl && "
		"grep -q 'Name (_SUN, 0x1F)' dsdt.dsl && "
		"grep -q 'Method (_EJ0, 1' dsdt.dsl && "
		"grep -q 'B0EJ = 0x04' dsdt.dsl && "
		"grep -q 'Notify (S05, One)' dsdt.dsl && "
		"grep -q 'Notify (S05, 0x03)' dsdt.dsl && "
		"grep -q 'Method (_E01' dsdt.dsl && "
		"grep -q 'PCNT ()' dsdt.dsl && "
		"iasl -p re dsdt.dsl >re.log 2>&1 && "
		"grep -q ' 0 Errors, 0 Warnings' re.log",
		dir);
	if (system(cmd))
		fail_msg("the hotplug DSDT is not as expected, see %s", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_registry_reuse),
		cmocka_unit_test_setup_teardown(test_add_eject_reap, vm_setup,
						vm_teardown),
		cmocka_unit_test_setup_teardown(test_ejected_slot_kept,
						vm_setup, vm_teardown),
		cmocka_unit_test_setup_teardown(test_removed_leaves_bus,
						vm_setup, vm_teardown),
		cmocka_unit_test_setup_teardown(test_add_refused, vm_setup,
						vm_teardown),
		cmocka_unit_test(test_fadt_gpe),
		cmocka_unit_test(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
