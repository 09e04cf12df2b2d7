/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dirty.h - dirty-page tracking of guest RAM, for Diff snapshots and (to
 * come) live migration: KVM's dirty log of the RAM memory slots
 * (KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG) for what the vCPUs write,
 * merged with vmon's own bitmap of what the devices write (memory.h marks
 * it in gpa_to_hva_rw() and gmem_mark_dirty()). Bitmaps here are indexed
 * by the page's offset in guest RAM (the memory file's offset), one bit
 * per 4 KiB page, 64 pages a word.
 *
 * Device writes are marked when a writable buffer is translated, before
 * the device writes it: a collection is exact for a paused VM whose I/O
 * was drained (snapshots). Live migration's passes on a running VM must
 * end with such a pause-drain-collect, or re-mark completed buffers.
 */
#ifndef VMON_VMM_DIRTY_H
#define VMON_VMM_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define DIRTY_PAGE 4096ULL

/* Words of a bitmap of @ram_size bytes of RAM. */
static inline uint64_t dirty_words(uint64_t ram_size)
{
	return (ram_size / DIRTY_PAGE + 63) / 64;
}

/*
 * Turns tracking on for @vm (before or after its vCPUs run): logging on
 * every writable RAM slot and vmon's own bitmap. Every page counts as
 * clean from now on. 0, or -1 logged (KVM refused the flag, no memory).
 */
int dirty_log_enable(struct vm *vm);
bool dirty_log_enabled(const struct vm *vm);
/*
 * ORs into @bitmap (dirty_words(ram_size) words) the pages written since
 * tracking started or since the last collection, and starts a new round
 * (both logs cleared). 0, or -1 logged (tracking off, KVM failed).
 */
int dirty_log_collect(struct vm *vm, uint64_t *bitmap);
/*
 * Gives back pages a collection took but the caller could not use (a
 * snapshot that failed): they count as dirty in the next collection.
 */
void dirty_log_remark(struct vm *vm, const uint64_t *bitmap);
/* Turns tracking off and frees it (vm_destroy() calls it). */
void dirty_log_disable(struct vm *vm);

#endif
