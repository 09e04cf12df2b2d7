/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * client.h - a minimal HTTP/1.1 client over a Unix socket, for vmon's own
 * commands (vmon list, pause, resume, stop, stat) that talk to instances.
 */
#ifndef VMON_API_CLIENT_H
#define VMON_API_CLIENT_H

/*
 * Sends one request (@body may be NULL) and reads the whole answer within
 * @timeout_ms. Returns the HTTP status and *resp (malloc'd body, may be
 * empty), or -1 with errno set / a message logged.
 */
int api_request(const char *sock, const char *method, const char *path,
		const char *body, char **resp, int timeout_ms);

#endif
