/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci_cfg.h - PCI and virtio-pci helpers of the guest test programs
 * (pci.c, hotplug.c) and of guest/bench/irq-rtt.c: configuration
 * mechanism #1 (0xcf8/0xcfc), a scan of bus 0, BAR sizing, the virtio-pci
 * capabilities and MSI-X found in the capability list (in whichever BARs
 * they name), and the modern transport's initialisation of one queue.
 * Header-only: each program is the runtime plus one file.
 */
#ifndef GUEST_PCI_CFG_H
#define GUEST_PCI_CFG_H

#include "rt.h"

/* The common configuration fields (virtio 1.2, 4.1.4.3). */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0c
#define C_MSIX_CONFIG 0x10
#define C_STATUS 0x14
#define C_Q_SELECT 0x16
#define C_Q_SIZE 0x18
#define C_Q_MSIX 0x1a
#define C_Q_ENABLE 0x1c
#define C_Q_NOFF 0x1e
#define C_Q_DESC 0x20
#define C_Q_AVAIL 0x28
#define C_Q_USED 0x30

static inline uint32_t cfg_addr(unsigned int slot, unsigned int reg)
{
	return 0x80000000U | slot << 11 | (reg & 0xfc);
}

static inline uint32_t cfg_read32(unsigned int slot, unsigned int reg)
{
	outl(0xcf8, cfg_addr(slot, reg));
	return inl(0xcfc);
}

static inline uint16_t cfg_read16(unsigned int slot, unsigned int reg)
{
	outl(0xcf8, cfg_addr(slot, reg));
	return inw(0xcfc + (reg & 2));
}

static inline uint8_t cfg_read8(unsigned int slot, unsigned int reg)
{
	outl(0xcf8, cfg_addr(slot, reg));
	return inb(0xcfc + (reg & 3));
}

static inline void cfg_write32(unsigned int slot, unsigned int reg, uint32_t v)
{
	outl(0xcf8, cfg_addr(slot, reg));
	outl(0xcfc, v);
}

static inline void cfg_write16(unsigned int slot, unsigned int reg, uint16_t v)
{
	outl(0xcf8, cfg_addr(slot, reg));
	outw(0xcfc + (reg & 2), v);
}

/* Slot of the first function @vendor:@device on bus 0, or -1. */
static inline int scan(uint16_t vendor, uint16_t device, unsigned int *found)
{
	int slot = -1;

	*found = 0;
	for (unsigned int s = 0; s < 32; s++) {
		uint32_t id = cfg_read32(s, 0);

		if ((id & 0xffff) == 0xffff)
			continue;
		(*found)++;
		printf("pci: 00:%02x.0 %04x:%04x class %06x\n", s, id & 0xffff,
		       id >> 16, cfg_read32(s, 8) >> 8);
		if (slot < 0 && id == ((uint32_t)device << 16 | vendor))
			slot = (int)s;
	}
	return slot;
}

static inline uint32_t bar_size(unsigned int slot, unsigned int n)
{
	unsigned int reg = 0x10 + 4 * n;
	uint32_t old = cfg_read32(slot, reg), sz;

	cfg_write32(slot, reg, 0xffffffff);
	sz = cfg_read32(slot, reg);
	cfg_write32(slot, reg, old);
	if (!sz)
		return 0;
	return ~(sz & (old & 1 ? ~3U : ~0xfU)) + 1;
}

/*
 * The memory address BAR @n of @slot decodes (both halves of a 64-bit
 * BAR): the virtio structures and the MSI-X table each name their BAR
 * (vmon puts them all in BAR 0, QEMU in BARs 4 and 1).
 */
static inline uint64_t bar_addr(unsigned int slot, unsigned int n)
{
	unsigned int reg = 0x10 + 4 * n;
	uint32_t lo = cfg_read32(slot, reg);
	uint64_t a = lo & ~0xfU;

	if (n < 5 && (lo & 7) == 4) /* memory, 64-bit */
		a |= (uint64_t)cfg_read32(slot, reg + 4) << 32;
	return a;
}

struct vdev {
	unsigned int slot;
	uint64_t bar;
	uint64_t common, notify, isr, device;
	uint32_t notify_mult;
	unsigned int msix_cap;
	uint64_t table, pba;
};

/* A BAR indicator and offset register (MSI-X table or PBA) as an address. */
static inline uint64_t bir_addr(unsigned int slot, uint32_t bir_off)
{
	return bar_addr(slot, bir_off & 7) + (bir_off & ~7U);
}

/* The virtio capabilities and MSI-X: false if one is missing. */
static inline bool walk_caps(struct vdev *v)
{
	unsigned int n = 0;

	for (unsigned int c = cfg_read8(v->slot, 0x34); c && n < 48;
	     c = cfg_read8(v->slot, c + 1), n++) {
		uint8_t id = cfg_read8(v->slot, c);
		uint64_t at;

		if (id == 0x11) {
			v->msix_cap = c;
			v->table =
				bir_addr(v->slot, cfg_read32(v->slot, c + 4));
			v->pba = bir_addr(v->slot, cfg_read32(v->slot, c + 8));
		}
		if (id != 0x09)
			continue;
		at = bar_addr(v->slot, cfg_read8(v->slot, c + 4)) +
		     cfg_read32(v->slot, c + 8);
		switch (cfg_read8(v->slot, c + 3)) {
		case 1:
			v->common = at;
			break;
		case 2:
			v->notify = at;
			v->notify_mult = cfg_read32(v->slot, c + 16);
			break;
		case 3:
			v->isr = at;
			break;
		case 4:
			v->device = at;
			break;
		}
	}
	return v->common && v->notify && v->isr && v->msix_cap;
}

static inline void set_status(struct vdev *v, uint8_t s)
{
	mmio_write8(v->common + C_STATUS, s);
}

/*
 * Resets the device, negotiates VERSION_1 only, and sets up queue 0 of
 * @size entries at @desc/@avail/@used with MSI-X vector @vec (0xffff:
 * none); DRIVER_OK unless the device refuses. False on a refusal.
 */
static inline bool vpci_init(struct vdev *v, const void *desc,
			     const void *avail, const void *used, uint16_t size,
			     uint16_t vec)
{
	set_status(v, 0);
	set_status(v, 1);
	set_status(v, 1 | 2);
	mmio_write32(v->common + C_DFSELECT, 1);
	if (!(mmio_read32(v->common + C_DF) & 1))
		return false; /* no VERSION_1 */
	mmio_write32(v->common + C_GFSELECT, 0);
	mmio_write32(v->common + C_GF, 0);
	mmio_write32(v->common + C_GFSELECT, 1);
	mmio_write32(v->common + C_GF, 1);
	set_status(v, 1 | 2 | 8);
	if (!(mmio_read8(v->common + C_STATUS) & 8))
		return false;
	mmio_write16(v->common + C_MSIX_CONFIG, vec == 0xffff ? vec : 0);
	mmio_write16(v->common + C_Q_SELECT, 0);
	if (mmio_read16(v->common + C_Q_SIZE) < size)
		return false;
	mmio_write16(v->common + C_Q_SIZE, size);
	mmio_write64(v->common + C_Q_DESC, (uint64_t)(uintptr_t)desc);
	mmio_write64(v->common + C_Q_AVAIL, (uint64_t)(uintptr_t)avail);
	mmio_write64(v->common + C_Q_USED, (uint64_t)(uintptr_t)used);
	mmio_write16(v->common + C_Q_MSIX, vec);
	if (mmio_read16(v->common + C_Q_MSIX) != vec)
		return false;
	mmio_write16(v->common + C_Q_ENABLE, 1);
	set_status(v, 1 | 2 | 8 | 4);
	return !(mmio_read8(v->common + C_STATUS) & 0x40);
}

/* Notifies queue 0 of @v. */
static inline void vpci_kick(struct vdev *v)
{
	mmio_write16(v->notify +
			     mmio_read16(v->common + C_Q_NOFF) * v->notify_mult,
		     0);
}

#endif
