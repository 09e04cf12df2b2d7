/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_thread.h - the API thread's start: libmicrohttpd starts the thread
 * itself, so it takes its seccomp filter (docs/seccomp.md) on the first
 * connection, before it reads anything a client sent.
 */
#ifndef VMON_API_API_THREAD_H
#define VMON_API_API_THREAD_H

#include <microhttpd.h>

/* MHD_OPTION_NOTIFY_CONNECTION's callback. */
void api_thread_on_connection(void *cls, struct MHD_Connection *conn,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode code);

#endif
