// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock.c - virtio-vsock (virtio 1.2, 5.10) in user space, stream sockets
 * bridged to Unix sockets with the convention Firecracker documents:
 *  - the host connects to the Unix socket PATH and sends "CONNECT <port>\n";
 *    vmon opens a connection to the guest's <port> and answers
 *    "OK <host port>\n", then relays bytes both ways;
 *  - a guest connection to the host (CID 2) port P is relayed to the Unix
 *    socket "PATH_P", which a host program listens on.
 * Flow control uses the virtio-vsock credits (buf_alloc, fwd_cnt): vmon
 * never sends the guest more than it has room for, and keeps at most
 * VSOCK_BUF bytes per connection that the host side has not taken yet.
 * Everything runs on the I/O thread under the device lock. The Unix
 * sockets (listening, the CONNECT line, dialling PATH_P) belong to the
 * multiplexer, src/net/vsock_uds.c; this file is the virtio device and
 * its connections' streams.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/bounds.h"
#include "../net/vsock_uds.h"
#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "runtime.h"

#define VIRTIO_ID_VSOCK 19
#define VSOCK_RX 0
#define VSOCK_TX 1
#define VSOCK_EVT 2
#define VSOCK_QUEUE_SIZE 256

#define VSOCK_HOST_CID 2
#define VSOCK_TYPE_STREAM 1
enum {
	OP_REQUEST = 1,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST,
};
#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

#define VSOCK_MAX_CONNS 64
#define VSOCK_BUF (64 * 1024) /* our buf_alloc, per connection */
#define VSOCK_MAX_PENDING 256 /* control packets waiting for rx buffers */
#define VSOCK_HOST_PORT_BASE (1U << 30)
#define VSOCK_BUDGET 256
#define VSOCK_EVENT_TRANSPORT_RESET 0 /* struct virtio_vsock_event's id */

/*
 * Connection sockets are edge-triggered: a connection reads until EAGAIN
 * (or until the guest's credit runs out, remembered in `readable`), and a
 * closed peer is reported once, not for as long as the guest takes.
 */
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

enum { ONCE_VSOCK = 0x7640 };

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr");

enum conn_state { C_FREE, C_REQUESTED, C_OPEN, C_CLOSING };

struct vsock;

struct vconn {
	struct vsock *vs;
	enum conn_state st;
	int fd;
	uint32_t host_port, guest_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's credit */
	uint32_t tx_cnt; /* bytes given to the guest */
	uint32_t fwd_cnt; /* guest bytes passed on to the host socket */
	uint32_t fwd_reported; /* fwd_cnt the guest last heard of */
	bool readable; /* the host socket may have data for the guest */
	bool shut_wr; /* the guest sends no more: shut the socket's write side */
	uint8_t *wbuf; /* guest data the host socket has not taken yet */
	size_t wlen;
};

struct vsock {
	struct virtio_dev *dev;
	struct vsock_config cfg;
	struct vsock_uds *uds; /* the host side: Unix sockets */
	uint32_t next_port;
	unsigned int rr; /* round robin among readable connections */
	struct vconn conns[VSOCK_MAX_CONNS];
	struct vsock_hdr pending[VSOCK_MAX_PENDING];
	unsigned int pend_head, pend_count;
	bool reset_event; /* restored: the guest is owed a transport reset */
	struct virtio_vsock_stats st; /* the metrics' counters (not saved) */
	struct virtq_elem elem;
	uint8_t buf[VSOCK_BUF];
};

static void conn_close(struct vsock *vs, struct vconn *c)
{
	if (c->st != C_FREE)
		vs->st.conns_removed++;
	if (c->fd >= 0) {
		iothread_remove(vs->dev->io, c->fd);
		close(c->fd);
	}
	free(c->wbuf);
	memset(c, 0, sizeof(*c));
	c->vs = vs;
	c->fd = -1;
}

static void queue_hdr(struct vsock *vs, const struct vsock_hdr *h)
{
	if (vs->pend_count == VSOCK_MAX_PENDING) {
		bound_hit(BOUND_VSOCK_PENDING);
		log_once(
			ONCE_VSOCK, vs->dev->base,
			"%s: too many control packets waiting for the guest: dropped",
			vs->dev->name);
		return;
	}
	vs->pending[(vs->pend_head + vs->pend_count) % VSOCK_MAX_PENDING] = *h;
	vs->pend_count++;
}

static void conn_hdr(struct vsock *vs, struct vconn *c, struct vsock_hdr *h,
		     uint16_t op, uint32_t len, uint32_t flags)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = vs->cfg.cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_BUF,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_reported = c->fwd_cnt;
}

static void queue_op(struct vsock *vs, struct vconn *c, uint16_t op,
		     uint32_t flags)
{
	struct vsock_hdr h;

	conn_hdr(vs, c, &h, op, 0, flags);
	queue_hdr(vs, &h);
}

/* Answers a guest packet that has no connection with RST. */
static void queue_rst_reply(struct vsock *vs, const struct vsock_hdr *in)
{
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = vs->cfg.cid,
		.src_port = in->dst_port,
		.dst_port = in->src_port,
		.type = VSOCK_TYPE_STREAM,
		.op = OP_RST,
	};

	if (in->op != OP_RST)
		queue_hdr(vs, &h);
}

static void reset_conn(struct vsock *vs, struct vconn *c)
{
	queue_op(vs, c, OP_RST, 0);
	conn_close(vs, c);
}

static uint32_t credit(const struct vconn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 :
					       c->peer_buf_alloc - in_flight;
}

/* Writes buffered guest data to the host socket. */
static void flush_w(struct vsock *vs, struct vconn *c)
{
	while (c->wlen) {
		ssize_t w = write(c->fd, c->wbuf, c->wlen);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			vs->st.tx_write_fails++;
			reset_conn(vs, c); /* the host side went away */
			return;
		}
		memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
		c->wlen -= (size_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	if (!c->wlen && c->shut_wr)
		shutdown(c->fd, SHUT_WR);
	/* Tell the guest about freed room before it runs out. */
	if (c->fwd_cnt - c->fwd_reported >= VSOCK_BUF / 2)
		queue_op(vs, c, OP_CREDIT_UPDATE, 0);
}

/* Puts a header (and @len payload bytes from vs->buf) into an rx chain. */
static int give(struct vsock *vs, const struct vsock_hdr *h, uint32_t len)
{
	struct virtio_dev *d = vs->dev;
	struct virtq_elem *e = &vs->elem;

	if (e->in_len < sizeof(*h) + len) {
		virtio_set_broken(d, "receive buffer smaller than a header");
		return -1;
	}
	virtq_buf_to_iov(e->iov + e->nr_out, e->nr_in, 0, h, sizeof(*h));
	virtq_buf_to_iov(e->iov + e->nr_out, e->nr_in, sizeof(*h), vs->buf,
			 len);
	virtq_push(&d->vqs[VSOCK_RX], e->head, (uint32_t)sizeof(*h) + len);
	vs->st.rx_packets++;
	vs->st.rx_bytes += len;
	return 0;
}

static struct vconn *next_readable(struct vsock *vs)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &vs->conns[(vs->rr + i) % VSOCK_MAX_CONNS];

		if (c->st == C_OPEN && c->readable && credit(c)) {
			vs->rr = (vs->rr + i + 1) % VSOCK_MAX_CONNS;
			return c;
		}
	}
	return NULL;
}

/* Fills the guest's receive buffers: control packets first, then data. */
static void rx_process(struct vsock *vs)
{
	struct virtio_dev *d = vs->dev;
	struct virtq *vq = &d->vqs[VSOCK_RX];
	bool pushed = false;

	for (int i = 0; i < VSOCK_BUDGET && virtio_queue_usable(d, VSOCK_RX);
	     i++) {
		struct vconn *c = NULL;
		uint32_t max;
		ssize_t n;
		int r;

		if (!vs->pend_count && !(c = next_readable(vs)))
			break;
		r = virtq_next(vq, &vs->elem);
		if (r <= 0) {
			virtio_check_queue(d, VSOCK_RX);
			break;
		}
		if (!c) {
			if (give(vs, &vs->pending[vs->pend_head], 0))
				break;
			vs->pend_head = (vs->pend_head + 1) % VSOCK_MAX_PENDING;
			vs->pend_count--;
			pushed = true;
			continue;
		}
		max = credit(c);
		if (vs->elem.in_len < sizeof(struct vsock_hdr) + 1) {
			virtio_set_broken(
				d, "receive buffer smaller than a header");
			break;
		}
		if (max > vs->elem.in_len - sizeof(struct vsock_hdr))
			max = (uint32_t)(vs->elem.in_len -
					 sizeof(struct vsock_hdr));
		if (max > sizeof(vs->buf))
			max = sizeof(vs->buf);
		n = read(c->fd, vs->buf, max);
		if (n > 0) {
			struct vsock_hdr h;

			conn_hdr(vs, c, &h, OP_RW, (uint32_t)n, 0);
			if (give(vs, &h, (uint32_t)n))
				break;
			c->tx_cnt += (uint32_t)n;
			pushed = true;
			continue;
		}
		virtq_unpop(vq);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->readable = false; /* until the next edge */
		} else if (n == 0) {
			/* The host closed: no more data either way. */
			queue_op(vs, c, OP_SHUTDOWN,
				 SHUTDOWN_RCV | SHUTDOWN_SEND);
			c->readable = false;
			c->st = C_CLOSING;
		} else {
			vs->st.rx_read_fails++;
			reset_conn(vs, c);
		}
	}
	if (pushed)
		virtio_notify_queue(d, VSOCK_RX);
}

static struct vconn *free_slot(struct vsock *vs)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i].st == C_FREE)
			return &vs->conns[i];
	bound_hit(BOUND_VSOCK_CONNS);
	return NULL;
}

static struct vconn *find_conn(struct vsock *vs, const struct vsock_hdr *h)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &vs->conns[i];

		if (c->st != C_FREE && c->host_port == h->dst_port &&
		    c->guest_port == h->src_port)
			return c;
	}
	return NULL;
}

static void conn_ready(void *opaque, uint32_t events);

/* The guest connects to host port P: relay to the Unix socket PATH_P. */
static void guest_connect(struct vsock *vs, const struct vsock_hdr *h)
{
	struct vconn *c = free_slot(vs);
	int fd = c ? vsock_uds_dial(vs->uds, h->dst_port) : -1;

	if (fd < 0) {
		queue_rst_reply(vs, h);
		return;
	}
	c->wbuf = malloc(VSOCK_BUF);
	if (!c->wbuf ||
	    iothread_add(vs->dev->io, fd, CONN_EVENTS, conn_ready, c)) {
		free(c->wbuf);
		c->wbuf = NULL;
		close(fd);
		queue_rst_reply(vs, h);
		return;
	}
	c->fd = fd;
	c->st = C_OPEN;
	c->readable = true;
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vs->st.conns_added++;
	queue_op(vs, c, OP_RESPONSE, 0);
}

static void guest_data(struct vsock *vs, struct vconn *c,
		       const struct virtq_elem *e, uint32_t len)
{
	if (c->st != C_OPEN || c->shut_wr) {
		reset_conn(vs, c);
		return;
	}
	/* The guest may not send more than the room we advertised. */
	if (len > VSOCK_BUF - c->wlen) {
		log_once(ONCE_VSOCK, vs->dev->base + 1,
			 "%s: guest sent beyond its credit: connection reset",
			 vs->dev->name);
		reset_conn(vs, c);
		return;
	}
	virtq_iov_to_buf(e->iov, e->nr_out, sizeof(struct vsock_hdr),
			 c->wbuf + c->wlen, len);
	c->wlen += len;
	vs->st.tx_bytes += len;
	flush_w(vs, c);
}

static void handle_pkt(struct vsock *vs, const struct vsock_hdr *h,
		       const struct virtq_elem *e)
{
	struct vconn *c;

	if (h->src_cid != vs->cfg.cid || h->dst_cid != VSOCK_HOST_CID) {
		log_once(ONCE_VSOCK, vs->dev->base + 2,
			 "%s: packet from CID %llu to CID %llu: dropped",
			 vs->dev->name, (unsigned long long)h->src_cid,
			 (unsigned long long)h->dst_cid);
		return;
	}
	c = find_conn(vs, h);
	if (h->type != VSOCK_TYPE_STREAM) {
		queue_rst_reply(vs, h);
		return;
	}
	if (!c) {
		if (h->op == OP_REQUEST)
			guest_connect(vs, h);
		else
			queue_rst_reply(vs, h);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case OP_RESPONSE:
		if (c->st == C_REQUESTED) {
			char ok[32];
			int n = snprintf(ok, sizeof(ok), "OK %u\n",
					 c->host_port);

			c->st = C_OPEN;
			c->readable = true; /* data sent before the OK */
			if (write(c->fd, ok, (size_t)n) != n) {
				vs->st.tx_write_fails++;
				reset_conn(vs, c);
				return;
			}
		} else {
			reset_conn(vs, c);
		}
		break;
	case OP_RW:
		guest_data(vs, c, e, h->len);
		break;
	case OP_CREDIT_REQUEST:
		queue_op(vs, c, OP_CREDIT_UPDATE, 0);
		break;
	case OP_CREDIT_UPDATE:
		break; /* credit taken above; rx_process follows */
	case OP_SHUTDOWN:
		if (c->st == C_CLOSING ||
		    (h->flags & (SHUTDOWN_RCV | SHUTDOWN_SEND)) ==
			    (SHUTDOWN_RCV | SHUTDOWN_SEND)) {
			reset_conn(vs, c);
		} else if (h->flags & SHUTDOWN_SEND) {
			c->shut_wr = true;
			flush_w(vs, c);
		}
		break;
	case OP_RST:
		conn_close(vs, c);
		break;
	default: /* a second REQUEST, or an unknown op */
		reset_conn(vs, c);
		break;
	}
}

static void tx_process(struct vsock *vs)
{
	struct virtio_dev *d = vs->dev;
	struct virtq *vq = &d->vqs[VSOCK_TX];
	struct virtq_elem *e = &vs->elem;
	bool pushed = false;

	for (int i = 0; i < VSOCK_BUDGET; i++) {
		struct vsock_hdr h;
		int r = virtq_next(vq, e);

		if (r <= 0)
			break;
		if (e->out_len < sizeof(h)) {
			virtio_set_broken(d, "packet without a header");
			break;
		}
		virtq_iov_to_buf(e->iov, e->nr_out, 0, &h, sizeof(h));
		if (h.len > e->out_len - sizeof(h)) {
			virtio_set_broken(d,
					  "packet length beyond its buffers");
			break;
		}
		vs->st.tx_packets++;
		handle_pkt(vs, &h, e);
		virtq_push(vq, e->head, 0);
		pushed = true;
		if (i == VSOCK_BUDGET - 1)
			virtio_requeue(d, VSOCK_TX);
	}
	if (pushed)
		virtio_notify_queue(d, VSOCK_TX);
}

/*
 * After a restore: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (a le32 id) in the
 * guest's next event buffer, as Firecracker does. The driver drops every
 * connection it had (their sockets fail with ECONNRESET; listeners stay)
 * and reads the CID again. Without a buffer posted, the event waits for
 * the guest's next one (its kick on the event queue).
 */
static void evt_process(struct vsock *vs)
{
	struct virtio_dev *d = vs->dev;
	struct virtq_elem *e = &vs->elem;
	uint32_t id = htole32(VSOCK_EVENT_TRANSPORT_RESET);

	if (!vs->reset_event || !virtio_queue_usable(d, VSOCK_EVT))
		return;
	if (virtq_next(&d->vqs[VSOCK_EVT], e) <= 0) {
		virtio_check_queue(d, VSOCK_EVT);
		return;
	}
	if (e->in_len < sizeof(id)) {
		virtio_set_broken(d, "event buffer smaller than an event");
		return;
	}
	virtq_buf_to_iov(e->iov + e->nr_out, e->nr_in, 0, &id, sizeof(id));
	virtq_push(&d->vqs[VSOCK_EVT], e->head, sizeof(id));
	vs->reset_event = false;
	virtio_notify_queue(d, VSOCK_EVT);
}

static void vsock_notify(struct virtio_dev *d, unsigned int q)
{
	struct vsock *vs = d->priv;

	if (q == VSOCK_EVT) {
		evt_process(vs);
		return;
	}
	if (q == VSOCK_TX)
		tx_process(vs);
	/* Replies to what the guest sent, or buffers it just added. */
	rx_process(vs);
}

static void conn_ready(void *opaque, uint32_t events)
{
	struct vconn *c = opaque;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->dev->lock);
	if (c->st == C_OPEN || c->st == C_CLOSING) {
		if (events & EPOLLOUT)
			flush_w(vs, c);
		if (c->fd >= 0 && c->st == C_OPEN &&
		    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
			c->readable = true;
			rx_process(vs);
		}
	} else if (c->st == C_REQUESTED &&
		   (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		reset_conn(vs, c);
		rx_process(vs);
	}
	pthread_mutex_unlock(&vs->dev->lock);
}

/*
 * A host program sent "CONNECT <port>" (vsock_uds.c): ask the guest for
 * that port. 0: the connection is ours; -1: refused (no driver, no slot).
 */
static int host_connect(void *opaque, int fd, uint32_t port)
{
	struct vsock *vs = opaque;
	struct vconn *c;
	int ret = -1;

	if (!vs->dev)
		return -1;
	pthread_mutex_lock(&vs->dev->lock);
	c = free_slot(vs);
	if (c && (vs->dev->status & VIRTIO_STATUS_DRIVER_OK) &&
	    (c->wbuf = malloc(VSOCK_BUF)) &&
	    !iothread_add(vs->dev->io, fd, CONN_EVENTS, conn_ready, c)) {
		c->fd = fd;
		c->guest_port = port;
		c->host_port = vs->next_port++;
		if (vs->next_port < VSOCK_HOST_PORT_BASE)
			vs->next_port = VSOCK_HOST_PORT_BASE;
		c->st = C_REQUESTED;
		c->peer_buf_alloc = 0;
		vs->st.conns_added++;
		queue_op(vs, c, OP_REQUEST, 0);
		rx_process(vs);
		ret = 0;
	} else if (c) {
		free(c->wbuf);
		c->wbuf = NULL;
	}
	pthread_mutex_unlock(&vs->dev->lock);
	return ret;
}

void virtio_vsock_stats(struct virtio_dev *d, struct virtio_vsock_stats *out)
{
	struct vsock *vs = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = vs->st;
	pthread_mutex_unlock(&d->lock);
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *vs = d->priv;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i].st != C_FREE)
			conn_close(vs, &vs->conns[i]);
	vs->pend_head = vs->pend_count = 0;
	vs->reset_event = false;
	vsock_uds_drop_pending(vs->uds);
}

static void vsock_config_read(struct virtio_dev *d, uint64_t off, void *data,
			      unsigned int len)
{
	struct vsock *vs = d->priv;
	uint8_t cfg[8];

	memcpy(cfg, &vs->cfg.cid, 8);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void vsock_destroy(void *priv)
{
	struct vsock *vs = priv;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (vs->conns[i].fd >= 0)
			close(vs->conns[i].fd);
		free(vs->conns[i].wbuf);
	}
	vsock_uds_close(vs->uds);
	free(vs);
}

static int vsock_save(struct virtio_dev *d, struct state_writer *w);
static int vsock_restore(struct virtio_dev *d, struct state_reader *r);

static const struct virtio_dev_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.config_read = vsock_config_read,
	.queue_notify = vsock_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
	.state_version = 1,
	.save = vsock_save,
	.restore = vsock_restore,
};

struct virtio_dev *virtio_vsock_create(struct vm *vm, struct iothread *io,
				       uint64_t base, unsigned int irq,
				       const struct vsock_config *cfg)
{
	struct vsock *vs = calloc(1, sizeof(*vs));
	struct virtio_dev *d;
	char err[256];

	if (!vs)
		return NULL;
	vs->cfg = *cfg;
	vs->next_port = VSOCK_HOST_PORT_BASE;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		vs->conns[i].vs = vs;
		vs->conns[i].fd = -1;
	}
	vs->uds = vsock_uds_open(io, cfg->uds, host_connect, vs, err,
				 sizeof(err));
	if (!vs->uds) {
		pr_err("vsock uds %s", err);
		free(vs);
		return NULL;
	}
	/* From here on, the device's destroy frees vs. */
	d = virtio_dev_create(vm, io, base, irq, &vsock_ops, 3,
			      VSOCK_QUEUE_SIZE, 0, vs, "virtio-vsock");
	if (!d)
		return NULL;
	vs->dev = d;
	return d;
}

/* --- saved state --------------------------------------------------------- */

/*
 * The CID, the next host port, the control packets waiting for the guest
 * and the guest's end of each connection. Host connections (sockets,
 * buffered bytes) are not saved: a restored device tells the guest its
 * transport was reset (evt_process()), and sends a reset for each
 * connection it had as well (for a driver without the event), so its
 * sockets see ECONNRESET instead of hanging.
 */
static void put_hdr(struct state_writer *w, const struct vsock_hdr *h)
{
	state_put_u64(w, h->src_cid);
	state_put_u64(w, h->dst_cid);
	state_put_u32(w, h->src_port);
	state_put_u32(w, h->dst_port);
	state_put_u32(w, h->len);
	state_put_u16(w, h->type);
	state_put_u16(w, h->op);
	state_put_u32(w, h->flags);
	state_put_u32(w, h->buf_alloc);
	state_put_u32(w, h->fwd_cnt);
}

static int vsock_save(struct virtio_dev *d, struct state_writer *w)
{
	struct vsock *vs = d->priv;
	uint32_t n = 0;

	state_put_u64(w, vs->cfg.cid);
	state_put_u32(w, vs->next_port);
	state_put_u32(w, vs->pend_count);
	for (unsigned int i = 0; i < vs->pend_count; i++)
		put_hdr(w,
			&vs->pending[(vs->pend_head + i) % VSOCK_MAX_PENDING]);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		n += vs->conns[i].st != C_FREE;
	state_put_u32(w, n);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (vs->conns[i].st == C_FREE)
			continue;
		state_put_u32(w, vs->conns[i].host_port);
		state_put_u32(w, vs->conns[i].guest_port);
	}
	return 0;
}

static void get_hdr(struct state_reader *r, const struct vsock *vs,
		    struct vsock_hdr *h)
{
	h->src_cid = state_get_u64(r, "vsock packet source");
	h->dst_cid = state_get_u64(r, "vsock packet destination");
	h->src_port = state_get_u32(r, "vsock packet source port");
	h->dst_port = state_get_u32(r, "vsock packet destination port");
	h->len = state_get_u32(r, "vsock packet length");
	h->type = state_get_u16(r, "vsock packet type");
	h->op = state_get_u16(r, "vsock packet op");
	h->flags = state_get_u32(r, "vsock packet flags");
	h->buf_alloc = state_get_u32(r, "vsock packet buf_alloc");
	h->fwd_cnt = state_get_u32(r, "vsock packet fwd_cnt");
	/* Control packets from the host to this guest only. */
	state_check(r,
		    h->src_cid == VSOCK_HOST_CID && h->dst_cid == vs->cfg.cid &&
			    h->len == 0 && h->type == VSOCK_TYPE_STREAM &&
			    h->op >= OP_REQUEST && h->op <= OP_CREDIT_REQUEST,
		    "vsock pending packet");
}

static int vsock_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct vsock *vs = d->priv;
	struct vsock_hdr pend[VSOCK_MAX_PENDING];
	uint32_t ports[VSOCK_MAX_CONNS][2];
	uint64_t cid = state_get_u64(r, "vsock CID");
	uint32_t next_port = state_get_u32(r, "vsock next port");
	uint32_t np = state_get_u32(r, "vsock pending packets"), nc;

	state_check(r, cid == vs->cfg.cid, "vsock CID");
	state_check(r, next_port >= VSOCK_HOST_PORT_BASE, "vsock next port");
	if (!state_check(r, np <= VSOCK_MAX_PENDING, "vsock pending packets"))
		return -1;
	for (uint32_t i = 0; i < np && state_ok(r); i++)
		get_hdr(r, vs, &pend[i]);
	nc = state_get_u32(r, "vsock connections");
	if (!state_check(r, nc <= VSOCK_MAX_CONNS, "vsock connections"))
		return -1;
	for (uint32_t i = 0; i < nc; i++) {
		ports[i][0] = state_get_u32(r, "vsock host port");
		ports[i][1] = state_get_u32(r, "vsock guest port");
	}
	state_expect_end(r, "virtio-vsock");
	if (!state_ok(r))
		return -1;
	vs->next_port = next_port;
	vs->pend_head = 0;
	vs->pend_count = np;
	memcpy(vs->pending, pend, np * sizeof(pend[0]));
	for (uint32_t i = 0; i < nc; i++) {
		struct vconn gone = { .vs = vs,
				      .fd = -1,
				      .host_port = ports[i][0],
				      .guest_port = ports[i][1] };

		queue_op(vs, &gone, OP_RST, 0);
	}
	if (vs->pend_count)
		virtio_requeue(d, VSOCK_RX);
	vs->reset_event = true;
	virtio_requeue(d, VSOCK_EVT);
	return 0;
}

/* --- the device type: one when a CID is configured (setup.c places it) --- */

static unsigned int vsock_type_count(const struct vm_config *cfg)
{
	return cfg->vsock.cid ? 1 : 0;
}

static struct virtio_dev *vsock_type_place(const struct virtio_place *p,
					   unsigned int i)
{
	(void)i;
	return virtio_vsock_create(p->vm, p->io, p->base, p->irq,
				   &p->vm->cfg->vsock);
}

static const struct virtio_type virtio_vsock_type = {
	.what = "vsock",
	.order = 40,
	.count = vsock_type_count,
	.create = vsock_type_place,
};
VIRTIO_TYPE(virtio_vsock_type);
