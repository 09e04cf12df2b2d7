// SPDX-License-Identifier: GPL-2.0-only
/*
 * device.c - the device registry a VM owns (see device.h): registration by
 * kind, lookups by kind and index, the operations over every device, and
 * the section framing of each device's saved state.
 */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include "../util/log.h"

#define DEVICE_STATE_TAG(kind, index) (0x44450000U | (kind) << 8 | (index))

static const char *const kind_names[DEVICE_VIRTIO_BASE] = {
	[DEVICE_SERIAL] = "serial",
	[DEVICE_I8042] = "i8042",
	[DEVICE_RTC] = "rtc",
	[DEVICE_DEBUG_EXIT] = "debug-exit",
	[DEVICE_POST] = "post",
	[DEVICE_ROM] = "rom",
	[DEVICE_TESTDEV] = "testdev",
	[DEVICE_FW_CFG] = "fw_cfg",
	[DEVICE_HYPERCALL] = "hypercall",
};

/*
 * Virtio kinds are named after the device id (the virtio specification's
 * list, "Device Types"), so that a new virtio device needs no entry here.
 */
static const char *const virtio_names[DEVICE_VIRTIO_ID_MAX + 1] = {
	[1] = "virtio-net",    [2] = "virtio-blk",     [3] = "virtio-console",
	[4] = "virtio-rng",    [5] = "virtio-balloon", [8] = "virtio-scsi",
	[9] = "virtio-9p",     [16] = "virtio-gpu",    [18] = "virtio-input",
	[19] = "virtio-vsock", [20] = "virtio-crypto", [23] = "virtio-iommu",
	[24] = "virtio-mem",   [25] = "virtio-sound",  [26] = "virtio-fs",
	[27] = "virtio-pmem",  [34] = "virtio-i2c",    [41] = "virtio-gpio",
};

const struct device_ops device_stateless_ops = {
	.state_version = 1,
};

const char *device_kind_name(enum device_kind kind)
{
	const char *name = NULL;

	if ((unsigned int)kind < DEVICE_VIRTIO_BASE)
		name = kind_names[kind];
	else if ((unsigned int)kind < DEVICE_VIRTIO_END)
		name = virtio_names[kind - DEVICE_VIRTIO_BASE];
	else if (kind == DEVICE_ACPI_PM)
		name = "acpi-pm";
	else if (kind == DEVICE_PCI_HOST)
		name = "pci-host";
	else if (kind == DEVICE_FW_DEBUG)
		name = "fw-debug";
	else if (kind == DEVICE_BOOT_TIMER)
		name = "boot-timer";
	else if (kind == DEVICE_PCI_HOTPLUG)
		name = "pci-hotplug";
	else if (kind == DEVICE_REMOVED)
		name = "removed";
	if (name)
		return name;
	return device_kind_is_virtio(kind) ? "virtio device" : "unknown device";
}

/* The devices of @kind after @index move down one (one went). */
static void drop_index(struct device_registry *reg, enum device_kind kind,
		       unsigned int index)
{
	for (unsigned int i = 0; i < reg->nr; i++)
		if (reg->devs[i].kind == kind && reg->devs[i].index > index)
			reg->devs[i].index--;
	reg->per_kind[kind]--;
}

/* A full registry: the place of a removed device, or NULL. */
static struct device *reuse(struct device_registry *reg)
{
	for (unsigned int i = 0; i < reg->nr; i++) {
		struct device *dev = &reg->devs[i];

		if (dev->kind == DEVICE_REMOVED) {
			drop_index(reg, DEVICE_REMOVED, dev->index);
			return dev;
		}
	}
	return NULL;
}

struct device *device_register(struct device_registry *reg,
			       enum device_kind kind,
			       const struct device_ops *ops, void *opaque)
{
	struct device *dev;
	unsigned int id;

	if ((unsigned int)kind >= DEVICE_NR_KINDS) {
		pr_err("device kind %d: unknown", (int)kind);
		return NULL;
	}
	dev = reg->nr < DEVICE_MAX ? &reg->devs[reg->nr] : reuse(reg);
	if (!dev) {
		pr_err("%s: more than %u devices", device_kind_name(kind),
		       DEVICE_MAX);
		return NULL;
	}
	id = (unsigned int)(dev - reg->devs);
	if (id == reg->nr)
		reg->nr++;
	*dev = (struct device){
		.kind = kind,
		.index = reg->per_kind[kind]++,
		.id = id,
		.ops = ops,
		.opaque = opaque,
	};
	return dev;
}

struct device *device_find(struct device_registry *reg, enum device_kind kind,
			   unsigned int nth)
{
	for (unsigned int i = 0; i < reg->nr; i++)
		if (reg->devs[i].kind == kind && reg->devs[i].index == nth)
			return &reg->devs[i];
	return NULL;
}

void *device_model(const struct device *dev, enum device_kind kind)
{
	return dev && dev->kind == kind ? dev->opaque : NULL;
}

void device_remove(struct device_registry *reg, struct device *dev)
{
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	drop_index(reg, dev->kind, dev->index);
	*dev = (struct device){ .kind = DEVICE_REMOVED,
				.index = reg->per_kind[DEVICE_REMOVED]++,
				.id = dev->id,
				.ops = &device_stateless_ops };
}

void device_reset_all(struct device_registry *reg)
{
	for (unsigned int i = 0; i < reg->nr; i++)
		if (reg->devs[i].ops->reset)
			reg->devs[i].ops->reset(&reg->devs[i]);
}

void device_pause_all(struct device_registry *reg)
{
	for (unsigned int i = reg->nr; i-- > 0;)
		if (reg->devs[i].ops->pause)
			reg->devs[i].ops->pause(&reg->devs[i]);
}

void device_resume_all(struct device_registry *reg)
{
	for (unsigned int i = 0; i < reg->nr; i++)
		if (reg->devs[i].ops->resume)
			reg->devs[i].ops->resume(&reg->devs[i]);
}

void device_destroy_all(struct device_registry *reg)
{
	while (reg->nr) {
		struct device *dev = &reg->devs[--reg->nr];

		if (dev->ops->destroy)
			dev->ops->destroy(dev);
	}
	memset(reg->per_kind, 0, sizeof(reg->per_kind));
}

int device_save(struct device *dev, struct state_writer *w)
{
	size_t s = state_begin(w, DEVICE_STATE_TAG(dev->kind, dev->index),
			       dev->ops->state_version);
	int ret = dev->ops->save ? dev->ops->save(dev, w) : 0;

	state_end(w, s);
	return ret || w->failed ? -1 : 0;
}

int device_restore(struct device *dev, struct state_reader *r)
{
	struct state_reader sub;
	char what[48];

	snprintf(what, sizeof(what), "%s %u", device_kind_name(dev->kind),
		 dev->index);
	if (state_enter(r, DEVICE_STATE_TAG(dev->kind, dev->index),
			dev->ops->state_version, &sub, what))
		return -1;
	/* The op checks everything before it applies anything. */
	if (dev->ops->restore && dev->ops->restore(dev, &sub) && state_ok(&sub))
		state_fail(&sub, "cannot restore");
	state_expect_end(&sub, "state");
	if (!state_ok(&sub)) {
		state_fail(r, "%s: %s", what, sub.err);
		return -1;
	}
	return 0;
}

int device_save_all(struct device_registry *reg, struct state_writer *w)
{
	state_put_u32(w, reg->nr);
	for (unsigned int i = 0; i < reg->nr; i++)
		if (device_save(&reg->devs[i], w))
			return -1;
	return w->failed ? -1 : 0;
}

int device_restore_all(struct device_registry *reg, struct state_reader *r)
{
	uint32_t n = state_get_u32(r, "device count");

	if (state_ok(r) && n != reg->nr)
		state_fail(r, "the state has %u devices, this VM %u", n,
			   reg->nr);
	for (unsigned int i = 0; i < reg->nr && state_ok(r); i++)
		device_restore(&reg->devs[i], r);
	return state_ok(r) ? 0 : -1;
}
