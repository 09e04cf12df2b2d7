/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qcow2_int.h - the qcow2 engine's state, shared by its files: the open
 * image (qcow2.c), its write-back table caches and the ordered metadata
 * flush (qcow2_cache.c), cluster allocation (qcow2_alloc.c). Nothing
 * outside src/block/qcow2*.c (and the unit test) includes it.
 */
#ifndef VMON_BLOCK_QCOW2_INT_H
#define VMON_BLOCK_QCOW2_INT_H

#include <limits.h>
#include <zlib.h>
#include <zstd.h>

#include "qcow2.h"

#define QCOW2_CACHE_MAX 64
/*
 * Not a bit of the format (bits 1-8 of an entry are reserved): set by
 * qcow2_l2_get() on an extended L2 entry whose subclusters are not all
 * alike, or that has a host cluster but not every subcluster allocated
 * in it.
 * Such a cluster is read and written subcluster by subcluster
 * (qcow2_l2_get_sub()); every other extended entry reads as the
 * standard entry it is equivalent to.
 */
#define QCOW2_OFLAG_SUB (1ULL << 1)
#define QCOW2_SUB_ALL 0xffffffffULL /* every subcluster's bit */
/* Clusters freed since the last flush, at most (then a flush). */
#define QCOW2_MAX_PENDING_FREES 4096

/*
 * A write-back cache of whole tables (L2 tables, refcount blocks): dirty
 * tables are written when evicted or flushed, in the order
 * qcow2_cache.c describes.
 */
struct qcow2_cache {
	unsigned int n;
	uint64_t tick;
	enum qcow2_wkind kind; /* QCOW2_W_L2 or QCOW2_W_REFCOUNT */
	struct {
		uint64_t off; /* 0: empty */
		uint64_t used;
		bool dirty;
		uint8_t *data;
	} e[QCOW2_CACHE_MAX];
};

struct qcow2 {
	char path[PATH_MAX];
	int fd;
	bool readonly, corrupt;
	bool opened; /* whole: flushed on close */
	struct qcow2_header h;
	uint64_t cs; /* cluster size */
	unsigned int l2_bits; /* entries per L2 table: 1 << l2_bits */
	unsigned int l2_eb; /* an entry's bytes: 1 << l2_eb (8 or 16) */
	bool extl2; /* extended L2 entries */
	uint64_t ss; /* subcluster size (extended L2 entries) */
	uint64_t file_size;
	uint64_t *l1; /* host order */
	uint64_t *reft; /* host order */
	uint64_t reft_n; /* entries */
	uint64_t rb_entries; /* refcounts a refcount block holds */
	uint64_t free_hint; /* no free cluster below it */
	struct qcow2_cache l2c, rbc;
	bool l1_dirty; /* l1 changed since it was last written */
	bool unsynced; /* written since the last fdatasync */
	/* An fdatasync failed: every later one fails (-EIO) without trying,
	 * as written pages may have been dropped (block.c says why). */
	bool sync_failed;
	/* qcow2_flush_step(): syncs are the caller's (-EINPROGRESS). */
	bool defer_sync;
	bool flush_meta_done; /* this flush wrote its tables */
	/* qcow2_set_peek(): lookups must not write (no dirty table evicted). */
	bool peek;
	/* Clusters to unreference once the entries that pointed to them are
	 * on disk (the next flush); not reused before. */
	uint64_t *pfree;
	size_t npfree, pfree_cap;
	qcow2_trace_fn trace;
	qcow2_drain_fn drain;
	void *hook_opaque;
	uint8_t *cow; /* a cluster: the data of an allocating write */
	/* Compressed clusters. */
	uint8_t *cbuf, *dbuf;
	uint64_t dbuf_entry; /* the L2 entry dbuf holds, 0: none */
	z_stream zs;
	bool zs_ready;
	ZSTD_DCtx *zd;
	/* Writing compressed clusters (qcow2_compress.c): the next free byte
	 * of the current compressed host cluster (0: none) and the
	 * references it has, the contexts. */
	uint64_t cfree, cfree_refs;
	z_stream zc;
	bool zc_ready;
	ZSTD_CCtx *zcc;
	/* The backing image: qcow2 (@bq) or raw (@bfd). */
	struct qcow2 *bq;
	int bfd;
	uint64_t bsize;
	char bpath[PATH_MAX];
	char bfmt[16];
};

/* Reads @len bytes at @off of the image file; short reads give zeroes. */
int qcow2_pread(struct qcow2 *q, void *buf, uint64_t len, uint64_t off);
/* Writes @len bytes at @off of the image file (@k: what, for the trace). */
int qcow2_pwrite(struct qcow2 *q, enum qcow2_wkind k, const void *buf,
		 uint64_t len, uint64_t off);
/*
 * fdatasync of the image file (if anything was written since the last);
 * inside qcow2_flush_step(), -EINPROGRESS instead (the caller syncs).
 */
int qcow2_sync(struct qcow2 *q);
/* Marks the image corrupt (header bit, writes refused): -EIO. */
int qcow2_mark_corrupt(struct qcow2 *q, const char *what, uint64_t off);
/*
 * The table at @off through @c (loaded on a miss; a dirty table evicted
 * for it is written first), or NULL.
 */
uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off);
/* A zeroed, dirty table at @off (a new cluster) in @c, or NULL. */
uint8_t *qcow2_cache_new(struct qcow2 *q, struct qcow2_cache *c, uint64_t off);
/* The table at @off of @c was changed (written at eviction or flush). */
void qcow2_cache_dirty(struct qcow2_cache *c, uint64_t off);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);
void qcow2_cache_free(struct qcow2_cache *c);
/* Writes @c's dirty tables (L2 tables: after the refcounts, synced). */
int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c);
/* Cluster @ci loses one reference at the next flush (qcow2_flush). */
int qcow2_defer_unref(struct qcow2 *q, uint64_t ci);
/* Drops one reference to cluster @ci now. */
int qcow2_unref_now(struct qcow2 *q, uint64_t ci);
/* One more reference to cluster @ci (a compressed host cluster). */
int qcow2_ref(struct qcow2 *q, uint64_t ci);
/* Frees the compression contexts (qcow2_close()). */
void qcow2_compress_free(struct qcow2 *q);

/*
 * The L2 entry of guest offset @voff (0: none). With extended L2 entries,
 * the standard entry the cluster is equivalent to: its host cluster if
 * every subcluster is allocated, QCOW2_OFLAG_ZERO if every one reads as
 * zeros and there is no host cluster, 0 if none is allocated or zero
 * either; otherwise the entry with QCOW2_OFLAG_SUB. An entry the
 * specification forbids (a subcluster both allocated and zero, or
 * allocated without a host cluster) marks the image corrupt.
 */
int qcow2_l2_get(struct qcow2 *q, uint64_t voff, uint64_t *entry);
/*
 * Sets it, allocating the L2 table if needed. With extended L2 entries
 * the bitmap follows the standard entry: a host cluster has every
 * subcluster allocated, QCOW2_OFLAG_ZERO every one zero.
 */
int qcow2_l2_set(struct qcow2 *q, uint64_t voff, uint64_t entry);
/* The extended entry as stored: first word and subcluster bitmap. */
int qcow2_l2_get_sub(struct qcow2 *q, uint64_t voff, uint64_t *entry,
		     uint64_t *bitmap);
int qcow2_l2_set_sub(struct qcow2 *q, uint64_t voff, uint64_t entry,
		     uint64_t bitmap);
/*
 * Whether extended entry @e with @bitmap is one the specification
 * allows (qcow2_check.c reports the others).
 */
bool qcow2_sub_valid(uint64_t e, uint64_t bitmap);
/* One new cluster with refcount 1: its offset, or 0 (error in @ret). */
uint64_t qcow2_alloc_cluster(struct qcow2 *q, int *ret);
/* Drops one reference to the clusters an L2 entry points to. */
int qcow2_free_entry(struct qcow2 *q, uint64_t entry);
/* The host range of a compressed entry. */
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry,
			    uint64_t *off, uint64_t *len);
/* Stores refcount @v for cluster @ci (its refcount block must exist). */
int qcow2_rc_put(struct qcow2 *q, uint64_t ci, uint64_t v);
/* Dirty image: every refcount set from the tables, then the bit cleared. */
int qcow2_repair_refcounts(struct qcow2 *q);
/* Refcount @i of refcount block @rb (of @order). */
uint64_t qcow2_rc_get(const uint8_t *rb, uint64_t i, unsigned int order);
void qcow2_rc_set(uint8_t *rb, uint64_t i, unsigned int order, uint64_t v);

#endif
