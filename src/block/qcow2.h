/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qcow2.h - the qcow2 image format (QEMU's docs/interop/qcow2.txt): the
 * header parser (qcow2_meta.c), the image engine that reads and writes
 * through the L1/L2 tables and keeps the refcounts (qcow2.c, qcow2_alloc.c),
 * the consistency check (qcow2_check.c) and the block back-end
 * (qcow2_blk.c). The engine is synchronous (pread/pwrite on the caller's
 * thread): the back-end runs it on the I/O thread, `vmon img` on the main;
 * the back-end reads and writes allocated data clusters itself through
 * io_uring (qcow2_host_offset()), and the data of allocating writes
 * (qcow2_alloc_begin() .. qcow2_alloc_finish()).
 */
#ifndef VMON_BLOCK_QCOW2_H
#define VMON_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbU /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_CHAIN 16 /* backing files at most below an image */
#define QCOW2_MAX_REFT_BYTES (8ULL << 20) /* refcount table, at most */
/* Tables are limited so a hostile header cannot make us allocate much. */
#define QCOW2_MAX_L1_BYTES (32ULL << 20) /* L1 table, at most */

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ULL << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
/* Extended L2 entries: 32 subclusters a cluster, clusters of 16 KiB on. */
#define QCOW2_SUBCLUSTERS 32
#define QCOW2_EXTL2_MIN_CLUSTER_BITS 14

/* Table entries. */
#define QCOW2_OFLAG_COPIED (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO (1ULL << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ULL
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ULL

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

/* The header, in host order, with what its extensions say. */
struct qcow2_header {
	uint32_t version; /* 2 or 3 */
	uint32_t cluster_bits;
	uint64_t size; /* virtual, bytes */
	uint64_t backing_offset;
	uint32_t backing_len;
	uint32_t crypt_method;
	uint32_t l1_size; /* entries */
	uint64_t l1_offset;
	uint64_t reft_offset;
	uint32_t reft_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order; /* refcounts of 1 << order bits */
	uint32_t header_len;
	uint8_t compression; /* enum qcow2_compression */
	char backing[QCOW2_MAX_BACKING_NAME + 1]; /* "": none */
	char backing_fmt[16]; /* the backing format extension, "": none */
	bool has_data_file; /* the external data file extension */
	bool has_crypto; /* the full disk encryption extension */
	uint32_t ext_end; /* where the extensions end in the first cluster */
};

/* log2 of an L2 table entry's bytes: 16 with extended L2 entries, else 8. */
static inline unsigned int qcow2_l2_entry_bits(const struct qcow2_header *h)
{
	return h->incompat & QCOW2_INCOMPAT_EXTL2 ? 4 : 3;
}

/*
 * Parses and checks the header in @buf (@len bytes, the file's first
 * bytes) of a file of @file_size bytes: 0, or -1 with @err saying what
 * is wrong or unsupported (without the image's name).
 */
int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
		       struct qcow2_header *h, char *err, size_t errlen);
/* true if @buf (4 bytes at least) starts with the qcow2 magic. */
bool qcow2_probe(const uint8_t *buf, size_t len);
/*
 * Writes the header @h describes into @buf of @len bytes (a cluster):
 * version 2 or 3 (@h->version; 0 is 3), and for version 3 refcounts of
 * @h->refcount_order (version 2 has 16-bit ones), the lazy refcounts bit of
 * @h->compat, extended L2 entries if @h->incompat has their bit, and
 * compression type @h->compression; the backing file
 * @h->backing and its format. Its length, or -1 if it does not fit.
 */
int qcow2_format_header(const struct qcow2_header *h, uint8_t *buf, size_t len);
/*
 * Rewrites @b, the first @len bytes of an image (its first cluster, or
 * the whole file if smaller) parsed into @h, so that it names backing
 * file @name ("": none) of format @fmt ("": no format extension): the
 * other header extensions kept as they are, the name after them. 0, or
 * -1 if that does not fit in @len bytes (or the extensions do not end
 * there).
 */
int qcow2_header_set_backing(uint8_t *b, size_t len,
			     const struct qcow2_header *h, const char *name,
			     const char *fmt);
/* What a new image has allocated (qemu-img create -o preallocation). */
enum qcow2_prealloc {
	QCOW2_PREALLOC_OFF, /* nothing: every cluster reads from below */
	QCOW2_PREALLOC_METADATA, /* every cluster, its data a file hole */
	QCOW2_PREALLOC_FALLOC, /* and the data's blocks (fallocate) */
	QCOW2_PREALLOC_FULL, /* and zeros written there */
};
/*
 * Bytes @off to @off + @len of @fd (a raw image, or a qcow2 image's data
 * clusters) preallocated as @pre says: blocks allocated (FALLOC), or
 * zeros written (FULL); nothing otherwise. 0 or -errno.
 */
int qcow2_prealloc_range(int fd, uint64_t off, uint64_t len,
			 enum qcow2_prealloc pre);
/*
 * A new empty image in @fd (truncated by the caller) of @h->size bytes
 * (a multiple of 512) with the options set in @h (cluster_bits,
 * refcount_order, version, compat, compression, extended L2 entries,
 * backing): the header,
 * the refcount table and blocks, the L1 table, and as @pre says L2 tables
 * naming a data cluster for every guest cluster (after all tables,
 * contiguous, reading as zeros), synced. The table fields of @h are
 * filled in. 0 or -errno (-EFBIG: the L1 table would be larger than
 * QCOW2_MAX_L1_BYTES; -ENAMETOOLONG: the header does not fit in a
 * cluster).
 */
int qcow2_create_fd(int fd, struct qcow2_header *h, enum qcow2_prealloc pre);

/* Big-endian fields. */
static inline uint64_t qcow2_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline uint32_t qcow2_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void qcow2_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

struct qcow2;

/* What the engine writes to an image file, for qcow2_set_hooks(). */
enum qcow2_wkind {
	QCOW2_W_DATA,
	QCOW2_W_REFCOUNT, /* refcount blocks (and new refcount tables) */
	QCOW2_W_L2,
	QCOW2_W_L1,
	QCOW2_W_HEADER,
	QCOW2_W_SYNC, /* an fdatasync (@off, @len 0) */
};
/* Told of each write (and sync) of the image file, before it is made. */
typedef void (*qcow2_trace_fn)(void *opaque, enum qcow2_wkind k, uint64_t off,
			       uint64_t len);
/*
 * Called before clusters freed since the last flush become free again:
 * I/O the caller issued itself to the image's clusters must end first.
 */
typedef void (*qcow2_drain_fn)(void *opaque);

/*
 * An image and its backing chain (qcow2 or raw, read-only). Returns
 * NULL with @err ("PATH: cause") on failure. @fd >= 0: the image is
 * that already open file (its path still names it in messages).
 */
struct qcow2 *qcow2_open(const char *path, int fd, bool readonly, char *err,
			 size_t errlen);
void qcow2_close(struct qcow2 *q);
uint64_t qcow2_size(const struct qcow2 *q);
const struct qcow2_header *qcow2_hdr(const struct qcow2 *q);

/* Guest bytes: 0 or -errno (reads past the end fail). */
int qcow2_read(struct qcow2 *q, uint64_t off, void *buf, uint64_t len);
int qcow2_write(struct qcow2 *q, uint64_t off, const void *buf, uint64_t len);
/*
 * Cluster @off (aligned, unallocated: -EEXIST otherwise) of the image
 * from the cluster of data @buf, compressed with the image's compression
 * type: 0, 1 if it does not get smaller (nothing written: write it with
 * qcow2_write()), or -errno.
 */
int qcow2_write_compressed(struct qcow2 *q, uint64_t off, const void *buf);
/* Clusters wholly inside the range read as zeroes afterwards. */
int qcow2_zero(struct qcow2 *q, uint64_t off, uint64_t len, bool discard);
/* The cluster at @off reads from the backing file again (commit). */
int qcow2_unallocate(struct qcow2 *q, uint64_t off);
/*
 * Grows the virtual size to @size (a multiple of 512; the new part reads
 * as zeros or from the backing file, as qemu-img resize leaves it), with
 * a larger L1 table if the old one cannot cover it: written and synced
 * before the header names it, the old one freed at the next flush (a
 * crash in between leaks clusters). 0 or -errno (-EINVAL: smaller, or
 * not a multiple of 512; -EFBIG: past the L1 table's limit).
 */
int qcow2_grow(struct qcow2 *q, uint64_t size);
/*
 * Metadata and data reach stable storage, in the crash-safe order
 * (docs/qcow2.md): dirty refcount blocks, fdatasync, dirty L2 tables,
 * fdatasync, the L1 table, fdatasync; then the clusters freed since the
 * last flush are unreferenced (and written, and synced).
 */
int qcow2_flush(struct qcow2 *q);
/*
 * The same flush for a caller that does its fdatasyncs itself (the block
 * back-end, on io_uring, so that its thread never waits for the disk):
 * qcow2_flush_start(), then qcow2_flush_step() until it returns other
 * than -EINPROGRESS (0 or -errno: the flush's result). -EINPROGRESS: the
 * image file (qcow2_fd()) needs an fdatasync first; qcow2_synced() with
 * its result (0 or -errno), then, if it succeeded, the next step (a
 * failed one ends the flush with its error). Between the steps the image
 * may be read but not changed: the caller holds its other requests.
 * Once an fdatasync failed, here or in the engine, every later sync and
 * flush of @q fails (-EIO): written pages may have been dropped.
 */
void qcow2_flush_start(struct qcow2 *q);
int qcow2_flush_step(struct qcow2 *q);
void qcow2_synced(struct qcow2 *q, int res);
/*
 * Whether a flush has metadata to write (or frees to apply, or fails):
 * false: an fdatasync of the image file is the whole flush.
 */
bool qcow2_meta_dirty(const struct qcow2 *q);
/* @trace (NULL: none) and @drain (NULL: none) get @opaque. */
void qcow2_set_hooks(struct qcow2 *q, qcow2_trace_fn trace,
		     qcow2_drain_fn drain, void *opaque);
/*
 * Where guest byte @off is plain data in a file: this image's allocated,
 * not compressed or zero cluster, or (reads) such data of a backing
 * file below an unallocated cluster; with @for_write, only a cluster of
 * this image that can be written in place. true: @fd and @host say where,
 * @len how many bytes from @off on are there contiguously (to the end of
 * the cluster at most). false: the engine handles that cluster.
 */
bool qcow2_host_offset(struct qcow2 *q, uint64_t off, bool for_write,
		       uint64_t *host, uint64_t *len, int *fd);
/*
 * An allocating write done by the caller (the back-end, through
 * io_uring), in three steps. qcow2_alloc_begin(): the cluster of guest
 * byte @off, not writable in place (old L2 entry in @old), gets a new
 * cluster @host with refcount 1 (-EEXIST: it is writable in place, or
 * it is its own with subclusters to fill: qcow2_sub_write()).
 * qcow2_alloc_fill(): the cluster's content as the guest sees it now
 * into @buf (a cluster), for a partial write (the caller may instead read
 * it from where qcow2_host_offset() says). Then the caller writes the
 * whole cluster at @host, and when that write has completed (@res 0) or
 * failed (@res -errno, or short: -EIO), qcow2_alloc_finish(): the L2
 * entry names @host and the old clusters are freed; or, on failure, @host
 * is freed and nothing names it. The trace sees a QCOW2_W_DATA event of
 * length 0 for the caller's write. Requests to the same cluster must not
 * overlap begin and finish (the caller serialises them).
 */
int qcow2_alloc_begin(struct qcow2 *q, uint64_t off, uint64_t *host,
		      uint64_t *old);
int qcow2_alloc_fill(struct qcow2 *q, uint64_t off, uint8_t *buf);
int qcow2_alloc_finish(struct qcow2 *q, uint64_t off, uint64_t host,
		       uint64_t old, int res);
/*
 * An allocating write of subclusters (extended L2 entries) done by the
 * caller (the back-end, through io_uring), for @len bytes at guest byte
 * @off within one cluster, a write qcow2_sub_write() accepts.
 * qcow2_sub_begin(): the cluster's host cluster @host (its own, or a new
 * one with refcount 1: *@fresh) and the bytes of it to write,
 * [@ws, @we) from the cluster's start: the write's, widened to whole
 * subclusters where those are not allocated (up to the virtual size).
 * The caller fills the widened parts with what the guest reads there now
 * (qcow2_read()), writes [@ws, @we) at @host + @ws, and when that has
 * completed (@res 0) or failed (@res -errno), qcow2_sub_finish(): the
 * subclusters written are marked allocated (zero no more), or a new host
 * cluster is freed again. Requests to the same cluster must not overlap
 * begin and finish (the caller serialises them).
 */
int qcow2_sub_begin(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *host,
		    bool *fresh, uint64_t *ws, uint64_t *we);
int qcow2_sub_finish(struct qcow2 *q, uint64_t off, uint64_t ws, uint64_t we,
		     uint64_t host, bool fresh, int res);
/*
 * Whether a write of @len bytes at guest byte @off (within a cluster) is
 * one of subclusters (qcow2_sub_begin(); qcow2_write() does the same):
 * with extended L2 entries, to a cluster of this image's own with
 * subclusters not allocated, or to a part of a cluster with no host
 * cluster (only the subclusters it reaches are allocated, as QEMU does).
 * Nothing of a cluster's allocated subclusters is written but the
 * guest's bytes, so the caller's writes in flight to them stay as they
 * are.
 */
bool qcow2_sub_write(struct qcow2 *q, uint64_t off, uint64_t len);
/*
 * While @on, qcow2_host_offset() never writes to the image: a table it
 * needs that is not cached, and whose load would evict a table not yet
 * written, makes it fail (false) instead. The block back-end maps reads
 * so while a flush runs in steps, during which the image must not change.
 */
void qcow2_set_peek(struct qcow2 *q, bool on);
/* The image's file descriptor (the back-end's own I/O on data clusters). */
int qcow2_fd(const struct qcow2 *q);
/* Whether a cluster-aligned guest range is allocated in this image. */
bool qcow2_is_allocated(struct qcow2 *q, uint64_t off);
/* The image's backing chain, for `img info` ("" at the end). */
const char *qcow2_backing_path(const struct qcow2 *q, unsigned int depth);
const char *qcow2_backing_format(const struct qcow2 *q, unsigned int depth);
/* The backing image's raw fd and engine (NULL: raw or none). */
struct qcow2 *qcow2_backing(struct qcow2 *q);
int qcow2_backing_fd(const struct qcow2 *q);

/* Results of qcow2_check(). */
struct qcow2_check {
	uint64_t corruptions, leaks;
	uint64_t allocated, total; /* clusters: data; of the virtual size */
	uint64_t image_end; /* bytes */
};
/*
 * Recomputes every refcount of @q from its tables and compares them with
 * the stored ones. Each problem is printed to stderr when @verbose.
 * Returns 0, or -errno if the tables could not be read.
 */
int qcow2_check(struct qcow2 *q, struct qcow2_check *r, bool verbose);
/*
 * Rewrites the refcounts of @q (opened for writing) that are above their
 * references (leaks) and, with @all, below them (then flushes). @fixed
 * gets how many of each were repaired. References outside the file and
 * wrong COPIED flags are not repaired. Returns 0 or -errno.
 */
int qcow2_check_repair(struct qcow2 *q, bool all, struct qcow2_check *fixed,
		       bool verbose);

#endif
