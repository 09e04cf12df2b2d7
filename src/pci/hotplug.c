// SPDX-License-Identifier: GPL-2.0-only
/*
 * hotplug.c - the ACPI PCI hotplug controller (hotplug.h): the register
 * block at PCI_HP_BASE, the GPE0 block at ACPI_GPE0_BASE, and the SCI
 * they drive through the ACPI PM device. An eject the guest writes takes
 * the device off the bus at once (from the vCPU thread); its model is
 * freed later by the host side, with the VM paused. Owns vm->pci->hotplug.
 */
#include "hotplug.h"

#include <stdlib.h>
#include <string.h>

#include "../devices/acpi_pm.h"
#include "../util/log.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "host.h"

enum { ONCE_HP = 0x4850 };

/*
 * Under the lock: the SCI follows the enabled GPE status bits. The PM
 * device's lock nests inside this one (it never calls back here), so the
 * levels it sees are in order.
 */
static void update_gpe(struct pci_hotplug *h)
{
	if (h->sci)
		h->sci(h->sci_opaque, (h->gpe_sts & h->gpe_en) != 0);
}

static void raise_gpe(struct pci_hotplug *h)
{
	h->gpe_sts |= 1U << ACPI_GPE_PCI_HOTPLUG;
	update_gpe(h);
}

void pci_hp_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct pci_hotplug *h = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&h->lock);
	switch (off) {
	case PCI_HP_UP:
		v = h->up;
		if (len == 4)
			h->up = 0; /* reading the whole register takes them */
		break;
	case PCI_HP_DOWN:
		v = h->down;
		break;
	case PCI_HP_SLOTS:
		v = PCI_HP_SLOT_MASK;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	bus_put(data, len, len == 4 ? v : 0);
}

/*
 * The guest ejects @slots: each goes off the bus (no lock held) and its
 * slot is held until the device is freed (virtio_hotplug_reap()).
 */
static void eject(struct pci_hotplug *h, uint32_t slots)
{
	struct pci_host *host = h->vm ? h->vm->pci : NULL;

	for (unsigned int s = 0; s < 32; s++) {
		struct pci_dev *p;

		if (!(slots >> s & 1) || !host)
			continue;
		pthread_mutex_lock(&host->bus.lock);
		p = host->bus.devs[s];
		pthread_mutex_unlock(&host->bus.lock);
		if (p) {
			pci_bus_remove(&host->bus, p);
			pci_bus_hold(&host->bus, s, true);
		}
	}
}

void pci_hp_write(void *opaque, uint64_t off, const void *data,
		  unsigned int len)
{
	struct pci_hotplug *h = opaque;
	uint32_t v = (uint32_t)bus_get(data, len), slots;

	if (off != PCI_HP_EJECT || len != 4)
		return;
	pthread_mutex_lock(&h->lock);
	/* Only a slot the host asked for: the API decides what goes. */
	slots = v & h->down;
	if (v & ~slots)
		log_once(
			ONCE_HP, v & ~slots,
			"PCI hotplug: eject of slots 0x%x not asked for: ignored",
			v & ~slots);
	h->down &= ~slots;
	h->ejected |= slots;
	pthread_mutex_unlock(&h->lock);
	eject(h, slots);
}

void pci_gpe_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct pci_hotplug *h = opaque;
	uint8_t b[ACPI_GPE0_LEN];

	pthread_mutex_lock(&h->lock);
	b[0] = (uint8_t)h->gpe_sts;
	b[1] = (uint8_t)(h->gpe_sts >> 8);
	b[2] = (uint8_t)h->gpe_en;
	b[3] = (uint8_t)(h->gpe_en >> 8);
	pthread_mutex_unlock(&h->lock);
	memset(data, 0, len);
	if (off < ACPI_GPE0_LEN && len <= ACPI_GPE0_LEN - off)
		memcpy(data, b + off, len);
}

/* Any width: status bytes are write-1-to-clear, enable bytes plain. */
void pci_gpe_write(void *opaque, uint64_t off, const void *data,
		   unsigned int len)
{
	struct pci_hotplug *h = opaque;
	const uint8_t *in = data;

	if (off >= ACPI_GPE0_LEN || len > ACPI_GPE0_LEN - off)
		return;
	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i < len; i++) {
		unsigned int byte = (unsigned int)off + i;
		unsigned int sh = 8 * (byte & 1);

		if (byte < 2)
			h->gpe_sts &= (uint16_t) ~(in[i] << sh);
		else
			h->gpe_en = (uint16_t)((h->gpe_en & ~(0xff << sh)) |
					       in[i] << sh);
	}
	update_gpe(h);
	pthread_mutex_unlock(&h->lock);
}

void pci_hotplug_inserted(struct pci_hotplug *h, unsigned int slot)
{
	pthread_mutex_lock(&h->lock);
	h->up |= 1U << slot;
	raise_gpe(h);
	pthread_mutex_unlock(&h->lock);
}

int pci_hotplug_request_eject(struct pci_hotplug *h, unsigned int slot)
{
	int ret = -1;

	if (slot >= 32 || !(PCI_HP_SLOT_MASK >> slot & 1))
		return -1;
	pthread_mutex_lock(&h->lock);
	if (!((h->down | h->ejected) >> slot & 1)) {
		h->down |= 1U << slot;
		raise_gpe(h);
		ret = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

bool pci_hotplug_pending(struct pci_hotplug *h, unsigned int slot)
{
	bool pending;

	pthread_mutex_lock(&h->lock);
	pending = slot < 32 && (h->down >> slot & 1);
	pthread_mutex_unlock(&h->lock);
	return pending;
}

static uint32_t ejected(struct pci_hotplug *h, bool take)
{
	uint32_t e;

	pthread_mutex_lock(&h->lock);
	e = h->ejected;
	if (take)
		h->ejected = 0;
	pthread_mutex_unlock(&h->lock);
	return e;
}

uint32_t pci_hotplug_take_ejected(struct pci_hotplug *h)
{
	return ejected(h, true);
}

uint32_t pci_hotplug_ejected(struct pci_hotplug *h)
{
	return ejected(h, false);
}

void pci_hotplug_init(struct pci_hotplug *h, struct vm *vm)
{
	memset(h, 0, sizeof(*h));
	h->vm = vm;
	pthread_mutex_init(&h->lock, NULL);
}

static const struct bus_ops hp_ops = { pci_hp_read, pci_hp_write };
static const struct bus_ops gpe_ops = { pci_gpe_read, pci_gpe_write };

static void sci_to_pm(void *opaque, bool level)
{
	acpi_pm_set_gpe(opaque, level);
}

static void hp_destroy(struct device *dev)
{
	struct pci_hotplug *h = dev->opaque;

	if (h->vm->pci)
		h->vm->pci->hotplug = NULL;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* The GPE registers and the slot bits; nothing is pending at a snapshot. */
static int hp_save(struct device *dev, struct state_writer *w)
{
	struct pci_hotplug *h = dev->opaque;

	pthread_mutex_lock(&h->lock);
	state_put_u16(w, h->gpe_sts);
	state_put_u16(w, h->gpe_en);
	state_put_u32(w, h->up);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int hp_restore(struct device *dev, struct state_reader *r)
{
	struct pci_hotplug *h = dev->opaque;
	uint16_t sts = state_get_u16(r, "GPE0 status");
	uint16_t en = state_get_u16(r, "GPE0 enable");
	uint32_t up = state_get_u32(r, "PCI hotplug UP");

	if (!state_ok(r) ||
	    !state_check(r, !(up & ~PCI_HP_SLOT_MASK), "PCI hotplug UP"))
		return -1;
	pthread_mutex_lock(&h->lock);
	h->gpe_sts = sts;
	h->gpe_en = en;
	h->up = up;
	h->down = h->ejected = 0;
	update_gpe(h);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static const struct device_ops hp_device_ops = {
	.state_version = 1,
	.save = hp_save,
	.restore = hp_restore,
	.destroy = hp_destroy,
};

int pci_hotplug_create(struct vm *vm)
{
	struct acpi_pm *pm = vm_acpi_pm(vm);
	struct pci_hotplug *h;

	if (!vm->pci || !pm) {
		pr_err("PCI hotplug: needs PCI and ACPI");
		return -1;
	}
	h = malloc(sizeof(*h));
	if (!h)
		return -1;
	pci_hotplug_init(h, vm);
	h->sci = sci_to_pm;
	h->sci_opaque = pm;
	if (!vm_add_device(vm, DEVICE_PCI_HOTPLUG, &hp_device_ops, h)) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return -1;
	}
	vm->pci->hotplug = h;
	return vm_register_pio(vm, PCI_HP_BASE, PCI_HP_LEN, &hp_ops, h,
			       "pci-hotplug") ||
	       vm_register_pio(vm, ACPI_GPE0_BASE, ACPI_GPE0_LEN, &gpe_ops, h,
			       "acpi-gpe0");
}
