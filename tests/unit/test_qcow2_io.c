// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_qcow2_io.c - the qcow2 block back-end and the engine's write order:
 * through block.h, allocating writes (the engine), in-place writes and
 * reads of data clusters (io_uring), vectored requests across clusters,
 * discard and flush complete with the right data and results, and leave
 * an image `qcow2_check` finds clean; the engine's trace of its file writes
 * shows the crash-safe order (docs/qcow2.md): refcounts and data synced
 * before an L2 table is written, L2 tables synced before the L1 table,
 * a freed cluster's refcount dropped only after the cleared entry is
 * synced, and a flush ending in an fdatasync; the same order for the
 * back-end's allocating writes through io_uring, with L2 tables evicted
 * from the cache between them (512-byte clusters); a flush with metadata
 * to write, whose fdatasyncs go on the ring, in that order, while the
 * requests after it wait but for reads of allocated data; a failed
 * fdatasync makes every later one fail; a lookup in peek mode
 * (qcow2_set_peek()) that would evict a dirty table fails and writes
 * nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "app/img.h"
#include "block/block.h"
#include "block/qcow2_blk.h"
#include "block/qcow2_int.h"

#define CS 65536

static void make_image(char *path)
{
	char *argv[] = { "img", "create", path, "8M", NULL };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cmd_img(4, argv), 0);
}

struct fix {
	unsigned int done;
	int last_res;
	struct block_req *order[8]; /* the first requests done, in order */
};

static void on_done(void *opaque, struct block_req *r, int res)
{
	struct fix *f = opaque;

	if (f->done < 8)
		f->order[f->done] = r;
	f->done++;
	f->last_res = res;
}

static int run(struct block *b, struct fix *f, struct block_req *r)
{
	unsigned int before = f->done;

	assert_int_equal(block_submit(b, r), 0);
	block_commit(b);
	block_drain(b);
	assert_int_equal(f->done, before + 1);
	assert_int_equal(b->inflight, 0);
	return f->last_res;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

/* Writes @n bytes at @off in two buffers, reads them back in three. */
static void write_read(struct block *b, struct fix *f, uint64_t off, size_t n,
		       unsigned int seed)
{
	static uint8_t w[3 * CS], back[3 * CS];
	size_t h = n / 3, t = n / 4;
	struct iovec wv[2] = { { w, h }, { w + h, n - h } };
	struct iovec rv[3] = { { back, t },
			       { back + t, h },
			       { back + t + h, n - t - h } };
	struct block_req wr = { .op = BLOCK_WRITE,
				.offset = off,
				.len = n,
				.iov = wv,
				.nr_iov = 2 };
	struct block_req rd = { .op = BLOCK_READ,
				.offset = off,
				.len = n,
				.iov = rv,
				.nr_iov = 3 };

	fill(w, n, seed);
	memset(back, 0, n);
	assert_int_equal(run(b, f, &wr), (int)n);
	assert_int_equal(run(b, f, &rd), (int)n);
	assert_memory_equal(w, back, n);
}

static void test_backend(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2io-XXXXXX", err[512];
	struct fix f = { 0 };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct block_params p = { .path = path,
				  .depth = 8,
				  .event_fd = efd,
				  .done = on_done,
				  .opaque = &f };
	struct block *b;
	struct qcow2 *q;
	struct qcow2_check r;
	static uint8_t z[CS];
	struct iovec zv = { z, sizeof(z) };
	struct block_req rd = { .op = BLOCK_READ,
				.offset = CS,
				.len = CS,
				.iov = &zv,
				.nr_iov = 1 };

	(void)state;
	make_image(path);
	b = block_open(&p, err, sizeof(err));
	assert_non_null(b);
	assert_string_equal(b->ops->name, "qcow2");
	/* Allocating (engine), then in place (io_uring), across clusters. */
	write_read(b, &f, 1000, 2 * CS + 5, 1);
	write_read(b, &f, 1000, 2 * CS + 5, 2);
	write_read(b, &f, CS - 512, 1024, 3);
	/* Discard the second cluster: it reads as zeroes. */
	assert_int_equal(run(b, &f,
			     &(struct block_req){ .op = BLOCK_DISCARD,
						  .offset = CS,
						  .len = CS }),
			 0);
	memset(z, 0xff, sizeof(z));
	assert_int_equal(run(b, &f, &rd), CS);
	for (size_t i = 0; i < sizeof(z); i++)
		assert_int_equal(z[i], 0);
	assert_int_equal(run(b, &f, &(struct block_req){ .op = BLOCK_FLUSH }),
			 0);
	write_read(b, &f, 3 * CS, CS, 4); /* may reuse the freed cluster */
	/* Freed without a flush: close writes the metadata, then frees it. */
	assert_int_equal(run(b, &f,
			     &(struct block_req){ .op = BLOCK_DISCARD,
						  .offset = 2 * CS,
						  .len = CS }),
			 0);
	block_close(b);
	q = qcow2_open(path, -1, true, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(qcow2_check(q, &r, true), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
	assert_int_equal(r.allocated, 2);
	qcow2_close(q);
	close(efd);
	unlink(path);
}

#define MAX_EV 65536

struct trace {
	unsigned int n;
	enum qcow2_wkind k[MAX_EV];
	uint64_t off[MAX_EV];
};

static void on_write(void *opaque, enum qcow2_wkind k, uint64_t off,
		     uint64_t len)
{
	struct trace *t = opaque;

	(void)len;
	assert_true(t->n < MAX_EV);
	t->k[t->n] = k;
	t->off[t->n++] = off;
}

/* Every write of a kind in @deps before event @i is synced before it. */
static void synced_before(const struct trace *t, unsigned int i,
			  unsigned int deps)
{
	bool unsynced = false;

	for (unsigned int j = 0; j < i; j++) {
		if (t->k[j] == QCOW2_W_SYNC)
			unsynced = false;
		else if (deps & (1U << t->k[j]))
			unsynced = true;
	}
	if (unsynced)
		for (unsigned int j = 0; j <= i; j++)
			print_message("%u %d %lu\n", j, t->k[j],
				      (unsigned long)t->off[j]);
	assert_false(unsynced);
}

static void check_order(const struct trace *t)
{
	unsigned int l2_deps = 1U << QCOW2_W_REFCOUNT | 1U << QCOW2_W_DATA;

	for (unsigned int i = 0; i < t->n; i++) {
		if (t->k[i] == QCOW2_W_L2)
			synced_before(t, i, l2_deps);
		if (t->k[i] == QCOW2_W_L1)
			synced_before(t, i, l2_deps | 1U << QCOW2_W_L2);
	}
	assert_true(t->n > 0);
	assert_int_equal(t->k[t->n - 1], QCOW2_W_SYNC);
}

/* The index of the first event of kind @k from @i on, or t->n. */
static unsigned int next(const struct trace *t, unsigned int i,
			 enum qcow2_wkind k)
{
	while (i < t->n && t->k[i] != k)
		i++;
	return i;
}

static void test_write_order(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2ord-XXXXXX", err[512];
	static uint8_t buf[2 * CS];
	static struct trace t;
	struct qcow2 *q;
	unsigned int l2, sync, rc;

	(void)state;
	make_image(path);
	q = qcow2_open(path, -1, false, err, sizeof(err));
	assert_non_null(q);
	qcow2_set_hooks(q, on_write, NULL, &t);
	fill(buf, sizeof(buf), 5);
	/* A new L2 table and two data clusters; nothing points to them yet. */
	assert_int_equal(qcow2_write(q, 0, buf, sizeof(buf)), 0);
	assert_int_equal(next(&t, 0, QCOW2_W_L1), t.n);
	assert_int_equal(qcow2_flush(q), 0);
	check_order(&t);
	assert_true(next(&t, 0, QCOW2_W_L1) < t.n);
	/* Discard a cluster: its entry is cleared, then its refcount drops. */
	t.n = 0;
	assert_int_equal(qcow2_zero(q, CS, CS, true), 0);
	assert_int_equal(t.n, 0); /* all in the caches */
	assert_int_equal(qcow2_flush(q), 0);
	check_order(&t);
	l2 = next(&t, 0, QCOW2_W_L2);
	sync = next(&t, l2, QCOW2_W_SYNC);
	rc = next(&t, sync, QCOW2_W_REFCOUNT);
	assert_true(l2 < sync && sync < rc && rc < t.n);
	assert_int_equal(next(&t, 0, QCOW2_W_REFCOUNT), rc);
	/* An in-place rewrite is data only; a flush then is one fdatasync. */
	t.n = 0;
	assert_int_equal(qcow2_write(q, 0, buf, 512), 0);
	assert_int_equal(qcow2_flush(q), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.k[0], QCOW2_W_DATA);
	assert_int_equal(t.k[1], QCOW2_W_SYNC);
	qcow2_close(q);
	unlink(path);
}

/* Events of kind @k in @t. */
static unsigned int count(const struct trace *t, enum qcow2_wkind k)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->n; i++)
		n += t->k[i] == k;
	return n;
}

/* The trace, and the back-end for its drain hook (they share @opaque). */
struct traced {
	struct trace t; /* first: on_write() takes it */
	struct qcow2_blk *s;
};

static void drain(void *opaque)
{
	qb_drain_ring(((struct traced *)opaque)->s);
}

static void test_async_order(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2ao-XXXXXX", cmd[128], err[512];
	static uint8_t buf[100][700];
	static struct iovec v[100];
	static struct block_req r[100];
	static struct traced tr;
	struct trace *t = &tr.t;
	struct fix f = { 0 };
	struct block_params p = { .path = path,
				  .depth = 100,
				  .event_fd = -1,
				  .done = on_done,
				  .opaque = &f };
	struct block *b;
	struct qcow2_blk *s;

	(void)state;
	close(mkstemp(path));
	snprintf(cmd, sizeof(cmd),
		 "qemu-img create -q -f qcow2 -o cluster_size=512 %s 8M", path);
	if (system(cmd)) {
		print_message("qemu-img not usable: skipped\n");
		unlink(path);
		return;
	}
	b = block_open(&p, err, sizeof(err));
	assert_non_null(b);
	s = b->priv;
	tr.s = s;
	qcow2_set_hooks(s->q, on_write, drain, &tr);
	/* 100 partial writes 48 KiB apart: a new L2 table each (of 32 KiB
	 * of guest data), more than the cache holds, all in flight at once. */
	for (unsigned int i = 0; i < 100; i++) {
		fill(buf[i], sizeof(buf[i]), i);
		v[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		r[i] = (struct block_req){ .op = BLOCK_WRITE,
					   .offset = i * 49152ULL + 100,
					   .len = sizeof(buf[i]),
					   .iov = &v[i],
					   .nr_iov = 1 };
		assert_int_equal(block_submit(b, &r[i]), 0);
	}
	assert_int_equal(s->nalloc, 200); /* two clusters each */
	block_commit(b);
	block_drain(b);
	assert_int_equal(f.done, 100);
	assert_int_equal(f.last_res, (int)sizeof(buf[0]));
	/* Each allocation's data write (done on the ring) was reported
	 * once, when it completed; L2 tables were evicted meanwhile. */
	assert_int_equal(count(t, QCOW2_W_DATA), 200);
	assert_true(count(t, QCOW2_W_L2) > 0);
	assert_int_equal(run(b, &f, &(struct block_req){ .op = BLOCK_FLUSH }),
			 0);
	check_order(t);
	block_close(b);
	snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

/* Where @r is in @f's completion order (8: not among the first). */
static unsigned int done_at(const struct fix *f, const struct block_req *r)
{
	unsigned int i = 0;

	while (i < 8 && f->order[i] != r)
		i++;
	return i;
}

/*
 * A flush with metadata to write does not sync inside submit(): its
 * fdatasyncs go on the ring, in the same order, and the requests
 * submitted meanwhile wait for its end, but for reads of allocated data,
 * which change nothing and go on at once.
 */
static void test_flush_async(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2fa-XXXXXX", err[512];
	static uint8_t w[2 * CS], w2[CS], back[CS], zb[CS];
	static struct traced tr;
	struct trace *t = &tr.t;
	struct fix f = { 0 };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct block_params p = { .path = path,
				  .depth = 8,
				  .event_fd = efd,
				  .done = on_done,
				  .opaque = &f };
	struct iovec wv = { w, sizeof(w) }, w2v = { w2, sizeof(w2) };
	struct iovec bv = { back, sizeof(back) }, zv = { zb, sizeof(zb) };
	struct block_req wr = { .op = BLOCK_WRITE,
				.offset = 0,
				.len = sizeof(w),
				.iov = &wv,
				.nr_iov = 1 };
	struct block_req disc = { .op = BLOCK_DISCARD,
				  .offset = CS,
				  .len = CS };
	struct block_req fl = { .op = BLOCK_FLUSH },
			 fl2 = { .op = BLOCK_FLUSH };
	struct block_req wr2 = { .op = BLOCK_WRITE,
				 .offset = 4 * CS,
				 .len = sizeof(w2),
				 .iov = &w2v,
				 .nr_iov = 1 };
	struct block_req rd = { .op = BLOCK_READ,
				.offset = 0,
				.len = sizeof(back),
				.iov = &bv,
				.nr_iov = 1 };
	struct block_req rdz = { .op = BLOCK_READ, /* the discarded cluster */
				 .offset = CS,
				 .len = sizeof(zb),
				 .iov = &zv,
				 .nr_iov = 1 };
	unsigned int l2, sync, rc;
	struct qcow2_check c;
	struct block *b;
	struct qcow2_blk *s;
	eventfd_t ev;

	(void)state;
	make_image(path);
	b = block_open(&p, err, sizeof(err));
	assert_non_null(b);
	s = b->priv;
	tr.s = s;
	qcow2_set_hooks(s->q, on_write, drain, &tr);
	fill(w, sizeof(w), 3);
	fill(w2, sizeof(w2), 4);
	assert_int_equal(run(b, &f, &wr), (int)sizeof(w));
	assert_int_equal(run(b, &f, &disc), 0); /* a free for the flush */
	t->n = 0;
	f.done = 0;
	/* The flush, then a write that allocates, a read of allocated data
	 * (sent at once) and one of the discarded cluster (the engine's
	 * reads as zeros: it waits for the flush). */
	memset(zb, 0xff, sizeof(zb));
	assert_int_equal(block_submit(b, &fl), 0);
	assert_int_equal(block_submit(b, &wr2), 0);
	assert_int_equal(block_submit(b, &rd), 0);
	assert_int_equal(block_submit(b, &rdz), 0);
	block_commit(b);
	assert_int_equal(count(t, QCOW2_W_SYNC), 0); /* none in submit */
	assert_ptr_equal(s->fl, &fl);
	assert_ptr_equal(s->held, &wr2);
	assert_ptr_equal(wr2.bounce_next, &rdz);
	assert_ptr_equal(s->held_tail, &rdz);
	assert_non_null(rd.bounce); /* on the ring */
	assert_int_equal(done_at(&f, &fl), 8);
	/* Its fdatasync completes on the ring: the eventfd says so. */
	while (eventfd_read(efd, &ev))
		usleep(1000);
	block_drain(b);
	assert_int_equal(f.done, 4);
	assert_true(done_at(&f, &fl) < done_at(&f, &wr2) &&
		    done_at(&f, &fl) < done_at(&f, &rdz));
	assert_true(done_at(&f, &rd) < 4);
	for (size_t i = 0; i < sizeof(zb); i++)
		assert_int_equal(zb[i], 0);
	assert_true(s->fl_async >= 2); /* tables, then the frees */
	assert_null(s->fl);
	assert_null(s->held);
	/* The order of a synchronous flush: tables synced before the L1 and
	 * the L2 entry cleared on disk before the freed cluster's refcount. */
	l2 = next(t, 0, QCOW2_W_L2);
	sync = next(t, l2, QCOW2_W_SYNC);
	rc = next(t, sync, QCOW2_W_REFCOUNT);
	assert_true(l2 < sync && sync < rc && rc < t->n);
	assert_memory_equal(back, w, sizeof(back));
	rd.offset = 4 * CS; /* the held write went through */
	assert_int_equal(run(b, &f, &rd), (int)sizeof(back));
	assert_memory_equal(back, w2, sizeof(back));
	assert_int_equal(run(b, &f, &fl2), 0);
	check_order(t);
	assert_int_equal(qcow2_check(s->q, &c, true), 0);
	assert_int_equal(c.corruptions, 0);
	assert_int_equal(c.leaks, 0);
	block_close(b);
	close(efd);
	unlink(path);
}

/*
 * An fdatasync that fails (the image's fd pointed at /dev/null for it,
 * which takes writes and refuses syncs) makes every later sync of the
 * engine fail, though the file's own fdatasync works again: in the
 * engine's flush, and in the back-end's flush with its syncs on the ring.
 */
static void test_sync_failure_sticks(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2sf-XXXXXX", err[512];
	char path2[] = "/tmp/vmon-test-qcow2sf-XXXXXX";
	static uint8_t buf[CS];
	struct fix f = { 0 };
	struct block_params p = { .path = path2,
				  .depth = 8,
				  .event_fd = -1,
				  .done = on_done,
				  .opaque = &f };
	struct iovec v = { buf, sizeof(buf) };
	struct block_req wr = { .op = BLOCK_WRITE,
				.offset = 0,
				.len = sizeof(buf),
				.iov = &v,
				.nr_iov = 1 };
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), keep, fd;
	struct qcow2 *q;
	struct block *b;

	(void)state;
	assert_true(null >= 0);
	make_image(path);
	q = qcow2_open(path, -1, false, err, sizeof(err));
	assert_non_null(q);
	fd = qcow2_fd(q);
	keep = dup(fd);
	assert_int_equal(qcow2_write(q, 0, buf, sizeof(buf)), 0);
	assert_true(dup2(null, fd) == fd); /* syncs fail from here */
	assert_int_equal(qcow2_flush(q), -EINVAL);
	assert_true(dup2(keep, fd) == fd); /* and work again */
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(qcow2_flush(q), -EIO);
	qcow2_close(q); /* says the metadata could not be written */
	close(keep);
	unlink(path);
	/* The back-end: its fdatasync on the ring fails the same way. */
	make_image(path2);
	b = block_open(&p, err, sizeof(err));
	assert_non_null(b);
	fd = qcow2_fd(((struct qcow2_blk *)b->priv)->q);
	keep = dup(fd);
	assert_int_equal(run(b, &f, &wr), (int)sizeof(buf));
	assert_true(dup2(null, fd) == fd);
	assert_int_equal(run(b, &f, &(struct block_req){ .op = BLOCK_FLUSH }),
			 -EINVAL);
	assert_true(dup2(keep, fd) == fd);
	assert_int_equal(run(b, &f, &(struct block_req){ .op = BLOCK_FLUSH }),
			 -EIO);
	block_close(b);
	close(keep);
	close(null);
	unlink(path2);
}

/*
 * qcow2_set_peek(): a lookup that would evict a dirty L2 table fails and
 * writes nothing; without it, the same lookup writes the table and
 * succeeds. 512-byte clusters: an L2 table covers 32 KiB, the cache holds
 * 64 tables.
 */
static void test_peek(void **state)
{
	char path[] = "/tmp/vmon-test-qcow2pk-XXXXXX", err[512];
	char opt[] = "cluster_size=512"; /* cut up by the option parser */
	char *argv[] = { "img", "create", "-q", "-o", opt, path, "8M", NULL };
	static struct trace t;
	const uint64_t region = 32768;
	uint8_t b[512] = { 1 };
	uint64_t host, len;
	struct qcow2 *q;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cmd_img(7, argv), 0);
	q = qcow2_open(path, -1, false, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(q->l2c.n, 64);
	/* 65 regions with a cluster each, on disk; region 0's table is the
	 * one not cached. Then a new cluster in each of the others: every
	 * cached table is dirty. */
	for (uint64_t k = 0; k <= 64; k++)
		assert_int_equal(qcow2_write(q, k * region, b, sizeof(b)), 0);
	assert_int_equal(qcow2_flush(q), 0);
	for (uint64_t k = 1; k <= 64; k++)
		assert_int_equal(qcow2_write(q, k * region + 512, b, sizeof(b)),
				 0);
	qcow2_set_hooks(q, on_write, NULL, &t);
	qcow2_set_peek(q, true);
	assert_false(qcow2_host_offset(q, 0, false, &host, &len, &fd));
	assert_int_equal(t.n, 0);
	qcow2_set_peek(q, false);
	assert_true(qcow2_host_offset(q, 0, false, &host, &len, &fd));
	assert_int_equal(count(&t, QCOW2_W_L2), 1); /* the evicted table */
	qcow2_close(q);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_write_order),
		cmocka_unit_test(test_async_order),
		cmocka_unit_test(test_flush_async),
		cmocka_unit_test(test_sync_failure_sticks),
		cmocka_unit_test(test_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
