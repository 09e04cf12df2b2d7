/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vdrv.h - the minimal polling virtio-mmio (version 2) driver shared by the
 * guest programs that talk to virtio devices (guest/probes/virtio_probe.c
 * and api_probe.c, guest/bench/virtio-blk-guest.c): split-queue layout,
 * device discovery from the virtio_mmio.device= command-line entries,
 * feature negotiation and queue setup, submit / poll helpers and the
 * virtio-blk request chain. It owns no state: the programs own their
 * queues and buffers. Linked with the runtime (rt.c: memset()).
 */
#ifndef GUEST_VDRV_H
#define GUEST_VDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_SIZE 16 /* descriptors per queue */

#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2

/* virtio-mmio registers (virtio 1.x, 4.2.2). */
#define VMMIO_MAGIC 0x00
#define VMMIO_VERSION 0x04
#define VMMIO_DEVICE_ID 0x08
#define VMMIO_DRIVER_FEATURES 0x20
#define VMMIO_DRIVER_FEATURES_SEL 0x24
#define VMMIO_QUEUE_SEL 0x30
#define VMMIO_QUEUE_NUM_MAX 0x34
#define VMMIO_QUEUE_NUM 0x38
#define VMMIO_QUEUE_READY 0x44
#define VMMIO_QUEUE_NOTIFY 0x50
#define VMMIO_INTERRUPT_STATUS 0x60
#define VMMIO_INTERRUPT_ACK 0x64
#define VMMIO_STATUS 0x70
#define VMMIO_QUEUE_DESC 0x80
#define VMMIO_QUEUE_AVAIL 0x90
#define VMMIO_QUEUE_USED 0xa0
#define VMMIO_CONFIG 0x100

/* Device status bits. */
#define VSTAT_ACKNOWLEDGE 1
#define VSTAT_DRIVER 2
#define VSTAT_DRIVER_OK 4
#define VSTAT_FEATURES_OK 8
#define VSTAT_NEEDS_RESET 0x40

/* virtio-blk request types. */
#define VBLK_T_IN 0
#define VBLK_T_OUT 1
#define VBLK_T_FLUSH 4
#define VBLK_T_GET_ID 8

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* A split virtqueue; avail[1] is the driver's index, avail[0] its flags. */
struct vq {
	struct vq_desc desc[VQ_SIZE] __attribute__((aligned(16)));
	uint16_t avail[2 + VQ_SIZE + 1] __attribute__((aligned(4)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[VQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
};

/* A virtio-vsock packet's header (virtio 1.2, 5.10.6), little-endian. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

/* A virtio-blk request's header and status byte (two descriptors). */
struct vblk_req {
	uint32_t type, reserved;
	uint64_t sector;
	volatile uint8_t status;
} __attribute__((aligned(16)));

#define vdrv_barrier() __asm__ volatile("" ::: "memory")

static inline volatile uint32_t *vdrv_reg(uint64_t base, unsigned int off)
{
	return (volatile uint32_t *)(base + off);
}

/* --- command line --- */

/* Just past the first occurrence of @word in @s, or NULL. */
const char *vdrv_find(const char *s, const char *word);
/* A decimal or 0x-prefixed (lower-case) hex number at *@p; moves *@p on. */
uint64_t vdrv_num(const char **p);
/*
 * The base of the next "virtio_mmio.device=SIZE@ADDR[:IRQ]" entry at or
 * after *@p, which moves past it; 0 when there is none (or it is garbled).
 */
uint64_t vdrv_next_device(const char **p);
/*
 * The command line with the virtio_mmio.device= entries: QEMU's microvm
 * puts them only in fw_cfg's copy (a multiboot boot), vmon in the boot's.
 */
const char *vdrv_boot_cmdline(void);

/* --- device --- */

/* Whether @base has the virtio-mmio magic and version 2. */
bool vdrv_is_virtio(uint64_t base);
/* The first virtio device (version 2) of type @id on @cmdline, or 0. */
uint64_t vdrv_find_device(const char *cmdline, uint32_t id);
/* The same, with the entry's interrupt line (":IRQ"; 0 if none) in *@irq. */
uint64_t vdrv_find_device_irq(const char *cmdline, uint32_t id,
			      unsigned int *irq);
/*
 * Resets the device, negotiates VERSION_1 plus @features (low word), sets
 * up queues 0..@nq-1 as @qs[0..@nq-1] (zeroed here) and sets DRIVER_OK.
 * Rings that another device had before are taken back from it first (that
 * device is reset), as a driver frees rings only after a reset.
 * False if the device refuses the features or a queue size of VQ_SIZE, or
 * needs a reset.
 */
bool vdrv_init(uint64_t base, struct vq *qs, unsigned int nq,
	       uint32_t features);

/* --- queues --- */

/* Makes chain @head available on @q, without a notification. */
void vdrv_give(struct vq *q, uint16_t head);
/* Notifies queue @qi of @base. */
void vdrv_kick(uint64_t base, unsigned int qi);
/*
 * Notifies queue @qi of @base unless the device set VIRTQ_USED_F_NO_NOTIFY
 * in @q's used ring (read after a full fence: the entries just added are
 * visible to a device that clears it, or the kick goes).
 */
void vdrv_notify(uint64_t base, struct vq *q, unsigned int qi);
/*
 * Makes chain @head available on @q (queue @qi of @base) and notifies
 * (vdrv_notify());
 * returns the used index to wait past (vdrv_wait()).
 */
uint16_t vdrv_submit(uint64_t base, struct vq *q, unsigned int qi,
		     uint16_t head);
/*
 * Polls @q until its used index passes @seen: true with the used length in
 * *@len, false if the device sets NEEDS_RESET or after @limit polls (each
 * an MMIO read of the status; 0: no limit).
 */
bool vdrv_wait(uint64_t base, struct vq *q, uint16_t seen, uint32_t *len,
	       unsigned long limit);
/*
 * Polls only guest memory (no MMIO read, cheap from ring 3) until the used
 * index of @q passes @seen; returns the id of that used element.
 */
uint32_t vdrv_wait_mem(struct vq *q, uint16_t seen);

/*
 * Writes a virtio-blk request chain into descriptors @d.. of @q: @r's
 * header (@type, @sector), then @len bytes at @buf (device-writable unless
 * @type is VBLK_T_OUT; none when @len is 0), then @r's status byte (set to
 * 0xff here). Returns @d, the chain's head.
 */
uint16_t vdrv_blk_chain(struct vq *q, uint16_t d, struct vblk_req *r,
			uint32_t type, uint64_t sector, void *buf,
			uint32_t len);

/* --- benchmarks --- */

/*
 * Runs @fn(@arg) in ring 3 between "PHASE @name start" and "PHASE @name
 * end N BYTES tsc=T" on the console (N what @fn returned, BYTES N times
 * @bytes_per, T the TSC ticks): the host times it by the two lines.
 */
void vdrv_phase(const char *name, uint64_t (*fn)(uint64_t), uint64_t arg,
		uint64_t bytes_per);

#endif
