// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci.c - where PCI goes on the x86 PC (layout.h): the ECAM and BAR
 * windows of the host bridge in the 32-bit MMIO hole.
 */
#include "../arch.h"
#include "layout.h"

void arch_pci_layout(struct arch_pci_layout *l)
{
	l->ecam_base = PCI_ECAM_ADDR;
	l->ecam_size = PCI_ECAM_SIZE;
	l->mmio_base = PCI_MMIO_WINDOW;
	l->mmio_size = PCI_MMIO_WINDOW_SIZE;
	l->io_base = PCI_IO_WINDOW;
	l->io_size = PCI_IO_WINDOW_SIZE;
}
