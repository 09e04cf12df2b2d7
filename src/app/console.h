/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * console.h - the user's terminal (or pipe) attached to the guest's
 * serial port: raw mode, the Ctrl-A escape (x quits, a sends Ctrl-A,
 * h helps), and input flow control against the UART's receive FIFO.
 */
#ifndef VMON_APP_CONSOLE_H
#define VMON_APP_CONSOLE_H

#include <stdbool.h>

struct vm;
struct serial;

struct console {
	struct vm *vm;
	struct serial *serial;
	int in_fd; /* -1: no input */
	bool tty; /* escapes only apply to a terminal */
	bool escape; /* Ctrl-A seen */
	bool eof;
};

void console_init(struct console *c, struct vm *vm, struct serial *serial,
		  int in_fd);
/* True while input should be polled (open and the FIFO has room). */
bool console_wants_input(struct console *c);
/* Reads what is available on in_fd and feeds the UART. */
void console_read_input(struct console *c);
void console_restore(struct console *c);

#endif
