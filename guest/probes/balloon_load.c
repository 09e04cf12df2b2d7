// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon_load.c - the guest of the balloon controller test
 * (tests/integration/test_density.py, part balance_load): a program that
 * uses memory in phases (ring 3) and drives a virtio-balloon the way a
 * guest kernel's driver does (ring 0), so that `vmon balance` acts on a
 * guest that answers.
 *
 * Memory: the pages from 16 MiB to the end of RAM ("bl.ram=MiB") are a
 * pool; each page is untouched (free, not resident on the host), free
 * (free but written: resident until reported or ballooned), used (the
 * program's), cache (written, reclaimable, like a kernel's page cache) or
 * in the balloon.
 *
 * The program (ring 3, once per loop turn): VM "bl.vm=I" of "bl.n=N" uses
 * "bl.base=MiB" always and "bl.active=MiB" more in its turn (turns of
 * "bl.phase=S" seconds, by the RTC, one VM after the other); it allocates
 * (untouched, then free, then evicting cache) and writes each page with a
 * pattern of its number, checks the pattern when it frees the page, and
 * grows the cache by up to "bl.cache=MiB" per second into free pages.
 *
 * The driver (ring 0): it follows the balloon's target (inflate: untouched
 * pages first, then free ones, then cache; deflate: the newest given),
 * writes `actual`, answers the statistics queue (free, total, available,
 * caches), reports free pages if "bl.report=1" and the device offers it,
 * and deflates on its own when the program runs out of memory if the
 * device offers deflate-on-oom. Between turns it sleeps 50 ms on the local
 * APIC timer. Lines: "balloon_load: ready", one per phase change, and
 * "balloon_load: corrupt page" (then it exits failing) if a used page lost
 * its content.
 */
#include "rt.h"
#include "vdrv.h"

#define PAGE 4096ULL
#define POOL_BASE (16ULL << 20)
#define MAX_PAGES (((4096ULL << 20) - POOL_BASE) / PAGE)
#define BATCH 1024 /* page numbers per inflate or deflate buffer */
#define STEP_PAGES 1024 /* pages the program allocates or frees per turn */
#define TIMER_VECTOR 0x40
#define SLEEP_NS 50000000 /* KVM's APIC timer counts at 1 GHz */

#define VMMIO_DEVICE_FEATURES 0x10
#define VMMIO_DEVICE_FEATURES_SEL 0x14
#define F_STATS_VQ (1U << 1)
#define F_DEFLATE_ON_OOM (1U << 2)
#define F_PAGE_REPORTING (1U << 5)

enum page_state { P_UNTOUCHED, P_FREE, P_USED, P_CACHE, P_BALLOON, P_NR };

/* Statistics tags (virtio 1.2, 5.5.6.3). */
enum { S_MEMFREE = 4, S_MEMTOT = 5, S_AVAIL = 6, S_CACHES = 7, NR_STATS = 4 };

struct stat_entry {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

/* Shared between the two rings: all of it is user-accessible memory. */
static uint8_t state[MAX_PAGES];
static uint64_t count[P_NR];
static uint64_t npages, now_s, cache_budget, oom_want;
static uint64_t vm_index, nvms, phase_s, base_pages, active_pages, cache_mib;
static bool corrupt;

static uint32_t bl_pfns[BATCH] __attribute__((aligned(16)));
static uint32_t bl_stack[MAX_PAGES]; /* ballooned pages, newest last */
static struct stat_entry stats[NR_STATS] __attribute__((aligned(16)));
static struct vq queues[4];

static uint64_t arg(const char *key, uint64_t def)
{
	const char *p = vdrv_find(rt_cmdline(), key);

	return p ? vdrv_num(&p) : def;
}

static uint64_t *page_va(uint64_t i)
{
	return (uint64_t *)(POOL_BASE + i * PAGE);
}

static void set_state(uint64_t i, enum page_state s)
{
	count[state[i]]--;
	state[i] = (uint8_t)s;
	count[s]++;
}

/* The first page in @s, searching from a rotating cursor; -1 if none. */
static int64_t find_page(enum page_state s)
{
	static uint64_t cursor[P_NR];

	if (!count[s])
		return -1;
	for (uint64_t k = 0; k < npages; k++) {
		uint64_t i = (cursor[s] + k) % npages;

		if (state[i] == s) {
			cursor[s] = i + 1;
			return (int64_t)i;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ ring 3 */

static void fill_page(uint64_t i, uint64_t tag)
{
	uint64_t *w = page_va(i);

	for (unsigned int k = 0; k < PAGE / 8; k++)
		w[k] = (i << 20 | k) ^ tag;
}

static bool page_intact(uint64_t i, uint64_t tag)
{
	const uint64_t *w = page_va(i);

	for (unsigned int k = 0; k < PAGE / 8; k += 61)
		if (w[k] != ((i << 20 | k) ^ tag))
			return false;
	return true;
}

#define USED_TAG 0x5a5a000000000000ULL
#define CACHE_TAG 0x0c0c000000000000ULL

/*
 * A page to take, for the program or the balloon: untouched (costs the
 * host nothing), then free, then a cache page dropped; -1 if none.
 */
static int64_t take_page(void)
{
	int64_t i = find_page(P_UNTOUCHED);

	if (i < 0)
		i = find_page(P_FREE);
	if (i < 0)
		i = find_page(P_CACHE);
	return i;
}

/* One page for the program. */
static bool alloc_page(void)
{
	int64_t i = take_page();

	if (i < 0)
		return false;
	set_state((uint64_t)i, P_USED);
	fill_page((uint64_t)i, USED_TAG);
	return true;
}

static void free_page(void)
{
	int64_t i = find_page(P_USED);

	if (i < 0)
		return;
	if (!page_intact((uint64_t)i, USED_TAG))
		corrupt = true;
	set_state((uint64_t)i, P_FREE);
}

/* The cache grows into free (then untouched) pages within its budget. */
static void grow_cache(void)
{
	while (cache_budget) {
		int64_t i = find_page(P_FREE);

		if (i < 0)
			i = find_page(P_UNTOUCHED);
		if (i < 0)
			return;
		set_state((uint64_t)i, P_CACHE);
		fill_page((uint64_t)i, CACHE_TAG);
		cache_budget--;
	}
}

/* The program's turn: move toward this phase's use, grow the cache. */
static uint64_t program_step(uint64_t unused)
{
	bool mine = nvms && (now_s / phase_s) % nvms == vm_index;
	uint64_t goal = base_pages + (mine ? active_pages : 0);

	(void)unused;
	oom_want = 0;
	for (int k = 0; k < STEP_PAGES && count[P_USED] < goal; k++)
		if (!alloc_page()) {
			oom_want = goal - count[P_USED];
			break;
		}
	for (int k = 0; k < STEP_PAGES && count[P_USED] > goal; k++)
		free_page();
	grow_cache();
	return 0;
}

/* ------------------------------------------------------------ ring 0 */

static uint64_t dev;
static uint32_t feats;
static uint16_t stats_seen;

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

/* Seconds since boot, by the RTC (monotonic across midnight). */
static uint64_t rtc_seconds(void)
{
	static uint64_t first = UINT64_MAX, last, days;
	uint8_t s, m, h;
	bool bcd = !(cmos(0x0b) & 4);
	uint64_t t;

	while (cmos(0x0a) & 0x80)
		cpu_relax();
	s = cmos(0x00);
	m = cmos(0x02);
	h = cmos(0x04);
	if (bcd) {
		s = (uint8_t)((s >> 4) * 10 + (s & 15));
		m = (uint8_t)((m >> 4) * 10 + (m & 15));
		h = (uint8_t)((h >> 4) * 10 + (h & 15));
	}
	t = h * 3600ULL + m * 60ULL + s;
	if (first == UINT64_MAX)
		first = t;
	if (t < last)
		days++;
	last = t;
	return days * 86400 + t - first;
}

static volatile uint32_t *cfg(unsigned int off)
{
	return vdrv_reg(dev, VMMIO_CONFIG + off);
}

/* Hands @n page numbers of bl_pfns to queue @qi (0 inflate, 1 deflate). */
static void send_pfns(unsigned int qi, unsigned int n)
{
	struct vq *q = &queues[qi];
	uint32_t len;

	q->desc[0] = (struct vq_desc){ (uintptr_t)bl_pfns, n * 4, 0, 0 };
	vdrv_wait(dev, q, vdrv_submit(dev, q, qi, 0), &len, 0);
}

/* Inflates by up to @want pages (one buffer); returns how many. */
static unsigned int inflate(uint64_t want)
{
	unsigned int n = 0;

	while (n < BATCH && n < want) {
		int64_t i = take_page();

		if (i < 0)
			break;
		set_state((uint64_t)i, P_BALLOON);
		bl_stack[count[P_BALLOON] - 1] = (uint32_t)i;
		bl_pfns[n++] = (uint32_t)((POOL_BASE >> 12) + (uint64_t)i);
	}
	if (n)
		send_pfns(0, n);
	return n;
}

/* Deflates by up to @want pages: they come back untouched (zero pages). */
static unsigned int deflate(uint64_t want)
{
	unsigned int n = 0;

	while (n < BATCH && n < want && count[P_BALLOON]) {
		uint32_t i = bl_stack[count[P_BALLOON] - 1];

		set_state(i, P_UNTOUCHED);
		bl_pfns[n++] = (uint32_t)((POOL_BASE >> 12) + i);
	}
	if (n)
		send_pfns(1, n);
	return n;
}

/* Follows the target; deflates below it when the program lacks memory. */
static void follow_target(void)
{
	uint64_t target = *cfg(0);

	for (;;) {
		uint64_t have = count[P_BALLOON];

		if (target > have && inflate(target - have))
			continue;
		if (target < have && deflate(have - target))
			continue;
		break;
	}
	if (oom_want && (feats & F_DEFLATE_ON_OOM))
		while (oom_want && count[P_BALLOON]) {
			unsigned int d = deflate(oom_want);

			oom_want -= d < oom_want ? d : oom_want;
		}
	*cfg(4) = (uint32_t)count[P_BALLOON];
}

static void fill_stats(void)
{
	uint64_t free = (count[P_UNTOUCHED] + count[P_FREE]) * PAGE;

	stats[0] = (struct stat_entry){ S_MEMFREE, free };
	stats[1] = (struct stat_entry){ S_MEMTOT, POOL_BASE + npages * PAGE };
	stats[2] = (struct stat_entry){ S_AVAIL, free + count[P_CACHE] * PAGE };
	stats[3] = (struct stat_entry){ S_CACHES, count[P_CACHE] * PAGE };
}

/* The device hands the stats buffer back when it wants new figures. */
static void answer_stats(bool first)
{
	struct vq *q = &queues[2];

	if (!(feats & F_STATS_VQ))
		return;
	if (!first && *(volatile uint16_t *)&q->used.idx == stats_seen)
		return;
	fill_stats();
	q->desc[0] = (struct vq_desc){ (uintptr_t)stats, sizeof(stats), 0, 0 };
	stats_seen = vdrv_submit(dev, q, 2, 0);
}

/* Reports runs of free pages (up to VQ_SIZE ranges); they become untouched. */
static void report_free(void)
{
	unsigned int qi = (feats & F_STATS_VQ) ? 3 : 2, n = 0;
	struct vq *q = &queues[qi];
	uint32_t len;

	if (!(feats & F_PAGE_REPORTING) || !count[P_FREE])
		return;
	for (uint64_t i = 0; i < npages && n < VQ_SIZE; i++) {
		uint64_t start = i;

		while (i < npages && state[i] == P_FREE)
			set_state(i++, P_UNTOUCHED);
		if (i == start)
			continue;
		q->desc[n] = (struct vq_desc){ (uintptr_t)page_va(start),
					       (uint32_t)((i - start) * PAGE),
					       VQ_DESC_F_WRITE | VQ_DESC_F_NEXT,
					       (uint16_t)(n + 1) };
		n++;
	}
	if (!n)
		return;
	q->desc[n - 1].flags = VQ_DESC_F_WRITE;
	vdrv_wait(dev, q, vdrv_submit(dev, q, qi, 0), &len, 0);
}

static void timer_handler(struct rt_frame *f)
{
	(void)f;
	lapic_eoi();
}

static void nap(void)
{
	lapic_write(LAPIC_TIMER_INIT, SLEEP_NS);
	sti_hlt();
	cli();
}

static bool find_balloon(void)
{
	const char *p = rt_cmdline();

	while ((dev = vdrv_next_device(&p)))
		if (vdrv_is_virtio(dev) && *vdrv_reg(dev, VMMIO_DEVICE_ID) == 5)
			return true;
	return false;
}

static void setup(void)
{
	uint32_t offered, want = F_STATS_VQ | F_DEFLATE_ON_OOM;

	if (arg("bl.report=", 0))
		want |= F_PAGE_REPORTING;
	npages = (arg("bl.ram=", 128) << 20) > POOL_BASE ?
			 ((arg("bl.ram=", 128) << 20) - POOL_BASE) / PAGE :
			 0;
	if (npages > MAX_PAGES)
		npages = MAX_PAGES;
	count[P_UNTOUCHED] = npages;
	vm_index = arg("bl.vm=", 0);
	nvms = arg("bl.n=", 1);
	phase_s = arg("bl.phase=", 8) ?: 1;
	base_pages = (arg("bl.base=", 4) << 20) / PAGE;
	active_pages = (arg("bl.active=", 32) << 20) / PAGE;
	cache_mib = arg("bl.cache=", 0);
	if (!find_balloon()) {
		printf("balloon_load: no balloon device\n");
		rt_exit(RT_FAIL);
	}
	*vdrv_reg(dev, VMMIO_DEVICE_FEATURES_SEL) = 0;
	offered = *vdrv_reg(dev, VMMIO_DEVICE_FEATURES);
	feats = offered & want;
	if (!vdrv_init(dev, queues,
		       2 + !!(feats & F_STATS_VQ) +
			       !!(feats & F_PAGE_REPORTING),
		       feats)) {
		printf("balloon_load: the balloon refused the driver\n");
		rt_exit(RT_FAIL);
	}
	answer_stats(true);
	rt_set_handler(TIMER_VECTOR, timer_handler);
	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
}

int main(void)
{
	uint64_t last_s = UINT64_MAX, phase = UINT64_MAX;

	setup();
	printf("balloon_load: ready, %llu MiB pool, features 0x%x\n",
	       (unsigned long long)(npages * PAGE >> 20), feats);
	for (;;) {
		now_s = rtc_seconds();
		if (now_s != last_s) {
			cache_budget = (cache_mib << 20) / PAGE;
			last_s = now_s;
		}
		if (now_s / phase_s != phase) {
			phase = now_s / phase_s;
			printf("balloon_load: phase %llu, used %llu cache %llu balloon %llu MiB\n",
			       (unsigned long long)phase,
			       (unsigned long long)(count[P_USED] * PAGE >> 20),
			       (unsigned long long)(count[P_CACHE] * PAGE >>
						    20),
			       (unsigned long long)(count[P_BALLOON] * PAGE >>
						    20));
		}
		rt_user_call(program_step, 0);
		if (corrupt) {
			printf("balloon_load: corrupt page\n");
			rt_exit(RT_FAIL);
		}
		follow_target();
		report_free();
		answer_stats(false);
		nap();
	}
}
