// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock_uds.c - the Unix-socket multiplexer of virtio-vsock (vsock_uds.h):
 * the listening socket, the host connections until their "CONNECT
 * <port>\n" line is read, and the dialling of "PATH_<port>".
 */
#include "../util/bounds.h"
#include "vsock_uds.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/iothread.h"

#define UDS_MAX_PENDING 64 /* host connections still sending their line */
/* A pending connection this old gives its slot to a new one (docs/limits.md). */
#define UDS_PENDING_IDLE_MS 2000
#define UDS_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct pending {
	struct vsock_uds *u;
	int fd; /* -1: a free slot */
	char line[32]; /* "CONNECT <port>\n" */
	size_t len;
	uint64_t since_ms; /* accepted at (CLOCK_MONOTONIC) */
};

struct vsock_uds {
	struct iothread *io;
	char path[UDS_PATH_MAX];
	int listen_fd;
	vsock_uds_connect_fn connect;
	void *opaque;
	pthread_mutex_t lock; /* pend[] */
	struct pending pend[UDS_MAX_PENDING];
	uint64_t evicted; /* idle pending connections closed for new ones */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pend_close(struct pending *p)
{
	iothread_remove(p->u->io, p->fd);
	close(p->fd);
	p->fd = -1;
	p->len = 0;
}

/*
 * Reads the line a byte at a time (what follows it is the guest's).
 * Returns the port, -1 while incomplete, -2 if the connection is to be
 * closed. Lock held.
 */
static long read_line(struct pending *p)
{
	unsigned int port;
	char ch, tail;
	ssize_t n;

	while ((n = read(p->fd, &ch, 1)) == 1) {
		if (ch != '\n') {
			if (p->len == sizeof(p->line) - 1)
				return -2;
			p->line[p->len++] = ch;
			continue;
		}
		p->line[p->len] = 0;
		if (sscanf(p->line, "CONNECT %u%c", &port, &tail) != 1)
			return -2;
		return port;
	}
	return n == 0 || (errno != EAGAIN && errno != EINTR) ? -2 : -1;
}

static void line_ready(void *opaque, uint32_t events)
{
	struct pending *p = opaque;
	struct vsock_uds *u = p->u;
	long port = -1;
	int fd = -1;

	(void)events;
	pthread_mutex_lock(&u->lock);
	if (p->fd >= 0)
		port = read_line(p);
	if (port == -2) {
		pend_close(p);
	} else if (port >= 0) {
		/* The connection leaves the multiplexer for the device. */
		fd = p->fd;
		iothread_remove(u->io, fd);
		p->fd = -1;
		p->len = 0;
	}
	pthread_mutex_unlock(&u->lock);
	if (fd >= 0 && u->connect(u->opaque, fd, (uint32_t)port))
		close(fd);
}

/*
 * A free slot; with none, the slot of the oldest connection if it has not
 * sent its line for UDS_PENDING_IDLE_MS (closed). Lock held.
 */
static struct pending *free_slot(struct vsock_uds *u)
{
	struct pending *old = NULL;

	for (unsigned int i = 0; i < UDS_MAX_PENDING; i++) {
		if (u->pend[i].fd < 0)
			return &u->pend[i];
		if (!old || u->pend[i].since_ms < old->since_ms)
			old = &u->pend[i];
	}
	bound_hit(BOUND_VSOCK_UDS_PENDING); /* the old one or the new */
	if (now_ms() - old->since_ms < UDS_PENDING_IDLE_MS)
		return NULL;
	pend_close(old);
	u->evicted++;
	return old;
}

static void listen_ready(void *opaque, uint32_t events)
{
	struct vsock_uds *u = opaque;
	struct pending *p = NULL;
	int fd;

	(void)events;
	fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&u->lock);
	p = free_slot(u);
	if (p &&
	    !iothread_add(u->io, fd, EPOLLIN | EPOLLRDHUP, line_ready, p)) {
		p->fd = fd;
		p->since_ms = now_ms();
	} else {
		close(fd);
	}
	pthread_mutex_unlock(&u->lock);
}

/* True if something accepts connections at @sa. */
static bool listener_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = !connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return alive;
}

static int listen_uds(struct vsock_uds *u, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	memcpy(sa.sun_path, u->path, sizeof(sa.sun_path));
	/*
	 * A socket left over by an earlier run is replaced; one that a live
	 * program (another VM) accepts on is not taken over.
	 */
	if (!lstat(u->path, &st) && S_ISSOCK(st.st_mode)) {
		if (listener_alive(&sa)) {
			snprintf(err, errlen,
				 "%s: in use: another program listens on it",
				 u->path);
			return -1;
		}
		unlink(u->path);
	}
	u->listen_fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 ||
	    bind(u->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(u->listen_fd, 16)) {
		snprintf(err, errlen, "%s: %s", u->path, strerror(errno));
		if (u->listen_fd >= 0)
			close(u->listen_fd);
		u->listen_fd = -1;
		return -1;
	}
	return 0;
}

struct vsock_uds *vsock_uds_open(struct iothread *io, const char *path,
				 vsock_uds_connect_fn connect, void *opaque,
				 char *err, size_t errlen)
{
	struct vsock_uds *u = calloc(1, sizeof(*u));

	if (!u) {
		snprintf(err, errlen, "%.200s: out of memory", path);
		return NULL;
	}
	u->io = io;
	u->connect = connect;
	u->opaque = opaque;
	u->listen_fd = -1;
	pthread_mutex_init(&u->lock, NULL);
	for (unsigned int i = 0; i < UDS_MAX_PENDING; i++)
		u->pend[i] = (struct pending){ .u = u, .fd = -1 };
	if (snprintf(u->path, sizeof(u->path), "%s", path) >=
	    (int)sizeof(u->path)) {
		snprintf(err, errlen, "%.200s: path too long", path);
		vsock_uds_close(u);
		return NULL;
	}
	if (listen_uds(u, err, errlen)) {
		vsock_uds_close(u);
		return NULL;
	}
	if (iothread_add(io, u->listen_fd, EPOLLIN, listen_ready, u)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		vsock_uds_close(u);
		return NULL;
	}
	return u;
}

int vsock_uds_dial(const struct vsock_uds *u, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", u->path,
		     port) >= (int)sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void vsock_uds_drop_pending(struct vsock_uds *u)
{
	pthread_mutex_lock(&u->lock);
	for (unsigned int i = 0; i < UDS_MAX_PENDING; i++)
		if (u->pend[i].fd >= 0)
			pend_close(&u->pend[i]);
	pthread_mutex_unlock(&u->lock);
}

uint64_t vsock_uds_evicted(struct vsock_uds *u)
{
	uint64_t n;

	pthread_mutex_lock(&u->lock);
	n = u->evicted;
	pthread_mutex_unlock(&u->lock);
	return n;
}

void vsock_uds_close(struct vsock_uds *u)
{
	if (!u)
		return;
	for (unsigned int i = 0; i < UDS_MAX_PENDING; i++)
		if (u->pend[i].fd >= 0)
			close(u->pend[i].fd);
	if (u->listen_fd >= 0) {
		close(u->listen_fd);
		unlink(u->path);
	}
	pthread_mutex_destroy(&u->lock);
	free(u);
}
