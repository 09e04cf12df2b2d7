// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_iothread.c - the I/O thread runs handlers for ready fds, and a
 * pause quiesces it: no handler runs between iothread_pause() and
 * iothread_resume(), and events that arrived meanwhile are handled after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/iothread.h"

static atomic_int calls;

static void on_ready(void *opaque, uint32_t events)
{
	int fd = *(int *)opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		atomic_fetch_add(&calls, 1);
}

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Waits up to 2 s for the handler count to reach @n. */
static int wait_calls(int n)
{
	for (int i = 0; i < 200 && atomic_load(&calls) < n; i++)
		usleep(10000);
	return atomic_load(&calls);
}

static void test_pause_quiesces(void **state)
{
	struct iothread *io = iothread_create();
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	(void)state;
	assert_non_null(io);
	assert_true(fd >= 0);
	atomic_store(&calls, 0);
	assert_int_equal(iothread_add(io, fd, EPOLLIN, on_ready, &fd), 0);
	assert_int_equal(iothread_start(io), 0);

	kick(fd);
	assert_int_equal(wait_calls(1), 1);

	iothread_pause(io);
	kick(fd);
	usleep(200000);
	assert_int_equal(atomic_load(&calls), 1); /* parked: not handled */
	iothread_pause(io); /* pausing a paused thread returns at once */
	iothread_resume(io);
	assert_int_equal(wait_calls(2), 2); /* handled after the resume */

	/* A paused thread can still be destroyed. */
	iothread_pause(io);
	iothread_destroy(io);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_quiesces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
