/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * server.h - the HTTP/1.1 server on a Unix socket (libmicrohttpd, one
 * internal thread: the API thread). It reads each request body up to
 * API_MAX_BODY, refuses bigger ones unread, and hands complete requests
 * to api_handle().
 */
#ifndef VMON_API_SERVER_H
#define VMON_API_SERVER_H

#include <sys/types.h>

#include "router.h"

struct api_server;

/*
 * Binds @path (which must not exist), listens and starts the API thread.
 * Returns NULL with the error logged.
 */
struct api_server *api_server_start(const char *path, struct api_ctx *ctx);
/*
 * Gives group @gid read and write access to the socket at @path (mode
 * 0660). Returns 0, or -1 (logged).
 */
int api_server_share(const char *path, gid_t gid);
/* Stops the API thread, closes and unlinks the socket. */
void api_server_stop(struct api_server *s);

#endif
