// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmds_probe.c - a guest program (the runtime, booted through the 64-bit
 * Linux entry) that talks to vmon's metadata service over its first
 * virtio-net device with the runtime's polling driver (vdrv.h), as
 * tests/integration/test_mmds.py sets it up: an ARP request for
 * 169.254.169.254, then HTTP requests over a minimal TCP client (one
 * connection each: SYN, request, the response up to the server's FIN,
 * FIN). With "mmds.v2" on the command line it expects V2: 401 without a
 * token, a token from PUT /latest/api/token, the value with it; else V1:
 * the value without a token, 404 for a missing path. A SYN to another
 * port of the address must be reset by vmon. Before those, broken and
 * oversized frames to the address and a request as large as the
 * responder's limit (test_hostile()) must leave vmon answering. Results go to COM1 as
 * "ok: what" or "FAIL: what"; the failure count to isa-debug-exit.
 */
#include "rt.h"
#include "vdrv.h"

#define expect(cond, ...) check_as("ok", cond, __VA_ARGS__)

#define HDR 12 /* virtio_net_hdr */
#define POLLS 5000000
#define CHUNK 1400 /* TCP payload per segment */

static struct vq queues[2];
static uint8_t rxbufs[4][2048] __attribute__((aligned(64)));
static uint8_t tx[2048] __attribute__((aligned(64)));
static uint8_t frame[2048];
static uint16_t rx_seen;
static uint64_t base;
static uint8_t mac[6], server_mac[6];
static const uint8_t guest_ip[4] = { 169, 254, 1, 2 };
static const uint8_t mmds_ip[4] = { 169, 254, 169, 254 };
static uint16_t port = 40000;
static char resp[4096];
static char big[4097]; /* the responder's 4 KiB, its window */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

static uint16_t csum(const uint8_t *p, unsigned int n, uint32_t sum)
{
	for (unsigned int i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool transmit(unsigned int len)
{
	uint32_t used;
	uint16_t seen;

	queues[1].desc[0] = (struct vq_desc){ (uintptr_t)tx, len, 0, 0 };
	seen = vdrv_submit(base, &queues[1], 1, 0);
	return vdrv_wait(base, &queues[1], seen, &used, POLLS);
}

/* The next received frame (without the header) in frame[]; its length. */
static uint32_t receive(void)
{
	uint32_t len;
	uint16_t head;

	if (!vdrv_wait(base, &queues[0], rx_seen, &len, POLLS))
		return 0;
	head = (uint16_t)queues[0].used.ring[rx_seen % VQ_SIZE].id;
	rx_seen++;
	if (head >= 4 || len <= HDR || len > sizeof(rxbufs[0]))
		return 0;
	memcpy(frame, rxbufs[head] + HDR, len - HDR);
	vdrv_give(&queues[0], head);
	vdrv_kick(base, 0);
	return len - HDR;
}

static void test_arp(void)
{
	uint8_t *e = tx + HDR, *a = e + 14;
	bool got = false;

	memset(tx, 0, sizeof(tx));
	memset(e, 0xff, 6);
	memcpy(e + 6, mac, 6);
	put16(e + 12, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, guest_ip, 4);
	memcpy(a + 24, mmds_ip, 4);
	expect(transmit(HDR + 42), "mmds: ARP request transmitted");
	for (int i = 0; i < 8 && !got; i++) {
		uint32_t n = receive();

		if (n >= 42 && get16(frame + 12) == 0x0806 &&
		    get16(frame + 20) == 2 && !memcmp(frame + 28, mmds_ip, 4)) {
			memcpy(server_mac, frame + 22, 6);
			got = true;
		}
	}
	expect(got, "mmds: ARP reply for 169.254.169.254");
	expect(server_mac[0] == 6 && server_mac[5] == 1,
	       "mmds: the MMDS MAC address");
}

/* Builds in tx[] a TCP segment from @port to @dport; its length. */
static unsigned int build_segment(uint16_t dport, uint32_t seq, uint32_t ack,
				  uint8_t flags, const char *data,
				  unsigned int len)
{
	uint8_t *e = tx + HDR, *ip = e + 14, *t = ip + 20;
	uint32_t sum;

	memset(tx, 0, HDR + 54);
	memcpy(e, server_mac, 6);
	memcpy(e + 6, mac, 6);
	put16(e + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 40 + len);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, mmds_ip, 4);
	put16(ip + 10, csum(ip, 20, 0));
	put16(t, port);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 8192);
	memcpy(t + 20, data, len);
	sum = get16(guest_ip) + get16(guest_ip + 2) + get16(mmds_ip) +
	      get16(mmds_ip + 2) + 6 + 20 + len;
	put16(t + 16, csum(t, 20 + len, sum));
	return HDR + 54 + len;
}

/* Sends a TCP segment from @port to @dport. */
static bool segment(uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		    const char *data, unsigned int len)
{
	return transmit(build_segment(dport, seq, ack, flags, data, len));
}

/* The next TCP segment to our port: flags, or -1 after 16 frames. */
static int next_segment(uint32_t *seq, uint32_t *ack, const uint8_t **data,
			uint32_t *len)
{
	for (int i = 0; i < 16; i++) {
		uint32_t n = receive();
		const uint8_t *t = frame + 34;

		if (n < 54 || get16(frame + 12) != 0x0800 || frame[23] != 6 ||
		    get16(t + 2) != port)
			continue;
		*seq = get32(t + 4);
		*ack = get32(t + 8);
		*data = t + (t[12] >> 4) * 4;
		*len = n - (uint32_t)(*data - frame);
		return t[13];
	}
	return -1;
}

/* One request on a new connection; the response in resp[] (NUL-ended). */
static bool http(const char *req)
{
	uint32_t seq, ack, len, iss = 1000u * port, rcv, got = 0;
	const uint8_t *data;
	int f;

	port++;
	if (!segment(80, iss, 0, 0x02, "", 0))
		return false;
	f = next_segment(&seq, &ack, &data, &len);
	if (f != 0x12 || ack != iss + 1)
		return false;
	rcv = seq + 1;
	/* In segments of at most CHUNK bytes, without waiting for ACKs. */
	for (uint32_t off = 0, n = (uint32_t)strlen(req); off < n; off += CHUNK)
		if (!segment(80, iss + 1 + off, rcv, 0x18, req + off,
			     n - off < CHUNK ? n - off : CHUNK))
			return false;
	for (;;) {
		f = next_segment(&seq, &ack, &data, &len);
		if (f < 0 || (f & 0x04))
			return false;
		if (seq == rcv && len && got + len < sizeof(resp)) {
			memcpy(resp + got, data, len);
			got += len;
			rcv += len;
		}
		if (f & 0x01) {
			rcv++;
			resp[got] = 0;
			return segment(80, iss + 1 + (uint32_t)strlen(req), rcv,
				       0x11, "", 0);
		}
		if (len && !segment(80, iss + 1 + (uint32_t)strlen(req), rcv,
				    0x10, "", 0))
			return false;
	}
}

static const char *body(void)
{
	for (const char *p = resp; *p; p++)
		if (!strncmp(p, "\r\n\r\n", 4))
			return p + 4;
	return "";
}

static bool status_is(const char *code)
{
	return !strncmp(resp, "HTTP/1.1 ", 9) && !strncmp(resp + 9, code, 3);
}

static void test_v1(void)
{
	expect(http("GET /latest/meta-data/ami-id HTTP/1.1\r\n"
		    "Connection: close\r\n\r\n") &&
		       status_is("200") && !strcmp(body(), "ami-vmon"),
	       "mmds: V1 GET without a token");
	expect(http("GET /latest/nothing HTTP/1.1\r\nConnection: close\r\n\r\n") &&
		       status_is("404"),
	       "mmds: V1 GET of a missing path: 404");
}

static void test_v2(void)
{
	char req[256];
	char tok[64];

	expect(http("GET /latest/meta-data/ami-id HTTP/1.1\r\n"
		    "Connection: close\r\n\r\n") &&
		       status_is("401"),
	       "mmds: V2 GET without a token: 401");
	expect(http("PUT /latest/api/token HTTP/1.1\r\n"
		    "X-metadata-token-ttl-seconds: 60\r\n"
		    "Connection: close\r\n\r\n") &&
		       status_is("200") && strlen(body()) == 44,
	       "mmds: V2 token PUT");
	memcpy(tok, body(), 45);
	snprintf(req, sizeof(req),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\n"
		 "X-metadata-token: %s\r\nConnection: close\r\n\r\n",
		 tok);
	expect(http(req) && status_is("200") && !strcmp(body(), "ami-vmon"),
	       "mmds: V2 GET with the token");
	snprintf(req, sizeof(req),
		 "GET /latest/meta-data/ HTTP/1.1\r\n"
		 "X-metadata-token: %s\r\nConnection: close\r\n\r\n",
		 tok);
	expect(http(req) && status_is("200") &&
		       !strcmp(body(), "ami-id\nplacement/"),
	       "mmds: V2 IMDS listing");
}

/*
 * Frames to the metadata address that are broken one way each (from a
 * valid SYN to port 80), then oversized ones (2048 bytes, a 32 KiB chain
 * of descriptors): vmon drops them; a SYN to another address goes to
 * the tap (the host test counts it); then 4 KiB of a request without the
 * end of its header (all the responder takes) gets 413, and a normal
 * request still gets its answer.
 */
static void test_hostile(void)
{
	uint8_t *ip = tx + HDR + 14, *t = ip + 20;
	bool sent = true;
	uint16_t seen;
	uint32_t used;

	port++;
	for (int c = 0; c < 8; c++) {
		unsigned int len = build_segment(80, 7, 0, 0x02, "", 0);

		if (c == 0) /* an IP header of 60 bytes in a 34-byte frame */
			ip[0] = 0x4f, len = HDR + 34;
		else if (c == 1) /* an IP length beyond the frame */
			put16(ip + 2, 60000);
		else if (c == 2) /* a TCP header beyond the segment */
			t[12] = 15 << 4;
		else if (c == 3) /* a bad TCP checksum */
			t[16] ^= 0xff;
		else if (c == 4) /* UDP */
			ip[9] = 17;
		else if (c == 5) /* a fragment */
			put16(ip + 6, 0x2000);
		else if (c == 6) /* segmentation asked (gso_type TCPv4) */
			tx[1] = 1;
		else /* 2048 bytes: over the 1514 of a frame */
			len = sizeof(tx);
		sent &= transmit(len);
	}
	for (uint16_t i = 0; i < VQ_SIZE; i++) {
		uint16_t flags = i + 1 < VQ_SIZE ? VQ_DESC_F_NEXT : 0;

		queues[1].desc[i] = (struct vq_desc){ (uintptr_t)tx, sizeof(tx),
						      flags,
						      (uint16_t)(i + 1) };
	}
	seen = vdrv_submit(base, &queues[1], 1, 0);
	sent &= vdrv_wait(base, &queues[1], seen, &used, POLLS);
	/* One SYN to another address: the tap's, not the MMDS's. */
	build_segment(80, 7, 0, 0x02, "", 0);
	ip[19] = 1; /* 169.254.169.1 */
	sent &= transmit(HDR + 54);
	expect(sent, "mmds: malformed and oversized frames transmitted");
	memcpy(big, "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-a: ", 44);
	memset(big + 44, 'a', sizeof(big) - 45);
	expect(http(big) && status_is("413"),
	       "mmds: 4 KiB of request without its end: 413");
	expect(http("GET /latest/meta-data/ami-id HTTP/1.1\r\n"
		    "Connection: close\r\n\r\n") &&
		       (status_is("200") || status_is("401")),
	       "mmds: vmon still answers after them");
}

static void test_other_port(void)
{
	uint32_t seq, ack, len;
	const uint8_t *data;

	port++;
	expect(segment(22, 5, 0, 0x02, "", 0) &&
		       next_segment(&seq, &ack, &data, &len) == 0x14,
	       "mmds: another port of the address is reset by vmon");
}

int main(void)
{
	const char *cmdline = rt_cmdline();

	rt_puts("mmds-probe: ");
	rt_puts(cmdline);
	rt_puts("\n");
	base = vdrv_find_device(cmdline, 1);
	expect(base != 0, "mmds: a virtio-net device");
	if (base && vdrv_init(base, queues, 2, 0)) {
		for (int i = 0; i < 6; i++)
			mac[i] = *(volatile uint8_t *)(base + VMMIO_CONFIG + i);
		for (uint16_t i = 0; i < 4; i++) {
			queues[0].desc[i] =
				(struct vq_desc){ (uintptr_t)rxbufs[i],
						  sizeof(rxbufs[i]),
						  VQ_DESC_F_WRITE, 0 };
			vdrv_give(&queues[0], i);
		}
		vdrv_kick(base, 0);
		test_arp();
		test_hostile();
		if (vdrv_find(cmdline, "mmds.v2"))
			test_v2();
		else
			test_v1();
		test_other_port();
	}
	rt_puts(rt_failures ? "mmds-probe: FAILED\n" : "mmds-probe: PASSED\n");
	rt_exit((uint8_t)rt_failures);
}
