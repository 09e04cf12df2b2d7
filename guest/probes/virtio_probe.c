// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio_probe.c - a guest program (the runtime, booted through the 64-bit
 * Linux entry) with the runtime's polling virtio-mmio driver (vdrv.h),
 * used by tests/integration/test_virtio_devices.py on real KVM. It finds its
 * devices from the virtio_mmio.device= entries on its command line, as
 * Linux does, and for each one:
 *   virtio-blk: checks the serial (GET_ID), reads sectors 0-7 and checks
 *     the host's pattern, writes sectors 8-15 with its own and flushes;
 *   virtio-rng: reads 64 bytes and checks they are not all zero;
 *   virtio-console: writes a line to hvc0 and expects "ping" as input;
 *   virtio-net: a UDP round trip with the host (see test_net());
 *   virtio-vsock: echo both directions (see test_vsock());
 *   virtio-balloon: inflate, free page reporting, stats (test_balloon()).
 * With "hostile" on the command line it instead hands the first device a
 * buffer outside RAM and checks the device answers with NEEDS_RESET.
 * Results go to COM1, each check as "ok: what" or "FAIL: what" (the
 * host-side test matches these lines); the number of failed checks goes
 * to isa-debug-exit (0: all passed). Runs in ring 0 (emulated on a PVM
 * host): kept small and simple.
 */
#include "rt.h"
#include "vdrv.h"

#define SECTOR 512

/* A check, printed "ok: ..." or "FAIL: ..." and counted by the runtime. */
#define expect(cond, ...) check_as("ok", cond, __VA_ARGS__)

static __attribute__((noreturn)) void finish(void)
{
	rt_puts(rt_failures ? "virtio-probe: FAILED\n" :
			      "virtio-probe: PASSED\n");
	rt_exit((uint8_t)rt_failures);
}

/* --- virtio-mmio (driver: guest/runtime/vdrv.h) -------------------------- */

/* The device's queues; qs is the one the helpers below work on. */
static struct vq queues[4], *qs = queues;
#define q (*qs)

static struct vblk_req req;
static uint8_t data[8 * SECTOR] __attribute__((aligned(4096)));

static volatile uint32_t *reg(uint64_t base, unsigned int off)
{
	return vdrv_reg(base, off);
}

static bool dev_init_f(uint64_t base, unsigned int nq, uint32_t feat)
{
	qs = &queues[0];
	return vdrv_init(base, queues, nq, feat);
}

static bool dev_init(uint64_t base, unsigned int nq)
{
	return dev_init_f(base, nq, 0);
}

/* Makes chain @head of queue qs available and kicks. */
static uint16_t submit(uint64_t base, uint16_t head)
{
	return vdrv_submit(base, qs, (unsigned int)(qs - queues), head);
}

/* Polls queue qs for the completion of what submit() returned. */
static bool wait_used(uint64_t base, uint16_t seen, uint32_t *len)
{
	return vdrv_wait(base, qs, seen, len, 5000000);
}

static bool run_chain(uint64_t base, uint16_t head, uint32_t *len)
{
	return wait_used(base, submit(base, head), len);
}

/* Gives buffer @head back to queue qs and notifies (vdrv_notify()). */
static void recycle(uint64_t base, uint16_t head)
{
	vdrv_give(qs, head);
	vdrv_notify(base, qs, (unsigned int)(qs - queues));
}

static bool blk_req(uint64_t base, uint32_t type, uint64_t sector,
		    uint32_t bytes, uint32_t *len)
{
	vdrv_blk_chain(qs, 0, &req, type, sector, data, bytes);
	return run_chain(base, 0, len) && req.status == 0;
}

static void test_blk(uint64_t base, const char *serial)
{
	uint32_t len;
	bool ok = true;

	expect(dev_init(base, 1), "blk: driver init");
	expect(blk_req(base, VBLK_T_GET_ID, 0, 20, &len) && len == 21,
	       "blk: get-id request");
	for (int i = 0; serial[i] && serial[i] != ' '; i++)
		ok &= data[i] == (uint8_t)serial[i];
	expect(ok, "blk: serial matches");
	expect(blk_req(base, VBLK_T_IN, 0, sizeof(data), &len) &&
		       len == sizeof(data) + 1,
	       "blk: read request");
	ok = true;
	for (unsigned int i = 0; i < sizeof(data); i++)
		ok &= data[i] == (uint8_t)(i / SECTOR * 7 + i % SECTOR + 1);
	expect(ok, "blk: read the host's pattern");
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)((i / SECTOR + 8) * 13 + (i % SECTOR)) ^
			  0x5a;
	expect(blk_req(base, VBLK_T_OUT, 8, sizeof(data), &len) && len == 1,
	       "blk: write request");
	expect(blk_req(base, VBLK_T_FLUSH, 0, 0, &len), "blk: flush request");
	expect(*reg(base, 0x60) & 1, "blk: interrupt status set");
	*reg(base, 0x64) = 1;
}

static void test_rng(uint64_t base)
{
	uint32_t len = 0;
	unsigned int nonzero = 0;

	expect(dev_init(base, 1), "rng: driver init");
	memset(data, 0, 64);
	q.desc[0] = (struct vq_desc){ (uintptr_t)data, 64, 2, 0 };
	expect(run_chain(base, 0, &len) && len == 64, "rng: 64 bytes");
	for (int i = 0; i < 64; i++)
		nonzero += data[i] != 0;
	expect(nonzero > 32, "rng: bytes look random");
}

static uint8_t rx[64] __attribute__((aligned(64)));

static void test_console(uint64_t base)
{
	static const char msg[] = "hello from hvc0\n";
	uint32_t len = 0;
	uint16_t seen;
	bool ok;

	expect(dev_init(base, 2), "console: driver init");
	/* A receive buffer first, then transmit. */
	memset(rx, 0, sizeof(rx));
	q.desc[0] = (struct vq_desc){ (uintptr_t)rx, sizeof(rx), 2, 0 };
	seen = submit(base, 0);
	qs = &queues[1];
	memcpy(data, msg, sizeof(msg) - 1);
	q.desc[0] = (struct vq_desc){ (uintptr_t)data, sizeof(msg) - 1, 0, 0 };
	expect(run_chain(base, 0, &len), "console: transmit");
	qs = &queues[0];
	ok = wait_used(base, seen, &len) && len >= 4;
	expect(ok, "console: received input");
	ok = ok && rx[0] == 'p' && rx[1] == 'i' && rx[2] == 'n' && rx[3] == 'g';
	expect(ok, "console: input is what the host sent");
}

/*
 * virtio-net: a UDP datagram from GUEST_IP:7000 to HOST_IP:7777 (the test
 * runs an echo server there, inside a network namespace, with a static
 * neighbour entry for the guest), then the answer must come back.
 */
static const uint8_t host_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t host_ip[4] = { 169, 254, 77, 1 };
static const uint8_t guest_ip[4] = { 169, 254, 77, 2 };
static uint8_t rxbufs[4][2048] __attribute__((aligned(64)));
static uint8_t frame[128] __attribute__((aligned(64)));

static uint16_t ip_csum(const uint8_t *p, unsigned int n)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static unsigned int build_udp(const uint8_t *mac, const char *msg)
{
	uint8_t *eth = frame + 12, *ip = eth + 14, *udp = ip + 20;
	unsigned int len = 0, iplen;
	uint16_t c;

	while (msg[len])
		len++;
	memset(frame, 0, sizeof(frame)); /* virtio_net_hdr: all zero */
	memcpy(eth, host_mac, 6);
	memcpy(eth + 6, mac, 6);
	eth[12] = 0x08;
	iplen = 20 + 8 + len;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, host_ip, 4);
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 7000 >> 8;
	udp[1] = 7000 & 0xff;
	udp[2] = 7777 >> 8;
	udp[3] = 7777 & 0xff;
	udp[5] = (uint8_t)(8 + len);
	memcpy(udp + 8, msg, len);
	return 12 + 14 + iplen;
}

static bool is_reply(const uint8_t *f, uint32_t n, const uint8_t *mac)
{
	const uint8_t *eth = f + 12, *ip = eth + 14, *udp = ip + 20;
	static const char want[] = "pong:vmon-net-ping";

	if (n < 12 + 14 + 20 + 8 + sizeof(want) - 1 || eth[12] != 8 ||
	    eth[13] != 0 || ip[9] != 17 || udp[0] != 7777 >> 8 ||
	    udp[1] != (7777 & 0xff))
		return false;
	for (int i = 0; i < 6; i++)
		if (eth[i] != mac[i])
			return false;
	for (unsigned int i = 0; i < sizeof(want) - 1; i++)
		if (udp[8 + i] != (uint8_t)want[i])
			return false;
	return true;
}

static void test_net(uint64_t base)
{
	uint8_t mac[6];
	uint32_t len = 0;
	uint16_t seen;
	bool got = false;

	expect(dev_init(base, 2), "net: driver init");
	for (int i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(base + 0x100 + i);
	expect(mac[0] == 2 && mac[5] == 2, "net: MAC from the command line");
	expect((*(volatile uint8_t *)(base + 0x106) & 1), "net: link up");
	/* Four receive buffers. */
	for (uint16_t i = 0; i < 4; i++) {
		q.desc[i] = (struct vq_desc){ (uintptr_t)rxbufs[i],
					      sizeof(rxbufs[i]), 2, 0 };
		vdrv_give(qs, i);
	}
	vdrv_kick(base, 0);
	qs = &queues[1];
	q.desc[0] = (struct vq_desc){ (uintptr_t)frame,
				      build_udp(mac, "vmon-net-ping"), 0, 0 };
	expect(run_chain(base, 0, &len), "net: frame transmitted");
	/* Frames arrive (maybe IPv6 noise first): look for the answer. */
	qs = &queues[0];
	seen = 0;
	for (int tries = 0; tries < 8 && !got; tries++) {
		uint16_t head;

		if (!wait_used(base, seen, &len))
			break;
		head = (uint16_t)q.used.ring[seen % VQ_SIZE].id;
		seen++;
		if (head < 4) {
			got = is_reply(rxbufs[head], len, mac);
			recycle(base, head); /* give the buffer back */
		}
	}
	expect(got, "net: UDP answer from the host received");
}

/*
 * virtio-vsock, both directions, with the test's Unix socket servers:
 * the guest connects to host port 5000 and expects its words echoed with
 * "echo:" in front; then it prints "vsock: waiting for host", accepts the
 * host's connection to its port 6000 and echoes what comes the same way.
 */
static uint8_t vrx[4][4096 + 44] __attribute__((aligned(64)));
static uint8_t vtx[256] __attribute__((aligned(64)));
static uint64_t my_cid;
static uint16_t vrx_seen;
static uint32_t vfwd;

static bool vsock_send(uint64_t base, uint32_t sport, uint32_t dport,
		       uint16_t op, const char *data, uint32_t len)
{
	struct vsock_hdr h = { my_cid, 2,  sport, dport, len,
			       1,      op, 0,	  65536, vfwd };
	uint32_t used;

	memcpy(vtx, &h, sizeof(h));
	memcpy(vtx + sizeof(h), data, len);
	qs = &queues[1];
	q.desc[0] = (struct vq_desc){ (uintptr_t)vtx, sizeof(h) + len, 0, 0 };
	return run_chain(base, 0, &used);
}

/* Waits for the next packet; returns its buffer (recycled next call). */
static struct vsock_hdr *vsock_recv(uint64_t base, const uint8_t **payload)
{
	static int last = -1;
	uint32_t len;
	uint16_t head;

	qs = &queues[0];
	if (last >= 0)
		recycle(base, (uint16_t)last);
	if (!wait_used(base, vrx_seen, &len))
		return NULL;
	head = (uint16_t)q.used.ring[vrx_seen % VQ_SIZE].id;
	vrx_seen++;
	if (head >= 4 || len < 44)
		return NULL;
	last = head;
	*payload = vrx[head] + 44;
	vfwd += ((struct vsock_hdr *)vrx[head])->len;
	return (struct vsock_hdr *)vrx[head];
}

static bool payload_is(const uint8_t *p, uint32_t n, const char *want)
{
	uint32_t i = 0;

	for (; want[i]; i++)
		if (i >= n || p[i] != (uint8_t)want[i])
			return false;
	return i == n;
}

static void test_vsock(uint64_t base)
{
	static char echo[80];
	struct vsock_hdr *h;
	const uint8_t *pl;
	bool ok;

	expect(dev_init(base, 3), "vsock: driver init");
	my_cid = *(volatile uint64_t *)(base + 0x100);
	expect(my_cid == 42, "vsock: guest CID 42 in config space");
	qs = &queues[0];
	for (uint16_t i = 0; i < 4; i++) {
		q.desc[i] = (struct vq_desc){ (uintptr_t)vrx[i], sizeof(vrx[i]),
					      2, 0 };
		vdrv_give(qs, i);
	}
	vdrv_kick(base, 0);

	/* Guest to host. */
	expect(vsock_send(base, 1234, 5000, 1, "", 0), "vsock: request sent");
	h = vsock_recv(base, &pl);
	expect(h && h->op == 2 && h->src_port == 5000 && h->dst_port == 1234,
	       "vsock: host accepted the connection to port 5000");
	expect(vsock_send(base, 1234, 5000, 5, "hello-from-guest", 16),
	       "vsock: data sent");
	h = vsock_recv(base, &pl);
	ok = h && h->op == 5 && payload_is(pl, h->len, "echo:hello-from-guest");
	expect(ok, "vsock: echo from the host");
	vsock_send(base, 1234, 5000, 3, "", 0);

	/* Host to guest. */
	rt_puts("vsock: waiting for host\n");
	h = vsock_recv(base, &pl);
	ok = h && h->op == 1 && h->dst_port == 6000 && h->src_cid == 2;
	expect(ok, "vsock: connection request from the host to port 6000");
	if (!ok)
		return;
	{
		uint32_t hp = h->src_port;

		vfwd = 0; /* credit counters are per connection */

		expect(vsock_send(base, 6000, hp, 2, "", 0),
		       "vsock: response sent");
		h = vsock_recv(base, &pl);
		ok = h && h->op == 5 && h->len < 64;
		expect(ok, "vsock: data from the host");
		if (!ok)
			return;
		memcpy(echo, "echo:", 5);
		memcpy(echo + 5, pl, h->len);
		expect(vsock_send(base, 6000, hp, 5, echo, 5 + h->len),
		       "vsock: echo sent");
		h = vsock_recv(base, &pl);
		expect(h && (h->op == 4 || h->op == 3),
		       "vsock: host closed the connection");
		vsock_send(base, 6000, hp, 3, "", 0);
	}
}

/*
 * virtio-balloon, with STATS_VQ and PAGE_REPORTING: touch the target
 * amount of memory at 16 MiB, say "balloon: touched" and wait for a byte
 * on COM1 (the host measures vmon's RSS); inflate it, write `actual`, say
 * "balloon: inflated" and wait; touch 8 MiB at 48 MiB, say "balloon:
 * touched again" and wait, report it free, say "balloon: reported" and
 * wait; check that an inflated page reads as zero.
 */
static uint32_t pfns[256] __attribute__((aligned(64)));
static uint8_t stats[3 * 10] __attribute__((aligned(64)));

static void touch(uint64_t gpa, uint64_t bytes)
{
	for (uint64_t a = gpa; a < gpa + bytes; a += 4096)
		*(volatile uint8_t *)a = 0x5a;
}

static void put_stat(int i, uint16_t tag, uint64_t val)
{
	memcpy(stats + 10 * i, &tag, 2);
	memcpy(stats + 10 * i + 2, &val, 8);
}

static void test_balloon(uint64_t base)
{
	uint32_t target, len;
	uint64_t at = 16ULL << 20, rep = 48ULL << 20;
	bool ok = true;

	expect(dev_init_f(base, 4, (1 << 1) | (1 << 5)),
	       "balloon: driver init (stats, reporting)");
	target = *(volatile uint32_t *)(base + 0x100);
	expect(target == 8192, "balloon: target of 32 MiB (8192 pages)");
	/* Statistics: the device keeps the buffer until it wants more. */
	put_stat(0, 4, 12345 * 4096ULL); /* MEMFREE */
	put_stat(1, 5, 60ULL << 20); /* MEMTOT */
	put_stat(2, 6, 23456 * 4096ULL); /* AVAIL */
	qs = &queues[2];
	q.desc[0] = (struct vq_desc){ (uintptr_t)stats, sizeof(stats), 0, 0 };
	submit(base, 0);

	/*
	 * A first one-page inflation warms vmon's own structures up, so the
	 * host's measurement sees only guest pages come and go.
	 */
	qs = &queues[0];
	pfns[0] = (uint32_t)(at >> 12);
	q.desc[0] = (struct vq_desc){ (uintptr_t)pfns, 4, 0, 0 };
	expect(run_chain(base, 0, &len), "balloon: warm-up inflate");
	touch(at, (uint64_t)target * 4096);
	rt_puts("balloon: touched\n");
	rt_getc();
	qs = &queues[0];
	for (uint32_t done = 0; done < target && ok; done += 256) {
		for (uint32_t i = 0; i < 256; i++)
			pfns[i] = (uint32_t)(at >> 12) + done + i;
		q.desc[0] =
			(struct vq_desc){ (uintptr_t)pfns, sizeof(pfns), 0, 0 };
		ok = run_chain(base, 0, &len);
	}
	expect(ok, "balloon: inflate requests done");
	*(volatile uint32_t *)(base + 0x104) = target;
	expect(*(volatile uint32_t *)(base + 0x104) == target,
	       "balloon: actual reads back");
	rt_puts("balloon: inflated\n");
	rt_getc();

	touch(rep, 8ULL << 20);
	rt_puts("balloon: touched again\n");
	rt_getc();
	qs = &queues[3];
	q.desc[0] = (struct vq_desc){ rep, 4ULL << 20, 1 | 2, 1 };
	q.desc[1] = (struct vq_desc){ rep + (4ULL << 20), 4ULL << 20, 2, 0 };
	expect(run_chain(base, 0, &len), "balloon: free pages reported");
	rt_puts("balloon: reported\n");
	rt_getc();
	expect(*(volatile uint8_t *)at == 0 &&
		       *(volatile uint8_t *)(rep + 4096) == 0,
	       "balloon: returned pages read as zero");
	/* Deflate: the pages are the guest's again. */
	qs = &queues[1];
	pfns[0] = (uint32_t)(at >> 12);
	q.desc[0] = (struct vq_desc){ (uintptr_t)pfns, 4, 0, 0 };
	expect(run_chain(base, 0, &len), "balloon: deflate request done");
	*(volatile uint8_t *)at = 7;
	expect(*(volatile uint8_t *)at == 7, "balloon: deflated page usable");
}

static void test_hostile(uint64_t base)
{
	uint32_t len;

	expect(dev_init(base, 1), "hostile: driver init");
	/* A writable buffer in the MMIO hole, and a chain that loops. */
	q.desc[0] = (struct vq_desc){ 0xe0000000ULL, 4096, 2, 0 };
	expect(!run_chain(base, 0, &len), "hostile: no completion");
	expect(*reg(base, 0x70) & 0x40, "hostile: device needs reset");
	expect(*reg(base, 0x60) & 2, "hostile: config interrupt raised");
	*reg(base, 0x70) = 0;
	expect(*reg(base, 0x70) == 0, "hostile: reset clears the status");
	expect(dev_init(base, 1), "hostile: device usable after reset");
}

/* --- command line ---------------------------------------------------------- */

static void probe(const char *cmdline)
{
	const char *p = cmdline, *serial = vdrv_find(cmdline, "probe.serial=");
	bool hostile = vdrv_find(cmdline, "probe.hostile");
	unsigned int n = 0;

	for (;;) {
		uint64_t base = vdrv_next_device(&p);

		if (!base)
			break;
		n++;
		printf("device at 0x%016lx\n", base);
		if (!vdrv_is_virtio(base)) {
			expect(false, "virtio-mmio magic and version 2");
			continue;
		}
		if (hostile) {
			test_hostile(base);
			return;
		}
		switch (*reg(base, 8)) {
		case 2:
			test_blk(base, serial ? serial : "");
			break;
		case 1:
			if (vdrv_find(cmdline, "probe.nonet"))
				rt_puts("net: skipped\n");
			else
				test_net(base);
			break;
		case 3:
			test_console(base);
			break;
		case 5:
			test_balloon(base);
			break;
		case 19:
			test_vsock(base);
			break;
		case 4:
			test_rng(base);
			break;
		default:
			expect(false, "known device id");
		}
	}
	expect(n > 0, "found virtio devices on the command line");
}

int main(void)
{
	const char *cmdline = rt_cmdline();

	rt_puts("virtio-probe: ");
	rt_puts(cmdline); /* not printf(): no length limit */
	rt_puts("\n");
	probe(cmdline);
	finish();
}
