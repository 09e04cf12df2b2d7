// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtio_net.c - virtio-net end to end on a real tap, in a network
 * namespace of the test's own: frames sent into the tap with a packet
 * socket reach the driver's receive buffers, and frames the driver
 * queues come out of the tap, each one in order and intact. The driver
 * notifies as the guest runtime's does (guest/runtime/vdrv.c): not while
 * the device sets VIRTQ_USED_F_NO_NOTIFY. With few receive buffers the
 * device runs out of them again and again, and must then ask for the kick
 * that brings new ones; a flag left set there would stall receive.
 * Needs root (a namespace, a tap): as CI runs the suite.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "net/tap.h"
#include "util/log.h"
#include "virtio/devices.h"
#include "virtio_harness.h"

#define BASE 0xd0000000ULL
#define RX_RING 0x1000
#define TX_RING 0x3000
#define RX_BUFS 0x10000 /* RX_NBUF buffers of BUF_SIZE */
#define TX_BUFS 0x40000 /* QSIZE buffers of BUF_SIZE */
#define BUF_SIZE 2048
#define QSIZE 16
#define RX_NBUF 4 /* fewer than a burst: the device runs dry */
#define FRAMES 300
#define BURST 10
#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental */
#define TAP "vmonut0"

static const uint8_t guest_mac[6] = { 0x02, 0, 0, 0, 0x55, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0x55, 0x02 };

struct fixture {
	struct harness h;
	struct virtio_dev *d;
	struct h_ring rx, tx;
	int pkt; /* packet socket on the tap: sends and receives */
	int ifindex; /* the tap's */
	unsigned int kicks, skipped;
};

/* A frame of the test: its length and bytes follow from @seq. */
static size_t make_frame(uint8_t *p, unsigned int seq, const uint8_t *dst,
			 const uint8_t *src)
{
	size_t len = 60 + (seq * 37) % 1400;

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETHERTYPE_TEST >> 8;
	p[13] = ETHERTYPE_TEST & 0xff;
	memcpy(p + 14, &seq, 4);
	for (size_t i = 18; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
	return len;
}

/* Notifies queue @q unless the device set VIRTQ_USED_F_NO_NOTIFY. */
static void notify(struct fixture *f, struct h_ring *r, unsigned int q)
{
	const uint16_t *flags = h_ptr(&f->h, r->used);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(flags, __ATOMIC_ACQUIRE) & VIRTQ_USED_F_NO_NOTIFY) {
		f->skipped++;
		return;
	}
	f->kicks++;
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static void rx_give(struct fixture *f, uint16_t i)
{
	h_desc(&f->h, &f->rx, i, RX_BUFS + (uint64_t)BUF_SIZE * i, BUF_SIZE,
	       VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->rx, i);
}

static void set_up_tap(struct fixture *f)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int v6 = open("/proc/sys/net/ipv6/conf/" TAP "/disable_ipv6",
		      O_WRONLY | O_CLOEXEC);

	/* No router solicitations or the like among the test's frames. */
	if (v6 >= 0) {
		assert_int_equal(write(v6, "1", 1), 1);
		close(v6);
	}
	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	f->ifindex = (int)if_nametoindex(TAP);
	assert_true(f->ifindex > 0);
	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC,
			htons(ETHERTYPE_TEST));
	assert_true(f->pkt >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETHERTYPE_TEST);
	sll.sll_ifindex = f->ifindex;
	assert_int_equal(bind(f->pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct net_config nc = { .mtu = 1500, .mac_set = true };

	log_level = LOG_ERROR;
	memcpy(nc.mac, guest_mac, 6);
	snprintf(nc.tap, sizeof(nc.tap), "%s", TAP);
	h_init(&f->h);
	f->d = virtio_net_create(&f->h.vm, f->h.io, BASE, 5, &nc);
	assert_non_null(f->d);
	set_up_tap(f);
	assert_int_equal(iothread_start(f->h.io), 0);
	/* VERSION_1 only: one chain a frame, no offloads, no event index. */
	assert_true(h_negotiate(&f->h, BASE, 1ULL << VIRTIO_F_VERSION_1) &
		    VIRTIO_STATUS_FEATURES_OK);
	h_ring_init(&f->rx, RX_RING, QSIZE);
	h_ring_init(&f->tx, TX_RING, QSIZE);
	h_queue(&f->h, BASE, 0, QSIZE, f->rx.desc, f->rx.avail, f->rx.used);
	h_queue(&f->h, BASE, 1, QSIZE, f->tx.desc, f->tx.avail, f->tx.used);
	h_driver_ok(&f->h, BASE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	h_fini(&f->h);
	close(f->pkt);
	free(f);
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Receive: FRAMES frames in bursts of BURST into RX_NBUF buffers, each
 * buffer given back (and the device notified as the driver would) as
 * soon as its frame is checked.
 */
static void test_receive(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_ifindex = f->ifindex,
				  .sll_halen = 6 };
	uint16_t seen = 0;
	unsigned int next = 0;
	uint8_t frame[BUF_SIZE];

	memcpy(to.sll_addr, guest_mac, 6);
	for (uint16_t i = 0; i < RX_NBUF; i++)
		rx_give(f, i);
	notify(f, &f->rx, 0);
	for (unsigned int sent = 0; sent < FRAMES; sent += BURST) {
		double deadline = now_s() + 10;

		for (unsigned int k = sent; k < sent + BURST; k++) {
			size_t len = make_frame(frame, k, guest_mac, peer_mac);

			assert_int_equal(sendto(f->pkt, frame, len, 0,
						(struct sockaddr *)&to,
						sizeof(to)),
					 (ssize_t)len);
		}
		while (next < sent + BURST) {
			uint32_t id, len;
			const uint8_t *p;
			unsigned int seq;
			uint8_t want[BUF_SIZE];
			size_t wlen;

			if (h_used_idx(&f->h, &f->rx) == seen) {
				if (now_s() > deadline)
					fail_msg("receive stalled: frame %u of "
						 "%u not delivered in 10 s "
						 "(%u kicks, %u skipped)",
						 next, FRAMES, f->kicks,
						 f->skipped);
				continue;
			}
			h_used_elem(&f->h, &f->rx, seen++, &id, &len);
			assert_true(id < RX_NBUF);
			assert_true(len > TAP_VNET_HDR_LEN);
			p = h_ptr(&f->h, RX_BUFS + (uint64_t)BUF_SIZE * id);
			if (p[TAP_VNET_HDR_LEN + 12] != ETHERTYPE_TEST >> 8 ||
			    p[TAP_VNET_HDR_LEN + 13] !=
				    (ETHERTYPE_TEST & 0xff)) {
				/* The kernel's own (none expected): passed. */
				rx_give(f, (uint16_t)id);
				notify(f, &f->rx, 0);
				continue;
			}
			memcpy(&seq, p + TAP_VNET_HDR_LEN + 14, 4);
			assert_int_equal(seq, next);
			wlen = make_frame(want, next, guest_mac, peer_mac);
			assert_int_equal(len - TAP_VNET_HDR_LEN, wlen);
			assert_memory_equal(p + TAP_VNET_HDR_LEN, want, wlen);
			next++;
			rx_give(f, (uint16_t)id);
			notify(f, &f->rx, 0);
		}
	}
	print_message("received %u frames through %u buffers: %u kicks, %u "
		      "without one\n",
		      FRAMES, RX_NBUF, f->kicks, f->skipped);
	/* Some buffers came back while the device still had others. */
	assert_true(f->skipped > 0);
}

/* Transmit: FRAMES frames, each read back from the tap in order. */
static void test_transmit(void **state)
{
	struct fixture *f = *state;
	uint16_t done = 0;

	for (unsigned int k = 0; k < FRAMES; k++) {
		uint16_t slot = (uint16_t)(k % QSIZE);
		uint8_t *buf =
			h_ptr(&f->h, TX_BUFS + (uint64_t)BUF_SIZE * slot);
		uint8_t got[BUF_SIZE], want[BUF_SIZE];
		size_t len, wlen;
		ssize_t n;
		double deadline = now_s() + 10;

		/* A slot is reused once the device gave its frame back. */
		while ((uint16_t)(f->tx.avail_idx - done) >= QSIZE) {
			if (h_used_idx(&f->h, &f->tx) != done)
				done++;
			else if (now_s() > deadline)
				fail_msg("transmit stalled at frame %u", k);
		}
		memset(buf, 0, TAP_VNET_HDR_LEN);
		len = make_frame(buf + TAP_VNET_HDR_LEN, k, peer_mac,
				 guest_mac);
		h_desc(&f->h, &f->tx, slot, TX_BUFS + (uint64_t)BUF_SIZE * slot,
		       (uint32_t)(TAP_VNET_HDR_LEN + len), 0, 0);
		h_avail(&f->h, &f->tx, slot);
		notify(f, &f->tx, 1);
		/* Out of the tap, in order (nothing else has this type). */
		do {
			struct pollfd pf = { .fd = f->pkt, .events = POLLIN };

			if (poll(&pf, 1, 10000) != 1)
				fail_msg("frame %u did not come out of the tap",
					 k);
			n = recv(f->pkt, got, sizeof(got), 0);
		} while (n < 0 && errno == EINTR);
		wlen = make_frame(want, k, peer_mac, guest_mac);
		assert_int_equal(n, (ssize_t)wlen);
		assert_memory_equal(got, want, wlen);
	}
	print_message("sent %u frames: %u kicks, %u without one\n", FRAMES,
		      f->kicks, f->skipped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
	};

	/* A namespace of our own: the tap and its frames stay in it. */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr,
			"test_virtio_net: unshare(CLONE_NEWNET): %s (run as "
			"root)\n",
			strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
