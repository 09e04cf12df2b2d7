// SPDX-License-Identifier: GPL-2.0-only
/*
 * console_out.c - guest console output queues with the configured bounds
 * (console_out.h). A VM without a configuration (unit tests) gets the
 * defaults.
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

	if (cfg && cfg->serial == SERIAL_FILE)
		p.max_bytes = cfg->serial_file_max;
	return outq_create(&p);
}
