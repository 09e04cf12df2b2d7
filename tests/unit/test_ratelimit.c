// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ratelimit.c - unit tests for the token buckets (src/util/ratelimit.c):
 * a full start, refill rate, one-time burst, both buckets at once,
 * operations bigger than the bucket, re-initialisation and huge values;
 * the command-line syntax (rl_parse) and the shared timer (rl_timer.c):
 * it fires after the wait, is brought forward by a shorter one and not
 * pushed back by a longer one, and a kick fires it at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/ratelimit.h"
#include "util/rl_timer.h"
#include "vmm/iothread.h"

#define MS 1000000ULL
#define S 1000000000ULL
#define MIB (1ULL << 20)

static void test_disabled(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = 100 } }; /* no refill */

	(void)state;
	rl_init(&rl, &c, 0);
	assert_false(rl_enabled(&rl));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rl_consume(&rl, 1ULL << 40, 0), 0);
	assert_int_equal(rl.throttled, 0);
}

static void test_bandwidth_rate(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = MIB,
					      .refill_time_ms = 1000 } };
	uint64_t now = 5 * S, done = 0, w;

	(void)state;
	rl_init(&rl, &c, now);
	assert_true(rl_enabled(&rl));
	/* Starts full: 1 MiB at once, in 64 KiB operations. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rl_consume(&rl, 64 * 1024, now), 0);
	/* Empty: the next 64 KiB needs 1/16 s. */
	w = rl_consume(&rl, 64 * 1024, now);
	assert_int_equal(w, S / 16);
	assert_int_equal(rl.throttled, 1);
	/* Not a byte before its time. */
	assert_int_not_equal(rl_consume(&rl, 64 * 1024, now + w - 1), 0);
	/* Following the waits, 3 MiB more take exactly 3 s. */
	while (done < 3 * MIB) {
		w = rl_consume(&rl, 64 * 1024, now);
		if (w)
			now += w;
		else
			done += 64 * 1024;
	}
	assert_int_equal(now, 5 * S + 3 * S);
}

static void test_refill_caps_at_size(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = 1000,
					      .refill_time_ms = 100 } };

	(void)state;
	rl_init(&rl, &c, 0);
	assert_int_equal(rl_consume(&rl, 1000, 0), 0);
	/* An hour idle refills no more than the size. */
	assert_int_equal(rl_consume(&rl, 1000, 3600 * S), 0);
	assert_int_not_equal(rl_consume(&rl, 1, 3600 * S), 0);
	/* Half the period: half the tokens. */
	assert_int_equal(rl_consume(&rl, 500, 3600 * S + 50 * MS), 0);
	assert_int_not_equal(rl_consume(&rl, 1, 3600 * S + 50 * MS), 0);
}

static void test_one_time_burst(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = 100,
					      .one_time_burst = 1000,
					      .refill_time_ms = 1000 } };

	(void)state;
	rl_init(&rl, &c, 0);
	/* Burst, then the bucket: 1100 at once, not one more. */
	assert_int_equal(rl_consume(&rl, 600, 0), 0);
	assert_int_equal(rl_consume(&rl, 500, 0), 0);
	assert_int_equal(rl.bw.burst, 0);
	assert_int_equal(rl_consume(&rl, 1, 0), 10 * MS);
	/* The burst never comes back. */
	assert_int_equal(rl_consume(&rl, 100, 10 * S), 0);
	assert_int_not_equal(rl_consume(&rl, 1, 10 * S), 0);
}

static void test_ops_and_both(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = {
		.bandwidth = { .size = 1000, .refill_time_ms = 1000 },
		.ops = { .size = 2, .refill_time_ms = 1000 },
	};

	(void)state;
	rl_init(&rl, &c, 0);
	assert_int_equal(rl_consume(&rl, 10, 0), 0);
	assert_int_equal(rl_consume(&rl, 10, 0), 0);
	/* Out of operations (bytes left): wait for one op, 0.5 s. */
	assert_int_equal(rl_consume(&rl, 10, 0), S / 2);
	/* A refused operation takes nothing from the other bucket. */
	assert_int_equal(rl_consume(&rl, 980, S / 2), 0);
	/* Refused at 0, admitted at 0.5 s: it waited 0.5 s. */
	assert_int_equal(rl.throttled_ns, S / 2);
	assert_int_not_equal(rl_consume(&rl, 1, S / 2), 0);
	/* Its retries count once, however late they come. */
	assert_int_not_equal(rl_consume(&rl, 1, S / 2 + 1), 0);
	assert_int_equal(rl.throttled, 2);
	assert_int_equal(rl_consume(&rl, 1, 3 * S), 0);
	assert_int_equal(rl.throttled_ns, S / 2 + 5 * S / 2);
}

static void test_over_consumption(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = 1000,
					      .refill_time_ms = 1000 } };

	(void)state;
	rl_init(&rl, &c, 0);
	/* Bigger than the bucket: allowed when full, leaves a debt. */
	assert_int_equal(rl_consume(&rl, 3000, 0), 0);
	/* Debt 2000 plus 1 token: 2.001 s. */
	assert_int_equal(rl_consume(&rl, 1, 0), 2001 * MS);
	/* A second big one waits until the bucket is full again: 3 s. */
	assert_int_equal(rl_consume(&rl, 5000, 0), 3 * S);
	assert_int_equal(rl_consume(&rl, 5000, 3 * S), 0);
}

static void test_reinit_and_limits(void **state)
{
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .bandwidth = { .size = 10,
					      .refill_time_ms = 1000 } };
	struct rl_config big = { .bandwidth = { .size = RL_MAX_SIZE,
						.one_time_burst = RL_MAX_SIZE,
						.refill_time_ms =
							RL_MAX_REFILL_MS } };

	(void)state;
	rl_init(&rl, &c, 0);
	assert_int_equal(rl_consume(&rl, 10, 0), 0);
	assert_int_not_equal(rl_consume(&rl, 10, 0), 0);
	/* A new configuration starts full; the counters stay. */
	rl_init(&rl, &c, 0);
	assert_int_equal(rl_consume(&rl, 10, 0), 0);
	assert_int_equal(rl.throttled, 1);
	/* The largest values accepted do not overflow. */
	rl_init(&rl, &big, 0);
	assert_int_equal(rl_consume(&rl, 4 * RL_MAX_SIZE, 0), 0);
	assert_int_not_equal(rl_consume(&rl, RL_MAX_SIZE, 0), 0);
	assert_int_equal(rl_consume(&rl, 1, UINT64_MAX), 0);
	/* The clock going backwards refills nothing and breaks nothing. */
	rl_init(&rl, &c, 5 * S);
	assert_int_equal(rl_consume(&rl, 10, S), 0);
	assert_int_not_equal(rl_consume(&rl, 1, S), 0);
}

static void test_parse(void **state)
{
	struct rl_config c;
	char err[128];

	(void)state;
	assert_int_equal(rl_parse("bytes=1M", &c, err, sizeof(err)), 0);
	assert_int_equal(c.bandwidth.size, MIB);
	assert_int_equal(c.bandwidth.refill_time_ms, 1000);
	assert_false(tb_config_enabled(&c.ops));
	assert_int_equal(
		rl_parse("ops=16/250,bytes=4096/10", &c, err, sizeof(err)), 0);
	assert_int_equal(c.ops.size, 16);
	assert_int_equal(c.ops.refill_time_ms, 250);
	assert_int_equal(c.bandwidth.size, 4096);
	assert_int_equal(c.bandwidth.refill_time_ms, 10);
	assert_int_equal(rl_parse("", &c, err, sizeof(err)), 0);
	assert_false(rl_config_enabled(&c));
	static const char *const bad[] = {
		"bytes",   "bytes=",	 "bytes=0",  "ops=1M",
		"ops=1/0", "bytes=1M/x", "iops=3",   "bytes=1M,,ops=2",
		"ops=-1",  "bytes=1M/",	 "bytes=2P", "ops=1/99999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(rl_parse(bad[i], &c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bad rate limit"));
	}
}

/* --- the timer, on a real I/O thread ------------------------------------ */

static atomic_int fired;
static int fired_efd;

static void on_fire(void *opaque)
{
	uint64_t one = 1;

	assert_ptr_equal(opaque, &fired);
	atomic_fetch_add(&fired, 1);
	assert_int_equal(write(fired_efd, &one, sizeof(one)), sizeof(one));
}

/* Waits up to @ms for the timer's callback; true if it ran. */
static bool wait_fired(int ms)
{
	struct pollfd p = { .fd = fired_efd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	assert_int_equal(read(fired_efd, &v, sizeof(v)), sizeof(v));
	return true;
}

static struct iothread *timer_up(struct rl_timer *t)
{
	struct iothread *io = iothread_create();

	assert_non_null(io);
	atomic_store(&fired, 0);
	fired_efd = eventfd(0, EFD_CLOEXEC);
	assert_true(fired_efd >= 0);
	assert_int_equal(rl_timer_init(t, io, on_fire, &fired), 0);
	assert_int_equal(iothread_start(io), 0);
	return io;
}

static void timer_down(struct iothread *io, struct rl_timer *t)
{
	iothread_destroy(io);
	rl_timer_close(t);
	assert_int_equal(t->fd, -1);
	close(fired_efd);
}

static void test_timer_fires_after_wait(void **state)
{
	struct rl_timer t;
	struct iothread *io = timer_up(&t);
	struct rate_limiter rl = { 0 }, off = { 0 };
	struct rl_config c = { .ops = { .size = 1, .refill_time_ms = 100 } };
	struct rl_config none = { 0 };
	uint64_t t0, pending;

	(void)state;
	rl_init(&off, &none, rl_now_ns());
	assert_false(rl_timer_throttle(&t, &off, 1ULL << 40));
	assert_int_equal(rl_timer_pending_ns(&t), 0);
	rl_init(&rl, &c, rl_now_ns());
	t0 = rl_now_ns();
	assert_false(rl_timer_throttle(&t, &rl, 0));
	assert_int_equal(rl_timer_pending_ns(&t), 0);
	assert_true(rl_timer_throttle(&t, &rl, 0));
	pending = rl_timer_pending_ns(&t);
	assert_true(pending > 50 * MS && pending <= 100 * MS);
	assert_true(wait_fired(2000));
	assert_true(rl_now_ns() - t0 >= 95 * MS);
	assert_int_equal(atomic_load(&fired), 1);
	/* The bucket refilled meanwhile: the operation goes now. */
	assert_false(rl_timer_throttle(&t, &rl, 0));
	timer_down(io, &t);
}

static void test_timer_earliest_wait(void **state)
{
	struct rl_timer t;
	struct iothread *io = timer_up(&t);
	struct rate_limiter slow = { 0 }, fast = { 0 }, slower = { 0 };
	struct rl_config cs = { .ops = { .size = 1, .refill_time_ms = 5000 } };
	struct rl_config cf = { .ops = { .size = 1, .refill_time_ms = 50 } };
	struct rl_config cl = { .ops = { .size = 1, .refill_time_ms = 60000 } };

	(void)state;
	rl_init(&slow, &cs, rl_now_ns());
	rl_init(&fast, &cf, rl_now_ns());
	rl_init(&slower, &cl, rl_now_ns());
	assert_false(rl_timer_throttle(&t, &slow, 0));
	assert_false(rl_timer_throttle(&t, &fast, 0));
	assert_false(rl_timer_throttle(&t, &slower, 0));
	/* 5 s, then 50 ms brings it forward, then 60 s leaves it alone. */
	assert_true(rl_timer_throttle(&t, &slow, 0));
	assert_true(rl_timer_pending_ns(&t) > 4 * S);
	assert_true(rl_timer_throttle(&t, &fast, 0));
	assert_true(rl_timer_pending_ns(&t) <= 50 * MS);
	assert_true(rl_timer_throttle(&t, &slower, 0));
	assert_true(rl_timer_pending_ns(&t) <= 50 * MS);
	assert_true(wait_fired(2000));
	assert_int_equal(atomic_load(&fired), 1);
	timer_down(io, &t);
}

static void test_timer_kick(void **state)
{
	struct rl_timer t;
	struct iothread *io = timer_up(&t);
	struct rate_limiter rl = { 0 };
	struct rl_config c = { .ops = { .size = 1, .refill_time_ms = 60000 } };

	(void)state;
	rl_init(&rl, &c, rl_now_ns());
	assert_false(rl_timer_throttle(&t, &rl, 0));
	assert_true(rl_timer_throttle(&t, &rl, 0));
	/* New limits: what waited goes on at once, not in a minute. */
	rl_timer_kick(&t);
	assert_true(wait_fired(2000));
	assert_int_equal(rl_timer_pending_ns(&t), 0);
	assert_false(wait_fired(100));
	assert_int_equal(atomic_load(&fired), 1);
	timer_down(io, &t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_bandwidth_rate),
		cmocka_unit_test(test_refill_caps_at_size),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_ops_and_both),
		cmocka_unit_test(test_over_consumption),
		cmocka_unit_test(test_reinit_and_limits),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_timer_fires_after_wait),
		cmocka_unit_test(test_timer_earliest_wait),
		cmocka_unit_test(test_timer_kick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
