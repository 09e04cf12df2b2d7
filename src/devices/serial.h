/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * serial.h - a 16550A UART (COM1 at 0x3f8, IRQ 4): interrupt-driven
 * transmit through a buffer its own writer thread empties into a host
 * file descriptor, and receive from a FIFO the console fills.
 */
#ifndef VMON_DEVICES_SERIAL_H
#define VMON_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct serial;

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4

/* @out_fd: where transmitted bytes go (-1: discarded). */
struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int irq,
			     int out_fd);
/* The VM's UART (the first DEVICE_SERIAL), or NULL. */
struct serial *vm_serial(struct vm *vm);
/* Queues received bytes; returns how many fit in the receive FIFO. */
size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive FIFO. */
size_t serial_rx_space(struct serial *s);
/* Bytes dropped because the guest wrote to a full transmit buffer. */
uint64_t serial_tx_dropped(struct serial *s);
/* Readable (eventfd) when the guest has taken bytes from a full FIFO. */
int serial_rx_wake_fd(struct serial *s);

#endif
