// SPDX-License-Identifier: GPL-2.0-only
/*
 * disks.c - block migration (`--with-disks`, docs/migration.md): the
 * source copies each writable disk to the destination while the guest
 * runs, a bulk pass then the chunks the guest wrote meanwhile (the block
 * layer's dirty tracking, block.h), round after round with the memory and
 * the last ones at the switch-over; the destination writes them into its
 * own image of each drive (the same path, or its override) and syncs it
 * before it answers. A qcow2 image (on either side) is read or written
 * through the drive's own qcow2 engine, as the guest sees it: on the
 * source on the I/O thread that owns it (iothread_call()), on the
 * destination before its VM runs.
 */
#include "migration.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../block/block.h"
#include "../block/qcow2.h"
#include "../config/config.h"
#include "../util/log.h"
#include "../virtio/mmio.h"
#include "../virtio/runtime.h"
#include "../vmm/iothread.h"
#include "../vmm/vm.h"

/* A BLOCKS record: at most this many chunks, contiguous. */
#define RUN_CHUNKS 16U
#define RUN_MAX (RUN_CHUNKS * BLOCK_DIRTY_CHUNK)
#define BLOCKS_HEAD MIG_BLOCKS_HEAD
_Static_assert(RUN_MAX <= MIG_BLOCKS_RUN_MAX, "a run fits a BLOCKS record");
_Static_assert(VMON_MAX_DISKS <= MIG_DISKS_MAX, "the disks fit a DISKS record");
#define BLOCKS_F_ZERO 1U

struct src_disk {
	unsigned int index; /* the drive's, in the VM's configuration */
	struct block *bk;
	char path[VMON_DISK_PATH_MAX];
	int fd; /* raw: our own, read-only */
	struct qcow2 *q; /* qcow2: the drive's engine */
	struct iothread *io; /* which owns it */
	uint64_t size, words;
	uint64_t *todo; /* chunks still to send */
};

struct mig_disks {
	struct src_disk d[VMON_MAX_DISKS];
	unsigned int nr;
	uint8_t *buf; /* one BLOCKS record */
	uint64_t bytes_sent; /* disk data, zero runs counted by length */
};

static int open_one(struct src_disk *sd, struct virtio_dev *dev, char *err)
{
	sd->bk = virtio_blk_block(dev, sd->path, sizeof(sd->path));
	sd->q = block_qcow2(sd->bk);
	if (!sd->q && sd->bk->ops != &block_raw_ops) {
		snprintf(
			err, MIG_ERR_MAX,
			"disk %.400s: block migration copies raw and qcow2 images only (this one is %s)",
			sd->path, sd->bk->ops->name);
		return -1;
	}
	if (!sd->q)
		sd->fd = open(sd->path, O_RDONLY | O_CLOEXEC);
	sd->size = sd->bk->size;
	sd->words = block_dirty_words(sd->bk);
	sd->todo = calloc(sd->words, 8);
	if ((!sd->q && sd->fd < 0) || !sd->todo) {
		snprintf(err, MIG_ERR_MAX, "disk %.400s: %s", sd->path,
			 sd->fd < 0 ? strerror(errno) : "out of memory");
		return -1;
	}
	if (block_dirty_start(sd->bk)) {
		snprintf(err, MIG_ERR_MAX, "disk %.400s: out of memory",
			 sd->path);
		return -1;
	}
	/* The bulk pass: every chunk, read after tracking began. */
	for (uint64_t c = 0; c * BLOCK_DIRTY_CHUNK < sd->size; c++)
		sd->todo[c / 64] |= 1ULL << (c % 64);
	return 0;
}

struct mig_disks *mig_disks_open(struct vm *vm, char *err)
{
	struct mig_disks *ds = calloc(1, sizeof(*ds));

	if (!ds || !(ds->buf = malloc(BLOCKS_HEAD + RUN_MAX))) {
		free(ds);
		snprintf(err, MIG_ERR_MAX, "out of memory");
		return NULL;
	}
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		struct virtio_dev *dev = virtio_find(vm, DEVICE_VIRTIO_BLK, i);
		struct src_disk *sd = &ds->d[ds->nr];

		/* A read-only disk cannot differ: shared or copied before. */
		if (!dev || vm->cfg->disks[i].readonly)
			continue;
		sd->index = i;
		sd->fd = -1;
		sd->io = vm->io;
		ds->nr++;
		if (open_one(sd, dev, err)) {
			mig_disks_close(ds);
			return NULL;
		}
	}
	return ds;
}

void mig_disks_close(struct mig_disks *ds)
{
	if (!ds)
		return;
	for (unsigned int i = 0; i < ds->nr; i++) {
		if (ds->d[i].bk)
			block_dirty_stop(ds->d[i].bk);
		if (ds->d[i].fd >= 0)
			close(ds->d[i].fd);
		free(ds->d[i].todo);
	}
	free(ds->buf);
	free(ds);
}

int mig_disks_hello(struct mig_disks *ds, struct mig_conn *c, char *err)
{
	uint8_t p[8 + VMON_MAX_DISKS * 16] = { 0 };
	uint32_t n = ds->nr;

	memcpy(p, &n, 4);
	for (unsigned int i = 0; i < ds->nr; i++) {
		memcpy(p + 8 + 16 * i, &ds->d[i].index, 4);
		memcpy(p + 16 + 16 * i, &ds->d[i].size, 8);
	}
	return mig_send(c, MIG_DISKS, p, 8 + 16ULL * n, err, MIG_ERR_MAX);
}

uint64_t mig_disks_collect(struct mig_disks *ds)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; ds && i < ds->nr; i++) {
		struct src_disk *sd = &ds->d[i];

		block_dirty_collect(sd->bk, sd->todo);
		for (uint64_t w = 0; w < sd->words; w++)
			bytes += (uint64_t)__builtin_popcountll(sd->todo[w]) *
				 BLOCK_DIRTY_CHUNK;
	}
	return bytes;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/* A read of guest bytes through a qcow2 engine, on its thread. */
struct qread {
	struct qcow2 *q;
	void *buf;
	uint64_t off, len;
	int ret;
};

static void qread_fn(void *arg)
{
	struct qread *r = arg;

	r->ret = qcow2_read(r->q, r->off, r->buf, r->len);
}

/* Reads @len guest bytes of @sd at @off into @buf; 0 or -1 with @err. */
static int read_disk(struct src_disk *sd, void *buf, uint64_t off, uint64_t len,
		     char *err)
{
	struct qread r = { sd->q, buf, off, len, 0 };
	ssize_t n;

	if (sd->q) {
		/* The engine's caches are the I/O thread's: read there. */
		iothread_call(sd->io, qread_fn, &r);
		if (!r.ret)
			return 0;
		errno = -r.ret;
		n = -1;
	} else {
		n = pread(sd->fd, buf, len, (off_t)off);
		if (n == (ssize_t)len)
			return 0;
	}
	snprintf(err, MIG_ERR_MAX, "disk %.400s: read at %llu: %s", sd->path,
		 (unsigned long long)off,
		 n < 0 ? strerror(errno) : "short read");
	return -1;
}

/* Sends chunks [@c, @c + @n) of @sd as one record. */
static int send_run(struct mig_disks *ds, struct src_disk *sd, uint64_t c,
		    uint64_t n, struct mig_conn *conn, char *err)
{
	uint64_t off = c * BLOCK_DIRTY_CHUNK, len = n * BLOCK_DIRTY_CHUNK;
	uint8_t *h = ds->buf;
	uint32_t flags = 0;

	if (len > sd->size - off)
		len = sd->size - off;
	if (read_disk(sd, h + BLOCKS_HEAD, off, len, err))
		return -1;
	if (all_zero(h + BLOCKS_HEAD, len))
		flags = BLOCKS_F_ZERO;
	memcpy(h, &sd->index, 4);
	memcpy(h + 4, &flags, 4);
	memcpy(h + 8, &off, 8);
	memcpy(h + 16, &len, 8);
	ds->bytes_sent += len;
	return mig_send(conn, MIG_BLOCKS, h, BLOCKS_HEAD + (flags ? 0 : len),
			err, MIG_ERR_MAX);
}

/* Sends the chunks of @sd still to send, in runs. */
static int send_disk(struct mig_disks *ds, struct src_disk *sd,
		     struct mig_conn *conn, const _Atomic(bool) *cancel,
		     char *err)
{
	uint64_t chunks =
		(sd->size + BLOCK_DIRTY_CHUNK - 1) / BLOCK_DIRTY_CHUNK;
	uint64_t c = 0;

	while (c < chunks) {
		uint64_t n = 0;

		if (!(sd->todo[c / 64] & (1ULL << (c % 64)))) {
			c++;
			continue;
		}
		while (c + n < chunks && n < RUN_CHUNKS &&
		       (sd->todo[(c + n) / 64] & (1ULL << ((c + n) % 64)))) {
			sd->todo[(c + n) / 64] &= ~(1ULL << ((c + n) % 64));
			n++;
		}
		if (atomic_load(cancel)) {
			snprintf(err, MIG_ERR_MAX, "cancelled");
			return -1;
		}
		if (send_run(ds, sd, c, n, conn, err))
			return -1;
		c += n;
	}
	return 0;
}

int mig_disks_send(struct mig_disks *ds, struct mig_conn *conn,
		   const _Atomic(bool) *cancel, char *err)
{
	for (unsigned int i = 0; ds && i < ds->nr; i++)
		if (send_disk(ds, &ds->d[i], conn, cancel, err))
			return -1;
	return 0;
}

uint64_t mig_disks_bytes_sent(const struct mig_disks *ds)
{
	return ds ? ds->bytes_sent : 0;
}

/* --- the destination ------------------------------------------------ */

struct mig_disks_dst {
	int fd[VMON_MAX_DISKS]; /* raw, by drive index; -1: not copied */
	struct qcow2 *q[VMON_MAX_DISKS]; /* qcow2: the drive's engine */
	uint64_t size[VMON_MAX_DISKS];
	const char *path[VMON_MAX_DISKS];
	uint64_t bytes;
};

/* One entry of the DISKS record: drive @idx of @size bytes. */
static int accept_one(struct mig_disks_dst *dd, struct vm *vm, uint32_t idx,
		      uint64_t size, char *err, size_t errlen)
{
	char path[VMON_DISK_PATH_MAX];
	const struct disk_config *dc;
	struct virtio_dev *dev;
	struct block *bk;
	off_t have;

	if (idx >= vm->cfg->nr_disks || dd->fd[idx] >= 0 || dd->q[idx]) {
		snprintf(err, errlen, "corrupt stream: disk %u", idx);
		return -1;
	}
	dc = &vm->cfg->disks[idx];
	if (dc->readonly) {
		snprintf(err, errlen, "disk %.400s: read-only, not copied",
			 dc->path);
		return -1;
	}
	dd->path[idx] = dc->path;
	dev = virtio_find(vm, DEVICE_VIRTIO_BLK, idx);
	bk = dev ? virtio_blk_block(dev, path, sizeof(path)) : NULL;
	/* A qcow2 image through the drive's engine: the VM does not run. */
	dd->q[idx] = bk ? block_qcow2(bk) : NULL;
	if (dd->q[idx])
		have = (off_t)bk->size;
	else if ((dd->fd[idx] = open(dc->path, O_WRONLY | O_CLOEXEC)) < 0)
		have = -1;
	else
		have = lseek(dd->fd[idx], 0, SEEK_END);
	if (have < 0) {
		snprintf(err, errlen, "disk %.400s: %s", dc->path,
			 strerror(errno));
		return -1;
	}
	if ((uint64_t)have != size) {
		snprintf(err, errlen,
			 "disk %.400s: %llu bytes here, the source's has %llu",
			 dc->path, (unsigned long long)have,
			 (unsigned long long)size);
		return -1;
	}
	dd->size[idx] = size;
	return 0;
}

int mig_disks_accept(struct mig_dest *d, struct vm *vm, const uint8_t *p,
		     size_t len, char *err, size_t errlen)
{
	struct mig_disks_dst *dd;
	uint32_t n;

	if (d->disks || len < 8 || (memcpy(&n, p, 4), n > VMON_MAX_DISKS) ||
	    len != 8 + 16ULL * n) {
		snprintf(err, errlen, "corrupt stream: a bad disk list");
		return -1;
	}
	dd = calloc(1, sizeof(*dd));
	if (!dd) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < VMON_MAX_DISKS; i++)
		dd->fd[i] = -1;
	d->disks = dd;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx;
		uint64_t size;

		memcpy(&idx, p + 8 + 16ULL * i, 4);
		memcpy(&size, p + 16 + 16ULL * i, 8);
		if (accept_one(dd, vm, idx, size, err, errlen))
			return -1;
	}
	return 0;
}

static int write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[64 << 10];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w <= 0)
			return -1;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* Zeros over [@off, @off + @len) of a qcow2 image: whole clusters flagged. */
static int qcow2_put_zeroes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[64 << 10];
	uint64_t cl = 1ULL << qcow2_hdr(q)->cluster_bits, end = off + len;
	uint64_t a = (off + cl - 1) / cl * cl, b = end / cl * cl;
	int r = 0;

	if (a < b) {
		r = qcow2_zero(q, a, b - a, false);
		/* The rest: the partial clusters at either end. */
		for (uint64_t o = off; !r && o < a; o += sizeof(zeros))
			r = qcow2_write(q, o, zeros,
					a - o < sizeof(zeros) ? a - o :
								sizeof(zeros));
		off = b;
	}
	for (uint64_t o = off; !r && o < end; o += sizeof(zeros))
		r = qcow2_write(q, o, zeros,
				end - o < sizeof(zeros) ? end - o :
							  sizeof(zeros));
	return r;
}

/* Writes one BLOCKS run into drive @idx; the bytes written or -1 (errno). */
static ssize_t put_run(struct mig_disks_dst *dd, uint32_t idx, bool zero,
		       const uint8_t *data, uint64_t off, uint64_t n)
{
	int r;

	if (dd->q[idx]) {
		r = zero ? qcow2_put_zeroes(dd->q[idx], off, n) :
			   qcow2_write(dd->q[idx], off, data, n);
		errno = -r;
		return r ? -1 : (ssize_t)n;
	}
	if (zero)
		return write_zeroes(dd->fd[idx], off, n) ? -1 : (ssize_t)n;
	return pwrite(dd->fd[idx], data, n, (off_t)off);
}

int mig_disks_put(struct mig_dest *d, const uint8_t *p, size_t len, char *err,
		  size_t errlen)
{
	struct mig_disks_dst *dd = d->disks;
	uint32_t idx, flags;
	uint64_t off, n;
	ssize_t w;

	if (!dd || len < BLOCKS_HEAD)
		goto bad;
	memcpy(&idx, p, 4);
	memcpy(&flags, p + 4, 4);
	memcpy(&off, p + 8, 8);
	memcpy(&n, p + 16, 8);
	if (idx >= VMON_MAX_DISKS || (dd->fd[idx] < 0 && !dd->q[idx]) ||
	    n > RUN_MAX || off > dd->size[idx] || n > dd->size[idx] - off ||
	    len != BLOCKS_HEAD + ((flags & BLOCKS_F_ZERO) ? 0 : n))
		goto bad;
	w = put_run(dd, idx, flags & BLOCKS_F_ZERO, p + BLOCKS_HEAD, off, n);
	if (w != (ssize_t)n) {
		snprintf(err, errlen, "disk %.400s: write at %llu: %s",
			 dd->path[idx], (unsigned long long)off,
			 w < 0 ? strerror(errno) : "short write");
		return -1;
	}
	dd->bytes += n;
	return 0;
bad:
	snprintf(err, errlen, "corrupt stream: a bad disk block record");
	return -1;
}

int mig_disks_sync(struct mig_dest *d, char *err, size_t errlen)
{
	struct mig_disks_dst *dd = d->disks;

	for (unsigned int i = 0; dd && i < VMON_MAX_DISKS; i++) {
		int r = dd->q[i]       ? qcow2_flush(dd->q[i]) :
			dd->fd[i] >= 0 ? (fdatasync(dd->fd[i]) ? -errno : 0) :
					 0;

		if (r) {
			snprintf(err, errlen, "disk %.400s: sync: %s",
				 dd->path[i], strerror(-r));
			return -1;
		}
	}
	if (dd)
		pr_info("migration: received %llu bytes of disk",
			(unsigned long long)dd->bytes);
	mig_disks_dst_free(d);
	return 0;
}

void mig_disks_dst_free(struct mig_dest *d)
{
	struct mig_disks_dst *dd = d->disks;

	for (unsigned int i = 0; dd && i < VMON_MAX_DISKS; i++)
		if (dd->fd[i] >= 0)
			close(dd->fd[i]);
	free(dd);
	d->disks = NULL;
}
