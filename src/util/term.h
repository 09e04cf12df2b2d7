/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * term.h - the controlling terminal while a guest console is attached:
 * raw mode on, and the saved settings restored on every exit path
 * (normal return, exit(), fatal signals).
 */
#ifndef VMON_UTIL_TERM_H
#define VMON_UTIL_TERM_H

#include <stdbool.h>

/* Puts @fd (a tty) in raw mode; no-op when @fd is no tty. Returns 0/-1. */
int term_raw(int fd);
/* Restores the settings saved by term_raw(). Idempotent, signal-safe. */
void term_restore(void);

#endif
