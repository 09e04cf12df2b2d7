/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devices.h - constructors of the legacy PC devices vmon always has.
 * Each registers itself with the VM's device registry under its kind
 * (vmm/device.h: reset, save and restore of its state, teardown) and
 * registers its ports.
 */
#ifndef VMON_DEVICES_DEVICES_H
#define VMON_DEVICES_DEVICES_H

struct vm;
struct i8042;

/* i8042 keyboard controller at 0x60/0x64: enough for the reset line. */
int i8042_create(struct vm *vm);
/* The VM's i8042 (its DEVICE_I8042 in the registry), or NULL. */
struct i8042 *vm_i8042(struct vm *vm);
/*
 * Queues Ctrl+Alt+Del on the i8042's keyboard and raises IRQ 1 if the
 * guest enabled it. Thread-safe. Returns 0, or -1 if the queue is full.
 */
int i8042_ctrl_alt_del(struct i8042 *k);
/* MC146818 CMOS RTC at 0x70/0x71 with the host's time (UTC). */
int rtc_create(struct vm *vm);
/*
 * The RTC alarm's timer, -1 if none: the main loop polls it and calls
 * rtc_alarm_fire() when it is readable (devices/rtc.c).
 */
int rtc_alarm_fd(struct vm *vm);
void rtc_alarm_fire(struct vm *vm);
/* isa-debug-exit at 0xf4: a write of V ends vmon with (V << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN 4
int debug_exit_create(struct vm *vm);
/*
 * Firecracker's boot timer (cfg->boot_timer) at the first virtio-mmio
 * slot: the guest's write of 123 logs the boot time (boot_timer.c).
 */
int boot_timer_create(struct vm *vm);
/* The POST diagnostic port 0x80 (Linux's I/O delay): writes are dropped. */
int post_port_create(struct vm *vm);

/*
 * The firmware ROM at ROM_ADDR (layout.h), read-only guest memory: it
 * starts with ROM_SIGNATURE and the version, and its reset vector halts.
 */
#define ROM_SIGNATURE "VMON-ROM"
int rom_create(struct vm *vm);
/*
 * With firmware (--firmware): port 0x402, QEMU's debug console, which
 * SeaBIOS writes its log to; lines go to vmon's log at debug level.
 */
#define FW_DEBUG_PORT 0x402
int fw_debug_create(struct vm *vm);
/* Checks that @path is a plausible BIOS image for rom_create(); 0 or -1. */
int rom_check_firmware(const char *path);

/* QEMU's pc-testdev layout (--test-device), see testdev.c. */
#define TESTDEV_SCRATCH_PORT 0xe0
#define TESTDEV_SCRATCH_LEN 4
#define TESTDEV_FLUSH_PORT 0xe4
#define TESTDEV_IRQ_PORT 0x2000
#define TESTDEV_NR_IRQS 24
#define TESTDEV_IOMEM_ADDR 0xff000000ULL
#define TESTDEV_IOMEM_SIZE 0x10000
int testdev_create(struct vm *vm);

/* QEMU's fw_cfg at 0x510 (selector) and 0x511 (data), see fw_cfg.c. */
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
/*
 * "etc/vmon/generation" (docs/snapshot.md): u64 little-endian, how many
 * restores this VM's state went through (0 after boot), then a 16-byte
 * random id, new at boot and at each restore: clones of one snapshot
 * differ in it. Its selector key:
 */
#define FW_CFG_GENERATION_KEY 0x21
#define FW_CFG_GENERATION_SIZE 24
int fw_cfg_create(struct vm *vm);
/* A restored VM: one more generation, a new id. 0, or -1 (no fw_cfg). */
int fw_cfg_next_generation(struct vm *vm);

/* The paravirtual call doorbell (docs/hypercalls.md), see hypercall.c. */
int hypercall_create(struct vm *vm);

#endif
