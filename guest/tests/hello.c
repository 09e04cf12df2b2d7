// SPDX-License-Identifier: GPL-2.0-only
/*
 * hello.c - guest test 1: serial output reaches the host byte for byte
 * (a text line, then every byte value 0..255), and the exit code written
 * to debug-exit becomes vmon's: 0x2a -> (0x2a << 1) | 1 = 85.
 */
#include "rt.h"

int main(void)
{
	rt_puts("Hello from a vmon guest program!\n");
	for (unsigned int i = 0; i < 256; i++)
		rt_putc((char)i);
	rt_puts("\nbye\n");
	rt_exit(0x2a);
}
