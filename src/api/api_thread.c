// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_thread.c - the API thread's seccomp filter: installed when
 * libmicrohttpd's thread accepts its first connection (api_thread.h).
 */
#include "api_thread.h"

#include "../util/seccomp.h"

void api_thread_on_connection(void *cls, struct MHD_Connection *conn,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		seccomp_thread_enter(THREAD_API);
}
