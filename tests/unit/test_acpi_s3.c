// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_acpi_s3.c - the ACPI PM device's S3 transitions (devices/acpi_pm.c)
 * on a VM without KVM (virtio_harness.h): the SLP_TYP = S3 write suspends
 * (vm->asleep) and stops the PM timer; which events wake it (the RTC alarm
 * only with RTC_EN, the power button, a key), WAK_STS and the wake event's
 * status bit; where each vCPU restarts (the FACS's real-mode vector, its
 * X_Firmware_Waking_Vector in flat 32-bit mode, the APs waiting for a
 * SIPI); and a FACS the guest destroyed stops the VM. Also the RTC
 * alarm's next match (devices/rtc_alarm.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi/defs.h"
#include "acpi/tables.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "devices/acpi_pm.h"
#include "devices/rtc_alarm.h"
#include "util/log.h"
#include "virtio_harness.h"
#include "vmm/exitcode.h"
#include "vmm/vcpu.h"

#define S3 (ACPI_SLP_TYP_S3 << 10 | ACPI_PM1_SLP_EN)
#define TICKS_PER_MS (ACPI_PM_TIMER_HZ / 1000)

struct s3 {
	struct harness h;
	struct vcpu vcpus[2];
	struct acpi_pm *pm;
	struct acpi_facs *facs;
};

static uint32_t pio_r(struct s3 *t, uint16_t port, unsigned int len)
{
	uint32_t v = 0;

	bus_access(&t->h.vm.pio, port, &v, len, false);
	return v;
}

static void pio_w(struct s3 *t, uint16_t port, uint32_t v, unsigned int len)
{
	bus_access(&t->h.vm.pio, port, &v, len, true);
}

/* A VM with two (never started) vCPUs, the PM device and a FACS. */
static struct s3 *up(void)
{
	struct s3 *t = calloc(1, sizeof(*t));
	uint64_t facs = acpi_facs_gpa(ACPI_TABLES_ADDR);

	log_level = LOG_ERROR;
	h_init(&t->h);
	t->h.vm.vcpus = t->vcpus;
	t->h.vm.nr_vcpus = 2;
	for (unsigned int i = 0; i < 2; i++) {
		t->vcpus[i].vm = &t->h.vm;
		t->vcpus[i].id = i;
	}
	assert_int_equal(acpi_pm_create(&t->h.vm), 0);
	t->pm = vm_acpi_pm(&t->h.vm);
	assert_true(facs + sizeof(*t->facs) <= H_RAM_SIZE);
	t->facs = (struct acpi_facs *)(t->h.ram + facs);
	memcpy(t->facs->sig, "FACS", 4);
	t->facs->length = sizeof(*t->facs);
	t->facs->version = 2;
	return t;
}

static void down(struct s3 *t)
{
	h_fini(&t->h);
	free(t);
}

static void assert_restart(struct s3 *t, int mode, uint64_t entry)
{
	assert_false(t->h.vm.asleep);
	assert_false(acpi_pm_asleep(t->pm));
	assert_true(t->vcpus[0].wake_pending);
	assert_int_equal(t->vcpus[0].wake_mode, mode);
	assert_int_equal(t->vcpus[0].wake_entry, entry);
	assert_true(t->vcpus[1].wake_pending);
	assert_int_equal(t->vcpus[1].wake_mode, ARCH_WAKE_WAIT_SIPI);
	for (unsigned int i = 0; i < 2; i++)
		t->vcpus[i].wake_pending = false;
}

/* S3 in, the timer stops; an RTC alarm without RTC_EN does not wake. */
static void test_suspend_and_key(void **state)
{
	struct s3 *t = up();
	uint32_t t0, t1;

	(void)state;
	t->facs->waking_vector = 0x9a010;
	t0 = pio_r(t, ACPI_PM_TMR, 4);
	pio_w(t, ACPI_PM1A_CNT, S3, 2);
	assert_true(t->h.vm.asleep);
	assert_true(acpi_pm_asleep(t->pm));
	assert_false(t->h.vm.stopping);
	/* SLP_EN reads 0, SLP_TYP stays. */
	assert_int_equal(pio_r(t, ACPI_PM1A_CNT, 2) & ~ACPI_PM1_SCI_EN,
			 ACPI_SLP_TYP_S3 << 10);
	usleep(50000);
	acpi_pm_rtc_alarm(t->pm); /* RTC_EN clear: RTC_STS, no wake */
	assert_true(t->h.vm.asleep);
	assert_false(t->vcpus[0].wake_pending);
	acpi_pm_wake(t->pm, "a key");
	assert_restart(t, BOOT_MODE_REAL, 0x9a010);
	assert_int_equal(pio_r(t, ACPI_PM1A_EVT, 2),
			 ACPI_PM1_WAK | ACPI_PM1_RTC);
	/* The 50 ms asleep did not count. */
	t1 = pio_r(t, ACPI_PM_TMR, 4);
	assert_true(t1 - t0 < 20 * TICKS_PER_MS);
	/* Write 1 to clear; another wake event now does nothing. */
	pio_w(t, ACPI_PM1A_EVT, ACPI_PM1_WAK | ACPI_PM1_RTC, 2);
	assert_int_equal(pio_r(t, ACPI_PM1A_EVT, 2), 0);
	acpi_pm_wake(t->pm, "a key");
	assert_false(t->vcpus[0].wake_pending);
	assert_int_equal(pio_r(t, ACPI_PM1A_EVT, 2), 0);
	down(t);
}

/* The RTC alarm with RTC_EN; the power button; the 32-bit vector. */
static void test_rtc_button_x_vector(void **state)
{
	struct s3 *t = up();

	(void)state;
	t->facs->waking_vector = 0x9a000;
	pio_w(t, ACPI_PM1A_EVT + 2, ACPI_PM1_RTC, 2);
	pio_w(t, ACPI_PM1A_CNT, S3, 2);
	acpi_pm_rtc_alarm(t->pm);
	assert_restart(t, BOOT_MODE_REAL, 0x9a000);
	assert_int_equal(pio_r(t, ACPI_PM1A_EVT, 2),
			 ACPI_PM1_WAK | ACPI_PM1_RTC);
	pio_w(t, ACPI_PM1A_EVT, 0xffff, 2);
	/* X_Firmware_Waking_Vector wins with FACS version >= 1. */
	t->facs->x_waking_vector = 0x200000;
	pio_w(t, ACPI_PM1A_CNT, S3, 2);
	acpi_pm_power_button(t->pm);
	assert_restart(t, BOOT_MODE_FLAT32, 0x200000);
	assert_int_equal(pio_r(t, ACPI_PM1A_EVT, 2),
			 ACPI_PM1_WAK | ACPI_PM1_PWRBTN);
	/* Not with version 0: the real-mode one. */
	t->facs->version = 0;
	pio_w(t, ACPI_PM1A_CNT, S3, 2);
	acpi_pm_power_button(t->pm);
	assert_restart(t, BOOT_MODE_REAL, 0x9a000);
	/* Other sleep types, and SLP_TYP without SLP_EN, do nothing. */
	pio_w(t, ACPI_PM1A_CNT, 2 << 10 | ACPI_PM1_SLP_EN, 2);
	pio_w(t, ACPI_PM1A_CNT, ACPI_SLP_TYP_S3 << 10, 2);
	assert_false(t->h.vm.asleep);
	assert_false(t->h.vm.stopping);
	down(t);
}

/* A resume the guest made impossible stops the VM. */
static void test_bad_facs(void **state)
{
	struct s3 *t = up(), *u = up();

	(void)state;
	t->facs->waking_vector = 0x100000; /* beyond real mode's reach */
	pio_w(t, ACPI_PM1A_CNT, S3, 2);
	acpi_pm_wake(t->pm, "a key");
	assert_true(t->h.vm.stopping);
	assert_int_equal(t->h.vm.exit_code, EXIT_GUEST_CRASH);
	memset(u->facs->sig, 0, 4); /* the FACS overwritten */
	pio_w(u, ACPI_PM1A_CNT, S3, 2);
	acpi_pm_power_button(u->pm);
	assert_true(u->h.vm.stopping);
	assert_int_equal(u->h.vm.exit_code, EXIT_GUEST_CRASH);
	down(t);
	down(u);
}

/* Where the FACS is: the same place acpi_build() puts it. */
static void test_facs_place(void **state)
{
	struct acpi_desc d = { .nr_cpus = 3 };
	struct acpi_layout l;
	static uint8_t buf[65536];

	(void)state;
	assert_int_equal(acpi_build(&d, buf, sizeof(buf), 0xe0000, &l), 0);
	assert_int_equal(acpi_facs_gpa(0xe0000), l.facs);
	assert_int_equal(l.facs % 64, 0);
}

/* The next second matching the alarm fields, "don't care" included. */
static void test_alarm_next(void **state)
{
	time_t day = 20000 * 86400LL; /* some midnight, UTC */
	time_t now = day + 10 * 3600 + 59 * 60 + 58; /* 10:59:58 */

	(void)state;
	assert_int_equal(rtc_alarm_next(now, 0, 0, 11), day + 11 * 3600);
	assert_int_equal(rtc_alarm_next(now, 59, 59, 10), now + 1);
	/* The same second is not "next": a day later. */
	assert_int_equal(rtc_alarm_next(now, 58, 59, 10), now + 86400);
	assert_int_equal(rtc_alarm_next(now, RTC_ALARM_ANY, RTC_ALARM_ANY,
					RTC_ALARM_ANY),
			 now + 1);
	assert_int_equal(rtc_alarm_next(now, 30, RTC_ALARM_ANY, RTC_ALARM_ANY),
			 now + 32);
	assert_int_equal(rtc_alarm_next(now, 5, 0, RTC_ALARM_ANY),
			 day + 11 * 3600 + 5);
	assert_int_equal(rtc_alarm_next(now, 0, 0, 9), day + 86400 + 9 * 3600);
	assert_int_equal(rtc_alarm_next(now, 60, 0, 0), -1);
	assert_int_equal(rtc_alarm_next(now, 0, 0, 24), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suspend_and_key),
		cmocka_unit_test(test_rtc_button_x_vector),
		cmocka_unit_test(test_bad_facs),
		cmocka_unit_test(test_facs_place),
		cmocka_unit_test(test_alarm_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
