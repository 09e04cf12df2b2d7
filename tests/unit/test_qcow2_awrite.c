// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_qcow2_awrite.c - the qcow2 back-end's allocating writes through
 * io_uring (src/block/qcow2_awrite.c): writes submitted together to one
 * cluster (serialised: the second waits) and to other clusters (they go
 * on meanwhile), requests mixing in-place and new clusters, partial
 * clusters over a raw and a qcow2 backing file (copy-on-write), a flush
 * that does not wait for the allocations in flight, and a
 * write that fails (the file size limit) leaving the cluster unallocated
 * and the image clean. Each image is then read back through the
 * back-end, checked by qcow2_check() and `qemu-img check`, and compared
 * by `qemu-img compare` with a raw file of the expected content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/img.h"
#include "block/block.h"
#include "block/qcow2_blk.h"

#define CS 65536ULL
#define SIZE (8ULL << 20)

/* One request and its result. */
struct wreq {
	struct block_req r;
	struct iovec iov[2];
	int res;
	bool done;
	uint8_t *buf;
};

static void on_done(void *opaque, struct block_req *r, int res)
{
	struct wreq *w = (struct wreq *)r;

	(void)opaque;
	assert_false(w->done);
	w->done = true;
	w->res = res;
}

struct disk {
	char path[64];
	struct block *b;
	int efd;
	uint8_t *model; /* what the guest must read */
};

static void create(char *path, const char *backing, const char *fmt)
{
	char *plain[] = { "img", "create", path, "8M", NULL };
	char *over[] = { "img", "create",    "-b", (char *)backing,
			 "-F",	(char *)fmt, path, NULL };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	if (backing)
		assert_int_equal(cmd_img(7, over), 0);
	else
		assert_int_equal(cmd_img(4, plain), 0);
}

static void open_disk(struct disk *d)
{
	char err[512];
	struct block_params p = { .path = d->path,
				  .depth = 16,
				  .event_fd = d->efd,
				  .done = on_done };

	d->b = block_open(&p, err, sizeof(err));
	if (!d->b)
		fail_msg("%s", err);
	assert_string_equal(d->b->ops->name, "qcow2");
}

static void start(struct disk *d, const char *backing, const char *fmt,
		  const uint8_t *below)
{
	snprintf(d->path, sizeof(d->path), "/tmp/vmon-test-qaw-XXXXXX");
	create(d->path, backing, fmt);
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->model = calloc(1, SIZE);
	assert_non_null(d->model);
	if (below)
		memcpy(d->model, below, SIZE);
	open_disk(d);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 31 + (i >> 9));
}

/* A write of @len bytes at @off (two buffers), submitted, not committed. */
static void submit_write(struct disk *d, struct wreq *w, uint64_t off,
			 uint64_t len, unsigned int seed)
{
	memset(w, 0, sizeof(*w));
	w->buf = malloc(len);
	assert_non_null(w->buf);
	fill(w->buf, len, seed);
	w->iov[0] = (struct iovec){ w->buf, len / 3 };
	w->iov[1] = (struct iovec){ w->buf + len / 3, len - len / 3 };
	w->r = (struct block_req){ .op = BLOCK_WRITE,
				   .offset = off,
				   .len = len,
				   .iov = w->iov,
				   .nr_iov = 2 };
	assert_int_equal(block_submit(d->b, &w->r), 0);
	memcpy(d->model + off, w->buf, len);
}

/* Commits, waits for @n requests of @w, checks each wrote all its bytes. */
static void finish(struct disk *d, struct wreq *w, unsigned int n)
{
	block_commit(d->b);
	block_drain(d->b);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(w[i].done);
		assert_int_equal(w[i].res, (int)w[i].r.len);
		free(w[i].buf);
	}
}

static int one(struct disk *d, enum block_op op, uint64_t off, void *buf,
	       uint64_t len)
{
	struct wreq w = { .iov[0] = { buf, len } };

	w.r = (struct block_req){
		.op = op, .offset = off, .len = len, .iov = w.iov, .nr_iov = 1
	};
	assert_int_equal(block_submit(d->b, &w.r), 0);
	block_commit(d->b);
	block_drain(d->b);
	assert_true(w.done);
	return w.res;
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Reads everything back, closes, checks the image with both tools. */
static void verify(struct disk *d)
{
	static uint8_t back[1 << 20];
	char raw[] = "/tmp/vmon-test-qaw-raw-XXXXXX", err[512];
	struct qcow2_check r;
	struct qcow2 *q;
	int fd;

	for (uint64_t off = 0; off < SIZE; off += sizeof(back)) {
		memset(back, 0xa5, sizeof(back));
		assert_int_equal(one(d, BLOCK_READ, off, back, sizeof(back)),
				 (int)sizeof(back));
		assert_memory_equal(back, d->model + off, sizeof(back));
	}
	assert_int_equal(one(d, BLOCK_FLUSH, 0, NULL, 0), 0);
	block_close(d->b);
	q = qcow2_open(d->path, -1, true, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(qcow2_check(q, &r, true), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
	qcow2_close(q);
	fd = mkstemp(raw);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, d->model, SIZE), (ssize_t)SIZE);
	close(fd);
	if (sh("command -v qemu-img >/dev/null%s%s", "", "") == 0) {
		assert_int_equal(
			sh("qemu-img check -q -f qcow2 %s%s", d->path, ""), 0);
		assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s",
				    d->path, raw),
				 0);
	} else {
		print_message("qemu-img not found: its checks skipped\n");
	}
	unlink(raw);
	unlink(d->path);
	close(d->efd);
	free(d->model);
}

static struct qcow2_blk *state_of(struct disk *d)
{
	return d->b->priv;
}

static void test_concurrent(void **state)
{
	struct disk d;
	struct wreq w[6];
	struct qcow2_blk *s;

	(void)state;
	start(&d, NULL, NULL, NULL);
	s = state_of(&d);
	submit_write(&d, &w[0], 512, 4096, 1); /* cluster 0 */
	submit_write(&d, &w[1], 20000, 10000, 2); /* cluster 0 again */
	submit_write(&d, &w[2], 5 * CS, CS, 3); /* cluster 5, whole */
	submit_write(&d, &w[3], 7 * CS + 100, 2 * CS - 50, 4); /* 7-9 */
	submit_write(&d, &w[4], CS - 100, 200, 5); /* clusters 0 and 1 */
	submit_write(&d, &w[5], 12 * CS + 9, 1, 6); /* one byte */
	/* The two later writes to cluster 0 wait; the others go on. */
	assert_int_equal(s->nalloc, 1 + 1 + 3 + 1);
	assert_ptr_equal(s->wait, &w[1].r);
	assert_ptr_equal(s->wait->bounce_next, &w[4].r);
	assert_ptr_equal(s->wait_tail, &w[4].r);
	finish(&d, w, 6);
	assert_int_equal(s->nalloc, 0);
	assert_null(s->wait);
	/* In place and new clusters in one request, and again at once. */
	submit_write(&d, &w[0], 100, 4 * CS, 7); /* 0, 1 in place; 2-4 new */
	submit_write(&d, &w[1], 3 * CS + 10, 10, 8); /* waits for 3 */
	submit_write(&d, &w[2], 20 * CS, 3 * CS, 9);
	/* Whole clusters whose new clusters follow each other in the file
	 * are one allocation (one write): 2-3 and 4 (partial), 20-22. */
	assert_int_equal(s->nalloc, 2 + 1);
	/* A flush with metadata to write (the first round's entries) does
	 * not wait for the allocations in flight. */
	memset(&w[3], 0, sizeof(w[3]));
	w[3].r.op = BLOCK_FLUSH;
	assert_int_equal(block_submit(d.b, &w[3].r), 0);
	assert_int_equal(s->nalloc, 2 + 1);
	finish(&d, w, 4);
	verify(&d);
}

/* A raw file of SIZE bytes with a pattern, and its content. */
static void make_raw(char *path, uint8_t *content)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	fill(content, SIZE, 11);
	assert_int_equal(write(fd, content, SIZE), (ssize_t)SIZE);
	close(fd);
}

static void partial_writes(struct disk *d)
{
	struct wreq w[5];

	submit_write(d, &w[0], CS + 1000, 2000, 21);
	submit_write(d, &w[1], CS + 5000, 1000, 22); /* waits */
	submit_write(d, &w[2], 3 * CS + CS / 2, CS, 23); /* two halves */
	submit_write(d, &w[3], 10 * CS + 512, 512, 24);
	submit_write(d, &w[4], SIZE - 700, 700, 25); /* the last cluster */
	finish(d, w, 5);
}

static void test_backing_raw(void **state)
{
	char base[] = "/tmp/vmon-test-qaw-base-XXXXXX";
	uint8_t *content = malloc(SIZE);
	struct disk d;

	(void)state;
	assert_non_null(content);
	make_raw(base, content);
	start(&d, base, "raw", content);
	partial_writes(&d);
	verify(&d);
	unlink(base);
	free(content);
}

static void test_backing_qcow2(void **state)
{
	char base[64];
	uint8_t *content = calloc(1, SIZE);
	struct disk d, b;
	struct wreq w[2];

	(void)state;
	assert_non_null(content);
	/* A qcow2 base with data in clusters 1 and 3-4 (not 10 and 127). */
	start(&b, NULL, NULL, NULL);
	submit_write(&b, &w[0], CS, CS, 31);
	submit_write(&b, &w[1], 3 * CS, 2 * CS, 32);
	finish(&b, w, 2);
	memcpy(content, b.model, SIZE);
	assert_int_equal(one(&b, BLOCK_FLUSH, 0, NULL, 0), 0);
	block_close(b.b);
	snprintf(base, sizeof(base), "%s", b.path);
	start(&d, base, "qcow2", content);
	partial_writes(&d);
	verify(&d);
	unlink(base);
	close(b.efd);
	free(b.model);
	free(content);
}

/* Early writeback: started once 1 MiB was written to the image. */
static void test_writeback(void **state)
{
	struct disk d;
	struct wreq w[1];
	struct qcow2_blk *s;

	(void)state;
	start(&d, NULL, NULL, NULL);
	s = state_of(&d);
	/* 2 MiB of new clusters (runs): written, then a writeback started
	 * (the count starts again). */
	submit_write(&d, &w[0], 0, 2 << 20, 51);
	finish(&d, w, 1);
	assert_int_equal(s->wb_bytes, 0);
	assert_int_equal(s->wb_started, 1);
	/* Writes in place count too; below 1 MiB nothing starts. */
	submit_write(&d, &w[0], 4096, 8192, 52);
	finish(&d, w, 1);
	assert_int_equal(s->wb_bytes, 8192);
	/* 2 MiB of new clusters at the file's end, far from those 8 KiB: a
	 * new stream, written back. */
	submit_write(&d, &w[0], 2 << 20, 2 << 20, 53);
	finish(&d, w, 1);
	assert_int_equal(s->wb_started, 2);
	assert_int_equal(one(&d, BLOCK_FLUSH, 0, NULL, 0), 0);
	/* 1 MiB in place, 16 KiB every 64 KiB: a range four times its
	 * bytes, no writeback. */
	for (unsigned int i = 0; i < 64; i++) {
		submit_write(&d, &w[0], i * CS, 16384, 60 + i);
		finish(&d, w, 1);
	}
	assert_int_equal(s->wb_started, 2);
	/* The same bytes as one sequential stream in place: one starts. */
	submit_write(&d, &w[0], 0, 1 << 20, 54);
	finish(&d, w, 1);
	assert_int_equal(s->wb_started, 3);
	assert_int_equal(one(&d, BLOCK_FLUSH, 0, NULL, 0), 0);
	verify(&d);
}

static void test_write_error(void **state)
{
	struct disk d;
	struct wreq w[2];
	struct rlimit old, lim;
	struct stat st;
	static uint8_t back[CS];
	struct qcow2_blk *s;

	(void)state;
	start(&d, NULL, NULL, NULL);
	s = state_of(&d);
	submit_write(&d, &w[0], 0, 4096, 41); /* the L2 table exists */
	finish(&d, w, 1);
	assert_int_equal(one(&d, BLOCK_FLUSH, 0, NULL, 0), 0);
	/* The next new cluster is at the end of the file: past the limit. */
	assert_int_equal(stat(d.path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){ (rlim_t)st.st_size, old.rlim_max };
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	submit_write(&d, &w[0], 5 * CS + 100, 300, 42);
	submit_write(&d, &w[1], 5 * CS + 1000, 300, 43); /* waits for it */
	block_commit(d.b);
	block_drain(d.b);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(w[0].done && w[1].done);
	assert_int_equal(w[0].res, -EFBIG);
	free(w[0].buf);
	/* The second ran after the failure: a new allocation, also past
	 * the limit then. */
	assert_int_equal(w[1].res, -EFBIG);
	free(w[1].buf);
	assert_int_equal(s->nalloc, 0);
	memset(d.model + 5 * CS, 0, CS);
	/* Nothing names the failed cluster: it reads as zeroes. */
	memset(back, 0xa5, sizeof(back));
	assert_int_equal(one(&d, BLOCK_READ, 5 * CS, back, CS), (int)CS);
	assert_memory_equal(back, d.model + 5 * CS, CS);
	/* And it is used again by the next allocation. */
	submit_write(&d, &w[0], 6 * CS, CS, 44);
	finish(&d, w, 1);
	verify(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_backing_raw),
		cmocka_unit_test(test_backing_qcow2),
		cmocka_unit_test(test_writeback),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
