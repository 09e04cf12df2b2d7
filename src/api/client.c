// SPDX-License-Identifier: GPL-2.0-only
/*
 * client.c - one HTTP/1.1 request per connection ("Connection: close")
 * over a Unix socket, with a deadline; the answer's status and body.
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_ANSWER (4 << 20)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long long left = deadline - now_ms();
	int r;

	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	do
		r = poll(&p, 1, (int)left);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int api_request(const char *sock, const char *method, const char *path,
		const char *body, char **resp, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	size_t blen = body ? strlen(body) : 0, len = 0, cap = 4096, off = 0;
	char *req = NULL, *buf = NULL, *p;
	int fd = -1, status = -1, n;

	*resp = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	n = asprintf(
		&req,
		"%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		"Accept: application/json\r\n%s%s%zu\r\n\r\n%s",
		method, path, body ? "Content-Type: application/json\r\n" : "",
		"Content-Length: ", blen, body ? body : "");
	if (n < 0) {
		req = NULL;
		goto out;
	}
	while (off < (size_t)n) {
		ssize_t w;

		if (wait_fd(fd, POLLOUT, deadline))
			goto out;
		w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0)
			goto out;
		off += (size_t)w;
	}
	buf = malloc(cap);
	if (!buf)
		goto out;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= MAX_ANSWER) {
				errno = EMSGSIZE;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
		if (wait_fd(fd, POLLIN, deadline))
			goto out;
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		errno = EPROTO;
		status = -1;
		goto out;
	}
	p = strstr(buf, "\r\n\r\n");
	*resp = strdup(p ? p + 4 : "");
	if (!*resp)
		status = -1;
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(buf);
	return status;
}
