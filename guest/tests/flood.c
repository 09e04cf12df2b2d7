// SPDX-License-Identifier: GPL-2.0-only
/*
 * flood.c - a guest that prints without end, as fast as it can, the way a
 * hostile one would (tests/integration/test_bounds.py): lines to COM1
 * without waiting for THRE, and a print hypercall after each line. Never
 * exits: the host stops it.
 */
#include "rt.h"

#include "../../src/devices/hypercall.h"

int main(void)
{
	static const char msg[] = "flood: a print hypercall";

	for (;;) {
		for (int i = 0; i < 63; i++)
			outb(0x3f8, 'F');
		outb(0x3f8, '\n');
		hypercall(VMON_HC_PRINT, (uint64_t)msg, sizeof(msg) - 1, 0, 0);
	}
}
