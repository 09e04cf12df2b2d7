/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi_pm.h - the ACPI PM device (acpi_pm.c): PM1a event and control
 * blocks, PM timer, reset register and the SCI; its power button.
 */
#ifndef VMON_DEVICES_ACPI_PM_H
#define VMON_DEVICES_ACPI_PM_H

#include <stdbool.h>

struct vm;
struct acpi_pm;

/* Registers the device and its ports (ACPI_PM_BASE); 0 or -1. */
int acpi_pm_create(struct vm *vm);
/* The VM's PM device, or NULL (ACPI off). */
struct acpi_pm *vm_acpi_pm(struct vm *vm);
/*
 * Presses the power button: PWRBTN_STS, and the SCI if enabled; in S3 it
 * wakes the VM. Any thread.
 */
void acpi_pm_power_button(struct acpi_pm *pm);
/*
 * The RTC's alarm interrupt: RTC_STS, the SCI with RTC_EN; in S3 it wakes
 * the VM if RTC_EN is set. Any thread.
 */
void acpi_pm_rtc_alarm(struct acpi_pm *pm);
/* A wake event (a key on the console): ends S3 if in it. Any thread. */
void acpi_pm_wake(struct acpi_pm *pm, const char *why);
/*
 * The GPE block's SCI request (src/pci/hotplug.c): the SCI is up while
 * @level or an enabled PM1 status bit is. Any thread.
 */
void acpi_pm_set_gpe(struct acpi_pm *pm, bool level);
/* Whether the VM is suspended to RAM (S3). */
bool acpi_pm_asleep(struct acpi_pm *pm);

#endif
