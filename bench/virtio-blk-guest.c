// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk-guest.c - the guest side of bench/virtio-blk: a polling
 * virtio-blk driver that runs entirely in ring 3 (guest ring-3 code runs
 * natively even on a PVM host, so this measures the VMM's back-end, not
 * an emulated guest kernel). It finds the disk from the
 * virtio_mmio.device= entries of its PVH command line (vmon and QEMU's
 * microvm both announce devices that way), notifies by MMIO write and
 * polls the used ring for completions. Phases, each announced on COM1 as
 * "PHASE name start" / "PHASE name end requests bytes" so the host can time
 * them:
 *   seqread   1 MiB reads over the whole disk, queue depth 4
 *   seqwrite  1 MiB writes over the whole disk, queue depth 4, then flush
 *   randread  4 KiB reads at pseudo-random offsets, queue depth 1
 * Options on the command line: bench.rand=N (random reads, default 20000).
 */
#include "rt.h"

#define QSZ 16
#define DEPTH_SEQ 4
#define BIG (1U << 20)
#define SMALL 4096U

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct {
	struct desc desc[QSZ] __attribute__((aligned(16)));
	uint16_t avail[2 + QSZ + 1] __attribute__((aligned(4)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSZ];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
} q __attribute__((aligned(4096)));

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct req_hdr hdrs[QSZ / 3];
static volatile uint8_t status[QSZ / 3];
static uint8_t bufs[DEPTH_SEQ][BIG] __attribute__((aligned(4096)));

static uint64_t base;
static uint64_t capacity; /* sectors */
static uint16_t avail_idx, used_seen;
static unsigned int errors;

static volatile uint32_t *reg(unsigned int off)
{
	return (volatile uint32_t *)(base + off);
}

#define barrier() asm volatile("" ::: "memory")

/* Request slot s uses descriptors 3s, 3s+1, 3s+2. */
static void submit(unsigned int s, uint32_t type, uint64_t sector, void *buf,
		   uint32_t len)
{
	uint16_t d = (uint16_t)(3 * s);

	hdrs[s] = (struct req_hdr){ type, 0, sector };
	status[s] = 0xff;
	q.desc[d] =
		(struct desc){ (uintptr_t)&hdrs[s], 16, 1, (uint16_t)(d + 1) };
	if (len) {
		q.desc[d + 1] = (struct desc){ (uintptr_t)buf, len,
					       (uint16_t)(1 | (type ? 0 : 2)),
					       (uint16_t)(d + 2) };
		q.desc[d + 2] = (struct desc){ (uintptr_t)&status[s], 1, 2, 0 };
	} else {
		q.desc[d + 1] = (struct desc){ (uintptr_t)&status[s], 1, 2, 0 };
	}
	q.avail[2 + avail_idx % QSZ] = d;
	barrier();
	q.avail[1] = ++avail_idx;
	barrier();
	*reg(0x50) = 0;
}

/* Waits for one completion; returns its slot. */
static unsigned int complete(void)
{
	unsigned int s;

	while (*(volatile uint16_t *)&q.used.idx == used_seen)
		cpu_relax();
	barrier();
	s = q.used.ring[used_seen % QSZ].id / 3;
	used_seen++;
	if (status[s] != 0)
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

static uint64_t nrand = 20000;

static uint64_t randread(uint64_t arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, blocks = capacity / 8;

	(void)arg;
	for (uint64_t i = 0; i < nrand; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		submit(0, 0, (x % blocks) * 8, bufs[0], SMALL);
		complete();
	}
	return nrand;
}

static bool init(void)
{
	*reg(0x70) = 0;
	*reg(0x70) = 1 | 2;
	*reg(0x24) = 1;
	*reg(0x20) = 1; /* VERSION_1 only */
	*reg(0x24) = 0;
	*reg(0x20) = 0;
	*reg(0x70) = 1 | 2 | 8;
	if (!(*reg(0x70) & 8) || *reg(0x34) < QSZ)
		return false;
	*reg(0x30) = 0;
	*reg(0x38) = QSZ;
	*reg(0x80) = (uint32_t)(uintptr_t)q.desc;
	*reg(0x84) = 0;
	*reg(0x90) = (uint32_t)(uintptr_t)q.avail;
	*reg(0x94) = 0;
	*reg(0xa0) = (uint32_t)(uintptr_t)&q.used;
	*reg(0xa4) = 0;
	*reg(0x44) = 1;
	*reg(0x70) = 1 | 2 | 8 | 4;
	capacity = *(volatile uint32_t *)(base + 0x100) |
		   (uint64_t) * (volatile uint32_t *)(base + 0x104) << 32;
	return true;
}

static uint64_t parse_num(const char **p)
{
	uint64_t v = 0;
	unsigned int b = 10;

	if ((*p)[0] == '0' && (*p)[1] == 'x') {
		b = 16;
		*p += 2;
	}
	for (;; (*p)++) {
		char c = **p;
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (b == 16 && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			break;
		v = v * b + d;
	}
	return v;
}

static const char *find(const char *s, const char *w)
{
	size_t n = 0;

	while (w[n])
		n++;
	for (; *s; s++)
		if (!strncmp(s, w, n))
			return s + n;
	return NULL;
}

/*
 * vmon boots it through PVH, QEMU through multiboot (as ELF32), and only
 * QEMU's fw_cfg copy of the command line has the virtio_mmio.device=
 * entries microvm adds: prefer fw_cfg when it has them.
 */
static char fw_cmdline[4096];

static const char *boot_cmdline(void)
{
	const uint8_t *info = (const uint8_t *)(uintptr_t)rt_boot_info;
	uint32_t flags, mb_cmdline;
	uint64_t pvh_cmdline;

	fw_cfg_read(0x14, &flags, 4); /* FW_CFG_CMDLINE_SIZE */
	if (flags && flags < sizeof(fw_cmdline)) {
		fw_cfg_read(0x15, fw_cmdline, flags); /* FW_CFG_CMDLINE_DATA */
		fw_cmdline[flags] = 0;
		if (find(fw_cmdline, "virtio_mmio.device="))
			return fw_cmdline;
	}
	if (rt_boot_magic == 0x2badb002) {
		memcpy(&flags, info, 4);
		memcpy(&mb_cmdline, info + 16, 4);
		return flags & 4 ? (const char *)(uintptr_t)mb_cmdline : "";
	}
	memcpy(&pvh_cmdline, info + 24, 8); /* hvm_start_info.cmdline_paddr */
	return (const char *)(uintptr_t)pvh_cmdline;
}

static void phase(const char *name, uint64_t (*fn)(uint64_t), uint64_t arg,
		  uint64_t bytes_per)
{
	uint64_t t0, t1, n;

	printf("PHASE %s start\n", name);
	t0 = rdtsc();
	n = rt_user_call(fn, arg);
	t1 = rdtsc();
	printf("PHASE %s end %lu %lu tsc=%lu\n", name, n, n * bytes_per,
	       t1 - t0);
}

int main(void)
{
	const char *cmdline = boot_cmdline();
	const char *p = find(cmdline, "virtio_mmio.device=");
	const char *r = find(cmdline, "bench.rand=");

	printf("cmdline: %s\n", cmdline);
	if (r)
		nrand = parse_num(&r);
	while (p) {
		parse_num(&p);
		if (*p++ != '@')
			break;
		base = parse_num(&p);
		if (*reg(0) == 0x74726976 && *reg(4) == 2 && *reg(8) == 2)
			break;
		base = 0;
		p = find(p, "virtio_mmio.device=");
	}
	if (!check(base != 0,
		   "a virtio-blk device (version 2) on the command line"))
		rt_finish();
	if (!check(init(), "driver initialised"))
		rt_finish();
	printf("disk: %lu MiB\n", capacity >> 11);
	phase("seqread", seq, 0, BIG);
	phase("seqwrite", seq, 1, BIG);
	phase("randread", randread, 0, SMALL);
	check(errors == 0, "every request succeeded (%u errors)", errors);
	rt_finish();
}
