// SPDX-License-Identifier: GPL-2.0-only
/*
 * console.c - virtio-console (virtio 1.2, 5.3), one port without
 * MULTIPORT: the guest's hvc0. What the guest transmits goes to the
 * console output (the same place as the UART's); with --console virtio
 * the terminal's input comes here instead of to the UART, read on the I/O
 * thread, with the Ctrl-A escapes of vmon's console (C-a x quits, C-a C-a
 * sends C-a). Output goes through a bounded queue with a writer thread of
 * its own (console_out.h): the I/O thread never blocks on a stalled
 * terminal; a chain that does not fit stays on the ring (partly sent) and
 * the writer's room callback kicks the queue again, so the guest is held
 * back at the output's pace and the console rate limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/bounds.h"
#include "../devices/console_out.h"
#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"

#define VIRTIO_ID_CONSOLE 3
#define CON_QUEUE_SIZE 64
#define CON_RX 0
#define CON_TX 1
#define CON_PENDING 4096
#define CON_OUT_BUF 65536 /* the output queue */
#define CTRL_A 1

struct vcon {
	struct virtio_dev *dev;
	int in_fd;
	struct outq *out; /* NULL: output dropped */
	uint16_t part_head; /* a transmit chain partly queued */
	uint64_t part_off; /* and how far */
	bool tty, escape, watching;
	uint8_t pending[CON_PENDING]; /* input not yet given to the guest */
	size_t npending;
};

/* Reads more input only when there is room to keep it. */
static void update_watch(struct vcon *c)
{
	if (c->in_fd >= 0 && c->watching != (c->npending < CON_PENDING)) {
		c->watching = !c->watching;
		iothread_modify(c->dev->io, c->in_fd,
				c->watching ? EPOLLIN : 0);
	}
}

/* Gives pending input to the guest's receive buffers. */
static void flush_rx(struct vcon *c)
{
	struct virtio_dev *d = c->dev;
	struct virtq *vq = &d->vqs[CON_RX];
	struct virtq_elem e;
	bool pushed = false;

	while (c->npending && virtio_queue_usable(d, CON_RX)) {
		int r = virtq_next(vq, &e);
		uint64_t n;

		if (r < 0)
			virtio_check_queue(d, CON_RX);
		if (r <= 0)
			break;
		n = virtq_buf_to_iov(e.iov + e.nr_out, e.nr_in, 0, c->pending,
				     c->npending);
		memmove(c->pending, c->pending + n, c->npending - n);
		c->npending -= n;
		virtq_push(vq, e.head, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		virtio_notify_queue(d, CON_RX);
	update_watch(c);
}

static void take_input(struct vcon *c, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n && c->npending < CON_PENDING; i++) {
		uint8_t b = in[i];

		if (c->tty && c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				vm_request_stop(
					c->dev->vm, EXIT_OK,
					"quit from the console (C-a x)");
				return;
			}
			if (b != CTRL_A && b != 'a')
				continue;
			b = CTRL_A;
		} else if (c->tty && b == CTRL_A) {
			c->escape = true;
			continue;
		}
		c->pending[c->npending++] = b;
	}
}

static void input_ready(void *opaque, uint32_t events)
{
	struct vcon *c = opaque;
	struct virtio_dev *d = c->dev;
	uint8_t buf[256];
	ssize_t n;

	pthread_mutex_lock(&d->lock);
	n = read(c->in_fd, buf,
		 CON_PENDING - c->npending < sizeof(buf) ?
			 CON_PENDING - c->npending :
			 sizeof(buf));
	if (n > 0) {
		take_input(c, buf, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN) ||
		   (events & (EPOLLHUP | EPOLLERR))) {
		/* End of input: stop watching for good. */
		iothread_modify(d->io, c->in_fd, 0);
		c->in_fd = -1;
	}
	flush_rx(c);
	pthread_mutex_unlock(&d->lock);
}

/*
 * Queues the output of chain @e, from where an earlier turn stopped;
 * false if the queue is full before its end (the rest waits for room).
 */
static bool send_chain(struct vcon *c, const struct virtq_elem *e)
{
	uint64_t off = c->part_head == e->head ? c->part_off : 0;
	uint8_t buf[4096];

	c->part_off = 0;
	while (c->out && off < e->out_len) {
		uint64_t n = e->out_len - off;
		size_t put;

		if (n > sizeof(buf))
			n = sizeof(buf);
		n = virtq_iov_to_buf(e->iov, e->nr_out, off, buf, n);
		put = outq_put(c->out, buf, n);
		off += put;
		if (put < n) {
			bound_hit(BOUND_CONSOLE_OUT_BUF);
			c->part_head = e->head;
			c->part_off = off;
			return false;
		}
	}
	return true;
}

static void transmit(struct vcon *c)
{
	struct virtio_dev *d = c->dev;
	struct virtq *vq = &d->vqs[CON_TX];
	struct virtq_elem e;
	unsigned int budget = vq->size;
	bool pushed = false;

	for (;;) {
		int r = virtq_next(vq, &e);

		if (r <= 0)
			break;
		if (!send_chain(c, &e)) {
			virtq_unpop(vq); /* the room callback kicks us */
			break;
		}
		virtq_push(vq, e.head, 0);
		pushed = true;
		if (--budget == 0) {
			virtio_requeue(d, CON_TX);
			break;
		}
	}
	if (pushed)
		virtio_notify_queue(d, CON_TX);
}

/* The output queue has room again: the transmit queue goes on. */
static void out_room(void *opaque)
{
	struct vcon *c = opaque;

	virtio_requeue(c->dev, CON_TX);
}

static void con_notify(struct virtio_dev *d, unsigned int q)
{
	struct vcon *c = d->priv;

	if (q == CON_TX)
		transmit(c);
	else
		flush_rx(c);
}

/* A chain partly sent belongs to the rings the reset discards. */
static void con_reset(struct virtio_dev *d)
{
	struct vcon *c = d->priv;

	c->part_off = 0;
}

static int con_activate(struct virtio_dev *d)
{
	/* Input typed before the driver was ready is kept for it. */
	(void)d;
	return 0;
}

static void con_config_read(struct virtio_dev *d, uint64_t off, void *data,
			    unsigned int len)
{
	/* cols, rows, max_nr_ports, emerg_wr: no feature uses them. */
	(void)d;
	(void)off;
	memset(data, 0, len);
}

static void con_destroy(void *priv)
{
	struct vcon *c = priv;

	if (c->out)
		console_outq_close(c->dev->vm, c->out);
	free(c);
}

/* Saved: the input the guest has not taken yet, and a half escape. */
static int con_save(struct virtio_dev *d, struct state_writer *w)
{
	struct vcon *c = d->priv;

	state_put_bool(w, c->escape);
	state_put_u32(w, (uint32_t)c->npending);
	state_put_bytes(w, c->pending, c->npending);
	return 0;
}

static int con_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct vcon *c = d->priv;
	bool escape = state_get_bool(r, "console escape");
	uint32_t n = state_get_u32(r, "console pending input");

	if (state_check(r, n <= CON_PENDING, "console pending input") &&
	    state_check(r, r->len - r->pos == n, "console pending input")) {
		state_get_bytes(r, c->pending, n, "console pending input");
		c->npending = n;
		c->escape = escape;
		update_watch(c);
	}
	return state_ok(r) ? 0 : -1;
}

/* Paused means quiet: what the guest sent before is written now. */
static void con_pause(struct virtio_dev *d)
{
	struct vcon *c = d->priv;

	if (c->out && !outq_drain(c->out, OUTQ_PAUSE_DRAIN_MS))
		pr_debug("virtio-console: output still queued at the pause");
}

static const struct virtio_dev_ops con_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.config_read = con_config_read,
	.queue_notify = con_notify,
	.activate = con_activate,
	.reset = con_reset,
	.destroy = con_destroy,
	.pause = con_pause,
	.state_version = 1,
	.save = con_save,
	.restore = con_restore,
};

/*
 * epoll refuses regular files and some character devices (/dev/null, the
 * usual stdin under a service manager): asked on a scratch epoll, such an
 * input means no input rather than no console.
 */
static bool pollable(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct stat st;
	bool ok;
	int ep;

	if (fd < 0 || fstat(fd, &st) ||
	    !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
	      S_ISSOCK(st.st_mode)))
		return false;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return false;
	ok = !epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	close(ep);
	return ok;
}

struct virtio_dev *virtio_console_create(struct vm *vm, struct iothread *io,
					 uint64_t base, unsigned int irq,
					 int in_fd, int out_fd)
{
	struct vcon *c = calloc(1, sizeof(*c));
	struct virtio_dev *d;

	if (!c)
		return NULL;
	c->in_fd = pollable(in_fd) ? in_fd : -1;
	c->tty = c->in_fd >= 0 && isatty(c->in_fd);
	d = virtio_dev_create(vm, io, base, irq, &con_ops, 2, CON_QUEUE_SIZE, 0,
			      c, "virtio-console");
	if (!d)
		return NULL;
	c->dev = d;
	if (out_fd >= 0) {
		c->out = console_outq(vm, out_fd, CON_OUT_BUF, CON_OUT_BUF / 2,
				      out_room, c, "virtio-console");
		if (!c->out) {
			pr_err("virtio-console: output: %s", strerror(errno));
			return NULL;
		}
	}
	if (c->in_fd >= 0) {
		if (iothread_add(io, c->in_fd, EPOLLIN, input_ready, c))
			return NULL;
		c->watching = true;
	}
	return d;
}

/* --- the device type: the console, when --console virtio (setup.c places it) --- */

static unsigned int console_type_count(const struct vm_config *cfg)
{
	return cfg->console == CONSOLE_VIRTIO ? 1 : 0;
}

static struct virtio_dev *console_type_place(const struct virtio_place *p,
					     unsigned int i)
{
	(void)i;
	return virtio_console_create(p->vm, p->io, p->base, p->irq, p->con_in,
				     p->con_out);
}

static const struct virtio_type virtio_console_type = {
	.what = "virtio console",
	.order = 10,
	.count = console_type_count,
	.create = console_type_place,
};
VIRTIO_TYPE(virtio_console_type);
