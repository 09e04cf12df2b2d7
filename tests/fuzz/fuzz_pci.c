// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_pci.c - libFuzzer target for what a guest reaches on the PCI side
 * of vmon: configuration space through ports 0xcf8-0xcff and ECAM (BAR
 * sizing and moves, the command register's decoding, capability lists),
 * the virtio-pci transport in BAR 0 (common configuration, ISR, device
 * configuration, notifications), MSI-X (table, PBA, function and vector
 * masks), the ACPI PCI hotplug registers and GPE0 block, and the host's
 * side of hotplug (an eject asked, the ejected devices reaped, a device
 * added back) in between, as the API does it. The VM has virtio-rng, two
 * virtio-blk on a scratch file and a balloon on virtio-pci; their queues'
 * work runs on this thread (iothread_poll), so a crash is attributed to
 * the input. Each input ends with a reset through the registry
 * (device_reset_all(): each virtio device's status 0, in-flight disk
 * requests waited for) and the next starts with every device back in the
 * VM and, as firmware would after a reboot (vmon has none in place),
 * CONFIG_ADDRESS, each function's command register, BAR 0 and MSI-X
 * (control and table) as they were when it was plugged.
 *
 * Input: [0] number of accesses N, then N accesses of 8 bytes, then RAM
 * from GPA 0 (256 KiB) where the rings and buffers live. An access: [0]
 * bits 0-2 kind, bit 3 write, bits 4-5 width 1/2/4/8; [1] slot or
 * selector; [2..3] offset (little-endian); [4..7] value. Kinds:
 *   0 ports 0xcf8 + [2] % 8           1 ECAM: slot [1] % 32, function
 *   2 BAR 0 of slot [1] % 8, wherever    [1] / 32, register [2..3]
 *     it decodes now, at [2..3]       3 the MMIO window at [1..3]
 *   4 hotplug block ([2] < 128) or    5 host: [1] % 4: unplug disk [2],
 *     GPE0, at [2]                       reap, add back, reset all
 *   6 an I/O thread turn              7 a driver's bring-up of slot
 *                                        [1] % 8: queue size 2^([2] % 9),
 *                                        features 0-31 [4..7], 32-39 [3]
 *                                        (and 40 with 39)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "config/config.h"
#include "devices/acpi_pm.h"
#include "pci/host.h"
#include "pci/hotplug.h"
#include "pci/msix.h"
#include "virtio/devices.h"
#include "virtio/hotplug.h"
#include "virtio/pci.h"
#include "vmm/iothread.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include "fuzz_vm.h"

#define RAM_SIZE (256u << 10)
#define ROM_GPA 0x100000
#define ROM_SIZE 0x1000
#define NR_DISKS 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct vm vm;
	struct vm_config cfg;
	struct vcpu vcpu0;
	struct arch_pci_layout layout;
	uint8_t *ram;
	char disk[64];
	uint32_t bar_init[PCI_MAX_DEVS]; /* BAR 0 as plugged, by slot */
} F;

static uint32_t conf_read(unsigned int slot, unsigned int reg,
			  unsigned int len);

/* Where @d's BAR 0 was put when it was plugged: put back at each input. */
static void plugged(struct virtio_dev *d)
{
	int slot = virtio_pci_slot(d);

	if (slot > 0)
		F.bar_init[slot] =
			conf_read((unsigned int)slot, PCI_BASE_ADDRESS_0, 4);
}

/* Creates device @what @i in the next free slot, as setup.c places it. */
static void place(const char *what, unsigned int i, unsigned int n)
{
	struct virtio_dev *d;
	uint64_t base;
	unsigned int irq;

	if (arch_virtio_mmio_slot(n, &base, &irq))
		abort();
	iothread_set_owner(F.vm.io, n + 1);
	d = virtio_type_create(&F.vm, what, i, irq);
	if (!d)
		abort();
	iothread_set_owner(F.vm.io, 0);
	plugged(d);
}

static void setup(void)
{
	int fd;

	F.ram = fuzz_vm_init(&F.vm, RAM_SIZE, ROM_GPA, ROM_SIZE);
	F.vm.cfg = &F.cfg;
	F.vm.nr_vcpus = 1;
	F.vm.vcpus = &F.vcpu0;

	/*
	 * The disks' scratch file: 64 sectors, written by the guest, and
	 * unlinked at once (a killed fuzzer leaves nothing behind); the
	 * disks open it again through /proc/self/fd.
	 */
	snprintf(F.disk, sizeof(F.disk), "/tmp/vmon-fuzz-pci.XXXXXX");
	fd = mkstemp(F.disk);
	if (fd < 0 || ftruncate(fd, 64 * 512) || unlink(F.disk))
		abort();
	snprintf(F.disk, sizeof(F.disk), "/proc/self/fd/%d", fd);
	F.cfg.acpi = true;
	F.cfg.virtio_pci = true;
	F.cfg.rng = true;
	F.cfg.balloon = (struct balloon_config){ .enabled = true,
						 .size = 64 << 10,
						 .deflate_on_oom = true,
						 .reporting = true,
						 .stats_interval = 1 };
	for (unsigned int i = 0; i < NR_DISKS; i++)
		snprintf(F.cfg.disks[i].path, sizeof(F.cfg.disks[i].path), "%s",
			 F.disk);
	F.cfg.nr_disks = NR_DISKS;
	arch_pci_layout(&F.layout);
	F.vm.io = iothread_create();
	if (!F.vm.io || acpi_pm_create(&F.vm) || pci_host_create(&F.vm) ||
	    pci_hotplug_create(&F.vm))
		abort();
	place("disk", 0, 0);
	place("disk", 1, 1);
	place("rng", 0, 2);
	place("balloon", 0, 3);
}

/* The API's part of a reap: the configuration loses the device's entry. */
static void gone(void *opaque, enum device_kind kind, unsigned int index)
{
	(void)opaque;
	if (kind != DEVICE_VIRTIO_BLK || index >= F.cfg.nr_disks)
		return;
	memmove(&F.cfg.disks[index], &F.cfg.disks[index + 1],
		(F.cfg.nr_disks - index - 1) * sizeof(F.cfg.disks[0]));
	F.cfg.nr_disks--;
}

/* The API's PUT /drives after a DELETE: the disks come back by hotplug. */
static void add_back(void)
{
	char err[256];

	while (F.cfg.nr_disks < NR_DISKS) {
		unsigned int i = F.cfg.nr_disks;
		struct virtio_dev *d;

		snprintf(F.cfg.disks[i].path, sizeof(F.cfg.disks[i].path), "%s",
			 F.disk);
		F.cfg.nr_disks++;
		d = virtio_hotplug_add(&F.vm, "disk", i, err, sizeof(err));
		if (!d) {
			F.cfg.nr_disks--;
			return;
		}
		plugged(d);
	}
}

static void conf_write(unsigned int slot, unsigned int reg, uint32_t v,
		       unsigned int len)
{
	pci_config_write(&F.vm.pci->bus, slot, 0, reg, &v, len);
}

static uint32_t conf_read(unsigned int slot, unsigned int reg, unsigned int len)
{
	uint32_t v = 0;

	pci_config_read(&F.vm.pci->bus, slot, 0, reg, &v, len);
	return v;
}

/* Where BAR 0 of @slot decodes, as its register says. */
static uint64_t bar0(unsigned int slot)
{
	return conf_read(slot, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
}

static void bar_wr(uint64_t bar, uint64_t off, uint64_t v, unsigned int len)
{
	bus_access(&F.vm.mmio, bar + off, &v, len, true);
}

static uint64_t bar_rd(uint64_t bar, uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	bus_access(&F.vm.mmio, bar + off, &v, len, false);
	return v;
}

/* The offset of @slot's MSI-X capability, or 0 (the list walked). */
static unsigned int msix_cap(unsigned int slot)
{
	for (unsigned int off = conf_read(slot, PCI_CAPABILITY_LIST, 1), n = 0;
	     off && n < 16; off = conf_read(slot, off + 1, 1), n++)
		if (conf_read(slot, off, 1) == PCI_CAP_ID_MSIX)
			return off;
	return 0;
}

/*
 * A driver's bring-up of the virtio function in @slot: decoding on,
 * features, every queue (at 0x800 * q: descriptors, then the driver
 * area at +0x400 and the device area at +0x600), a vector per queue,
 * DRIVER_OK, then MSI-X on.
 */
static void bring_up(unsigned int slot, const uint8_t *a)
{
	uint32_t feat = a[4] | a[5] << 8 | a[6] << 16 | (uint32_t)a[7] << 24;
	uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	unsigned int nq, cap;
	uint64_t bar;

	if ((conf_read(slot, PCI_VENDOR_ID, 2)) != VIRTIO_PCI_VENDOR)
		return;
	conf_write(slot, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		   2);
	bar = bar0(slot);
	bar_wr(bar, VPCI_STATUS, 0, 1);
	bar_wr(bar, VPCI_STATUS, st, 1);
	bar_wr(bar, VPCI_GFSELECT, 0, 4);
	bar_wr(bar, VPCI_GF, feat, 4);
	/* Bits 32-39 (VERSION_1 is 32), and 40 (RING_RESET) with 39. */
	bar_wr(bar, VPCI_GFSELECT, 1, 4);
	bar_wr(bar, VPCI_GF, a[3] | (uint32_t)(a[3] & 0x80) << 1, 4);
	st |= VIRTIO_STATUS_FEATURES_OK;
	bar_wr(bar, VPCI_STATUS, st, 1);
	bar_wr(bar, VPCI_MSIX_CONFIG, 0, 2);
	nq = (unsigned int)bar_rd(bar, VPCI_NUM_QUEUES, 2);
	for (unsigned int q = 0; q < nq && q < 8; q++) {
		uint64_t at = 0x800ULL * q;

		bar_wr(bar, VPCI_Q_SELECT, q, 2);
		bar_wr(bar, VPCI_Q_SIZE, 1u << (a[2] % 9), 2);
		bar_wr(bar, VPCI_Q_MSIX, q + 1, 2);
		bar_wr(bar, VPCI_Q_DESC, at, 8);
		bar_wr(bar, VPCI_Q_AVAIL, at + 0x400, 8);
		bar_wr(bar, VPCI_Q_USED, at + 0x600, 8);
		bar_wr(bar, VPCI_Q_ENABLE, 1, 2);
	}
	bar_wr(bar, VPCI_STATUS, st | VIRTIO_STATUS_DRIVER_OK, 1);
	/* MSI-X on, each vector a message to the LAPIC, unmasked. */
	for (unsigned int v = 0; v <= nq && v < MSIX_MAX_VECTORS; v++) {
		uint64_t e = VIRTIO_PCI_MSIX_TABLE + v * MSIX_ENTRY_SIZE;

		bar_wr(bar, e, 0xfee00000, 8);
		bar_wr(bar, e + 8, 0x30 + v, 4);
		bar_wr(bar, e + 12, 0, 4);
	}
	cap = msix_cap(slot);
	if (cap)
		conf_write(slot, cap + 2, MSIX_CTRL_ENABLE, 2);
}

/*
 * What firmware leaves after a reboot: no decoding, BAR 0 placed, MSI-X
 * off with every vector masked.
 */
static void power_on(void)
{
	uint32_t zero = 0;

	bus_access(&F.vm.pio, PCI_CONF1_ADDR_PORT, &zero, 4, true);
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++) {
		unsigned int cap, nv;

		if (conf_read(slot, PCI_VENDOR_ID, 2) != VIRTIO_PCI_VENDOR)
			continue;
		conf_write(slot, PCI_BASE_ADDRESS_0, F.bar_init[slot], 4);
		cap = msix_cap(slot);
		if (cap) {
			conf_write(slot, cap + 2, 0, 2);
			/* Every vector masked, with no message. */
			nv = (conf_read(slot, cap + 2, 2) & 0x7ff) + 1;
			conf_write(slot, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
			for (unsigned int v = 0; v < nv; v++) {
				uint64_t e = (F.bar_init[slot] & ~0xfULL) +
					     VIRTIO_PCI_MSIX_TABLE +
					     v * MSIX_ENTRY_SIZE;

				bar_wr(e, 0, 0, 8);
				bar_wr(e, 8, 0, 4);
				bar_wr(e, 12, MSIX_VECTOR_MASKED, 4);
			}
		}
		conf_write(slot, PCI_COMMAND, 0, 2);
	}
}

static void host_action(const uint8_t *a)
{
	char err[256];
	struct virtio_dev *d;

	switch (a[1] % 4) {
	case 0:
		/* DELETE /drives/ID: the guest is asked to eject the disk. */
		d = virtio_find(&F.vm, DEVICE_VIRTIO_BLK, a[2] % NR_DISKS);
		if (d)
			(void)virtio_hotplug_unplug(&F.vm, d, err, sizeof(err));
		break;
	case 1:
		/* Its fds leave this thread's epoll set in the reap. */
		(void)virtio_hotplug_reap(&F.vm, gone, NULL);
		break;
	case 2:
		add_back();
		break;
	default:
		device_reset_all(&F.vm.devices);
		break;
	}
}

static void access_one(const uint8_t *a)
{
	unsigned int width = 1u << ((a[0] >> 4) & 3);
	bool write = a[0] & 8;
	unsigned int off = a[2] | a[3] << 8;
	uint64_t v = a[4] | a[5] << 8 | a[6] << 16 | (uint64_t)a[7] << 24;
	uint64_t addr;

	switch (a[0] & 7) {
	case 0:
		bus_access(&F.vm.pio, PCI_CONF1_ADDR_PORT + a[2] % 8, &v, width,
			   write);
		break;
	case 1:
		addr = F.layout.ecam_base + ((uint64_t)(a[1] % 32) << 15) +
		       ((uint64_t)(a[1] / 32) << 12) + off % 4096;
		bus_access(&F.vm.mmio, addr, &v, width, write);
		break;
	case 2:
		addr = bar0(a[1] % 8) + off % VIRTIO_PCI_BAR_SIZE;
		bus_access(&F.vm.mmio, addr, &v, width, write);
		break;
	case 3:
		addr = F.layout.mmio_base +
		       ((uint64_t)a[1] << 16 | off) % F.layout.mmio_size;
		bus_access(&F.vm.mmio, addr, &v, width, write);
		break;
	case 4:
		addr = a[2] < 128 ? PCI_HP_BASE + a[2] % (PCI_HP_LEN + 1) :
				    ACPI_GPE0_BASE + a[2] % (ACPI_GPE0_LEN + 1);
		bus_access(&F.vm.pio, addr, &v, width, write);
		break;
	case 5:
		host_action(a);
		break;
	case 6:
		iothread_poll(F.vm.io, 0);
		break;
	default:
		bring_up(a[1] % 8, a);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, ops;

	if (size < 1)
		return 0;
	if (!F.vm.io)
		setup();
	ops = data[0];
	if (size < 1 + 8 * ops)
		ops = (size - 1) / 8;
	n = size - 1 - 8 * ops;
	/* What the last input ejected is plugged back first. */
	(void)virtio_hotplug_reap(&F.vm, gone, NULL);
	add_back();
	power_on();
	iothread_poll(F.vm.io, 0);
	memset(F.ram, 0, RAM_SIZE);
	memcpy(F.ram, data + 1 + 8 * ops, n < RAM_SIZE ? n : RAM_SIZE);
	for (size_t i = 0; i < ops; i++)
		access_one(data + 1 + 8 * i);
	iothread_poll(F.vm.io, 0);
	/* The reboot: disk requests still in flight are waited for. */
	device_reset_all(&F.vm.devices);
	return 0;
}
