// SPDX-License-Identifier: GPL-2.0-only
/*
 * source.c - the sending side of a live migration (migration.h): the
 * migration thread, its pre-copy rounds over the dirty log, the
 * switch-over (pause, last pages, state, wait for the destination) and
 * the fall-back (resume) on any failure, with progress for GET /migration.
 */
#include "migration.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../snapshot/snapshot.h"
#include "../util/log.h"
#include "../util/thread.h"
#include "../vmm/dirty.h"
#include "../vmm/iothread.h"
#include "../vmm/kvm.h"
#include "../vmm/vm.h"

#define CONNECT_TIMEOUT_MS 10000
/* The destination restores and starts the VM: generous on a busy host. */
#define DONE_TIMEOUT_MS 120000
/* Post-copy: how long the destination may take to read END. */
#define DRAIN_TIMEOUT_MS 10000

/* Where the switch-over's time goes: CLOCK_MONOTONIC ns, logged. */
enum mig_mark {
	MK_PAUSE, /* the VM to be paused */
	MK_PAUSED, /* its vCPUs and I/O thread parked */
	MK_SYNC, /* the last dirty log collected */
	MK_VERIFY, /* RAM checked against it (verify.c), if asked */
	MK_PAGES, /* the last pages sent (post-copy: their list) */
	MK_BUILT, /* the state taken */
	MK_STATE, /* the state sent */
	MK_DONE, /* the destination's DONE received */
	MK_COUNT
};
static const char *const mark_names[MK_COUNT] = { "pause",  "paused", "sync",
						  "verify", "pages",  "built",
						  "state",  "done" };

struct mig_source {
	struct vm *vm;
	char *config;
	struct mig_params p;
	struct mig_hooks h;
	pthread_t thread;
	pthread_mutex_t lock; /* prog */
	struct mig_progress prog;
	atomic_bool cancel;
	struct mig_conn conn;
	uint64_t *bitmap;
	uint64_t words;
	/*
	 * The first round: pages the host never populated, sent as zero
	 * pages unread (gmem_unpopulated()); NULL after it or if unknown.
	 */
	uint64_t *unpopulated;
	uint8_t *batch;
	bool we_enabled; /* dirty tracking was off before us */
	bool paused_by_us;
	bool committed; /* post-copy: the destination runs the VM */
	struct mig_disks *disks; /* block migration, if asked for */
	uint64_t t_committed; /* when it said so (ms) */
	uint64_t marks[MK_COUNT];
	struct mig_verify *verify; /* NULL: no check at the switch-over */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mark(struct mig_source *m, enum mig_mark k)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	m->marks[k] =
		(uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The marks as "pause=NS sync=+US ...": bench/migrate reads them. */
static void log_marks(const struct mig_source *m)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "pause=%llu",
			 (unsigned long long)m->marks[MK_PAUSE]);

	for (unsigned int k = 1; k < MK_COUNT && n < (int)sizeof(buf); k++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s=+%lluus",
			      mark_names[k],
			      m->marks[k] ? (unsigned long long)(m->marks[k] -
								 m->marks[0]) /
						    1000 :
					    0ULL);
	pr_info("migration marks (CLOCK_MONOTONIC ns, then us after the pause): %s",
		buf);
}

static const char *const state_names[] = { "none", "active", "completed",
					   "failed", "cancelled" };
static const char *const mode_names[] = { "precopy", "postcopy", "auto" };

const char *mig_state_name(enum mig_state s)
{
	return state_names[s];
}

const char *mig_mode_name(enum mig_mode m)
{
	return mode_names[m];
}

int mig_mode_parse(const char *s, enum mig_mode *m)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = (enum mig_mode)i;
			return 0;
		}
	}
	return -1;
}

/* libc's memcmp() is vectorised: about 4x a loop over 64-bit words. */
static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[MIG_PAGE];

	return !memcmp(p, zero, MIG_PAGE);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Sends the @n pages listed in @idx as one PAGES record. */
static int send_batch(struct mig_source *m, const uint64_t *idx, unsigned int n,
		      char *err)
{
	const uint8_t *ram = m->vm->mem.base;
	uint8_t *p = m->batch;
	uint8_t *data = p + 8 + 8ULL * n;
	uint64_t zero = 0, len;
	uint32_t count = n;

	memcpy(p, &count, 4);
	memset(p + 4, 0, 4);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *page = ram + idx[i] * MIG_PAGE;

		if ((m->unpopulated &&
		     m->unpopulated[idx[i] / 64] & (1ULL << (idx[i] % 64))) ||
		    page_is_zero(page)) {
			mig_verify_sent(m->verify, idx[i], NULL);
			put64(p + 8 + 8ULL * i, idx[i] | MIG_PAGE_ZERO);
			zero++;
			continue;
		}
		mig_verify_sent(m->verify, idx[i], page);
		put64(p + 8 + 8ULL * i, idx[i]);
		memcpy(data, page, MIG_PAGE);
		data += MIG_PAGE;
	}
	len = (uint64_t)(data - p);
	if (mig_send(&m->conn, MIG_PAGES, p, len, err, MIG_ERR_MAX))
		return -1;
	pthread_mutex_lock(&m->lock);
	m->prog.pages_sent += n;
	m->prog.zero_pages += zero;
	m->prog.bytes_sent = m->conn.bytes_out;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* The destination's word on a record it sent: DONE is 0. */
static int answer(uint32_t type, const uint8_t *reply, size_t len, char *err)
{
	if (type == MIG_DONE)
		return 0;
	snprintf(err, MIG_ERR_MAX, "the destination failed: %.*s",
		 type == MIG_ERROR ? (int)(len > 400 ? 400 : len) : 0,
		 type == MIG_ERROR && reply ? (const char *)reply : "");
	return -1;
}

/*
 * Mid-round, the destination says nothing unless it failed: an ERROR
 * waiting to be read ends the round with its reason (pre-copy only:
 * in post-copy it sends page requests). 1 if it failed, with @err.
 */
static int peer_failed(struct mig_source *m, char *err)
{
	uint8_t *rec;
	uint32_t type;
	size_t len;

	if (m->committed || !mig_readable(&m->conn, 0))
		return 0;
	if (mig_recv(&m->conn, &type, &rec, &len, 1000, err, MIG_ERR_MAX))
		return 1;
	if (type == MIG_ERROR)
		answer(type, rec, len, err);
	else
		snprintf(err, MIG_ERR_MAX,
			 "the destination sent record type %u mid-round", type);
	free(rec);
	return 1;
}

/* Sends every page set in the bitmap, clearing it. */
static int send_dirty(struct mig_source *m, char *err)
{
	uint64_t idx[MIG_BATCH_PAGES];
	unsigned int n = 0;
	uint64_t pages = m->vm->mem.ram_size / MIG_PAGE;

	for (uint64_t w = 0; w < m->words; w++) {
		uint64_t word = m->bitmap[w];

		m->bitmap[w] = 0;
		while (word) {
			uint64_t pg = w * 64 + (uint64_t)__builtin_ctzll(word);

			word &= word - 1;
			if (pg >= pages)
				continue;
			idx[n++] = pg;
			if (n < MIG_BATCH_PAGES)
				continue;
			if (atomic_load(&m->cancel)) {
				snprintf(err, MIG_ERR_MAX, "cancelled");
				return -1;
			}
			if (send_batch(m, idx, n, err) || peer_failed(m, err))
				return -1;
			n = 0;
		}
	}
	return n ? send_batch(m, idx, n, err) : 0;
}

static uint64_t count_bits(const uint64_t *b, uint64_t words)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < words; w++)
		n += (uint64_t)__builtin_popcountll(b[w]);
	return n;
}

/*
 * The pages dirtied since the last collection, with the I/O thread held
 * still: what a device copies into guest memory in a turn is complete
 * before its pages are collected.
 */
static int collect(struct mig_source *m)
{
	int r;

	iothread_pause(m->vm->io);
	r = dirty_log_collect(m->vm, m->bitmap);
	iothread_resume(m->vm->io);
	return r;
}

/*
 * Waits until the destination applied every record sent so far (they
 * may sit in socket buffers, or its copying may lag the link), then
 * collects what the guest dirtied meanwhile: the pause must not wait for
 * a backlog the estimate does not see. The pages dirty, or -1 with @err.
 */
static int64_t settle(struct mig_source *m, char *err)
{
	uint8_t *reply = NULL;
	uint32_t type;
	size_t len;

	if (mig_send(&m->conn, MIG_SYNC, NULL, 0, err, MIG_ERR_MAX) ||
	    mig_recv(&m->conn, &type, &reply, &len, DONE_TIMEOUT_MS, err,
		     MIG_ERR_MAX))
		return -1;
	if (type != MIG_SYNC) {
		if (type == MIG_ERROR)
			answer(type, reply, len, err);
		else
			snprintf(
				err, MIG_ERR_MAX,
				"the destination answered SYNC with record type %u",
				type);
		free(reply);
		return -1;
	}
	free(reply);
	if (collect(m)) {
		snprintf(err, MIG_ERR_MAX, "cannot read the dirty log");
		return -1;
	}
	return (int64_t)count_bits(m->bitmap, m->words);
}

/*
 * Progress after pre-copy round @round (begun at @t0 ms, @b0 bytes out)
 * left @n pages dirty; the round's throughput in bytes per second.
 */
static uint64_t round_done(struct mig_source *m, unsigned int round, uint64_t n,
			   uint64_t disk, uint64_t t0, uint64_t b0)
{
	uint64_t dt = now_ms() - t0 + 1;
	uint64_t rate = (m->conn.bytes_out - b0) * 1000 / dt + 1;
	uint64_t expect = (n * MIG_PAGE + disk) * 1000 / rate;

	pthread_mutex_lock(&m->lock);
	m->prog.disk_bytes_sent = mig_disks_bytes_sent(m->disks);
	m->prog.disk_dirty_bytes = disk;
	m->prog.rounds = round;
	m->prog.dirty_pages = n;
	m->prog.dirty_rate = n * 1000 / dt;
	m->prog.expected_downtime_ms = expect;
	pthread_mutex_unlock(&m->lock);
	pr_debug(
		"migration: round %u: %llu pages dirty, %llu ms expected downtime",
		round, (unsigned long long)n, (unsigned long long)expect);
	return rate;
}

/*
 * Within the budget, one more round is still worth it while the dirty
 * pages shrink by a quarter a round and would take 2 ms or more: the
 * pause is then shorter than the budget allows (an idle guest's is not
 * longer for it, a busy guest's converges to what it dirties in a round).
 */
static bool shrinking(uint64_t n, uint64_t prev, uint64_t expect_ms)
{
	return expect_ms >= 2 && n < prev / 4 * 3;
}

/*
 * Before the first round: the pages no one ever wrote, which need no
 * reading (an idle guest's RAM is mostly those; reading them costs a page
 * fault and a zero check each). Dirty tracking is on already, so a page
 * written after the pagemap was read is dirty and goes again later.
 */
static void first_round_hint(struct mig_source *m)
{
	uint64_t n = 0;

	if (m->vm->uffd >= 0 || !(m->unpopulated = calloc(m->words, 8)))
		return;
	if (gmem_unpopulated(&m->vm->mem, m->unpopulated)) {
		free(m->unpopulated);
		m->unpopulated = NULL;
		return;
	}
	n = count_bits(m->unpopulated, m->words);
	pr_debug("migration: %llu of %llu pages never populated",
		 (unsigned long long)n,
		 (unsigned long long)(m->vm->mem.ram_size / MIG_PAGE));
}

/*
 * Pre-copy rounds until what is dirty fits the downtime budget: 0 then
 * (stop and copy the rest), 1 to go on post-copy (mode postcopy after the
 * first round; auto when the dirty pages stop shrinking), -1 with @err.
 */
static int precopy(struct mig_source *m, char *err)
{
	uint64_t ram_pages = m->vm->mem.ram_size / MIG_PAGE;
	uint64_t best = UINT64_MAX, prev = UINT64_MAX;
	unsigned int stale = 0;

	for (uint64_t pg = 0; pg < ram_pages; pg++)
		m->bitmap[pg / 64] |= 1ULL << (pg % 64);
	first_round_hint(m);
	for (unsigned int round = 1;; round++) {
		uint64_t t0 = now_ms(), b0 = m->conn.bytes_out, n, rate, expect;
		uint64_t disk;
		int r, leave = -1; /* 0: stop and copy, 1: post-copy */
		int64_t left;

		r = send_dirty(m, err);
		free(m->unpopulated);
		m->unpopulated = NULL;
		if (r || mig_disks_send(m->disks, &m->conn, &m->cancel, err))
			return -1;
		if (collect(m)) {
			snprintf(err, MIG_ERR_MAX, "cannot read the dirty log");
			return -1;
		}
		disk = mig_disks_collect(m->disks);
		n = count_bits(m->bitmap, m->words);
		rate = round_done(m, round, n, disk, t0, b0);
		stale = n < best ? 0 : stale + 1;
		best = n < best ? n : best;
		if (m->p.mode == MIG_MODE_POSTCOPY ||
		    /* Three rounds without progress: it will not converge. */
		    (m->p.mode == MIG_MODE_AUTO && stale >= 3))
			leave = 1;
		else if (round >= MIG_MAX_ROUNDS ||
			 ((expect = (n * MIG_PAGE + disk) * 1000 / rate) <=
				  m->p.downtime_ms &&
			  !shrinking(n, prev, expect)))
			leave = 0;
		prev = n;
		if (leave >= 0) {
			left = settle(m, err);
			if (left < 0)
				return -1;
			/* The rate end to end, the wait for the backlog in. */
			rate = (m->conn.bytes_out - b0) * 1000 /
				       (now_ms() - t0 + 1) +
			       1;
			if (leave || round >= MIG_MAX_ROUNDS ||
			    ((uint64_t)left * MIG_PAGE + disk) * 1000 / rate <=
				    m->p.downtime_ms)
				return leave;
		}
		if (atomic_load(&m->cancel)) {
			snprintf(err, MIG_ERR_MAX, "cancelled");
			return -1;
		}
	}
}

/* Sends the state record: u32 flags, then the VM's state file. */
static int send_state(struct mig_source *m, uint32_t flags, char *err)
{
	struct state_writer file, st;
	int r;

	state_writer_init(&file);
	state_writer_init(&st);
	state_put_u32(&file, flags);
	r = snapshot_state(m->vm, m->config, false, &st);
	if (!r)
		state_put_bytes(&file, st.data, st.len);
	mark(m, MK_BUILT);
	state_writer_free(&st);
	if (r || file.failed) {
		snprintf(err, MIG_ERR_MAX, "cannot take the VM state");
		state_writer_free(&file);
		return -1;
	}
	r = mig_send(&m->conn, MIG_STATE, file.data, file.len, err,
		     MIG_ERR_MAX);
	state_writer_free(&file);
	mark(m, MK_STATE);
	return r;
}

/* Post-copy: sends the pages the destination asks for in @req. */
static int serve_request(struct mig_source *m, const uint8_t *req, size_t len,
			 char *err)
{
	uint64_t ram_pages = m->vm->mem.ram_size / MIG_PAGE;
	uint64_t idx[MIG_BATCH_PAGES];
	unsigned int n = 0;
	uint32_t count;

	if (len < 8 || (memcpy(&count, req, 4), count > MIG_BATCH_PAGES) ||
	    len != 8 + 8ULL * count) {
		snprintf(err, MIG_ERR_MAX, "corrupt page request");
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t pg;

		memcpy(&pg, req + 8 + 8ULL * i, 8);
		if (pg >= ram_pages ||
		    !(m->bitmap[pg / 64] & (1ULL << (pg % 64))))
			continue; /* sent already: on its way */
		m->bitmap[pg / 64] &= ~(1ULL << (pg % 64));
		idx[n++] = pg;
	}
	return n ? send_batch(m, idx, n, err) : 0;
}

/* Post-copy: the next batch of pages nobody asked for yet. */
static int push_some(struct mig_source *m, uint64_t *cursor, char *err)
{
	uint64_t ram_pages = m->vm->mem.ram_size / MIG_PAGE;
	uint64_t idx[MIG_BATCH_PAGES];
	unsigned int n = 0;

	for (; *cursor < ram_pages && n < MIG_BATCH_PAGES; ++*cursor) {
		uint64_t pg = *cursor;

		if (m->bitmap[pg / 64] & (1ULL << (pg % 64))) {
			m->bitmap[pg / 64] &= ~(1ULL << (pg % 64));
			idx[n++] = pg;
		}
	}
	return n ? send_batch(m, idx, n, err) : 0;
}

/*
 * After END: the destination closes its side once it read END. Until
 * then its requests still come; closing with them unread would reset the
 * connection, and a reset drops what the destination has not read yet,
 * END included (its guest would wait for pages forever).
 */
static void drain(struct mig_source *m)
{
	char err[MIG_ERR_MAX];
	uint8_t *rec;
	uint32_t type;
	size_t len;

	shutdown(m->conn.fd, SHUT_WR);
	while (!mig_recv(&m->conn, &type, &rec, &len, DRAIN_TIMEOUT_MS, err,
			 sizeof(err)))
		free(rec);
}

/*
 * Post-copy after the state went: pages asked for first, the others in
 * the background, until all are sent; the destination's DONE says the VM
 * runs there (from then on the source cannot take it back).
 */
static int postcopy_serve(struct mig_source *m, char *err)
{
	uint64_t ram_pages = m->vm->mem.ram_size / MIG_PAGE, cursor = 0;
	uint64_t deadline = now_ms() + DONE_TIMEOUT_MS;

	while (cursor < ram_pages || !m->committed) {
		if (!m->committed && now_ms() > deadline) {
			snprintf(err, MIG_ERR_MAX,
				 "the destination did not start the VM");
			return -1;
		}
		uint8_t *rec;
		uint32_t type;
		size_t len;
		int r;

		if (!mig_readable(&m->conn, cursor < ram_pages ? 0 : 1000)) {
			if (cursor < ram_pages && push_some(m, &cursor, err))
				return -1;
			continue;
		}
		if (mig_recv(&m->conn, &type, &rec, &len, 60000, err,
			     MIG_ERR_MAX))
			return -1;
		if (type == MIG_REQ)
			r = serve_request(m, rec, len, err);
		else if (!(r = answer(type, rec, len, err))) {
			m->committed = true;
			m->t_committed = now_ms();
			mark(m, MK_DONE);
		}
		free(rec);
		if (r)
			return -1;
	}
	pthread_mutex_lock(&m->lock);
	m->prog.dirty_pages = 0;
	pthread_mutex_unlock(&m->lock);
	if (mig_send(&m->conn, MIG_END, NULL, 0, err, MIG_ERR_MAX))
		return -1;
	drain(m);
	return 0;
}

/*
 * Pause, then either the last pages and the state and the destination's
 * answer (pre-copy), or the state, the list of pages still to come and
 * serving them (@postcopy).
 */
static int switch_over(struct mig_source *m, bool postcopy, char *err)
{
	uint8_t *reply = NULL;
	uint32_t type;
	size_t len;
	int r;

	if (!vm_paused(m->vm)) {
		if (m->h.pause(m->h.opaque)) {
			snprintf(err, MIG_ERR_MAX, "cannot pause the VM");
			return -1;
		}
		m->paused_by_us = true;
	}
	mark(m, MK_PAUSED);
	/* Paused: the I/O thread is parked and block I/O drained. */
	if (dirty_log_collect(m->vm, m->bitmap)) {
		snprintf(err, MIG_ERR_MAX, "cannot read the dirty log");
		return -1;
	}
	/* The disks are complete before the state (post-copy too). */
	mig_disks_collect(m->disks);
	if (mig_disks_send(m->disks, &m->conn, &m->cancel, err))
		return -1;
	pthread_mutex_lock(&m->lock);
	m->prog.disk_bytes_sent = mig_disks_bytes_sent(m->disks);
	m->prog.disk_dirty_bytes = 0;
	pthread_mutex_unlock(&m->lock);
	mark(m, MK_SYNC);
	if (m->verify) {
		int64_t n = mig_verify_check(m->verify, &m->vm->mem, m->bitmap);

		pthread_mutex_lock(&m->lock);
		m->prog.unreported_pages = (uint64_t)n;
		pthread_mutex_unlock(&m->lock);
		if (n)
			pr_warn("migration: %lld pages changed that KVM's dirty log did not report: sent with the last pages",
				(long long)n);
		mark(m, MK_VERIFY);
	}
	if (postcopy && !count_bits(m->bitmap, m->words)) {
		/* Nothing left to pull: no userfaultfd, the pre-copy end. */
		postcopy = false;
		pthread_mutex_lock(&m->lock);
		m->prog.postcopy = false;
		pthread_mutex_unlock(&m->lock);
	}
	if (!postcopy) {
		if (send_dirty(m, err))
			return -1;
		mark(m, MK_PAGES);
		if (send_state(m, m->paused_by_us ? MIG_STATE_RUN : 0, err) ||
		    mig_recv(&m->conn, &type, &reply, &len, DONE_TIMEOUT_MS,
			     err, MIG_ERR_MAX))
			return -1;
		mark(m, MK_DONE);
		r = answer(type, reply, len, err);
		free(reply);
		return r;
	}
	if (mig_send(&m->conn, MIG_DISCARD, m->bitmap, m->words * 8, err,
		     MIG_ERR_MAX))
		return -1;
	mark(m, MK_PAGES);
	if (send_state(m,
		       MIG_STATE_POSTCOPY |
			       (m->paused_by_us ? MIG_STATE_RUN : 0),
		       err))
		return -1;
	return postcopy_serve(m, err);
}

/* The prelude: the stream's version, then the header and configuration. */
static int send_hello(struct mig_source *m, char *err)
{
	struct state_writer file, st;
	uint8_t head[MIG_HELLO_HEAD];
	int r;

	state_writer_init(&file);
	state_writer_init(&st);
	mig_hello_head(head);
	state_put_bytes(&file, head, sizeof(head));
	r = snapshot_state(m->vm, m->config, true, &st);
	if (!r)
		state_put_bytes(&file, st.data, st.len);
	state_writer_free(&st);
	if (r || file.failed) {
		snprintf(err, MIG_ERR_MAX, "cannot describe the VM");
		r = -1;
	} else {
		r = mig_send(&m->conn, MIG_HELLO, file.data, file.len, err,
			     MIG_ERR_MAX);
	}
	state_writer_free(&file);
	return r;
}

/*
 * The destination's answer to the prelude, before any page moves: its
 * HELLO (the VM is built there) or why it refused (its version, its CPU).
 */
static int hello_answer(struct mig_source *m, char *err)
{
	uint8_t *reply = NULL;
	uint32_t type;
	size_t len;
	int r = -1;

	if (mig_recv(&m->conn, &type, &reply, &len, DONE_TIMEOUT_MS, err,
		     MIG_ERR_MAX))
		return -1;
	if (type == MIG_HELLO)
		r = mig_hello_check(&m->conn, reply, len, "the destination",
				    err, MIG_ERR_MAX);
	else if (type == MIG_ERROR)
		snprintf(err, MIG_ERR_MAX,
			 "the destination refused the VM: %.*s",
			 (int)(len > 400 ? 400 : len),
			 reply ? (const char *)reply : "");
	else
		snprintf(
			err, MIG_ERR_MAX,
			"the destination answered the prelude with record type %u",
			type);
	free(reply);
	return r;
}

/* Everything but the thread: 0, or -1 with @err. */
static int migrate(struct mig_source *m, uint64_t *t_pause, char *err)
{
	struct mig_addr a;
	int fd, r;

	/* A disk that cannot be copied refuses before anything moves. */
	if (m->p.with_disks && !(m->disks = mig_disks_open(m->vm, err)))
		return -1;
	if (mig_addr_parse(m->p.url, &a, err, MIG_ERR_MAX))
		return -1;
	fd = mig_connect(&a, CONNECT_TIMEOUT_MS, err, MIG_ERR_MAX);
	if (fd < 0)
		return -1;
	mig_conn_init(&m->conn, fd);
	m->conn.rate = m->p.bandwidth;
	if (m->p.compress && mig_conn_compress(&m->conn, err, MIG_ERR_MAX))
		return -1;
	if (!dirty_log_enabled(m->vm)) {
		if (dirty_log_enable(m->vm)) {
			snprintf(err, MIG_ERR_MAX, "cannot track dirty pages");
			return -1;
		}
		m->we_enabled = true;
	}
	/* With a token, each side proves it holds it before anything moves. */
	if (m->p.token.set &&
	    mig_auth_source(&m->conn, &m->p.token, err, MIG_ERR_MAX))
		return -1;
	if (send_hello(m, err) ||
	    (m->disks && mig_disks_hello(m->disks, &m->conn, err)) ||
	    hello_answer(m, err))
		return -1;
	r = precopy(m, err);
	if (r < 0)
		return -1;
	*t_pause = now_ms();
	mark(m, MK_PAUSE);
	pthread_mutex_lock(&m->lock);
	m->prog.postcopy = r == 1;
	pthread_mutex_unlock(&m->lock);
	return switch_over(m, r == 1, err);
}

/*
 * After a failure on the connection: the destination may have said why
 * before it closed, in an ERROR record still unread here (it refused a
 * disk while pages were on their way, and the source then only saw its
 * end of the connection: "Broken pipe"). Its reason replaces @err.
 */
static void peer_reason(struct mig_source *m, char *err)
{
	char ignored[MIG_ERR_MAX];
	uint8_t *rec;
	uint32_t type;
	size_t len;

	/* Records before it (none in pre-copy) are skipped, a few at most. */
	for (int i = 0; i < 64 && mig_readable(&m->conn, 0); i++) {
		if (mig_recv(&m->conn, &type, &rec, &len, 1000, ignored,
			     sizeof(ignored)))
			return;
		if (type == MIG_ERROR)
			answer(type, rec, len, err);
		free(rec);
		if (type == MIG_ERROR)
			return;
	}
}

/*
 * A failure before the destination runs the VM: the source goes on as it
 * was. After that (post-copy), the VM is lost with the connection: the
 * source stays paused.
 */
static void fall_back(struct mig_source *m, const char *err)
{
	if (m->committed) {
		pr_err("post-copy migration to %s: %s after the switch-over: the VM, running on the destination without all of its memory, is lost",
		       m->p.url, err);
		return;
	}
	if (m->conn.fd >= 0)
		mig_send(&m->conn, MIG_ERROR, err, strlen(err) + 1,
			 (char[MIG_ERR_MAX]){ 0 }, MIG_ERR_MAX);
	if (m->we_enabled) {
		dirty_log_disable(m->vm);
	} else {
		/* Someone else tracks too: every page counts as dirty. */
		memset(m->bitmap, 0xff, m->words * 8);
		dirty_log_remark(m->vm, m->bitmap);
	}
	if (m->paused_by_us)
		m->h.resume(m->h.opaque);
}

static void *source_main(void *opaque)
{
	struct mig_source *m = opaque;
	char err[MIG_ERR_MAX] = "";
	uint64_t t0 = now_ms(), t_pause = 0;
	int r = migrate(m, &t_pause, err);
	uint64_t t1 = now_ms();

	if (r && m->conn.fd >= 0 && !m->committed && !atomic_load(&m->cancel))
		peer_reason(m, err);
	if (r)
		fall_back(m, err);
	else if (m->we_enabled)
		dirty_log_disable(m->vm);
	mig_disks_close(m->disks);
	m->disks = NULL;
	mig_conn_close(&m->conn);
	pthread_mutex_lock(&m->lock);
	m->prog.total_ms = t1 - t0;
	m->prog.downtime_ms = !t_pause	   ? 0 :
			      m->committed ? m->t_committed - t_pause :
					     t1 - t_pause;
	m->prog.bytes_sent = m->conn.bytes_out;
	if (r) {
		m->prog.state = atomic_load(&m->cancel) ? MIG_CANCELLED :
							  MIG_FAILED;
		snprintf(m->prog.error, sizeof(m->prog.error), "%s", err);
	} else {
		m->prog.state = MIG_COMPLETED;
	}
	pthread_mutex_unlock(&m->lock);
	if (r) {
		pr_warn("migration to %s: %s; the VM runs on here", m->p.url,
			err);
		return NULL;
	}
	log_marks(m);
	/* The same downtime as GET /migration's (post-copy: to the commit). */
	pr_info("migration to %s: done in %llu ms, downtime %llu ms, %llu rounds%s",
		m->p.url, (unsigned long long)(t1 - t0),
		(unsigned long long)m->prog.downtime_ms,
		(unsigned long long)m->prog.rounds,
		m->committed ? " then post-copy" : "");
	m->h.completed(m->h.opaque);
	return NULL;
}

struct mig_source *mig_source_start(struct vm *vm, const char *config_json,
				    const struct mig_params *p,
				    const struct mig_hooks *hooks, char *err,
				    size_t errlen)
{
	struct mig_source *m = calloc(1, sizeof(*m));
	int e;

	if (!m)
		goto oom;
	m->vm = vm;
	m->p = *p;
	m->h = *hooks;
	m->conn.fd = -1;
	m->words = dirty_words(vm->mem.ram_size);
	m->config = strdup(config_json);
	m->bitmap = calloc(m->words, 8);
	m->batch = malloc(8 + MIG_BATCH_PAGES * (8 + MIG_PAGE));
	if (!m->config || !m->bitmap || !m->batch)
		goto oom;
	pthread_mutex_init(&m->lock, NULL);
	m->prog.state = MIG_ACTIVE;
	m->prog.mode = p->mode;
	m->prog.ram_pages = vm->mem.ram_size / MIG_PAGE;
	m->prog.dirty_log = dirty_log_method(vm);
	if (p->verify == MIG_VERIFY_ON ||
	    (p->verify == MIG_VERIFY_AUTO && vm->kvm && vm->kvm->pvm)) {
		m->verify = mig_verify_new(m->prog.ram_pages);
		if (!m->verify)
			goto oom;
		m->prog.verify = true;
	}
	e = thread_spawn(&m->thread, source_main, m);
	if (!e)
		return m;
	pthread_mutex_destroy(&m->lock);
	snprintf(err, errlen, "cannot start the migration thread: %s",
		 strerror(e));
	goto fail;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (m) {
		free(m->config);
		free(m->bitmap);
		free(m->batch);
		mig_verify_free(m->verify);
	}
	free(m);
	return NULL;
}

void mig_source_progress(struct mig_source *m, struct mig_progress *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->prog;
	if (out->state == MIG_ACTIVE)
		out->bytes_sent = m->prog.bytes_sent;
	pthread_mutex_unlock(&m->lock);
}

void mig_source_cancel(struct mig_source *m)
{
	atomic_store(&m->cancel, true);
}

void mig_source_free(struct mig_source *m)
{
	if (!m)
		return;
	mig_source_cancel(m);
	pthread_join(m->thread, NULL);
	pthread_mutex_destroy(&m->lock);
	free(m->config);
	free(m->bitmap);
	free(m->unpopulated);
	free(m->batch);
	mig_verify_free(m->verify);
	explicit_bzero(&m->p.token, sizeof(m->p.token));
	free(m);
}
