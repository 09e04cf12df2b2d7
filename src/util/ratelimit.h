/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ratelimit.h - Firecracker's rate limiter: two token buckets, one of
 * bytes (bandwidth) and one of operations (ops). A bucket holds at most
 * `size` tokens, starts full, and refills at size tokens per refill_time
 * ms; `one_time_burst` extra tokens are spent first and never refilled.
 * An operation bigger than the bucket is let through when the bucket is
 * full and leaves it in debt (the next operations wait longer).
 *
 * Plain arithmetic on a clock the caller passes in: no threads, no
 * timers (the device arms its own timer for the wait this returns).
 */
#ifndef VMON_UTIL_RATELIMIT_H
#define VMON_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds the API accepts: keep the arithmetic inside 128 bits. */
#define RL_MAX_SIZE (1ULL << 50)
#define RL_MAX_REFILL_MS (1ULL << 32)

/* One bucket as configured; size or refill_time_ms 0: no limit. */
struct tb_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct rl_config {
	struct tb_config bandwidth; /* tokens are bytes */
	struct tb_config ops; /* tokens are operations */
};

struct token_bucket {
	struct tb_config cfg;
	__int128 budget; /* tokens x refill period in ns; may be negative */
	uint64_t burst; /* one-time burst left */
	uint64_t last_ns; /* time of the last refill */
};

struct rate_limiter {
	struct token_bucket bw, ops;
	uint64_t throttled; /* operations that had to wait */
	/*
	 * How long they waited, from the first refusal to the admission (not
	 * the waits handed out: a retry that comes late, on a busy host,
	 * waited longer than it was told).
	 */
	uint64_t throttled_ns;
	bool waiting; /* an operation was refused and not admitted yet */
	uint64_t wait_since; /* when it was first refused */
};

static inline bool tb_config_enabled(const struct tb_config *c)
{
	return c->size && c->refill_time_ms;
}

static inline bool rl_config_enabled(const struct rl_config *c)
{
	return tb_config_enabled(&c->bandwidth) || tb_config_enabled(&c->ops);
}

/* (Re)starts @rl with @c, both buckets full; the counters are kept. */
void rl_init(struct rate_limiter *rl, const struct rl_config *c,
	     uint64_t now_ns);
bool rl_enabled(const struct rate_limiter *rl);
/*
 * One operation of @bytes at @now_ns: returns 0 and takes the tokens if
 * both buckets allow it now, else takes nothing and returns how many ns
 * to wait before trying again (rl->throttled counts the operations
 * refused, rl->throttled_ns how long from the first refusal to the
 * admission: the caller retries the same operation until admitted).
 */
uint64_t rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns);
/*
 * Parses a rate limiter as the command line gives it:
 * "bytes=SIZE[/MS],ops=N[/MS]" (either or both, any order): a bucket of
 * SIZE bytes (64K, 1M...) or N operations, refilled every MS ms (default
 * 1000). Returns 0, or -1 with @err naming the bad item.
 */
int rl_parse(const char *s, struct rl_config *c, char *err, size_t errlen);
/* CLOCK_MONOTONIC in ns. */
uint64_t rl_now_ns(void);

#endif
