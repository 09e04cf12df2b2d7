// SPDX-License-Identifier: GPL-2.0-only
/*
 * console.c - moves the user's keystrokes to the guest's UART, with the
 * QEMU-style Ctrl-A escape on terminals, and owns the terminal's mode.
 */
#include "console.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../devices/serial.h"
#include "../util/log.h"
#include "../util/term.h"
#include "../vmm/exitcode.h"
#include "../vmm/vm.h"

#define CTRL_A 0x01

void console_init(struct console *c, struct vm *vm, struct serial *serial,
		  int in_fd)
{
	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->serial = serial;
	c->in_fd = in_fd;
	c->tty = in_fd >= 0 && isatty(in_fd);
	if (c->tty && term_raw(in_fd))
		pr_warn("terminal: cannot switch to raw mode: %s",
			strerror(errno));
}

bool console_wants_input(struct console *c)
{
	return c->in_fd >= 0 && !c->eof && c->serial &&
	       serial_rx_space(c->serial) > 0;
}

static void help(void)
{
	static const char msg[] = "\r\nC-a h    print this help\r\n"
				  "C-a x    quit vmon (exit code 0)\r\n"
				  "C-a C-a  send C-a to the guest\r\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing useful to do */
	}
}

void console_read_input(struct console *c)
{
	uint8_t in[64], out[64];
	size_t space = serial_rx_space(c->serial), n = 0;
	ssize_t got;

	if (space > sizeof(in))
		space = sizeof(in);
	if (!space)
		return;
	got = read(c->in_fd, in, space);
	if (got < 0) {
		if (errno != EINTR && errno != EAGAIN) {
			pr_warn("console input: %s", strerror(errno));
			c->eof = true;
		}
		return;
	}
	if (got == 0) {
		c->eof = true;
		return;
	}
	for (ssize_t i = 0; i < got; i++) {
		uint8_t b = in[i];

		if (!c->tty) {
			out[n++] = b;
			continue;
		}
		if (c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				vm_request_stop(
					c->vm, EXIT_OK,
					"quit from the console (C-a x)");
				return;
			}
			if (b == 'h' || b == 'H' || b == '?')
				help();
			else if (b == CTRL_A || b == 'a')
				out[n++] = CTRL_A;
			continue;
		}
		if (b == CTRL_A)
			c->escape = true;
		else
			out[n++] = b;
	}
	if (n)
		serial_rx_push(c->serial, out, n);
}

void console_restore(struct console *c)
{
	(void)c;
	term_restore();
}
