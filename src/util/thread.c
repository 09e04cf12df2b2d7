// SPDX-License-Identifier: GPL-2.0-only
/*
 * thread.c - helper threads started with every signal blocked (thread.h).
 */
#include "thread.h"

#include <signal.h>

int thread_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	/* The new thread inherits the mask in force at pthread_create(). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}
