// SPDX-License-Identifier: GPL-2.0-only
/*
 * debug_exit.c - QEMU's isa-debug-exit at port 0xf4: a guest write of V
 * stops the VM and vmon exits with (V << 1) | 1, so a test guest can
 * report its result as the exit code.
 */
#include <stdio.h>

#include "../vmm/vm.h"
#include "devices.h"

static void debug_exit_write(void *opaque, uint64_t off, const void *data,
			     unsigned int len)
{
	struct vm *vm = opaque;
	uint64_t v = bus_get(data, len);
	char why[64];

	/* Like QEMU's one-byte device: only the byte at 0xf4 counts. */
	if (off != 0)
		return;
	snprintf(why, sizeof(why), "guest wrote 0x%02llx to debug-exit",
		 (unsigned long long)(v & 0xff));
	vm_request_stop(vm, (int)((((v & 0xff) << 1) | 1) & 0xff), why);
}

static const struct bus_ops debug_exit_ops = {
	.write = debug_exit_write,
};

int debug_exit_create(struct vm *vm)
{
	/* No state: registered so that every device is in the registry. */
	if (!vm_add_device(vm, DEVICE_DEBUG_EXIT, &device_stateless_ops, vm))
		return -1;
	return vm_register_pio(vm, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN,
			       &debug_exit_ops, vm, "debug-exit");
}
