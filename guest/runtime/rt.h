/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rt.h - the guest runtime: what a guest program (guest/tests,
 * guest/probes, guest/bench) can use. The runtime boots from vmon's PVH
 * entry or from multiboot (built with -DRT_ENTRY_LINUX64: from the 64-bit
 * Linux boot protocol instead), switches to 64-bit mode with an identity
 * map of the first 4 GiB, installs a GDT, IDT and per-CPU TSS, and calls
 * the program's main() in ring 0.
 * Everything runs in ring 0 unless passed to rt_user_call(); keep ring-0
 * work short (it is emulated on a PVM host) and loop in ring 3.
 * docs/testing.md explains how to write a program.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_CPUS 8
#define RT_PASS 0 /* rt_exit() status: vmon exits (status << 1) | 1 */
#define RT_FAIL 1

/* Segment selectors of the runtime's GDT. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_KCODE32 0x28
#define SEL_TSS0 0x30

#define MULTIBOOT_BOOT_MAGIC 0x2badb002
#define PVH_START_MAGIC 0x336ec578 /* hvm_start_info.magic */
/* rt_boot_magic after the 64-bit Linux entry ("HdrS"); rt_boot_info is RSI */
#define RT_BOOT_LINUX64 0x53726448

#define LAPIC_BASE 0xfee00000UL
#define IOAPIC_BASE 0xfec00000UL
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

/* The interrupted state an exception or interrupt handler gets. */
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*rt_handler)(struct rt_frame *f);

/* --- boot --- */
extern uint32_t rt_boot_magic; /* EAX at entry (or RT_BOOT_LINUX64) */
extern uint32_t rt_boot_info; /* EBX at entry (RSI: the zero page) */
/*
 * The kernel command line the loader passed, whichever the boot protocol
 * (PVH start info, multiboot info, Linux zero page); "" if none.
 */
const char *rt_cmdline(void);
int main(void); /* the program: returns when done, see rt_finish() */

/* --- port and memory-mapped I/O, CPU instructions --- */
static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define MMIO_RW(bits)                                                        \
	static inline uint##bits##_t mmio_read##bits(uint64_t addr)          \
	{                                                                    \
		return *(volatile uint##bits##_t *)addr;                     \
	}                                                                    \
	static inline void mmio_write##bits(uint64_t addr, uint##bits##_t v) \
	{                                                                    \
		*(volatile uint##bits##_t *)addr = v;                        \
	}
MMIO_RW(8)
MMIO_RW(16)
MMIO_RW(32)
MMIO_RW(64)

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr"
		     :
		     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}
static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}
/* Enables interrupts and halts until one arrives (no lost wake-up). */
static inline void sti_hlt(void)
{
	asm volatile("sti; hlt" ::: "memory");
}
static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* --- serial port (COM1), output and results --- */
void rt_putc(char c);
void rt_puts(const char *s);
/* Waits for a byte from COM1 (the host's go-ahead, say) and returns it. */
char rt_getc(void);
__attribute__((format(printf, 1, 2))) void printf(const char *fmt, ...);
int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, size_t len,
						   const char *fmt, ...);
/* Prints "PASS: msg" or "FAIL: msg" and counts failures; returns @ok. */
__attribute__((format(printf, 2, 3))) bool check(bool ok, const char *fmt, ...);
/*
 * check() with @pass in place of "PASS" (the probes print "ok: msg", the
 * form their host-side tests match).
 */
__attribute__((format(printf, 3, 4))) bool check_as(const char *pass, bool ok,
						    const char *fmt, ...);
extern unsigned int rt_failures;
/* Prints "RESULT: PASS" or "RESULT: FAIL" and exits RT_PASS / RT_FAIL. */
__attribute__((noreturn)) void rt_finish(void);
/* Ends vmon through debug-exit: vmon's exit code is (status << 1) | 1. */
__attribute__((noreturn)) void rt_exit(uint8_t status);
/* Halts this CPU for good, interrupts off: the VM stays up. */
__attribute__((noreturn)) void rt_halt(void);

/* --- interrupts --- */
/* Installs @fn for @vector (0..255); NULL restores the default (fatal). */
void rt_set_handler(unsigned int vector, rt_handler fn);
/*
 * Points IDT entry @vector (32..255) straight at @entry, an assembly stub
 * that saves what it uses and ends in iretq, bypassing rt_isr() and its
 * register frame: for a handler that must be as short as it can be
 * (guest/bench/irq-rtt.c). rt_set_handler() no longer applies to it.
 */
void rt_set_gate(unsigned int vector, void (*entry)(void));
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
void lapic_eoi(void);
unsigned int rt_cpu_id(void); /* this CPU's local APIC ID */
/* Routes IOAPIC pin @pin, edge-triggered, to @vector on CPU 0. */
void ioapic_route(unsigned int pin, uint8_t vector);
void ioapic_mask(unsigned int pin);

/* --- ring 3 --- */
/*
 * Runs fn(arg) in ring 3 on this CPU's user stack (with interrupts
 * enabled) and returns its result; fn returns through an interrupt gate.
 */
uint64_t rt_user_call(uint64_t (*fn)(uint64_t), uint64_t arg);

/* --- SMP --- */
/*
 * Starts every other CPU (INIT-SIPI-SIPI) and has each call fn(cpu) in
 * ring 0; waits until @expected CPUs besides the BSP are running (or a
 * timeout) and returns how many did.
 */
unsigned int rt_smp_start(void (*fn)(unsigned int cpu), unsigned int expected);

/* --- fw_cfg (QEMU's firmware configuration) --- */
void fw_cfg_read(uint16_t key, void *buf, uint32_t len);
/* Finds a file in the directory; returns true and its key and size. */
bool fw_cfg_find(const char *name, uint16_t *key, uint32_t *size);

/* --- vmon's hypercalls (docs/hypercalls.md) --- */
uint64_t hypercall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3);

/* --- string functions (the compiler may call these too) --- */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Whether @word occurs in the kernel command line (rt_cmdline()). */
static inline bool cmdline_has(const char *word)
{
	size_t n = strlen(word);

	for (const char *s = rt_cmdline(); *s; s++)
		if (!strncmp(s, word, n))
			return true;
	return false;
}

#endif
