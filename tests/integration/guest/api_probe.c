// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_probe.c - a freestanding 64-bit guest (ELF, Linux 64-bit entry) for
 * the control-plane tests of test_api_devices.py, with a tiny polling
 * virtio-mmio block driver. Modes, from its command line:
 *   probe.blkrate: reads 4 MiB from the first virtio-blk disk in 64 KiB
 *     requests, between the lines "blkrate: start" and "blkrate: done"
 *     (the host times them against the drive's rate limiter);
 *   probe.rngrate: reads 3 KiB from the first virtio device, a
 *     virtio-rng, in 256-byte requests between "rngrate: start" and
 *     "rngrate: done" (timed against the entropy device's rate limiter);
 *   probe.kbd: reads the i8042 keyboard (port 0x60) after the host's
 *     SendCtrlAltDel, first with translation (scancode set 1), then with
 *     the command byte switched to set 2, and prints the bytes.
 * Results go to COM1; the exit code to isa-debug-exit (0: all passed),
 * or with probe.stay the guest halts and the VM stays up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdrv.h"

#define CHUNK (64 * 1024)
#define TOTAL (4 * 1024 * 1024)

void _start(void);
void *memset(void *d, int c, size_t n);

void *memset(void *d, int c, size_t n)
{
	volatile uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void puts_(const char *s)
{
	while (*s)
		outb(0x3f8, (uint8_t)*s++);
}

static void puthex8(uint8_t v)
{
	char b[4] = { "0123456789abcdef"[v >> 4], "0123456789abcdef"[v & 15],
		      ' ', 0 };

	puts_(b);
}

static unsigned int failures;

static void check(bool ok, const char *what)
{
	puts_(ok ? "ok: " : "FAIL: ");
	puts_(what);
	puts_("\n");
	failures += !ok;
}

/* With @stay the VM keeps running (halted) for the host to inspect it. */
static __attribute__((noreturn)) void finish(bool stay)
{
	puts_(failures ? "api-probe: FAILED\n" : "api-probe: PASSED\n");
	if (!stay)
		outb(0xf4, (uint8_t)failures);
	for (;;)
		__asm__ volatile("hlt");
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

static void blkrate(const char *cmdline)
{
	const char *p = cmdline;
	uint64_t base = vdrv_next_device(&p);
	bool ok = true;

	check(base && vdrv_is_virtio(base) &&
		      *vdrv_reg(base, VMMIO_DEVICE_ID) == 2 &&
		      vdrv_init(base, &q, 1, 0),
	      "blk: driver init");
	puts_("blkrate: start\n");
	for (uint64_t off = 0; ok && off < TOTAL; off += CHUNK)
		ok = blk_read(base, off / 512);
	puts_("blkrate: done\n");
	check(ok, "blk: 4 MiB read");
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
	const char *p = cmdline;
	uint64_t base = vdrv_next_device(&p);
	bool ok = true;

	check(base && vdrv_is_virtio(base) &&
		      *vdrv_reg(base, VMMIO_DEVICE_ID) == 4 &&
		      vdrv_init(base, &q, 1, 0),
	      "rng: driver init");
	puts_("rngrate: start\n");
	for (unsigned int done = 0; ok && done < RNG_TOTAL; done += RNG_CHUNK)
		ok = rng_read(base);
	puts_("rngrate: done\n");
	check(ok, "rng: 3 KiB read");
}

/* --- i8042 keyboard --------------------------------------------------- */

static void kbd_read(unsigned int n, const uint8_t *want, const char *what)
{
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t v;

		while (!(inb(0x64) & 1))
			__asm__ volatile("pause");
		v = inb(0x60);
		puthex8(v);
		ok &= v == want[i];
	}
	puts_("\n");
	check(ok && !(inb(0x64) & 1), what);
}

static void kbd(void)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53,
					0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };

	check(!(inb(0x64) & 1), "kbd: nothing to read at first");
	puts_("kbd: ready for set 1\n");
	kbd_read(sizeof(set1), set1, "kbd: Ctrl+Alt+Del in scancode set 1");
	/* Command byte: keyboard interrupt on, no translation. */
	outb(0x64, 0x60);
	outb(0x60, 0x01);
	outb(0x64, 0x20);
	while (!(inb(0x64) & 1))
		;
	check(inb(0x60) == 0x01, "kbd: command byte written");
	puts_("kbd: ready for set 2\n");
	kbd_read(sizeof(set2), set2, "kbd: Ctrl+Alt+Del in scancode set 2");
}

void __attribute__((used)) probe_main(const uint8_t *zero_page)
{
	uint32_t cmd;
	const char *cmdline;

	__builtin_memcpy(&cmd, zero_page + 0x228, 4);
	cmdline = (const char *)(uintptr_t)cmd;
	puts_("api-probe: ");
	puts_(cmdline);
	puts_("\n");
	if (vdrv_find(cmdline, "probe.blkrate"))
		blkrate(cmdline);
	if (vdrv_find(cmdline, "probe.rngrate"))
		rngrate(cmdline);
	if (vdrv_find(cmdline, "probe.kbd"))
		kbd();
	finish(vdrv_find(cmdline, "probe.stay"));
}

static uint8_t stack[16384] __attribute__((aligned(16), used));

__asm__(".globl _start\n"
	"_start:\n"
	"	lea stack+16384(%rip), %rsp\n"
	"	mov %rsi, %rdi\n"
	"	call probe_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
