// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_pio.c - libFuzzer target for the legacy devices' registers: the
 * 16550 UART, the i8042, the CMOS RTC, fw_cfg, QEMU's pc-testdev (ports
 * and its MMIO window), the ACPI PM block, the POST port, isa-debug-exit,
 * the firmware's debug port, Firecracker's boot timer (MMIO) and the
 * hypercall functions. The input is what a guest's port and MMIO
 * accesses would be, one after another, on one VM made for the run; the
 * devices keep their state between inputs as they do between a guest's
 * accesses, and each input starts with a reset through the registry as
 * a reboot does (and a VM a debug-exit write stopped runs again).
 *
 * Input: a sequence of 8-byte accesses: [0] flags (bit 0 write, bits 1-2
 * width 1/2/4/8, bit 3 MMIO, bit 4 hypercall), [1] device (an index into
 * the port table, or with bit 3 into the MMIO table), [2] offset in it
 * ([2] and [3] in an MMIO window), [3] spare, [4..7] the value
 * (little-endian). A hypercall takes its function from [2] and its first
 * argument from the value.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/tables.h"
#include "arch/arch.h"
#include "config/config.h"
#include "devices/acpi_pm.h"
#include "devices/devices.h"
#include "devices/hypercall.h"
#include "devices/serial.h"
#include "vmm/device.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include "fuzz_vm.h"

#define RAM_SIZE (2u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where each device's ports start and how many it decodes. */
static const struct {
	uint16_t base, len;
} ports[] = {
	{ SERIAL_COM1_BASE, 8 },
	{ 0x60, 1 },
	{ 0x64, 1 },
	{ 0x70, 2 },
	{ FW_CFG_PORT_SEL, 2 },
	{ TESTDEV_SCRATCH_PORT, 8 },
	{ TESTDEV_IRQ_PORT, TESTDEV_NR_IRQS },
	{ ACPI_PM_BASE, ACPI_PM_LEN },
	{ 0x80, 1 },
	{ DEBUG_EXIT_PORT, DEBUG_EXIT_LEN },
	{ FW_DEBUG_PORT, 1 },
};

/* The MMIO windows: the test device's, the boot timer's (set up). */
static uint64_t mmio[2] = { TESTDEV_IOMEM_ADDR };

static struct vm *vm;

static void setup(void)
{
	static struct vm_config cfg = { .acpi = true, .test_device = true };
	static struct vm v;
	/* As in a real VM, a vCPU array (never started: kicks are no-ops). */
	static struct vcpu vcpu0;
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	unsigned int irq;

	vm = &v;
	fuzz_vm_init(vm, RAM_SIZE, 0, 0);
	vm->cfg = &cfg;
	vm->nr_vcpus = 1;
	vm->vcpus = &vcpu0;
	if (!serial_create(vm, SERIAL_COM1_BASE, 4, out) || i8042_create(vm) ||
	    rtc_create(vm) || post_port_create(vm) || testdev_create(vm) ||
	    acpi_pm_create(vm) || fw_cfg_create(vm) || debug_exit_create(vm) ||
	    fw_debug_create(vm) || boot_timer_create(vm) ||
	    arch_virtio_mmio_slot(0, &mmio[1], &irq))
		abort();
}

static void access_one(const uint8_t *a)
{
	unsigned int width = 1u << ((a[0] >> 1) & 3);
	bool write = a[0] & 1;
	uint64_t v = a[4] | a[5] << 8 | a[6] << 16 | (uint64_t)a[7] << 24;
	unsigned int d = a[1] % (sizeof(ports) / sizeof(ports[0]));

	if (a[0] & 16) {
		/* Arguments a guest chooses, the print buffer in its RAM. */
		(void)hypercall_dispatch(vm, a[2] % 8, v, a[3] << 4, v >> 8,
					 a[3]);
	} else if (a[0] & 8) {
		bus_access(&vm->mmio,
			   mmio[a[1] % 2] + (a[2] | (uint64_t)a[3] << 8), &v,
			   width, write);
	} else {
		bus_access(&vm->pio, ports[d].base + a[2] % (ports[d].len + 1),
			   &v, width, write);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm)
		setup();
	device_reset_all(&vm->devices);
	atomic_store(&vm->stopping, false);
	for (size_t off = 0; off + 8 <= size; off += 8)
		access_one(data + off);
	return 0;
}
