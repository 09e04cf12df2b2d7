// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ratelimit.c - unit tests for the token buckets (src/util/ratelimit.c):
 * a full start, refill rate, one-time burst, both buckets at once,
 * operations bigger than the bucket, re-initialisation and huge values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/ratelimit.h"

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
	assert_int_not_equal(rl_consume(&rl, 1, S / 2), 0);
	assert_int_equal(rl.throttled, 2);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
