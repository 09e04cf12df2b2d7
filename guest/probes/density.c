// SPDX-License-Identifier: GPL-2.0-only
/*
 * density.c - the guest of the density tests and benchmark
 * (tests/integration/test_density.py, bench/density): fills "fill=N" MiB
 * of RAM at 16 MiB with content that depends only on the page's index and
 * "seed=S" (so two VMs with the same command line hold the same pages,
 * and no two pages of one VM are alike), says "density: ready", and
 * halts with interrupts off: the vCPU sleeps in KVM until the VM stops.
 * Without fill=, it only says ready and halts (an idle VM).
 * With "tick=HZ" it idles as an operating system does instead: a periodic
 * LAPIC timer at HZ interrupts (KVM's 1 GHz APIC bus), each one counted
 * and acknowledged, and HLT with interrupts on between them; the idle
 * cost benchmark (bench/all --only idle) measures what that costs the
 * host per VM.
 */
#include "rt.h"

#define FILL_BASE (16ULL << 20)
#define PAGE 4096ULL

/* The decimal value of "KEY=N" in the command line, or @def. */
static uint64_t cmdline_num(const char *key, uint64_t def)
{
	const char *p = rt_cmdline();
	size_t klen = 0;

	while (key[klen])
		klen++;
	for (; *p; p++) {
		uint64_t v = 0;
		size_t i = 0;

		if (p != rt_cmdline() && p[-1] != ' ')
			continue;
		while (i < klen && p[i] == key[i])
			i++;
		if (i < klen || p[klen] != '=')
			continue;
		for (p += klen + 1; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint64_t)(*p - '0');
		return v;
	}
	return def;
}

static uint64_t seed;

/* Ring 3: writes @pages pages; each 8-byte word a hash of page and seed. */
static uint64_t fill(uint64_t pages)
{
	for (uint64_t pg = 0; pg < pages; pg++) {
		volatile uint64_t *w =
			(volatile uint64_t *)(FILL_BASE + pg * PAGE);
		uint64_t x = (pg + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

		for (unsigned int i = 0; i < PAGE / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[i] = x;
		}
	}
	return pages;
}

#define TICK_VECTOR 0x40

static volatile uint64_t ticks;

static void tick(struct rt_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

/* Idles forever with a periodic timer of @hz interrupts a second. */
static __attribute__((noreturn)) void idle_ticking(uint64_t hz)
{
	rt_set_handler(TICK_VECTOR, tick);
	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, TICK_VECTOR | 1U << 17); /* periodic */
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)(1000000000ULL / hz));
	for (;;)
		sti_hlt();
}

int main(void)
{
	uint64_t mib = cmdline_num("fill", 0);
	uint64_t hz = cmdline_num("tick", 0);

	seed = cmdline_num("seed", 1) | 1;
	if (mib)
		rt_user_call(fill, mib * (1ULL << 20) / PAGE);
	printf("density: ready %llu MiB\n", (unsigned long long)mib);
	if (hz >= 10 && hz <= 10000)
		idle_ticking(hz);
	rt_halt();
}
