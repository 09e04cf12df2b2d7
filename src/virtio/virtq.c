// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtq.c - the split-virtqueue walker: validation of the rings and of
 * every descriptor chain, used-ring updates and notification suppression
 * (virtio 1.2, section 2.7). See virtq.h for the contract.
 */
#include "virtq.h"

#include <string.h>

#include "../vmm/state.h"

/* Byte offsets inside the rings (virtio 1.2, 2.7.6 and 2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 1 /* in uint16_t units */
#define AVAIL_RING 2
#define USED_IDX_OFF 2 /* bytes */
#define USED_RING_OFF 4

#define barrier() __asm__ volatile("" ::: "memory")

const char *virtq_strerror(enum virtq_error e)
{
	switch (e) {
	case VIRTQ_OK:
		return "no error";
	case VIRTQ_E_AVAIL_IDX:
		return "available index moved by more than the queue size";
	case VIRTQ_E_HEAD:
		return "descriptor index out of range";
	case VIRTQ_E_LOOP:
		return "descriptor chain loops";
	case VIRTQ_E_ADDR:
		return "buffer outside guest RAM";
	case VIRTQ_E_ORDER:
		return "device-readable buffer after a device-writable one";
	case VIRTQ_E_INDIRECT:
		return "invalid indirect descriptor";
	case VIRTQ_E_TOO_BIG:
		return "descriptor chain too long";
	case VIRTQ_E_LAYOUT:
		return "invalid queue size or ring address";
	}
	return "unknown error";
}

void virtq_reset(struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

static uint64_t avail_bytes(uint16_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t used_bytes(uint16_t size)
{
	return 6 + 8ULL * size;
}

enum virtq_error virtq_enable(struct virtq *vq, const struct guest_mem *mem,
			      uint16_t max_size, bool indirect, bool event_idx)
{
	uint16_t n = vq->size;

	if (n == 0 || n > max_size || (n & (n - 1)) || vq->desc_gpa % 16 ||
	    vq->avail_gpa % 2 || vq->used_gpa % 4)
		return VIRTQ_E_LAYOUT;
	vq->desc = gpa_to_hva(mem, vq->desc_gpa, 16ULL * n);
	vq->avail = gpa_to_hva(mem, vq->avail_gpa, avail_bytes(n));
	vq->used = gpa_to_hva_rw(mem, vq->used_gpa, used_bytes(n));
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = vq->used = NULL;
		return VIRTQ_E_LAYOUT;
	}
	vq->mem = mem;
	vq->indirect = indirect;
	vq->event_idx = event_idx;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->no_notify = !event_idx;
	vq->error = VIRTQ_OK;
	vq->enabled = true;
	return VIRTQ_OK;
}

static uint16_t load_avail_idx(const struct virtq *vq)
{
	return __atomic_load_n(&vq->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
}

static int fail(struct virtq *vq, enum virtq_error e)
{
	vq->error = e;
	return -1;
}

/* Reads descriptor @i of @table exactly once. */
static void read_desc(const void *table, uint32_t i, struct virtq_desc *d)
{
	memcpy(d, (const uint8_t *)table + 16ULL * i, sizeof(*d));
	barrier();
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	const void *table;
	uint32_t limit, count = 0, idx;
	uint16_t avail_idx, head;
	bool in_indirect = false;

	if (!vq->enabled || vq->error)
		return -1;
	avail_idx = load_avail_idx(vq);
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return fail(vq, VIRTQ_E_AVAIL_IDX);
	if (avail_idx == vq->last_avail)
		return 0;
	head = __atomic_load_n(
		&vq->avail[AVAIL_RING + (vq->last_avail & (vq->size - 1))],
		__ATOMIC_RELAXED);

	elem->head = head;
	elem->nr_out = elem->nr_in = 0;
	elem->out_len = elem->in_len = 0;
	table = vq->desc;
	limit = vq->size;
	idx = head;
	for (;;) {
		struct virtq_desc d;
		void *p;

		if (idx >= limit)
			return fail(vq, VIRTQ_E_HEAD);
		if (++count > limit)
			return fail(vq, VIRTQ_E_LOOP);
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect || in_indirect ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || d.len == 0 ||
			    d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE)
				return fail(vq, VIRTQ_E_INDIRECT);
			table = gpa_to_hva(vq->mem, d.addr, d.len);
			if (!table)
				return fail(vq, VIRTQ_E_ADDR);
			in_indirect = true;
			limit = d.len / 16;
			count = 0;
			idx = 0;
			continue;
		}
		if (d.len) {
			bool wr = d.flags & VIRTQ_DESC_F_WRITE;
			unsigned int n = elem->nr_out + elem->nr_in;

			if (!wr && elem->nr_in)
				return fail(vq, VIRTQ_E_ORDER);
			if (n == VIRTQ_MAX_SEGS ||
			    elem->out_len + elem->in_len + d.len >
				    VIRTQ_MAX_CHAIN_BYTES)
				return fail(vq, VIRTQ_E_TOO_BIG);
			p = wr ? gpa_to_hva_rw(vq->mem, d.addr, d.len) :
				 gpa_to_hva(vq->mem, d.addr, d.len);
			if (!p)
				return fail(vq, VIRTQ_E_ADDR);
			elem->iov[n].iov_base = p;
			elem->iov[n].iov_len = d.len;
			if (wr) {
				elem->nr_in++;
				elem->in_len += d.len;
			} else {
				elem->nr_out++;
				elem->out_len += d.len;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	vq->last_avail++;
	return 1;
}

int virtq_next(struct virtq *vq, struct virtq_elem *elem)
{
	int r = virtq_pop(vq, elem);

	if (r == 0 && virtq_enable_notify(vq))
		r = virtq_pop(vq, elem);
	return r;
}

bool virtq_has_avail(const struct virtq *vq)
{
	return vq->enabled && !vq->error &&
	       load_avail_idx(vq) != vq->last_avail;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint8_t *used = (uint8_t *)vq->used;
	uint8_t *e;
	uint32_t id = head;

	if (!vq->enabled)
		return;
	e = used + USED_RING_OFF + 8ULL * (vq->used_idx & (vq->size - 1));
	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	vq->used_idx++;
	__atomic_store_n((uint16_t *)(used + USED_IDX_OFF), vq->used_idx,
			 __ATOMIC_RELEASE);
	/* The element and the index, through the pointer mapped at enable. */
	gmem_mark_dirty(vq->mem, vq->used_gpa, (uint64_t)(e + 8 - used));
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, new, event;
	bool valid;

	if (!vq->enabled)
		return false;
	/* The used index must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail[AVAIL_FLAGS],
					 __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	new = vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(&vq->avail[AVAIL_RING + vq->size],
				__ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* Writes the used ring's flags (without event index). */
static void set_no_notify(struct virtq *vq, bool on)
{
	vq->no_notify = on;
	__atomic_store_n(&vq->used[0], on ? VIRTQ_USED_F_NO_NOTIFY : 0,
			 __ATOMIC_RELAXED);
	gmem_mark_dirty(vq->mem, vq->used_gpa, 2);
}

bool virtq_enable_notify(struct virtq *vq)
{
	uint8_t *used = (uint8_t *)vq->used;

	if (!vq->enabled || vq->error)
		return false;
	if (vq->event_idx) {
		uint16_t *ev =
			(uint16_t *)(used + USED_RING_OFF + 8ULL * vq->size);

		__atomic_store_n(ev, vq->last_avail, __ATOMIC_RELAXED);
		gmem_mark_dirty(vq->mem, vq->used_gpa, used_bytes(vq->size));
	} else if (vq->no_notify) {
		set_no_notify(vq, false);
	} else {
		return load_avail_idx(vq) != vq->last_avail;
	}
	/* The driver's next add sees the request or we see the add. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load_avail_idx(vq) != vq->last_avail;
}

void virtq_disable_notify(struct virtq *vq)
{
	if (vq->enabled && !vq->error && !vq->event_idx && !vq->no_notify)
		set_no_notify(vq, true);
}

/*
 * Copies up to @len bytes between a buffer and the buffers @iov, starting
 * @skip bytes into them: out of them into @out, or (@out NULL) into them
 * from @in.
 */
static uint64_t iov_copy(const struct iovec *iov, unsigned int n, uint64_t skip,
			 uint8_t *out, const uint8_t *in, uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint64_t l = iov[i].iov_len;
		uint8_t *part;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		part = (uint8_t *)iov[i].iov_base + skip;
		if (out)
			memcpy(out + done, part, l);
		else
			memcpy(part, in + done, l);
		done += l;
		skip = 0;
	}
	return done;
}

uint64_t virtq_iov_to_buf(const struct iovec *iov, unsigned int n,
			  uint64_t skip, void *buf, uint64_t len)
{
	return iov_copy(iov, n, skip, buf, NULL, len);
}

uint64_t virtq_buf_to_iov(const struct iovec *iov, unsigned int n,
			  uint64_t skip, const void *buf, uint64_t len)
{
	return iov_copy(iov, n, skip, NULL, buf, len);
}

/* --- state ------------------------------------------------------------- */

void virtq_save(const struct virtq *vq, struct state_writer *w)
{
	state_put_u16(w, vq->size);
	state_put_u64(w, vq->desc_gpa);
	state_put_u64(w, vq->avail_gpa);
	state_put_u64(w, vq->used_gpa);
	state_put_bool(w, vq->enabled);
	state_put_u16(w, vq->last_avail);
	state_put_u16(w, vq->used_idx);
	state_put_u16(w, vq->signalled_used);
	state_put_bool(w, vq->signalled_valid);
	state_put_u8(w, (uint8_t)vq->error);
}

int virtq_load(struct virtq *vq, struct state_reader *r,
	       const struct guest_mem *mem, uint16_t max_size, bool indirect,
	       bool event_idx)
{
	struct virtq q;
	bool enabled;
	uint16_t last_avail, used_idx, signalled;
	bool signalled_valid;
	uint8_t error;

	memset(&q, 0, sizeof(q));
	q.size = state_get_u16(r, "queue size");
	q.desc_gpa = state_get_u64(r, "queue descriptor address");
	q.avail_gpa = state_get_u64(r, "queue driver address");
	q.used_gpa = state_get_u64(r, "queue device address");
	enabled = state_get_bool(r, "queue ready");
	last_avail = state_get_u16(r, "queue last_avail");
	used_idx = state_get_u16(r, "queue used_idx");
	signalled = state_get_u16(r, "queue signalled_used");
	signalled_valid = state_get_bool(r, "queue signalled_valid");
	error = state_get_u8(r, "queue error");
	if (!state_ok(r) ||
	    !state_check(r, error <= VIRTQ_E_LAYOUT, "queue error"))
		return -1;
	if (enabled) {
		if (virtq_enable(&q, mem, max_size, indirect, event_idx)) {
			state_fail(r, "queue layout: %s",
				   virtq_strerror(VIRTQ_E_LAYOUT));
			return -1;
		}
		/* Popped but not yet used: at most a queue's worth. */
		if (!state_check(r, (uint16_t)(last_avail - used_idx) <= q.size,
				 "queue indices"))
			return -1;
	}
	/* A disabled queue keeps them too; enabling it starts from 0. */
	q.last_avail = last_avail;
	q.used_idx = used_idx;
	q.signalled_used = signalled;
	q.signalled_valid = signalled_valid;
	q.error = (enum virtq_error)error;
	*vq = q;
	return 0;
}
