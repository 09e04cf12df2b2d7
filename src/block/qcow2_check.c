// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_check.c - the consistency check of a qcow2 image (qcow2.h), as
 * `qemu-img check` does it: every reference from the header, the L1 and
 * L2 tables and the refcount table counted per cluster, then compared
 * with the stored refcounts. A stored count below the references (or a
 * reference outside the file, or a wrong COPIED flag) is a corruption;
 * above them, a leak. The same count repairs leaks (and with "all",
 * refcounts below their references, then the COPIED flags), as `qemu-img
 * check -r` does, and the refcounts of an image left dirty (lazy
 * refcounts) before it is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qcow2_int.h"

struct walk {
	struct qcow2 *q;
	struct qcow2_check *r;
	uint32_t *refs; /* per cluster of the file */
	uint64_t nclusters;
	uint64_t bad_refs; /* references outside the file or misaligned */
	bool verbose;
};

static void problem(struct walk *w, bool leak, const char *what, uint64_t off)
{
	if (leak)
		w->r->leaks++;
	else
		w->r->corruptions++;
	if (w->verbose)
		fprintf(stderr, "%s: %s at offset %llu\n",
			leak ? "Leaked cluster" : "ERROR", what,
			(unsigned long long)off);
}

static void bad_ref(struct walk *w, const char *what, uint64_t off)
{
	w->bad_refs++;
	problem(w, false, what, off);
}

/* One reference to the clusters of [@off, @off + @len). */
static void ref(struct walk *w, uint64_t off, uint64_t len, const char *what)
{
	uint64_t cs = w->q->cs;

	if (!len)
		return;
	for (uint64_t c = off / cs; c <= (off + len - 1) / cs; c++) {
		if (c >= w->nclusters) {
			bad_ref(w, what, c * cs);
			return;
		}
		w->refs[c]++;
	}
}

static uint64_t stored_rc(struct walk *w, uint64_t ci)
{
	uint64_t ri = ci / w->q->rb_entries, rbo;
	uint8_t *rb;

	if (ri >= w->q->reft_n)
		return 0;
	rbo = w->q->reft[ri] & QCOW2_REFT_OFFSET_MASK;
	if (!rbo || rbo % w->q->cs || rbo >= w->q->file_size)
		return 0;
	rb = qcow2_cache_get(w->q, &w->q->rbc, rbo);
	return rb ? qcow2_rc_get(rb, ci % w->q->rb_entries,
				 w->q->h.refcount_order) :
		    0;
}

/* A COPIED flag must be set exactly where the refcount is 1. */
static void check_copied(struct walk *w, uint64_t e, uint64_t off,
			 const char *what)
{
	if (!!(e & QCOW2_OFLAG_COPIED) != (stored_rc(w, off / w->q->cs) == 1))
		problem(w, false, what, off);
}

static void walk_entry(struct walk *w, uint64_t e, uint64_t bitmap,
		       uint64_t voff)
{
	struct qcow2 *q = w->q;
	uint64_t off = e & QCOW2_OFFSET_MASK, len;

	if (q->extl2 && !qcow2_sub_valid(e, bitmap))
		problem(w, false, "invalid subcluster bitmap", voff);
	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(q, e, &off, &len);
		ref(w, off, len, "compressed cluster outside the image");
		w->r->allocated++;
		return;
	}
	if (!off)
		return;
	if (off % q->cs) {
		bad_ref(w, "unaligned data cluster", off);
		return;
	}
	ref(w, off, q->cs, "data cluster outside the image");
	check_copied(w, e, off, "OFLAG_COPIED data cluster");
	w->r->allocated++;
}

static int walk_l2(struct walk *w, uint64_t l1i, uint64_t l2)
{
	struct qcow2 *q = w->q;
	uint8_t *t;

	if (l2 % q->cs || l2 >= q->file_size) {
		bad_ref(w, "L2 table outside the image", l2);
		return 0;
	}
	ref(w, l2, q->cs, "L2 table");
	check_copied(w, q->l1[l1i], l2, "OFLAG_COPIED L2 cluster");
	t = qcow2_cache_get(q, &q->l2c, l2);
	if (!t)
		return -EIO;
	for (uint64_t i = 0; i < (1ULL << q->l2_bits); i++) {
		const uint8_t *p = t + (i << q->l2_eb);

		walk_entry(w, qcow2_be64(p), q->extl2 ? qcow2_be64(p + 8) : 0,
			   ((l1i << q->l2_bits) + i) << q->h.cluster_bits);
	}
	return 0;
}

static int walk_tables(struct walk *w)
{
	struct qcow2 *q = w->q;

	ref(w, 0, q->cs, "header");
	ref(w, q->h.l1_offset, q->h.l1_size * 8ULL, "L1 table");
	ref(w, q->h.reft_offset, q->h.reft_clusters * q->cs, "refcount table");
	for (uint64_t i = 0; i < q->reft_n; i++) {
		uint64_t rb = q->reft[i] & QCOW2_REFT_OFFSET_MASK;

		if (rb && (rb % q->cs || rb >= q->file_size))
			bad_ref(w, "refcount block outside the image", rb);
		else if (rb)
			ref(w, rb, q->cs, "refcount block");
	}
	for (uint64_t i = 0; i < q->h.l1_size; i++) {
		uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;

		if (l2 && walk_l2(w, i, l2))
			return -EIO;
	}
	return 0;
}

static void compare(struct walk *w)
{
	for (uint64_t c = 0; c < w->nclusters; c++) {
		uint64_t s = stored_rc(w, c);

		if (s < w->refs[c])
			problem(w, false, "refcount below its references",
				c * w->q->cs);
		else if (s > w->refs[c])
			problem(w, true, "refcount above its references",
				c * w->q->cs);
		if (s || w->refs[c])
			w->r->image_end = (c + 1) * w->q->cs;
	}
}

/* Counts the references of @w->q into @w->refs (the caller frees it). */
static int count(struct walk *w)
{
	struct qcow2 *q = w->q;

	*w->r = (struct qcow2_check){ 0 };
	if (q->h.nb_snapshots)
		return -ENOTSUP;
	w->nclusters = (q->file_size + q->cs - 1) / q->cs;
	w->refs = calloc(w->nclusters ? w->nclusters : 1, sizeof(*w->refs));
	if (!w->refs)
		return -ENOMEM;
	w->r->total = (q->h.size + q->cs - 1) / q->cs;
	return walk_tables(w);
}

int qcow2_check(struct qcow2 *q, struct qcow2_check *r, bool verbose)
{
	struct walk w = { .q = q, .r = r, .verbose = verbose };
	int ret = count(&w);

	if (!ret)
		compare(&w);
	free(w.refs);
	return ret;
}

/*
 * Sets the stored refcounts of @w's clusters to their references: those
 * above them (leaks), and with @all those below them too. Counts what it
 * fixed into @fixed.
 */
static int fix_refcounts(struct walk *w, bool all, struct qcow2_check *fixed)
{
	for (uint64_t c = 0; c < w->nclusters; c++) {
		uint64_t s = stored_rc(w, c);
		int ret;

		if (s == w->refs[c] || (s < w->refs[c] && !all))
			continue;
		if (w->verbose)
			fprintf(stderr,
				"Repairing cluster %llu refcount=%llu reference=%u\n",
				(unsigned long long)c, (unsigned long long)s,
				w->refs[c]);
		ret = qcow2_rc_put(w->q, c, w->refs[c]);
		if (ret == -ENOENT)
			continue; /* no refcount block: still reported */
		if (ret)
			return ret;
		if (s > w->refs[c])
			fixed->leaks++;
		else
			fixed->corruptions++;
	}
	return qcow2_flush(w->q);
}

/*
 * Entry @e (of an L1 or L2 table) naming cluster @off: its COPIED flag
 * as the (repaired) refcount wants it, counted into @fixed if changed.
 */
static uint64_t fixed_copied(struct walk *w, uint64_t e, uint64_t off,
			     const char *what, struct qcow2_check *fixed)
{
	bool want = stored_rc(w, off / w->q->cs) == 1;

	if (!!(e & QCOW2_OFLAG_COPIED) == want)
		return e;
	if (w->verbose)
		fprintf(stderr, "Repairing OFLAG_COPIED %s: entry=%llx\n", what,
			(unsigned long long)e);
	fixed->corruptions++;
	return e ^ QCOW2_OFLAG_COPIED;
}

/*
 * With "all", after the refcounts: each COPIED flag of the L1 and L2
 * tables set exactly where the refcount is 1, as qemu-img check -r all
 * does (a data cluster outside the file has none: its flag is cleared,
 * the reference itself stays, still reported, as qemu-img leaves it).
 */
static int fix_copied(struct walk *w, struct qcow2_check *fixed)
{
	struct qcow2 *q = w->q;

	for (uint64_t i = 0; i < q->h.l1_size; i++) {
		uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK, e;
		uint8_t *t;

		if (!l2 || l2 % q->cs || l2 >= q->file_size)
			continue;
		e = fixed_copied(w, q->l1[i], l2, "L2 cluster", fixed);
		if (e != q->l1[i]) {
			q->l1[i] = e;
			q->l1_dirty = true;
		}
		t = qcow2_cache_get(q, &q->l2c, l2);
		if (!t)
			return -EIO;
		for (uint64_t j = 0; j < (1ULL << q->l2_bits); j++) {
			uint64_t old = qcow2_be64(t + (j << q->l2_eb));
			uint64_t off = old & QCOW2_OFFSET_MASK;

			if ((old & QCOW2_OFLAG_COMPRESSED) || !off ||
			    off % q->cs)
				continue;
			e = fixed_copied(w, old, off, "data cluster", fixed);
			if (e != old) {
				qcow2_put64(t + (j << q->l2_eb), e);
				qcow2_cache_dirty(&q->l2c, l2);
			}
		}
	}
	return qcow2_flush(q);
}

int qcow2_check_repair(struct qcow2 *q, bool all, struct qcow2_check *fixed,
		       bool verbose)
{
	struct qcow2_check r;
	struct walk w = { .q = q, .r = &r, .verbose = verbose };
	int ret;

	*fixed = (struct qcow2_check){ 0 };
	if (q->readonly)
		return -EROFS;
	ret = count(&w);
	if (!ret)
		ret = fix_refcounts(&w, all, fixed);
	if (!ret && all)
		ret = fix_copied(&w, fixed);
	free(w.refs);
	return ret;
}

int qcow2_repair_refcounts(struct qcow2 *q)
{
	struct qcow2_check r, fixed = { 0 };
	struct walk w = { .q = q, .r = &r };
	uint8_t b[8];
	int ret = count(&w);

	if (!ret && w.bad_refs)
		ret = -EIO; /* not what lazy refcounts leave behind */
	if (!ret)
		ret = fix_refcounts(&w, true, &fixed);
	free(w.refs);
	if (ret)
		return ret;
	q->h.incompat &= ~QCOW2_INCOMPAT_DIRTY;
	qcow2_put64(b, q->h.incompat);
	if (qcow2_pwrite(q, QCOW2_W_HEADER, b, 8, 72) || qcow2_sync(q))
		return -EIO;
	return 0;
}
