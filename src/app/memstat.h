/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memstat.h - where a VM's guest RAM lives on the host, from the kernel's
 * own accounting: the RAM mapping's resident, private, shared (with other
 * processes: clones of one snapshot, KSM), KSM-merged and swapped bytes,
 * and the whole process's RSS and PSS (/proc/self/smaps, ksm_stat).
 * Read on request by the API or main thread, never on a vCPU's path.
 * docs/density.md explains each number.
 */
#ifndef VMON_APP_MEMSTAT_H
#define VMON_APP_MEMSTAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Bytes. */
struct mem_usage {
	uint64_t ram_size; /* the guest RAM mapping */
	uint64_t rss, pss; /* of it: resident, proportional share */
	uint64_t private_, shared; /* Private_* and Shared_* of smaps */
	uint64_t swap; /* paged out to swap */
	uint64_t ksm; /* KSM-merged (smaps "KSM:" or ksm_stat) */
	bool ksm_per_mapping; /* ksm from smaps, not the process's ksm_stat */
	bool have_ksm_stat; /* /proc/self/ksm_stat was read */
	uint64_t ksm_profit; /* ksm_stat ksm_process_profit (may be < 0: 0) */
	uint64_t proc_rss, proc_pss; /* every mapping of the process */
};

/*
 * Sums the smaps text @f for the mappings inside [@base, @base + @size)
 * into @u (which the caller zeroes), and every mapping into proc_*.
 * Returns 0, or -1 if @f holds no mapping at all. Separate from the
 * file for the unit tests.
 */
int memstat_parse_smaps(FILE *f, uintptr_t base, uint64_t size,
			struct mem_usage *u);
/* The same for the ksm_stat text @f: ksm_merging_pages, profit. */
void memstat_parse_ksm_stat(FILE *f, struct mem_usage *u);
/*
 * The same for ksm_merging_pages (one number: on kernels whose ksm_stat
 * lacks it, as Debian 12's 6.1), unless a per-mapping figure was found.
 */
void memstat_parse_ksm_merging(FILE *f, struct mem_usage *u);

/* Reads this process's files for the RAM at @base; 0 or -1 (errno). */
int memstat_read(const void *base, uint64_t size, struct mem_usage *u);

/* The "memory" object of the metrics (new reference). */
json_t *memstat_json(const struct mem_usage *u, bool mem_merge);

#endif
