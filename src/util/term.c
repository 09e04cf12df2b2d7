// SPDX-License-Identifier: GPL-2.0-only
/*
 * term.c - raw mode for the guest console and its guaranteed restore.
 */
#include "term.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static volatile sig_atomic_t saved_fd = -1;

void term_restore(void)
{
	int fd = saved_fd;

	if (fd < 0)
		return;
	tcsetattr(fd, TCSAFLUSH, &saved);
	saved_fd = -1;
}

static void fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int term_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct termios raw;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &saved))
		return -1;
	raw = saved;
	cfmakeraw(&raw);
	/* Keep output post-processing off but let the guest see every key. */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSAFLUSH, &raw))
		return -1;
	saved_fd = fd;
	atexit(term_restore);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fatal_signal;
		sa.sa_flags = SA_RESETHAND;
		sigaction(fatal[i], &sa, NULL);
	}
	return 0;
}
