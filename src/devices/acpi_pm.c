// SPDX-License-Identifier: GPL-2.0-only
/*
 * acpi_pm.c - the ACPI power-management registers the FADT names
 * (src/acpi/tables.h, docs/acpi.md), in port space from ACPI_PM_BASE:
 *   +0  PM1a status (write 1 to clear): PWRBTN_STS (the power button);
 *   +2  PM1a enable: PWRBTN_EN;
 *   +4  PM1a control: SCI_EN reads 1 (no SMI: always in ACPI mode);
 *       SLP_TYP = S5 with SLP_EN ends vmon with exit 0, as a poweroff;
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

#include "../acpi/tables.h"
#include "../util/log.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"

#define EXIT_POWEROFF 0

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint32_t tmr_offset; /* added to the host clock's ticks */
	bool frozen; /* paused or restored: the timer reads tmr_frozen */
	uint32_t tmr_frozen;
	bool sci;
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
	bool level = (pm->sts & pm->en & ACPI_PM1_PWRBTN) != 0;

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

/* Under the lock: the guest runs, the timer goes on from where it stood. */
static void thaw(struct acpi_pm *pm)
{
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

/* Under the lock: the control register; true if the guest powered off. */
static bool write_cnt(struct acpi_pm *pm, uint16_t v)
{
	pm->cnt = v & (uint16_t)~ACPI_PM1_SLP_EN; /* SLP_EN reads 0 */
	return (v & ACPI_PM1_SLP_EN) && ACPI_PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5;
}

static void pm_write(void *opaque, uint64_t off, const void *data,
		     unsigned int len)
{
	struct acpi_pm *pm = opaque;
	uint8_t b[ACPI_PM_LEN], mask[ACPI_PM_LEN] = { 0 };
	uint16_t m, v;
	bool off_now, reset;

	memset(b, 0, sizeof(b));
	memcpy(b + off, data, len);
	memset(mask + off, 0xff, len);
	pthread_mutex_lock(&pm->lock);
	thaw(pm);
	v = merged(b, mask, 0, 0, &m);
	pm->sts &= (uint16_t) ~(v & m); /* write 1 to clear */
	pm->en = merged(b, mask, 2, pm->en, &m);
	v = merged(b, mask, 4, pm->cnt, &m);
	off_now = m && write_cnt(pm, v);
	reset = mask[12] && b[12] == ACPI_RESET_VALUE;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (off_now)
		vm_request_stop(pm->vm, EXIT_POWEROFF,
				"guest power-off (ACPI S5)");
	else if (reset)
		vm_request_stop(pm->vm, EXIT_POWEROFF, "guest reset (ACPI)");
}

static const struct bus_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *vm_acpi_pm(struct vm *vm)
{
	struct device *dev = vm_device(vm, DEVICE_ACPI_PM, 0);

	return dev ? dev->opaque : NULL;
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
	pm->sci = (sts & en & ACPI_PM1_PWRBTN) != 0;
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
