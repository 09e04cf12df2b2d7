// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_qcow2_extl2.c - qcow2 images with extended L2 entries (32
 * subclusters a cluster): random writes of any size and alignment,
 * write-zeroes and discards through the engine and through the block
 * back-end (whose writes to a cluster with unallocated subclusters go
 * through the engine, the rest through io_uring) read back as a model of
 * the disk says, on an overlay of a raw file, on a preallocated overlay
 * (every cluster its own, no subcluster allocated) and on an image
 * without a backing file with 16 KiB clusters; after a reopen too, and
 * the image's check finds no corruption and no leak. A write into
 * subclusters leaves a write in flight to the allocated one next to it as
 * it is. The entries the specification forbids mark the image corrupt.
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
#include "block/qcow2_int.h"

#define SIZE (4U << 20)
#define OPS 800

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct disk {
	char base[40], img[40];
	uint8_t *model;
	uint64_t cs;
	bool backing;
};

static void tmpname(char *p)
{
	int fd;

	strcpy(p, "/tmp/vmon-test-extl2-XXXXXX");
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
}

/*
 * An image made by `vmon img create` with options @o (and a raw backing
 * file of random data when @backing), its content in d->model.
 */
static void make(struct disk *d, const char *o, bool backing,
		 unsigned int cluster_bits)
{
	char size[16], opts[64]; /* img_create_options() cuts it up */
	int fd;

	d->model = calloc(1, SIZE);
	assert_non_null(d->model);
	d->cs = 1ULL << cluster_bits;
	d->backing = backing;
	snprintf(opts, sizeof(opts), "%s", o);
	tmpname(d->img);
	if (backing) {
		tmpname(d->base);
		for (size_t i = 0; i < SIZE; i += 8) {
			uint64_t v = next();

			memcpy(d->model + i, &v, 8);
		}
		fd = open(d->base, O_WRONLY);
		assert_int_equal(pwrite(fd, d->model, SIZE, 0), SIZE);
		close(fd);
		char *argv[] = { "img", "create", "-q", "-f",	 "qcow2",
				 "-o",	opts,	  "-b", d->base, "-F",
				 "raw", d->img,	  NULL };
		assert_int_equal(cmd_img(12, argv), 0);
	} else {
		d->base[0] = 0;
		snprintf(size, sizeof(size), "%u", SIZE);
		char *argv[] = { "img", "create", "-q",	  "-f", "qcow2",
				 "-o",	opts,	  d->img, size, NULL };
		assert_int_equal(cmd_img(9, argv), 0);
	}
}

static void drop(struct disk *d)
{
	unlink(d->img);
	if (d->base[0])
		unlink(d->base);
	free(d->model);
}

/* A random range: mostly small and unaligned, sometimes clusters long. */
static void range(const struct disk *d, uint64_t *off, uint64_t *len)
{
	uint64_t max = next() % 4 ? d->cs / 8 : 3 * d->cs;

	*off = next() % SIZE;
	if (next() % 3 == 0)
		*off &= ~(d->cs / 32 - 1); /* a subcluster's start */
	*len = 1 + next() % max;
	if (*len > SIZE - *off)
		*len = SIZE - *off;
}

/*
 * 0-4: a write, 5: write-zeroes, 6: a discard, 7: a flush (one in 32:
 * an fdatasync, slow on a busy disk).
 */
static unsigned int op_kind(void)
{
	unsigned int k = (unsigned int)(next() % 32);

	return k == 31 ? 7 : k % 7;
}

/* What a discard (@discard) or write-zeroes does to the model. */
static void model_zero(struct disk *d, uint64_t off, uint64_t len, bool discard)
{
	uint64_t end = off + len, a, b;

	if (!discard) {
		memset(d->model + off, 0, len);
		return;
	}
	a = (off + d->cs - 1) & ~(d->cs - 1);
	b = end == SIZE ? end : end & ~(d->cs - 1);
	if (a < b) /* whole clusters; the rest is left as it is */
		memset(d->model + a, 0, b - a);
}

static void verify(struct qcow2 *q, const struct disk *d, uint64_t off,
		   uint64_t len)
{
	static uint8_t buf[SIZE];

	assert_int_equal(qcow2_read(q, off, buf, len), 0);
	assert_memory_equal(buf, d->model + off, len);
}

/* The image reopened: its content and a clean check. */
static void reopen_check(struct disk *d)
{
	char err[512];
	struct qcow2_check r;
	struct qcow2 *q = qcow2_open(d->img, -1, true, err, sizeof(err));

	assert_non_null(q);
	verify(q, d, 0, SIZE);
	assert_int_equal(qcow2_check(q, &r, true), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
	qcow2_close(q);
}

static void engine_ops(struct disk *d)
{
	static uint8_t buf[3 << 16];
	char err[512];
	struct qcow2 *q = qcow2_open(d->img, -1, false, err, sizeof(err));

	assert_non_null(q);
	assert_true(q->extl2);
	verify(q, d, 0, SIZE);
	for (unsigned int i = 0; i < OPS; i++) {
		uint64_t off, len, kind = op_kind();

		range(d, &off, &len);
		if (kind < 5) {
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (uint8_t)(i + k * 7);
			assert_int_equal(qcow2_write(q, off, buf, len), 0);
			memcpy(d->model + off, buf, len);
		} else if (kind < 7) {
			assert_int_equal(qcow2_zero(q, off, len, kind == 6), 0);
			model_zero(d, off, len, kind == 6);
		} else {
			assert_int_equal(qcow2_flush(q), 0);
		}
		range(d, &off, &len);
		verify(q, d, off, len);
	}
	verify(q, d, 0, SIZE);
	assert_false(q->corrupt);
	qcow2_close(q);
	reopen_check(d);
}

static void on_done(void *opaque, struct block_req *r, int res)
{
	(void)r;
	*(int *)opaque = res;
}

/* One request through the back-end, waited for: its result. */
static int run(struct block *b, int *res, struct block_req *r)
{
	*res = -12345;
	assert_int_equal(block_submit(b, r), 0);
	block_commit(b);
	block_drain(b);
	return *res;
}

static void backend_ops(struct disk *d)
{
	static uint8_t w[3 << 16], back[3 << 16];
	char err[512];
	int res, efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct block_params p = { .path = d->img,
				  .depth = 8,
				  .event_fd = efd,
				  .done = on_done,
				  .opaque = &res };
	struct block *b = block_open(&p, err, sizeof(err));

	assert_non_null(b);
	assert_string_equal(b->ops->name, "qcow2");
	for (unsigned int i = 0; i < OPS; i++) {
		uint64_t off, len, kind = op_kind(), h;
		struct iovec v[2];
		struct block_req r = { .offset = 0 };

		range(d, &off, &len);
		h = len / 3;
		if (kind < 5) {
			for (uint64_t k = 0; k < len; k++)
				w[k] = (uint8_t)(i * 3 + k * 5);
			v[0] = (struct iovec){ w, h };
			v[1] = (struct iovec){ w + h, len - h };
			r = (struct block_req){ .op = BLOCK_WRITE,
						.offset = off,
						.len = len,
						.iov = v,
						.nr_iov = 2 };
			assert_int_equal(run(b, &res, &r), (int)len);
			memcpy(d->model + off, w, len);
		} else if (kind < 7) {
			r = (struct block_req){
				.op = kind == 6 ? BLOCK_DISCARD :
						  BLOCK_WRITE_ZEROES,
				.offset = off,
				.len = len
			};
			assert_int_equal(run(b, &res, &r), 0);
			model_zero(d, off, len, kind == 6);
		} else {
			r = (struct block_req){ .op = BLOCK_FLUSH };
			assert_int_equal(run(b, &res, &r), 0);
		}
		range(d, &off, &len);
		h = len / 4;
		memset(back, 0xee, len);
		v[0] = (struct iovec){ back, h };
		v[1] = (struct iovec){ back + h, len - h };
		r = (struct block_req){ .op = BLOCK_READ,
					.offset = off,
					.len = len,
					.iov = v,
					.nr_iov = 2 };
		assert_int_equal(run(b, &res, &r), (int)len);
		assert_memory_equal(back, d->model + off, len);
	}
	block_close(b);
	close(efd);
	reopen_check(d);
}

static void test_overlay(void **state)
{
	struct disk d;

	(void)state;
	make(&d, "extended_l2=on", true, 16);
	engine_ops(&d);
	backend_ops(&d);
	drop(&d);
}

static void test_preallocated(void **state)
{
	struct disk d;

	(void)state;
	make(&d, "extended_l2=on,preallocation=metadata", true, 16);
	engine_ops(&d);
	drop(&d);
	make(&d, "extended_l2=on,preallocation=metadata", true, 16);
	backend_ops(&d);
	drop(&d);
}

static void test_no_backing(void **state)
{
	struct disk d;

	(void)state;
	make(&d, "extended_l2=on,cluster_size=16k", false, 14);
	engine_ops(&d);
	backend_ops(&d);
	drop(&d);
}

static void count_done(void *opaque, struct block_req *r, int res)
{
	int *n = opaque;

	assert_int_equal(res, (int)r->len);
	(*n)++;
}

/*
 * A write into subclusters submitted while a write to an allocated
 * subcluster next to them is in flight: it does not write over that
 * subcluster (it is not widened there), so the write in flight stays.
 */
static void test_inflight(void **state)
{
	static uint8_t a[2048], w1[600], w2[748];
	struct disk d;
	char err[512];
	int n = 0, efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct block_params p = {
		.depth = 8, .event_fd = efd, .done = count_done, .opaque = &n
	};
	struct iovec va = { a, sizeof(a) }, v1 = { w1, sizeof(w1) },
		     v2 = { w2, sizeof(w2) };
	struct block_req ra = { .op = BLOCK_WRITE,
				.offset = 2048,
				.len = sizeof(a),
				.iov = &va,
				.nr_iov = 1 };
	struct block_req r1 = { .op = BLOCK_WRITE,
				.offset = 2248,
				.len = sizeof(w1),
				.iov = &v1,
				.nr_iov = 1 };
	struct block_req r2 = { .op = BLOCK_WRITE,
				.offset = 3648,
				.len = sizeof(w2),
				.iov = &v2,
				.nr_iov = 1 };
	struct block *b;

	(void)state;
	make(&d, "extended_l2=on,preallocation=metadata", true, 16);
	p.path = d.img;
	b = block_open(&p, err, sizeof(err));
	assert_non_null(b);
	memset(a, 0xaa, sizeof(a));
	memset(w1, 0xbb, sizeof(w1));
	memset(w2, 0xcc, sizeof(w2));
	/* Subcluster 1 (2 KiB at 2 KiB) allocated. */
	assert_int_equal(block_submit(b, &ra), 0);
	block_commit(b);
	block_drain(b);
	assert_int_equal(n, 1);
	/* In it, then from it into subcluster 2, both in flight. */
	assert_int_equal(block_submit(b, &r1), 0);
	assert_int_equal(block_submit(b, &r2), 0);
	block_commit(b);
	block_drain(b);
	assert_int_equal(n, 3);
	block_close(b);
	close(efd);
	memcpy(d.model + 2048, a, sizeof(a));
	memcpy(d.model + 2248, w1, sizeof(w1));
	memcpy(d.model + 3648, w2, sizeof(w2));
	reopen_check(&d);
	drop(&d);
}

/* The first entry's bitmap set to @bm (the image's first L2 table). */
static void poke_bitmap(const char *img, uint64_t e, uint64_t bm)
{
	char err[512];
	struct qcow2 *q = qcow2_open(img, -1, false, err, sizeof(err));

	assert_non_null(q);
	assert_int_equal(qcow2_l2_set_sub(q, 0, e, bm), 0);
	qcow2_close(q);
}

/* Entries the specification forbids: read fails, the image is corrupt. */
static void test_invalid(void **state)
{
	static uint8_t buf[4096];
	struct disk d;
	char err[512];
	struct qcow2 *q;
	struct qcow2_check r;
	const uint64_t bad[][2] = {
		{ 0, 1 }, /* allocated without a host cluster */
		{ 0, 1ULL | 1ULL << 32 }, /* allocated and zero */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(&d, "extended_l2=on", false, 16);
		poke_bitmap(d.img, bad[i][0], bad[i][1]);
		q = qcow2_open(d.img, -1, true, err, sizeof(err));
		assert_non_null(q);
		assert_int_equal(qcow2_check(q, &r, false), 0);
		assert_int_equal(r.corruptions, 1);
		assert_int_equal(qcow2_read(q, 0, buf, sizeof(buf)), -EIO);
		assert_true(q->corrupt);
		qcow2_close(q);
		drop(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_preallocated),
		cmocka_unit_test(test_no_backing),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
