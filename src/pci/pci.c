// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci.c - the PCI bus model (pci.h): configuration space of each device
 * with per-byte write masks, BAR sizing and placement, the capability
 * list, and the command register's memory and I/O decoding that decides
 * which BAR the bus's windows send an access to.
 */
#include "pci.h"

#include <stdio.h>
#include <string.h>

#include "../util/log.h"

void pci_bus_init(struct pci_bus *bus, struct vm *vm,
		  const struct pci_window *mmio, const struct pci_window *io)
{
	memset(bus, 0, sizeof(*bus));
	bus->vm = vm;
	pthread_mutex_init(&bus->lock, NULL);
	bus->mmio = *mmio;
	bus->mmio.next = mmio->base;
	bus->io = *io;
	bus->io.next = io->base;
}

void pci_bus_fini(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->lock);
}

void pci_dev_init(struct pci_dev *p, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint8_t revision)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	pci_set16(p->cfg, PCI_VENDOR_ID, vendor);
	pci_set16(p->cfg, PCI_DEVICE_ID, device);
	p->cfg[PCI_REVISION_ID] = revision;
	p->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	pci_set16(p->cfg, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	p->cfg[PCI_HEADER_TYPE] = 0;
	/* I/O, memory, bus master, parity, SERR#, INTx disable. */
	pci_set16(p->wmask, PCI_COMMAND, 0x0547);
	/* Status: the error bits are write-1-to-clear. */
	pci_set16(p->w1c, PCI_STATUS, 0xf900);
	p->wmask[0x0c] = 0xff; /* cache line size */
	p->wmask[0x0d] = 0xff; /* latency timer */
	p->wmask[PCI_INTERRUPT_LINE] = 0xff;
	p->cap_end = PCI_CAP_FIRST;
}

static uint64_t bar_mask(const struct pci_bar *b)
{
	if (b->io)
		return ~(b->size - 1) & 0xfffcULL;
	return ~(b->size - 1) & (b->mem64 ? ~0xfULL : 0xfffffff0ULL);
}

int pci_add_bar(struct pci_dev *p, unsigned int n, uint64_t size, bool io,
		bool mem64, const struct bus_ops *ops, void *opaque)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	struct pci_bar *b;
	uint64_t mask;

	if (n >= PCI_NR_BARS || (mem64 && (io || n + 1 >= PCI_NR_BARS)) ||
	    size < (io ? 4 : 16) || (size & (size - 1)) || (io && size > 256) ||
	    (!mem64 && size > (1ULL << 31)) || p->bars[n].size ||
	    (mem64 && p->bars[n + 1].size)) {
		pr_err("%s: BAR %u of 0x%llx bytes: not a valid BAR", p->name,
		       n, (unsigned long long)size);
		return -1;
	}
	b = &p->bars[n];
	b->size = size;
	b->io = io;
	b->mem64 = mem64;
	b->ops = ops;
	b->opaque = opaque;
	mask = bar_mask(b);
	pci_set32(p->cfg, off, io ? PCI_BAR_IO : mem64 ? PCI_BAR_MEM64 : 0);
	pci_set32(p->wmask, off, (uint32_t)mask);
	if (mem64)
		pci_set32(p->wmask, off + 4, (uint32_t)(mask >> 32));
	return 0;
}

unsigned int pci_add_cap(struct pci_dev *p, uint8_t id, unsigned int len)
{
	unsigned int off = p->cap_end;

	len = (len + 3) & ~3U;
	if (len < 4 || off + len > PCI_CFG_SIZE) {
		pr_err("%s: no room for a %u-byte capability 0x%x", p->name,
		       len, id);
		return 0;
	}
	p->cfg[off] = id;
	p->cfg[off + 1] = 0;
	p->cfg[p->cap_last ? p->cap_last : PCI_CAPABILITY_LIST] = (uint8_t)off;
	p->cap_last = (uint8_t)(off + 1);
	p->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	p->cap_end = (uint8_t)(off + len);
	return off;
}

/* The address BAR @n holds now (its flag bits off). */
static uint64_t bar_addr(const struct pci_dev *p, unsigned int n)
{
	const struct pci_bar *b = &p->bars[n];
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint64_t v = pci_get32(p->cfg, off);

	if (b->mem64)
		v |= (uint64_t)pci_get32(p->cfg, off + 4) << 32;
	return v & bar_mask(b);
}

static void set_bar_addr(struct pci_dev *p, unsigned int n, uint64_t addr)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint32_t flags = pci_get32(p->cfg, off) & (p->bars[n].io ? 0x3 : 0xf);

	pci_set32(p->cfg, off, (uint32_t)addr | flags);
	if (p->bars[n].mem64)
		pci_set32(p->cfg, off + 4, (uint32_t)(addr >> 32));
}

static int place_bars(struct pci_bus *bus, struct pci_dev *p)
{
	for (unsigned int n = 0; n < PCI_NR_BARS; n++) {
		struct pci_bar *b = &p->bars[n];
		struct pci_window *w = b->io ? &bus->io : &bus->mmio;
		uint64_t addr;

		if (!b->size)
			continue;
		addr = (w->next + b->size - 1) & ~(b->size - 1);
		if (addr < w->next || addr + b->size > w->base + w->size) {
			pr_err("%s: BAR %u of 0x%llx bytes: the PCI %s window (0x%llx bytes) is full",
			       p->name, n, (unsigned long long)b->size,
			       b->io ? "I/O" : "memory",
			       (unsigned long long)w->size);
			return -1;
		}
		set_bar_addr(p, n, addr);
		w->next = addr + b->size;
	}
	return 0;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *p, int slot)
{
	int ret = -1;

	pthread_mutex_lock(&bus->lock);
	if (slot < 0)
		for (slot = 0; slot < PCI_MAX_DEVS &&
			       (bus->devs[slot] || bus->held >> slot & 1);
		     slot++)
			;
	if (slot >= PCI_MAX_DEVS || bus->devs[slot] || bus->held >> slot & 1) {
		pr_err("%s: no free PCI slot (at most %u devices)", p->name,
		       PCI_MAX_DEVS);
	} else if (!place_bars(bus, p)) {
		p->bus = bus;
		p->slot = (unsigned int)slot;
		bus->devs[slot] = p;
		ret = 0;
	}
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

void pci_bus_hold(struct pci_bus *bus, unsigned int slot, bool hold)
{
	if (slot >= PCI_MAX_DEVS)
		return;
	pthread_mutex_lock(&bus->lock);
	if (hold)
		bus->held |= 1U << slot;
	else
		bus->held &= ~(1U << slot);
	pthread_mutex_unlock(&bus->lock);
}

void pci_bus_remove(struct pci_bus *bus, struct pci_dev *p)
{
	pthread_mutex_lock(&bus->lock);
	if (p->slot < PCI_MAX_DEVS && bus->devs[p->slot] == p) {
		for (unsigned int n = 0; n < PCI_NR_BARS; n++) {
			struct pci_bar *b = &p->bars[n];

			if (!b->size || !b->decoding)
				continue;
			b->decoding = false;
			if (p->ops && p->ops->bar_moved)
				p->ops->bar_moved(p, n, b->addr, false);
		}
		bus->devs[p->slot] = NULL;
	}
	pthread_mutex_unlock(&bus->lock);
}

static struct pci_dev *find_dev(struct pci_bus *bus, unsigned int slot,
				unsigned int fn)
{
	return slot < PCI_MAX_DEVS && fn == 0 ? bus->devs[slot] : NULL;
}

void pci_config_read(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		     unsigned int off, void *data, unsigned int len)
{
	uint8_t *out = data;
	struct pci_dev *p;

	pthread_mutex_lock(&bus->lock);
	p = find_dev(bus, slot, fn);
	for (unsigned int i = 0; i < len; i++) {
		if (!p)
			out[i] = 0xff;
		else
			out[i] = off + i < PCI_CFG_SIZE ? p->cfg[off + i] : 0;
	}
	pthread_mutex_unlock(&bus->lock);
}

/* Whether BAR @n of @p decodes at its address, inside its window. */
static bool bar_on(const struct pci_bus *bus, const struct pci_dev *p,
		   unsigned int n, uint64_t addr)
{
	const struct pci_bar *b = &p->bars[n];
	const struct pci_window *w = b->io ? &bus->io : &bus->mmio;
	uint16_t cmd = pci_get16(p->cfg, PCI_COMMAND);

	if (!(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	return addr >= w->base && addr - w->base <= w->size &&
	       b->size <= w->size - (addr - w->base);
}

static void update_decoding(struct pci_bus *bus, struct pci_dev *p)
{
	for (unsigned int n = 0; n < PCI_NR_BARS; n++) {
		struct pci_bar *b = &p->bars[n];
		uint64_t addr;
		bool on;

		if (!b->size)
			continue;
		addr = bar_addr(p, n);
		on = bar_on(bus, p, n, addr);
		if (on == b->decoding && (!on || addr == b->addr))
			continue;
		b->addr = addr;
		b->decoding = on;
		if (p->ops && p->ops->bar_moved)
			p->ops->bar_moved(p, n, addr, on);
	}
}

void pci_config_write(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		      unsigned int off, const void *data, unsigned int len)
{
	const uint8_t *in = data;
	struct pci_dev *p;

	pthread_mutex_lock(&bus->lock);
	p = find_dev(bus, slot, fn);
	if (!p || off >= PCI_CFG_SIZE) {
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	if (len > PCI_CFG_SIZE - off)
		len = PCI_CFG_SIZE - off;
	for (unsigned int i = 0; i < len; i++) {
		unsigned int o = off + i;
		uint8_t v = (uint8_t)((p->cfg[o] & ~p->wmask[o]) |
				      (in[i] & p->wmask[o]));

		p->cfg[o] = v & (uint8_t) ~(in[i] & p->w1c[o]);
	}
	if (off < 0x28 && off + len > PCI_COMMAND)
		update_decoding(bus, p);
	if (p->ops && p->ops->config_written)
		p->ops->config_written(p, off, len);
	pthread_mutex_unlock(&bus->lock);
}

void pci_window_access(struct pci_bus *bus, bool io, uint64_t addr, void *data,
		       unsigned int len, bool is_write)
{
	const struct bus_ops *ops = NULL;
	void *opaque = NULL;
	uint64_t off = 0;

	pthread_mutex_lock(&bus->lock);
	for (unsigned int s = 0; s < PCI_MAX_DEVS && !ops; s++) {
		struct pci_dev *p = bus->devs[s];

		for (unsigned int n = 0; p && n < PCI_NR_BARS; n++) {
			struct pci_bar *b = &p->bars[n];

			if (!b->size || !b->decoding || b->io != io ||
			    addr < b->addr || addr - b->addr >= b->size ||
			    len > b->size - (addr - b->addr))
				continue;
			ops = b->ops;
			opaque = b->opaque;
			off = addr - b->addr;
			break;
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (!ops) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		ops->write(opaque, off, data, len);
	else
		ops->read(opaque, off, data, len);
}

bool pci_config_compatible(const struct pci_dev *p, const uint8_t *cfg)
{
	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
		if ((cfg[i] ^ p->cfg[i]) & ~(p->wmask[i] | p->w1c[i]))
			return false;
	return true;
}

void pci_config_load(struct pci_dev *p, const uint8_t *cfg)
{
	struct pci_bus *bus = p->bus;

	pthread_mutex_lock(&bus->lock);
	memcpy(p->cfg, cfg, PCI_CFG_SIZE);
	update_decoding(bus, p);
	if (p->ops && p->ops->config_written)
		p->ops->config_written(p, 0, PCI_CFG_SIZE);
	pthread_mutex_unlock(&bus->lock);
}
