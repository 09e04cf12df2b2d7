/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmds_http.h - the metadata service's HTTP/1.1 side: one request the
 * guest sent over a TCP connection in, one response out, with
 * Firecracker's MMDS semantics (V1, V2 session tokens, IMDS output).
 */
#ifndef VMON_NET_MMDS_HTTP_H
#define VMON_NET_MMDS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest request (head and body) a connection buffers. */
#define MMDS_HTTP_MAX_REQUEST 4096

struct mmds_http_resp {
	char *data; /* malloc'ed: status line, headers, body */
	size_t len;
	bool close; /* close the connection after it */
	unsigned int status;
};

/*
 * Handles the request at the start of @buf (@len bytes). Returns the bytes
 * it took (the response in *@r), 0 if the request is not complete yet, or
 * -1 if no response could be built (out of memory). A malformed or too
 * large request is answered (400, 413, 501) and closes the connection.
 */
ssize_t mmds_http_handle(const char *buf, size_t len, uint64_t now_ns,
			 struct mmds_http_resp *r);

#endif
