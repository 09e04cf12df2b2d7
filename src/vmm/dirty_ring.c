// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty_ring.c - KVM's dirty ring (dirty.h), where the host offers it:
 * enabled on the VM before its vCPUs exist (KVM_CAP_DIRTY_LOG_RING_ACQ_REL
 * or KVM_CAP_DIRTY_LOG_RING), one ring a vCPU mapped from the vCPU's fd,
 * harvested into a RAM-offset bitmap by whoever collects (the migration
 * thread, a Diff snapshot) and by a vCPU whose ring filled
 * (KVM_EXIT_DIRTY_RING_FULL: into vmon's own bitmap, which the next
 * collection takes), then given back with KVM_RESET_DIRTY_RINGS, which
 * write-protects the harvested pages again. With a ring, KVM refuses
 * KVM_GET_DIRTY_LOG: every dirty-page user goes through dirty.c.
 */
#include "dirty.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../util/log.h"
#include "vcpu.h"
#include "vm.h"

/* Per vCPU: 4096 entries, 16 MiB written before a ring-full exit. */
#define DIRTY_RING_BYTES (64U << 10)
/* Entries KVM keeps past its soft limit: KVM_DIRTY_RING_RSVD_ENTRIES. */
#define DIRTY_RING_SLACK 64U

/* log_once() class of the host-bug notice (take_unflagged()). */
enum { ONCE_RING = 0x4452 };

/* By enum dirty_log_mode. */
static const char *const mode_names[] = { "bitmap", "auto", "ring" };

int dirty_log_mode_parse(const char *s, enum dirty_log_mode *m)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = (enum dirty_log_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *dirty_log_mode_name(enum dirty_log_mode m)
{
	return (unsigned int)m < 3 ? mode_names[m] : "?";
}

const char *dirty_log_method(const struct vm *vm)
{
	return vm->dirty_ring_entries ? "ring" : "bitmap";
}

/* The ring capability this host's KVM offers for @vm and its size, or 0. */
static int ring_cap(struct vm *vm, uint32_t *max)
{
	static const int caps[] = { KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
				    KVM_CAP_DIRTY_LOG_RING };

	for (unsigned int i = 0; i < 2; i++) {
		int r = ioctl(vm->fd, KVM_CHECK_EXTENSION, caps[i]);

		if (r > 0) {
			*max = (uint32_t)r;
			return caps[i];
		}
	}
	return 0;
}

int dirty_ring_setup(struct vm *vm)
{
	enum dirty_log_mode want = vm->cfg->dirty_log;
	struct kvm_enable_cap ec = { 0 };
	uint32_t max = 0;

	if (want == DIRTY_LOG_BITMAP)
		return 0;
	/*
	 * KVM's PVM backend misses pages with the ring that its bitmap
	 * reports (docs/migration.md, "Pages the dirty log does not
	 * report"): auto takes the bitmap there.
	 */
	if (want == DIRTY_LOG_AUTO && vm->kvm && vm->kvm->pvm) {
		pr_debug("dirty log: the bitmap (a PVM host)");
		return 0;
	}
	ec.cap = (uint32_t)ring_cap(vm, &max);
	ec.args[0] = max < DIRTY_RING_BYTES ? max : DIRTY_RING_BYTES;
	if (!ec.cap || ec.args[0] < 4096) {
		if (want == DIRTY_LOG_AUTO)
			return 0;
		pr_err("dirty log ring: this host's KVM does not offer KVM_CAP_DIRTY_LOG_RING");
		return -1;
	}
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &ec)) {
		if (want == DIRTY_LOG_AUTO) {
			pr_debug(
				"dirty log ring: KVM_ENABLE_CAP: %s; the bitmap is used",
				strerror(errno));
			return 0;
		}
		pr_err("dirty log ring: KVM_ENABLE_CAP(%u, %llu bytes): %s",
		       ec.cap, (unsigned long long)ec.args[0], strerror(errno));
		return -1;
	}
	vm->dirty_ring_entries =
		(uint32_t)(ec.args[0] / sizeof(struct kvm_dirty_gfn));
	return 0;
}

int dirty_ring_map(struct vcpu *vcpu)
{
	size_t len =
		vcpu->vm->dirty_ring_entries * sizeof(struct kvm_dirty_gfn);
	void *p;

	if (!len)
		return 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		 KVM_DIRTY_LOG_PAGE_OFFSET * 4096L);
	if (p == MAP_FAILED) {
		pr_err("vcpu%u: mmap of the dirty ring: %s", vcpu->id,
		       strerror(errno));
		return -1;
	}
	pthread_mutex_init(&vcpu->dirty_lock, NULL);
	vcpu->dirty_ring = p;
	return 0;
}

void dirty_ring_unmap(struct vcpu *vcpu)
{
	if (!vcpu->dirty_ring)
		return;
	munmap(vcpu->dirty_ring,
	       vcpu->vm->dirty_ring_entries * sizeof(struct kvm_dirty_gfn));
	pthread_mutex_destroy(&vcpu->dirty_lock);
	vcpu->dirty_ring = NULL;
}

/* Sets the bit of page @offset of memory slot @slot in @bitmap, if RAM. */
static void mark(struct vm *vm, uint32_t slot, uint64_t offset,
		 uint64_t *bitmap)
{
	struct guest_mem *mem = &vm->mem;

	for (unsigned int i = 0; bitmap && i < mem->nr; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t pg;

		if (r->slot != slot || !gmem_is_ram(mem, r) ||
		    offset >= r->size / DIRTY_PAGE)
			continue;
		pg = (uint64_t)(r->hva - mem->base) / DIRTY_PAGE + offset;
		__atomic_fetch_or(&bitmap[pg / 64], 1ULL << (pg % 64),
				  __ATOMIC_RELAXED);
		return;
	}
}

/*
 * Takes every entry KVM pushed on @vcpu's ring into @bitmap (NULL: drops
 * them; @own: into vmon's own bitmap, read under the ring's lock so that
 * dirty_log_disable() can wait for it) and hands it back for the next
 * KVM_RESET_DIRTY_RINGS.
 */
static unsigned int harvest(struct vcpu *vcpu, uint64_t *bitmap, bool own)
{
	struct kvm_dirty_gfn *ring = vcpu->dirty_ring;
	uint32_t mask = vcpu->vm->dirty_ring_entries - 1;
	unsigned int n = 0;

	if (!ring)
		return 0;
	pthread_mutex_lock(&vcpu->dirty_lock);
	if (own)
		bitmap =
			__atomic_load_n(&vcpu->vm->mem.dirty, __ATOMIC_ACQUIRE);
	for (;;) {
		struct kvm_dirty_gfn *e = &ring[vcpu->dirty_fetch & mask];

		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
		      KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (!(e->slot >> 16)) /* address space 0: not SMM's */
			mark(vcpu->vm, e->slot & 0xffff, e->offset, bitmap);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		vcpu->dirty_fetch++;
		n++;
	}
	pthread_mutex_unlock(&vcpu->dirty_lock);
	return n;
}

/*
 * KVM's PVM backend (seen with its 6.18 kernel) at times leaves entries
 * it pushed without their DIRTY flag: the ring is full for KVM while the
 * entry at vmon's fetch index looks free, so nothing is harvested, KVM's
 * reset cannot move past that entry, and every KVM_RUN exits at once with
 * KVM_EXIT_DIRTY_RING_FULL: the guest stops for good. An entry without a
 * flag that a DIRTY one follows (within the entries KVM keeps in reserve)
 * was pushed, as entries are pushed and harvested in order: it is taken
 * as harvested, so that the reset moves on. The page it names is marked,
 * but it need not be the one written (in a migration that met this, the
 * check at the switch-over found as many pages unreported as entries
 * taken so): that is the check's to find (docs/migration.md). Returns
 * how many; logs the first time.
 */
static unsigned int take_unflagged(struct vcpu *vcpu)
{
	struct kvm_dirty_gfn *ring = vcpu->dirty_ring;
	uint32_t mask = vcpu->vm->dirty_ring_entries - 1;
	uint32_t flags = 0;
	unsigned int k, n;
	uint64_t *own;

	pthread_mutex_lock(&vcpu->dirty_lock);
	for (k = 0; k < DIRTY_RING_SLACK && !flags; k++)
		flags = __atomic_load_n(
			&ring[(vcpu->dirty_fetch + k) & mask].flags,
			__ATOMIC_ACQUIRE);
	/* k - 1 entries without a flag, then a DIRTY one: take those. */
	n = flags == KVM_DIRTY_GFN_F_DIRTY ? k - 1 : 0;
	own = __atomic_load_n(&vcpu->vm->mem.dirty, __ATOMIC_ACQUIRE);
	for (k = 0; k < n; k++) {
		struct kvm_dirty_gfn *e = &ring[vcpu->dirty_fetch & mask];

		if (!(e->slot >> 16))
			mark(vcpu->vm, e->slot & 0xffff, e->offset, own);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		vcpu->dirty_fetch++;
	}
	pthread_mutex_unlock(&vcpu->dirty_lock);
	if (n)
		log_once(
			ONCE_RING, vcpu->id,
			"vcpu%u: KVM's dirty ring left %u pushed entries without their flag (a host KVM bug, seen with the PVM backend): skipped, the pages they stood for may go unreported",
			vcpu->id, n);
	return n;
}

/* Write-protects the harvested pages again, freeing their entries. */
static int reset(struct vm *vm)
{
	if (ioctl(vm->fd, KVM_RESET_DIRTY_RINGS, 0) < 0) {
		pr_err("KVM_RESET_DIRTY_RINGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int dirty_ring_collect(struct vm *vm, uint64_t *bitmap)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		harvest(&vm->vcpus[i], bitmap, false);
	return reset(vm);
}

unsigned int dirty_ring_take(struct vcpu *vcpu)
{
	/* Into vmon's own bitmap (NULL: tracking just went off). */
	unsigned int n = harvest(vcpu, NULL, true);

	if (!n && vcpu->dirty_ring && (n = take_unflagged(vcpu)))
		n += harvest(vcpu, NULL, true);
	return n;
}

int dirty_ring_full(struct vcpu *vcpu)
{
	dirty_ring_take(vcpu);
	return reset(vcpu->vm);
}
