// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_alloc.c - the qcow2 engine's metadata (qcow2_int.h): L2
 * entries, refcounts, cluster allocation and freeing, the refcount table
 * growing, the L1 table and the virtual size growing, and the corrupt bit.
 *
 * Crash safety: L2 entries and refcounts change in the write-back caches
 * (qcow2_cache.c, which orders their writes); a cluster's refcount is
 * raised before anything points to it, the data or the zeroed table is
 * written before the entry pointing to it, and a cluster's reference is
 * dropped only at the flush after the entry was cleared. A new refcount
 * block covers the cluster it is stored in; it and a new refcount table
 * are written (and synced) before anything names them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_int.h"

int qcow2_pread(struct qcow2 *q, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(q->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += r;
		len -= (uint64_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int qcow2_pwrite(struct qcow2 *q, enum qcow2_wkind k, const void *buf,
		 uint64_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (q->trace)
		q->trace(q->hook_opaque, k, off, len);
	q->unsynced = true;

	while (len) {
		ssize_t r = pwrite(q->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		len -= (uint64_t)r;
		off += (uint64_t)r;
		if (off > q->file_size)
			q->file_size = off;
	}
	return 0;
}

int qcow2_mark_corrupt(struct qcow2 *q, const char *what, uint64_t off)
{
	uint8_t b[8];

	if (!q->corrupt)
		fprintf(stderr, "vmon: %s: corrupt image: %s at %llu\n",
			q->path, what, (unsigned long long)off);
	q->corrupt = true;
	if (!q->readonly && q->h.version == 3) {
		q->h.incompat |= QCOW2_INCOMPAT_CORRUPT;
		qcow2_put64(b, q->h.incompat);
		qcow2_pwrite(q, QCOW2_W_HEADER, b, 8, 72);
	}
	return -EIO;
}

uint64_t qcow2_rc_get(const uint8_t *rb, uint64_t i, unsigned int order)
{
	unsigned int bits = 1U << order;

	if (bits < 8)
		return (rb[i * bits / 8] >> (i * bits % 8)) &
		       ((1U << bits) - 1);
	rb += i * (bits / 8);
	if (bits == 8)
		return rb[0];
	if (bits == 16)
		return (uint64_t)rb[0] << 8 | rb[1];
	if (bits == 32)
		return qcow2_be32(rb);
	return qcow2_be64(rb);
}

void qcow2_rc_set(uint8_t *rb, uint64_t i, unsigned int order, uint64_t v)
{
	unsigned int bits = 1U << order, bytes = bits / 8;
	uint8_t tmp[8];

	if (bits < 8) {
		uint8_t mask = (uint8_t)(((1U << bits) - 1) << (i * bits % 8));

		rb[i * bits / 8] = (uint8_t)((rb[i * bits / 8] & ~mask) |
					     ((v << (i * bits % 8)) & mask));
		return;
	}
	qcow2_put64(tmp, v);
	memcpy(rb + i * bytes, tmp + 8 - bytes, bytes);
}

/* Refcount block of cluster @ci: its offset (0: none), or -1 corrupt. */
static int64_t rb_of(struct qcow2 *q, uint64_t ci)
{
	uint64_t ri = ci / q->rb_entries, off;

	if (ri >= q->reft_n)
		return 0;
	off = q->reft[ri] & QCOW2_REFT_OFFSET_MASK;
	if (off % q->cs || off >= q->file_size) {
		qcow2_mark_corrupt(q, "refcount block offset", off);
		return -1;
	}
	return (int64_t)off;
}

static int rc_update(struct qcow2 *q, uint64_t ci, int delta, uint64_t *out)
{
	int64_t rbo = rb_of(q, ci);
	uint64_t i = ci % q->rb_entries, max, v;
	uint8_t *rb;

	if (rbo <= 0)
		return rbo < 0 ? -EIO : -ENOENT;
	rb = qcow2_cache_get(q, &q->rbc, (uint64_t)rbo);
	if (!rb)
		return -EIO;
	v = qcow2_rc_get(rb, i, q->h.refcount_order);
	max = q->h.refcount_order == 6 ?
		      UINT64_MAX :
		      (1ULL << (1U << q->h.refcount_order)) - 1;
	if ((delta < 0 && v == 0) || (delta > 0 && v == max))
		return qcow2_mark_corrupt(q, "refcount out of range",
					  ci * q->cs);
	if (delta) {
		v = delta > 0 ? v + 1 : v - 1;
		qcow2_rc_set(rb, i, q->h.refcount_order, v);
		qcow2_cache_dirty(&q->rbc, (uint64_t)rbo);
	}
	*out = v;
	return 0;
}

int qcow2_rc_put(struct qcow2 *q, uint64_t ci, uint64_t v)
{
	int64_t rbo = rb_of(q, ci);
	uint64_t i = ci % q->rb_entries;
	uint8_t *rb;

	if (rbo <= 0)
		return rbo < 0 ? -EIO : -ENOENT;
	rb = qcow2_cache_get(q, &q->rbc, (uint64_t)rbo);
	if (!rb)
		return -EIO;
	qcow2_rc_set(rb, i, q->h.refcount_order, v);
	qcow2_cache_dirty(&q->rbc, (uint64_t)rbo);
	return 0;
}

/* Refcount blocks a table of @k clusters at cluster @t needs, @m of them
 * placed right after it: how many of those ranges have no block yet. */
static uint64_t missing_blocks(struct qcow2 *q, uint64_t t, uint64_t k,
			       uint64_t m)
{
	uint64_t n = 0;

	for (uint64_t ri = t / q->rb_entries;
	     ri <= (t + k + m - 1) / q->rb_entries; ri++)
		n += ri >= q->reft_n || !q->reft[ri];
	return n;
}

/*
 * Writes the new blocks (after the table at @t of @k clusters) into
 * @nt and the file, each counting the new clusters it covers; the new
 * clusters covered by existing blocks are counted there.
 */
static int write_new_blocks(struct qcow2 *q, uint64_t *nt, uint64_t t,
			    uint64_t k, uint64_t m)
{
	uint64_t next = t + k, v;

	for (uint64_t ri = t / q->rb_entries;
	     ri <= (t + k + m - 1) / q->rb_entries; ri++) {
		if (ri < q->reft_n && q->reft[ri])
			continue;
		nt[ri] = next++ * q->cs;
		memset(q->cow, 0, q->cs);
		for (uint64_t c = t; c < t + k + m; c++)
			if (c / q->rb_entries == ri)
				qcow2_rc_set(q->cow, c % q->rb_entries,
					     q->h.refcount_order, 1);
		if (qcow2_pwrite(q, QCOW2_W_REFCOUNT, q->cow, q->cs, nt[ri]))
			return -EIO;
	}
	for (uint64_t c = t; c < t + k + m; c++)
		if (c / q->rb_entries < q->reft_n &&
		    q->reft[c / q->rb_entries] && rc_update(q, c, 1, &v))
			return -EIO;
	return 0;
}

/* Writes table @nt of @k clusters at cluster @t (the refcounts it needs
 * written and synced first), then points the header at it, then frees the
 * old one at the next flush (a crash in between leaks clusters). */
static int switch_table(struct qcow2 *q, uint64_t *nt, uint64_t t, uint64_t k)
{
	uint64_t n = k * q->cs / 8, old = q->h.reft_offset;
	uint64_t oldk = q->h.reft_clusters;
	uint8_t *raw = calloc(k, q->cs), hb[12];
	int r = raw ? 0 : -ENOMEM;

	for (uint64_t i = 0; !r && i < n; i++)
		qcow2_put64(raw + i * 8, nt[i]);
	if (!r &&
	    (qcow2_cache_write(q, &q->rbc) ||
	     qcow2_pwrite(q, QCOW2_W_REFCOUNT, raw, k * q->cs, t * q->cs) ||
	     qcow2_sync(q)))
		r = -EIO;
	free(raw);
	qcow2_put64(hb, t * q->cs);
	hb[8] = (uint8_t)(k >> 24);
	hb[9] = (uint8_t)(k >> 16);
	hb[10] = (uint8_t)(k >> 8);
	hb[11] = (uint8_t)k;
	if (r || qcow2_pwrite(q, QCOW2_W_HEADER, hb, 12, 48) || qcow2_sync(q))
		return r ? r : -EIO;
	free(q->reft);
	q->reft = nt;
	q->reft_n = n;
	q->h.reft_offset = t * q->cs;
	q->h.reft_clusters = (uint32_t)k;
	for (uint64_t c = 0; c < oldk; c++)
		if (qcow2_defer_unref(q, old / q->cs + c))
			return -EIO;
	return 0;
}

/*
 * The refcount table cannot name a block for cluster @ci: a larger one
 * (twice the size at least) at the end of the file, with the blocks that
 * cover it right after it.
 */
static int grow_table(struct qcow2 *q, uint64_t ci)
{
	uint64_t t = (q->file_size + q->cs - 1) / q->cs, k, m = 0, need;
	uint64_t *nt;

	if (t < ci)
		t = ci;
	k = 2 * q->h.reft_clusters;
	need = ((t / q->rb_entries + 4) * 8 + q->cs - 1) / q->cs;
	if (k < need)
		k = need;
	if (k * q->cs > QCOW2_MAX_REFT_BYTES)
		return -ENOSPC;
	while ((need = missing_blocks(q, t, k, m)) != m)
		m = need;
	nt = calloc(k * q->cs / 8, 8);
	if (!nt)
		return -ENOMEM;
	memcpy(nt, q->reft, q->reft_n * 8);
	if (write_new_blocks(q, nt, t, k, m) || switch_table(q, nt, t, k)) {
		if (q->reft != nt)
			free(nt);
		return -EIO;
	}
	return 0;
}

/*
 * Cluster @ci is past the refcount blocks: a new block stored in @ci
 * itself (its own refcount 1), then the table entry naming it.
 */
static int add_refblock(struct qcow2 *q, uint64_t ci)
{
	uint64_t ri = ci / q->rb_entries, off = ci * q->cs;
	uint8_t e[8];

	if (ri >= q->reft_n)
		return grow_table(q, ci);
	memset(q->cow, 0, q->cs);
	qcow2_rc_set(q->cow, ci % q->rb_entries, q->h.refcount_order, 1);
	if (qcow2_pwrite(q, QCOW2_W_REFCOUNT, q->cow, q->cs, off) ||
	    qcow2_sync(q))
		return -EIO;
	qcow2_put64(e, off);
	if (qcow2_pwrite(q, QCOW2_W_REFCOUNT, e, 8, q->h.reft_offset + ri * 8))
		return -EIO;
	q->reft[ri] = off;
	qcow2_cache_drop(&q->rbc, off);
	return 0;
}

uint64_t qcow2_alloc_cluster(struct qcow2 *q, int *ret)
{
	for (uint64_t ci = q->free_hint;; ci++) {
		uint64_t v;
		int64_t rbo = rb_of(q, ci);

		*ret = rbo < 0 ? -EIO : 0;
		if (!*ret && rbo == 0) {
			*ret = add_refblock(q, ci);
			if (*ret)
				return 0;
			continue; /* @ci holds the new block */
		}
		if (*ret || (*ret = rc_update(q, ci, 0, &v)))
			return 0;
		if (v == 0 && ci > 0) {
			if ((*ret = rc_update(q, ci, 1, &v)))
				return 0;
			q->free_hint = ci + 1;
			return ci * q->cs;
		}
	}
}

int qcow2_unref_now(struct qcow2 *q, uint64_t ci)
{
	uint64_t v = 0; /* (a lower hint is always safe) */
	int r = rc_update(q, ci, -1, &v);

	if (!r && v == 0 && ci < q->free_hint)
		q->free_hint = ci;
	if (q->cfree && q->cfree / q->cs == ci) /* may be reused: not ours */
		q->cfree = 0;
	return r;
}

int qcow2_ref(struct qcow2 *q, uint64_t ci)
{
	uint64_t v;

	return rc_update(q, ci, 1, &v);
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry,
			    uint64_t *off, uint64_t *len)
{
	unsigned int x = 62 - (q->h.cluster_bits - 8);
	uint64_t sectors = (entry >> x) &
			   ((1ULL << (q->h.cluster_bits - 8)) - 1);

	*off = entry & ((1ULL << x) - 1);
	*len = (sectors + 1) * 512 - (*off & 511);
}

int qcow2_free_entry(struct qcow2 *q, uint64_t entry)
{
	uint64_t off, len;

	if (entry & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(q, entry, &off, &len);
		for (uint64_t c = off / q->cs; c <= (off + len - 1) / q->cs;
		     c++)
			if (qcow2_defer_unref(q, c))
				return -EIO;
		return 0;
	}
	off = entry & QCOW2_OFFSET_MASK;
	return off ? qcow2_defer_unref(q, off / q->cs) : 0;
}

/* The L2 table of @voff: its offset (0: none yet), or -1 corrupt. */
static int64_t l2_table(struct qcow2 *q, uint64_t voff, uint64_t *l1i)
{
	uint64_t off;

	*l1i = voff >> (q->h.cluster_bits + q->l2_bits);
	if (*l1i >= q->h.l1_size)
		return qcow2_mark_corrupt(q, "offset past the L1 table", voff);
	off = q->l1[*l1i] & QCOW2_OFFSET_MASK;
	if (off % q->cs || off >= q->file_size) {
		qcow2_mark_corrupt(q, "L2 table offset", off);
		return -1;
	}
	return (int64_t)off;
}

/* Where the entry of @voff is in its L2 table. */
static uint64_t l2_index(const struct qcow2 *q, uint64_t voff)
{
	return ((voff >> q->h.cluster_bits) & ((1ULL << q->l2_bits) - 1))
	       << q->l2_eb;
}

int qcow2_l2_get_sub(struct qcow2 *q, uint64_t voff, uint64_t *entry,
		     uint64_t *bitmap)
{
	uint64_t l1i;
	int64_t l2 = l2_table(q, voff, &l1i);
	uint8_t *t;

	*entry = *bitmap = 0;
	if (l2 <= 0)
		return l2 < 0 ? -EIO : 0;
	t = qcow2_cache_get(q, &q->l2c, (uint64_t)l2);
	if (!t)
		return -EIO;
	t += l2_index(q, voff);
	*entry = qcow2_be64(t);
	if (q->extl2)
		*bitmap = qcow2_be64(t + 8);
	return 0;
}

bool qcow2_sub_valid(uint64_t e, uint64_t bitmap)
{
	uint64_t alloc = bitmap & QCOW2_SUB_ALL, zero = bitmap >> 32;

	if (e & QCOW2_OFLAG_COMPRESSED)
		return !bitmap;
	return !(alloc & zero) && (!alloc || (e & QCOW2_OFFSET_MASK));
}

int qcow2_l2_get(struct qcow2 *q, uint64_t voff, uint64_t *entry)
{
	uint64_t e, bm, alloc, zero;
	int r = qcow2_l2_get_sub(q, voff, &e, &bm);

	*entry = e;
	if (r || !q->extl2 || e & QCOW2_OFLAG_COMPRESSED)
		return r; /* a compressed entry's bitmap is not used */
	if (!qcow2_sub_valid(e, bm))
		return qcow2_mark_corrupt(q, "subcluster bitmap", voff);
	/* Bit 0 is not the zero flag in these entries, bit 1 is reserved:
	 * both ignored. */
	e &= ~(QCOW2_OFLAG_ZERO | QCOW2_OFLAG_SUB);
	alloc = bm & QCOW2_SUB_ALL;
	zero = bm >> 32;
	if (alloc == QCOW2_SUB_ALL)
		*entry = e;
	else if (zero == QCOW2_SUB_ALL && !(e & QCOW2_OFFSET_MASK))
		*entry = QCOW2_OFLAG_ZERO;
	else if (!alloc && !zero && !(e & QCOW2_OFFSET_MASK))
		*entry = 0;
	else
		*entry = e | QCOW2_OFLAG_SUB;
	return 0;
}

/* A new, zeroed L2 table for L1 entry @l1i (written at the next flush). */
static int64_t new_l2(struct qcow2 *q, uint64_t l1i)
{
	int ret;
	uint64_t off = qcow2_alloc_cluster(q, &ret);

	if (!off)
		return ret;
	if (!qcow2_cache_new(q, &q->l2c, off))
		return -EIO;
	q->l1[l1i] = off | QCOW2_OFLAG_COPIED;
	q->l1_dirty = true;
	return (int64_t)off;
}

int qcow2_l2_set_sub(struct qcow2 *q, uint64_t voff, uint64_t entry,
		     uint64_t bitmap)
{
	uint64_t l1i;
	int64_t l2 = l2_table(q, voff, &l1i);
	uint8_t *t;

	if (l2 == 0)
		l2 = new_l2(q, l1i);
	if (l2 <= 0)
		return l2 < 0 ? (int)l2 : -EIO;
	t = qcow2_cache_get(q, &q->l2c, (uint64_t)l2);
	if (!t)
		return -EIO;
	t += l2_index(q, voff);
	qcow2_put64(t, entry);
	if (q->extl2)
		qcow2_put64(t + 8, bitmap);
	qcow2_cache_dirty(&q->l2c, (uint64_t)l2);
	return 0;
}

int qcow2_l2_set(struct qcow2 *q, uint64_t voff, uint64_t entry)
{
	uint64_t bm = 0;

	if (q->extl2 && !(entry & QCOW2_OFLAG_COMPRESSED)) {
		if (entry & QCOW2_OFLAG_ZERO)
			bm = QCOW2_SUB_ALL << 32;
		else if (entry & QCOW2_OFFSET_MASK)
			bm = QCOW2_SUB_ALL;
		entry &= ~(QCOW2_OFLAG_ZERO | QCOW2_OFLAG_SUB);
	}
	return qcow2_l2_set_sub(q, voff, entry, bm);
}

/*
 * @k clusters in a row, their refcounts raised, looked for from the end
 * of the file (past it every cluster is free but those allocated and not
 * written yet, and a new refcount block): the offset of the first, or 0
 * with *@ret. Clusters found free but not in a row go back. A new
 * refcount block is stored in the first cluster it covers, so a run must
 * fit in what one block covers (-EFBIG otherwise).
 */
static uint64_t alloc_run(struct qcow2 *q, uint64_t k, int *ret)
{
	uint64_t saved = q->free_hint, first = 0, n = 0;
	uint64_t eof = (q->file_size + q->cs - 1) / q->cs;

	if (k >= q->rb_entries) {
		*ret = -EFBIG;
		return 0;
	}

	if (q->free_hint < eof)
		q->free_hint = eof;
	while (n < k) {
		uint64_t c = qcow2_alloc_cluster(q, ret);

		if (!c)
			return 0;
		if (n && c != first + n * q->cs) {
			uint64_t hint = q->free_hint;

			for (uint64_t i = 0; i < n; i++)
				if ((*ret = qcow2_unref_now(q,
							    first / q->cs + i)))
					return 0;
			q->free_hint = hint; /* on from @c, not back */
			n = 0;
		}
		if (!n)
			first = c;
		n++;
	}
	/* The free clusters below the end of the file stay found. */
	if (saved < q->free_hint)
		q->free_hint = saved;
	return first;
}

/*
 * A new L1 table of @n entries: the old entries, then none; written and
 * synced (with the refcounts of its clusters) before the header names it.
 */
static int grow_l1(struct qcow2 *q, uint64_t n)
{
	uint64_t k = (n * 8 + q->cs - 1) / q->cs, off;
	uint64_t old = q->h.l1_offset;
	uint64_t oldk = (q->h.l1_size * 8ULL + q->cs - 1) / q->cs;
	uint64_t *nl1 = calloc(n, 8);
	uint8_t *raw = calloc(k, q->cs), hb[12];
	int r = nl1 && raw ? qcow2_flush(q) : -ENOMEM;

	off = r ? 0 : alloc_run(q, k, &r);
	if (off) {
		memcpy(nl1, q->l1, q->h.l1_size * 8ULL);
		for (uint64_t i = 0; i < n; i++)
			qcow2_put64(raw + i * 8, nl1[i]);
		if (qcow2_cache_write(q, &q->rbc) ||
		    qcow2_pwrite(q, QCOW2_W_L1, raw, k * q->cs, off) ||
		    qcow2_sync(q))
			r = -EIO;
	}
	free(raw);
	if (!off || r) {
		free(nl1);
		return r ? r : -EIO;
	}
	hb[0] = (uint8_t)(n >> 24);
	hb[1] = (uint8_t)(n >> 16);
	hb[2] = (uint8_t)(n >> 8);
	hb[3] = (uint8_t)n;
	qcow2_put64(hb + 4, off);
	/* l1_size and l1_table_offset, next to each other at 36. */
	if (qcow2_pwrite(q, QCOW2_W_HEADER, hb, 12, 36) || qcow2_sync(q)) {
		free(nl1);
		return -EIO;
	}
	free(q->l1);
	q->l1 = nl1;
	q->h.l1_size = (uint32_t)n;
	q->h.l1_offset = off;
	for (uint64_t c = 0; old && c < oldk; c++)
		if (qcow2_defer_unref(q, old / q->cs + c))
			return -EIO;
	return 0;
}

int qcow2_grow(struct qcow2 *q, uint64_t size)
{
	uint64_t per = q->cs << q->l2_bits; /* bytes an L1 entry covers */
	uint64_t n = size / per + (size % per != 0);
	uint8_t hb[8];
	int r;

	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	if (size < q->h.size || size % 512)
		return -EINVAL;
	if (size == q->h.size)
		return 0;
	if (n * 8 > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	if (n > q->h.l1_size && (r = grow_l1(q, n)))
		return r;
	qcow2_put64(hb, size);
	if (qcow2_pwrite(q, QCOW2_W_HEADER, hb, 8, 24) || qcow2_sync(q))
		return -EIO;
	q->h.size = size;
	return qcow2_flush(q);
}
