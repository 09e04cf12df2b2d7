// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_cache.c - the qcow2 engine's write-back metadata (qcow2_int.h):
 * the caches of L2 tables and refcount blocks, the deferred unreferencing
 * of freed clusters, and the ordered flush (qcow2_flush(), or in steps
 * whose fdatasyncs the caller does: qcow2_flush_step()).
 *
 * Order (docs/qcow2.md): what a table entry points to reaches the disk
 * before the entry. A cluster's refcount is raised in a dirty refcount
 * block, and its data (or a new L2 table's zeroes) written, before any
 * L2 entry (or L1 entry) names it; an L2 table is only written after the
 * dirty refcount blocks were written and everything synced (fdatasync);
 * the L1 table only after its L2 tables were written and synced. A
 * cluster that loses its last reference is unreferenced only after the
 * entries that named it are on disk (the end of the next flush) and is
 * not reused before: a crash at any moment leaves at worst leaked
 * clusters, also on power loss after the last flush.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_int.h"

int qcow2_sync(struct qcow2 *q)
{
	if (q->sync_failed)
		return -EIO;
	if (!q->unsynced)
		return 0;
	if (q->defer_sync) /* qcow2_flush_step()'s caller does it */
		return -EINPROGRESS;
	if (q->trace)
		q->trace(q->hook_opaque, QCOW2_W_SYNC, 0, 0);
	if (fdatasync(q->fd)) {
		q->sync_failed = true;
		return -errno;
	}
	q->unsynced = false;
	return 0;
}

/* Writes entry @i of @c (an L2 table: after the refcounts it needs). */
static int write_entry(struct qcow2 *q, struct qcow2_cache *c, unsigned int i)
{
	int r = 0;

	if (!c->e[i].dirty)
		return 0;
	if (c->kind == QCOW2_W_L2) {
		r = qcow2_cache_write(q, &q->rbc);
		if (!r)
			r = qcow2_sync(q);
	}
	if (!r)
		r = qcow2_pwrite(q, c->kind, c->e[i].data, q->cs, c->e[i].off);
	if (!r)
		c->e[i].dirty = false;
	return r;
}

int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c)
{
	for (unsigned int i = 0; i < c->n; i++) {
		int r = write_entry(q, c, i);

		if (r)
			return r;
	}
	return 0;
}

/* A slot of @c for the table at @off: a hit, else the least used one
 * (written first if dirty, emptied). @hit says which. */
static int slot(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, bool *hit)
{
	unsigned int victim = 0;

	for (unsigned int i = 0; i < c->n; i++) {
		if (c->e[i].off == off) {
			c->e[i].used = ++c->tick;
			*hit = true;
			return (int)i;
		}
		if (c->e[i].used < c->e[victim].used)
			victim = i;
	}
	*hit = false;
	if (q->peek && c->e[victim].dirty)
		return -1; /* a lookup that may not write */
	if (c->e[victim].off && write_entry(q, c, victim))
		return -1;
	if (!c->e[victim].data)
		c->e[victim].data = malloc(q->cs);
	c->e[victim].off = 0;
	c->e[victim].dirty = false;
	return c->e[victim].data ? (int)victim : -1;
}

uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off)
{
	bool hit;
	int i = slot(q, c, off, &hit);

	if (i < 0)
		return NULL;
	if (!hit) {
		if (qcow2_pread(q, c->e[i].data, q->cs, off))
			return NULL;
		c->e[i].off = off;
		c->e[i].used = ++c->tick;
	}
	return c->e[i].data;
}

uint8_t *qcow2_cache_new(struct qcow2 *q, struct qcow2_cache *c, uint64_t off)
{
	bool hit;
	int i = slot(q, c, off, &hit);

	if (i < 0)
		return NULL;
	memset(c->e[i].data, 0, q->cs);
	c->e[i].off = off;
	c->e[i].used = ++c->tick;
	c->e[i].dirty = true;
	if (off + q->cs > q->file_size)
		q->file_size =
			off + q->cs; /* written before anything names it */
	return c->e[i].data;
}

void qcow2_cache_dirty(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->e[i].off == off)
			c->e[i].dirty = true;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->e[i].off == off) {
			c->e[i].off = 0;
			c->e[i].dirty = false;
		}
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		free(c->e[i].data);
}

int qcow2_defer_unref(struct qcow2 *q, uint64_t ci)
{
	if (q->npfree == q->pfree_cap) {
		size_t cap = q->pfree_cap ? 2 * q->pfree_cap : 64;
		uint64_t *p = realloc(q->pfree, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		q->pfree = p;
		q->pfree_cap = cap;
	}
	q->pfree[q->npfree++] = ci;
	if (q->npfree >= QCOW2_MAX_PENDING_FREES)
		return qcow2_flush(q);
	return 0;
}

/* The L1 table, whole (after the L2 tables it names are synced). */
static int write_l1(struct qcow2 *q)
{
	uint8_t *raw;
	int r;

	if (!q->l1_dirty)
		return 0;
	raw = malloc(q->h.l1_size ? q->h.l1_size * 8ULL : 8);
	if (!raw)
		return -ENOMEM;
	for (uint64_t i = 0; i < q->h.l1_size; i++)
		qcow2_put64(raw + i * 8, q->l1[i]);
	r = qcow2_sync(q);
	if (!r)
		r = qcow2_pwrite(q, QCOW2_W_L1, raw, q->h.l1_size * 8ULL,
				 q->h.l1_offset);
	free(raw);
	if (!r)
		q->l1_dirty = false;
	return r;
}

/*
 * The clusters freed since the last flush lose their reference (after
 * the sync that put the cleared entries on disk), written and synced.
 */
static int apply_frees(struct qcow2 *q)
{
	int r = 0;

	if (q->npfree) {
		if (q->drain)
			q->drain(q->hook_opaque);
		for (size_t i = 0; !r && i < q->npfree; i++)
			r = qcow2_unref_now(q, q->pfree[i]);
		q->npfree = 0;
		if (!r)
			r = qcow2_cache_write(q, &q->rbc);
	}
	return r ? r : qcow2_sync(q);
}

/*
 * The flush from where it stands: every part checks what is still dirty,
 * so a step that stopped at a sync goes on from there when called again.
 */
static int flush_steps(struct qcow2 *q)
{
	int r;

	if (q->corrupt)
		return -EIO;
	if (!q->flush_meta_done) {
		r = qcow2_cache_write(q, &q->rbc);
		if (!r)
			r = qcow2_cache_write(q, &q->l2c);
		if (!r)
			r = write_l1(q);
		if (r)
			return r;
		q->flush_meta_done = true;
		q->unsynced = true; /* the caller's own data writes */
	}
	r = qcow2_sync(q);
	return r ? r : apply_frees(q);
}

int qcow2_flush(struct qcow2 *q)
{
	if (q->readonly)
		return 0;
	qcow2_flush_start(q);
	return flush_steps(q);
}

void qcow2_flush_start(struct qcow2 *q)
{
	q->flush_meta_done = false;
}

int qcow2_flush_step(struct qcow2 *q)
{
	int r;

	if (q->readonly)
		return 0;
	q->defer_sync = true;
	r = flush_steps(q);
	q->defer_sync = false;
	return r;
}

void qcow2_synced(struct qcow2 *q, int res)
{
	if (res < 0) {
		q->sync_failed = true;
		return;
	}
	if (q->trace)
		q->trace(q->hook_opaque, QCOW2_W_SYNC, 0, 0);
	q->unsynced = false;
}

bool qcow2_meta_dirty(const struct qcow2 *q)
{
	for (unsigned int i = 0; i < q->l2c.n; i++)
		if (q->l2c.e[i].dirty)
			return true;
	for (unsigned int i = 0; i < q->rbc.n; i++)
		if (q->rbc.e[i].dirty)
			return true;
	return q->l1_dirty || q->npfree || q->corrupt;
}

void qcow2_set_hooks(struct qcow2 *q, qcow2_trace_fn trace,
		     qcow2_drain_fn drain, void *opaque)
{
	q->trace = trace;
	q->drain = drain;
	q->hook_opaque = opaque;
}
