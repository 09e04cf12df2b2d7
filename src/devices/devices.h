/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devices.h - constructors of the legacy PC devices vmon always has.
 * Each registers its ports and its teardown with the VM.
 */
#ifndef VMON_DEVICES_DEVICES_H
#define VMON_DEVICES_DEVICES_H

struct vm;

/* i8042 keyboard controller at 0x60/0x64: enough for the reset line. */
int i8042_create(struct vm *vm);
/* MC146818 CMOS RTC at 0x70/0x71 with the host's time (UTC). */
int rtc_create(struct vm *vm);
/* isa-debug-exit at 0xf4: a write of V ends vmon with (V << 1) | 1. */
int debug_exit_create(struct vm *vm);
/* The POST diagnostic port 0x80 (Linux's I/O delay): writes are dropped. */
int post_port_create(struct vm *vm);

#endif
