// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_meta.c - the qcow2 header (qcow2.h): parsing and checking it and
 * its extensions from the file's first bytes (every field is hostile
 * until checked), and writing the header and first tables of a new image
 * (`vmon img create`).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_int.h"

#define EXT_END 0x00000000U
#define EXT_BACKING_FMT 0xe2792acaU
#define EXT_FEATURES 0x6803f857U
#define EXT_BITMAPS 0x23852875U
#define EXT_CRYPTO 0x0537be77U
#define EXT_DATA_FILE 0x44415441U

#define V2_HEADER_LEN 72
#define V3_HEADER_LEN 104
#define KNOWN_INCOMPAT                                           \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |         \
	 QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION | \
	 QCOW2_INCOMPAT_EXTL2)

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

bool qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && qcow2_be32(buf) == QCOW2_MAGIC;
}

static void parse_fields(const uint8_t *b, struct qcow2_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = qcow2_be32(b + 4);
	h->backing_offset = qcow2_be64(b + 8);
	h->backing_len = qcow2_be32(b + 16);
	h->cluster_bits = qcow2_be32(b + 20);
	h->size = qcow2_be64(b + 24);
	h->crypt_method = qcow2_be32(b + 32);
	h->l1_size = qcow2_be32(b + 36);
	h->l1_offset = qcow2_be64(b + 40);
	h->reft_offset = qcow2_be64(b + 48);
	h->reft_clusters = qcow2_be32(b + 56);
	h->nb_snapshots = qcow2_be32(b + 60);
	h->snapshots_offset = qcow2_be64(b + 64);
	h->refcount_order = 4;
	h->header_len = V2_HEADER_LEN;
}

static void parse_v3(const uint8_t *b, size_t len, struct qcow2_header *h)
{
	h->incompat = qcow2_be64(b + 72);
	h->compat = qcow2_be64(b + 80);
	h->autoclear = qcow2_be64(b + 88);
	h->refcount_order = qcow2_be32(b + 96);
	h->header_len = qcow2_be32(b + 100);
	if (h->header_len > V3_HEADER_LEN && len > V3_HEADER_LEN)
		h->compression = b[104];
}

/* The fields the engine relies on, against each other and the file. */
static int check_geometry(const struct qcow2_header *h, uint64_t file_size,
			  char *err, size_t errlen)
{
	uint64_t cs = 1ULL << h->cluster_bits;
	uint64_t l2_cover = cs * (cs >> qcow2_l2_entry_bits(h)), need;

	if (h->size > (1ULL << 56))
		return fail(err, errlen, "virtual size %llu is too large",
			    (unsigned long long)h->size);
	need = (h->size + l2_cover - 1) / l2_cover;
	if (h->l1_size < need)
		return fail(
			err, errlen,
			"L1 table of %u entries is too small for %llu bytes",
			h->l1_size, (unsigned long long)h->size);
	if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
	    h->l1_offset % cs || h->l1_offset + h->l1_size * 8ULL > file_size)
		return fail(
			err, errlen,
			"L1 table (%u entries at %llu) is larger than the file allows or misaligned",
			h->l1_size, (unsigned long long)h->l1_offset);
	if (!h->reft_clusters || h->reft_clusters * cs > QCOW2_MAX_REFT_BYTES ||
	    h->reft_offset % cs || h->reft_offset == 0 ||
	    h->reft_offset + h->reft_clusters * cs > file_size)
		return fail(
			err, errlen,
			"refcount table (%u clusters at %llu) is larger than the file allows or misaligned",
			h->reft_clusters, (unsigned long long)h->reft_offset);
	return 0;
}

static int check_features(const struct qcow2_header *h, char *err,
			  size_t errlen)
{
	if (h->incompat & ~KNOWN_INCOMPAT)
		return fail(
			err, errlen, "unsupported incompatible features 0x%llx",
			(unsigned long long)(h->incompat & ~KNOWN_INCOMPAT));
	if (h->incompat & QCOW2_INCOMPAT_DATA_FILE || h->has_data_file)
		return fail(err, errlen,
			    "external data files are not supported");
	if (h->crypt_method || h->has_crypto)
		return fail(err, errlen, "encrypted images are not supported");
	if (h->incompat & QCOW2_INCOMPAT_EXTL2 &&
	    h->cluster_bits < QCOW2_EXTL2_MIN_CLUSTER_BITS)
		return fail(
			err, errlen,
			"extended L2 entries need clusters of at least %u bytes",
			1U << QCOW2_EXTL2_MIN_CLUSTER_BITS);
	if (h->refcount_order > 6)
		return fail(err, errlen, "refcount order %u is invalid",
			    h->refcount_order);
	if (h->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		if (h->compression > QCOW2_COMP_ZSTD)
			return fail(err, errlen, "unknown compression type %u",
				    h->compression);
	} else if (h->compression) {
		return fail(err, errlen,
			    "compression type %u without its feature bit",
			    h->compression);
	}
	return 0;
}

/* A string extension into @dst (@cap bytes with the NUL). */
static int ext_string(const uint8_t *p, uint32_t n, char *dst, size_t cap)
{
	if (n >= cap || memchr(p, 0, n))
		return -1;
	memcpy(dst, p, n);
	dst[n] = 0;
	return 0;
}

static int parse_exts(const uint8_t *b, size_t len, struct qcow2_header *h,
		      char *err, size_t errlen)
{
	size_t off = h->version == 2 ? V2_HEADER_LEN : h->header_len;

	while (off + 8 <= len) {
		uint32_t type = qcow2_be32(b + off);
		uint32_t n = qcow2_be32(b + off + 4);

		off += 8;
		if (type == EXT_END) {
			h->ext_end = (uint32_t)off;
			return 0;
		}
		if (n > len - off)
			break;
		if (type == EXT_BACKING_FMT &&
		    ext_string(b + off, n, h->backing_fmt,
			       sizeof(h->backing_fmt)))
			return fail(err, errlen,
				    "bad backing format extension");
		if (type == EXT_DATA_FILE)
			h->has_data_file = true;
		if (type == EXT_CRYPTO)
			h->has_crypto = true;
		off += (n + 7ULL) & ~7ULL;
	}
	return fail(err, errlen,
		    "header extensions run past the first cluster");
}

static int parse_backing(const uint8_t *b, size_t len, struct qcow2_header *h,
			 char *err, size_t errlen)
{
	if (!h->backing_offset)
		return 0;
	if (!h->backing_len || h->backing_len > QCOW2_MAX_BACKING_NAME ||
	    h->backing_offset < h->ext_end || h->backing_offset > len ||
	    h->backing_len > len - h->backing_offset)
		return fail(err, errlen,
			    "backing file name (%u bytes at %llu) is invalid",
			    h->backing_len,
			    (unsigned long long)h->backing_offset);
	if (ext_string(b + h->backing_offset, h->backing_len, h->backing,
		       sizeof(h->backing)))
		return fail(err, errlen, "backing file name holds a NUL");
	return 0;
}

int qcow2_parse_header(const uint8_t *b, size_t len, uint64_t file_size,
		       struct qcow2_header *h, char *err, size_t errlen)
{
	if (len < V2_HEADER_LEN || !qcow2_probe(b, len))
		return fail(err, errlen, "not a qcow2 image");
	parse_fields(b, h);
	if (h->version != 2 && h->version != 3)
		return fail(err, errlen, "qcow2 version %u is not supported",
			    h->version);
	if (h->version == 3) {
		if (len < V3_HEADER_LEN)
			return fail(err, errlen, "truncated header");
		parse_v3(b, len, h);
		if (h->header_len < V3_HEADER_LEN || h->header_len % 8 ||
		    h->header_len > len)
			return fail(err, errlen, "header length %u is invalid",
				    h->header_len);
	}
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return fail(err, errlen, "cluster bits %u are invalid",
			    h->cluster_bits);
	if (len > (1ULL << h->cluster_bits))
		len = 1ULL << h->cluster_bits;
	if (parse_exts(b, len, h, err, errlen) ||
	    parse_backing(b, len, h, err, errlen) ||
	    check_features(h, err, errlen))
		return -1;
	return check_geometry(h, file_size, err, errlen);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int qcow2_format_header(const struct qcow2_header *h, uint8_t *b, size_t len)
{
	bool v2 = h->version == 2;
	size_t off = v2 ? V2_HEADER_LEN : V3_HEADER_LEN + 8;
	size_t blen = strlen(h->backing), flen = strlen(h->backing_fmt);

	if (off + 8 + ((flen + 7) & ~7UL) + 8 + blen > len)
		return -1;
	memset(b, 0, len);
	put32(b, QCOW2_MAGIC);
	put32(b + 4, v2 ? 2 : 3);
	put32(b + 20, h->cluster_bits);
	qcow2_put64(b + 24, h->size);
	put32(b + 36, h->l1_size);
	qcow2_put64(b + 40, h->l1_offset);
	qcow2_put64(b + 48, h->reft_offset);
	put32(b + 56, h->reft_clusters);
	if (!v2) {
		uint64_t incompat = 0;

		if (h->compression == QCOW2_COMP_ZSTD) {
			incompat |= QCOW2_INCOMPAT_COMPRESSION;
			b[104] = QCOW2_COMP_ZSTD;
		}
		incompat |= h->incompat & QCOW2_INCOMPAT_EXTL2;
		qcow2_put64(b + 72, incompat);
		qcow2_put64(b + 80, h->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
		put32(b + 96, h->refcount_order);
		put32(b + 100, (uint32_t)off);
	}
	if (flen) {
		put32(b + off, EXT_BACKING_FMT);
		put32(b + off + 4, (uint32_t)flen);
		memcpy(b + off + 8, h->backing_fmt, flen);
		off += 8 + ((flen + 7) & ~7UL);
	}
	off += 8; /* the end of the extensions */
	if (blen) {
		qcow2_put64(b + 8, off);
		put32(b + 16, (uint32_t)blen);
		memcpy(b + off, h->backing, blen);
		off += blen;
	}
	return (int)off;
}

int qcow2_header_set_backing(uint8_t *b, size_t len,
			     const struct qcow2_header *h, const char *name,
			     const char *fmt)
{
	size_t at = h->version == 2 ? V2_HEADER_LEN : h->header_len, pos;
	size_t nlen = strnlen(name, QCOW2_MAX_BACKING_NAME + 1);
	size_t flen = strnlen(fmt, sizeof(h->backing_fmt));
	uint8_t *out = calloc(1, len);

	if (!out || at > len)
		goto fail;
	memcpy(out, b, at);
	pos = at;
	if (flen) {
		if (pos + 8 + ((flen + 7) & ~7UL) > len)
			goto fail;
		put32(out + pos, EXT_BACKING_FMT);
		put32(out + pos + 4, (uint32_t)flen);
		memcpy(out + pos + 8, fmt, flen);
		pos += 8 + ((flen + 7) & ~7UL);
	}
	/* The other extensions as they were, up to their end, which must be
	 * in these @len bytes. */
	for (;;) {
		uint32_t type, n;
		size_t whole;

		if (at + 8 > len)
			goto fail;
		type = qcow2_be32(b + at);
		n = qcow2_be32(b + at + 4);
		whole = 8 + ((n + 7ULL) & ~7ULL);
		if (type == EXT_END)
			break;
		if (n > len - at - 8 || whole > len - at)
			goto fail;
		if (type != EXT_BACKING_FMT) {
			if (pos + whole > len)
				goto fail;
			memcpy(out + pos, b + at, whole);
			pos += whole;
		}
		at += whole;
	}
	pos += 8; /* the end of the extensions (zeros) */
	if (pos + nlen > len)
		goto fail;
	memcpy(out + pos, name, nlen);
	qcow2_put64(out + 8, nlen ? pos : 0);
	put32(out + 16, (uint32_t)nlen);
	memcpy(b, out, len);
	free(out);
	return 0;
fail:
	free(out);
	return -1;
}

/* @a / @b rounded up. */
static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

int qcow2_prealloc_range(int fd, uint64_t off, uint64_t len,
			 enum qcow2_prealloc pre)
{
	static const uint8_t z[1 << 16];

	if (pre == QCOW2_PREALLOC_FALLOC && len)
		return -posix_fallocate(fd, (off_t)off, (off_t)len);
	while (pre == QCOW2_PREALLOC_FULL && len) {
		size_t n = len < sizeof(z) ? (size_t)len : sizeof(z);
		ssize_t w = pwrite(fd, z, n, (off_t)off);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/*
 * The L2 tables of a preallocated image: @nl2 at @l2 naming @ndata data
 * clusters from @data on, then the data as @pre says.
 */
static int prealloc(int fd, uint64_t cs, unsigned int eb, uint64_t l2,
		    uint64_t nl2, uint64_t data, uint64_t ndata,
		    enum qcow2_prealloc pre)
{
	uint64_t per = cs >> eb;
	uint8_t *t = malloc(cs);
	int ret = t ? 0 : -ENOMEM;

	for (uint64_t i = 0; !ret && i < nl2; i++) {
		memset(t, 0, cs);
		for (uint64_t k = 0; k < per && i * per + k < ndata; k++)
			qcow2_put64(t + (k << eb), (data + (i * per + k) * cs) |
							   QCOW2_OFLAG_COPIED);
		if (pwrite(fd, t, cs, (off_t)(l2 + i * cs)) != (ssize_t)cs)
			ret = errno ? -errno : -EIO;
	}
	free(t);
	if (!ret && ftruncate(fd, (off_t)(data + ndata * cs)))
		ret = -errno;
	return ret ? ret : qcow2_prealloc_range(fd, data, ndata * cs, pre);
}

int qcow2_create_fd(int fd, struct qcow2_header *h, enum qcow2_prealloc pre)
{
	uint64_t cs = 1ULL << h->cluster_bits, l1c, reftc = 1, nrb = 1, n;
	uint64_t per_rb = (cs * 8) >> h->refcount_order, meta;
	unsigned int eb = qcow2_l2_entry_bits(h);
	uint64_t cover = 1ULL << (2 * h->cluster_bits - eb);
	uint64_t ndata = 0, nl2 = 0;
	uint8_t *b;
	int ret = 0;

	if (h->size > UINT64_MAX - cover ||
	    div_up(h->size, cover) * 8 > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	h->l1_size = (uint32_t)div_up(h->size, cover);
	l1c = div_up(h->l1_size * 8ULL, cs);
	if (pre != QCOW2_PREALLOC_OFF) {
		ndata = div_up(h->size, cs);
		nl2 = div_up(ndata, cs >> eb);
	}
	/* Header, refcount table, refcount blocks, L1 table, in that order
	 * (then L2 tables and data when preallocated): enough blocks for
	 * every one of those clusters, and table entries for every block. */
	for (;;) {
		uint64_t rb, rt;

		n = 1 + reftc + nrb + l1c + nl2 + ndata;
		rb = div_up(n, per_rb);
		rt = div_up(rb * 8, cs);
		if (rb == nrb && rt == reftc)
			break;
		nrb = rb;
		reftc = rt;
	}
	if (reftc > UINT32_MAX)
		return -EFBIG;
	h->reft_offset = cs;
	h->reft_clusters = (uint32_t)reftc;
	h->l1_offset = (1 + reftc + nrb) * cs;
	/* Without preallocation the file ends with the L1 table's last
	 * entry, as qemu-img leaves it; its zeros are written too. */
	meta = h->l1_offset + (nl2 ? l1c * cs : h->l1_size * 8ULL);
	b = calloc(1, meta);
	if (!b)
		return -ENOMEM;
	if (qcow2_format_header(h, b, cs) < 0)
		ret = -ENAMETOOLONG;
	for (uint64_t i = 0; i < nrb; i++)
		qcow2_put64(b + cs + i * 8, (1 + reftc + i) * cs);
	for (uint64_t i = 0; i < n; i++)
		qcow2_rc_set(b + (1 + reftc) * cs, i, h->refcount_order, 1);
	for (uint64_t i = 0; i < nl2; i++)
		qcow2_put64(b + h->l1_offset + i * 8,
			    (h->l1_offset + (l1c + i) * cs) |
				    QCOW2_OFLAG_COPIED);
	if (!ret && pwrite(fd, b, meta, 0) != (ssize_t)meta)
		ret = errno ? -errno : -EIO;
	free(b);
	if (!ret && nl2)
		ret = prealloc(fd, cs, eb, h->l1_offset + l1c * cs, nl2,
			       h->l1_offset + (l1c + nl2) * cs, ndata, pre);
	if (!ret && fsync(fd))
		ret = -errno;
	return ret;
}
