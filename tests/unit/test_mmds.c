// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_mmds.c - the metadata service (src/net/mmds_*.c) with crafted
 * frames: the store (PUT, merge PATCH, size limit, JSON and IMDS
 * lookups), the HTTP side (V1, V2 tokens, 401, 404, 405, malformed and
 * oversized requests) and the ARP/IPv4/TCP responder (ARP reply,
 * handshake, a GET over TCP, FIN, RST for the unexpected, bad checksums,
 * truncated and oversized frames, a full connection table, random
 * mutations of valid frames).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/vmconfig.h"
#include "net/mmds_http.h"
#include "net/mmds_stack.h"
#include "net/mmds_store.h"
#include "net/mmds_wire.h"

#define MMDS_IP 0xa9fea9feu
#define GUEST_IP 0x0a000002u
#define SEC 1000000000ULL

static const uint8_t guest_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

/* A guest TCP frame to the MMDS; returns its length. */
static size_t guest_tcp(uint8_t *f, uint16_t sport, uint16_t dport,
			uint32_t seq, uint32_t ack, uint8_t flags,
			const char *data, size_t len)
{
	uint8_t *ip = f + 14, *t = ip + 20;
	size_t tcp_len = 20 + len;
	uint32_t sum;

	memset(f, 0, 14 + 20 + tcp_len);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	wire_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	wire_put16(ip + 2, (uint16_t)(20 + tcp_len));
	ip[8] = 64;
	ip[9] = 6;
	wire_put32(ip + 12, GUEST_IP);
	wire_put32(ip + 16, MMDS_IP);
	wire_put16(ip + 10, mmds_csum(ip, 20, 0));
	wire_put16(t, sport);
	wire_put16(t + 2, dport);
	wire_put32(t + 4, seq);
	wire_put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	wire_put16(t + 14, 65535);
	if (len) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(t + 20, data, len);
	sum = (GUEST_IP >> 16) + (GUEST_IP & 0xffff) + (MMDS_IP >> 16) +
	      (MMDS_IP & 0xffff) + 6 + (uint32_t)tcp_len;
	wire_put16(t + 16, mmds_csum(t, tcp_len, sum));
	return 14 + 20 + tcp_len;
}

static size_t guest_arp(uint8_t *f, uint32_t target, uint16_t op)
{
	uint8_t *a = f + 14;

	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	wire_put16(f + 12, 0x0806);
	wire_put16(a, 1);
	wire_put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wire_put16(a + 6, op);
	memcpy(a + 8, guest_mac, 6);
	wire_put32(a + 14, GUEST_IP);
	memset(a + 18, 0, 6);
	wire_put32(a + 24, target);
	return 14 + 28;
}

/* A TCP segment the MMDS sent, checked (checksums, addresses). */
struct reply {
	uint8_t flags;
	uint32_t seq, ack;
	size_t len;
	const uint8_t *data;
};

static bool next_reply(struct mmds_stack *s, uint8_t *buf, struct reply *r)
{
	size_t n = mmds_stack_rx(s, buf, 0), tcp_len;
	const uint8_t *ip = buf + 14, *t = ip + 20;
	uint32_t sum;

	if (!n)
		return false;
	assert_int_equal(wire_get16(buf + 12), 0x0800);
	assert_memory_equal(buf, guest_mac, 6);
	assert_int_equal(mmds_csum(ip, 20, 0), 0);
	assert_int_equal(wire_get32(ip + 12), MMDS_IP);
	assert_int_equal(wire_get32(ip + 16), GUEST_IP);
	assert_int_equal(wire_get16(ip + 2), n - 14);
	tcp_len = n - 34;
	sum = (GUEST_IP >> 16) + (GUEST_IP & 0xffff) + (MMDS_IP >> 16) +
	      (MMDS_IP & 0xffff) + 6 + (uint32_t)tcp_len;
	assert_int_equal(mmds_csum(t, tcp_len, sum), 0);
	assert_int_equal(wire_get16(t), 80);
	r->flags = t[13];
	r->seq = wire_get32(t + 4);
	r->ack = wire_get32(t + 8);
	r->data = t + (t[12] >> 4) * 4;
	r->len = n - (size_t)(r->data - buf);
	return true;
}

static void setup_store(void)
{
	json_t *j = json_loads(
		"{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1234\","
		" \"reservation-id\": \"r-1\", \"net\": {\"mac\": \"x\"},"
		" \"count\": 3}}}",
		0, NULL);
	char err[256];

	mmds_reset();
	assert_int_equal(mmds_put(j, err, sizeof(err)), 0);
	json_decref(j);
}

static void set_version(enum mmds_version v, bool imds_compat)
{
	struct mmds_config c = { .version = v,
				 .ipv4 = MMDS_IP,
				 .imds_compat = imds_compat };

	mmds_set_config(&c);
}

/* --- the store ------------------------------------------------------------ */

static void test_store_patch_limit(void **state)
{
	json_t *p = json_loads("{\"latest\": {\"meta-data\": {\"ami-id\": "
			       "\"ami-9\", \"count\": null, \"new\": {}}}}",
			       0, NULL);
	json_t *big = json_pack("{s:s}", "k", "");
	char err[256], *s;
	json_t *g;

	(void)state;
	mmds_reset();
	assert_int_equal(mmds_patch(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not initialized"));
	setup_store();
	assert_int_equal(mmds_patch(p, err, sizeof(err)), 0);
	g = mmds_get();
	s = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s,
		"{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-9\",\"net\":{\"mac\":\"x\"},\"new\":{},\"reservation-id\":\"r-1\"}}}");
	free(s);
	json_decref(g);
	/* Over the limit: refused, nothing changes. */
	mmds_set_size_limit(40);
	assert_int_equal(mmds_put(p, err, sizeof(err)), -2);
	assert_int_equal(mmds_patch(big, err, sizeof(err)), -2);
	g = mmds_get();
	assert_non_null(json_object_get(g, "latest"));
	assert_null(json_object_get(g, "k"));
	json_decref(g);
	json_decref(p);
	json_decref(big);
}

static void test_store_lookup(void **state)
{
	char *out;
	size_t len;

	(void)state;
	setup_store();
	assert_int_equal(mmds_lookup("/latest", 7, false, &out, &len),
			 MMDS_FOUND);
	assert_string_equal(out, "meta-data/");
	free(out);
	assert_int_equal(mmds_lookup("/latest/meta-data/", 18, false, &out,
				     &len),
			 MMDS_FOUND);
	assert_string_equal(out, "ami-id\ncount\nnet/\nreservation-id");
	free(out);
	assert_int_equal(mmds_lookup("/latest/meta-data/ami-id", 24, false,
				     &out, &len),
			 MMDS_FOUND);
	assert_string_equal(out, "ami-1234");
	free(out);
	assert_int_equal(mmds_lookup("/latest/meta-data/ami-id", 24, true, &out,
				     &len),
			 MMDS_FOUND);
	assert_string_equal(out, "\"ami-1234\"");
	free(out);
	assert_int_equal(mmds_lookup("/latest/meta-data/count", 23, false, &out,
				     &len),
			 MMDS_BAD_FORMAT);
	assert_int_equal(mmds_lookup("/latest/nope", 12, false, &out, &len),
			 MMDS_NOT_FOUND);
	assert_int_equal(mmds_lookup("/latest/meta-data/ami-id/x", 26, false,
				     &out, &len),
			 MMDS_NOT_FOUND);
	/* A NUL inside the path names nothing. */
	assert_int_equal(mmds_lookup("/latest\0x", 9, false, &out, &len),
			 MMDS_NOT_FOUND);
}

/*
 * The configuration object: a config file's "mmds-config" (after the
 * interfaces it names), GET /vm/config's, and back (what a snapshot
 * carries); the interfaces become the devices' mmds flags.
 */
static void test_config_round_trip(void **state)
{
	static const char doc[] =
		"{\"boot-source\": {\"kernel_image_path\": \"/etc/passwd\"},"
		" \"network-interfaces\": [{\"iface_id\": \"eth0\","
		" \"host_dev_name\": \"tap0\"}, {\"iface_id\": \"eth1\","
		" \"host_dev_name\": \"tap1\"}],"
		" \"mmds-config\": {\"version\": \"V2\","
		" \"network_interfaces\": [\"eth1\"],"
		" \"ipv4_address\": \"169.254.170.2\"}}";
	struct api_config c, d;
	struct vm_config vm;
	char err[API_ERR_MAX], *text;
	json_t *full, *m;

	(void)state;
	api_config_init(&c);
	assert_int_equal(api_config_document(&c, doc, strlen(doc), err), 0);
	full = api_config_full_json(&c);
	m = json_object_get(full, "mmds-config");
	assert_string_equal(json_string_value(json_object_get(m, "version")),
			    "V2");
	assert_string_equal(
		json_string_value(json_object_get(m, "ipv4_address")),
		"169.254.170.2");
	text = json_dumps(full, 0);
	api_config_init(&d);
	assert_int_equal(api_config_document(&d, text, strlen(text), err), 0);
	assert_memory_equal(&c.mmds, &d.mmds, sizeof(c.mmds));
	assert_int_equal(api_config_to_vm(&d, &vm, err), 0);
	assert_false(vm.nets[0].mmds);
	assert_true(vm.nets[1].mmds);
	free(text);
	json_decref(full);
	api_config_free(&c);
	api_config_free(&d);
	/* An interface that does not exist: the whole document refused. */
	api_config_init(&c);
	text = strdup(doc);
	memcpy(strstr(text, "[\"eth1\"]"), "[\"eth9\"]", 8);
	assert_int_equal(api_config_document(&c, text, strlen(text), err), -1);
	assert_non_null(strstr(err, "does not correspond"));
	free(text);
	api_config_free(&c);
}

/* --- HTTP ----------------------------------------------------------------- */

static unsigned int http(const char *req, uint64_t now, char **body)
{
	struct mmds_http_resp r;
	ssize_t n = mmds_http_handle(req, strlen(req), now, &r);
	unsigned int st;
	char *b;

	assert_int_equal(n, strlen(req));
	st = r.status;
	b = memmem(r.data, r.len, "\r\n\r\n", 4);
	assert_non_null(b);
	if (body) {
		*body = strndup(b + 4, r.len - (size_t)(b + 4 - r.data));
	}
	free(r.data);
	return st;
}

static void test_http_v1(void **state)
{
	struct mmds_http_resp r;
	char *b;

	(void)state;
	setup_store();
	set_version(MMDS_V1, false);
	assert_int_equal(http("GET /latest/meta-data/ami-id HTTP/1.1\r\n"
			      "Host: 169.254.169.254\r\n\r\n",
			      0, &b),
			 200);
	assert_string_equal(b, "ami-1234");
	free(b);
	assert_int_equal(http("GET /latest/meta-data HTTP/1.1\r\n"
			      "Accept: application/json\r\n\r\n",
			      0, &b),
			 200);
	assert_non_null(strstr(b, "\"ami-id\":\"ami-1234\""));
	free(b);
	assert_int_equal(http("GET /latest/x HTTP/1.1\r\n\r\n", 0, NULL), 404);
	assert_int_equal(http("GET /latest/meta-data/count HTTP/1.1\r\n\r\n", 0,
			      NULL),
			 501);
	assert_int_equal(http("POST /latest HTTP/1.1\r\n\r\n", 0, NULL), 405);
	assert_int_equal(http("GET latest HTTP/1.1\r\n\r\n", 0, NULL), 400);
	assert_int_equal(http("GET / HTTP/2.0\r\n\r\n", 0, NULL), 400);
	assert_int_equal(http("GET / HTTP/1.1\r\nbad header\r\n\r\n", 0, NULL),
			 400);
	assert_int_equal(http("GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
			      0, NULL),
			 413);
	/* Incomplete: wait for more; endless headers: refused. */
	assert_int_equal(mmds_http_handle("GET / HTTP/1.1\r\n", 16, 0, &r), 0);
	b = malloc(MMDS_HTTP_MAX_REQUEST);
	memset(b, 'a', MMDS_HTTP_MAX_REQUEST);
	assert_int_equal(mmds_http_handle(b, MMDS_HTTP_MAX_REQUEST, 0, &r),
			 MMDS_HTTP_MAX_REQUEST);
	assert_int_equal(r.status, 413);
	assert_true(r.close);
	free(r.data);
	free(b);
}

static void test_http_v2(void **state)
{
	char req[256], *tok;

	(void)state;
	setup_store();
	set_version(MMDS_V2, false);
	assert_int_equal(http("GET /latest HTTP/1.1\r\n\r\n", 0, NULL), 401);
	assert_int_equal(http("GET /latest HTTP/1.1\r\nX-metadata-token: "
			      "abc\r\n\r\n",
			      0, NULL),
			 401);
	assert_int_equal(
		http("PUT /latest/api/token HTTP/1.1\r\n\r\n", 0, NULL), 400);
	assert_int_equal(http("PUT /latest/api/token HTTP/1.1\r\n"
			      "X-metadata-token-ttl-seconds: 0\r\n\r\n",
			      0, NULL),
			 400);
	assert_int_equal(http("PUT /latest/api/token HTTP/1.1\r\n"
			      "X-metadata-token-ttl-seconds: 21601\r\n\r\n",
			      0, NULL),
			 400);
	assert_int_equal(http("PUT /latest/api/token HTTP/1.1\r\n"
			      "X-metadata-token-ttl-seconds: 5\r\n"
			      "X-Forwarded-For: 1.2.3.4\r\n\r\n",
			      0, NULL),
			 400);
	assert_int_equal(http("PUT /latest/api/token HTTP/1.1\r\n"
			      "x-aws-ec2-metadata-token-ttl-seconds: 5\r\n\r\n",
			      10 * SEC, &tok),
			 200);
	assert_int_equal(strlen(tok), MMDS_TOKEN_LEN);
	snprintf(req, sizeof(req),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\n"
		 "X-metadata-token: %s\r\n\r\n",
		 tok);
	assert_int_equal(http(req, 12 * SEC, NULL), 200);
	/* Expired after its 5 s. */
	assert_int_equal(http(req, 16 * SEC, NULL), 401);
	free(tok);
	/* imds_compat: text whatever the Accept header says. */
	set_version(MMDS_V1, true);
	assert_int_equal(http("GET /latest HTTP/1.1\r\n"
			      "Accept: application/json\r\n\r\n",
			      0, &tok),
			 200);
	assert_string_equal(tok, "meta-data/");
	free(tok);
}

/* --- the responder -------------------------------------------------------- */

static void test_arp(void **state)
{
	struct mmds_stack *s = mmds_stack_new(MMDS_IP);
	uint8_t f[128], out[MMDS_FRAME_MAX];
	const uint8_t mac[6] = MMDS_MAC;
	struct mmds_stats before, after;
	size_t n;

	(void)state;
	mmds_stats_total(&before);
	/* Someone else's address: for the tap. */
	n = guest_arp(f, 0x0a000001, 1);
	assert_false(mmds_stack_tx(s, f, n, n, 0, 0));
	n = guest_arp(f, MMDS_IP, 1);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	n = mmds_stack_rx(s, out, 0);
	assert_int_equal(n, 42);
	assert_memory_equal(out, guest_mac, 6);
	assert_int_equal(wire_get16(out + 14 + 6), 2);
	assert_memory_equal(out + 14 + 8, mac, 6);
	assert_int_equal(wire_get32(out + 14 + 14), MMDS_IP);
	assert_int_equal(wire_get32(out + 14 + 24), GUEST_IP);
	/* A reply to the MMDS's address is taken but not answered. */
	n = guest_arp(f, MMDS_IP, 2);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_false(mmds_stack_has_rx(s));
	/* The metrics' totals count every responder's frames. */
	mmds_stats_total(&after);
	assert_int_equal(after.rx_accepted - before.rx_accepted, 2);
	assert_int_equal(after.rx_accepted_unusual - before.rx_accepted_unusual,
			 1);
	assert_int_equal(after.tx_frames - before.tx_frames, 1);
	assert_int_equal(after.tx_bytes - before.tx_bytes, 42);
	mmds_stack_free(s);
}

/* Opens a connection from @port; returns the MMDS's next sequence number. */
static uint32_t handshake(struct mmds_stack *s, uint16_t port, uint32_t iss)
{
	uint8_t f[256], out[MMDS_FRAME_MAX];
	struct reply r;
	size_t n = guest_tcp(f, port, 80, iss, 0, 0x02, NULL, 0);

	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags, 0x12); /* SYN-ACK */
	assert_int_equal(r.ack, iss + 1);
	n = guest_tcp(f, port, 80, iss + 1, r.seq + 1, 0x10, NULL, 0);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_false(mmds_stack_has_rx(s));
	return r.seq + 1;
}

static void test_tcp_get(void **state)
{
	const char *req = "GET /latest/meta-data/ami-id HTTP/1.1\r\n"
			  "Connection: close\r\n\r\n";
	struct mmds_stack *s = mmds_stack_new(MMDS_IP);
	uint8_t f[512], out[MMDS_FRAME_MAX];
	uint32_t seq, gseq = 1001 + (uint32_t)strlen(req);
	struct mmds_stats st;
	char body[2048] = "";
	size_t n, got = 0;
	struct reply r;
	bool fin = false;

	(void)state;
	setup_store();
	set_version(MMDS_V1, false);
	seq = handshake(s, 40000, 1000);
	n = guest_tcp(f, 40000, 80, 1001, seq, 0x18, req, strlen(req));
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	while (next_reply(s, out, &r)) {
		assert_int_equal(r.ack, gseq);
		if (r.len) {
			assert_int_equal(r.seq, seq + got);
			memcpy(body + got, r.data, r.len);
			got += r.len;
		}
		fin |= r.flags & 0x01;
	}
	assert_true(fin);
	assert_non_null(strstr(body, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(body, "\r\n\r\nami-1234"));
	/* The guest acknowledges everything and closes its side. */
	n = guest_tcp(f, 40000, 80, gseq, seq + (uint32_t)got + 1, 0x11, NULL,
		      0);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags, 0x10);
	assert_int_equal(r.ack, gseq + 1);
	mmds_stack_stats(s, &st);
	assert_int_equal(st.connections_created, 1);
	assert_int_equal(st.connections_destroyed, 1);
	assert_int_equal(st.rx_accepted_err, 0);
	/* The connection is gone: a late segment gets a reset. */
	n = guest_tcp(f, 40000, 80, gseq + 1, seq + (uint32_t)got + 1, 0x10,
		      NULL, 0);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags & 0x04, 0x04);
	mmds_stack_free(s);
}

static void test_tcp_hostile(void **state)
{
	struct mmds_stack *s = mmds_stack_new(MMDS_IP);
	uint8_t f[2048], out[MMDS_FRAME_MAX];
	char big[1500]; /* a payload apart from the frame it is copied into */
	struct mmds_stats st;
	struct reply r;
	uint32_t seq;
	size_t n;

	(void)state;
	setup_store();
	set_version(MMDS_V1, false);
	/* Another port: reset. */
	n = guest_tcp(f, 1, 22, 5, 0, 0x02, NULL, 0);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags, 0x14);
	/* A bad TCP checksum, a bad IP checksum, a truncated header. */
	n = guest_tcp(f, 2, 80, 5, 0, 0x02, NULL, 0);
	f[50] ^= 1;
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	/* ... but a partial checksum (offload) is not checked. */
	assert_true(mmds_stack_tx(s, f, n, n, MMDS_TX_PARTIAL_CSUM, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags, 0x12);
	n = guest_tcp(f, 3, 80, 5, 0, 0x02, NULL, 0);
	f[14 + 8] = 1; /* TTL changed, checksum not */
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(mmds_stack_tx(s, f, 40, 40, 0, 0));
	f[14 + 2] = 0xff; /* total length past the frame */
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	/* Oversized or GSO frames towards the MMDS: dropped. */
	n = guest_tcp(f, 4, 80, 5, 0, 0x02, NULL, 0);
	assert_true(mmds_stack_tx(s, f, n, 60000, 0, 0));
	assert_true(mmds_stack_tx(s, f, n, n, MMDS_TX_GSO, 0));
	assert_false(mmds_stack_has_rx(s));
	mmds_stack_stats(s, &st);
	assert_int_equal(st.rx_accepted_err, 4);
	assert_int_equal(st.rx_bad_eth, 2);
	/* Data past the receive window: reset. */
	seq = handshake(s, 5, 100);
	memset(big, 'G', sizeof(big));
	n = guest_tcp(f, 5, 80, 101, seq, 0x10, big, 1400);
	for (int i = 0; i < 3; i++) {
		assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
		while (next_reply(s, out, &r))
			;
		n = guest_tcp(f, 5, 80, 101 + 1400 * (i + 1), seq, 0x10, big,
			      1400);
	}
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags & 0x04, 0x04);
	/* An ACK of data never sent: re-ACKed, not taken. */
	seq = handshake(s, 6, 100);
	n = guest_tcp(f, 6, 80, 101, seq + 5000, 0x10, "x", 1);
	assert_true(mmds_stack_tx(s, f, n, n, 0, 0));
	assert_true(next_reply(s, out, &r));
	assert_int_equal(r.flags, 0x10);
	assert_int_equal(r.ack, 101);
	mmds_stack_free(s);
}

static void test_conn_table(void **state)
{
	struct mmds_stack *s = mmds_stack_new(MMDS_IP);
	uint8_t f[256], out[MMDS_FRAME_MAX];
	struct mmds_stats st;
	struct reply r;
	size_t n;

	(void)state;
	/* More connections than the table holds: the oldest are reset. */
	for (uint16_t p = 1; p <= 3 * MMDS_MAX_CONNS; p++) {
		n = guest_tcp(f, p, 80, 7, 0, 0x02, NULL, 0);
		assert_true(mmds_stack_tx(s, f, n, n, 0, p));
		while (next_reply(s, out, &r))
			;
	}
	mmds_stack_stats(s, &st);
	assert_int_equal(st.connections_created, 3 * MMDS_MAX_CONNS);
	assert_int_equal(st.connections_destroyed, 2 * MMDS_MAX_CONNS);
	mmds_stack_free(s);
}

/* Random mutations of valid frames: never a crash, every reply sane. */
static void test_mutations(void **state)
{
	const char *req = "GET /latest HTTP/1.1\r\n\r\n";
	struct mmds_stack *s = mmds_stack_new(MMDS_IP);
	uint8_t f[512], out[MMDS_FRAME_MAX];
	uint32_t rnd = 12345;
	struct reply r;

	(void)state;
	setup_store();
	for (int i = 0; i < 20000; i++) {
		size_t n = i % 3 ? guest_tcp(f, (uint16_t)(i % 7), 80,
					     (uint32_t)i, 0,
					     (uint8_t)(i % 5 ? 0x18 : 0x02),
					     req, strlen(req)) :
				   guest_arp(f, MMDS_IP, 1);

		for (int k = 0; k < 1 + i % 4; k++) {
			rnd = rnd * 1103515245u + 12345u;
			f[(rnd >> 8) % n] ^= (uint8_t)(rnd >> 20);
		}
		rnd = rnd * 1103515245u + 12345u;
		mmds_stack_tx(s, f, n - (rnd >> 16) % 8, n - (rnd >> 16) % 8,
			      (rnd >> 12) & 1, (uint64_t)i);
		while (mmds_stack_has_rx(s)) {
			size_t m = mmds_stack_rx(s, out, 0);

			assert_true(m >= 42 && m <= MMDS_FRAME_MAX);
		}
	}
	(void)r;
	mmds_stack_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_patch_limit),
		cmocka_unit_test(test_store_lookup),
		cmocka_unit_test(test_config_round_trip),
		cmocka_unit_test(test_http_v1),
		cmocka_unit_test(test_http_v2),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_tcp_get),
		cmocka_unit_test(test_tcp_hostile),
		cmocka_unit_test(test_conn_table),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
