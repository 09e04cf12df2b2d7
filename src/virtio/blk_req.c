// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk_req.c - the virtio-blk request parser (virtio 1.2, 5.2.6): turns a
 * descriptor chain into a checked request or a status to answer with.
 */
#include "blk.h"

#include <stddef.h>
#include <string.h>

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* Copies the [skip, skip + len) byte range of @src into @dst iovecs. */
static unsigned int iov_slice(const struct iovec *src, unsigned int n,
			      uint64_t skip, uint64_t len, struct iovec *dst)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[out].iov_len = l;
		out++;
		len -= l;
		skip = 0;
	}
	return out;
}

static bool in_range(const struct blk_limits *lim, uint64_t sector,
		     uint64_t sectors)
{
	return sector <= lim->capacity && sectors <= lim->capacity - sector;
}

static int parse_seg(const struct virtq_elem *e, const struct blk_limits *lim,
		     struct blk_req *r)
{
	struct blk_seg seg;

	/* vmon advertises max_discard_seg = max_write_zeroes_seg = 1. */
	if (e->out_len - sizeof(struct blk_hdr) != sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	virtq_iov_to_buf(e->iov, e->nr_out, sizeof(struct blk_hdr), &seg,
			 sizeof(seg));
	if (r->type == VIRTIO_BLK_T_DISCARD ?
		    seg.flags != 0 :
		    seg.flags & ~VIRTIO_BLK_WZ_F_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (seg.num_sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
	    !in_range(lim, seg.sector, seg.num_sectors))
		return VIRTIO_BLK_S_IOERR;
	r->offset = seg.sector * VIRTIO_BLK_SECTOR;
	r->len = (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR;
	r->unmap = seg.flags & VIRTIO_BLK_WZ_F_UNMAP;
	return VIRTIO_BLK_S_OK;
}

int blk_parse(const struct virtq_elem *e, const struct blk_limits *lim,
	      struct blk_req *r)
{
	const struct iovec *last;
	struct blk_hdr h;
	uint64_t data;

	memset(r, 0, offsetof(struct blk_req, iov));
	if (e->out_len < sizeof(h) || e->in_len < 1)
		return -1;
	virtq_iov_to_buf(e->iov, e->nr_out, 0, &h, sizeof(h));
	last = &e->iov[e->nr_out + e->nr_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->type = h.type;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (h.type == VIRTIO_BLK_T_OUT && lim->readonly)
			return VIRTIO_BLK_S_IOERR;
		data = h.type == VIRTIO_BLK_T_IN ? e->in_len - 1 :
						   e->out_len - sizeof(h);
		if (data % VIRTIO_BLK_SECTOR ||
		    !in_range(lim, h.sector, data / VIRTIO_BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		r->offset = h.sector * VIRTIO_BLK_SECTOR;
		r->len = data;
		if (h.type == VIRTIO_BLK_T_IN)
			r->nr_iov = iov_slice(e->iov + e->nr_out, e->nr_in, 0,
					      data, r->iov);
		else
			r->nr_iov = iov_slice(e->iov, e->nr_out, sizeof(h),
					      data, r->iov);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		data = e->in_len - 1;
		r->len = data < VIRTIO_BLK_ID_BYTES ? data :
						      VIRTIO_BLK_ID_BYTES;
		r->nr_iov = iov_slice(e->iov + e->nr_out, e->nr_in, 0, r->len,
				      r->iov);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (h.type == VIRTIO_BLK_T_DISCARD ? !lim->discard :
						     !lim->write_zeroes)
			return VIRTIO_BLK_S_UNSUPP;
		if (lim->readonly)
			return VIRTIO_BLK_S_IOERR;
		return parse_seg(e, lim, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}
