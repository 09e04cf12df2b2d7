// SPDX-License-Identifier: GPL-2.0-only
/*
 * post.c - the POST diagnostic port 0x80. Linux writes it as an I/O delay;
 * on a PC nothing answers, so writes are dropped silently and reads
 * return all-ones (without the unhandled-port warning).
 */
#include "../vmm/vm.h"
#include "devices.h"

static void post_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	(void)opaque;
	(void)off;
	memset(data, 0xff, len);
}

static const struct bus_ops post_ops = {
	.read = post_read,
};

int post_port_create(struct vm *vm)
{
	/* No state: registered so that every device is in the registry. */
	if (!vm_add_device(vm, DEVICE_POST, &device_stateless_ops, NULL))
		return -1;
	return vm_register_pio(vm, 0x80, 1, &post_ops, NULL, "post");
}
