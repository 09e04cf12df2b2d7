// SPDX-License-Identifier: GPL-2.0-only
/*
 * memstat.c - a VM's memory as the host kernel accounts it (memstat.h):
 * /proc/self/smaps summed over the guest RAM mapping (and over the whole
 * process), /proc/self/ksm_stat or ksm_merging_pages for KSM where the
 * host has them.
 */
#include "memstat.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The smaps fields vmon sums, each into one member of struct mem_usage. */
enum field { F_RSS, F_PSS, F_PRIVATE, F_SHARED, F_SWAP, F_KSM, NR_FIELDS };

static const struct {
	const char *name;
	enum field f;
} smaps_fields[] = {
	{ "Rss:", F_RSS },
	{ "Pss:", F_PSS },
	{ "Private_Clean:", F_PRIVATE },
	{ "Private_Dirty:", F_PRIVATE },
	{ "Shared_Clean:", F_SHARED },
	{ "Shared_Dirty:", F_SHARED },
	{ "Swap:", F_SWAP },
	{ "KSM:", F_KSM },
};

/* One "Name:   N kB" line: the field, or -1 if it is none of ours. */
static int field_of(const char *line, uint64_t *bytes)
{
	for (size_t i = 0; i < sizeof(smaps_fields) / sizeof(*smaps_fields);
	     i++) {
		size_t n = strlen(smaps_fields[i].name);
		unsigned long long kb;

		if (strncmp(line, smaps_fields[i].name, n) != 0)
			continue;
		if (sscanf(line + n, " %llu kB", &kb) != 1)
			return -1;
		*bytes = (uint64_t)kb << 10;
		return (int)smaps_fields[i].f;
	}
	return -1;
}

static void add_field(struct mem_usage *u, enum field f, uint64_t v)
{
	uint64_t *dst[NR_FIELDS] = { &u->rss,	 &u->pss,  &u->private_,
				     &u->shared, &u->swap, &u->ksm };

	*dst[f] += v;
	if (f == F_KSM)
		u->ksm_per_mapping = true;
}

int memstat_parse_smaps(FILE *f, uintptr_t base, uint64_t size,
			struct mem_usage *u)
{
	char line[256];
	bool whole = true, ours = false, any = false;

	while (fgets(line, sizeof(line), f)) {
		bool starts = whole;
		unsigned long long lo, hi;
		uint64_t v;
		int fld;

		/* A long line (a mapping's path) is read in pieces. */
		whole = strchr(line, '\n') != NULL;
		if (!starts)
			continue;
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2) {
			any = true;
			ours = lo >= base && hi >= lo && lo - base < size &&
			       hi - base <= size;
			continue;
		}
		fld = field_of(line, &v);
		if (fld == F_RSS)
			u->proc_rss += v;
		else if (fld == F_PSS)
			u->proc_pss += v;
		if (fld >= 0 && ours)
			add_field(u, (enum field)fld, v);
	}
	u->ram_size = size;
	return any ? 0 : -1;
}

void memstat_parse_ksm_stat(FILE *f, struct mem_usage *u)
{
	long page = sysconf(_SC_PAGESIZE);
	char line[128];

	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		long long p;

		if (sscanf(line, "ksm_merging_pages %llu", &v) == 1) {
			u->have_ksm_stat = true;
			if (!u->ksm_per_mapping)
				u->ksm = (uint64_t)v * (uint64_t)page;
		} else if (sscanf(line, "ksm_process_profit %lld", &p) == 1) {
			u->ksm_profit = p > 0 ? (uint64_t)p : 0;
		}
	}
}

void memstat_parse_ksm_merging(FILE *f, struct mem_usage *u)
{
	unsigned long long v;

	if (!u->ksm_per_mapping && fscanf(f, "%llu", &v) == 1)
		u->ksm = (uint64_t)v * (uint64_t)sysconf(_SC_PAGESIZE);
}

int memstat_read(const void *base, uint64_t size, struct mem_usage *u)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	int r;

	memset(u, 0, sizeof(*u));
	if (!f)
		return -1;
	r = memstat_parse_smaps(f, (uintptr_t)base, size, u);
	fclose(f);
	if (r) {
		errno = EIO;
		return -1;
	}
	/*
	 * KSM: smaps' per-mapping field, else ksm_stat's merging pages, else
	 * ksm_merging_pages (kernels like Debian 12's 6.1), else 0.
	 */
	f = fopen("/proc/self/ksm_stat", "re");
	if (f) {
		memstat_parse_ksm_stat(f, u);
		fclose(f);
	}
	f = u->have_ksm_stat || u->ksm_per_mapping ?
		    NULL :
		    fopen("/proc/self/ksm_merging_pages", "re");
	if (f) {
		memstat_parse_ksm_merging(f, u);
		fclose(f);
	}
	return 0;
}

json_t *memstat_json(const struct mem_usage *u, bool mem_merge)
{
	json_t *j = json_pack(
		"{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"mem_merge", mem_merge, "guest_ram_bytes",
		(json_int_t)u->ram_size, "resident_bytes", (json_int_t)u->rss,
		"pss_bytes", (json_int_t)u->pss, "private_bytes",
		(json_int_t)u->private_, "shared_bytes", (json_int_t)u->shared,
		"ksm_merged_bytes", (json_int_t)u->ksm, "swapped_bytes",
		(json_int_t)u->swap, "process_rss_bytes",
		(json_int_t)u->proc_rss, "process_pss_bytes",
		(json_int_t)u->proc_pss);

	if (j && u->have_ksm_stat)
		json_object_set_new(j, "ksm_profit_bytes",
				    json_integer((json_int_t)u->ksm_profit));
	return j;
}
