// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net-guest.c - the guest side of bench/virtio-net: a polling
 * virtio-net driver that runs in ring 3 (native even on a PVM host, so the
 * figures are the VMM's back-end: notification, queue walking, the tap's
 * read and write), talking raw Ethernet frames of EtherType 0x88b5 (local
 * experimental) with bench/virtio-net-host.c on the host side of the tap.
 * It finds the device from the virtio_mmio.device= entries of its command
 * line (vmon's PVH one, or QEMU microvm's fw_cfg copy). Phases, announced
 * on COM1 as "PHASE name start" / "PHASE name end frames bytes" so the host
 * can time them:
 *   tx  bench.tx=N frames of 1514 bytes to the host, as fast as the
 *       transmit queue takes them (16 in flight)
 *   rr  bench.rr=N request/response round trips of 64-byte frames: one
 *       frame out, wait for the host's echo, the next
 *   rx  asks the host for bench.rx=N frames of 1514 bytes, 256 at a time,
 *       and counts those that arrive (frames dropped on the way are not
 *       counted: the host prints how many it sent)
 * Frame payload: kind (1 byte: T data, R request, r response, B burst
 * request, b burst data, E end), then a 32-bit sequence or count.
 */
#include "rt.h"
#include "vdrv.h"

#define HDR 12 /* virtio_net_hdr with VERSION_1 (num_buffers included) */
#define BIG 1514
#define SMALL 64
#define ETHERTYPE 0x88b5
#define RXQ 0
#define TXQ 1
#define TIMEOUT_TSC (1ULL << 31) /* ~0.7 s at 3 GHz: a frame was lost */

static struct vq queues[2] __attribute__((aligned(4096)));
static uint8_t rxbufs[VQ_SIZE][2048] __attribute__((aligned(64)));
static uint8_t txbufs[VQ_SIZE][2048] __attribute__((aligned(64)));
static uint64_t base;
static uint16_t rx_seen, tx_seen, tx_next;
static unsigned int tx_inflight, errors, timeouts;
static uint64_t ntx = 200000, nrr = 20000, nrx = 200000;

/* The headers of a frame of @kind and @seq in @buf (the rest is filler). */
static void frame(uint8_t *buf, uint8_t kind, uint32_t seq)
{
	uint8_t *e = buf + HDR;

	memset(buf, 0, HDR);
	memset(e, 0xff, 6); /* broadcast */
	memcpy(e + 6, (const uint8_t[]){ 2, 0, 0, 0, 0x4e, 0x7b }, 6);
	e[12] = ETHERTYPE >> 8;
	e[13] = ETHERTYPE & 0xff;
	e[14] = kind;
	memcpy(e + 15, &seq, 4);
}

/*
 * Notifies queue @qi unless the device said it does not need it (it is
 * working through the ring: VRING_USED_F_NO_NOTIFY), as Linux's driver
 * does; the fence orders the avail index before the flag's read.
 */
static void kick(unsigned int qi)
{
	vdrv_notify(base, &queues[qi], qi);
}

/* Takes back the transmit queue's completed frames; true if any. */
static bool tx_reap(void)
{
	bool any = false;

	while (*(volatile uint16_t *)&queues[TXQ].used.idx != tx_seen) {
		tx_seen++;
		tx_inflight--;
		any = true;
	}
	return any;
}

/* Queues one frame (@len bytes with its Ethernet header); no kick. */
static void tx_put(unsigned int len, uint8_t kind, uint32_t seq)
{
	uint16_t d = tx_next++ % VQ_SIZE;

	frame(txbufs[d], kind, seq);
	queues[TXQ].desc[d] =
		(struct vq_desc){ (uintptr_t)txbufs[d], HDR + len, 0, 0 };
	vdrv_give(&queues[TXQ], d);
	tx_inflight++;
}

/* Sends one frame and waits until the device took it. */
static void tx_one(unsigned int len, uint8_t kind, uint32_t seq)
{
	while (tx_inflight == VQ_SIZE)
		tx_reap();
	tx_put(len, kind, seq);
	kick(TXQ);
}

/*
 * The next received frame's payload (kind at [0]) and its length, or NULL
 * after TIMEOUT_TSC; the buffer goes back to the device at the next call.
 */
static const uint8_t *rx_next(uint32_t *len)
{
	static int last = -1;
	uint64_t t0 = rdtsc();
	uint32_t id;

	if (last >= 0) {
		vdrv_give(&queues[RXQ], (uint16_t)last);
		kick(RXQ);
		last = -1;
	}
	while (*(volatile uint16_t *)&queues[RXQ].used.idx == rx_seen) {
		if (rdtsc() - t0 > TIMEOUT_TSC)
			return NULL;
		__asm__ volatile("pause");
	}
	vdrv_barrier();
	id = queues[RXQ].used.ring[rx_seen % VQ_SIZE].id;
	*len = queues[RXQ].used.ring[rx_seen % VQ_SIZE].len;
	rx_seen++;
	if (id >= VQ_SIZE || *len < HDR + 19 || *len > sizeof(rxbufs[0])) {
		errors++;
		return NULL;
	}
	last = (int)id;
	*len -= HDR + 14;
	return rxbufs[id] + HDR + 14;
}

static uint64_t tx_phase(uint64_t n)
{
	for (uint64_t i = 0; i < n;) {
		bool put = false;

		tx_reap();
		while (tx_inflight < VQ_SIZE && i < n) {
			tx_put(BIG, 'T', (uint32_t)i++);
			put = true;
		}
		if (put)
			kick(TXQ);
		else
			__asm__ volatile("pause");
	}
	while (tx_inflight)
		tx_reap();
	return n;
}

static uint64_t rr_phase(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p;
		uint32_t len, seq;

		tx_one(SMALL, 'R', (uint32_t)i);
		do {
			p = rx_next(&len);
			if (!p)
				return i;
			memcpy(&seq, p + 1, 4);
		} while (p[0] != 'r' || seq != (uint32_t)i);
	}
	return n;
}

/*
 * Asks for the frames in chunks of CHUNK (the tap's queue holds 1000, so a
 * chunk is never dropped for want of room while the guest keeps up), each
 * ended by the host's end marker; a chunk whose end marker was lost ends
 * at the timeout.
 */
#define CHUNK 256

static uint64_t rx_phase(uint64_t n)
{
	uint64_t got = 0;

	for (uint64_t asked = 0; asked < n;) {
		uint32_t k = n - asked < CHUNK ? (uint32_t)(n - asked) : CHUNK;

		tx_one(SMALL, 'B', k);
		asked += k;
		for (;;) {
			uint32_t len;
			const uint8_t *p = rx_next(&len);

			if (!p)
				timeouts++;
			if (!p || p[0] == 'E')
				break;
			got += p[0] == 'b';
		}
	}
	return got;
}

static bool init(void)
{
	if (!vdrv_init(base, queues, 2, 0))
		return false;
	for (uint16_t d = 0; d < VQ_SIZE; d++) {
		queues[RXQ].desc[d] = (struct vq_desc){ (uintptr_t)rxbufs[d],
							sizeof(rxbufs[d]),
							VQ_DESC_F_WRITE, 0 };
		vdrv_give(&queues[RXQ], d);
	}
	vdrv_kick(base, RXQ);
	return true;
}

int main(void)
{
	const char *cmdline = vdrv_boot_cmdline();
	const char *o;

	printf("cmdline: %s\n", cmdline);
	if ((o = vdrv_find(cmdline, "bench.tx=")))
		ntx = vdrv_num(&o);
	if ((o = vdrv_find(cmdline, "bench.rr=")))
		nrr = vdrv_num(&o);
	if ((o = vdrv_find(cmdline, "bench.rx=")))
		nrx = vdrv_num(&o);
	base = vdrv_find_device(cmdline, 1);
	if (!check(base != 0,
		   "a virtio-net device (version 2) on the command line"))
		rt_finish();
	if (!check(init(), "driver initialised"))
		rt_finish();
	vdrv_phase("tx", tx_phase, ntx, BIG);
	vdrv_phase("rr", rr_phase, nrr, SMALL);
	vdrv_phase("rx", rx_phase, nrx, BIG);
	printf("rx chunks ended by the timeout (end marker lost): %u\n",
	       timeouts);
	check(errors == 0, "every frame well-formed (%u errors)", errors);
	rt_finish();
}
