// SPDX-License-Identifier: GPL-2.0-only
/*
 * hotplug.c - guest test program for ACPI PCI hotplug (docs/pci.md), run
 * by integration/pci_hotplug with --enable-pci --acpi through the API: it
 * finds the GPE0 block in the FADT, enables the hotplug GPE and takes the
 * SCI; on "waiting for a device" the host PUTs a drive, and the guest
 * reads the slot from the controller's UP register, finds virtio-blk
 * there, sets it up with MSI-X and reads sector 0, which must hold the
 * host's mark (compared in ring 3), the completion on its MSI-X vector; on "waiting for the eject request" the host
 * DELETEs it, and the guest reads DOWN, resets the device and writes the
 * slot to EJECT, after which the slot is empty; on "waiting for a second
 * device" the host PUTs another drive, which must come in the same slot
 * with the second mark. What ACPI's AML does for Linux (PCNT, _EJ0), the
 * program does by hand on the same registers.
 */
#include "acpi_tables.h"
#include "pci_cfg.h"
#include "vdrv.h"

#define SCI_VECTOR 0x43
#define MSI_VECTOR 0x46
#define HP_BASE 0xae00 /* the controller's register block */
#define HP_UP 0x0
#define HP_DOWN 0x4
#define HP_EJECT 0x8
#define HP_SLOTS 0xc
#define GPE_HOTPLUG (1U << 1)
#define MARK1 "vmon hotplug: the first disk"
#define MARK2 "vmon hotplug: the second disk"

static uint16_t gpe0;
static volatile unsigned int sci_hits;
static volatile uint16_t gpe_seen;
static volatile unsigned int msi_hits;

static struct vq vq __attribute__((aligned(4096)));
static struct vblk_req req;
static uint8_t sector[512] __attribute__((aligned(512)));

static void sci_handler(struct rt_frame *f)
{
	uint16_t s = inw(gpe0);

	(void)f;
	outw(gpe0, s); /* write 1 to clear: the SCI drops */
	gpe_seen |= s;
	sci_hits++;
	lapic_eoi();
}

static void msi_handler(struct rt_frame *f)
{
	(void)f;
	msi_hits++;
	lapic_eoi();
}

/* MSI-X vector 0 of @v to MSI_VECTOR on this CPU, MSI-X on. */
static void msix_on(struct vdev *v)
{
	mmio_write32(v->table, 0xfee00000U | rt_cpu_id() << 12);
	mmio_write32(v->table + 4, 0);
	mmio_write32(v->table + 8, MSI_VECTOR);
	mmio_write32(v->table + 12, 0); /* unmasked */
	cfg_write16(v->slot, v->msix_cap + 2, 0x8000);
}

/* Waits for the hotplug SCI, then reads the controller's register @off. */
static uint32_t wait_event(unsigned int off, const char *what)
{
	unsigned int seen = sci_hits;

	gpe_seen = 0;
	printf("hotplug: waiting for %s\n", what);
	while (sci_hits == seen) {
		sti_hlt();
		cli();
	}
	check(gpe_seen & GPE_HOTPLUG, "SCI with the hotplug GPE (0x%x)",
	      gpe_seen);
	return inl(HP_BASE + off);
}

/* The one slot named by @bits, or -1. */
static int one_slot(uint32_t bits)
{
	if (!bits || (bits & (bits - 1)))
		return -1;
	return __builtin_ctz(bits);
}

/* Ring 3: whether sector 0 starts with the mark. */
static uint64_t user_compare(uint64_t mark)
{
	const char *m = (const char *)mark;

	for (size_t i = 0; m[i]; i++)
		if (sector[i] != (uint8_t)m[i])
			return 0;
	return 1;
}

/* Sets up the virtio-blk function in @slot and reads its sector 0. */
static void read_sector0(struct vdev *v, unsigned int slot, const char *mark)
{
	unsigned int hits;
	uint16_t head;

	memset(v, 0, sizeof(*v));
	v->slot = slot;
	check(cfg_read32(slot, 0) == 0x10421af4, "virtio-blk in slot %u (%08x)",
	      slot, cfg_read32(slot, 0));
	v->bar = cfg_read32(slot, 0x10) & ~0xfU;
	check(bar_size(slot, 0) == 0x8000 && v->bar >= 0xc0000000 &&
		      walk_caps(v),
	      "BAR 0 placed at 0x%lx, capabilities and MSI-X found", v->bar);
	cfg_write16(slot, 0x04, 0x6); /* memory, bus master */
	memset(&vq, 0, sizeof(vq));
	memset(sector, 0, sizeof(sector));
	msix_on(v);
	if (!check(vpci_init(v, vq.desc, vq.avail, &vq.used, VQ_SIZE, 0),
		   "virtio-pci set up (queue 0 on MSI-X vector 0)"))
		return;
	check(mmio_read64(v->device) == 2048, "capacity %lu sectors",
	      mmio_read64(v->device));
	head = vdrv_blk_chain(&vq, 0, &req, VBLK_T_IN, 0, sector,
			      sizeof(sector));
	hits = msi_hits;
	vdrv_give(&vq, head);
	vpci_kick(v);
	vdrv_wait_mem(&vq, 0);
	for (int tries = 1000; msi_hits == hits && tries-- > 0;) {
		sti_hlt();
		cli();
	}
	check(msi_hits == hits + 1, "the completion came on MSI-X (%u)",
	      msi_hits - hits);
	check(req.status == 0 &&
		      rt_user_call(user_compare, (uint64_t)(uintptr_t)mark),
	      "sector 0 holds \"%s\" (status %u)", mark, req.status);
}

/*
 * The guest's side of an eject: reset the device and write EJECT, its BAR
 * still decoding as Linux leaves it (vmon drops the notify ioeventfds).
 */
static void eject(struct vdev *v, unsigned int slot)
{
	uint32_t down = wait_event(HP_DOWN, "the eject request");

	check(down == 1U << slot, "DOWN names slot %u (0x%x)", slot, down);
	set_status(v, 0);
	outl(HP_BASE + HP_EJECT, down);
	check(cfg_read32(slot, 0) == 0xffffffff && inl(HP_BASE + HP_DOWN) == 0,
	      "slot %u empty after the eject", slot);
}

int main(void)
{
	const uint8_t *rsdp = find_rsdp(), *fadt = 0;
	struct vdev v;
	unsigned int found;
	int slot, again;

	if (rsdp)
		fadt = xsdt_find((const struct hdr *)rd64(rsdp + 24), "FACP");
	if (!check(fadt != 0, "FADT found"))
		rt_finish();
	gpe0 = (uint16_t)rd32(fadt + 80);
	check(gpe0 && fadt[92] == 4, "FADT: GPE0 block at 0x%x, %u bytes", gpe0,
	      fadt[92]);
	check(inl(HP_BASE + HP_SLOTS) == 0xfffffffe, "slots 1-31 hotpluggable");
	scan(0x1af4, 0x1042, &found);
	rt_set_handler(SCI_VECTOR, sci_handler);
	rt_set_handler(MSI_VECTOR, msi_handler);
	ioapic_route(9, SCI_VECTOR);
	outw(gpe0 + 2, GPE_HOTPLUG); /* enable the hotplug GPE */
	slot = one_slot(wait_event(HP_UP, "a device"));
	if (!check(slot > 0, "UP names one slot (%d)", slot))
		rt_finish();
	check(inl(HP_BASE + HP_UP) == 0, "UP read clears it");
	read_sector0(&v, (unsigned int)slot, MARK1);
	eject(&v, (unsigned int)slot);
	again = one_slot(wait_event(HP_UP, "a second device"));
	check(again == slot, "the second device in the freed slot %d", again);
	if (again > 0)
		read_sector0(&v, (unsigned int)again, MARK2);
	rt_finish();
}
