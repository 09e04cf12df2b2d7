// SPDX-License-Identifier: GPL-2.0-only
/*
 * iothread.c - the epoll loop of the I/O thread (see iothread.h).
 */
#include "iothread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/thread.h"
#include "../util/seccomp.h"

struct io_call {
	void (*fn)(void *arg);
	void *arg;
	bool done;
	struct io_call *next;
};

struct io_handler {
	int fd; /* -1: removed, freed by the I/O thread between batches */
	iothread_fn fn;
	iothread_poll_fn poll; /* NULL: not polled */
	void *opaque;
	unsigned int owner; /* iothread_set_owner() */
	struct io_handler *next;
};

/* The first polling budget, and the longest busy stretch between batches. */
#define POLL_START_NS 4000
#define POLL_SLICE_NS 500000

struct iothread *iothread_create(void)
{
	struct iothread *io = calloc(1, sizeof(*io));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event pause_ev = { .events = EPOLLIN };
	struct epoll_event call_ev = { .events = EPOLLIN };

	if (!io)
		return NULL;
	io->stop_efd = io->pause_efd = io->epfd = io->call_efd = -1;
	pthread_mutex_init(&io->lock, NULL);
	pthread_mutex_init(&io->call_lock, NULL);
	pthread_cond_init(&io->call_cond, NULL);
	pthread_mutex_init(&io->pause_lock, NULL);
	pthread_cond_init(&io->pause_cond, NULL);
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	io->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	io->pause_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	io->call_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pause_ev.data.ptr = &io->pause_efd;
	call_ev.data.ptr = &io->call_efd;
	if (io->epfd < 0 || io->stop_efd < 0 || io->pause_efd < 0 ||
	    io->call_efd < 0 ||
	    epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->stop_efd, &ev) ||
	    epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->pause_efd, &pause_ev) ||
	    epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->call_efd, &call_ev)) {
		pr_err("I/O thread: %s", strerror(errno));
		iothread_destroy(io);
		return NULL;
	}
	return io;
}

int iothread_add(struct iothread *io, int fd, uint32_t events, iothread_fn fn,
		 void *opaque)
{
	struct io_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };

	if (!h)
		return -1;
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
	ev.data.ptr = h;
	pthread_mutex_lock(&io->lock);
	h->owner = io->owner;
	h->next = io->handlers;
	io->handlers = h;
	pthread_mutex_unlock(&io->lock);
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		pr_err("I/O thread: epoll_ctl(%d): %s", fd, strerror(errno));
		return -1; /* h stays on the list and is freed at destroy */
	}
	return 0;
}

int iothread_modify(struct iothread *io, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct io_handler *h;
	int ret = -1;

	pthread_mutex_lock(&io->lock);
	for (h = io->handlers; h && h->fd != fd; h = h->next)
		;
	if (h) {
		ev.data.ptr = h;
		ret = epoll_ctl(io->epfd, EPOLL_CTL_MOD, fd, &ev) ? -1 : 0;
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}

int iothread_set_poll(struct iothread *io, int fd, iothread_poll_fn poll)
{
	struct io_handler *h;
	int ret = -1;

	pthread_mutex_lock(&io->lock);
	for (h = io->handlers; h && h->fd != fd; h = h->next)
		;
	if (h) {
		if (!h->poll != !poll)
			__atomic_add_fetch(&io->npollers, poll ? 1 : -1,
					   __ATOMIC_RELAXED);
		__atomic_store_n(&h->poll, poll, __ATOMIC_RELEASE);
		ret = 0;
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}

/* Under io->lock: @h stops; the thread frees it between batches. */
static void drop(struct iothread *io, struct io_handler *h)
{
	epoll_ctl(io->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	__atomic_store_n(&h->fd, -1, __ATOMIC_RELAXED);
	if (h->poll)
		__atomic_sub_fetch(&io->npollers, 1, __ATOMIC_RELAXED);
}

int iothread_remove(struct iothread *io, int fd)
{
	struct io_handler *h;
	int ret = -1;

	pthread_mutex_lock(&io->lock);
	for (h = io->handlers; h; h = h->next) {
		if (__atomic_load_n(&h->fd, __ATOMIC_RELAXED) == fd) {
			drop(io, h);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}

void iothread_set_owner(struct iothread *io, unsigned int owner)
{
	pthread_mutex_lock(&io->lock);
	io->owner = owner;
	pthread_mutex_unlock(&io->lock);
}

void iothread_remove_owner(struct iothread *io, unsigned int owner)
{
	pthread_mutex_lock(&io->lock);
	for (struct io_handler *h = io->handlers; h && owner; h = h->next)
		if (h->owner == owner && h->fd >= 0)
			drop(io, h);
	pthread_mutex_unlock(&io->lock);
}

/* Frees removed handlers: no event of a finished batch refers to them. */
static void sweep(struct iothread *io)
{
	struct io_handler **pp = &io->handlers;

	pthread_mutex_lock(&io->lock);
	while (*pp) {
		struct io_handler *h = *pp;

		if (h->fd < 0) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&io->lock);
}

/* Runs the posted calls, oldest first, and wakes their callers. */
static void run_calls(struct iothread *io)
{
	struct io_call *c, *list, *rev = NULL;
	uint64_t v;

	if (read(io->call_efd, &v, sizeof(v)) < 0) {
		/* drained by an earlier wakeup */
	}
	pthread_mutex_lock(&io->call_lock);
	list = io->calls;
	io->calls = NULL;
	pthread_mutex_unlock(&io->call_lock);
	while (list) {
		c = list;
		list = c->next;
		c->next = rev;
		rev = c;
	}
	while (rev) {
		c = rev;
		rev = c->next;
		c->fn(c->arg);
		pthread_mutex_lock(&io->call_lock);
		c->done = true;
		pthread_cond_broadcast(&io->call_cond);
		pthread_mutex_unlock(&io->call_lock);
	}
}

/* Runs on the I/O thread: waits, parked, while a pause is requested. */
static void park(struct iothread *io)
{
	uint64_t v;

	if (read(io->pause_efd, &v, sizeof(v)) < 0) {
		/* already drained by an earlier wakeup */
	}
	/* A call posted before the pause must not wait for the resume. */
	run_calls(io);
	pthread_mutex_lock(&io->pause_lock);
	if (io->pause_req) {
		io->parked = true;
		pthread_cond_broadcast(&io->pause_cond);
		while (io->pause_req)
			pthread_cond_wait(&io->pause_cond, &io->pause_lock);
		io->parked = false;
	}
	pthread_mutex_unlock(&io->pause_lock);
}

void iothread_pause(struct iothread *io)
{
	uint64_t one = 1;

	if (!io || !io->started)
		return;
	pthread_mutex_lock(&io->pause_lock);
	io->pause_req = true;
	if (write(io->pause_efd, &one, sizeof(one)) < 0)
		pr_err("I/O thread: cannot pause: %s", strerror(errno));
	while (!io->parked && !io->exited)
		pthread_cond_wait(&io->pause_cond, &io->pause_lock);
	pthread_mutex_unlock(&io->pause_lock);
}

void iothread_resume(struct iothread *io)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->pause_lock);
	io->pause_req = false;
	pthread_cond_broadcast(&io->pause_cond);
	pthread_mutex_unlock(&io->pause_lock);
}

/* The thread's last act: a pause waiting for it must not wait forever. */
static void *exiting(struct iothread *io)
{
	pthread_mutex_lock(&io->pause_lock);
	io->exited = true;
	pthread_cond_broadcast(&io->pause_cond);
	pthread_mutex_unlock(&io->pause_lock);
	return NULL;
}

/*
 * Waits up to @timeout_ms (-1: forever) and runs one batch of events.
 * Returns the number of events, or -1 when the loop must end (stop
 * requested, or epoll failed: logged).
 */
static int batch(struct iothread *io, int timeout_ms)
{
	struct epoll_event evs[32];
	int n;

	sweep(io);
	n = epoll_wait(io->epfd, evs, 32, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		pr_err("I/O thread: epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct io_handler *h = evs[i].data.ptr;

		if (!h) {
			run_calls(io);
			return -1;
		}
		if (evs[i].data.ptr == &io->pause_efd) {
			park(io);
			continue;
		}
		if (evs[i].data.ptr == &io->call_efd) {
			run_calls(io);
			continue;
		}
		if (__atomic_load_n(&h->fd, __ATOMIC_RELAXED) < 0)
			continue; /* removed by an earlier handler */
		h->fn(h->opaque, evs[i].events);
	}
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * One pass over the pollers (with @end: the stretch is over, see
 * iothread_poll_fn); true if one found work. Only this thread unlinks and
 * frees handlers (sweep()), and others only prepend: the list from the
 * head read under the lock stays walkable without it.
 */
static bool poll_once(struct iothread *io, bool end)
{
	struct io_handler *h;
	bool progress = false;

	pthread_mutex_lock(&io->lock);
	h = io->handlers;
	pthread_mutex_unlock(&io->lock);
	for (; h; h = h->next) {
		iothread_poll_fn poll =
			__atomic_load_n(&h->poll, __ATOMIC_ACQUIRE);

		if (poll && __atomic_load_n(&h->fd, __ATOMIC_RELAXED) >= 0 &&
		    poll(h->opaque, end) && !end)
			progress = true;
	}
	return progress;
}

/*
 * Busy-polls until io->poll_ns pass without work (or a slice is over,
 * so that the other events are not kept waiting). True if work was found.
 */
static bool poll_phase(struct iothread *io)
{
	uint64_t start = now_ns(), last = start, t = start;
	bool any = false;

	while (t - last < io->poll_ns && t - start < POLL_SLICE_NS) {
		if (poll_once(io, false)) {
			any = true;
			last = now_ns();
		}
#if defined(__x86_64__)
		__builtin_ia32_pause();
#endif
		t = now_ns();
	}
	return any;
}

/*
 * Adapts the polling budget to @gap_ns, the time from the end of the last
 * batch to the next event: enough to cover gaps up to the maximum, none
 * for longer ones (an idle VM's thread sleeps at once).
 */
static void adapt_poll(struct iothread *io, uint64_t gap_ns)
{
	if (gap_ns <= io->poll_ns)
		return;
	if (gap_ns > IOTHREAD_POLL_MAX_NS)
		io->poll_ns = 0;
	else if (!io->poll_ns)
		io->poll_ns = POLL_START_NS;
	else if (io->poll_ns < IOTHREAD_POLL_MAX_NS / 2)
		io->poll_ns *= 2;
	else
		io->poll_ns = IOTHREAD_POLL_MAX_NS;
}

static void *iothread_main(void *arg)
{
	struct iothread *io = arg;

	seccomp_thread_enter(THREAD_IO);
	for (;;) {
		bool pollers = __atomic_load_n(&io->npollers, __ATOMIC_RELAXED);
		uint64_t t0 = pollers ? now_ns() : 0;
		bool phase = pollers && io->poll_ns;
		bool polled = phase && poll_phase(io);

		/* Found nothing to the budget's end: the thread will sleep. */
		if (phase && !polled)
			poll_once(io, true);
		if (batch(io, polled ? 0 : -1) < 0)
			break;
		if (pollers && !polled)
			adapt_poll(io, now_ns() - t0);
	}
	return exiting(io);
}

int iothread_poll(struct iothread *io, int timeout_ms)
{
	if (io->started)
		return -1;
	return batch(io, timeout_ms);
}

int iothread_start(struct iothread *io)
{
	/* Signals are for the main loop and the vCPU kicks, not for us. */
	int err = thread_spawn(&io->thread, iothread_main, io);

	if (err) {
		pr_err("I/O thread: %s", strerror(err));
		return -1;
	}
	io->started = true;
	return 0;
}

void iothread_call(struct iothread *io, void (*fn)(void *arg), void *arg)
{
	struct io_call c = { .fn = fn, .arg = arg };
	uint64_t one = 1;
	bool inline_call;

	pthread_mutex_lock(&io->pause_lock);
	inline_call = !io->started || io->pause_req || io->stopping;
	if (!inline_call) {
		/* Queued under pause_lock: park() runs it before parking. */
		pthread_mutex_lock(&io->call_lock);
		c.next = io->calls;
		io->calls = &c;
		pthread_mutex_unlock(&io->call_lock);
	}
	pthread_mutex_unlock(&io->pause_lock);
	if (inline_call) {
		fn(arg);
		return;
	}
	if (write(io->call_efd, &one, sizeof(one)) < 0)
		pr_err("I/O thread: cannot post a call: %s", strerror(errno));
	pthread_mutex_lock(&io->call_lock);
	while (!c.done)
		pthread_cond_wait(&io->call_cond, &io->call_lock);
	pthread_mutex_unlock(&io->call_lock);
}

void iothread_destroy(void *opaque)
{
	struct iothread *io = opaque;
	uint64_t one = 1;

	if (!io)
		return;
	if (io->started) {
		pthread_mutex_lock(&io->pause_lock);
		io->stopping = true;
		pthread_mutex_unlock(&io->pause_lock);
		iothread_resume(io);
		if (write(io->stop_efd, &one, sizeof(one)) < 0)
			pr_err("I/O thread: cannot stop: %s", strerror(errno));
		pthread_join(io->thread, NULL);
	}
	while (io->handlers) {
		struct io_handler *h = io->handlers;

		io->handlers = h->next;
		free(h);
	}
	if (io->epfd >= 0)
		close(io->epfd);
	if (io->stop_efd >= 0)
		close(io->stop_efd);
	if (io->pause_efd >= 0)
		close(io->pause_efd);
	if (io->call_efd >= 0)
		close(io->call_efd);
	pthread_cond_destroy(&io->call_cond);
	pthread_mutex_destroy(&io->call_lock);
	pthread_cond_destroy(&io->pause_cond);
	pthread_mutex_destroy(&io->pause_lock);
	pthread_mutex_destroy(&io->lock);
	free(io);
}
