// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtio_devices.c - the device models that need no host resources
 * beyond pipes and Unix sockets, driven through the MMIO bus with hostile
 * and valid rings: virtio-balloon (PFNs outside RAM, unaligned reported
 * ranges, config writes), virtio-vsock (short headers, lengths beyond the
 * buffers, foreign CIDs, connections nobody listens for) and
 * virtio-console (output to a pipe, input from a pipe).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "util/log.h"
#include "virtio/balloon.h"
#include "virtio/devices.h"
#include "virtio_harness.h"

#define BASE 0xd0000000ULL
#define BUF 0x10000
#define PAGE_GPA 0x100000 /* a page the balloon takes */

static uint64_t all_features(struct virtio_dev *d)
{
	return d->host_features;
}

static bool wait_status(struct harness *h, uint32_t bit)
{
	for (int i = 0; i < 400; i++) {
		if (h_r32(h, BASE, VIRTIO_MMIO_STATUS) & bit)
			return true;
		usleep(5000);
	}
	return false;
}

/* --- balloon ----------------------------------------------------------- */

struct bfix {
	struct harness h;
	struct virtio_dev *d;
	struct h_ring rq[5];
};

/*
 * @start: run the I/O thread (else the test steps it with iothread_poll);
 * @interval: seconds between statistics (0: none)
 */
static struct bfix *balloon_up_hint(bool start, unsigned int interval,
				    bool hinting)
{
	struct balloon_config cfg = { .enabled = true,
				      .size = 1 << 20,
				      .reporting = true,
				      .hinting = hinting,
				      .stats_interval = interval };
	struct bfix *f = calloc(1, sizeof(*f));

	log_level = LOG_ERROR;
	h_init(&f->h);
	f->d = virtio_balloon_create(&f->h.vm, f->h.io, BASE, 5, &cfg);
	assert_non_null(f->d);
	assert_ptr_equal(virtio_find(&f->h.vm, DEVICE_VIRTIO_BALLOON, 0), f->d);
	if (start)
		assert_int_equal(iothread_start(f->h.io), 0);
	assert_true(h_negotiate(&f->h, BASE, all_features(f->d)) &
		    VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < 4u + hinting; q++) {
		h_ring_init(&f->rq[q], 0x1000 + 0x1000 * q, 16);
		h_queue(&f->h, BASE, q, 16, f->rq[q].desc, f->rq[q].avail,
			f->rq[q].used);
	}
	h_driver_ok(&f->h, BASE);
	return f;
}

static struct bfix *balloon_up_cfg(bool start, unsigned int interval)
{
	return balloon_up_hint(start, interval, false);
}

static struct bfix *balloon_up_io(bool start)
{
	return balloon_up_cfg(start, 0);
}

static struct bfix *balloon_up(void)
{
	return balloon_up_io(true);
}

static void balloon_down(struct bfix *f)
{
	h_fini(&f->h);
	free(f);
}

static void test_balloon_inflate(void **state)
{
	struct bfix *f = balloon_up();
	uint32_t pfns[4] = { PAGE_GPA >> 12, 0xffffffff,
			     (uint32_t)(H_ROM_GPA >> 12),
			     (PAGE_GPA >> 12) + 1 };
	struct balloon_info info;
	uint32_t v;

	(void)state;
	memset(h_ptr(&f->h, PAGE_GPA), 0x5a, 8192);
	memcpy(h_ptr(&f->h, BUF), pfns, sizeof(pfns));
	/* Frames outside RAM and in ROM are ignored; RAM pages go back. */
	h_desc(&f->h, &f->rq[0], 0, BUF, sizeof(pfns), 0, 0);
	h_avail(&f->h, &f->rq[0], 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->rq[0], 1, 2000));
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, PAGE_GPA), 0);
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, PAGE_GPA + 4095), 0);
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, PAGE_GPA + 4096), 0);
	assert_false(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		     VIRTIO_STATUS_NEEDS_RESET);
	virtio_balloon_get(f->d, &info);
	assert_int_equal(info.inflated_bytes, 8192);
	/* Configuration: target readable, only `actual` writable. */
	bus_access(&f->h.vm.mmio, BASE + 0x100, &v, 4, false);
	assert_int_equal(v, 256);
	v = 77;
	bus_access(&f->h.vm.mmio, BASE + 0x100, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + 0x104, &v, 4, true);
	bus_access(&f->h.vm.mmio, BASE + 0x100, &v, 4, false);
	assert_int_equal(v, 256);
	virtio_balloon_get(f->d, &info);
	assert_int_equal(info.actual_bytes, 77 * 4096);
	/* A new target: config generation moves, config interrupt. */
	v = h_r32(&f->h, BASE, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(virtio_balloon_set_target(f->d, 2 << 20), 0);
	assert_int_not_equal(h_r32(&f->h, BASE, VIRTIO_MMIO_CONFIG_GENERATION),
			     v);
	assert_true(h_r32(&f->h, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_INT_CONFIG);
	assert_int_equal(virtio_balloon_set_target(f->d, 1ULL << 40), -1);
	balloon_down(f);
}

/*
 * One inflate chain of a million page numbers (none contiguous) does not
 * hold the device for the whole chain (issue 13, item 3): it is handled
 * over several turns of the I/O thread, the control plane reads progress
 * in between, and the chain completes once. The test runs the turns
 * itself (iothread_poll), so what it sees does not depend on scheduling.
 */
static void test_balloon_long_chain(void **state)
{
	enum { LIST = 0x200000, LIST_LEN = 512 << 10, NDESC = 8 };
	struct bfix *f = balloon_up_io(false);
	uint32_t *list = h_ptr(&f->h, LIST);
	uint64_t total = (uint64_t)NDESC * (LIST_LEN / 4) * 4096;
	uint64_t last = 0;
	unsigned int turns = 0;
	struct balloon_info info;

	(void)state;
	for (unsigned int i = 0; i < LIST_LEN / 4; i++)
		list[i] = (PAGE_GPA >> 12) + (i % 2) * 2;
	for (uint16_t i = 0; i < NDESC; i++)
		h_desc(&f->h, &f->rq[0], i, LIST, LIST_LEN,
		       i + 1 < NDESC ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	h_avail(&f->h, &f->rq[0], 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (h_used_idx(&f->h, &f->rq[0]) != 1) {
		/* Each turn is started by the kick the previous one left. */
		assert_true(iothread_poll(f->h.io, 0) > 0);
		turns++;
		virtio_balloon_get(f->d, &info);
		assert_true(info.inflated_bytes > last);
		last = info.inflated_bytes;
		if (h_used_idx(&f->h, &f->rq[0]) != 1)
			assert_true(info.inflated_bytes < total);
	}
	virtio_balloon_get(f->d, &info);
	assert_int_equal(info.inflated_bytes, total);
	assert_true(turns > 1);
	/* Nothing is left to do: the chain completed once. */
	assert_int_equal(iothread_poll(f->h.io, 0), 0);
	assert_int_equal(h_used_idx(&f->h, &f->rq[0]), 1);
	balloon_down(f);
}

static void test_balloon_reporting(void **state)
{
	struct bfix *f = balloon_up();
	uint8_t *p = h_ptr(&f->h, PAGE_GPA);

	(void)state;
	/* Queue 3 is reporting (stats is 2). An unaligned range: only the
	 * whole pages inside it are returned. */
	memset(p, 0x5a, 3 * 4096);
	h_desc(&f->h, &f->rq[3], 0, PAGE_GPA + 100, 2 * 4096,
	       VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->rq[3], 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 3);
	assert_true(h_wait_used(&f->h, f->d, &f->rq[3], 1, 2000));
	assert_int_equal(p[99], 0x5a); /* before the range */
	assert_int_equal(p[4096 + 10], 0); /* the whole page inside */
	assert_int_equal(p[2 * 4096 + 50], 0x5a); /* partial last page */
	balloon_down(f);
}

/* The driver's statistics buffer (@len bytes at BUF): the first update. */
static void stats_give(struct bfix *f, uint32_t len, struct balloon_info *info)
{
	h_desc(&f->h, &f->rq[2], 0, BUF, len, 0, 0);
	h_avail(&f->h, &f->rq[2], 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	for (int i = 0; i < 400; i++) {
		virtio_balloon_get(f->d, info);
		if (info->stats_updates)
			break;
		usleep(5000);
	}
	assert_int_equal(info->stats_updates, 1);
}

static void test_balloon_stats(void **state)
{
	struct bfix *f = balloon_up();
	uint8_t s[20];
	uint16_t tag;
	uint64_t val;
	struct balloon_info info;

	(void)state;
	tag = 4;
	val = 1234567;
	memcpy(s, &tag, 2);
	memcpy(s + 2, &val, 8);
	tag = 999; /* unknown tags are skipped */
	memcpy(s + 10, &tag, 2);
	memcpy(h_ptr(&f->h, BUF), s, sizeof(s));
	stats_give(f, 19, &info); /* a truncated entry */
	assert_true(info.have_stat[BALLOON_MEMFREE]);
	assert_int_equal(info.stats[BALLOON_MEMFREE], 1234567);
	/* The buffer is held for the next poll, not returned. */
	assert_int_equal(h_used_idx(&f->h, &f->rq[2]), 0);
	balloon_down(f);
}

/* PATCH /balloon/statistics: a new interval asks for statistics at once. */
static void test_balloon_stats_interval(void **state)
{
	struct bfix *f = balloon_up_cfg(true, 3600);
	struct bfix *none = balloon_up_cfg(true, 0);
	struct balloon_info info;

	(void)state;
	assert_int_equal(virtio_balloon_set_stats_interval(none->d, 5), -1);
	assert_int_equal(virtio_balloon_set_stats_interval(f->d, 0), -1);
	/* The driver's buffer: held until the next period, an hour away. */
	memset(h_ptr(&f->h, BUF), 0, 10);
	stats_give(f, 10, &info);
	assert_int_equal(h_used_idx(&f->h, &f->rq[2]), 0);
	/* A new interval: the buffer goes back to the driver now. */
	assert_int_equal(virtio_balloon_set_stats_interval(f->d, 2), 0);
	for (int i = 0; i < 400 && !h_used_idx(&f->h, &f->rq[2]); i++)
		usleep(5000);
	assert_int_equal(h_used_idx(&f->h, &f->rq[2]), 1);
	balloon_down(none);
	balloon_down(f);
}

static uint32_t hint_cmd(struct bfix *f)
{
	return h_r32(&f->h, BASE, 0x100 + 8); /* free_page_hint_cmd_id */
}

/* The guest's command on the hinting queue (3), then a 64 KiB block. */
static void hint_send(struct bfix *f, uint16_t *n, uint32_t cmd, bool block)
{
	memcpy(h_ptr(&f->h, BUF + 0x100 * *n), &cmd, 4);
	h_desc(&f->h, &f->rq[3], *n, BUF + 0x100 * *n, 4, 0, 0);
	h_avail(&f->h, &f->rq[3], *n);
	++*n;
	if (block) {
		h_desc(&f->h, &f->rq[3], *n, PAGE_GPA, 0x10000,
		       VIRTQ_DESC_F_WRITE, 0);
		h_avail(&f->h, &f->rq[3], *n);
		++*n;
	}
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 3);
}

/* Free page hinting: host commands, the guest's run, STOP acknowledged. */
static void test_balloon_hinting(void **state)
{
	struct bfix *f = balloon_up_hint(true, 0, true);
	struct bfix *none = balloon_up(); /* configured without hinting */
	struct balloon_info info;
	uint16_t n = 0;
	uint32_t run;

	(void)state;
	assert_int_equal(virtio_balloon_hint(none->d, true, true), -1);
	assert_int_equal(hint_cmd(f), BALLOON_CMD_STOP);
	assert_int_equal(virtio_balloon_hint(f->d, true, true), 0);
	run = hint_cmd(f);
	assert_true(run >= BALLOON_CMD_MIN);
	memset(h_ptr(&f->h, PAGE_GPA), 0xab, 0x10000);
	hint_send(f, &n, run, true);
	assert_true(h_wait_used(&f->h, f->d, &f->rq[3], 2, 4000));
	virtio_balloon_get(f->d, &info);
	assert_true(info.guest_cmd_seen);
	assert_int_equal(info.guest_cmd, run);
	assert_int_equal(info.host_cmd, run);
	assert_int_equal(info.hinted_bytes, 0x10000);
	/* The pages are left alone (the guest may reuse them). */
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, PAGE_GPA + 0x8000), 0xab);
	/* The guest's STOP: acknowledged with DONE. */
	hint_send(f, &n, BALLOON_CMD_STOP, false);
	assert_true(h_wait_used(&f->h, f->d, &f->rq[3], 3, 4000));
	assert_int_equal(hint_cmd(f), BALLOON_CMD_DONE);
	/* A new run gets a new id; without acknowledgement STOP stays. */
	assert_int_equal(virtio_balloon_hint(f->d, true, false), 0);
	assert_true(hint_cmd(f) > run);
	run = hint_cmd(f);
	hint_send(f, &n, BALLOON_CMD_STOP, false);
	assert_true(h_wait_used(&f->h, f->d, &f->rq[3], 4, 4000));
	assert_int_equal(hint_cmd(f), run);
	/* The host's stop: DONE. */
	assert_int_equal(virtio_balloon_hint(f->d, false, false), 0);
	assert_int_equal(hint_cmd(f), BALLOON_CMD_DONE);
	balloon_down(none);
	balloon_down(f);
}

/* --- vsock ------------------------------------------------------------- */

struct vfix {
	struct harness h;
	struct virtio_dev *d;
	struct h_ring rx, tx;
	char path[64];
};

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static struct vfix *vsock_up(void)
{
	struct vfix *f = calloc(1, sizeof(*f));
	struct vsock_config cfg = { .cid = 42 };

	log_level = LOG_ERROR;
	snprintf(f->path, sizeof(f->path), "/tmp/vmon-vsock-test-%d",
		 (int)getpid());
	snprintf(cfg.uds, sizeof(cfg.uds), "%s", f->path);
	h_init(&f->h);
	f->d = virtio_vsock_create(&f->h.vm, f->h.io, BASE, 5, &cfg);
	assert_non_null(f->d);
	assert_int_equal(iothread_start(f->h.io), 0);
	assert_true(h_negotiate(&f->h, BASE, all_features(f->d)) &
		    VIRTIO_STATUS_FEATURES_OK);
	h_ring_init(&f->rx, 0x1000, 16);
	h_ring_init(&f->tx, 0x2000, 16);
	h_queue(&f->h, BASE, 0, 16, f->rx.desc, f->rx.avail, f->rx.used);
	h_queue(&f->h, BASE, 1, 16, f->tx.desc, f->tx.avail, f->tx.used);
	h_driver_ok(&f->h, BASE);
	/* Four receive buffers. */
	for (uint16_t i = 0; i < 4; i++) {
		h_desc(&f->h, &f->rx, i, 0x20000 + 0x2000ULL * i, 0x2000,
		       VIRTQ_DESC_F_WRITE, 0);
		h_avail(&f->h, &f->rx, i);
	}
	return f;
}

static void vsock_down(struct vfix *f)
{
	h_fini(&f->h);
	assert_int_equal(access(f->path, F_OK), -1); /* removed */
	free(f);
}

static void send_pkt(struct vfix *f, const struct hdr *h, uint32_t buflen)
{
	uint16_t i = (uint16_t)(f->tx.avail_idx % 16);

	memcpy(h_ptr(&f->h, BUF + 0x100ULL * i), h, sizeof(*h));
	h_desc(&f->h, &f->tx, i, BUF + 0x100ULL * i, buflen, 0, 0);
	h_avail(&f->h, &f->tx, i);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void test_vsock_no_listener(void **state)
{
	struct vfix *f = vsock_up();
	struct hdr h = { 42, 2, 1000, 7777, 0, 1, 1, 0, 65536, 0 };
	uint64_t cid = 0;
	struct hdr *reply;
	uint32_t id, len;

	(void)state;
	bus_access(&f->h.vm.mmio, BASE + 0x100, &cid, 8, false);
	assert_int_equal(cid, 42);
	/* Nobody listens on PATH_7777: the guest gets RST. */
	send_pkt(f, &h, sizeof(h));
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->rx, 1, 2000));
	h_used_elem(&f->h, &f->rx, 0, &id, &len);
	assert_int_equal(len, sizeof(struct hdr));
	reply = h_ptr(&f->h, 0x20000 + 0x2000ULL * id);
	assert_int_equal(reply->op, 3); /* RST */
	assert_int_equal(reply->dst_port, 1000);
	assert_int_equal(reply->src_port, 7777);
	assert_int_equal(reply->dst_cid, 42);
	/* A packet from a foreign CID is dropped without an answer. */
	h.src_cid = 99;
	send_pkt(f, &h, sizeof(h));
	assert_true(h_wait_used(&f->h, f->d, &f->tx, 2, 2000));
	usleep(50000);
	assert_int_equal(h_used_idx(&f->h, &f->rx), 1);
	assert_false(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		     VIRTIO_STATUS_NEEDS_RESET);
	vsock_down(f);
}

static void test_vsock_echo(void **state)
{
	struct vfix *f = vsock_up();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hdr h = { 42, 2, 1000, 5000, 0, 1, 1, 0, 65536, 0 };
	int srv = socket(AF_UNIX, SOCK_STREAM, 0), c;
	char buf[64];
	uint32_t id, len;
	struct hdr *r;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_5000", f->path);
	unlink(sa.sun_path);
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv, 1), 0);
	send_pkt(f, &h, sizeof(h)); /* REQUEST */
	c = accept(srv, NULL, NULL);
	assert_true(c >= 0);
	assert_true(h_wait_used(&f->h, f->d, &f->rx, 1, 2000));
	h_used_elem(&f->h, &f->rx, 0, &id, &len);
	r = h_ptr(&f->h, 0x20000 + 0x2000ULL * id);
	assert_int_equal(r->op, 2); /* RESPONSE */
	/* Data both ways. */
	h.op = 5;
	h.len = 5;
	memcpy(h_ptr(&f->h, BUF + 0x100ULL * (f->tx.avail_idx % 16) + 44),
	       "hello", 5);
	send_pkt(f, &h, sizeof(h) + 5);
	assert_int_equal(read(c, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(c, "world!", 6), 6);
	assert_true(h_wait_used(&f->h, f->d, &f->rx, 2, 2000));
	h_used_elem(&f->h, &f->rx, 1, &id, &len);
	r = h_ptr(&f->h, 0x20000 + 0x2000ULL * id);
	assert_int_equal(r->op, 5);
	assert_int_equal(r->len, 6);
	assert_int_equal(len, sizeof(struct hdr) + 6);
	assert_memory_equal((uint8_t *)r + 44, "world!", 6);
	/* More than the advertised credit (64 KiB): connection reset. */
	h.len = 0x10000 + 1;
	memcpy(h_ptr(&f->h, 0x100000), &h, sizeof(h));
	h_desc(&f->h, &f->tx, 5, 0x100000, sizeof(h) + h.len, 0, 0);
	h_avail(&f->h, &f->tx, 5);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(h_wait_used(&f->h, f->d, &f->rx, 3, 2000));
	h_used_elem(&f->h, &f->rx, 2, &id, &len);
	r = h_ptr(&f->h, 0x20000 + 0x2000ULL * id);
	assert_int_equal(r->op, 3); /* RST */
	assert_int_equal(read(c, buf, sizeof(buf)), 0); /* host side closed */
	/* A length beyond the packet's buffers: the device needs a reset. */
	h.len = 100;
	send_pkt(f, &h, sizeof(h) + 10);
	assert_true(wait_status(&f->h, VIRTIO_STATUS_NEEDS_RESET));
	close(c);
	close(srv);
	unlink(sa.sun_path);
	vsock_down(f);
}

static void test_vsock_short_header(void **state)
{
	struct vfix *f = vsock_up();
	struct hdr h = { 42, 2, 1000, 5000, 0, 1, 5, 0, 65536, 0 };

	(void)state;
	send_pkt(f, &h, 20);
	assert_true(wait_status(&f->h, VIRTIO_STATUS_NEEDS_RESET));
	vsock_down(f);
}

/* --- console ----------------------------------------------------------- */

/* The driver side of a console: features, receive and transmit rings. */
static void console_driver_up(struct harness *h, struct virtio_dev *d,
			      struct h_ring *rx, struct h_ring *tx)
{
	assert_true(h_negotiate(h, BASE, d->host_features) &
		    VIRTIO_STATUS_FEATURES_OK);
	h_ring_init(rx, 0x1000, 16);
	h_ring_init(tx, 0x2000, 16);
	h_queue(h, BASE, 0, 16, rx->desc, rx->avail, rx->used);
	h_queue(h, BASE, 1, 16, tx->desc, tx->avail, tx->used);
	h_driver_ok(h, BASE);
}

static void test_console_pipes(void **state)
{
	struct harness h;
	struct virtio_dev *d;
	struct h_ring rx, tx;
	int in[2], out[2];
	char buf[32];
	uint32_t id, len;

	(void)state;
	log_level = LOG_ERROR;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	h_init(&h);
	d = virtio_console_create(&h.vm, h.io, BASE, 5, in[0], out[1]);
	assert_non_null(d);
	assert_int_equal(iothread_start(h.io), 0);
	/* Input typed before the driver is ready is kept. */
	assert_int_equal(write(in[1], "early", 5), 5);
	console_driver_up(&h, d, &rx, &tx);
	h_desc(&h, &rx, 0, 0x20000, 3, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&h, &rx, 0);
	h_desc(&h, &rx, 1, 0x21000, 64, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&h, &rx, 1);
	h_w32(&h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&h, d, &rx, 2, 2000));
	h_used_elem(&h, &rx, 0, &id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(h_ptr(&h, 0x20000), "ear", 3);
	h_used_elem(&h, &rx, 1, &id, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(h_ptr(&h, 0x21000), "ly", 2);
	/* Output: a chain of two buffers, in order; writable ones ignored. */
	memcpy(h_ptr(&h, 0x30000), "hello ", 6);
	memcpy(h_ptr(&h, 0x30100), "hvc0", 4);
	h_desc(&h, &tx, 0, 0x30000, 6, VIRTQ_DESC_F_NEXT, 1);
	h_desc(&h, &tx, 1, 0x30100, 4, VIRTQ_DESC_F_NEXT, 2);
	h_desc(&h, &tx, 2, 0x30200, 8, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&h, &tx, 0);
	h_w32(&h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(h_wait_used(&h, d, &tx, 1, 2000));
	assert_int_equal(read(out[0], buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "hello hvc0", 10);
	h_fini(&h);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

/*
 * An output nobody reads does not block the I/O thread (issue 13, item 2):
 * 1 MiB of transmit chains wait on the ring while input still reaches the
 * guest; once the output is read, every byte arrives, in order.
 */
static void test_console_stalled_output(void **state)
{
	enum { DATA = 0x100000, CHAIN = 256 << 10, NCHAIN = 4 };
	static uint8_t got[NCHAIN * CHAIN];
	struct harness h;
	struct virtio_dev *d;
	struct h_ring rx, tx;
	uint8_t *data;
	size_t n = 0;
	int in[2], out[2];

	(void)state;
	log_level = LOG_ERROR;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fcntl(out[1], F_SETPIPE_SZ, 4096);
	h_init(&h);
	data = h_ptr(&h, DATA);
	for (unsigned int i = 0; i < NCHAIN * CHAIN; i++)
		data[i] = (uint8_t)(i * 13 + i / 4096);
	d = virtio_console_create(&h.vm, h.io, BASE, 5, in[0], out[1]);
	assert_non_null(d);
	assert_int_equal(iothread_start(h.io), 0);
	console_driver_up(&h, d, &rx, &tx);
	for (uint16_t i = 0; i < NCHAIN; i++) {
		h_desc(&h, &tx, i, DATA + (uint64_t)i * CHAIN, CHAIN, 0, 0);
		h_avail(&h, &tx, i);
	}
	h_w32(&h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	usleep(100000);
	/* The I/O thread still serves input. */
	h_desc(&h, &rx, 0, 0x20000, 16, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&h, &rx, 0);
	assert_int_equal(write(in[1], "typed", 5), 5);
	h_w32(&h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&h, d, &rx, 1, 5000));
	assert_memory_equal(h_ptr(&h, 0x20000), "typed", 5);
	assert_true(h_used_idx(&h, &tx) < NCHAIN);
	/* Reading the output: all of it, in order, every chain used. */
	while (n < sizeof(got)) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 5000), 1);
		r = read(out[0], got + n, sizeof(got) - n);
		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_memory_equal(got, data, sizeof(got));
	assert_true(h_wait_used(&h, d, &tx, NCHAIN, 5000));
	h_fini(&h);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balloon_inflate),
		cmocka_unit_test(test_balloon_long_chain),
		cmocka_unit_test(test_balloon_reporting),
		cmocka_unit_test(test_balloon_stats),
		cmocka_unit_test(test_balloon_stats_interval),
		cmocka_unit_test(test_balloon_hinting),
		cmocka_unit_test(test_vsock_no_listener),
		cmocka_unit_test(test_vsock_echo),
		cmocka_unit_test(test_vsock_short_header),
		cmocka_unit_test(test_console_pipes),
		cmocka_unit_test(test_console_stalled_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
