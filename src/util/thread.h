/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * thread.h - starting vmon's helper threads (the I/O thread, the UART
 * writer): with every signal blocked, so that SIGTERM, SIGINT and the
 * vCPU kick signal reach the threads that wait for them (the main loop's
 * signalfd, the vCPUs) and never a helper, which would die with them.
 */
#ifndef VMON_UTIL_THREAD_H
#define VMON_UTIL_THREAD_H

#include <pthread.h>

/* pthread_create() with all signals blocked in the new thread: 0 or an errno. */
int thread_spawn(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
