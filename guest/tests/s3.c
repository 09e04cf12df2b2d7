// SPDX-License-Identifier: GPL-2.0-only
/*
 * s3.c - guest test (vmon run --acpi --cpus 2): suspend to RAM and back,
 * as an OS does it. Finds the FACS and the DSDT's \_S3 through the RSDP,
 * copies a real-mode trampoline below 1 MiB and writes its address to the
 * FACS's Firmware_Waking_Vector, arms the RTC alarm three seconds ahead
 * with AIE and RTC_EN, writes \_S3's SLP_TYP with SLP_EN and checks that
 * it came back through the trampoline: WAK_STS and RTC_STS set, the RTC's
 * AF, memory kept, and the PM timer stood still while the TSC went on.
 * With "s3.wake=key" or "s3.wake=button" on the command line no alarm is
 * armed: the host wakes it with a key on the serial console or the power
 * button (`vmon stop --acpi`), after "entering S3".
 * The trampoline goes real mode -> 32-bit -> 64-bit on the runtime's GDT
 * and page tables and returns from s3_sleep() with 1; C code then puts
 * back CR0, CR4, EFER, the IDT and the task register.
 */
#include "acpi_tables.h"

#define PM_TIMER_HZ 3579545U
#define WAK_STS (1U << 15)
#define RTC_STS (1U << 10)
#define PWRBTN_STS (1U << 8)
#define TRAMPOLINE 0x4000UL
#define MSR_EFER 0xc0000080U

/* Assembly below: returns 0 if the write did not suspend, 1 on resume. */
int s3_sleep(uint16_t port, uint16_t value);
extern char s3_tramp[], s3_tramp_end[], s3_gdtr[];
uint32_t s3_cr3;

asm(".pushsection .text\n"
    ".code64\n"
    ".globl s3_sleep\n"
    "s3_sleep:\n"
    "	pushq %rbx; pushq %rbp; pushq %r12; pushq %r13; pushq %r14; pushq %r15\n"
    "	movq %rsp, s3_saved_rsp(%rip)\n"
    "	movl %edi, %edx\n"
    "	movl %esi, %eax\n"
    "	outw %ax, %dx\n"
    "	xorl %eax, %eax\n"
    "	jmp 1f\n"
    "s3_resume64:\n"
    "	movw $0x10, %ax\n" /* SEL_KDATA */
    "	movw %ax, %ds; movw %ax, %es; movw %ax, %ss\n"
    "	xorw %ax, %ax; movw %ax, %fs; movw %ax, %gs\n"
    "	movq s3_saved_rsp(%rip), %rsp\n"
    "	movl $1, %eax\n"
    "1:	popq %r15; popq %r14; popq %r13; popq %r12; popq %rbp; popq %rbx\n"
    "	ret\n"
    ".code32\n"
    "s3_start32:\n"
    "	movw $0x10, %ax\n"
    "	movw %ax, %ds; movw %ax, %es; movw %ax, %ss\n"
    "	movl s3_cr3, %eax\n"
    "	movl %eax, %cr3\n"
    "	movl %cr4, %eax; orl $0x20, %eax; movl %eax, %cr4\n" /* PAE */
    "	movl $0xc0000080, %ecx; rdmsr; orl $0x100, %eax; wrmsr\n" /* LME */
    "	movl %cr0, %eax; andl $0x9fffffff, %eax; orl $0x80010001, %eax\n"
    "	movl %eax, %cr0\n" /* PG, WP, PE; caches on */
    "	ljmp $0x08, $s3_resume64\n" /* SEL_KCODE */
    ".code16\n"
    ".globl s3_tramp, s3_tramp_end, s3_gdtr\n"
    "s3_tramp:\n"
    "	cli\n"
    "	movw %cs, %ax\n"
    "	movw %ax, %ds\n"
    "	lgdtl s3_gdtr - s3_tramp\n"
    "	movl %cr0, %eax\n"
    "	orl $1, %eax\n"
    "	movl %eax, %cr0\n"
    "	ljmpl $0x28, $s3_start32\n" /* SEL_KCODE32 */
    "	.align 4\n"
    "s3_gdtr: .word 0; .long 0\n"
    "s3_tramp_end:\n"
    ".code64\n"
    ".popsection\n"
    ".pushsection .data\n"
    "s3_saved_rsp: .quad 0\n"
    ".popsection\n");

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* What the resume's reset lost, put back after the trampoline. */
struct cpu_state {
	uint64_t cr0, cr4, efer;
	struct dtr gdt, idt;
	uint16_t tr;
};

static void save_cpu(struct cpu_state *c)
{
	asm volatile("mov %%cr0, %0" : "=r"(c->cr0));
	asm volatile("mov %%cr4, %0" : "=r"(c->cr4));
	asm volatile("sgdt %0" : "=m"(c->gdt));
	asm volatile("sidt %0" : "=m"(c->idt));
	asm volatile("str %0" : "=r"(c->tr));
	c->efer = rdmsr(MSR_EFER);
}

static void restore_cpu(const struct cpu_state *c)
{
	uint64_t *tss = (uint64_t *)(c->gdt.base + c->tr);

	asm volatile("mov %0, %%cr4" : : "r"(c->cr4));
	asm volatile("mov %0, %%cr0" : : "r"(c->cr0));
	wrmsr(MSR_EFER, c->efer);
	asm volatile("lidt %0" : : "m"(c->idt));
	*tss &= ~(2ULL << 40); /* busy -> available: ltr wants it so */
	asm volatile("ltr %w0" : : "r"(c->tr));
}

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

static uint8_t bcd(unsigned int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned int unbcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* The RTC alarm @ahead seconds from now (BCD, 24-hour: the defaults). */
static void arm_alarm(unsigned int ahead)
{
	unsigned int t;
	uint8_t s;

	do { /* the same second before and after: no carry in between */
		while (cmos(0x0a) & 0x80) /* update in progress */
			cpu_relax();
		s = cmos(0);
		t = unbcd(cmos(4)) * 3600 + unbcd(cmos(2)) * 60 + unbcd(s);
	} while (cmos(0) != s);
	t = (t + ahead) % 86400;
	cmos_write(5, bcd(t / 3600));
	cmos_write(3, bcd(t / 60 % 60));
	cmos_write(1, bcd(t % 60));
	cmos(0x0c); /* clear the flags */
	cmos_write(0x0b, cmos(0x0b) | 0x20); /* AIE */
}

/* TSC cycles per second, against a tenth of a second of the PM timer. */
/*
 * A PM timer reading and the TSC at that moment: the reading between two
 * RDTSCs, the tightest of 8 tries. Each PM timer read is an exit to vmon,
 * and on a loaded host the vCPU thread can be preempted on its way back:
 * a lone RDTSC next to the read could be hundreds of ms off (a rate 3x
 * too high once made 1 s of S3 look like 325 ms).
 */
static void pm_tsc_pair(uint16_t tmr, uint32_t *pm, uint64_t *tsc)
{
	uint64_t best = ~0ULL;

	for (unsigned int i = 0; i < 8; i++) {
		uint64_t a = rdtsc();
		uint32_t p = inl(tmr);
		uint64_t b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*pm = p;
			*tsc = a + (b - a) / 2;
		}
	}
}

/* TSC ticks a second, against 100 ms of the PM timer. */
static uint64_t tsc_rate(uint16_t tmr)
{
	uint32_t p0, p1;
	uint64_t t0, t1;

	pm_tsc_pair(tmr, &p0, &t0);
	while (inl(tmr) - p0 < PM_TIMER_HZ / 10)
		cpu_relax();
	pm_tsc_pair(tmr, &p1, &t1);
	return (t1 - t0) * PM_TIMER_HZ / (p1 - p0);
}

static volatile uint64_t pattern[512];

/* Points the FACS's waking vector at a copy of the trampoline. */
static void set_vector(uint8_t *facs, const struct cpu_state *cpu)
{
	uint64_t cr3;

	memcpy((void *)TRAMPOLINE, s3_tramp, (size_t)(s3_tramp_end - s3_tramp));
	memcpy((void *)(TRAMPOLINE + (uint64_t)(s3_gdtr - s3_tramp)), &cpu->gdt,
	       6);
	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	s3_cr3 = (uint32_t)cr3;
	memcpy(facs + 12, &(uint32_t){ TRAMPOLINE }, 4);
	memset(facs + 24, 0, 8); /* no X_Firmware_Waking_Vector */
}

/* The status after the resume: WAK_STS and the wake source's bit. */
static void check_status(uint16_t evt, bool rtc, bool button)
{
	uint16_t sts = inw(evt);
	uint8_t c;

	check(sts & WAK_STS, "WAK_STS set after the resume (0x%x)", sts);
	if (rtc)
		check(sts & RTC_STS, "RTC_STS: the RTC alarm woke it (0x%x)",
		      sts);
	if (button)
		check(sts & PWRBTN_STS,
		      "PWRBTN_STS: the power button woke it (0x%x)", sts);
	outw(evt, sts);
	check(!(inw(evt) & WAK_STS), "WAK_STS cleared by writing 1");
	if (rtc) {
		c = cmos(0x0c);
		check((c & 0xa0) == 0xa0, "RTC register C: AF and IRQF (0x%x)",
		      c);
		cmos_write(0x0b, cmos(0x0b) & (uint8_t)~0x20);
	}
}

static void suspend(const uint8_t *fadt, uint8_t *facs, int typ)
{
	uint16_t evt = (uint16_t)rd32(fadt + 56),
		 cnt = (uint16_t)rd32(fadt + 64);
	uint16_t tmr = (uint16_t)rd32(fadt + 76);
	bool rtc = !cmdline_has("s3.wake="), same = true;
	uint64_t tsc_hz = tsc_rate(tmr), t0, t1, tsc_ms, pm_ms;
	struct cpu_state cpu;
	uint32_t p0, p1;
	int back;

	save_cpu(&cpu);
	set_vector(facs, &cpu);
	for (unsigned int i = 0; i < 512; i++)
		pattern[i] = 0x5335335300000000ULL + i;
	outw(evt, 0xffff); /* clear every status bit */
	if (rtc) {
		outw(evt + 2, RTC_STS); /* RTC_EN: the alarm wakes */
		arm_alarm(3);
	}
	rt_puts("entering S3\n");
	p0 = inl(tmr);
	t0 = rdtsc();
	back = s3_sleep(cnt, (uint16_t)(typ << 10 | SLP_EN));
	t1 = rdtsc();
	p1 = inl(tmr);
	restore_cpu(&cpu);
	check(back == 1, "came back through the waking vector");
	check_status(evt, rtc, cmdline_has("s3.wake=button"));
	for (unsigned int i = 0; i < 512; i++)
		same &= pattern[i] == 0x5335335300000000ULL + i;
	check(same, "memory kept across S3");
	tsc_ms = (t1 - t0) * 1000 / tsc_hz;
	pm_ms = (uint64_t)(p1 - p0) * 1000 / PM_TIMER_HZ;
	check(tsc_ms >= pm_ms + 500,
	      "the PM timer stood still in S3: %lu ms by the TSC, %lu ms by the PM timer",
	      tsc_ms, pm_ms);
}

int main(void)
{
	const uint8_t *rsdp = find_rsdp(), *fadt, *dsdt;
	const struct hdr *x;
	uint8_t *facs;
	int typ;

	if (!check(rsdp != 0, "RSDP found in the BIOS area"))
		return 0;
	x = (const struct hdr *)rd64(rsdp + 24);
	fadt = xsdt_find(x, "FACP");
	if (!fadt)
		return 0;
	dsdt = (const uint8_t *)rd64(fadt + 140);
	facs = (uint8_t *)(rd64(fadt + 132) ? rd64(fadt + 132) :
					      rd32(fadt + 36));
	check(!memcmp(facs, "FACS", 4) && rd32(facs + 4) >= 64, "FACS at 0x%lx",
	      (uint64_t)facs);
	typ = sleep_type(dsdt, "_S3_");
	check(typ >= 0, "DSDT: \\_S3 package, SLP_TYP %d", typ);
	if (typ >= 0)
		suspend(fadt, facs, typ);
	return 0;
}
