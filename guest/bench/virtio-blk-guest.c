// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk-guest.c - the guest side of bench/virtio-blk: a polling
 * virtio-blk driver that runs entirely in ring 3 (guest ring-3 code runs
 * natively even on a PVM host, so this measures the VMM's back-end, not
 * an emulated guest kernel). It finds the disk from the
 * virtio_mmio.device= entries of its PVH command line (vmon and QEMU's
 * microvm both announce devices that way), notifies by MMIO write unless
 * the device set VIRTQ_USED_F_NO_NOTIFY (vmon sets it while its I/O
 * thread polls the ring, QEMU while it polls one; Linux's driver sees the
 * same through the event index) and polls the used ring for completions. Phases, each announced
 * on COM1 as "PHASE name start" / "PHASE name end requests bytes" so the
 * host can time them:
 *   seqread   1 MiB reads over the whole disk, queue depth 4
 *   seqwrite  1 MiB writes over the whole disk, queue depth 4, then flush
 *   randread  4 KiB reads at pseudo-random offsets, queue depth 1
 *   randwrite 4 KiB writes at pseudo-random offsets, queue depth 1, then
 *             flush (only with bench.randwrite=N)
 * The driver negotiates VIRTIO_BLK_F_FLUSH (it sends flushes), so the
 * disk is write-back in vmon and QEMU alike, as for a Linux guest.
 * Options on the command line: bench.rand=N (random reads, default 20000),
 * bench.randwrite=N (random writes, default 0: no such phase).
 */
#include "rt.h"
#include "vdrv.h"

#define DEPTH_SEQ 4
#define BIG (1U << 20)
#define SMALL 4096U

static struct vq q __attribute__((aligned(4096)));
static struct vblk_req reqs[VQ_SIZE / 3];
static uint8_t bufs[DEPTH_SEQ][BIG] __attribute__((aligned(4096)));

static uint64_t base;
static uint64_t capacity; /* sectors */
static uint16_t used_seen;
static unsigned int errors;

/* Request slot s uses descriptors 3s, 3s+1, 3s+2. */
static void submit(unsigned int s, uint32_t type, uint64_t sector, void *buf,
		   uint32_t len)
{
	vdrv_give(&q, vdrv_blk_chain(&q, (uint16_t)(3 * s), &reqs[s], type,
				     sector, buf, len));
	vdrv_notify(base, &q, 0); /* unless the device polls the ring */
}

/* Waits for one completion; returns its slot. */
static unsigned int complete(void)
{
	unsigned int s = vdrv_wait_mem(&q, used_seen) / 3;

	used_seen++;
	if (reqs[s].status != 0)
		errors++;
	return s;
}

static uint64_t seq(uint64_t type)
{
	uint64_t per = BIG / 512, n = capacity / per, next = 0, done = 0;
	unsigned int inflight = 0;

	for (unsigned int s = 0; s < DEPTH_SEQ && next < n; s++, next++) {
		submit(s, (uint32_t)type, next * per, bufs[s], BIG);
		inflight++;
	}
	while (inflight) {
		unsigned int s = complete();

		inflight--;
		done++;
		if (next < n) {
			submit(s, (uint32_t)type, next * per, bufs[s], BIG);
			next++;
			inflight++;
		}
	}
	if (type == 1) {
		submit(0, 4, 0, NULL, 0); /* flush: the data is on the disk */
		complete();
	}
	return done;
}

static uint64_t nrand = 20000, nrandw;

/* 4 KiB requests of @type (0 read, 1 write) at pseudo-random offsets. */
static uint64_t randio(uint64_t type)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, blocks = capacity / 8;
	uint64_t n = type ? nrandw : nrand;

	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		submit(0, (uint32_t)type, (x % blocks) * 8, bufs[0], SMALL);
		complete();
	}
	if (type == 1) {
		submit(0, 4, 0, NULL, 0);
		complete();
	}
	return n;
}

static bool init(void)
{
	/* It sends flushes: VIRTIO_BLK_F_FLUSH (a write-back cache). */
	if (!vdrv_init(base, &q, 1, 1U << 9))
		return false;
	capacity = *vdrv_reg(base, VMMIO_CONFIG) |
		   (uint64_t)*vdrv_reg(base, VMMIO_CONFIG + 4) << 32;
	return true;
}

int main(void)
{
	const char *cmdline = vdrv_boot_cmdline();
	const char *r = vdrv_find(cmdline, "bench.rand=");
	const char *w = vdrv_find(cmdline, "bench.randwrite=");

	printf("cmdline: %s\n", cmdline);
	if (r)
		nrand = vdrv_num(&r);
	if (w)
		nrandw = vdrv_num(&w);
	base = vdrv_find_device(cmdline, 2);
	if (!check(base != 0,
		   "a virtio-blk device (version 2) on the command line"))
		rt_finish();
	if (!check(init(), "driver initialised"))
		rt_finish();
	printf("disk: %lu MiB\n", capacity >> 11);
	vdrv_phase("seqread", seq, 0, BIG);
	vdrv_phase("seqwrite", seq, 1, BIG);
	vdrv_phase("randread", randio, 0, SMALL);
	if (nrandw)
		vdrv_phase("randwrite", randio, 1, SMALL);
	check(errors == 0, "every request succeeded (%u errors)", errors);
	rt_finish();
}
