// SPDX-License-Identifier: GPL-2.0-only
/*
 * verify.c - the source's check of guest RAM against KVM's dirty log at
 * the switch-over (migration.h, docs/migration.md "Pages the dirty log
 * does not report"): a CRC-64 of every page as it is sent; with the VM
 * paused, each page whose content no longer matches it, though no
 * collection reported it dirty, goes into the last pages to send.
 *
 * KVM's PVM backend (software virtualization) does not report every page
 * it writes for a guest whose kernel it emulates: a Linux guest migrated
 * from such a host without this check came up with corrupt kernel data
 * on the destination. The check reads all of RAM once while the VM is
 * paused, so it lengthens the downtime; it is on by default only there.
 */
#include "migration.h"

#include <stdlib.h>
#include <string.h>

#include "../snapshot/crc64.h"
#include "../util/log.h"
#include "../vmm/memory.h"

struct mig_verify {
	uint64_t pages;
	uint64_t zero; /* the CRC of a page of zeros */
	uint64_t *sum; /* per page: the CRC of what was sent last */
	uint64_t *unpopulated; /* scratch for mig_verify_check() */
};

int mig_verify_mode_parse(const char *s, enum mig_verify_mode *v)
{
	if (!strcmp(s, "auto"))
		*v = MIG_VERIFY_AUTO;
	else if (!strcmp(s, "on"))
		*v = MIG_VERIFY_ON;
	else if (!strcmp(s, "off"))
		*v = MIG_VERIFY_OFF;
	else
		return -1;
	return 0;
}

const char *mig_verify_mode_name(enum mig_verify_mode v)
{
	return v == MIG_VERIFY_ON ? "on" : v == MIG_VERIFY_OFF ? "off" : "auto";
}

struct mig_verify *mig_verify_new(uint64_t pages)
{
	static const uint8_t zero[MIG_PAGE];
	struct mig_verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->pages = pages;
	v->sum = malloc(pages * sizeof(*v->sum));
	v->unpopulated = calloc((pages + 63) / 64, 8);
	if (!v->sum || !v->unpopulated) {
		mig_verify_free(v);
		return NULL;
	}
	v->zero = crc64(0, zero, MIG_PAGE);
	for (uint64_t pg = 0; pg < pages; pg++)
		v->sum[pg] = v->zero;
	return v;
}

void mig_verify_free(struct mig_verify *v)
{
	if (!v)
		return;
	free(v->sum);
	free(v->unpopulated);
	free(v);
}

void mig_verify_sent(struct mig_verify *v, uint64_t pg, const uint8_t *page)
{
	if (v && pg < v->pages)
		v->sum[pg] = page ? crc64(0, page, MIG_PAGE) : v->zero;
}

int64_t mig_verify_check(struct mig_verify *v, const struct guest_mem *mem,
			 uint64_t *bitmap)
{
	const uint8_t *ram = mem->base;
	bool unpop = !gmem_unpopulated(mem, v->unpopulated);
	int64_t n = 0;

	for (uint64_t pg = 0; pg < v->pages; pg++) {
		uint64_t bit = 1ULL << (pg % 64), now;

		if (bitmap[pg / 64] & bit)
			continue; /* sent again anyway */
		/* A page never populated reads as zeros: no need to fault it. */
		if (unpop && (v->unpopulated[pg / 64] & bit))
			now = v->zero;
		else
			now = crc64(0, ram + pg * MIG_PAGE, MIG_PAGE);
		if (now == v->sum[pg])
			continue;
		if (n < 8)
			pr_debug(
				"migration: page %#llx changed, not reported dirty",
				(unsigned long long)(pg * MIG_PAGE));
		bitmap[pg / 64] |= bit;
		n++;
	}
	return n;
}
