// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.c - virtio-net (virtio 1.2, 5.1) on a tap device: one receive and
 * one transmit queue, checksum and TSO offloads in both directions
 * (passed through as the tap's virtio-net header), mergeable receive
 * buffers. Frames move between the tap and guest memory on the I/O
 * thread; the tap is only read while the guest has receive buffers.
 * On an interface the metadata service is enabled for, frames towards it
 * go to its responder (src/net/mmds_stack.c) instead of the tap, and its
 * replies come before the tap's frames.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../net/mmds_stack.h"
#include "../net/mmds_store.h"
#include "../net/tap.h"
#include "../util/log.h"
#include "../util/rl_timer.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "runtime.h"

#define VIRTIO_ID_NET 1

/* Feature bits (virtio 1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define NET_RX 0
#define NET_TX 1
#define NET_QUEUE_SIZE 256
#define NET_MAX_FRAME (TAP_VNET_HDR_LEN + 65550)
#define NET_BUDGET 64 /* frames per turn, each direction */

enum { ONCE_NET = 0x7630 };

struct vnet {
	struct virtio_dev *dev;
	struct net_config cfg;
	int fd;
	bool watching;
	/* The I/O thread polls the transmit queue: no kicks needed. */
	bool polling;
	size_t pkt_len; /* a frame read from the tap, not yet delivered */
	uint8_t pkt[NET_MAX_FRAME];
	struct virtq_elem elem;
	uint16_t heads[NET_QUEUE_SIZE];
	uint32_t lens[NET_QUEUE_SIZE];
	/* Rate limiting (see the end of this file). */
	struct rate_limiter rx_rl, tx_rl;
	struct rl_timer rl_timer; /* a wait the limiters asked for is over */
	bool rx_throttled, tx_throttled;
	struct virtio_io_stats st;
	/* The metadata service's responder, if enabled here, and a copy of
	 * the transmitted frame it looks at. */
	struct mmds_stack *mmds;
	uint8_t mmds_buf[MMDS_FRAME_MAX + 64];
};

static bool net_throttle(struct vnet *n, struct rate_limiter *rl,
			 uint64_t bytes, bool *flag);
static void net_rl_fire(void *opaque);

static void watch(struct vnet *n, bool on)
{
	if (n->watching == on)
		return;
	n->watching = on;
	iothread_modify(n->dev->io, n->fd, on ? EPOLLIN : 0);
}

/* The byte at offset @off of an element's device-writable buffers. */
static uint8_t *in_byte(const struct virtq_elem *e, uint64_t off)
{
	for (unsigned int i = e->nr_out; i < e->nr_out + e->nr_in; i++) {
		if (off < e->iov[i].iov_len)
			return (uint8_t *)e->iov[i].iov_base + off;
		off -= e->iov[i].iov_len;
	}
	return NULL;
}

/*
 * Puts the pending frame into receive buffers: one chain, or with
 * MRG_RXBUF as many as it takes, the count going into the first header's
 * num_buffers. Returns 1 if delivered (or dropped), 0 if the guest has
 * not enough buffers yet, -1 if the ring is broken.
 */
static int deliver(struct vnet *n)
{
	struct virtio_dev *d = n->dev;
	struct virtq *vq = &d->vqs[NET_RX];
	bool mrg = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t *nb_lo = NULL, *nb_hi = NULL;
	size_t done = 0;
	uint16_t count = 0;

	n->pkt[10] = 1; /* num_buffers = 1 unless more are needed */
	n->pkt[11] = 0;
	while (done < n->pkt_len) {
		int r = virtq_pop(vq, &n->elem);
		uint64_t len;

		if (r <= 0) {
			for (uint16_t i = 0; i < count; i++)
				virtq_unpop(vq);
			if (r == 0 && virtq_enable_notify(vq))
				return deliver(n);
			return r;
		}
		if (n->elem.in_len < (count ? 1 : TAP_VNET_HDR_LEN) ||
		    (!mrg && n->elem.in_len < n->pkt_len) ||
		    count == NET_QUEUE_SIZE) {
			log_once(
				ONCE_NET, d->base,
				"%s: receive buffers too small for a %zu-byte frame: dropped",
				d->name, n->pkt_len);
			for (uint16_t i = 0; i <= count; i++)
				virtq_unpop(vq);
			return 1;
		}
		len = virtq_buf_to_iov(n->elem.iov + n->elem.nr_out,
				       n->elem.nr_in, 0, n->pkt + done,
				       n->pkt_len - done);
		if (count == 0) {
			nb_lo = in_byte(&n->elem, 10);
			nb_hi = in_byte(&n->elem, 11);
		}
		n->heads[count] = n->elem.head;
		n->lens[count] = (uint32_t)len;
		count++;
		done += len;
	}
	if (count > 1 && nb_lo && nb_hi) {
		*nb_lo = (uint8_t)count;
		*nb_hi = (uint8_t)(count >> 8);
	}
	for (uint16_t i = 0; i < count; i++)
		virtq_push(vq, n->heads[i], n->lens[i]);
	return 1;
}

/* The metadata service's next frame for the guest into n->pkt, if any. */
static bool mmds_next(struct vnet *n)
{
	size_t len;

	if (!n->mmds)
		return false;
	len = mmds_stack_rx(n->mmds, n->pkt + TAP_VNET_HDR_LEN, rl_now_ns());
	if (!len)
		return false;
	memset(n->pkt, 0, TAP_VNET_HDR_LEN); /* checksums complete, no GSO */
	n->pkt_len = TAP_VNET_HDR_LEN + len;
	return true;
}

/* True if the transmitted frame in n->elem was the metadata service's. */
static bool mmds_take(struct vnet *n)
{
	uint8_t hdr[TAP_VNET_HDR_LEN];
	unsigned int flags = 0;
	uint64_t len;

	if (!n->mmds)
		return false;
	virtq_iov_to_buf(n->elem.iov, n->elem.nr_out, 0, hdr, sizeof(hdr));
	if (hdr[0] & 1) /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
		flags |= MMDS_TX_PARTIAL_CSUM;
	if (hdr[1]) /* gso_type */
		flags |= MMDS_TX_GSO;
	len = virtq_iov_to_buf(n->elem.iov, n->elem.nr_out, TAP_VNET_HDR_LEN,
			       n->mmds_buf, sizeof(n->mmds_buf));
	return mmds_stack_tx(n->mmds, n->mmds_buf, len,
			     n->elem.out_len - TAP_VNET_HDR_LEN, flags,
			     rl_now_ns());
}

static void rx(struct vnet *n)
{
	struct virtio_dev *d = n->dev;
	bool pushed = false;

	if (!virtio_queue_usable(d, NET_RX) || n->rx_throttled) {
		watch(n, false);
		return;
	}
	/*
	 * Buffers the guest adds need no kick while it has some left: the
	 * delivery that finds none asks for one (deliver()), as QEMU does.
	 */
	virtq_disable_notify(&d->vqs[NET_RX]);
	for (int i = 0; i < NET_BUDGET; i++) {
		int r;

		if (!n->pkt_len && !mmds_next(n)) {
			ssize_t got = read(n->fd, n->pkt, sizeof(n->pkt));

			if (got < 0) {
				if (errno != EAGAIN && errno != EINTR)
					log_once(ONCE_NET, d->base + 1,
						 "%s: tap read: %s", d->name,
						 strerror(errno));
				break;
			}
			if (got < TAP_VNET_HDR_LEN)
				continue;
			n->pkt_len = (size_t)got;
		}
		if (net_throttle(n, &n->rx_rl, n->pkt_len - TAP_VNET_HDR_LEN,
				 &n->rx_throttled)) {
			/* The frame waits in n->pkt for the timer. */
			watch(n, false);
			break;
		}
		r = deliver(n);
		if (r < 0) {
			virtio_check_queue(d, NET_RX);
			watch(n, false);
			break;
		}
		if (r == 0) {
			/* Wait for the guest to add buffers (rx kick). */
			watch(n, false);
			break;
		}
		n->st.in_ops++;
		n->st.in_bytes += n->pkt_len - TAP_VNET_HDR_LEN;
		n->pkt_len = 0;
		pushed = true;
	}
	if (pushed)
		virtio_notify_queue(d, NET_RX);
}

static void tx(struct vnet *n)
{
	struct virtio_dev *d = n->dev;
	struct virtq *vq = &d->vqs[NET_TX];
	bool pushed = false;

	if (n->tx_throttled)
		return; /* the rate limiter's timer resumes the queue */
	/* No kicks while the ring is worked through (virtq_next() re-arms). */
	virtq_disable_notify(vq);
	for (int i = 0; i < NET_BUDGET; i++) {
		/* Polled, the ring stays quiet when empty (net_poll()). */
		int r = n->polling ? virtq_pop(vq, &n->elem) :
				     virtq_next(vq, &n->elem);

		if (r <= 0)
			break;
		if (n->elem.out_len >= TAP_VNET_HDR_LEN &&
		    net_throttle(n, &n->tx_rl,
				 n->elem.out_len - TAP_VNET_HDR_LEN,
				 &n->tx_throttled)) {
			virtq_unpop(vq);
			break;
		}
		if (n->elem.out_len < TAP_VNET_HDR_LEN) {
			log_once(
				ONCE_NET, d->base + 2,
				"%s: transmitted frame without a header: dropped",
				d->name);
		} else if (mmds_take(n)) {
			/* Answered by the metadata service: not for the tap. */
		} else if (writev(n->fd, n->elem.iov, (int)n->elem.nr_out) <
			   0) {
			/* Full or refused (bad header): the frame is lost. */
			log_once(ONCE_NET, d->base + 3, "%s: tap write: %s",
				 d->name, strerror(errno));
		} else {
			n->st.out_ops++;
			n->st.out_bytes += n->elem.out_len - TAP_VNET_HDR_LEN;
		}
		virtq_push(vq, n->elem.head, 0);
		pushed = true;
		if (i == NET_BUDGET - 1)
			virtio_requeue(d, NET_TX);
	}
	if (pushed)
		virtio_notify_queue(d, NET_TX);
	if (n->mmds && mmds_stack_has_rx(n->mmds))
		rx(n);
}

static void net_notify(struct virtio_dev *d, unsigned int q)
{
	struct vnet *n = d->priv;

	if (q == NET_TX) {
		tx(n);
	} else {
		watch(n, true);
		rx(n);
	}
}

static void tap_ready(void *opaque, uint32_t events)
{
	struct vnet *n = opaque;

	(void)events;
	pthread_mutex_lock(&n->dev->lock);
	rx(n);
	pthread_mutex_unlock(&n->dev->lock);
}

/*
 * The I/O thread's poller (iothread_set_poll): frames the guest queued for
 * transmission, and receive buffers it added while a frame from the tap
 * waits for room, found without a kick's wake-up; true if it moved any.
 * A vCPU holding the lock (a register access) makes it pass this turn.
 * While it polls, the driver is told not to notify the transmit queue;
 * at the stretch's @end, as in blk_poll().
 */
static bool net_poll(void *opaque, bool end)
{
	struct vnet *n = opaque;
	struct virtio_dev *d = n->dev;
	uint64_t in, out;
	bool moved;

	if (!d)
		return false;
	if (end) {
		/* As blk_poll(): notifications again, and what came meanwhile. */
		pthread_mutex_lock(&d->lock);
		if (n->polling) {
			n->polling = false;
			if (virtio_queue_usable(d, NET_TX))
				tx(n);
		}
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	if (pthread_mutex_trylock(&d->lock))
		return false;
	if (!n->polling && virtio_queue_usable(d, NET_TX)) {
		n->polling = true;
		virtq_disable_notify(&d->vqs[NET_TX]);
	}
	in = n->st.in_ops;
	out = n->st.out_ops;
	if (!n->tx_throttled && virtio_queue_usable(d, NET_TX) &&
	    virtq_has_avail(&d->vqs[NET_TX]))
		tx(n);
	if (n->pkt_len && !n->rx_throttled && virtio_queue_usable(d, NET_RX) &&
	    virtq_has_avail(&d->vqs[NET_RX])) {
		watch(n, true);
		rx(n);
	}
	moved = n->st.in_ops != in || n->st.out_ops != out;
	pthread_mutex_unlock(&d->lock);
	return moved;
}

static int net_activate(struct virtio_dev *d)
{
	struct vnet *n = d->priv;
	unsigned int off = 0;

	/* What the guest accepts from the tap: partial checksums, TSO. */
	if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) &&
		    virtio_has_feature(d, VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
	}
	if (tap_set_offload(n->fd, off)) {
		pr_warn("%s: tap offloads 0x%x: %s", d->name, off,
			strerror(errno));
		return -1;
	}
	watch(n, true);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct vnet *n = d->priv;

	n->pkt_len = 0;
	watch(n, false);
}

static void net_config_read(struct virtio_dev *d, uint64_t off, void *data,
			    unsigned int len)
{
	struct vnet *n = d->priv;
	uint8_t cfg[12] = { 0 };

	memcpy(cfg, n->cfg.mac, 6);
	cfg[6] = 1; /* status: VIRTIO_NET_S_LINK_UP */
	cfg[8] = 1; /* max_virtqueue_pairs */
	cfg[10] = (uint8_t)n->cfg.mtu; /* mtu, little-endian */
	cfg[11] = (uint8_t)(n->cfg.mtu >> 8);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void net_destroy(void *priv)
{
	struct vnet *n = priv;

	if (n->fd >= 0)
		close(n->fd);
	mmds_stack_free(n->mmds);
	rl_timer_close(&n->rl_timer);
	free(n);
}

static int net_save(struct virtio_dev *d, struct state_writer *w);
static int net_restore(struct virtio_dev *d, struct state_reader *r);

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.config_read = net_config_read,
	.queue_notify = net_notify,
	.activate = net_activate,
	.reset = net_reset,
	.destroy = net_destroy,
	.state_version = 1,
	.save = net_save,
	.restore = net_restore,
};

struct virtio_dev *virtio_net_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct net_config *cfg)
{
	uint64_t features = (1ULL << VIRTIO_NET_F_CSUM) |
			    (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ULL << VIRTIO_NET_F_MAC) |
			    (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
			    (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			    (1ULL << VIRTIO_NET_F_GUEST_ECN) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO4) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO6) |
			    (1ULL << VIRTIO_NET_F_HOST_ECN) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ULL << VIRTIO_NET_F_STATUS);
	struct vnet *n = calloc(1, sizeof(*n));
	struct virtio_dev *d;
	bool created;

	if (!n)
		return NULL;
	n->cfg = *cfg;
	n->rl_timer.fd = -1;
	/* Firecracker's mtu: offered to the guest, the tap keeps its own. */
	if (cfg->mtu)
		features |= 1ULL << VIRTIO_NET_F_MTU;
	if (!n->cfg.mac_set) {
		/* A random, locally administered, unicast address. */
		if (getrandom(n->cfg.mac, 6, 0) != 6)
			memset(n->cfg.mac, 0x5a, 6);
		n->cfg.mac[0] = (uint8_t)((n->cfg.mac[0] & 0xfc) | 0x02);
	}
	if (cfg->mmds) {
		struct mmds_config mc;

		mmds_get_config(&mc);
		n->mmds = mmds_stack_new(mc.ipv4);
		if (!n->mmds) {
			free(n);
			return NULL;
		}
	}
	n->fd = tap_open(cfg->tap, &created);
	if (n->fd < 0) {
		mmds_stack_free(n->mmds);
		free(n);
		return NULL;
	}
	if (created)
		pr_info("net: created tap %s", cfg->tap);
	/* From here on, the device's destroy frees n. */
	d = virtio_dev_create(vm, io, base, irq, &net_ops, 2, NET_QUEUE_SIZE,
			      features, n, "virtio-net");
	if (!d)
		return NULL;
	n->dev = d;
	if (iothread_add(io, n->fd, 0, tap_ready, n) ||
	    iothread_set_poll(io, n->fd, net_poll))
		return NULL;
	rl_init(&n->rx_rl, &cfg->rx_rl, rl_now_ns());
	rl_init(&n->tx_rl, &cfg->tx_rl, rl_now_ns());
	if (rl_timer_init(&n->rl_timer, io, net_rl_fire, n)) {
		pr_err("net %s: rate limiter timer: %s", cfg->tap,
		       strerror(errno));
		return NULL;
	}
	return d;
}

/* --- control plane: rate limiters, counters ----------------------------- */

/* True if @bytes must wait for @rl: *@flag is set, the timer armed. */
static bool net_throttle(struct vnet *n, struct rate_limiter *rl,
			 uint64_t bytes, bool *flag)
{
	if (!rl_timer_throttle(&n->rl_timer, rl, bytes))
		return false;
	*flag = true;
	return true;
}

static void net_resume(struct vnet *n)
{
	n->rx_throttled = n->tx_throttled = false;
	if (virtio_queue_usable(n->dev, NET_TX))
		tx(n);
	if (virtio_queue_usable(n->dev, NET_RX)) {
		watch(n, true);
		rx(n);
	}
}

static void net_rl_fire(void *opaque)
{
	struct vnet *n = opaque;

	pthread_mutex_lock(&n->dev->lock);
	net_resume(n);
	pthread_mutex_unlock(&n->dev->lock);
}

void virtio_net_set_rate_limiters(struct virtio_dev *d,
				  const struct rl_config *rx,
				  const struct rl_config *tx_cfg)
{
	struct vnet *n = d->priv;

	pthread_mutex_lock(&d->lock);
	n->cfg.rx_rl = *rx;
	n->cfg.tx_rl = *tx_cfg;
	rl_init(&n->rx_rl, rx, rl_now_ns());
	rl_init(&n->tx_rl, tx_cfg, rl_now_ns());
	/* What waited goes on under the new limits, on the I/O thread. */
	if (n->rx_throttled || n->tx_throttled)
		rl_timer_kick(&n->rl_timer);
	pthread_mutex_unlock(&d->lock);
}

void virtio_net_stats(struct virtio_dev *d, struct virtio_io_stats *out)
{
	struct vnet *n = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = n->st;
	out->throttled = n->tx_rl.throttled;
	out->throttled_ns = n->tx_rl.throttled_ns;
	out->rx_throttled = n->rx_rl.throttled;
	out->rx_throttled_ns = n->rx_rl.throttled_ns;
	pthread_mutex_unlock(&d->lock);
}

/* --- saved state --------------------------------------------------------- */

/*
 * The MAC address the guest sees and a frame read from the tap but not
 * delivered yet. The tap itself, its offloads and whether it is watched
 * come back from the configuration and activate().
 */
static int net_save(struct virtio_dev *d, struct state_writer *w)
{
	struct vnet *n = d->priv;

	state_put_bytes(w, n->cfg.mac, 6);
	state_put_u32(w, (uint32_t)n->pkt_len);
	state_put_bytes(w, n->pkt, n->pkt_len);
	return 0;
}

static int net_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct vnet *n = d->priv;
	uint8_t mac[6];
	uint32_t len;

	state_get_bytes(r, mac, sizeof(mac), "net MAC address");
	len = state_get_u32(r, "net pending frame");
	state_check(r, len <= NET_MAX_FRAME && r->len - r->pos == len,
		    "net pending frame");
	/* A configured address must match; a random one is the saved one. */
	state_check(r, !n->cfg.mac_set || !memcmp(mac, n->cfg.mac, 6),
		    "net MAC address");
	if (!state_ok(r))
		return -1;
	memcpy(n->cfg.mac, mac, 6);
	state_get_bytes(r, n->pkt, len, "net pending frame");
	n->pkt_len = len;
	if (len)
		virtio_requeue(d, NET_RX);
	return 0;
}

/* --- the device type: one per interface (setup.c places it) --- */

static unsigned int net_type_count(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static struct virtio_dev *net_type_place(const struct virtio_place *p,
					 unsigned int i)
{
	return virtio_net_create(p->vm, p->io, p->base, p->irq,
				 &p->vm->cfg->nets[i]);
}

static const struct virtio_type virtio_net_type = {
	.what = "net",
	.order = 30,
	.count = net_type_count,
	.create = net_type_place,
};
VIRTIO_TYPE(virtio_net_type);
