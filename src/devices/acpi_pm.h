/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * acpi_pm.h - the ACPI PM device (acpi_pm.c): PM1a event and control
 * blocks, PM timer, reset register and the SCI; its power button.
 */
#ifndef VMON_DEVICES_ACPI_PM_H
#define VMON_DEVICES_ACPI_PM_H

struct vm;
struct acpi_pm;

/* Registers the device and its ports (ACPI_PM_BASE); 0 or -1. */
int acpi_pm_create(struct vm *vm);
/* The VM's PM device, or NULL (ACPI off). */
struct acpi_pm *vm_acpi_pm(struct vm *vm);
/* Presses the power button: PWRBTN_STS, and the SCI if enabled. */
void acpi_pm_power_button(struct acpi_pm *pm);

#endif
