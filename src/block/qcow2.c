// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2.c - the qcow2 image engine (qcow2.h): opening an image and its
 * backing chain, guest reads (allocated, zero, compressed and backing
 * clusters), writes (allocating clusters with copy-on-write from below),
 * zeroing and discarding clusters, and flushes. Metadata lives in
 * qcow2_alloc.c. Everything is synchronous on the caller's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2_int.h"

#define HEADER_PROBE 4096

struct chain_seen {
	dev_t dev[QCOW2_MAX_CHAIN + 1];
	ino_t ino[QCOW2_MAX_CHAIN + 1];
	unsigned int n;
};

static struct qcow2 *open_chain(const char *path, int fd, bool readonly,
				struct chain_seen *seen, char *err,
				size_t errlen);

/* The first cluster (at most) of @q's file, parsed into q->h. */
static int read_header(struct qcow2 *q, char *err, size_t errlen)
{
	uint64_t len = q->file_size < (1ULL << QCOW2_MAX_CLUSTER_BITS) ?
			       q->file_size :
			       (1ULL << QCOW2_MAX_CLUSTER_BITS);
	uint8_t *b = malloc(len ? len : 1);
	char why[256];
	int r = -ENOMEM;

	if (b && !qcow2_pread(q, b, len, 0)) {
		r = qcow2_parse_header(b, len, q->file_size, &q->h, why,
				       sizeof(why));
		if (r)
			snprintf(err, errlen, "%.400s: %s", q->path, why);
	} else {
		snprintf(err, errlen, "%.400s: cannot read the header",
			 q->path);
	}
	free(b);
	return r ? -1 : 0;
}

/* Features that forbid writing, and the autoclear bits we drop. */
static int check_writable(struct qcow2 *q, char *err, size_t errlen)
{
	const char *why = NULL;
	uint8_t z[8] = { 0 };

	if (q->h.incompat & QCOW2_INCOMPAT_CORRUPT)
		why = "marked corrupt (repair it with qemu-img check -r all)";
	else if (q->h.nb_snapshots)
		why = "internal snapshots are not supported for writing";
	if (why) {
		snprintf(err, errlen, "%.400s: %s", q->path, why);
		return -1;
	}
	if (q->h.version == 3 && q->h.autoclear) {
		q->h.autoclear = 0;
		return qcow2_pwrite(q, QCOW2_W_HEADER, z, 8, 88) ? -1 : 0;
	}
	return 0;
}

/* An image left dirty (lazy refcounts) opened for writing: repaired. */
static int repair(struct qcow2 *q, char *err, size_t errlen)
{
	int r;

	if (q->readonly || !(q->h.incompat & QCOW2_INCOMPAT_DIRTY))
		return 0;
	r = qcow2_repair_refcounts(q);
	if (r)
		snprintf(
			err, errlen,
			"%.400s: dirty refcounts could not be repaired: %s (try qemu-img check -r all)",
			q->path, strerror(-r));
	return r ? -1 : 0;
}

static int load_table(struct qcow2 *q, uint64_t **t, uint64_t n, uint64_t off)
{
	uint8_t *raw;

	*t = calloc(n ? n : 1, 8);
	if (!*t || qcow2_pread(q, *t, n * 8, off))
		return -1;
	raw = (uint8_t *)*t;
	for (uint64_t i = 0; i < n; i++)
		(*t)[i] = qcow2_be64(raw + i * 8);
	return 0;
}

static int init_engine(struct qcow2 *q, char *err, size_t errlen)
{
	q->cs = 1ULL << q->h.cluster_bits;
	q->l2_eb = qcow2_l2_entry_bits(&q->h);
	q->l2_bits = q->h.cluster_bits - q->l2_eb;
	q->extl2 = q->l2_eb == 4;
	q->ss = q->cs / QCOW2_SUBCLUSTERS;
	q->reft_n = q->h.reft_clusters * q->cs / 8;
	q->rb_entries = q->cs * 8 >> q->h.refcount_order;
	q->l2c.n = q->h.l1_size < 16 ? 16 : QCOW2_CACHE_MAX;
	q->rbc.n = 8;
	q->l2c.kind = QCOW2_W_L2;
	q->rbc.kind = QCOW2_W_REFCOUNT;
	q->cow = malloc(q->cs);
	q->cbuf = malloc(2 * q->cs);
	q->dbuf = malloc(q->cs);
	q->zd = ZSTD_createDCtx();
	q->zs_ready = inflateInit2(&q->zs, -12) == Z_OK;
	if (!q->cow || !q->cbuf || !q->dbuf || !q->zd || !q->zs_ready ||
	    load_table(q, &q->l1, q->h.l1_size, q->h.l1_offset) ||
	    load_table(q, &q->reft, q->reft_n, q->h.reft_offset)) {
		snprintf(err, errlen, "%.400s: cannot load its tables",
			 q->path);
		return -1;
	}
	return 0;
}

/* The backing file's name, relative to @q's directory unless absolute. */
static void backing_name(struct qcow2 *q)
{
	const char *slash = strrchr(q->path, '/');

	if (q->h.backing[0] == '/' || !slash)
		snprintf(q->bpath, sizeof(q->bpath), "%s", q->h.backing);
	else
		snprintf(q->bpath, sizeof(q->bpath), "%.*s/%s",
			 (int)(slash - q->path), q->path, q->h.backing);
}

static int open_raw_backing(struct qcow2 *q, char *err, size_t errlen)
{
	struct stat st;

	q->bfd = open(q->bpath, O_RDONLY | O_CLOEXEC);
	if (q->bfd < 0 || fstat(q->bfd, &st)) {
		snprintf(err, errlen, "%.300s: backing file %.300s: %s",
			 q->path, q->bpath, strerror(errno));
		return -1;
	}
	q->bsize = (uint64_t)st.st_size;
	return 0;
}

static int open_backing(struct qcow2 *q, struct chain_seen *seen, char *err,
			size_t errlen)
{
	char sub[1024];
	uint8_t magic[4] = { 0 };

	if (!q->h.backing[0])
		return 0;
	backing_name(q);
	snprintf(q->bfmt, sizeof(q->bfmt), "%s", q->h.backing_fmt);
	if (q->bfmt[0] && strcmp(q->bfmt, "raw") != 0 &&
	    strcmp(q->bfmt, "qcow2") != 0) {
		snprintf(err, errlen,
			 "%.300s: backing format %s is not supported", q->path,
			 q->bfmt);
		return -1;
	}
	if (open_raw_backing(q, err, errlen))
		return -1;
	if (!q->bfmt[0])
		snprintf(q->bfmt, sizeof(q->bfmt), "%s",
			 pread(q->bfd, magic, 4, 0) == 4 &&
					 qcow2_probe(magic, 4) ?
				 "qcow2" :
				 "raw");
	if (!strcmp(q->bfmt, "raw"))
		return 0;
	q->bq = open_chain(q->bpath, q->bfd, true, seen, sub, sizeof(sub));
	if (!q->bq) {
		snprintf(err, errlen, "%.300s: backing file: %.600s", q->path,
			 sub);
		return -1;
	}
	q->bfd = -1; /* the backing engine owns it */
	q->bsize = q->bq->h.size;
	return 0;
}

/* (dev, inode) of @q's file not seen yet in the chain. */
static int check_loop(struct qcow2 *q, struct chain_seen *seen, char *err,
		      size_t errlen)
{
	struct stat st;

	if (fstat(q->fd, &st))
		return -1;
	for (unsigned int i = 0; i < seen->n; i++)
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
			snprintf(err, errlen,
				 "%.400s: the backing chain loops back to it",
				 q->path);
			return -1;
		}
	if (seen->n == QCOW2_MAX_CHAIN + 1) {
		snprintf(err, errlen,
			 "%.400s: the backing chain is longer than %d images",
			 q->path, QCOW2_MAX_CHAIN);
		return -1;
	}
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n++] = st.st_ino;
	q->file_size = (uint64_t)st.st_size;
	return 0;
}

static struct qcow2 *open_chain(const char *path, int fd, bool readonly,
				struct chain_seen *seen, char *err,
				size_t errlen)
{
	struct qcow2 *q = calloc(1, sizeof(*q));

	if (!q) {
		snprintf(err, errlen, "%.400s: out of memory", path);
		return NULL;
	}
	snprintf(q->path, sizeof(q->path), "%s", path);
	q->readonly = readonly;
	q->bfd = -1;
	q->fd = fd >= 0 ?
			fd :
			open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (q->fd < 0) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		free(q);
		return NULL;
	}
	if (check_loop(q, seen, err, errlen) || read_header(q, err, errlen) ||
	    (!readonly && check_writable(q, err, errlen)) ||
	    init_engine(q, err, errlen) || repair(q, err, errlen) ||
	    open_backing(q, seen, err, errlen)) {
		qcow2_close(q);
		return NULL;
	}
	q->opened = true;
	return q;
}

struct qcow2 *qcow2_open(const char *path, int fd, bool readonly, char *err,
			 size_t errlen)
{
	struct chain_seen seen = { .n = 0 };

	return open_chain(path, fd, readonly, &seen, err, errlen);
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->opened && !q->readonly && !q->corrupt && qcow2_flush(q))
		fprintf(stderr, "vmon: %s: metadata could not be written\n",
			q->path);
	if (q->bq)
		qcow2_close(q->bq);
	if (q->bfd >= 0)
		close(q->bfd);
	if (q->fd >= 0)
		close(q->fd);
	qcow2_cache_free(&q->l2c);
	qcow2_cache_free(&q->rbc);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	ZSTD_freeDCtx(q->zd);
	qcow2_compress_free(q);
	free(q->l1);
	free(q->reft);
	free(q->pfree);
	free(q->cow);
	free(q->cbuf);
	free(q->dbuf);
	free(q);
}

uint64_t qcow2_size(const struct qcow2 *q)
{
	return q->h.size;
}

const struct qcow2_header *qcow2_hdr(const struct qcow2 *q)
{
	return &q->h;
}

static const struct qcow2 *chain_at(const struct qcow2 *q, unsigned int depth)
{
	while (q && depth--)
		q = q->bq;
	return q;
}

const char *qcow2_backing_path(const struct qcow2 *q, unsigned int depth)
{
	q = chain_at(q, depth);
	return q && q->h.backing[0] ? q->bpath : "";
}

const char *qcow2_backing_format(const struct qcow2 *q, unsigned int depth)
{
	q = chain_at(q, depth);
	return q ? q->bfmt : "";
}

struct qcow2 *qcow2_backing(struct qcow2 *q)
{
	return q->bq;
}

int qcow2_backing_fd(const struct qcow2 *q)
{
	return q->bfd;
}

static int inflate_zlib(struct qcow2 *q, uint64_t n)
{
	int r;

	inflateReset(&q->zs);
	q->zs.next_in = q->cbuf;
	q->zs.avail_in = (uInt)n;
	q->zs.next_out = q->dbuf;
	q->zs.avail_out = (uInt)q->cs;
	r = inflate(&q->zs, Z_FINISH);
	return (r == Z_STREAM_END || r == Z_BUF_ERROR) && !q->zs.avail_out ? 0 :
									     -1;
}

static int inflate_zstd(struct qcow2 *q, uint64_t n)
{
	ZSTD_inBuffer in = { q->cbuf, n, 0 };
	ZSTD_outBuffer out = { q->dbuf, q->cs, 0 };

	ZSTD_DCtx_reset(q->zd, ZSTD_reset_session_only);
	while (out.pos < out.size) {
		size_t r = ZSTD_decompressStream(q->zd, &out, &in);

		if (ZSTD_isError(r))
			return -1;
		if (r == 0 || in.pos == in.size)
			break;
	}
	return out.pos == out.size ? 0 : -1;
}

/* The cluster compressed entry @e describes, into q->dbuf. */
static int decompress(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len;

	if (q->dbuf_entry == e)
		return 0;
	q->dbuf_entry = 0;
	qcow2_compressed_range(q, e, &off, &len);
	if (len > 2 * q->cs || off >= q->file_size)
		return qcow2_mark_corrupt(q, "compressed cluster", off);
	if (off + len > q->file_size)
		len = q->file_size - off;
	if (qcow2_pread(q, q->cbuf, len, off))
		return -EIO;
	if (q->h.compression == QCOW2_COMP_ZSTD ? inflate_zstd(q, len) :
						  inflate_zlib(q, len))
		return qcow2_mark_corrupt(q, "compressed cluster data", off);
	q->dbuf_entry = e;
	return 0;
}

/* @len bytes at @off from below @q (zeroes past the backing file). */
static int read_backing(struct qcow2 *q, uint64_t off, uint8_t *buf,
			uint64_t len)
{
	uint64_t n = off >= q->bsize	  ? 0 :
		     q->bsize - off < len ? q->bsize - off :
					    len;

	memset(buf + n, 0, len - n);
	if (!n)
		return 0;
	if (q->bq)
		return qcow2_read(q->bq, off, buf, n);
	return pread(q->bfd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -EIO;
}

/*
 * Whether qcow2_l2_get()'s entry @e is read and written subcluster by
 * subcluster (a compressed entry's bit 1 is part of its offset).
 */
static bool sub(const struct qcow2 *q, uint64_t e)
{
	return q->extl2 && (e & (QCOW2_OFLAG_SUB | QCOW2_OFLAG_COMPRESSED)) ==
				   QCOW2_OFLAG_SUB;
}

/* What a subcluster holds (extended L2 entries). */
enum sub_state { SUB_BELOW, SUB_DATA, SUB_ZERO };

static enum sub_state sub_state(uint64_t bitmap, unsigned int i)
{
	return bitmap >> i & 1	      ? SUB_DATA :
	       bitmap >> (32 + i) & 1 ? SUB_ZERO :
					SUB_BELOW;
}

/*
 * The bytes from guest byte @off on (@len at most, within its cluster)
 * whose subclusters are in the state of @off's, that state in @st.
 */
static uint64_t sub_run(const struct qcow2 *q, uint64_t bitmap, uint64_t off,
			uint64_t len, enum sub_state *st)
{
	unsigned int i = (unsigned int)((off & (q->cs - 1)) / q->ss);
	uint64_t n = q->ss - (off & (q->ss - 1));

	*st = sub_state(bitmap, i);
	while (n < len && ++i < QCOW2_SUBCLUSTERS &&
	       sub_state(bitmap, i) == *st)
		n += q->ss;
	return n < len ? n : len;
}

/*
 * The host cluster of extended entry @e with @bitmap, checked if a
 * subcluster is allocated in it: its offset, or 0 (the image is then
 * marked corrupt, *@r = -EIO).
 */
static uint64_t sub_host(struct qcow2 *q, uint64_t e, uint64_t bitmap, int *r)
{
	uint64_t host = e & QCOW2_OFFSET_MASK;

	*r = 0;
	if ((bitmap & QCOW2_SUB_ALL) && (host % q->cs || host >= q->file_size))
		*r = qcow2_mark_corrupt(q, "data cluster offset", host);
	return *r ? 0 : host;
}

/* @len bytes at @off of a cluster read subcluster by subcluster. */
static int read_sub(struct qcow2 *q, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t e, bm, host = 0;
	int r = qcow2_l2_get_sub(q, off, &e, &bm);

	if (!r)
		host = sub_host(q, e, bm, &r);
	while (!r && len) {
		enum sub_state st;
		uint64_t n = sub_run(q, bm, off, len, &st);

		if (st == SUB_DATA)
			r = qcow2_pread(q, buf, n, host + (off & (q->cs - 1)));
		else if (st == SUB_ZERO)
			memset(buf, 0, n);
		else
			r = read_backing(q, off, buf, n);
		off += n;
		buf += n;
		len -= n;
	}
	return r;
}

/* @len bytes at @off, within one cluster. */
static int read_piece(struct qcow2 *q, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t e, host;
	int r = qcow2_l2_get(q, off, &e);

	if (r)
		return r;
	if (sub(q, e))
		return read_sub(q, off, buf, len);
	if (e & QCOW2_OFLAG_COMPRESSED) {
		r = decompress(q, e & ~QCOW2_OFLAG_COPIED);
		if (!r)
			memcpy(buf, q->dbuf + (off & (q->cs - 1)), len);
		return r;
	}
	if (e & QCOW2_OFLAG_ZERO && q->h.version == 3) {
		memset(buf, 0, len);
		return 0;
	}
	host = e & QCOW2_OFFSET_MASK;
	if (!host)
		return read_backing(q, off, buf, len);
	if (host % q->cs || host >= q->file_size)
		return qcow2_mark_corrupt(q, "data cluster offset", host);
	return qcow2_pread(q, buf, len, host + (off & (q->cs - 1)));
}

/* Calls @fn on each piece of [@off, @off + @len) within one cluster. */
#define FOR_PIECES(q, off, len, buf, fn)                                \
	({                                                              \
		int _r = 0;                                             \
		uint64_t _done = 0;                                     \
		if ((off) > (q)->h.size || (len) > (q)->h.size - (off)) \
			_r = -EINVAL;                                   \
		while (!_r && _done < (len)) {                          \
			uint64_t _o = (off) + _done;                    \
			uint64_t _n = (q)->cs - (_o & ((q)->cs - 1));   \
			if (_n > (len)-_done)                           \
				_n = (len)-_done;                       \
			_r = fn((q), _o, (buf) + _done, _n);            \
			_done += _n;                                    \
		}                                                       \
		_r;                                                     \
	})

int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, uint64_t len)
{
	return FOR_PIECES(q, off, len, (uint8_t *)buf, read_piece);
}

/* Whether entry @e has a host cluster of this image's own (refcount 1). */
static bool own(const struct qcow2 *q, uint64_t e)
{
	return !(e & QCOW2_OFLAG_COMPRESSED) && e & QCOW2_OFLAG_COPIED &&
	       (e & QCOW2_OFFSET_MASK) &&
	       !(q->h.version == 3 && e & QCOW2_OFLAG_ZERO);
}

/* Whether entry @e is a cluster of this image that can be written in place. */
static bool in_place(const struct qcow2 *q, uint64_t e)
{
	return own(q, e) && !sub(q, e);
}

/*
 * A new data cluster with refcount 1 at *@host, counted in the file's
 * size (written before anything names it): 0 or -errno.
 */
static int new_data_cluster(struct qcow2 *q, uint64_t *host)
{
	int r;

	*host = qcow2_alloc_cluster(q, &r);
	if (!*host)
		return r ? r : -EIO;
	if (*host + q->cs > q->file_size)
		q->file_size = *host + q->cs;
	return 0;
}

int qcow2_alloc_begin(struct qcow2 *q, uint64_t off, uint64_t *host,
		      uint64_t *old)
{
	int r;

	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	if (off >= q->h.size)
		return -EINVAL;
	if ((r = qcow2_l2_get(q, off, old)))
		return r;
	if (own(q, *old)) { /* in place, or subclusters filled in place */
		uint64_t h = *old & QCOW2_OFFSET_MASK;

		if (h % q->cs || h >= q->file_size)
			return qcow2_mark_corrupt(q, "data cluster offset",
						  *old);
		return -EEXIST; /* the caller writes it in place */
	}
	return new_data_cluster(q, host);
}

int qcow2_alloc_fill(struct qcow2 *q, uint64_t off, uint8_t *buf)
{
	uint64_t start = off & ~(q->cs - 1);
	uint64_t n = q->cs <= q->h.size - start ? q->cs : q->h.size - start;

	memset(buf + n, 0, q->cs - n);
	return qcow2_read(q, start, buf, n);
}

int qcow2_alloc_finish(struct qcow2 *q, uint64_t off, uint64_t host,
		       uint64_t old, int res)
{
	int r;

	if (res || q->corrupt) { /* nothing names the cluster: freed */
		r = qcow2_unref_now(q, host / q->cs);
		return res ? res : r ? r : -EIO;
	}
	if (q->trace) /* the data was written: an fdatasync orders it */
		q->trace(q->hook_opaque, QCOW2_W_DATA, host, 0);
	q->unsynced = true;
	if ((r = qcow2_l2_set(q, off, host | QCOW2_OFLAG_COPIED)))
		return r;
	if (old & QCOW2_OFLAG_COMPRESSED &&
	    q->dbuf_entry == (old & ~QCOW2_OFLAG_COPIED))
		q->dbuf_entry = 0;
	return qcow2_free_entry(q, old);
}

/*
 * A new cluster for the write of @len bytes at @off: the rest of the
 * cluster copied from what the guest saw, the data written, then the L2
 * entry, then the old clusters freed.
 */
static int write_alloc(struct qcow2 *q, uint64_t off, const uint8_t *buf,
		       uint64_t len)
{
	uint64_t host, old;
	int r = qcow2_alloc_begin(q, off, &host, &old);

	if (r)
		return r;
	if (len < q->cs)
		r = qcow2_alloc_fill(q, off, q->cow);
	if (!r) {
		memcpy(q->cow + (off & (q->cs - 1)), buf, len);
		r = qcow2_pwrite(q, QCOW2_W_DATA, q->cow, q->cs, host);
	}
	return qcow2_alloc_finish(q, off, host, old, r);
}

/*
 * Whether a write to a cluster of entry @e goes to its subclusters
 * (extended L2 entries): a host cluster of the image's own with
 * subclusters not allocated, or no host cluster yet (not compressed).
 */
static bool write_subs(const struct qcow2 *q, uint64_t e)
{
	if (!q->extl2 || e & QCOW2_OFLAG_COMPRESSED)
		return false;
	return !(e & QCOW2_OFFSET_MASK) || (sub(q, e) && own(q, e));
}

/* The subclusters [@ws, @we) (bytes from the cluster's start) reach. */
static uint64_t sub_mask(const struct qcow2 *q, uint64_t ws, uint64_t we)
{
	unsigned int i0 = (unsigned int)(ws / q->ss);
	unsigned int i1 = (unsigned int)((we - 1) / q->ss);

	return ((2ULL << i1) - 1) & ~((1ULL << i0) - 1);
}

int qcow2_sub_begin(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *host,
		    bool *fresh, uint64_t *ws, uint64_t *we)
{
	uint64_t e, bm, in = off & (q->cs - 1), start = off - in;
	uint64_t clen = q->h.size - start < q->cs ? q->h.size - start : q->cs;
	int r;

	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	if (!len || off >= q->h.size || in + len > clen)
		return -EINVAL;
	if ((r = qcow2_l2_get(q, off, &e)))
		return r;
	if (!write_subs(q, e))
		return -EINVAL;
	if ((r = qcow2_l2_get_sub(q, off, &e, &bm)))
		return r;
	*host = e & QCOW2_OFFSET_MASK;
	*fresh = !*host;
	if (*fresh && (r = new_data_cluster(q, host)))
		return r;
	if (!*fresh && (*host % q->cs || *host >= q->file_size))
		return qcow2_mark_corrupt(q, "data cluster offset", *host);
	/* Widened to whole subclusters where they are not allocated. */
	*ws = bm >> (in / q->ss) & 1 ? in : in & ~(q->ss - 1);
	*we = bm >> ((in + len - 1) / q->ss) & 1 ?
		      in + len :
		      (in + len + q->ss - 1) & ~(q->ss - 1);
	if (*we > clen)
		*we = clen;
	return 0;
}

int qcow2_sub_finish(struct qcow2 *q, uint64_t off, uint64_t ws, uint64_t we,
		     uint64_t host, bool fresh, int res)
{
	uint64_t e, bm, mask = sub_mask(q, ws, we);
	int r;

	if (res || q->corrupt) {
		if (fresh) /* nothing names it */
			qcow2_unref_now(q, host / q->cs);
		return res ? res : -EIO;
	}
	if (q->trace) /* the data was written: an fdatasync orders it */
		q->trace(q->hook_opaque, QCOW2_W_DATA, host + ws, 0);
	q->unsynced = true;
	if ((r = qcow2_l2_get_sub(q, off, &e, &bm)))
		return r;
	bm = (bm | mask) & ~(mask << 32);
	return qcow2_l2_set_sub(q, off, host | QCOW2_OFLAG_COPIED, bm);
}

/* Guest bytes [@a, @b) as the guest sees them now, written at @at. */
static int copy_view(struct qcow2 *q, uint64_t a, uint64_t b, uint64_t at)
{
	int r;

	if (a >= b)
		return 0;
	r = qcow2_read(q, a, q->cow, b - a);
	return r ? r : qcow2_pwrite(q, QCOW2_W_DATA, q->cow, b - a, at);
}

/*
 * A write within a cluster whose entry write_subs() accepts, made in its
 * host cluster (qcow2_sub_begin(): a new one if it has none, the
 * subclusters the write does not reach then stay unallocated, or zero):
 * the parts of subclusters not allocated that the write covers in part
 * get their content from below (or zeros) first, then the data is
 * written, then the subclusters are marked allocated. Besides the
 * guest's bytes only bytes of subclusters that were not allocated are
 * written, so writes in flight to the allocated ones are never undone.
 */
static int write_sub(struct qcow2 *q, uint64_t off, const uint8_t *buf,
		     uint64_t len)
{
	uint64_t host, ws, we, start = off & ~(q->cs - 1);
	bool fresh;
	int r = qcow2_sub_begin(q, off, len, &host, &fresh, &ws, &we);

	if (r)
		return r;
	r = copy_view(q, start + ws, off, host + ws);
	if (!r)
		r = copy_view(q, off + len, start + we,
			      host + off + len - start);
	if (!r)
		r = qcow2_pwrite(q, QCOW2_W_DATA, buf, len, host + off - start);
	return qcow2_sub_finish(q, off, ws, we, host, fresh, r);
}

bool qcow2_sub_write(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t e;

	if (off >= q->h.size || qcow2_l2_get(q, off, &e) || !write_subs(q, e))
		return false;
	return (e & QCOW2_OFFSET_MASK) || len < q->cs;
}

static int write_piece(struct qcow2 *q, uint64_t off, const uint8_t *buf,
		       uint64_t len)
{
	uint64_t e;
	int r = qcow2_l2_get(q, off, &e);

	if (r)
		return r;
	if (write_subs(q, e))
		return write_sub(q, off, buf, len);
	if (!in_place(q, e) || (e & QCOW2_OFFSET_MASK) % q->cs ||
	    (e & QCOW2_OFFSET_MASK) >= q->file_size)
		return write_alloc(q, off, buf, len); /* or marks it corrupt */
	return qcow2_pwrite(q, QCOW2_W_DATA, buf, len,
			    (e & QCOW2_OFFSET_MASK) + (off & (q->cs - 1)));
}

int qcow2_write(struct qcow2 *q, uint64_t off, const void *buf, uint64_t len)
{
	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	return FOR_PIECES(q, off, len, (const uint8_t *)buf, write_piece);
}

/* Whole cluster @off reads as zeroes (or is dropped, @discard). */
static int zero_cluster(struct qcow2 *q, uint64_t off, bool discard)
{
	bool below = q->h.backing[0];
	uint64_t e, ne;
	int r = qcow2_l2_get(q, off, &e);

	if (r)
		return r;
	if (q->h.version == 2 && below)
		return discard ? 0 : -EOPNOTSUPP;
	ne = q->h.version == 3 && (below || !discard) ? QCOW2_OFLAG_ZERO : 0;
	if (e == ne)
		return 0;
	if ((r = qcow2_l2_set(q, off, ne)))
		return r;
	if (e & QCOW2_OFLAG_COMPRESSED)
		q->dbuf_entry = 0;
	return qcow2_free_entry(q, e);
}

static int write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = len < q->cs ? len : q->cs;
		int r;

		memset(q->dbuf, 0, n);
		q->dbuf_entry = 0;
		r = qcow2_write(q, off, q->dbuf, n);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Whole subclusters [@a, @b) of one cluster (extended L2 entries) read
 * as zeros: their zero bits set, their allocated bits cleared (the host
 * cluster, if any, stays; QEMU does the same).
 */
static int zero_subs(struct qcow2 *q, uint64_t a, uint64_t b)
{
	uint64_t in = a & (q->cs - 1), e, bm;
	uint64_t mask = sub_mask(q, in, in + (b - a));
	int r = qcow2_l2_get(q, a, &e);

	if (r)
		return r;
	if (e & QCOW2_OFLAG_COMPRESSED) /* no subclusters: zeros written */
		return write_zeroes(q, a, b - a);
	if ((r = qcow2_l2_get_sub(q, a, &e, &bm)))
		return r;
	bm = (bm & ~mask) | mask << 32;
	return qcow2_l2_set_sub(q, a, e & ~(QCOW2_OFLAG_ZERO | QCOW2_OFLAG_SUB),
				bm);
}

/*
 * @len bytes at @off, within one cluster, read as zeros: with extended L2
 * entries the whole subclusters among them are marked zero, the rest (and
 * in other images all of it) written as zeros.
 */
static int zero_piece(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, a = (off + q->ss - 1) & ~(q->ss - 1);
	uint64_t b = end == q->h.size ? end : end & ~(q->ss - 1);
	int r;

	if (!q->extl2 || a >= b)
		return write_zeroes(q, off, len);
	if ((r = write_zeroes(q, off, a - off)) || (r = zero_subs(q, a, b)))
		return r;
	return write_zeroes(q, b, end - b);
}

/* @len bytes at @off (less than a cluster, maybe across two) read as zeros. */
static int zero_part(struct qcow2 *q, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = q->cs - (off & (q->cs - 1));
		int r;

		n = n < len ? n : len;
		if ((r = zero_piece(q, off, n)))
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2_zero(struct qcow2 *q, uint64_t off, uint64_t len, bool discard)
{
	uint64_t end = off + len, a, b;
	int r = 0;

	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	if (off > q->h.size || len > q->h.size - off)
		return -EINVAL;
	a = (off + q->cs - 1) & ~(q->cs - 1);
	b = end == q->h.size ? end : end & ~(q->cs - 1);
	if (a >= b) /* within one cluster */
		return discard ? 0 : zero_part(q, off, len);
	if (!discard && (r = zero_part(q, off, a - off)))
		return r;
	for (uint64_t c = a; !r && c < b; c += q->cs) {
		r = zero_cluster(q, c, discard);
		if (r == -EOPNOTSUPP)
			r = write_zeroes(q, c, b - c < q->cs ? b - c : q->cs);
	}
	if (!r && !discard && b < end)
		r = zero_part(q, b, end - b);
	return r;
}

int qcow2_unallocate(struct qcow2 *q, uint64_t off)
{
	uint64_t e;
	int r = qcow2_l2_get(q, off, &e);

	if (r || !e)
		return r;
	if ((r = qcow2_l2_set(q, off, 0)))
		return r;
	q->dbuf_entry = 0;
	return qcow2_free_entry(q, e);
}

bool qcow2_is_allocated(struct qcow2 *q, uint64_t off)
{
	uint64_t e, bm;

	if (qcow2_l2_get(q, off, &e))
		return false;
	if (sub(q, e)) /* a subcluster allocated or zero */
		return !qcow2_l2_get_sub(q, off, &e, &bm) && bm;
	return e & QCOW2_OFLAG_COMPRESSED || e & QCOW2_OFFSET_MASK ||
	       (q->h.version == 3 && e & QCOW2_OFLAG_ZERO);
}

/*
 * Where unallocated guest byte @off of @q reads from: plain data of its
 * backing file (raw, or a qcow2 image's own data further down), for
 * @len bytes at most (cut to the end of the cluster there).
 */
static bool below(struct qcow2 *q, uint64_t off, uint64_t *host, uint64_t *len,
		  int *fd)
{
	uint64_t n;

	if (!q->h.backing[0] || off >= q->bsize || *len > q->bsize - off)
		return false;
	if (!q->bq) {
		*fd = q->bfd;
		*host = off;
		return true;
	}
	if (!qcow2_host_offset(q->bq, off, false, host, &n, fd))
		return false;
	if (n < *len)
		*len = n;
	return true;
}

/* qcow2_host_offset() in a cluster read subcluster by subcluster. */
static bool sub_host_offset(struct qcow2 *q, uint64_t off, bool for_write,
			    uint64_t *host, uint64_t *len, int *fd)
{
	uint64_t e, bm, h;
	enum sub_state st;

	if (qcow2_l2_get_sub(q, off, &e, &bm))
		return false;
	*len = sub_run(q, bm, off, *len, &st);
	if (st == SUB_BELOW)
		return !for_write && below(q, off, host, len, fd);
	h = e & QCOW2_OFFSET_MASK;
	if (st == SUB_ZERO || (for_write && !(e & QCOW2_OFLAG_COPIED)) ||
	    h % q->cs || h >= q->file_size)
		return false; /* the engine's (which marks it corrupt) */
	*host = h + (off & (q->cs - 1));
	return true;
}

bool qcow2_host_offset(struct qcow2 *q, uint64_t off, bool for_write,
		       uint64_t *host, uint64_t *len, int *fd)
{
	uint64_t e, h;

	*len = q->cs - (off & (q->cs - 1));
	*fd = q->fd;
	if ((for_write && (q->readonly || q->corrupt)) || off >= q->h.size ||
	    qcow2_l2_get(q, off, &e))
		return false;
	if (sub(q, e))
		return sub_host_offset(q, off, for_write, host, len, fd);
	if (for_write ? !in_place(q, e) :
			e & QCOW2_OFLAG_COMPRESSED ||
				(q->h.version == 3 && e & QCOW2_OFLAG_ZERO))
		return false;
	h = e & QCOW2_OFFSET_MASK;
	if (!h && !for_write)
		return below(q, off, host, len, fd);
	if (!h || h % q->cs || h >= q->file_size)
		return false; /* the engine marks it corrupt */
	*host = h + (off & (q->cs - 1));
	return true;
}

void qcow2_set_peek(struct qcow2 *q, bool on)
{
	q->peek = on;
}

int qcow2_fd(const struct qcow2 *q)
{
	return q->fd;
}
