// SPDX-License-Identifier: GPL-2.0-only
/*
 * outq.c - the bounded output queue (outq.h): a ring buffer, its writer
 * thread, the rate limit (a one-second token bucket the writer waits on)
 * and the size cap. Locking: @lock guards the ring and the flags; @cb_lock
 * is held while the room callback runs, so that outq_close() can be sure
 * no callback runs once it returns. Neither is held across write(2).
 */
#include "bounds.h"
#include "outq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "seccomp.h"
#include "thread.h"

#define NS 1000000000ULL

/*
 * The ring and its writer thread, shared by the producers (struct outq
 * handles) that write to the same output: the bytes go out in the order
 * they were put, whoever put them.
 */
struct ring {
	struct outq_params p; /* the first producer's: fd, size, bounds */
	pthread_mutex_t lock, cb_lock;
	pthread_cond_t cond; /* data queued, stop, writer exited */
	pthread_t writer;
	uint8_t *buf;
	size_t head, count;
	bool stop, exited, abandoned;
	bool writing; /* a chunk taken off the ring is being written */
	uint64_t written, capped;
	uint64_t tokens, last_ns; /* the rate limit's bucket */
	struct outq *producers; /* under both locks to change, either to read */
};

/* One producer's handle: its room callback and whether it waits for it. */
struct outq {
	struct ring *r;
	void (*room)(void *opaque);
	void *opaque;
	size_t room_mark;
	bool low; /* a put left less than room_mark free */
	struct outq *next;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Refills the bucket; returns the bytes @want allows now (lock held). */
static size_t allowed(struct ring *q, size_t want)
{
	uint64_t now = now_ns();

	if (!q->p.rate)
		return want;
	q->tokens += (now - q->last_ns) * q->p.rate / NS;
	if (q->tokens > q->p.rate)
		q->tokens = q->p.rate;
	q->last_ns = now;
	return want < q->tokens ? want : (size_t)q->tokens;
}

/* Sleeps (lock held, woken by close) until one more byte is allowed. */
static void wait_tokens(struct ring *q)
{
	uint64_t ns = NS / q->p.rate + 1, t = now_ns() + ns;
	struct timespec ts;

	bound_hit(BOUND_CONSOLE_RATE);
	/* The cond uses CLOCK_MONOTONIC (ring_create). */
	ts.tv_sec = (time_t)(t / NS);
	ts.tv_nsec = (long)(t % NS);
	pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

/* Writes @len bytes to the output, whatever it takes (EINTR, short). */
static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* output gone: nothing to do with the bytes */
		p += w;
		len -= (size_t)w;
	}
}

/* Takes up to @max bytes off the ring into @chunk (lock held). */
static size_t take(struct ring *q, uint8_t *chunk, size_t max)
{
	size_t n = q->count < max ? q->count : max;

	if (n > q->p.size - q->head)
		n = q->p.size - q->head;
	memcpy(chunk, q->buf + q->head, n);
	q->head = (q->head + n) % q->p.size;
	q->count -= n;
	return n;
}

/* The producer owed a room callback now, if any (lock held). */
static struct outq *owed_room(struct ring *q)
{
	for (struct outq *h = q->producers; h; h = h->next) {
		if (h->low && q->p.size - q->count >= h->room_mark) {
			h->low = false;
			return h;
		}
	}
	return NULL;
}

/* After a take: the room callbacks of producers waiting for space. */
static void notify_room(struct ring *q)
{
	struct outq *h;

	while ((h = owed_room(q))) {
		if (!h->room)
			continue;
		pthread_mutex_unlock(&q->lock);
		/* Under cb_lock the producer list cannot change. */
		pthread_mutex_lock(&q->cb_lock);
		for (struct outq *it = q->producers; it; it = it->next) {
			if (it == h) {
				h->room(h->opaque);
				break;
			}
		}
		pthread_mutex_unlock(&q->cb_lock);
		pthread_mutex_lock(&q->lock);
	}
}

/* Counts what the size cap drops; true if @n bytes may be written. */
static size_t cap(struct ring *q, size_t n)
{
	uint64_t left;

	if (!q->p.max_bytes)
		return n;
	left = q->p.max_bytes - q->written;
	if (n > left) {
		if (!q->capped)
			pr_warn("%s: output reached its limit of %llu bytes: the rest is dropped",
				q->p.name, (unsigned long long)q->p.max_bytes);
		q->capped += n - left;
		bound_hit(BOUND_SERIAL_FILE_MAX);
		n = (size_t)left;
	}
	q->written += n;
	return n;
}

static void *writer_main(void *opaque)
{
	struct ring *q = opaque;
	uint8_t chunk[4096];

	seccomp_thread_enter(THREAD_UART);
	pthread_mutex_lock(&q->lock);
	while (!q->abandoned) {
		size_t n, w;

		if (!q->count) {
			if (q->stop)
				break;
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		n = allowed(q, q->count < sizeof(chunk) ? q->count :
							  sizeof(chunk));
		if (!n && !q->stop) {
			wait_tokens(q);
			continue;
		}
		if (!n) /* closing: the rest within the grace period */
			n = q->count < sizeof(chunk) ? q->count : sizeof(chunk);
		else
			q->tokens -= n;
		n = take(q, chunk, n);
		w = cap(q, n);
		notify_room(q);
		q->writing = true;
		pthread_mutex_unlock(&q->lock);
		write_all(q->p.fd, chunk, w);
		pthread_mutex_lock(&q->lock);
		q->writing = false;
		/* For outq_drain(). */
		pthread_cond_broadcast(&q->cond);
	}
	if (q->abandoned) {
		/* outq_close() gave up on us: the queue is ours to free. */
		pthread_mutex_unlock(&q->lock);
		free(q->buf);
		free(q);
		return NULL;
	}
	q->exited = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* A new ring with its writer; NULL (errno set) on failure. */
static struct ring *ring_create(const struct outq_params *p)
{
	struct ring *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;
	int err;

	if (!q || !p->size)
		goto fail;
	q->p = *p;
	q->buf = malloc(p->size);
	if (!q->buf)
		goto fail;
	q->tokens = p->rate;
	q->last_ns = now_ns();
	pthread_mutex_init(&q->lock, NULL);
	pthread_mutex_init(&q->cb_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	/*
	 * The writer takes no signals: SIGTERM and the like belong to the
	 * main loop (whatever the mask of the creating thread).
	 */
	err = thread_spawn(&q->writer, writer_main, q);
	if (!err)
		return q;
	errno = err;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->cb_lock);
	pthread_mutex_destroy(&q->lock);
fail:
	if (q)
		free(q->buf);
	free(q);
	if (!errno)
		errno = ENOMEM;
	return NULL;
}

struct outq *outq_create(const struct outq_params *p)
{
	struct outq *h = calloc(1, sizeof(*h));

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->room = p->room;
	h->opaque = p->opaque;
	h->room_mark = p->room_mark;
	if (p->share) {
		h->r = p->share->r;
	} else {
		h->r = ring_create(p);
		if (!h->r) {
			free(h);
			return NULL;
		}
	}
	pthread_mutex_lock(&h->r->cb_lock);
	pthread_mutex_lock(&h->r->lock);
	h->next = h->r->producers;
	h->r->producers = h;
	pthread_mutex_unlock(&h->r->lock);
	pthread_mutex_unlock(&h->r->cb_lock);
	return h;
}

size_t outq_put(struct outq *h, const void *buf, size_t len)
{
	struct ring *q = h->r;
	size_t n, tail;

	pthread_mutex_lock(&q->lock);
	n = q->p.size - q->count < len ? q->p.size - q->count : len;
	for (size_t done = 0; done < n; done += tail) {
		size_t at = (q->head + q->count) % q->p.size;

		tail = q->p.size - at < n - done ? q->p.size - at : n - done;
		memcpy(q->buf + at, (const uint8_t *)buf + done, tail);
		q->count += tail;
	}
	if (q->p.size - q->count < h->room_mark || n < len)
		h->low = true;
	if (n)
		pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t outq_space(struct outq *h)
{
	struct ring *q = h->r;
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->p.size - q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

uint64_t outq_capped(struct outq *h)
{
	struct ring *q = h->r;
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->capped;
	pthread_mutex_unlock(&q->lock);
	return n;
}

bool outq_drain(struct outq *h, unsigned int timeout_ms)
{
	struct ring *q = h->r;
	uint64_t t = now_ns() + (uint64_t)timeout_ms * 1000000;
	struct timespec ts = { .tv_sec = (time_t)(t / NS),
			       .tv_nsec = (long)(t % NS) };
	bool empty;

	pthread_mutex_lock(&q->lock);
	while ((q->count || q->writing) && !q->exited &&
	       pthread_cond_timedwait(&q->cond, &q->lock, &ts) != ETIMEDOUT)
		;
	empty = !q->count && !q->writing;
	pthread_mutex_unlock(&q->lock);
	return empty;
}

/* After the writer exited: frees everything. */
static void destroy(struct ring *q)
{
	pthread_join(q->writer, NULL);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->cb_lock);
	pthread_mutex_destroy(&q->lock);
	free(q->buf);
	free(q);
}

/* Takes @h off its ring; true if it was the last producer. */
static bool leave(struct outq *h)
{
	struct ring *q = h->r;
	bool last;

	pthread_mutex_lock(&q->cb_lock);
	pthread_mutex_lock(&q->lock);
	for (struct outq **pp = &q->producers; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	last = !q->producers;
	pthread_mutex_unlock(&q->lock);
	pthread_mutex_unlock(&q->cb_lock);
	free(h);
	return last;
}

void outq_close(struct outq *h, unsigned int grace_ms)
{
	uint64_t t = now_ns() + (uint64_t)grace_ms * 1000000;
	struct timespec ts = { .tv_sec = (time_t)(t / NS),
			       .tv_nsec = (long)(t % NS) };
	struct ring *q;

	if (!h)
		return;
	q = h->r;
	/* The ring goes on for the other producers; its bytes with it. */
	if (!leave(h))
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	while (!q->exited &&
	       pthread_cond_timedwait(&q->cond, &q->lock, &ts) != ETIMEDOUT)
		;
	if (q->exited) {
		pthread_mutex_unlock(&q->lock);
		destroy(q);
		return;
	}
	/* Stuck in write(2): it frees the ring if the write ever returns. */
	if (q->count) {
		pr_warn("%s: output does not drain: %zu bytes not written",
			q->p.name, q->count);
		bound_hit(BOUND_OUTPUT_TEARDOWN);
	}
	q->abandoned = true;
	pthread_detach(q->writer);
	/* The writer may free @q as soon as this is released. */
	pthread_mutex_unlock(&q->lock);
}
