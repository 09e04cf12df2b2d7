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

/* A non-blocking stream socket connected to @sock, or -1 with errno. */
static int connect_unix(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t n, long long deadline)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w;

		if (wait_fd(fd, POLLOUT, deadline))
			return -1;
		w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Reads until the peer closes; a NUL-terminated buffer or NULL with errno. */
static char *recv_all(int fd, long long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= MAX_ANSWER) {
				errno = EMSGSIZE;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		if (wait_fd(fd, POLLIN, deadline))
			goto fail;
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	return buf;
fail:
	free(buf);
	return NULL;
}

int api_request(const char *sock, const char *method, const char *path,
		const char *body, char **resp, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t blen = body ? strlen(body) : 0;
	char *req = NULL, *buf = NULL, *p;
	int fd, status = -1, n;

	*resp = NULL;
	fd = connect_unix(sock);
	if (fd < 0)
		return -1;
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
	if (send_all(fd, req, (size_t)n, deadline))
		goto out;
	buf = recv_all(fd, deadline);
	if (!buf)
		goto out;
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
	close(fd);
	free(req);
	free(buf);
	return status;
}
