// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci.c - guest test program for PCI (run with --transport pci --rng):
 * scans bus 0 through configuration mechanism #1 (0xcf8/0xcfc) and finds
 * the host bridge, reads the same through ECAM, sizes the BARs of the
 * virtio-rng function, walks its capability list to the virtio-pci
 * structures and MSI-X, drives one request through its queue with MSI-X
 * vector 1 on queue 0, and takes that interrupt on its LAPIC vector; then
 * masks the vector, sees the pending bit, and gets the interrupt when it
 * unmasks it.
 */
#include "pci_cfg.h"

#define MSI_VECTOR 0x45
#define ECAM 0xe0000000UL
#define QSIZE 8

static struct {
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} desc[QSIZE] __attribute__((aligned(16)));
	uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(4)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSIZE];
	} used __attribute__((aligned(4)));
} q __attribute__((aligned(4096)));
static uint8_t buf[64];
static volatile unsigned int msi_hits;

static void msi_handler(struct rt_frame *f)
{
	(void)f;
	msi_hits++;
	lapic_eoi();
}

static bool wait_for(volatile unsigned int *n, unsigned int want, int tries)
{
	while (*n < want && tries-- > 0) {
		sti_hlt();
		cli();
	}
	return *n >= want;
}

static bool virtio_init(struct vdev *v)
{
	/* Configuration changes on vector 0, queue 0 on vector 1. */
	return vpci_init(v, q.desc, q.avail, &q.used, QSIZE, 1);
}

static void submit(struct vdev *v)
{
	uint16_t i = q.avail[1];

	q.desc[0].addr = (uint64_t)(uintptr_t)buf;
	q.desc[0].len = sizeof(buf);
	q.desc[0].flags = 2; /* device writes */
	q.avail[2 + i % QSIZE] = 0;
	__atomic_store_n(&q.avail[1], (uint16_t)(i + 1), __ATOMIC_RELEASE);
	vpci_kick(v);
}

static bool wait_used(uint16_t idx)
{
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < 20000000000ULL;)
		if (__atomic_load_n(&q.used.idx, __ATOMIC_ACQUIRE) == idx)
			return true;
	return false;
}

static void msix_setup(struct vdev *v)
{
	uint64_t e = v->table + 16; /* vector 1 */

	mmio_write32(e, 0xfee00000U | rt_cpu_id() << 12);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, MSI_VECTOR); /* fixed, edge */
	mmio_write32(e + 12, 0); /* unmasked */
	cfg_write16(v->slot, v->msix_cap + 2, 0x8000); /* enable */
}

static void test_request(struct vdev *v)
{
	unsigned int nz = 0;
	bool ok;

	rt_set_handler(MSI_VECTOR, msi_handler);
	msix_setup(v);
	check(virtio_init(v), "virtio-pci: features, queue 0 and DRIVER_OK");
	submit(v);
	ok = wait_for(&msi_hits, 1, 1000);
	check(ok, "MSI-X vector 0x%x arrived (%u)", MSI_VECTOR, msi_hits);
	check(q.used.idx == 1 && q.used.ring[0].len == sizeof(buf),
	      "the request came back with %u bytes", q.used.ring[0].len);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		nz += buf[i] != 0;
	check(nz > 0, "the device filled the buffer (%u nonzero bytes)", nz);
	/* Masked: the interrupt waits in the PBA until the unmask. */
	mmio_write32(v->table + 16 + 12, 1);
	submit(v);
	check(wait_used(2), "second request used with the vector masked");
	check(mmio_read64(v->pba) == 2 && msi_hits == 1,
	      "PBA bit 1 pending, no interrupt (PBA 0x%lx, hits %u)",
	      mmio_read64(v->pba), msi_hits);
	mmio_write32(v->table + 16 + 12, 0);
	ok = wait_for(&msi_hits, 2, 1000);
	check(ok && mmio_read64(v->pba) == 0,
	      "unmasking delivered the pending vector (%u)", msi_hits);
}

int main(void)
{
	struct vdev v = { 0 };
	unsigned int found;
	int slot;

	slot = scan(0x1af4, 0x1044, &found);
	check(cfg_read32(0, 0) == 0x00081b36 && cfg_read16(0, 0x0a) == 0x0600,
	      "host bridge at 00:00.0 (%08x)", cfg_read32(0, 0));
	check(slot > 0, "virtio-rng (1af4:1044) found among %u functions",
	      found);
	/* ECAM (bus 0 at 0xe0000000) shows the same functions. */
	check(mmio_read32(ECAM) == cfg_read32(0, 0) && slot > 0 &&
		      mmio_read32(ECAM + ((uint64_t)slot << 15)) ==
			      cfg_read32((unsigned int)slot, 0) &&
		      mmio_read16(ECAM + (31 << 15)) == 0xffff,
	      "ECAM at 0x%lx agrees with 0xcf8/0xcfc", (uint64_t)ECAM);
	if (slot <= 0)
		rt_finish();
	v.slot = (unsigned int)slot;
	check(bar_size(v.slot, 0) == 0x8000 && bar_size(v.slot, 1) == 0,
	      "BAR 0 is 0x%x bytes, BAR 1 unimplemented", bar_size(v.slot, 0));
	v.bar = cfg_read32(v.slot, 0x10) & ~0xfU;
	check(v.bar >= 0xc0000000 && walk_caps(&v),
	      "BAR 0 at 0x%lx, common/notify/ISR and MSI-X capabilities found",
	      v.bar);
	cfg_write16(v.slot, 0x04, 0x6); /* memory, bus master */
	test_request(&v);
	rt_finish();
}
