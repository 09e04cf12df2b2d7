// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty.c - dirty-page tracking of guest RAM (dirty.h): KVM's dirty log
 * on the RAM slots (their bitmaps, or the vCPUs' dirty rings:
 * dirty_ring.c), merged with the bitmap of vmon's own writes that
 * memory.c keeps in struct guest_mem.
 */
#include "dirty.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../util/log.h"
#include "vm.h"

static int set_logging(struct vm *vm, const struct mem_region *r, bool on)
{
	struct kvm_userspace_memory_region region = {
		.slot = r->slot,
		.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		pr_err("memory slot %u (%s): cannot turn dirty logging %s: %s",
		       r->slot, r->name, on ? "on" : "off", strerror(errno));
		return -1;
	}
	return 0;
}

bool dirty_log_enabled(const struct vm *vm)
{
	return __atomic_load_n(&vm->mem.dirty, __ATOMIC_ACQUIRE) != NULL;
}

int dirty_log_enable(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;
	uint64_t *bits;

	if (dirty_log_enabled(vm))
		return 0;
	bits = calloc(dirty_words(mem->ram_size), sizeof(*bits));
	if (!bits) {
		pr_err("dirty page tracking: out of memory");
		return -1;
	}
	/*
	 * Published first: a vCPU whose ring fills as soon as logging is on
	 * harvests into it (not into nothing).
	 */
	__atomic_store_n(&mem->dirty, bits, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < mem->nr; i++) {
		if (gmem_is_ram(mem, &mem->regions[i]) &&
		    set_logging(vm, &mem->regions[i], true)) {
			dirty_log_disable(vm);
			return -1;
		}
	}
	return 0;
}

/* ORs KVM's log of RAM slot @r into @bitmap (RAM-offset indexed). */
static int collect_slot(struct vm *vm, const struct mem_region *r,
			uint64_t *bitmap, uint64_t *buf)
{
	uint64_t npages = r->size / DIRTY_PAGE;
	uint64_t first = (uint64_t)(r->hva - vm->mem.base) / DIRTY_PAGE;
	struct kvm_dirty_log log = { .slot = r->slot, .dirty_bitmap = buf };

	memset(buf, 0, dirty_words(r->size) * sizeof(*buf));
	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log)) {
		pr_err("memory slot %u (%s): KVM_GET_DIRTY_LOG: %s", r->slot,
		       r->name, strerror(errno));
		return -1;
	}
	for (uint64_t w = 0; w < dirty_words(r->size); w++) {
		uint64_t word = buf[w];

		while (word) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(word);

			word &= word - 1;
			if (p < npages)
				bitmap[(first + p) / 64] |=
					1ULL << ((first + p) % 64);
		}
	}
	return 0;
}

int dirty_log_collect(struct vm *vm, uint64_t *bitmap)
{
	struct guest_mem *mem = &vm->mem;
	uint64_t *own = __atomic_load_n(&mem->dirty, __ATOMIC_ACQUIRE);
	uint64_t *buf;
	int ret = 0;

	if (!own) {
		pr_err("dirty page tracking is off");
		return -1;
	}
	buf = malloc(dirty_words(mem->ram_size) * sizeof(*buf));
	if (!buf) {
		pr_err("dirty page tracking: out of memory");
		return -1;
	}
	if (vm->dirty_ring_entries)
		ret = dirty_ring_collect(vm, bitmap);
	for (unsigned int i = 0; i < mem->nr && !ret && !vm->dirty_ring_entries;
	     i++)
		if (gmem_is_ram(mem, &mem->regions[i]))
			ret = collect_slot(vm, &mem->regions[i], bitmap, buf);
	for (uint64_t w = 0; w < dirty_words(mem->ram_size); w++)
		bitmap[w] |= __atomic_exchange_n(&own[w], 0, __ATOMIC_ACQ_REL);
	free(buf);
	return ret;
}

void dirty_log_remark(struct vm *vm, const uint64_t *bitmap)
{
	uint64_t *own = __atomic_load_n(&vm->mem.dirty, __ATOMIC_ACQUIRE);

	for (uint64_t w = 0; own && w < dirty_words(vm->mem.ram_size); w++)
		if (bitmap[w])
			__atomic_fetch_or(&own[w], bitmap[w], __ATOMIC_RELAXED);
}

void dirty_log_disable(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;
	uint64_t *own =
		__atomic_exchange_n(&mem->dirty, NULL, __ATOMIC_ACQ_REL);

	if (!own)
		return;
	if (vm->fd >= 0)
		for (unsigned int i = 0; i < mem->nr; i++)
			if (gmem_is_ram(mem, &mem->regions[i]))
				set_logging(vm, &mem->regions[i], false);
	/*
	 * The rings' entries go (a later enable starts clean), and a vCPU
	 * harvesting into @own is done with it once its ring is free.
	 */
	if (vm->fd >= 0 && vm->dirty_ring_entries)
		dirty_ring_collect(vm, NULL);
	free(own);
}
