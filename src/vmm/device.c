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

static const char *const kind_names[DEVICE_NR_KINDS] = {
	[DEVICE_SERIAL] = "serial",
	[DEVICE_I8042] = "i8042",
	[DEVICE_RTC] = "rtc",
	[DEVICE_DEBUG_EXIT] = "debug-exit",
	[DEVICE_POST] = "post",
	[DEVICE_ROM] = "rom",
	[DEVICE_TESTDEV] = "testdev",
	[DEVICE_FW_CFG] = "fw_cfg",
	[DEVICE_HYPERCALL] = "hypercall",
	[DEVICE_VIRTIO_CONSOLE] = "virtio-console",
	[DEVICE_VIRTIO_BLK] = "virtio-blk",
	[DEVICE_VIRTIO_NET] = "virtio-net",
	[DEVICE_VIRTIO_VSOCK] = "virtio-vsock",
	[DEVICE_VIRTIO_BALLOON] = "virtio-balloon",
	[DEVICE_VIRTIO_RNG] = "virtio-rng",
};

const struct device_ops device_stateless_ops = {
	.state_version = 1,
};

const char *device_kind_name(enum device_kind kind)
{
	return (unsigned int)kind < DEVICE_NR_KINDS ? kind_names[kind] :
						      "unknown device";
}

struct device *device_register(struct device_registry *reg,
			       enum device_kind kind,
			       const struct device_ops *ops, void *opaque)
{
	struct device *dev;

	if ((unsigned int)kind >= DEVICE_NR_KINDS) {
		pr_err("device kind %d: unknown", (int)kind);
		return NULL;
	}
	if (reg->nr == DEVICE_MAX) {
		pr_err("%s: more than %u devices", device_kind_name(kind),
		       DEVICE_MAX);
		return NULL;
	}
	dev = &reg->devs[reg->nr];
	*dev = (struct device){
		.kind = kind,
		.index = reg->per_kind[kind]++,
		.id = reg->nr++,
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
