// SPDX-License-Identifier: GPL-2.0-only
/*
 * serial.c - 16550A UART model: registers, FIFOs, loopback, interrupt
 * identification and the IRQ line. Owns its receive FIFO and its transmit
 * queue (util/outq.h): the vCPU thread only appends to the queue, its
 * writer thread writes it to the output descriptor (blocking there if it
 * must), no faster than the console rate limit and, to a file, up to the
 * size cap; the UART's teardown gives it OUTQ_CLOSE_GRACE_MS to write out
 * the rest, never longer. Locking: one mutex per UART; vCPU threads
 * (register access), the main thread (receive) and the writer's room
 * callback take it; nobody holds it across a write(2).
 *
 * A full queue behaves like a busy 16550A: THRE and TEMT read clear, and
 * the THR-empty interrupt comes when the writer has made room again. A
 * driver that waits for THRE (Linux's 8250) loses nothing; bytes a guest
 * writes regardless once even the FIFO's worth of headroom is gone are
 * dropped and counted, as on hardware, instead of stopping the vCPU.
 *
 * Its part of the device interface: registers and receive FIFO are saved;
 * the host side (output fd, transmit buffer, wake-up) is not state.
 */
#include "../util/bounds.h"
#include "serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../util/log.h"
#include "acpi_pm.h"
#include "../vmm/vm.h"
#include "console_out.h"

#define RX_FIFO 64
#define TX_BUF 65536 /* host-side transmit buffer */
#define TX_FIFO 16 /* a 16550A's transmit FIFO: headroom past "busy" */

/* Register offsets. */
#define UART_RBR 0 /* DLAB=0 read */
#define UART_IER 1
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned int irq;
	struct outq *out; /* NULL: no output */
	int wake_fd;
	bool rx_was_full;
	int irq_level;

	uint8_t ier, lcr, mcr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thr_ipending; /* THR-empty interrupt pending */

	uint8_t rx[RX_FIFO];
	unsigned int rx_head, rx_count;

	bool tx_busy; /* TX_FIFO bytes of room or less: THRE clear */
	uint64_t tx_dropped;
};

static void update_irq(struct serial *s)
{
	bool pending = false;
	int level;

	if ((s->ier & IER_RDI) && s->rx_count)
		pending = true;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		pending = true;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		pending = true;
	level = pending ? 1 : 0;
	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->irq, level);
	}
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t iir = IIR_NO_INT;

	if ((s->ier & IER_RDI) && s->rx_count)
		iir = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thr_ipending)
		iir = IIR_THRI;
	else if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		iir = IIR_MSI;
	/* Reading IIR while it reports THRE clears that interrupt. */
	if (iir == IIR_THRI)
		s->thr_ipending = false;
	if (s->fcr & FCR_ENABLE)
		iir |= IIR_FIFO;
	return iir;
}

static void rx_put(struct serial *s, uint8_t b)
{
	if (s->rx_count == RX_FIFO)
		return; /* overrun: the byte is lost, as on hardware */
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = b;
	s->rx_count++;
}

static uint8_t rx_get(struct serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO;
	s->rx_count--;
	if (s->rx_was_full) {
		uint64_t one = 1;

		s->rx_was_full = false;
		if (write(s->wake_fd, &one, sizeof(one)) < 0) {
			/* eventfd counter cannot overflow here */
		}
	}
	return b;
}

/* Queues @b for the writer; never blocks. Lock held. */
static void transmit(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		rx_put(s, b);
		return;
	}
	if (!s->out)
		return;
	if (!outq_put(s->out, &b, 1)) {
		bound_hit(BOUND_UART_TX_BUF);
		if (!s->tx_dropped++)
			pr_warn("serial: output stalled with %u bytes buffered: dropping what the guest writes while THRE is clear",
				TX_BUF);
		return;
	}
	if (outq_space(s->out) <= TX_FIFO)
		s->tx_busy = true;
}

/* The writer made room: THRE and the THR-empty interrupt come back. */
static void tx_room(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (s->tx_busy) {
		s->tx_busy = false;
		s->thr_ipending = true;
		update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}

static uint8_t modem_status(struct serial *s)
{
	if (s->mcr & MCR_LOOP) {
		uint8_t m = s->msr & 0x0f;

		if (s->mcr & MCR_RTS)
			m |= MSR_CTS;
		if (s->mcr & MCR_DTR)
			m |= MSR_DSR;
		if (s->mcr & MCR_OUT1)
			m |= MSR_RI;
		if (s->mcr & MCR_OUT2)
			m |= MSR_DCD;
		return m;
	}
	return (s->msr & 0x0f) | MSR_DCD | MSR_DSR | MSR_CTS;
}

static void serial_read(void *opaque, uint64_t off, void *data,
			unsigned int len)
{
	struct serial *s = opaque;
	uint8_t v = 0xff;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		v = (s->lcr & LCR_DLAB) ? s->dll : rx_get(s);
		break;
	case UART_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = read_iir(s);
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = (s->tx_busy ? 0 : LSR_THRE | LSR_TEMT) |
		    (s->rx_count ? LSR_DR : 0);
		break;
	case UART_MSR:
		v = modem_status(s);
		s->msr &= 0xf0; /* reading clears the delta bits */
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t off, const void *data,
			 unsigned int len)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else {
			transmit(s, v);
			/*
			 * Writing THR clears THR-empty; buffered at once, the
			 * THR is empty again unless the buffer is full.
			 */
			s->thr_ipending = !s->tx_busy;
		}
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises it. */
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thr_ipending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_FCR:
		s->fcr = v & (FCR_ENABLE | 0xc0);
		if (v & FCR_CLEAR_RX) {
			s->rx_head = s->rx_count = 0;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return space;
}

size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < RX_FIFO)
		rx_put(s, buf[n++]);
	if (s->rx_count == RX_FIFO)
		s->rx_was_full = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (n && vm_acpi_pm(s->vm)) /* a key wakes the VM from S3 */
		acpi_pm_wake(vm_acpi_pm(s->vm), "a key on the serial console");
	return n;
}

int serial_rx_wake_fd(struct serial *s)
{
	return s->wake_fd;
}

uint64_t serial_tx_dropped(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx_dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * Teardown (vCPUs stopped): the writer writes out the rest if the output
 * drains within the grace period.
 */
static void serial_free(struct serial *s)
{
	if (s->out)
		console_outq_close(s->vm, s->out);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct device_ops serial_device_ops;

struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int irq,
			     int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->irq = irq;
	s->dll = 0x0c; /* 9600 baud until the guest programs it */
	s->mcr = MCR_OUT2;
	pthread_mutex_init(&s->lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		pr_err("serial: eventfd: %s", strerror(errno));
		s->wake_fd = -1;
	} else if (out_fd >= 0) {
		s->out = console_outq(vm, out_fd, TX_BUF, TX_FIFO + 1, tx_room,
				      s, "serial");
		if (!s->out)
			pr_err("serial: writer thread: %s", strerror(errno));
	}
	if (s->wake_fd < 0 || (out_fd >= 0 && !s->out) ||
	    !vm_add_device(vm, DEVICE_SERIAL, &serial_device_ops, s)) {
		serial_free(s);
		return NULL;
	}
	if (vm_register_pio(vm, base, 8, &serial_ops, s, "serial"))
		return NULL;
	return s;
}

struct serial *vm_serial(struct vm *vm)
{
	return device_model(vm_device(vm, DEVICE_SERIAL, 0), DEVICE_SERIAL);
}

/* --- the device interface: reset, state, teardown ------------------------ */

static void serial_reset(struct device *dev)
{
	struct serial *s = dev->opaque;

	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->msr = s->scr = s->fcr = s->dlm = 0;
	s->dll = 0x0c;
	s->mcr = MCR_OUT2;
	s->thr_ipending = false;
	s->rx_head = s->rx_count = 0;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static int serial_save(struct device *dev, struct state_writer *w)
{
	struct serial *s = dev->opaque;

	pthread_mutex_lock(&s->lock);
	state_put_u8(w, s->ier);
	state_put_u8(w, s->lcr);
	state_put_u8(w, s->mcr);
	state_put_u8(w, s->msr);
	state_put_u8(w, s->scr);
	state_put_u8(w, s->fcr);
	state_put_u8(w, s->dll);
	state_put_u8(w, s->dlm);
	state_put_bool(w, s->thr_ipending);
	state_put_bool(w, s->irq_level);
	state_put_u8(w, (uint8_t)s->rx_count);
	for (unsigned int i = 0; i < s->rx_count; i++)
		state_put_u8(w, s->rx[(s->rx_head + i) % RX_FIFO]);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int serial_restore(struct device *dev, struct state_reader *r)
{
	struct serial *s = dev->opaque;
	struct serial t = { 0 };

	t.ier = state_get_u8(r, "serial IER");
	t.lcr = state_get_u8(r, "serial LCR");
	t.mcr = state_get_u8(r, "serial MCR");
	t.msr = state_get_u8(r, "serial MSR");
	t.scr = state_get_u8(r, "serial SCR");
	t.fcr = state_get_u8(r, "serial FCR");
	t.dll = state_get_u8(r, "serial DLL");
	t.dlm = state_get_u8(r, "serial DLM");
	t.thr_ipending = state_get_bool(r, "serial THR interrupt");
	t.irq_level = state_get_bool(r, "serial IRQ level");
	t.rx_count = state_get_u8(r, "serial receive count");
	if (state_check(r, t.rx_count <= RX_FIFO, "serial receive count"))
		state_get_bytes(r, t.rx, t.rx_count, "serial receive FIFO");
	state_check(r, !(t.ier & ~0x0fu), "serial IER");
	state_check(r, !(t.mcr & ~0x1fu), "serial MCR");
	state_check(r, !(t.fcr & ~(unsigned int)(FCR_ENABLE | 0xc0)),
		    "serial FCR");
	state_expect_end(r, "serial");
	if (!state_ok(r))
		return -1;
	pthread_mutex_lock(&s->lock);
	s->ier = t.ier;
	s->lcr = t.lcr;
	s->mcr = t.mcr;
	s->msr = t.msr;
	s->scr = t.scr;
	s->fcr = t.fcr;
	s->dll = t.dll;
	s->dlm = t.dlm;
	s->thr_ipending = t.thr_ipending;
	s->irq_level = t.irq_level;
	memcpy(s->rx, t.rx, t.rx_count);
	s->rx_head = 0;
	s->rx_count = t.rx_count;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_destroy(struct device *dev)
{
	serial_free(dev->opaque);
}

/* Paused means quiet: what the guest printed before is written now. */
static void serial_pause(struct device *dev)
{
	struct serial *s = dev->opaque;

	if (s->out && !outq_drain(s->out, OUTQ_PAUSE_DRAIN_MS))
		pr_debug("serial: output still queued at the pause");
}

static const struct device_ops serial_device_ops = {
	.state_version = 1,
	.reset = serial_reset,
	.pause = serial_pause,
	.save = serial_save,
	.restore = serial_restore,
	.destroy = serial_destroy,
};
