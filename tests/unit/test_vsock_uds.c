// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_vsock_uds.c - the virtio-vsock Unix-socket multiplexer
 * (src/net/vsock_uds.c) on its own: a host program's "CONNECT <port>"
 * reaches the device callback with the connection, the bytes after the
 * line left for the device; a bad line or a refusal closes it; dialling
 * reaches PATH_<port>; the socket file goes away on close. A path a live
 * listener owns is refused; connections that never send their line lose
 * their slot to new ones after the idle bound (issue 13).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/vsock_uds.h"
#include "vmm/iothread.h"

static atomic_int got_fd = -1;
static atomic_uint got_port;
static atomic_int refuse;

static int on_connect(void *opaque, int fd, uint32_t port)
{
	(void)opaque;
	if (atomic_load(&refuse))
		return -1;
	atomic_store(&got_port, port);
	atomic_store(&got_fd, fd);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* True if the multiplexer closed @fd (EOF within 2 s). */
static bool closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, 2000) == 1 && read(fd, &c, 1) == 0;
}

static void test_mux(void **state)
{
	struct iothread *io = iothread_create();
	char path[64], dial_path[80], err[256], buf[8] = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_uds *u;
	struct stat st;
	int c, l, d;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vmon-uds-test-%d", getpid());
	u = vsock_uds_open(io, path, on_connect, NULL, err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(iothread_start(io), 0);

	c = client(path);
	assert_int_equal(write(c, "CONNECT 1234\ndata", 17), 17);
	for (int i = 0; i < 200 && atomic_load(&got_fd) < 0; i++)
		usleep(10000);
	assert_true(atomic_load(&got_fd) >= 0);
	assert_int_equal(atomic_load(&got_port), 1234);
	usleep(10000);
	assert_int_equal(read(atomic_load(&got_fd), buf, 4), 4);
	assert_string_equal(buf, "data");
	close(atomic_load(&got_fd));
	close(c);

	c = client(path);
	assert_int_equal(write(c, "HELLO 1\n", 8), 8);
	assert_true(closed(c));
	close(c);
	atomic_store(&refuse, 1);
	c = client(path);
	assert_int_equal(write(c, "CONNECT 5\n", 10), 10);
	assert_true(closed(c));
	close(c);

	/* Dialling: PATH_77, which a host program listens on. */
	snprintf(dial_path, sizeof(dial_path), "%s_77", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", dial_path);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	d = vsock_uds_dial(u, 77);
	assert_true(d >= 0);
	close(d);
	assert_int_equal(vsock_uds_dial(u, 78), -1);
	close(l);
	unlink(dial_path);

	iothread_destroy(io);
	vsock_uds_close(u);
	assert_int_not_equal(stat(path, &st), 0);
	assert_null(vsock_uds_open(NULL, "/nonexistent/dir/sock", on_connect,
				   NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/sock: "));
}

/* A second multiplexer on a live one's path is refused (issue 13, item 8). */
static void test_live_path_refused(void **state)
{
	struct iothread *io = iothread_create();
	char path[64], err[256];
	struct vsock_uds *u;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vmon-uds-live-%d", getpid());
	u = vsock_uds_open(io, path, on_connect, NULL, err, sizeof(err));
	assert_non_null(u);
	assert_null(
		vsock_uds_open(io, path, on_connect, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(stat(path, &st), 0); /* still the first one's */
	iothread_destroy(io);
	vsock_uds_close(u);
	/* A stale socket (nobody listening) is replaced. */
	io = iothread_create();
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		close(l);
	}
	u = vsock_uds_open(io, path, on_connect, NULL, err, sizeof(err));
	assert_non_null(u);
	iothread_destroy(io);
	vsock_uds_close(u);
}

/*
 * 64 host connections that never send their line do not hold every slot
 * forever (issue 13, item 10): past the idle bound a new one gets in.
 */
static void test_idle_pending(void **state)
{
	struct iothread *io = iothread_create();
	char path[64], err[256];
	struct vsock_uds *u;
	int idle[64], c;

	(void)state;
	atomic_store(&refuse, 0);
	atomic_store(&got_fd, -1);
	snprintf(path, sizeof(path), "/tmp/vmon-uds-idle-%d", getpid());
	u = vsock_uds_open(io, path, on_connect, NULL, err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(iothread_start(io), 0);
	for (unsigned int i = 0; i < 64; i++)
		idle[i] = client(path);
	usleep(2500 * 1000); /* past the 2 s idle bound */
	c = client(path);
	assert_int_equal(write(c, "CONNECT 9\n", 10), 10);
	for (int i = 0; i < 500 && atomic_load(&got_fd) < 0; i++)
		usleep(10000);
	assert_true(atomic_load(&got_fd) >= 0);
	assert_int_equal(atomic_load(&got_port), 9);
	assert_true(vsock_uds_evicted(u) >= 1);
	assert_true(closed(idle[0]));
	close(atomic_load(&got_fd));
	close(c);
	for (unsigned int i = 0; i < 64; i++)
		close(idle[i]);
	iothread_destroy(io);
	vsock_uds_close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mux),
		cmocka_unit_test(test_live_path_refused),
		cmocka_unit_test(test_idle_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
