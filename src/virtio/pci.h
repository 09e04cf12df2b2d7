/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci.h - the virtio-pci transport, modern only (virtio 1.2, 4.1): a PCI
 * function 0x1af4:0x1040+id whose BAR 0 holds the common, ISR, device and
 * notification structures and the MSI-X table and PBA, announced by
 * vendor capabilities. Queue kicks arrive through ioeventfds on the
 * notification addresses, interrupts leave through MSI-X (a vector per
 * queue and one for configuration changes, as the driver assigns them) or,
 * with MSI-X off, through INTx on the device's line.
 */
#ifndef VMON_VIRTIO_PCI_H
#define VMON_VIRTIO_PCI_H

#include <stdint.h>

#include "mmio.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/* BAR 0's layout. */
#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON 0x0000
#define VIRTIO_PCI_COMMON_SIZE 0x3c
#define VIRTIO_PCI_ISR 0x1000
#define VIRTIO_PCI_DEVICE_CFG 0x2000
#define VIRTIO_PCI_DEVICE_CFG_SIZE 0x1000
#define VIRTIO_PCI_NOTIFY 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE 0x4000
#define VIRTIO_PCI_MSIX_PBA 0x5000

/* Capability types (virtio 1.2, 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* The common configuration structure (virtio 1.2, 4.1.4.3). */
#define VPCI_DFSELECT 0x00
#define VPCI_DF 0x04
#define VPCI_GFSELECT 0x08
#define VPCI_GF 0x0c
#define VPCI_MSIX_CONFIG 0x10
#define VPCI_NUM_QUEUES 0x12
#define VPCI_STATUS 0x14
#define VPCI_CFG_GENERATION 0x15
#define VPCI_Q_SELECT 0x16
#define VPCI_Q_SIZE 0x18
#define VPCI_Q_MSIX 0x1a
#define VPCI_Q_ENABLE 0x1c
#define VPCI_Q_NOFF 0x1e
#define VPCI_Q_DESC 0x20
#define VPCI_Q_AVAIL 0x28
#define VPCI_Q_USED 0x30
#define VPCI_Q_NDATA 0x38
#define VPCI_Q_RESET 0x3a

#define VIRTIO_MSI_NO_VECTOR 0xffff

/*
 * The virtio-pci twin of virtio_mmio_create(): the device on the VM's PCI
 * bus (vm->pci, created first), INTx on @irq, nr_queues + 1 MSI-X vectors.
 * NULL on failure (logged; @priv freed as there).
 */
struct virtio_dev *virtio_pci_create(struct vm *vm, struct iothread *io,
				     unsigned int irq,
				     const struct virtio_dev_ops *ops,
				     unsigned int nr_queues, uint16_t queue_max,
				     uint64_t features, void *priv,
				     const char *name);

/* Hot unplug, before @d is freed: its MSI-X GSIs go back to the VM. */
void virtio_pci_unplugged(struct virtio_dev *d);

/* The PCI slot of @d, or -1 if @d is not on virtio-pci. */
int virtio_pci_slot(struct virtio_dev *d);
/* Whether @d is on its PCI bus now (false once the guest ejected it). */
bool virtio_pci_on_bus(struct virtio_dev *d);

/* The MSI-X state of virtio-pci device @d (tests, statistics). */
struct msix;
struct msix *virtio_pci_msix(struct virtio_dev *d);

/* BAR 0's handlers (exposed for the tests). */
void virtio_pci_bar_read(void *opaque, uint64_t off, void *data,
			 unsigned int len);
void virtio_pci_bar_write(void *opaque, uint64_t off, const void *data,
			  unsigned int len);

#endif
