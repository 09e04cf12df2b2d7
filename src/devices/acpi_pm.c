// SPDX-License-Identifier: GPL-2.0-only
/*
 * acpi_pm.c - the ACPI power-management registers the FADT names
 * (src/acpi/tables.h, docs/acpi.md), in port space from ACPI_PM_BASE:
 *   +0  PM1a status (write 1 to clear): PWRBTN_STS (the power button),
 *       RTC_STS (the RTC alarm), WAK_STS (set on a resume from S3);
 *   +2  PM1a enable: PWRBTN_EN, RTC_EN;
 *   +4  PM1a control: SCI_EN reads 1 (no SMI: always in ACPI mode);
 *       SLP_TYP = S5 with SLP_EN ends vmon with exit 0, as a poweroff;
 *       SLP_TYP = S3 with SLP_EN suspends the VM to RAM (vm_suspend():
 *       vCPUs parked, devices and RAM kept, the PM timer stopped) until a
 *       wake event (the power button, the RTC alarm with RTC_EN, a key on
 *       the serial console: acpi_pm_wake()) restarts the boot vCPU at the
 *       FACS's waking vector as firmware would (vm_wake());
 *   +8  the PM timer, a 32-bit counter at 3.579545 MHz from the host's
 *       monotonic clock; it stands still while the VM is paused and from
 *       a restore to the guest's first access, as the guest's clock does;
 *   +12 the reset register: ACPI_RESET_VALUE ends vmon with exit 0, as
 *       the guest's reset through the i8042 does.
 * The SCI (IRQ 9, level, active high) is up while an enabled status bit
 * is set. Any width and offset inside the block works (bytes are merged).
 * Owns the registers and the timer's offset; one mutex guards them: the
 * vCPUs and the API thread (the power button) reach them.
 */
#include "acpi_pm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../acpi/defs.h"
#include "../acpi/tables.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/acpi.h"
#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"

#define EXIT_POWEROFF 0
#define SCI_BITS (ACPI_PM1_PWRBTN | ACPI_PM1_RTC)
#define REAL_MODE_LIMIT 0x100000U /* a real-mode CS:IP reaches below */

enum cnt_action { CNT_NONE, CNT_POWEROFF, CNT_SUSPEND };

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint32_t tmr_offset; /* added to the host clock's ticks */
	bool frozen; /* paused or restored: the timer reads tmr_frozen */
	uint32_t tmr_frozen;
	bool sci;
	bool gpe; /* a general-purpose event is up (acpi_pm_set_gpe()) */
	bool asleep; /* in S3: the vCPUs are parked (vm_suspend()) */
};

static uint32_t host_ticks(void)
{
	struct timespec ts;
	unsigned __int128 ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (unsigned __int128)ts.tv_sec * 1000000000U + (uint64_t)ts.tv_nsec;
	return (uint32_t)(ns * ACPI_PM_TIMER_HZ / 1000000000U);
}

/* Under the lock: the SCI follows the enabled status bits. */
static void update_sci(struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en & SCI_BITS) != 0 || pm->gpe;

	if (level != pm->sci) {
		pm->sci = level;
		vm_irq_line(pm->vm, ACPI_SCI_IRQ, level);
	}
}

/* Under the lock: the timer's value now. */
static uint32_t timer(struct acpi_pm *pm)
{
	return pm->frozen ? pm->tmr_frozen : host_ticks() + pm->tmr_offset;
}

/*
 * Under the lock: the guest runs, the timer goes on from where it stood
 * (not in S3: nothing runs then, whoever reads it).
 */
static void thaw(struct acpi_pm *pm)
{
	if (pm->asleep)
		return;
	if (pm->frozen)
		pm->tmr_offset = pm->tmr_frozen - host_ticks();
	pm->frozen = false;
}

/* The 16 bytes of the block as the guest reads them. */
static void image(struct acpi_pm *pm, uint8_t b[ACPI_PM_LEN])
{
	uint16_t cnt = pm->cnt | ACPI_PM1_SCI_EN;
	uint32_t tmr;

	thaw(pm);
	tmr = timer(pm);

	memset(b, 0, ACPI_PM_LEN);
	memcpy(b + 0, &pm->sts, 2);
	memcpy(b + 2, &pm->en, 2);
	memcpy(b + 4, &cnt, 2);
	memcpy(b + 8, &tmr, 4);
}

static void pm_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct acpi_pm *pm = opaque;
	uint8_t b[ACPI_PM_LEN];

	/* The bus passes only accesses inside the block. */
	pthread_mutex_lock(&pm->lock);
	image(pm, b);
	pthread_mutex_unlock(&pm->lock);
	memcpy(data, b + off, len);
}

/* The 16-bit register at @reg with the written bytes of @b merged in. */
static uint16_t merged(const uint8_t *b, const uint8_t *mask, unsigned int reg,
		       uint16_t old, uint16_t *written)
{
	uint16_t m = (uint16_t)(mask[reg] | mask[reg + 1] << 8);
	uint16_t v = (uint16_t)(b[reg] | b[reg + 1] << 8);

	*written = m;
	return (uint16_t)((old & ~m) | (v & m));
}

/* Under the lock: the control register; what the guest asked for. */
static enum cnt_action write_cnt(struct acpi_pm *pm, uint16_t v)
{
	pm->cnt = v & (uint16_t)~ACPI_PM1_SLP_EN; /* SLP_EN reads 0 */
	if (!(v & ACPI_PM1_SLP_EN))
		return CNT_NONE;
	if (ACPI_PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5)
		return CNT_POWEROFF;
	if (ACPI_PM1_SLP_TYP(v) != ACPI_SLP_TYP_S3 || pm->asleep)
		return CNT_NONE;
	/* The timer stands still until the guest's first access after. */
	pm->tmr_frozen = timer(pm);
	pm->frozen = true;
	pm->asleep = true;
	return CNT_SUSPEND;
}

static void pm_write(void *opaque, uint64_t off, const void *data,
		     unsigned int len)
{
	struct acpi_pm *pm = opaque;
	uint8_t b[ACPI_PM_LEN], mask[ACPI_PM_LEN] = { 0 };
	uint16_t m, v;
	enum cnt_action act = CNT_NONE;
	bool reset;

	memset(b, 0, sizeof(b));
	memcpy(b + off, data, len);
	memset(mask + off, 0xff, len);
	pthread_mutex_lock(&pm->lock);
	thaw(pm);
	v = merged(b, mask, 0, 0, &m);
	pm->sts &= (uint16_t) ~(v & m); /* write 1 to clear */
	pm->en = merged(b, mask, 2, pm->en, &m);
	v = merged(b, mask, 4, pm->cnt, &m);
	if (m)
		act = write_cnt(pm, v);
	reset = mask[12] && b[12] == ACPI_RESET_VALUE;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (act == CNT_POWEROFF) {
		vm_request_stop(pm->vm, EXIT_POWEROFF,
				"guest power-off (ACPI S5)");
	} else if (act == CNT_SUSPEND) {
		pr_info("guest suspended to RAM (ACPI S3)");
		vm_suspend(pm->vm);
	} else if (reset)
		vm_request_stop(pm->vm, EXIT_POWEROFF, "guest reset (ACPI)");
}

static const struct bus_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

/*
 * Where the boot vCPU resumes: the FACS's X_Firmware_Waking_Vector in flat
 * 32-bit mode if the guest set it (FACS version 1 and later; vmon does not
 * offer 64BIT_WAKE_SUPPORTED_F), else Firmware_Waking_Vector in real
 * mode. The FACS is the guest's memory: -1 if it is gone or the vector is
 * out of reach.
 */
static int waking_vector(struct acpi_pm *pm, struct boot_entry *e)
{
	struct acpi_facs f;
	uint64_t gpa = acpi_facs_gpa(ACPI_TABLES_ADDR);

	if (gmem_read(&pm->vm->mem, gpa, &f, sizeof(f)) ||
	    memcmp(f.sig, "FACS", 4) != 0) {
		pr_err("acpi-pm: no FACS at 0x%llx to resume from S3",
		       (unsigned long long)gpa);
		return -1;
	}
	if (f.version >= 1 && f.x_waking_vector) {
		if (f.x_waking_vector >> 32) {
			pr_err("acpi-pm: X_Firmware_Waking_Vector 0x%llx is above 4 GiB",
			       (unsigned long long)f.x_waking_vector);
			return -1;
		}
		e->mode = BOOT_MODE_FLAT32;
		e->entry = f.x_waking_vector;
		return 0;
	}
	if (f.waking_vector >= REAL_MODE_LIMIT) {
		pr_err("acpi-pm: Firmware_Waking_Vector 0x%x is out of real mode's reach",
		       f.waking_vector);
		return -1;
	}
	e->mode = BOOT_MODE_REAL;
	e->entry = f.waking_vector;
	return 0;
}

/*
 * Sets @sts_bits and raises the SCI as they say; in S3, a wake event
 * (@wakes) ends the suspend with WAK_STS set.
 */
static void event(struct acpi_pm *pm, uint16_t sts_bits, bool wakes,
		  const char *why)
{
	struct boot_entry e = { 0 };
	bool wake;

	pthread_mutex_lock(&pm->lock);
	pm->sts |= sts_bits;
	wake = pm->asleep && wakes;
	if (wake) {
		pm->asleep = false;
		pm->sts |= ACPI_PM1_WAK;
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (!wake)
		return;
	if (waking_vector(pm, &e)) {
		vm_request_stop(pm->vm, EXIT_GUEST_CRASH,
				"guest cannot resume from S3");
		return;
	}
	pr_info("guest wakes from S3 (%s): vCPU 0 at 0x%llx in %s mode", why,
		(unsigned long long)e.entry,
		e.mode == BOOT_MODE_REAL ? "real" : "32-bit protected");
	vm_wake(pm->vm, &e);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	event(pm, ACPI_PM1_PWRBTN, true, "power button");
}

void acpi_pm_rtc_alarm(struct acpi_pm *pm)
{
	bool enabled;

	pthread_mutex_lock(&pm->lock);
	enabled = pm->en & ACPI_PM1_RTC;
	pthread_mutex_unlock(&pm->lock);
	event(pm, ACPI_PM1_RTC, enabled, "RTC alarm");
}

void acpi_pm_wake(struct acpi_pm *pm, const char *why)
{
	event(pm, 0, true, why);
}

bool acpi_pm_asleep(struct acpi_pm *pm)
{
	bool asleep;

	pthread_mutex_lock(&pm->lock);
	asleep = pm->asleep;
	pthread_mutex_unlock(&pm->lock);
	return asleep;
}

struct acpi_pm *vm_acpi_pm(struct vm *vm)
{
	struct device *dev = vm_device(vm, DEVICE_ACPI_PM, 0);

	return dev ? dev->opaque : NULL;
}

void acpi_pm_set_gpe(struct acpi_pm *pm, bool level)
{
	pthread_mutex_lock(&pm->lock);
	pm->gpe = level;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static const struct device_ops acpi_pm_device_ops;

int acpi_pm_create(struct vm *vm)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return -1;
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	if (!vm_add_device(vm, DEVICE_ACPI_PM, &acpi_pm_device_ops, pm)) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return -1;
	}
	pm->tmr_offset = -host_ticks(); /* the timer starts at 0 */
	return vm_register_pio(vm, ACPI_PM_BASE, ACPI_PM_LEN, &pm_ops, pm,
			       "acpi-pm");
}

/* --- the device interface: reset, state, teardown ------------------------ */

static void acpi_pm_reset(struct device *dev)
{
	struct acpi_pm *pm = dev->opaque;

	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	pm->asleep = false;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* The registers and the timer's value; the SCI line is the irqchip's. */
static int acpi_pm_save(struct device *dev, struct state_writer *w)
{
	struct acpi_pm *pm = dev->opaque;

	pthread_mutex_lock(&pm->lock);
	state_put_u16(w, pm->sts);
	state_put_u16(w, pm->en);
	state_put_u16(w, pm->cnt);
	state_put_u32(w, timer(pm));
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int acpi_pm_restore(struct device *dev, struct state_reader *r)
{
	struct acpi_pm *pm = dev->opaque;
	uint16_t sts = state_get_u16(r, "acpi-pm status");
	uint16_t en = state_get_u16(r, "acpi-pm enable");
	uint16_t cnt = state_get_u16(r, "acpi-pm control");
	uint32_t tmr = state_get_u32(r, "acpi-pm timer");

	if (!state_ok(r))
		return -1;
	pthread_mutex_lock(&pm->lock);
	pm->sts = sts;
	pm->en = en;
	pm->cnt = cnt & (uint16_t)~ACPI_PM1_SLP_EN;
	pm->frozen = true;
	pm->tmr_frozen = tmr;
	pm->sci = (sts & en & SCI_BITS) != 0;
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_pause(struct device *dev)
{
	struct acpi_pm *pm = dev->opaque;

	pthread_mutex_lock(&pm->lock);
	pm->tmr_frozen = timer(pm);
	pm->frozen = true;
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_destroy(struct device *dev)
{
	struct acpi_pm *pm = dev->opaque;

	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

static const struct device_ops acpi_pm_device_ops = {
	.state_version = 1,
	.reset = acpi_pm_reset,
	.pause = acpi_pm_pause,
	.save = acpi_pm_save,
	.restore = acpi_pm_restore,
	.destroy = acpi_pm_destroy,
};
