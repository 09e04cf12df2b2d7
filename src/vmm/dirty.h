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

#include "../config/config.h"

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

/*
 * How KVM reports the pages the vCPUs write (dirty_ring.c): the dirty
 * ring where the host offers it and the VM's dirty_log mode allows it,
 * chosen when the VM is created (KVM enables a ring only before the
 * first vCPU), else the slots' bitmaps. Everything above works alike
 * with both; a VM with a ring cannot use KVM_GET_DIRTY_LOG.
 */
struct vcpu;
int dirty_log_mode_parse(const char *s, enum dirty_log_mode *m);
const char *dirty_log_mode_name(enum dirty_log_mode m);
/* "ring" or "bitmap": what @vm uses. */
const char *dirty_log_method(const struct vm *vm);
/*
 * Right after KVM_CREATE_VM: enables the ring if the mode asks for it and
 * the host offers it. 0, or -1 logged (mode ring on a host without).
 */
int dirty_ring_setup(struct vm *vm);
/* Maps @vcpu's ring (none without a ring); 0 or -1 logged. */
int dirty_ring_map(struct vcpu *vcpu);
void dirty_ring_unmap(struct vcpu *vcpu);
/*
 * ORs every vCPU's harvested pages into @bitmap (NULL: drops them) and
 * resets the rings; 0 or -1 logged.
 */
int dirty_ring_collect(struct vm *vm, uint64_t *bitmap);
/*
 * KVM_EXIT_DIRTY_RING_FULL on @vcpu's thread: dirty_ring_take(), then the
 * reset. 0 or -1 logged.
 */
int dirty_ring_full(struct vcpu *vcpu);
/*
 * Harvests @vcpu's ring into vmon's own bitmap; if that finds nothing,
 * takes the entries KVM left without their flag before DIRTY ones
 * (dirty_ring.c, take_unflagged()) and harvests again. How many entries.
 */
unsigned int dirty_ring_take(struct vcpu *vcpu);

#endif
