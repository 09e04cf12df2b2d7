// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_qcow2.c - fuzz target of the qcow2 header and table parsing
 * (src/block/qcow2*.c): the input is an image file. Its header goes
 * through the parser as it is; then, with any backing file name cleared
 * (so that no host file is opened), the image is opened read-write from a
 * memory file and the engine reads its first clusters, writes (a small
 * unaligned write too: pieces of subclusters), zeroes
 * and discards a cluster, writes a compressed one, flushes in steps (as
 * the block back-end does, its fdatasyncs done by the caller), grows the
 * image by 16 MiB (a larger L1 table where needed) and writes its new
 * end, checks the refcounts and repairs what it can (vmon img check -r
 * all). Its header also gets a new backing file (vmon img rebase), which
 * must parse back. Nothing may crash, hang or read out of bounds; a
 * refusal always says why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/qcow2.h"

#define MAX_READ (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct qcow2 *q)
{
	static uint8_t buf[MAX_READ];
	uint64_t n = qcow2_size(q) < MAX_READ ? qcow2_size(q) : MAX_READ;
	struct qcow2_check r, fixed;

	qcow2_read(q, 0, buf, n);
	if (qcow2_size(q) > n)
		qcow2_read(q, qcow2_size(q) - n, buf, n);
	memset(buf, 0xa5, sizeof(buf));
	qcow2_write(q, n / 3, buf, n / 2);
	qcow2_write(q, n / 5 + 1000, buf, 700); /* parts of subclusters */
	qcow2_zero(q, 0, n, false);
	qcow2_zero(q, 0, n, true);
	if (qcow2_hdr(q)->cluster_bits <= 18) /* buf holds a cluster */
		qcow2_write_compressed(q, 0, buf);
	/* The block back-end's flush: in steps, its syncs done here. */
	qcow2_flush_start(q);
	while (qcow2_flush_step(q) == -EINPROGRESS)
		qcow2_synced(q, fdatasync(qcow2_fd(q)) ? -errno : 0);
	qcow2_read(q, 0, buf, n);
	/* vmon img commit's growing, then a write at the new end. */
	if (!qcow2_grow(q, (qcow2_size(q) + (16 << 20)) & ~511ULL))
		qcow2_write(q, qcow2_size(q) - 4096, buf, 4096);
	qcow2_check(q, &r, false);
	/* vmon img check -r all: refcounts, then COPIED flags. */
	qcow2_check_repair(q, true, &fixed, false);
}

/*
 * vmon img rebase's header rewrite on the parsed header: where it fits,
 * the result parses again with the new backing file and format, and the
 * same version, cluster size and features.
 */
static void rebase_header(const uint8_t *data, size_t size,
			  const struct qcow2_header *h)
{
	size_t len = (size_t)1 << h->cluster_bits;
	struct qcow2_header again;
	char err[256];
	uint8_t *b;

	if (len > size)
		len = size;
	b = malloc(len);
	if (!b)
		return;
	memcpy(b, data, len);
	if (!qcow2_header_set_backing(b, len, h, "rebased.qcow2", "qcow2")) {
		if (qcow2_parse_header(b, len, size, &again, err,
				       sizeof(err)) ||
		    strcmp(again.backing, "rebased.qcow2") != 0 ||
		    strcmp(again.backing_fmt, "qcow2") != 0 ||
		    again.version != h->version ||
		    again.cluster_bits != h->cluster_bits ||
		    again.incompat != h->incompat ||
		    again.has_data_file != h->has_data_file ||
		    again.has_crypto != h->has_crypto)
			abort();
	}
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_header h;
	char err[1024] = "";
	struct qcow2 *q;
	int fd;

	if (qcow2_parse_header(data, size, size, &h, err, sizeof(err))) {
		if (!*err)
			abort();
		return 0;
	}
	rebase_header(data, size, &h);
	if (size > 16 << 20)
		return 0;
	fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	/* No backing file: zero its offset (bytes 8-15). */
	pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 8);
	err[0] = 0;
	q = qcow2_open("/nonexistent/fuzz.qcow2", fd, false, err, sizeof(err));
	if (!q) {
		if (!*err)
			abort();
		return 0;
	}
	exercise(q);
	qcow2_close(q); /* closes fd */
	return 0;
}
