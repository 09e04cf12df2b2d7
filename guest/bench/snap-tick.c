// SPDX-License-Identifier: GPL-2.0-only
/*
 * snap-tick.c - the guest of bench/snapshot, for vmon and QEMU alike: it
 * fills its RAM from 16 MiB to 1 MiB before the end (the size from fw_cfg)
 * with a pattern (word i: its address xor a constant; in ring 3, as ring-0
 * work is emulated on a PVM host), prints "snap-tick: ready N pages", then
 * ticks forever: one "." on the serial port per tick, nothing between (a
 * tick is about 30 us here, on a PVM host). The host times a restore from
 * its load request to the first "." after it: the guest's next instruction
 * runs at most one tick before that byte is written (the benchmark measures
 * the tick period and reports it as the resolution).
 */
#include "rt.h"

#define FILL_START (16ULL << 20)
#define PATTERN 0x5DEECE66DA3B9F1ULL

static uint64_t fill_end;

static uint64_t fill(uint64_t arg)
{
	(void)arg;
	for (uint64_t a = FILL_START; a < fill_end; a += 8)
		*(volatile uint64_t *)a = a ^ PATTERN;
	return 0;
}

int main(void)
{
	uint64_t ram = 0;

	fw_cfg_read(0x03, &ram, 8); /* FW_CFG_RAM_SIZE */
	fill_end = ram > FILL_START + (2ULL << 20) ? ram - (1ULL << 20) :
						     FILL_START;
	rt_user_call(fill, 0);
	printf("snap-tick: ready %u pages\n",
	       (unsigned int)((fill_end - FILL_START) >> 12));
	for (;;)
		rt_putc('.'); /* one tick: two exits (LSR read, THR write) */
}
