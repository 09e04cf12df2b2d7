// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot_timer.c - Firecracker's boot timer (--boot-timer): a page of MMIO at
 * the first virtio-mmio slot (the virtio devices then start at the second)
 * where the guest's init writes the byte 123 once it runs; vmon then logs
 * at info level how long the boot took since the device was created (at
 * InstanceStart), in wall-clock and in this process's CPU time, in
 * Firecracker's words ("Guest-boot-time = ...").
 */
#include <stdlib.h>
#include <time.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "../vmm/vm.h"
#include "devices.h"

#define BOOT_TIMER_MAGIC 123
#define BOOT_TIMER_SIZE 0x1000

struct boot_timer {
	uint64_t start_us, start_cpu_us;
};

static uint64_t now_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void boot_timer_write(void *opaque, uint64_t off, const void *data,
			     unsigned int len)
{
	const struct boot_timer *t = opaque;
	uint64_t us, cpu_us;

	/* As Firecracker's: only a one-byte write of the magic at 0. */
	if (off != 0 || len != 1 || bus_get(data, len) != BOOT_TIMER_MAGIC)
		return;
	us = now_us(CLOCK_MONOTONIC) - t->start_us;
	cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID) - t->start_cpu_us;
	pr_info("Guest-boot-time = %8llu us %4llu ms, %8llu CPU us %4llu CPU ms",
		(unsigned long long)us, (unsigned long long)us / 1000,
		(unsigned long long)cpu_us, (unsigned long long)cpu_us / 1000);
}

static void boot_timer_read(void *opaque, uint64_t off, void *data,
			    unsigned int len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static const struct bus_ops boot_timer_ops = {
	.read = boot_timer_read,
	.write = boot_timer_write,
};

static void boot_timer_destroy(struct device *dev)
{
	free(dev->opaque);
}

/* No state: a restored VM's timer counts from the restore. */
static const struct device_ops boot_timer_device_ops = {
	.state_version = 1,
	.destroy = boot_timer_destroy,
};

int boot_timer_create(struct vm *vm)
{
	struct boot_timer *t = calloc(1, sizeof(*t));
	unsigned int irq;
	uint64_t base;

	if (!t || arch_virtio_mmio_slot(0, &base, &irq)) {
		free(t);
		return -1;
	}
	t->start_us = now_us(CLOCK_MONOTONIC);
	t->start_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
	if (!vm_add_device(vm, DEVICE_BOOT_TIMER, &boot_timer_device_ops, t)) {
		free(t);
		return -1;
	}
	return vm_register_mmio(vm, base, BOOT_TIMER_SIZE, &boot_timer_ops, t,
				"boot-timer");
}
