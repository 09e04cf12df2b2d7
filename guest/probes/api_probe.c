// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_probe.c - a guest program (the runtime, booted through the 64-bit
 * Linux entry) for the control-plane tests of test_api_devices.py and
 * test_fc_metrics.py, with the runtime's polling virtio-mmio driver
 * (vdrv.h). Modes, from its command line:
 *   probe.blkrate: reads 4 MiB from the first virtio-blk disk in 64 KiB
 *     requests, between the lines "blkrate: start" and "blkrate: done"
 *     (the host times them against the drive's rate limiter);
 *   probe.blkwrite: writes BW_BLOCKS 4 KiB blocks of the first virtio-blk
 *     disk in order, block n filled with the 64-bit word BW_MAGIC | n,
 *     printing "b=XXXXXXXX" (blocks written) every 16 blocks, then
 *     "blkwrite: done" (live migration with --with-disks: the disk the
 *     VM ends with holds exactly these blocks);
 *   probe.rngrate: reads 3 KiB from the first virtio-rng device in
 *     256-byte requests between "rngrate: start" and "rngrate: done"
 *     (timed against the entropy device's rate limiter);
 *   probe.devs: one request each to the virtio-vsock and virtio-balloon
 *     devices, when there: a connection request to host port 7000
 *     (answered: a reset or a response), one inflated and one deflated
 *     page; then "devs: done" (the metrics' vsock and balloon counters);
 *   probe.boottimer: writes 123 to Firecracker's boot timer at 0xd0000000
 *     first, as Firecracker's init does (--boot-timer: vmon logs the
 *     boot time), and prints "boottimer: written";
 *   probe.kbd: reads the i8042 keyboard (port 0x60) after the host's
 *     SendCtrlAltDel, first with translation (scancode set 1), then with
 *     the command byte switched to set 2, and prints the bytes.
 * Results go to COM1, each check as "ok: what" or "FAIL: what" (the
 * host-side test matches these lines); the number of failed checks goes
 * to isa-debug-exit (0: all passed), or with probe.stay the guest halts
 * and the VM stays up.
 */
#include "rt.h"
#include "vdrv.h"

#define CHUNK (64 * 1024)
#define TOTAL (4 * 1024 * 1024)
#define BOOT_TIMER_ADDR 0xd0000000UL /* Firecracker's on x86 */

/* A check, printed "ok: ..." or "FAIL: ..." and counted by the runtime. */
#define expect(cond, ...) check_as("ok", cond, __VA_ARGS__)

/* With @stay the VM keeps running (halted) for the host to inspect it. */
static __attribute__((noreturn)) void finish(bool stay)
{
	rt_puts(rt_failures ? "api-probe: FAILED\n" : "api-probe: PASSED\n");
	if (!stay)
		rt_exit((uint8_t)rt_failures);
	rt_halt();
}

/* --- virtio-blk (driver: guest/runtime/vdrv.h) ------------------------- */

static struct vq q;
static struct vblk_req req;
static uint8_t data[CHUNK] __attribute__((aligned(4096)));

/* One read of CHUNK bytes at @sector; waits (polling) for its completion. */
static bool blk_read(uint64_t base, uint64_t sector)
{
	uint32_t len;
	uint16_t seen = vdrv_submit(base, &q, 0,
				    vdrv_blk_chain(&q, 0, &req, VBLK_T_IN,
						   sector, data, CHUNK));

	return vdrv_wait(base, &q, seen, &len, 0) && req.status == 0 &&
	       len == CHUNK + 1;
}

/* The first virtio device, a virtio-blk disk, driven; its base. */
static uint64_t blk_init(const char *cmdline)
{
	const char *p = cmdline;
	uint64_t base = vdrv_next_device(&p);

	expect(base && vdrv_is_virtio(base) &&
		       *vdrv_reg(base, VMMIO_DEVICE_ID) == 2 &&
		       vdrv_init(base, &q, 1, 0),
	       "blk: driver init");
	return base;
}

static void blkrate(const char *cmdline)
{
	uint64_t base = blk_init(cmdline);
	bool ok = true;

	rt_puts("blkrate: start\n");
	for (uint64_t off = 0; ok && off < TOTAL; off += CHUNK)
		ok = blk_read(base, off / 512);
	rt_puts("blkrate: done\n");
	expect(ok, "blk: 4 MiB read");
}

#define BW_BLOCK 4096
#define BW_BLOCKS 1536
#define BW_MAGIC 0x5752000000000000ULL

static bool blk_write(uint64_t base, uint64_t n)
{
	uint64_t *w = (uint64_t *)data;
	uint32_t len;
	uint16_t seen;

	for (unsigned int i = 0; i < BW_BLOCK / 8; i++)
		w[i] = BW_MAGIC | n;
	seen = vdrv_submit(base, &q, 0,
			   vdrv_blk_chain(&q, 0, &req, VBLK_T_OUT,
					  n * (BW_BLOCK / 512), data,
					  BW_BLOCK));
	return vdrv_wait(base, &q, seen, &len, 0) && req.status == 0;
}

static void blkwrite(const char *cmdline)
{
	uint64_t base = blk_init(cmdline);
	bool ok = true;

	for (uint64_t n = 0; ok && n < BW_BLOCKS; n++) {
		ok = blk_write(base, n);
		if (ok && (n + 1) % 16 == 0)
			printf("b=%08x\n", (unsigned int)(n + 1));
	}
	rt_puts("blkwrite: done\n");
	expect(ok, "blk: %u blocks written", BW_BLOCKS);
}

/* --- virtio-rng ------------------------------------------------------ */

#define RNG_CHUNK 256
#define RNG_TOTAL 3072

static bool rng_read(uint64_t base)
{
	uint32_t len = 0;
	uint16_t seen;

	q.desc[0] = (struct vq_desc){ (uintptr_t)data, RNG_CHUNK,
				      VQ_DESC_F_WRITE, 0 };
	seen = vdrv_submit(base, &q, 0, 0);
	return vdrv_wait(base, &q, seen, &len, 0) && len == RNG_CHUNK;
}

static void rngrate(const char *cmdline)
{
	uint64_t base = vdrv_find_device(cmdline, 4);
	bool ok = true;

	expect(base && vdrv_init(base, &q, 1, 0), "rng: driver init");
	rt_puts("rngrate: start\n");
	for (unsigned int done = 0; ok && done < RNG_TOTAL; done += RNG_CHUNK)
		ok = rng_read(base);
	rt_puts("rngrate: done\n");
	expect(ok, "rng: 3 KiB read");
}

/* --- virtio-vsock and virtio-balloon: one request each ---------------- */

static struct vq dq[3];
static struct vsock_hdr vhdr, vrx[2];
static uint32_t pfn;
static uint8_t page[4096] __attribute__((aligned(4096)));

/* A stream REQUEST from port 1234 to the host's port 7000; its answer. */
static void vsock_request(uint64_t base)
{
	uint32_t len;
	uint16_t seen;

	if (!expect(vdrv_init(base, dq, 3, 0), "vsock: driver init"))
		return;
	dq[0].desc[0] = (struct vq_desc){ (uintptr_t)vrx, sizeof(vrx),
					  VQ_DESC_F_WRITE, 0 };
	seen = vdrv_submit(base, &dq[0], 0, 0);
	vhdr = (struct vsock_hdr){
		.src_cid = *(volatile uint64_t *)(base + VMMIO_CONFIG),
		.dst_cid = 2,
		.src_port = 1234,
		.dst_port = 7000,
		.type = 1,
		.op = 1,
		.buf_alloc = 4096
	};
	dq[1].desc[0] =
		(struct vq_desc){ (uintptr_t)&vhdr, sizeof(vhdr), 0, 0 };
	vdrv_submit(base, &dq[1], 1, 0);
	expect(vdrv_wait(base, &dq[0], seen, &len, 0) &&
		       len == sizeof(struct vsock_hdr),
	       "vsock: the host answered the request");
}

/* Inflates, then deflates, one page. */
static void balloon_page(uint64_t base)
{
	uint32_t len;

	if (!expect(vdrv_init(base, dq, 2, 0), "balloon: driver init"))
		return;
	pfn = (uint32_t)((uintptr_t)page >> 12);
	for (unsigned int qi = 0; qi < 2; qi++) {
		dq[qi].desc[0] =
			(struct vq_desc){ (uintptr_t)&pfn, sizeof(pfn), 0, 0 };
		expect(vdrv_wait(base, &dq[qi],
				 vdrv_submit(base, &dq[qi], qi, 0), &len, 0),
		       qi ? "balloon: page deflated" :
			    "balloon: page inflated");
	}
}

static void devs(const char *cmdline)
{
	uint64_t base = vdrv_find_device(cmdline, 19);

	if (base)
		vsock_request(base);
	base = vdrv_find_device(cmdline, 5);
	if (base)
		balloon_page(base);
	rt_puts("devs: done\n");
}

/* --- i8042 keyboard --------------------------------------------------- */

static void kbd_read(unsigned int n, const uint8_t *want, const char *what)
{
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t v;

		while (!(inb(0x64) & 1))
			cpu_relax();
		v = inb(0x60);
		printf("%02x ", v);
		ok &= v == want[i];
	}
	rt_puts("\n");
	expect(ok && !(inb(0x64) & 1), "%s", what);
}

static void kbd(void)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53,
					0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };

	expect(!(inb(0x64) & 1), "kbd: nothing to read at first");
	rt_puts("kbd: ready for set 1\n");
	kbd_read(sizeof(set1), set1, "kbd: Ctrl+Alt+Del in scancode set 1");
	/* Command byte: keyboard interrupt on, no translation. */
	outb(0x64, 0x60);
	outb(0x60, 0x01);
	outb(0x64, 0x20);
	while (!(inb(0x64) & 1))
		;
	expect(inb(0x60) == 0x01, "kbd: command byte written");
	rt_puts("kbd: ready for set 2\n");
	kbd_read(sizeof(set2), set2, "kbd: Ctrl+Alt+Del in scancode set 2");
}

int main(void)
{
	const char *cmdline = rt_cmdline();

	rt_puts("api-probe: ");
	rt_puts(cmdline); /* not printf(): no length limit */
	rt_puts("\n");
	if (vdrv_find(cmdline, "probe.boottimer")) {
		*(volatile uint8_t *)BOOT_TIMER_ADDR = 123;
		rt_puts("boottimer: written\n");
	}
	if (vdrv_find(cmdline, "probe.blkrate"))
		blkrate(cmdline);
	if (vdrv_find(cmdline, "probe.blkwrite"))
		blkwrite(cmdline);
	if (vdrv_find(cmdline, "probe.rngrate"))
		rngrate(cmdline);
	if (vdrv_find(cmdline, "probe.devs"))
		devs(cmdline);
	if (vdrv_find(cmdline, "probe.kbd"))
		kbd();
	finish(vdrv_find(cmdline, "probe.stay"));
}
