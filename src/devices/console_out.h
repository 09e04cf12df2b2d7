/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * console_out.h - the output queue of a guest console device (the UART,
 * virtio-console) with the bounds the VM's configuration sets: the rate
 * limit, and the size cap when the output is a --serial file.
 */
#ifndef VMON_DEVICES_CONSOLE_OUT_H
#define VMON_DEVICES_CONSOLE_OUT_H

#include <stddef.h>

#include "../util/outq.h"

struct vm;

/*
 * An output queue of @size bytes to @fd for device @name; @room(@opaque)
 * when @room_mark bytes are free again (outq.h). The consoles of one VM
 * that print to the same descriptor (the UART and virtio-console both on
 * stdout) share one queue, so their output keeps its order. NULL (errno)
 * on failure.
 */
struct outq *console_outq(struct vm *vm, int fd, size_t size, size_t room_mark,
			  void (*room)(void *opaque), void *opaque,
			  const char *name);
/* Ends a queue from console_outq() (outq_close() with the grace period). */
void console_outq_close(struct vm *vm, struct outq *q);

#endif
