/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iothread.h - the I/O thread: one epoll loop that runs device back-end
 * work (virtqueue kicks from ioeventfds, io_uring completions, tap and
 * socket readiness) off the vCPU threads.
 *
 * Handlers are added before or while the thread runs and stay until
 * iothread_remove() or iothread_destroy(), which stops and joins the
 * thread first. A handler runs on the I/O thread only, one at a time; it
 * must not block. After iothread_remove() returns, the handler is not
 * called again except, at most once, by an event already collected: its
 * @opaque must stay valid (and cope) until the device is destroyed.
 */
#ifndef VMON_VMM_IOTHREAD_H
#define VMON_VMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*iothread_fn)(void *opaque, uint32_t events);
/*
 * A poller: looks for work without a system call, does it; true if any.
 * Called with @end true once a polling stretch is over and the thread is
 * about to sleep in epoll (the return value is then ignored): a device
 * that told its driver not to notify while it was polled (as QEMU's
 * io_poll_begin/io_poll_end) asks for notifications again there and
 * takes what was added meanwhile.
 */
typedef bool (*iothread_poll_fn)(void *opaque, bool end);

/* The longest the thread busy-polls after activity (adaptive below it). */
#define IOTHREAD_POLL_MAX_NS 32000

struct io_handler;
struct io_call;

struct iothread {
	int epfd;
	int stop_efd;
	int pause_efd; /* wakes the thread to park for a VM pause */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req, parked;
	bool exited; /* the thread has returned: nothing to pause */
	bool stopping; /* iothread_destroy() began: calls run on the caller */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* the handler list */
	struct io_handler *handlers;
	/* Calls posted by iothread_call(), run in order by the thread. */
	int call_efd;
	pthread_mutex_t call_lock;
	pthread_cond_t call_cond;
	struct io_call *calls;
	/* Adaptive polling: the current budget, and whether any poller. */
	uint64_t poll_ns;
	unsigned int npollers;
	/* The owner iothread_add() gives new handlers (io->lock). */
	unsigned int owner;
};

/* Creates the epoll set (no thread yet). Returns NULL on error (logged). */
struct iothread *iothread_create(void);
/*
 * Calls @fn(@opaque, revents) on the I/O thread whenever @fd is ready for
 * @events (EPOLLIN, EPOLLOUT...; level-triggered). Returns 0 or -1.
 */
int iothread_add(struct iothread *io, int fd, uint32_t events, iothread_fn fn,
		 void *opaque);
/*
 * Adaptive polling (as QEMU's poll-max-ns): gives @fd's handler a poller
 * that the thread calls in a busy loop, with the handler's opaque, for a
 * short budget after each batch of events, so work the guest posts soon
 * after (a request on a ring it kicks) is found without the wake-up of a
 * sleeping thread. The budget follows the observed gaps between events:
 * it grows while events come within IOTHREAD_POLL_MAX_NS of the last and
 * drops to none after a longer gap, so an idle VM costs no polling.
 * The handler's events still wake the thread as before. Returns 0 or -1.
 */
int iothread_set_poll(struct iothread *io, int fd, iothread_poll_fn poll);
/* Changes the events watched on @fd. Returns 0 or -1. */
int iothread_modify(struct iothread *io, int fd, uint32_t events);
/* Stops watching @fd (the caller closes it). Returns 0 or -1. */
int iothread_remove(struct iothread *io, int fd);
/*
 * Owners, for hot unplug: the handlers added from now on belong to
 * @owner (0: none), e.g. a device's PCI slot while it is created; and
 * every handler of @owner stops (the caller closes the fds), with the
 * thread parked or not started.
 */
void iothread_set_owner(struct iothread *io, unsigned int owner);
void iothread_remove_owner(struct iothread *io, unsigned int owner);
/* Starts the thread. Returns 0 or -1. */
int iothread_start(struct iothread *io);
/*
 * Runs one batch of events on the caller, waiting up to @timeout_ms for
 * one (-1: forever), on an I/O thread that was never started: unit tests
 * step the device models turn by turn with it. Returns the number of
 * events handled, or -1 (started, stopped, or epoll failed).
 */
int iothread_poll(struct iothread *io, int timeout_ms);
/*
 * Quiesces the I/O thread for a VM pause: returns once the thread has
 * finished its current batch of events and parked; no handler runs until
 * iothread_resume(). Requests the host kernel already has in flight
 * (io_uring) complete into guest memory but are not reported to the guest
 * until the resume.
 */
void iothread_pause(struct iothread *io);
void iothread_resume(struct iothread *io);
/*
 * Runs @fn(@arg) on the I/O thread, between handlers, and returns when it
 * has run: control requests that touch a back-end the thread owns go
 * through here instead of blocking under a device lock on the caller.
 * While the thread is not started, paused or stopping, @fn runs on the
 * caller instead (the thread runs no handler then; it may resume while
 * @fn runs, so @fn takes the device lock as any handler does).
 * Not from the I/O thread itself.
 */
void iothread_call(struct iothread *io, void (*fn)(void *arg), void *arg);
/* Stops and joins the thread, frees everything (fds of handlers stay). */
void iothread_destroy(void *io);

#endif
