/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtq.h - the device side of a virtio 1.2 split virtqueue: validating a
 * queue's layout, taking descriptor chains off the available ring (direct
 * and indirect, every address and length checked against guest RAM), and
 * returning them on the used ring with event-index interrupt suppression.
 *
 * Nothing here trusts the guest: a malformed ring makes virtq_pop() return
 * VIRTQ_ERR and leaves the queue "broken" (the transport then sets
 * DEVICE_NEEDS_RESET). Each value the guest can change concurrently is read
 * exactly once. Not thread-safe: one thread at a time per queue.
 */
#ifndef VMON_VIRTIO_VIRTQ_H
#define VMON_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../vmm/memory.h"

struct state_writer;
struct state_reader;

/* Descriptor flags and ring flags (virtio 1.2, 2.7). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Largest queue vmon offers, and most buffers in one chain. */
#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_SEGS 256
/* Upper bound of the bytes one chain may describe (both directions). */
#define VIRTQ_MAX_CHAIN_BYTES (1ULL << 32)

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Why a ring was refused (for the log and for tests). */
enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_E_AVAIL_IDX, /* avail->idx moved by more than the queue size */
	VIRTQ_E_HEAD, /* a head or next index >= queue (or table) size */
	VIRTQ_E_LOOP, /* chain longer than the queue or table: a loop */
	VIRTQ_E_ADDR, /* a buffer not entirely inside guest RAM */
	VIRTQ_E_ORDER, /* a device-readable buffer after a writable one */
	VIRTQ_E_INDIRECT, /* bad indirect table (nested, size, NEXT, feature) */
	VIRTQ_E_TOO_BIG, /* more than VIRTQ_MAX_SEGS buffers or bytes */
	VIRTQ_E_LAYOUT, /* queue size or ring addresses invalid */
};

const char *virtq_strerror(enum virtq_error e);

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Set by virtq_enable(). */
	const struct guest_mem *mem;
	bool enabled;
	bool indirect; /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	struct virtq_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint16_t *used; /* flags, idx, then {u32 id, u32 len}[size], avail_event */

	uint16_t last_avail; /* next available entry to take */
	uint16_t used_idx; /* next used entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_valid;
	/*
	 * Without event index: VIRTQ_USED_F_NO_NOTIFY may be set in the used
	 * ring (true from enable on: what the driver left there is unknown,
	 * the first virtq_enable_notify() clears it).
	 */
	bool no_notify;
	enum virtq_error error; /* first violation; queue unusable after it */
};

/* One descriptor chain: device-readable buffers first, then writable. */
struct virtq_elem {
	uint16_t head;
	unsigned int nr_out; /* device-readable (driver -> device) */
	unsigned int nr_in; /* device-writable (device -> driver) */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS]; /* out then in */
};

/* Resets to the power-on state (size 0, addresses 0, disabled). */
void virtq_reset(struct virtq *vq);

/*
 * Checks size (power of two, 1..@max_size) and that the three rings lie in
 * guest RAM with their required alignment; on success maps them and enables
 * the queue. Returns VIRTQ_OK or VIRTQ_E_LAYOUT.
 */
enum virtq_error virtq_enable(struct virtq *vq, const struct guest_mem *mem,
			      uint16_t max_size, bool indirect, bool event_idx);

/*
 * Takes the next chain. Returns 1 with @elem filled, 0 if the ring is empty,
 * or -1 on a violation (vq->error says which; later calls keep failing).
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);
/*
 * virtq_pop() for a device's queue loop: when the ring is empty, re-arms
 * guest notifications (virtq_enable_notify()) and looks once more, so a
 * chain the guest added meanwhile is not missed. Returns as virtq_pop();
 * 0 means empty with notifications armed.
 */
int virtq_next(struct virtq *vq, struct virtq_elem *elem);

/* Whether the driver made chains available that were not taken yet. */
bool virtq_has_avail(const struct virtq *vq);

/* Puts back the last popped chain unprocessed (e.g. no resources). */
void virtq_unpop(struct virtq *vq);

/* Returns chain @head with @len bytes written to it on the used ring. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After pushing: whether the driver wants an interrupt now (event index or
 * NO_INTERRUPT). Updates the suppression state; call once per batch.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Asks the driver to notify again: with event index, when it adds past
 * what was consumed; without, by clearing VIRTQ_USED_F_NO_NOTIFY. Returns
 * true if entries are available (added meanwhile: the caller should pop
 * again).
 */
bool virtq_enable_notify(struct virtq *vq);

/*
 * Tells the driver that the device is working through the ring and needs
 * no notification for what it adds (virtio 1.2, 2.7.10): without event
 * index, sets VIRTQ_USED_F_NO_NOTIFY; with it, nothing to do (the event
 * index stays behind until virtq_enable_notify()). A hint: the device
 * must look at the ring again itself until it re-enables notifications
 * and finds the ring empty (virtq_next()).
 */
void virtq_disable_notify(struct virtq *vq);

/*
 * Saves what the driver set up and the device's ring positions (size,
 * ring addresses, enabled, last_avail, used_idx, the interrupt
 * suppression state, the error). The mapped pointers are not saved.
 */
void virtq_save(const struct virtq *vq, struct state_writer *w);
/*
 * Reads a queue saved by virtq_save() into @vq (a copy, not yet live):
 * an enabled queue is validated and mapped as virtq_enable() does, with
 * @indirect and @event_idx from the negotiated features, and its indices
 * must not describe more chains in flight than the queue holds. Returns
 * 0, or -1 with @r failed.
 */
int virtq_load(struct virtq *vq, struct state_reader *r,
	       const struct guest_mem *mem, uint16_t max_size, bool indirect,
	       bool event_idx);

/* Copies up to @len bytes out of / into an element's buffers. */
uint64_t virtq_iov_to_buf(const struct iovec *iov, unsigned int n,
			  uint64_t skip, void *buf, uint64_t len);
uint64_t virtq_buf_to_iov(const struct iovec *iov, unsigned int n,
			  uint64_t skip, const void *buf, uint64_t len);

#endif
