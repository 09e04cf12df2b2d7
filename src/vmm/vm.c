// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm.c - creating and tearing down a VM: the KVM VM, its platform
 * (arch_vm_init(): on x86 the in-kernel irqchip and PIT), guest RAM in
 * memory slots as the architecture lays it out, the buses, vCPUs and the
 * device registry (device.h), whose devices vm_pause() quiesces; and the
 * VM's stop protocol (first stop request wins, everyone joins).
 */
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "dirty.h"
#include "iothread.h"
#include "memfile.h"
#include "vcpu.h"

static int set_memslot(struct vm *vm, const struct mem_region *r)
{
	struct kvm_userspace_memory_region region = {
		.slot = r->slot,
		.flags = r->readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		pr_err("memory slot %u (%s, 0x%llx+0x%llx): %s", r->slot,
		       r->name, (unsigned long long)r->gpa,
		       (unsigned long long)r->size, strerror(errno));
		return -1;
	}
	return 0;
}

#define HUGE_2M (2ULL << 20)
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

/*
 * Guest RAM: one anonymous mapping, reserved lazily (MAP_NORESERVE), aligned
 * to 2 MiB and marked for transparent huge pages so that guest-physical 2 MiB
 * pages can be backed by host huge pages (fewer TLB misses for the guest and
 * for KVM's own accesses, e.g. when it emulates guest code).
 */
static void *map_guest_ram(uint64_t size, bool thp, int fd, bool shared)
{
	uint8_t *raw, *base;
	uint64_t pad;

	raw = mmap(NULL, size + HUGE_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	pad = (HUGE_2M - ((uintptr_t)raw & (HUGE_2M - 1))) & (HUGE_2M - 1);
	base = raw + pad;
	if (pad)
		munmap(raw, pad);
	munmap(base + size, HUGE_2M - pad);
	/*
	 * A snapshot's memory file: private, so pages load on first touch
	 * from the page cache, which every VM restored from it shares until
	 * it writes a page (copy on write). --mem-file: shared, the file is
	 * the RAM's backing store (the host writes cold pages back to it).
	 */
	if (fd >= 0) {
		if (mmap(base, size, PROT_READ | PROT_WRITE,
			 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
				 MAP_NORESERVE,
			 fd, 0) == MAP_FAILED) {
			int e = errno;

			munmap(base, size);
			errno = e;
			return MAP_FAILED;
		}
		return base;
	}
	/*
	 * Not with a balloon: its pages are 4 KiB, and khugepaged would fill
	 * the holes an inflation leaves back into resident 2 MiB pages. Not
	 * the first 2 MiB either: vmon writes its boot tables there before
	 * the guest runs, and a guest keeps little in it (the legacy areas,
	 * real-mode code), so a huge page there cost every start a 2 MiB
	 * clear (about 5 % of its CPU) and every idle VM 2 MiB of host RAM.
	 */
	if (thp && size > HUGE_2M &&
	    madvise(base + HUGE_2M, size - HUGE_2M, MADV_HUGEPAGE))
		pr_debug("guest RAM: MADV_HUGEPAGE: %s", strerror(errno));
	return base;
}

/*
 * --mem-file's fd; -1 without it or with @mem_fd (a snapshot's memory file
 * describes the RAM then); -2 on an error.
 */
static int ram_file(const struct vm_config *cfg, int mem_fd)
{
	if (mem_fd >= 0 || !cfg->mem_file)
		return -1;
	if (cfg->mem_merge || cfg->hugetlb) {
		pr_err("memory file %s: %s", cfg->mem_file,
		       cfg->mem_merge ?
			       "KSM merges anonymous memory only (mem_merge)" :
			       "not on huge pages 2M (hugetlbfs)");
		return -2;
	}
	return memfile_open(cfg->mem_file, cfg->mem_size);
}

/* The host's free 2 MiB hugetlbfs pages, or -1 if unknown. */
static long free_huge_pages(void)
{
	FILE *f = fopen(
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		"r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/*
 * huge_pages "2M": guest RAM on 2 MiB hugetlbfs pages. Without
 * MAP_NORESERVE the kernel reserves every page at mmap() time, so a host
 * whose pool is too small fails here (ENOMEM) rather than with a SIGBUS
 * when the guest first touches a page.
 */
static void *map_guest_ram_hugetlb(uint64_t size)
{
	void *base;
	int e;

	if (size & (HUGE_2M - 1)) {
		pr_err("memory %lluM: huge pages 2M: the size is not a multiple of 2 MiB",
		       (unsigned long long)(size >> 20));
		return MAP_FAILED;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		    -1, 0);
	if (base != MAP_FAILED)
		return base;
	e = errno;
	if (e == ENOMEM)
		pr_err("memory %lluM: huge pages 2M: the host has %ld free 2 MiB pages, %llu needed (reserve them in /proc/sys/vm/nr_hugepages)",
		       (unsigned long long)(size >> 20), free_huge_pages(),
		       (unsigned long long)(size / HUGE_2M));
	else
		pr_err("memory %lluM: huge pages 2M: cannot map guest memory: %s",
		       (unsigned long long)(size >> 20), strerror(e));
	return MAP_FAILED;
}

/* Guest RAM: from --mem-file's @file_fd, a snapshot's @mem_fd, or anonymous. */
static void *map_ram(const struct vm_config *cfg, int mem_fd, int file_fd)
{
	uint64_t size = cfg->mem_size;

	if (size > UINT64_MAX - HUGE_2M)
		return MAP_FAILED;
	/* A snapshot's memory file is mapped on ordinary pages. */
	if (cfg->hugetlb && mem_fd < 0)
		return map_guest_ram_hugetlb(size);
	if (file_fd >= 0)
		return map_guest_ram(size, false, file_fd, true);
	return map_guest_ram(size, !cfg->balloon.enabled && !cfg->mem_merge,
			     mem_fd, false);
}

static int create_memory(struct vm *vm, int mem_fd)
{
	uint64_t size = vm->cfg->mem_size;
	int file_fd = ram_file(vm->cfg, mem_fd);
	void *base;

	if (file_fd < 0 && mem_fd < 0 && vm->cfg->mem_file)
		return -1;
	base = map_ram(vm->cfg, mem_fd, file_fd);
	if (file_fd >= 0)
		close(file_fd);
	if (base == MAP_FAILED && vm->cfg->hugetlb && mem_fd < 0)
		return -1; /* said why */
	if (base == MAP_FAILED) {
		pr_err("memory %lluM: cannot map guest memory: %s",
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	/*
	 * --mem-merge: KSM may share identical pages with other VMs (and
	 * within this one). Not with THP: KSM merges 4 KiB pages only.
	 */
	if (vm->cfg->mem_merge && madvise(base, size, MADV_MERGEABLE)) {
		pr_err("memory: cannot mark guest memory mergeable (KSM): %s",
		       strerror(errno));
		munmap(base, size);
		return -1;
	}
	/* --mem-prealloc: commit every page now (as QEMU's -mem-prealloc). */
	if (mem_fd < 0 && vm->cfg->mem_prealloc &&
	    madvise(base, size, MADV_POPULATE_WRITE)) {
		pr_err("memory: cannot make %llu MiB resident: %s",
		       (unsigned long long)(size >> 20), strerror(errno));
		munmap(base, size);
		return -1;
	}
	if (gmem_layout_ram(&vm->mem, base, size))
		return -1;
	vm->mem.file_shared = file_fd >= 0;
	vm->mem.anon = file_fd < 0 && mem_fd < 0;
	for (unsigned int i = 0; i < vm->mem.nr; i++)
		if (set_memslot(vm, &vm->mem.regions[i]))
			return -1;
	return 0;
}

/* The ROM window, zeros and read-only to the guest until filled. */
static int create_rom_window(struct vm *vm)
{
	uint64_t gpa, size;
	uint8_t *hva;

	arch_rom_window(&gpa, &size);
	hva = (uint8_t *)rom_shared_image(vm->cfg, gpa, size);
	vm->rom_window_shared = hva;
	/* Else populated at once: 64 page faults cost about 0.3 ms here. */
	if (!hva)
		hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (hva == MAP_FAILED) {
		pr_err("rom: cannot map %llu KiB: %s",
		       (unsigned long long)(size >> 10), strerror(errno));
		return -1;
	}
	vm->rom_window = hva;
	vm->rom_window_size = size;
	if (gmem_add_region(&vm->mem, gpa, size, hva, true, "rom")) {
		pr_err("rom: too many memory regions");
		return -1;
	}
	return set_memslot(vm, &vm->mem.regions[vm->mem.nr - 1]);
}

/* The region of the ROM window, or NULL. */
static struct mem_region *rom_window_region(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->mem.nr && vm->rom_window; i++)
		if (vm->mem.regions[i].hva == vm->rom_window)
			return &vm->mem.regions[i];
	return NULL;
}

int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg)
{
	return vm_create_from(vm, kvm, cfg, -1);
}

int vm_create_from(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg,
		   int mem_fd)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm = kvm;
	vm->cfg = cfg;
	vm->fd = -1;
	vm->stop_efd = -1;
	vm->uffd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_mutex_init(&vm->discard_lock, NULL);
	bus_init(&vm->pio, "port");
	bus_init(&vm->mmio, "MMIO");

	vm->fd = kvm_take_vm(kvm);
	if (vm->fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	/* Before any vCPU (and any logged slot): KVM's rule for the ring. */
	if (dirty_ring_setup(vm))
		return -1;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		pr_err("eventfd: %s", strerror(errno));
		return -1;
	}
	/*
	 * RAM slots first, with their final flags, then the irqchip: a slot
	 * installed after KVM_CREATE_IRQCHIP waits for the SRCU grace period
	 * the irqchip's routing table started (about 7 ms here, against 0.2
	 * ms before it; bench/snapshot's restore and every start pay it).
	 */
	if (create_memory(vm, mem_fd) || create_rom_window(vm))
		return -1;
	if (cfg->track_dirty_pages && dirty_log_enable(vm))
		return -1;
	if (arch_vm_init(vm))
		return -1;

	vm->nr_vcpus = cfg->cpus;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = vm->vcpus[i].stats_fd = -1;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_create(&vm->vcpus[i], vm, i))
			return -1;
	return 0;
}

struct device *vm_add_device(struct vm *vm, enum device_kind kind,
			     const struct device_ops *ops, void *opaque)
{
	return device_register(&vm->devices, kind, ops, opaque);
}

struct rom {
	uint8_t *hva;
	uint64_t size;
	const char *name;
	bool shared; /* rom_shared_image()'s pages: not ours to unmap */
};

static void rom_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	const struct rom *rom = opaque;

	/* Reads normally never exit; an emulated access may. */
	memcpy(data, rom->hva + off, len);
}

static void rom_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	const struct rom *rom = opaque;

	(void)data;
	log_once(
		0, (uint64_t)(uintptr_t)rom,
		"guest write to read-only %s (offset 0x%llx, %u bytes) ignored, and so are later ones",
		rom->name, (unsigned long long)off, len);
}

static const struct bus_ops rom_ops = {
	.read = rom_read,
	.write = rom_write,
};

static void rom_free(struct rom *rom)
{
	if (!rom->shared)
		munmap(rom->hva, rom->size);
	free(rom);
}

static void rom_destroy(struct device *dev)
{
	rom_free(dev->opaque);
}

/* Its contents are fixed at creation: no state to save. */
static const struct device_ops rom_device_ops = {
	.state_version = 1,
	.destroy = rom_destroy,
};

/*
 * A ROM in the window vm_create_from() mapped takes that mapping and slot
 * over: a memory slot added after KVM_CREATE_IRQCHIP would wait for a
 * grace period (vm_create_from()). Any other gets its own slot.
 */
static uint8_t *rom_map(struct vm *vm, uint64_t gpa, const void *data,
			uint64_t size, const char *name, bool *in_window)
{
	struct mem_region *w = rom_window_region(vm);
	uint8_t *hva;

	*in_window = w && w->gpa == gpa && w->size == size;
	if (*in_window) {
		hva = vm->rom_window;
		if (data != hva && vm->rom_window_shared) {
			pr_err("%s: the ROM window holds the shared image",
			       name);
			return NULL;
		}
		vm->rom_window = NULL;
		w->name = name;
		if (data != hva)
			memcpy(hva, data, size);
		return hva;
	}
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hva == MAP_FAILED) {
		pr_err("%s: cannot map %llu KiB: %s", name,
		       (unsigned long long)(size >> 10), strerror(errno));
		return NULL;
	}
	memcpy(hva, data, size);
	return hva;
}

uint8_t *vm_rom_window(struct vm *vm, uint64_t *gpa, uint64_t *size)
{
	struct mem_region *w = rom_window_region(vm);

	if (!w)
		return NULL;
	*gpa = w->gpa;
	*size = w->size;
	return vm->rom_window;
}

int vm_add_rom(struct vm *vm, uint64_t gpa, const void *data, uint64_t size,
	       const char *name)
{
	struct rom *rom = calloc(1, sizeof(*rom));
	bool in_window;

	if (!rom)
		return -1;
	rom->size = size;
	rom->name = name;
	rom->hva = rom_map(vm, gpa, data, size, name, &in_window);
	if (!rom->hva) {
		free(rom);
		return -1;
	}
	rom->shared = in_window && vm->rom_window_shared;
	if (!rom->shared)
		mprotect(rom->hva, size, PROT_READ);
	if (!vm_add_device(vm, DEVICE_ROM, &rom_device_ops, rom)) {
		rom_free(rom);
		return -1;
	}
	if (!in_window) {
		if (gmem_add_region(&vm->mem, gpa, size, rom->hva, true,
				    name)) {
			pr_err("%s: too many memory regions", name);
			return -1;
		}
		if (set_memslot(vm, &vm->mem.regions[vm->mem.nr - 1]))
			return -1;
	}
	return vm_register_mmio(vm, gpa, size, &rom_ops, rom, name);
}

int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len,
		    const struct bus_ops *ops, void *opaque, const char *name)
{
	return bus_register(&vm->pio, base, len, ops, opaque, name);
}

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len,
		     const struct bus_ops *ops, void *opaque, const char *name)
{
	return bus_register(&vm->mmio, base, len, ops, opaque, name);
}

int vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->fd, KVM_IRQ_LINE, &irq)) {
		log_once(0, gsi, "KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
		return -1;
	}
	return 0;
}

void vm_request_stop(struct vm *vm, int code, const char *why)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->exit_code = code;
		atomic_store(&vm->stopping, true);
	}
	pthread_mutex_unlock(&vm->lock);
	if (!first)
		return;
	/* Parked vCPUs and a waiting vm_pause() must see the stop. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (why)
		pr_info("%s", why);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one write; nothing to do. */
	}
}

void vm_suspend(struct vm *vm)
{
	struct vcpu *self = vcpu_current();

	atomic_store(&vm->asleep, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (&vm->vcpus[i] != self)
			vcpu_kick(&vm->vcpus[i]);
}

void vm_wake(struct vm *vm, const struct boot_entry *boot)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->wake_mode = i ? ARCH_WAKE_WAIT_SIPI : boot->mode;
		v->wake_entry = boot->entry;
		atomic_store(&v->wake_pending, true);
	}
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->asleep, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	/* A vCPU still in KVM_RUN (no exit since the suspend) leaves it. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

int vm_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpus[i]))
			return -1;
	return 0;
}

int vm_discard(struct vm *vm, uint8_t *hva, uint64_t len)
{
	int r;

	pthread_mutex_lock(&vm->discard_lock);
	if (vm->discard_hook)
		r = vm->discard_hook(vm->discard_opaque, hva, len);
	else
		r = madvise(hva, len,
			    vm->mem.file_shared ? MADV_REMOVE : MADV_DONTNEED);
	pthread_mutex_unlock(&vm->discard_lock);
	return r;
}

void vm_set_discard_hook(struct vm *vm,
			 int (*hook)(void *opaque, uint8_t *hva, uint64_t len),
			 void *opaque)
{
	pthread_mutex_lock(&vm->discard_lock);
	vm->discard_hook = hook;
	vm->discard_opaque = opaque;
	pthread_mutex_unlock(&vm->discard_lock);
}

int64_t vm_guest_clock(struct vm *vm)
{
	struct kvm_clock_data c;

	memset(&c, 0, sizeof(c));
	if (ioctl(vm->fd, KVM_GET_CLOCK, &c))
		return -1;
	return (int64_t)c.clock;
}

/* The host's wall clock, ns since the epoch (vDSO: no system call). */
static uint64_t realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int vm_pause(struct vm *vm)
{
	struct kvm_clock_data c;

	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->paused)) {
		pthread_mutex_unlock(&vm->pause_lock);
		return 0;
	}
	atomic_store(&vm->pause_req, true);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Seen by each vCPU before its next KVM_RUN (or KVM_RUN returns). */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_running && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	if (vm_stopping(vm)) {
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
		return -1;
	}
	/*
	 * The vCPUs are parked: no new kicks; now quiesce the I/O thread and
	 * the back-ends, not under pause_lock: an I/O-thread handler may ask
	 * for a stop (C-a x on a virtio console), which takes pause_lock, and
	 * device ops take device locks (device.h).
	 */
	pthread_mutex_unlock(&vm->pause_lock);
	iothread_pause(vm->io);
	device_pause_all(&vm->devices);
	pthread_mutex_lock(&vm->pause_lock);
	memset(&c, 0, sizeof(c));
	vm->clock_saved = !ioctl(vm->fd, KVM_GET_CLOCK, &c);
	vm->paused_clock = c.clock;
	/* KVM's own reading of the wall clock at c.clock, where it has one. */
	vm->paused_realtime = c.flags & KVM_CLOCK_REALTIME ? c.realtime :
							     realtime_ns();
	if (!vm->clock_saved)
		pr_warn("KVM_GET_CLOCK: %s: the guest clock will jump on resume",
			strerror(errno));
	atomic_store(&vm->paused, true);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

/*
 * The guest's clock on resume: as it was at the pause, or with
 * clock_advance (a load's clock_realtime, Firecracker's meaning) that plus
 * the wall-clock time since. KVM adds that itself with KVM_CLOCK_REALTIME
 * (Linux 5.16 and later); a KVM that refuses the flag gets the sum from
 * here, a few microseconds later than KVM would take it.
 */
static int set_clock(struct vm *vm)
{
	struct kvm_clock_data c;
	uint64_t now;

	memset(&c, 0, sizeof(c));
	c.clock = vm->paused_clock;
	if (!vm->clock_advance || !vm->paused_realtime)
		return ioctl(vm->fd, KVM_SET_CLOCK, &c);
	c.flags = KVM_CLOCK_REALTIME;
	c.realtime = vm->paused_realtime;
	if (!ioctl(vm->fd, KVM_SET_CLOCK, &c))
		return 0;
	if (errno != EINVAL)
		return -1;
	now = realtime_ns();
	memset(&c, 0, sizeof(c));
	c.clock = vm->paused_clock;
	if (now > vm->paused_realtime)
		c.clock += now - vm->paused_realtime;
	return ioctl(vm->fd, KVM_SET_CLOCK, &c);
}

int vm_resume(struct vm *vm)
{
	if (!atomic_load(&vm->paused))
		return 0;
	device_resume_all(&vm->devices);
	pthread_mutex_lock(&vm->pause_lock);
	if (!atomic_load(&vm->paused)) {
		pthread_mutex_unlock(&vm->pause_lock);
		return 0;
	}
	if (vm->clock_saved && set_clock(vm))
		pr_warn("KVM_SET_CLOCK: %s: the guest clock jumps",
			strerror(errno));
	vm->clock_advance = false;
	iothread_resume(vm->io);
	atomic_store(&vm->paused, false);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

static void stop_vcpus(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	/* Wakes parked vCPUs: they see `stopping` and return. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

void vm_destroy(struct vm *vm)
{
	if (!atomic_load(&vm->stopping)) {
		pthread_mutex_lock(&vm->lock);
		atomic_store(&vm->stopping, true);
		pthread_mutex_unlock(&vm->lock);
	}
	stop_vcpus(vm);
	/*
	 * No vCPU runs: the Uffd back-end's userfaultfd can go. With its
	 * handler gone (uffd_backend_check()), that wakes the threads still
	 * waiting on a fault (KVM's asynchronous page-fault workers, which
	 * closing a vCPU waits for; the I/O thread), on a zero page.
	 */
	if (vm->uffd >= 0)
		close(vm->uffd);
	vm->uffd = -1;
	/* Before the devices: its handlers use them. */
	iothread_destroy(vm->io);
	vm->io = NULL;
	device_destroy_all(&vm->devices);
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	arch_vm_destroy(vm);
	free(vm->cmdline);
	vm->cmdline = NULL;
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	if (vm->rom_window && !vm->rom_window_shared)
		munmap(vm->rom_window, vm->rom_window_size);
	vm->rom_window = NULL;
	if (vm->mem.base)
		munmap(vm->mem.base, vm->mem.ram_size);
	vm->mem.base = NULL;
	/* No device is left to mark it, and the VM's slots are gone. */
	free(vm->mem.dirty);
	vm->mem.dirty = NULL;
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	vm->stop_efd = -1;
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->discard_lock);
	pthread_cond_destroy(&vm->pause_cond);
}
