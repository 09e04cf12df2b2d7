// SPDX-License-Identifier: GPL-2.0-only
/*
 * qcow2_compress.c - compressed clusters written by the qcow2 engine
 * (qcow2.h: qcow2_write_compressed(), for `vmon img convert -c`): a
 * cluster compressed with the image's compression type (raw deflate with
 * a 4 KiB window, as QEMU's, or a zstd frame) and packed byte by byte
 * into the current compressed host cluster, which holds a reference for
 * every compressed cluster it stores (as QEMU counts them), or into a new
 * one. Owns the compression contexts.
 */
#include <errno.h>
#include <string.h>

#include <zstd_errors.h>

#include "qcow2_int.h"

/* Cluster @buf deflated into q->cbuf: its length, 0 if it does not get
 * smaller than a cluster, -1 on an error. */
static long deflate_zlib(struct qcow2 *q, const void *buf)
{
	int r;

	if (!q->zc_ready) {
		if (deflateInit2(&q->zc, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12,
				 9, Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		q->zc_ready = true;
	}
	deflateReset(&q->zc);
	q->zc.next_in = (Bytef *)buf; /* deflate() only reads it */
	q->zc.avail_in = (uInt)q->cs;
	q->zc.next_out = q->cbuf;
	q->zc.avail_out = (uInt)q->cs - 1;
	r = deflate(&q->zc, Z_FINISH);
	if (r == Z_STREAM_END)
		return (long)(q->cs - 1 - q->zc.avail_out);
	return r == Z_OK || r == Z_BUF_ERROR ? 0 : -1;
}

static long deflate_zstd(struct qcow2 *q, const void *buf)
{
	size_t n;

	if (!q->zcc && !(q->zcc = ZSTD_createCCtx()))
		return -1;
	n = ZSTD_compressCCtx(q->zcc, q->cbuf, q->cs - 1, buf, q->cs,
			      ZSTD_CLEVEL_DEFAULT);
	if (!ZSTD_isError(n))
		return (long)n;
	return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? 0 : -1;
}

/*
 * Where @n compressed bytes go: the rest of the current compressed host
 * cluster if they fit there and its refcount can count one more (1-bit
 * refcounts: never), else a new cluster. Its file offset, or 0 (@ret).
 */
static uint64_t place(struct qcow2 *q, uint64_t n, int *ret)
{
	unsigned int order = q->h.refcount_order;
	uint64_t at = q->cfree,
		 max = order == 6 ? UINT64_MAX : (1ULL << (1U << order)) - 1;

	*ret = 0;
	if (at && at % q->cs + n <= q->cs && q->cfree_refs < max) {
		*ret = qcow2_ref(q, at / q->cs);
		q->cfree_refs++;
		return *ret ? 0 : at;
	}
	q->cfree_refs = 1;
	return qcow2_alloc_cluster(q, ret);
}

int qcow2_write_compressed(struct qcow2 *q, uint64_t off, const void *buf)
{
	unsigned int x = 62 - (q->h.cluster_bits - 8);
	uint64_t e, host, nsect;
	long n;
	int r;

	if (q->readonly)
		return -EROFS;
	if (q->corrupt)
		return -EIO;
	if (off % q->cs || off >= q->h.size)
		return -EINVAL;
	if ((r = qcow2_l2_get(q, off, &e)))
		return r;
	if (e)
		return -EEXIST;
	n = q->h.compression == QCOW2_COMP_ZSTD ? deflate_zstd(q, buf) :
						  deflate_zlib(q, buf);
	if (n <= 0)
		return n ? -ENOMEM : 1;
	host = place(q, (uint64_t)n, &r);
	if (!host)
		return r ? r : -EIO;
	r = qcow2_pwrite(q, QCOW2_W_DATA, q->cbuf, (uint64_t)n, host);
	if (r)
		return r;
	q->cfree = (host + (uint64_t)n) % q->cs ? host + (uint64_t)n : 0;
	nsect = ((host + (uint64_t)n - 1) >> 9) - (host >> 9);
	return qcow2_l2_set(q, off, QCOW2_OFLAG_COMPRESSED | nsect << x | host);
}

void qcow2_compress_free(struct qcow2 *q)
{
	if (q->zc_ready)
		deflateEnd(&q->zc);
	ZSTD_freeCCtx(q->zcc);
}
