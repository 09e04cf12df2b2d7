// SPDX-License-Identifier: GPL-2.0-only
/*
 * rt.c - the guest runtime's C part: the boot command line, serial input,
 * output and printf, PASS/FAIL accounting and the exit through debug-exit, the IDT and exception
 * report, per-CPU TSS and the ring-3 call, local APIC and IOAPIC helpers,
 * SMP bring-up, fw_cfg access, and the string functions.
 */
#include "rt.h"

#define KSTACK_SIZE 16384
#define USTACK_SIZE 16384
#define AP_TRAMPOLINE 0x8000UL
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

uint32_t rt_boot_magic __attribute__((section(".data")));
uint32_t rt_boot_info __attribute__((section(".data")));
unsigned int rt_failures;

struct tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* P, DPL, type 0xe (interrupt gate) */
	uint16_t off1;
	uint32_t off2;
	uint32_t reserved;
};

extern const uint64_t isr_table[256];
extern uint64_t gdt[];
extern void user_return(void);
extern char user_exit[];
__attribute__((noreturn)) void rt_user_resume(uint64_t result, uint64_t rsp0);
extern char ap_tramp[], ap_tramp_end[];
uint64_t rt_user_enter(uint64_t (*fn)(uint64_t), uint64_t arg,
		       uint64_t ustack_top, uint64_t *rsp0);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct tss tss[RT_MAX_CPUS] __attribute__((aligned(16)));
static uint8_t ustacks[RT_MAX_CPUS][USTACK_SIZE] __attribute__((aligned(16)));
static rt_handler handlers[256];
static void (*ap_fn)(unsigned int cpu);
static volatile unsigned int ap_online;

/* ------------------------------------------------------------ strings */
void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;

	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

/* ------------------------------------------------------------ output */
void rt_putc(char c)
{
	/* Wait for the transmitter holding register (bounded). */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

char rt_getc(void)
{
	while (!(inb(COM1 + 5) & 1)) /* LSR: data ready */
		cpu_relax();
	return (char)inb(COM1);
}

struct out {
	char *buf;
	size_t len, pos;
};

static void out_c(struct out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_num(struct out *o, uint64_t v, unsigned int base, bool neg,
		    int width, char pad, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct out o = { buf, len, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;
		const char *str;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			for (int i = (int)strlen(str); i < width; i++)
				out_c(&o, ' ');
			while (*str)
				out_c(&o, *str++);
			break;
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			out_num(&o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10,
				s < 0, width, pad, false);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) :
				  va_arg(ap, unsigned int);
			out_num(&o, u, *fmt == 'u' ? 10 : 16, false, width, pad,
				*fmt == 'X');
			break;
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (uint64_t)va_arg(ap, void *), 16, false,
				width, pad, false);
			break;
		case '%':
			out_c(&o, '%');
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			if (!*fmt)
				fmt--;
			break;
		}
	}
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = 0;
	return (int)o.pos;
}

int snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

void printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_puts(buf);
}

static bool vcheck(const char *pass, bool ok, const char *fmt, va_list ap)
{
	char buf[400];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	printf("%s: %s\n", ok ? pass : "FAIL", buf);
	if (!ok)
		rt_failures++;
	return ok;
}

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ok = vcheck("PASS", ok, fmt, ap);
	va_end(ap);
	return ok;
}

bool check_as(const char *pass, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ok = vcheck(pass, ok, fmt, ap);
	va_end(ap);
	return ok;
}

void rt_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void rt_exit(uint8_t status)
{
	outb(DEBUG_EXIT_PORT, status);
	rt_halt();
}

void rt_finish(void)
{
	if (rt_failures)
		printf("RESULT: FAIL (%u failed)\n", rt_failures);
	else
		printf("RESULT: PASS\n");
	rt_exit(rt_failures ? RT_FAIL : RT_PASS);
}

/* ------------------------------------------------ APIC and interrupts */
uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

unsigned int rt_cpu_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(unsigned int pin, uint8_t vector)
{
	ioapic_write(0x11 + 2 * pin, 0); /* destination: APIC ID 0 */
	ioapic_write(0x10 + 2 * pin, vector); /* fixed, edge, high, unmasked */
}

void ioapic_mask(unsigned int pin)
{
	ioapic_write(0x10 + 2 * pin, 1U << 16);
}

void rt_set_handler(unsigned int vector, rt_handler fn)
{
	if (vector < 256)
		handlers[vector] = fn;
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "?",   "#TS", "#NP", "#SS", "#GP", "#PF", "?",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void rt_isr(struct rt_frame *f)
{
	uint64_t cr2;

	/*
	 * The ring-3 call's return gate: on a PVM host, int $0x80 in guest
	 * user mode arrives as #UD (or could as #GP) at user_exit instead of
	 * through gate 0x80. The frame sits right below this CPU's RSP0.
	 */
	if ((f->cs & 3) == 3 && f->rip == (uint64_t)user_exit &&
	    (f->vector == 6 || f->vector == 13))
		rt_user_resume(f->rax, (uint64_t)(f + 1));
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (f->vector == 0xff) /* spurious: no EOI */
		return;
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("FAIL: unexpected %s %lu (%s) on cpu %u: error=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx cr2=0x%lx\n",
	       f->vector < 32 ? "exception" : "interrupt", f->vector,
	       f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] :
							"-",
	       rt_cpu_id(), f->error, f->rip, f->cs, f->rflags, f->rsp, cr2);
	printf("RESULT: FAIL (exception)\n");
	rt_exit(RT_FAIL);
}

static void set_gate(unsigned int vec, uint64_t addr, unsigned int dpl)
{
	idt[vec] = (struct idt_gate){
		.off0 = (uint16_t)addr,
		.sel = SEL_KCODE,
		.type = (uint8_t)(0x8e | dpl << 5),
		.off1 = (uint16_t)(addr >> 16),
		.off2 = (uint32_t)(addr >> 32),
	};
}

void rt_set_gate(unsigned int vector, void (*entry)(void))
{
	if (vector >= 32 && vector < 256)
		set_gate(vector, (uint64_t)(uintptr_t)entry, 0);
}

static void load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) p = { sizeof(idt) - 1, (uint64_t)idt };

	asm volatile("lidt %0" : : "m"(p));
}

/* Loads this CPU's TSS and IDT and software-enables its local APIC. */
static void cpu_init(unsigned int cpu)
{
	uint64_t base = (uint64_t)&tss[cpu];
	unsigned int sel = SEL_TSS0 + 16 * cpu;
	uint64_t *d = &gdt[sel / 8];

	tss[cpu].iomap_base = sizeof(struct tss); /* no I/O bitmap */
	d[0] = (sizeof(struct tss) - 1) | (base & 0xffffff) << 16 |
	       0x89ULL << 40 | ((base >> 24) & 0xff) << 56;
	d[1] = base >> 32;
	asm volatile("ltr %w0" : : "r"(sel));
	load_idt();
	lapic_write(LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
}

uint64_t rt_user_call(uint64_t (*fn)(uint64_t), uint64_t arg)
{
	unsigned int cpu = rt_cpu_id();

	/* RSP0 sits at offset 4, unaligned as x86 defines it. */
	uint64_t *rsp0 = (uint64_t *)((uintptr_t)&tss[cpu] + 4);

	return rt_user_enter(fn, arg, (uint64_t)&ustacks[cpu][USTACK_SIZE],
			     rsp0);
}

/* ---------------------------------------------------------------- SMP */
void rt_ap_main(unsigned int cpu)
{
	cpu_init(cpu);
	__atomic_fetch_add(&ap_online, 1, __ATOMIC_SEQ_CST);
	if (ap_fn)
		ap_fn(cpu);
	for (;;)
		asm volatile("cli; hlt");
}

unsigned int rt_smp_start(void (*fn)(unsigned int cpu), unsigned int expected)
{
	size_t len = (size_t)(ap_tramp_end - ap_tramp);

	ap_fn = fn;
	memcpy((void *)AP_TRAMPOLINE, ap_tramp, len);
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, 0x000c4500); /* INIT, all but self */
	for (int i = 0; i < 2; i++)
		lapic_write(LAPIC_ICR_LO,
			    0x000c4600 | (uint32_t)(AP_TRAMPOLINE >> 12));
	/* Ring-0 loops are slow on a PVM host: this waits seconds at most. */
	for (uint64_t t0 = rdtsc();
	     ap_online < expected && rdtsc() - t0 < 20000000000ULL;)
		cpu_relax();
	return ap_online;
}

/* ------------------------------------------------------------ fw_cfg */
void fw_cfg_read(uint16_t key, void *buf, uint32_t len)
{
	uint8_t *p = buf;

	outw(FW_CFG_PORT_SEL, key);
	for (uint32_t i = 0; i < len; i++)
		p[i] = inb(FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

bool fw_cfg_find(const char *name, uint16_t *key, uint32_t *size)
{
	uint8_t b[64];
	uint32_t n;

	fw_cfg_read(0x19, b, 4); /* FW_CFG_FILE_DIR */
	n = be32(b);
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < 64; j++)
			b[j] = inb(FW_CFG_PORT_DATA);
		if (!strncmp((const char *)b + 8, name, 56)) {
			*size = be32(b);
			*key = (uint16_t)(b[4] << 8 | b[5]);
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------ command line */
const char *rt_cmdline(void)
{
	const uint8_t *info = (const uint8_t *)(uintptr_t)rt_boot_info;
	uint32_t magic, flags, cmd32 = 0;
	uint64_t cmd64 = 0;

	if (rt_boot_magic == MULTIBOOT_BOOT_MAGIC) {
		memcpy(&flags, info, 4);
		if (flags & 4) /* MULTIBOOT_INFO_CMDLINE */
			memcpy(&cmd32, info + 16, 4);
		cmd64 = cmd32;
	} else if (rt_boot_magic == RT_BOOT_LINUX64) {
		/* boot_params.hdr.cmd_line_ptr */
		memcpy(&cmd32, info + 0x228, 4);
		cmd64 = cmd32;
	} else if (info) {
		memcpy(&magic, info, 4);
		if (magic == PVH_START_MAGIC) /* hvm_start_info.cmdline_paddr */
			memcpy(&cmd64, info + 24, 8);
	}
	return cmd64 ? (const char *)(uintptr_t)cmd64 : "";
}

/* ---------------------------------------------------------------- start */
void rt_start(void)
{
	/* Mask both 8259s: only the APICs deliver interrupts. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	for (unsigned int i = 0; i < 256; i++)
		set_gate(i, isr_table[i], 0);
	set_gate(0x80, (uint64_t)user_return, 3);
	cpu_init(0);
	main();
	rt_finish();
}
