// SPDX-License-Identifier: GPL-2.0-only
/*
 * console_out.c - guest console output queues with the configured bounds
 * (console_out.h), and the VM's record of which queue each output
 * descriptor has, for the consoles that share one. A VM without a
 * configuration (unit tests) gets the defaults.
 */
#include "console_out.h"

#include "../config/config.h"
#include "../vmm/vm.h"

struct outq *console_outq(struct vm *vm, int fd, size_t size, size_t room_mark,
			  void (*room)(void *opaque), void *opaque,
			  const char *name)
{
	const struct vm_config *cfg = vm->cfg;
	struct outq_params p = {
		.fd = fd,
		.size = size,
		.rate = cfg ? cfg->console_rate : VMON_DEFAULT_CONSOLE_RATE,
		.room = room,
		.opaque = opaque,
		.room_mark = room_mark,
		.name = name,
	};
	struct outq *q;

	for (unsigned int i = 0; i < VM_CONSOLE_OUTS; i++) {
		if (vm->console_outs[i].q && vm->console_outs[i].fd == fd)
			p.share = vm->console_outs[i].q;
	}
	if (cfg && cfg->serial == SERIAL_FILE)
		p.max_bytes = cfg->serial_file_max;
	q = outq_create(&p);
	if (!q || p.share)
		return q;
	for (unsigned int i = 0; i < VM_CONSOLE_OUTS; i++) {
		if (!vm->console_outs[i].q) {
			vm->console_outs[i].q = q;
			vm->console_outs[i].fd = fd;
			break;
		}
	}
	return q;
}

void console_outq_close(struct vm *vm, struct outq *q)
{
	for (unsigned int i = 0; i < VM_CONSOLE_OUTS && q; i++) {
		if (vm->console_outs[i].q == q)
			vm->console_outs[i].q = NULL;
	}
	outq_close(q, OUTQ_CLOSE_GRACE_MS);
}
