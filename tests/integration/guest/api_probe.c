// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_probe.c - a freestanding 64-bit guest (ELF, Linux 64-bit entry) for
 * the control-plane tests of test_api_devices.py, with a tiny polling
 * virtio-mmio block driver. Modes, from its command line:
 *   probe.blkrate: reads 4 MiB from the first virtio-blk disk in 64 KiB
 *     requests, between the lines "blkrate: start" and "blkrate: done"
 *     (the host times them against the drive's rate limiter);
 *   probe.kbd: reads the i8042 keyboard (port 0x60) after the host's
 *     SendCtrlAltDel, first with translation (scancode set 1), then with
 *     the command byte switched to set 2, and prints the bytes.
 * Results go to COM1; the exit code to isa-debug-exit (0: all passed),
 * or with probe.stay the guest halts and the VM stays up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QSZ 8
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

#define barrier() __asm__ volatile("" ::: "memory")

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

static const char *find(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;

		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return a;
	}
	return NULL;
}

/* --- virtio-blk ------------------------------------------------------- */

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
} q;

static uint8_t hdr[16] __attribute__((aligned(16)));
static uint8_t data[CHUNK] __attribute__((aligned(4096)));
static volatile uint8_t status;

static volatile uint32_t *reg(uint64_t base, unsigned int off)
{
	return (volatile uint32_t *)(base + off);
}

static bool blk_init(uint64_t base)
{
	*reg(base, 0x70) = 0;
	*reg(base, 0x70) = 3;
	*reg(base, 0x24) = 1; /* VERSION_1 */
	*reg(base, 0x20) = 1;
	*reg(base, 0x24) = 0;
	*reg(base, 0x20) = 0;
	*reg(base, 0x70) = 3 | 8;
	if (*reg(base, 0x08) != 2 || !(*reg(base, 0x70) & 8))
		return false;
	*reg(base, 0x30) = 0;
	*reg(base, 0x38) = QSZ;
	*reg(base, 0x80) = (uint32_t)(uintptr_t)q.desc;
	*reg(base, 0x84) = 0;
	*reg(base, 0x90) = (uint32_t)(uintptr_t)q.avail;
	*reg(base, 0x94) = 0;
	*reg(base, 0xa0) = (uint32_t)(uintptr_t)&q.used;
	*reg(base, 0xa4) = 0;
	*reg(base, 0x44) = 1;
	*reg(base, 0x70) = 3 | 8 | 4;
	return !(*reg(base, 0x70) & 0x40);
}

/* One read of CHUNK bytes at @sector; waits (polling) for its completion. */
static bool blk_read(uint64_t base, uint64_t sector)
{
	uint16_t idx = q.avail[1], seen = q.used.idx;
	uint32_t type = 0;

	memset(hdr, 0, sizeof(hdr));
	__builtin_memcpy(hdr, &type, 4);
	__builtin_memcpy(hdr + 8, &sector, 8);
	status = 0xff;
	q.desc[0] = (struct desc){ (uintptr_t)hdr, 16, 1, 1 };
	q.desc[1] = (struct desc){ (uintptr_t)data, CHUNK, 1 | 2, 2 };
	q.desc[2] = (struct desc){ (uintptr_t)&status, 1, 2, 0 };
	q.avail[2 + idx % QSZ] = 0;
	barrier();
	q.avail[1] = (uint16_t)(idx + 1);
	barrier();
	*reg(base, 0x50) = 0;
	for (;;) {
		barrier();
		if (q.used.idx != seen)
			break;
		if (*reg(base, 0x70) & 0x40)
			return false;
		__asm__ volatile("pause");
	}
	return status == 0 && q.used.ring[seen % QSZ].len == CHUNK + 1;
}

/* The first device of "virtio_mmio.device=512@0xADDR:IRQ". */
static uint64_t first_device(const char *cmdline)
{
	const char *p = find(cmdline, "virtio_mmio.device=512@0x");
	uint64_t v = 0;

	for (; p && *p && *p != ':'; p++)
		v = v * 16 + (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	return v;
}

static void blkrate(const char *cmdline)
{
	uint64_t base = first_device(cmdline);
	bool ok = true;

	check(base && blk_init(base), "blk: driver init");
	puts_("blkrate: start\n");
	for (uint64_t off = 0; ok && off < TOTAL; off += CHUNK)
		ok = blk_read(base, off / 512);
	puts_("blkrate: done\n");
	check(ok, "blk: 4 MiB read");
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
	if (find(cmdline, "probe.blkrate"))
		blkrate(cmdline);
	if (find(cmdline, "probe.kbd"))
		kbd();
	finish(find(cmdline, "probe.stay"));
}

static uint8_t stack[16384] __attribute__((aligned(16), used));

__asm__(".globl _start\n"
	"_start:\n"
	"	lea stack+16384(%rip), %rsp\n"
	"	mov %rsi, %rdi\n"
	"	call probe_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
