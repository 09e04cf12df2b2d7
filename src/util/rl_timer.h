/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rl_timer.h - the timer of a device's rate limiters (ratelimit.h): one
 * timerfd on the I/O thread that fires when the shortest wait a limiter
 * handed out is over. Shared by virtio-blk, virtio-net and virtio-rng.
 *
 * A device asks rl_timer_throttle() before each operation; when it says
 * wait, the device stops the queue (or direction) and its @fire callback
 * resumes it. @fire runs on the I/O thread with no lock held: it takes
 * the device's lock itself. One timer may serve several limiters (net:
 * receive and transmit): it is armed for the earliest of their waits.
 */
#ifndef VMON_UTIL_RL_TIMER_H
#define VMON_UTIL_RL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"

struct iothread;

struct rl_timer {
	int fd; /* timerfd, -1 before rl_timer_init() */
	void (*fire)(void *opaque);
	void *opaque;
};

/*
 * Creates the timer and registers it with @io; @fire(@opaque) is called
 * on the I/O thread each time it expires. Returns 0 or -1 (errno set).
 */
int rl_timer_init(struct rl_timer *t, struct iothread *io,
		  void (*fire)(void *opaque), void *opaque);
/* Closes the timer (after the I/O thread stopped, or before it started). */
void rl_timer_close(struct rl_timer *t);
/*
 * One operation of @bytes through @rl: false if it may go now (the tokens
 * are taken), true if it must wait; the timer is then armed for the wait,
 * or left alone if it already fires sooner.
 */
bool rl_timer_throttle(struct rl_timer *t, struct rate_limiter *rl,
		       uint64_t bytes);
/* Fires as soon as possible (new limits: what waited goes on under them). */
void rl_timer_kick(struct rl_timer *t);
/* The ns until the timer fires; 0 if it is not armed. */
uint64_t rl_timer_pending_ns(const struct rl_timer *t);

#endif
