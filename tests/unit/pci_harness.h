/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci_harness.h - configuration accesses for the PCI unit tests, through
 * ports 0xcf8/0xcfc of a harness VM (virtio_harness.h) exactly as a
 * guest's IN and OUT instructions arrive.
 */
#ifndef VMON_TESTS_PCI_HARNESS_H
#define VMON_TESTS_PCI_HARNESS_H

#include "virtio_harness.h"

static inline uint32_t h_conf1_read(struct harness *h, unsigned int slot,
				    unsigned int reg, unsigned int len)
{
	uint32_t a = 0x80000000U | slot << 11 | (reg & 0xfc), v = 0;

	bus_access(&h->vm.pio, 0xcf8, &a, 4, true);
	bus_access(&h->vm.pio, 0xcfc + (reg & 3), &v, len, false);
	return v;
}

static inline void h_conf1_write(struct harness *h, unsigned int slot,
				 unsigned int reg, uint32_t v, unsigned int len)
{
	uint32_t a = 0x80000000U | slot << 11 | (reg & 0xfc);

	bus_access(&h->vm.pio, 0xcf8, &a, 4, true);
	bus_access(&h->vm.pio, 0xcfc + (reg & 3), &v, len, true);
}

#endif
