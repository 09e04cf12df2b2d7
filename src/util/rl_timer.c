// SPDX-License-Identifier: GPL-2.0-only
/*
 * rl_timer.c - the rate limiters' timer (rl_timer.h): a timerfd served by
 * the I/O thread, armed for the earliest wait a limiter asked for.
 */
#include "rl_timer.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../vmm/iothread.h"

#define NS_PER_S 1000000000ULL

static void rl_timer_expired(void *opaque, uint32_t events)
{
	struct rl_timer *t = opaque;
	uint64_t n;

	(void)events;
	if (read(t->fd, &n, sizeof(n)) < 0)
		return; /* already consumed, or re-armed in between */
	t->fire(t->opaque);
}

int rl_timer_init(struct rl_timer *t, struct iothread *io,
		  void (*fire)(void *opaque), void *opaque)
{
	t->fire = fire;
	t->opaque = opaque;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0)
		return -1;
	return iothread_add(io, t->fd, EPOLLIN, rl_timer_expired, t);
}

void rl_timer_close(struct rl_timer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void arm(struct rl_timer *t, uint64_t ns)
{
	struct itimerspec its = { 0 };

	if (ns == 0)
		ns = 1; /* 0 would disarm the timer */
	its.it_value.tv_sec = (time_t)(ns / NS_PER_S);
	its.it_value.tv_nsec = (long)(ns % NS_PER_S);
	timerfd_settime(t->fd, 0, &its, NULL);
}

uint64_t rl_timer_pending_ns(const struct rl_timer *t)
{
	struct itimerspec cur;

	if (timerfd_gettime(t->fd, &cur))
		return 0;
	return (uint64_t)cur.it_value.tv_sec * NS_PER_S +
	       (uint64_t)cur.it_value.tv_nsec;
}

bool rl_timer_throttle(struct rl_timer *t, struct rate_limiter *rl,
		       uint64_t bytes)
{
	uint64_t wait, pending;

	if (!rl_enabled(rl))
		return false;
	wait = rl_consume(rl, bytes, rl_now_ns());
	if (!wait)
		return false;
	pending = rl_timer_pending_ns(t);
	if (!pending || pending > wait)
		arm(t, wait);
	return true;
}

void rl_timer_kick(struct rl_timer *t)
{
	arm(t, 1);
}
