/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mptable.h - the Intel MultiProcessor Specification 1.4 tables through
 * which a guest without ACPI finds its CPUs, the IOAPIC and the ISA IRQ
 * routing.
 */
#ifndef VMON_ARCH_X86_MPTABLE_H
#define VMON_ARCH_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

/* ISA IRQs 0..MPTABLE_NR_IRQS-1 are routed 1:1 to IOAPIC pins (but 0). */
#define MPTABLE_NR_IRQS 24

/* Bytes mptable_build() needs for @ncpus. */
size_t mptable_size(unsigned int ncpus);
/*
 * Writes the floating pointer and configuration table for @ncpus vCPUs
 * (APIC IDs 0..ncpus-1, the IOAPIC gets ID ncpus) into @buf, which will
 * live at guest-physical @gpa. Returns the length written or -1.
 */
long mptable_build(uint8_t *buf, size_t len, uint32_t gpa, unsigned int ncpus);
/* The same with ISA IRQ 0 on IOAPIC pin @irq0_pin (2 with ACPI's routing). */
long mptable_build_irq0(uint8_t *buf, size_t len, uint32_t gpa,
			unsigned int ncpus, uint8_t irq0_pin);

#endif
