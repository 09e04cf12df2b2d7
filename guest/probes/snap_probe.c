// SPDX-License-Identifier: GPL-2.0-only
/*
 * snap_probe.c - the guest of the snapshot clone tests
 * (test_snapshot_clones.py): it fills guest RAM from 16 MiB to 1 MiB
 * before its end with a pattern (word i: its address times a constant),
 * prints "fill: N pages", then counts forever as api_counter.S does (a
 * line "c=XXXXXXXX" every 4096 steps), and at each line (the loops in
 * ring 3: ring-0 work is emulated on a PVM host)
 *   - reads one page of the pattern (the next, round robin) and checks it:
 *     a wrong word prints "BAD page P" (a restore that lost memory);
 *   - writes the count into a page of a 256-page ring at 8 MiB;
 *   - every 16 lines, reads fw_cfg "etc/vmon/generation" and, when it
 *     changed, prints "gen=N id=HEX" (a restore: the host tells clones
 *     apart by the id).
 */
#include "rt.h"

#define FILL_START (16ULL << 20)
#define RING ((volatile uint32_t *)(8ULL << 20))
#define MUL 0x9E3779B97F4A7C15ULL
#define PAGE 4096
#define GEN_SIZE 24

static uint16_t gen_key;
static uint8_t gen[GEN_SIZE];

static void check_generation(void)
{
	uint8_t now[GEN_SIZE];
	uint64_t n = 0;

	if (!gen_key)
		return;
	/*
	 * The item is read a byte at a time: a snapshot taken in the middle
	 * of a read gives a restored clone the old bytes before it and the
	 * new ones after. Read until two reads agree.
	 */
	uint8_t again[GEN_SIZE];

	fw_cfg_read(gen_key, now, GEN_SIZE);
	for (;;) {
		fw_cfg_read(gen_key, again, GEN_SIZE);
		if (!memcmp(now, again, GEN_SIZE))
			break;
		memcpy(now, again, GEN_SIZE);
	}
	if (!memcmp(now, gen, GEN_SIZE))
		return;
	memcpy(gen, now, GEN_SIZE);
	for (int i = 7; i >= 0; i--)
		n = n << 8 | now[i];
	printf("gen=%u id=", (unsigned int)n);
	for (int i = 8; i < GEN_SIZE; i++)
		printf("%02x", now[i]);
	printf("\n");
}

static uint64_t fill_end;

/* Ring 3 (ring-0 work is emulated on a PVM host): the pattern. */
static uint64_t fill(uint64_t arg)
{
	(void)arg;
	for (uint64_t a = FILL_START; a < fill_end; a += 8)
		*(volatile uint64_t *)a = a * MUL;
	return 0;
}

/* Ring 3: one line's 4096 steps from @c; 0, or 1 if page @arg is wrong. */
static uint64_t step(uint64_t arg)
{
	const volatile uint64_t *p;
	uint64_t addr = FILL_START + (arg & 0xffffffff) * PAGE;
	uint32_t c = (uint32_t)(arg >> 32);

	for (unsigned int i = 0; i < 4096; i++)
		asm volatile("" ::: "memory"); /* count every step */
	RING[(c >> 12 & 0xff) * (PAGE / 4)] = c;
	p = (const volatile uint64_t *)addr;
	for (unsigned int i = 0; i < PAGE / 8; i++)
		if (p[i] != (addr + 8 * i) * MUL)
			return 1;
	return 0;
}

int main(void)
{
	uint64_t ram = 0, end, pages, next = 0;
	uint32_t size;

	fw_cfg_read(0x03, &ram, 8); /* FW_CFG_RAM_SIZE */
	if (!fw_cfg_find("etc/vmon/generation", &gen_key, &size) ||
	    size != GEN_SIZE)
		gen_key = 0;
	end = ram > FILL_START + (2ULL << 20) ? ram - (1ULL << 20) :
						FILL_START + PAGE;
	pages = (end - FILL_START) / PAGE;
	fill_end = end;
	rt_user_call(fill, 0);
	printf("fill: %u pages\n", (unsigned int)pages);
	check_generation();
	for (uint32_t c = 0x1000;; c += 0x1000) {
		if (rt_user_call(step, (uint64_t)c << 32 | next))
			printf("BAD page %u\n", (unsigned int)next);
		printf("c=%08x\n", c);
		next = (next + 1) % pages;
		if (!(c >> 12 & 15))
			check_generation();
	}
}
