// SPDX-License-Identifier: GPL-2.0-only
/*
 * ratelimit.c - the token buckets of ratelimit.h. A bucket's budget is
 * kept in tokens times the refill period (ns), so refilling is exact
 * integer arithmetic: elapsed ns times size.
 */
#include "ratelimit.h"

#include "parse.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS 1000000ULL

static __int128 period_ns(const struct token_bucket *b)
{
	return (__int128)b->cfg.refill_time_ms * NS_PER_MS;
}

static void tb_init(struct token_bucket *b, const struct tb_config *c,
		    uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *c;
	b->burst = c->one_time_burst;
	b->last_ns = now_ns;
	if (tb_config_enabled(c))
		b->budget = (__int128)c->size * period_ns(b);
}

static void tb_refill(struct token_bucket *b, uint64_t now_ns)
{
	__int128 full;

	if (!tb_config_enabled(&b->cfg) || now_ns <= b->last_ns)
		return;
	full = (__int128)b->cfg.size * period_ns(b);
	if (b->budget < full) {
		b->budget += (__int128)(now_ns - b->last_ns) * b->cfg.size;
		if (b->budget > full)
			b->budget = full;
	}
	b->last_ns = now_ns;
}

/* 0 if @n tokens can be taken now, else the ns until they can. */
static uint64_t tb_wait(const struct token_bucket *b, uint64_t n)
{
	uint64_t rest = n > b->burst ? n - b->burst : 0;
	__int128 need;

	if (!tb_config_enabled(&b->cfg) || !rest)
		return 0;
	/* More than the bucket holds: wait until it is full. */
	need = (__int128)(rest < b->cfg.size ? rest : b->cfg.size) *
	       period_ns(b);
	if (b->budget >= need)
		return 0;
	return (uint64_t)((need - b->budget + b->cfg.size - 1) / b->cfg.size);
}

static void tb_take(struct token_bucket *b, uint64_t n)
{
	uint64_t from_burst = n < b->burst ? n : b->burst;

	if (!tb_config_enabled(&b->cfg))
		return;
	b->burst -= from_burst;
	b->budget -= (__int128)(n - from_burst) * period_ns(b);
}

void rl_init(struct rate_limiter *rl, const struct rl_config *c,
	     uint64_t now_ns)
{
	tb_init(&rl->bw, &c->bandwidth, now_ns);
	tb_init(&rl->ops, &c->ops, now_ns);
}

bool rl_enabled(const struct rate_limiter *rl)
{
	return tb_config_enabled(&rl->bw.cfg) ||
	       tb_config_enabled(&rl->ops.cfg);
}

uint64_t rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t w1, w2;

	if (!rl_enabled(rl))
		return 0;
	tb_refill(&rl->bw, now_ns);
	tb_refill(&rl->ops, now_ns);
	w1 = tb_wait(&rl->bw, bytes);
	w2 = tb_wait(&rl->ops, 1);
	if (w1 || w2) {
		if (!rl->waiting) {
			rl->waiting = true;
			rl->wait_since = now_ns;
			rl->throttled++;
		}
		return w1 > w2 ? w1 : w2;
	}
	if (rl->waiting) {
		rl->waiting = false;
		if (now_ns > rl->wait_since)
			rl->throttled_ns += now_ns - rl->wait_since;
	}
	tb_take(&rl->bw, bytes);
	tb_take(&rl->ops, 1);
	return 0;
}

/* "SIZE[/MS]" into @b; SIZE with a size suffix if @bytes. */
static int parse_bucket(const char *v, bool bytes, struct tb_config *b)
{
	char num[32];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);
	uint64_t ms = 1000;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, v, len);
	num[len] = 0;
	if (bytes ? parse_size(num, 1, &b->size) :
		    parse_uint(num, 1, RL_MAX_SIZE, &b->size))
		return -1;
	if (b->size == 0 || b->size > RL_MAX_SIZE)
		return -1;
	if (slash && parse_uint(slash + 1, 1, RL_MAX_REFILL_MS, &ms))
		return -1;
	b->one_time_burst = 0;
	b->refill_time_ms = ms;
	return 0;
}

int rl_parse(const char *s, struct rl_config *c, char *err, size_t errlen)
{
	char item[64];

	memset(c, 0, sizeof(*c));
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		int bad = len >= sizeof(item);

		if (!bad) {
			memcpy(item, s, len);
			item[len] = 0;
			if (!strncmp(item, "bytes=", 6))
				bad = parse_bucket(item + 6, true,
						   &c->bandwidth);
			else if (!strncmp(item, "ops=", 4))
				bad = parse_bucket(item + 4, false, &c->ops);
			else
				bad = 1;
		}
		if (bad) {
			snprintf(
				err, errlen,
				"bad rate limit '%.*s' (bytes=SIZE[/MS], ops=N[/MS])",
				(int)(len < 64 ? len : 64), s);
			return -1;
		}
		s += len + (comma ? 1 : 0);
	}
	return 0;
}

uint64_t rl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
