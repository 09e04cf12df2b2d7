// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_outq.c - the bounded output queue of guest consoles
 * (src/util/outq.c, issue 13 items 2 and 4): puts never block and take
 * what fits; the writer keeps to the rate limit; bytes past the size cap
 * are dropped and counted; closing on an output nobody reads returns
 * after the grace period; the room callback comes when space is back;
 * producers sharing one output keep their order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/outq.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads from @fd until @want bytes or @ms without data; returns the count. */
static size_t drain(int fd, size_t want, int ms)
{
	static char buf[65536];
	size_t n = 0;

	while (n < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, ms) != 1)
			break;
		got = read(fd, buf, sizeof(buf));
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	return n;
}

static void test_rate_limit(void **state)
{
	enum { RATE = 100000, TOTAL = 300000 };
	static char data[TOTAL];
	struct outq_params p = { .size = TOTAL, .rate = RATE, .name = "t" };
	struct outq *q;
	double t0, dt;
	int fd[2];

	(void)state;
	assert_int_equal(pipe(fd), 0);
	p.fd = fd[1];
	q = outq_create(&p);
	assert_non_null(q);
	t0 = now_s();
	assert_int_equal(outq_put(q, data, TOTAL), TOTAL);
	assert_int_equal(drain(fd[0], TOTAL, 5000), TOTAL);
	dt = now_s() - t0;
	/* One second's burst, then RATE per second: 2 s at least. */
	assert_true(dt >= 1.8);
	outq_close(q, 1000);
	close(fd[0]);
	close(fd[1]);
}

static void test_size_cap(void **state)
{
	static char data[5000];
	struct outq_params p = { .size = 8192, .max_bytes = 1000, .name = "t" };
	struct outq *q;
	int fd[2];

	(void)state;
	log_level = LOG_ERROR;
	assert_int_equal(pipe(fd), 0);
	p.fd = fd[1];
	q = outq_create(&p);
	assert_non_null(q);
	assert_int_equal(outq_put(q, data, sizeof(data)), sizeof(data));
	outq_close(q, 2000); /* everything went through the writer */
	close(fd[1]);
	assert_int_equal(drain(fd[0], 100000, 1000), 1000);
	close(fd[0]);
}

static atomic_int rooms;

static void on_room(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&rooms, 1);
}

/*
 * Nobody reads: puts take what fits and return at once; close returns
 * after the grace period although the writer is stuck in write(2).
 */
static void test_stuck_output(void **state)
{
	static char data[200000];
	struct outq_params p = {
		.size = 65536, .room = on_room, .room_mark = 32768, .name = "t"
	};
	struct outq *q;
	size_t put = 0;
	double t0;
	int fd[2];

	(void)state;
	log_level = LOG_ERROR;
	assert_int_equal(pipe(fd), 0);
	fcntl(fd[1], F_SETPIPE_SZ, 4096);
	p.fd = fd[1];
	q = outq_create(&p);
	assert_non_null(q);
	t0 = now_s();
	for (int i = 0; i < 10; i++)
		put += outq_put(q, data, sizeof(data));
	assert_true(now_s() - t0 < 1.0);
	assert_true(put < 10 * sizeof(data));
	assert_true(outq_space(q) < 32768);
	/* Reading makes room: the callback comes. */
	drain(fd[0], 65536 + 4096, 200);
	for (int i = 0; i < 200 && !atomic_load(&rooms); i++)
		usleep(10000);
	assert_true(atomic_load(&rooms) > 0);
	/* Stuck again, then closed: bounded by the grace period. */
	while (outq_put(q, data, sizeof(data)))
		;
	t0 = now_s();
	outq_close(q, 300);
	assert_true(now_s() - t0 < 5.0);
	close(fd[0]); /* the stuck writer gets EPIPE (SIGPIPE ignored) */
	close(fd[1]);
}

static atomic_int rooms_a, rooms_b;

static void on_room_a(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&rooms_a, 1);
}

static void on_room_b(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&rooms_b, 1);
}

/* Reads exactly @len bytes from @fd into @buf (or fails the test). */
static void read_exact(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		assert_int_equal(poll(&p, 1, 5000), 1);
		got = read(fd, buf + n, len - n);
		assert_true(got > 0);
		n += (size_t)got;
	}
}

/*
 * Two producers on one output (the UART and virtio-console on stdout):
 * their bytes come out in the order they were put, each gets its own room
 * callback, and the queue lives until the last of them closes.
 */
static void test_shared_output(void **state)
{
	enum { RECS = 2000 };
	static char want[RECS * 8], got[RECS * 8], big[100000];
	struct outq_params pa = {
		.size = 65536, .room = on_room_a, .room_mark = 16, .name = "a"
	};
	struct outq_params pb = { .room = on_room_b,
				  .room_mark = 32768,
				  .name = "b" };
	struct outq *a, *b;
	size_t len = 0;
	int fd[2];

	(void)state;
	assert_int_equal(pipe(fd), 0);
	fcntl(fd[1], F_SETPIPE_SZ, 4096);
	pa.fd = fd[1];
	a = outq_create(&pa);
	assert_non_null(a);
	pb.share = a;
	b = outq_create(&pb);
	assert_non_null(b);
	/* Interleaved records, read while they are written. */
	for (int i = 0; i < RECS; i++) {
		char rec[9];

		snprintf(rec, sizeof(rec), "%c%06d\n", i % 3 ? 'a' : 'b', i);
		assert_int_equal(outq_put(i % 3 ? a : b, rec, 8), 8);
		memcpy(want + len, rec, 8);
		len += 8;
	}
	read_exact(fd[0], got, len);
	assert_memory_equal(got, want, len);
	/* B fills the queue: A's put is refused, A is owed a callback. */
	while (outq_put(b, big, sizeof(big)))
		;
	assert_int_equal(outq_put(a, "x", 1), 0);
	drain(fd[0], 65536 + 8192, 200);
	for (int i = 0; i < 500 && !atomic_load(&rooms_a); i++)
		usleep(10000);
	assert_true(atomic_load(&rooms_a) > 0);
	assert_true(atomic_load(&rooms_b) > 0);
	drain(fd[0], 1 << 20, 200);
	/* A ends first; B's bytes still go out through the shared writer. */
	outq_close(a, 1000);
	assert_int_equal(outq_put(b, "tail", 4), 4);
	read_exact(fd[0], got, 4);
	assert_memory_equal(got, "tail", 4);
	outq_close(b, 1000);
	close(fd[0]);
	close(fd[1]);
}

/* A pause waits for what was queued, bounded when nobody reads. */
static void test_drain(void **state)
{
	static char data[32768];
	struct outq_params p = { .size = 65536, .name = "t" };
	struct outq *q;
	int fd[2];

	(void)state;
	assert_int_equal(pipe(fd), 0);
	fcntl(fd[1], F_SETPIPE_SZ, 4096);
	p.fd = fd[1];
	q = outq_create(&p);
	assert_non_null(q);
	assert_int_equal(outq_put(q, data, sizeof(data)), sizeof(data));
	/* Nobody reads: the drain gives up after its time. */
	assert_false(outq_drain(q, 200));
	/* Read it all: the drain sees everything written. */
	assert_int_equal(drain(fd[0], sizeof(data), 2000), sizeof(data));
	assert_true(outq_drain(q, 5000));
	assert_int_equal(outq_space(q), 65536);
	outq_close(q, 1000);
	close(fd[0]);
	close(fd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_stuck_output),
		cmocka_unit_test(test_shared_output),
		cmocka_unit_test(test_drain),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
