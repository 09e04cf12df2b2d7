// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_iothread.c - the I/O thread runs handlers for ready fds, and a
 * pause quiesces it: no handler runs between iothread_pause() and
 * iothread_resume(), and events that arrived meanwhile are handled after.
 * Adaptive polling: events in quick succession make the thread call the
 * handler's poller; once events stop, the poller is not called again.
 * Owners: removing an owner's handlers stops those only, and a removed
 * handler runs no more though its fd is ready.
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

static atomic_int polls, poll_ends;

static bool count_poll(void *opaque, bool end)
{
	(void)opaque;
	atomic_fetch_add(end ? &poll_ends : &polls, 1);
	return false;
}

/* Waits (up to 5 s) until the poller count stays put for 50 ms. */
static int settled_polls(void)
{
	int prev = -1, now = atomic_load(&polls);

	for (int i = 0; i < 100 && now != prev; i++) {
		usleep(50000);
		prev = now;
		now = atomic_load(&polls);
	}
	return now;
}

static void test_poll_adaptive(void **state)
{
	struct iothread *io = iothread_create();
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int idle;

	(void)state;
	assert_non_null(io);
	assert_true(fd >= 0);
	atomic_store(&calls, 0);
	atomic_store(&polls, 0);
	atomic_store(&poll_ends, 0);
	assert_int_equal(iothread_add(io, fd, EPOLLIN, on_ready, &fd), 0);
	assert_int_equal(iothread_set_poll(io, fd + 1000, count_poll), -1);
	assert_int_equal(iothread_set_poll(io, fd, count_poll), 0);
	assert_int_equal(iothread_start(io), 0);

	/* Back-to-back events (up to 5 s of them on a busy host) poll. */
	for (int i = 0; i < 5000000 && !atomic_load(&polls); i++)
		kick(fd);
	assert_true(atomic_load(&polls) > 0);
	assert_true(wait_calls(1) >= 1);

	/* Idle: no event, no polling; the stretch ended before the sleep. */
	idle = settled_polls();
	usleep(200000);
	assert_int_equal(atomic_load(&polls), idle);
	assert_true(atomic_load(&poll_ends) > 0);

	iothread_destroy(io);
	close(fd);
}

static void test_owner(void **state)
{
	struct iothread *io = iothread_create();
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);

	(void)state;
	assert_non_null(io);
	atomic_store(&calls, 0);
	iothread_set_owner(io, 5);
	assert_int_equal(iothread_add(io, a, EPOLLIN, on_ready, &a), 0);
	iothread_set_owner(io, 0);
	assert_int_equal(iothread_add(io, b, EPOLLIN, on_ready, &b), 0);
	iothread_remove_owner(io, 6); /* nobody's: nothing stops */
	iothread_remove_owner(io, 5);
	assert_int_equal(iothread_remove(io, a), -1); /* already gone */
	assert_int_equal(iothread_start(io), 0);
	kick(a);
	kick(b);
	assert_int_equal(wait_calls(1), 1);
	usleep(50000);
	assert_int_equal(atomic_load(&calls), 1); /* b's, not a's */
	assert_int_equal(iothread_remove(io, b), 0);
	iothread_destroy(io);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_quiesces),
		cmocka_unit_test(test_poll_adaptive),
		cmocka_unit_test(test_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
