// SPDX-License-Identifier: GPL-2.0-only
/*
 * mig-load.c - the guest of bench/migrate: the same program under vmon
 * and QEMU, either idle or dirtying guest memory at a set rate.
 * Options on the command line:
 *   mig.rate=N     MiB per second to dirty (default 0: idle, the CPU
 *                  halted with interrupts off)
 *   mig.region=N   MiB of RAM at 64 MiB the writes go round (default 128)
 * The rate follows the TSC, whose frequency the program measures against
 * the local APIC timer (KVM's runs at 1 GHz at divide 1). Each write
 * stores a generation and a marker in the first bytes of a page (the
 * page is then dirty and not a page of zeros), in ring 3, page after
 * page round the region. Prints "tsc_khz=N", then "w=NNNNNNNN" (MiB
 * written so far, hex) about once a second; runs until the VM is stopped.
 */
#include "rt.h"
#include "vdrv.h"

#define REGION_BASE (64ULL << 20)
#define CAL_COUNT 50000000U /* 50 ms of the 1 GHz APIC timer */

static uint64_t tsc_hz;
static uint64_t rate_pps; /* pages per second */
static uint64_t region_pages;
static uint64_t t_start;
static uint64_t written; /* pages, since t_start */

/* TSC ticks per second, against a one-shot, masked APIC timer. */
static uint64_t calibrate(void)
{
	uint64_t t0, t1;

	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, 0x10000 | 0xef); /* masked, one-shot */
	t0 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, CAL_COUNT);
	while (lapic_read(LAPIC_TIMER_CUR))
		cpu_relax();
	t1 = rdtsc();
	return (t1 - t0) * (1000000000ULL / CAL_COUNT);
}

/*
 * Dirties pages at rate_pps until @pages more are written (ring 3):
 * written is kept at the pages due by now, never ahead.
 */
static uint64_t dirty(uint64_t pages)
{
	uint64_t end = written + pages;

	while (written < end) {
		uint64_t due = (rdtsc() - t_start) * rate_pps / tsc_hz;

		if (written >= due) {
			cpu_relax();
			continue;
		}
		while (written < due && written < end) {
			volatile uint64_t *w =
				(volatile uint64_t *)(REGION_BASE +
						      (written % region_pages) *
							      4096);

			w[0] = written + 1;
			w[1] = 0x6d69672d6c6f6164ULL; /* "mig-load" */
			written++;
		}
	}
	return 0;
}

static uint64_t option(const char *cmdline, const char *word, uint64_t def)
{
	const char *p = vdrv_find(cmdline, word);

	return p ? vdrv_num(&p) : def;
}

int main(void)
{
	const char *cmdline = rt_cmdline();
	uint64_t rate = option(cmdline, "mig.rate=", 0);

	region_pages = option(cmdline, "mig.region=", 128) * 256;
	if (!region_pages)
		region_pages = 256;
	tsc_hz = calibrate();
	printf("tsc_khz=%lu rate=%lu MiB/s\n", (unsigned long)(tsc_hz / 1000),
	       (unsigned long)rate);
	if (!rate) {
		printf("idle\n");
		rt_halt();
	}
	rate_pps = rate * 256;
	t_start = rdtsc();
	for (;;) {
		/* About a second's worth per ring-3 call. */
		rt_user_call(dirty, rate_pps);
		printf("w=%08lx\n", (unsigned long)(written / 256));
	}
	return 0;
}
