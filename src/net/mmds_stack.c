// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmds_stack.c - the metadata service's ARP/IPv4/TCP responder on one
 * interface (mmds_stack.h): frame checks, ARP replies, a small TCP state
 * machine (SYN/SYN-ACK, in-order data, ACK, FIN, RST on anything it does
 * not expect; a bounded table of connections with bounded buffers) and
 * the frames it sends back. HTTP is mmds_http.c's.
 */
#include "mmds_stack.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "mmds_http.h"
#include "mmds_wire.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_HLEN 20
#define TCP_HLEN 20
#define IPPROTO_TCP_ 6
#define HTTP_PORT 80

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define CTRL_SLOTS 32
#define CTRL_FRAME 64 /* ARP (42) or a TCP header with MSS (58) */
#define DEFAULT_MSS 536
#define MAX_MSS (MMDS_FRAME_MAX - ETH_HLEN - IP_HLEN - TCP_HLEN)

enum conn_state { C_FREE, C_SYN_RCVD, C_ESTABLISHED };

struct conn {
	enum conn_state state;
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt;
	uint32_t wnd; /* the guest's receive window */
	uint16_t mss;
	bool peer_fin, fin_sent, close_after;
	uint64_t last_ns;
	size_t req_len;
	char req[MMDS_HTTP_MAX_REQUEST];
	char *resp; /* the response in flight: sequence numbers from resp_seq */
	size_t resp_len;
	uint32_t resp_seq;
};

/* A parsed TCP segment from the guest. */
struct seg {
	const uint8_t *eth_src;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd, mss;
	const uint8_t *data;
	size_t len;
};

struct mmds_stack {
	uint32_t ip;
	uint16_t ip_id;
	uint32_t iss_seed;
	struct mmds_stats st;
	unsigned int ctrl_head, ctrl_count;
	uint16_t ctrl_len[CTRL_SLOTS];
	uint8_t ctrl[CTRL_SLOTS][CTRL_FRAME];
	struct conn conns[MMDS_MAX_CONNS];
};

static const uint8_t mmds_mac[6] = MMDS_MAC;

/* Every responder's counts together, for the metrics (any thread reads). */
static struct mmds_stats total;

/* Adds @n to counter @off of @s and of the total. */
static void count(struct mmds_stack *s, size_t off, uint64_t n)
{
	*(uint64_t *)((char *)&s->st + off) += n;
	__atomic_fetch_add((uint64_t *)((char *)&total + off), n,
			   __ATOMIC_RELAXED);
}

#define COUNT(s, field, n) count(s, offsetof(struct mmds_stats, field), n)

void mmds_stats_total(struct mmds_stats *out)
{
	const uint64_t *from = (const uint64_t *)&total;
	uint64_t *to = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(total) / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

uint16_t mmds_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;

	for (; len > 1; p += 2, len -= 2)
		s += wire_get16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The TCP pseudo-header's sum. */
static uint32_t pseudo_sum(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       IPPROTO_TCP_ + (uint32_t)tcp_len;
}

struct mmds_stack *mmds_stack_new(uint32_t ipv4)
{
	struct mmds_stack *s = calloc(1, sizeof(*s));

	if (s) {
		s->ip = ipv4;
		s->iss_seed = (uint32_t)(uintptr_t)s * 2654435761u;
	}
	return s;
}

void mmds_stack_free(struct mmds_stack *s)
{
	if (!s)
		return;
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		free(s->conns[i].resp);
	free(s);
}

void mmds_stack_stats(const struct mmds_stack *s, struct mmds_stats *out)
{
	*out = s->st;
}

/* --- frames to the guest ------------------------------------------------ */

/* Queues a small frame for the guest; counted as lost when full. */
static void ctrl_push(struct mmds_stack *s, const uint8_t *f, size_t len)
{
	unsigned int i;

	if (s->ctrl_count == CTRL_SLOTS || len > CTRL_FRAME) {
		COUNT(s, tx_errors, 1);
		return;
	}
	i = (s->ctrl_head + s->ctrl_count++) % CTRL_SLOTS;
	s->ctrl_len[i] = (uint16_t)len;
	memcpy(s->ctrl[i], f, len);
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, mmds_mac, 6);
	wire_put16(f + 12, type);
}

/* Writes an IPv4 + TCP frame to @f; returns its length. */
static size_t tcp_frame(struct mmds_stack *s, uint8_t *f, const uint8_t *mac,
			uint32_t dst, uint16_t dport, uint32_t seq,
			uint32_t ack, uint8_t flags, uint16_t wnd,
			const void *data, size_t len, uint16_t mss)
{
	size_t opt = mss ? 4 : 0, tcp_len = TCP_HLEN + opt + len;
	uint8_t *ip = f + ETH_HLEN, *t = ip + IP_HLEN;

	eth_header(f, mac, ETH_P_IP);
	memset(ip, 0, IP_HLEN + TCP_HLEN + opt);
	ip[0] = 0x45;
	wire_put16(ip + 2, (uint16_t)(IP_HLEN + tcp_len));
	wire_put16(ip + 4, s->ip_id++);
	ip[6] = 0x40; /* don't fragment */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	wire_put32(ip + 12, s->ip);
	wire_put32(ip + 16, dst);
	wire_put16(ip + 10, mmds_csum(ip, IP_HLEN, 0));
	wire_put16(t, HTTP_PORT);
	wire_put16(t + 2, dport);
	wire_put32(t + 4, seq);
	wire_put32(t + 8, ack);
	t[12] = (uint8_t)(((TCP_HLEN + opt) / 4) << 4);
	t[13] = flags;
	wire_put16(t + 14, wnd);
	if (mss) {
		t[20] = 2;
		t[21] = 4;
		wire_put16(t + 22, mss);
	}
	if (len)
		memcpy(t + TCP_HLEN + opt, data, len);
	wire_put16(t + 16,
		   mmds_csum(t, tcp_len, pseudo_sum(s->ip, dst, tcp_len)));
	return ETH_HLEN + IP_HLEN + tcp_len;
}

static uint16_t rcv_wnd(const struct conn *c)
{
	return (uint16_t)(sizeof(c->req) - c->req_len);
}

/* Queues a segment without data for @c (SYN-ACK, ACK, RST). */
static void ctrl_tcp(struct mmds_stack *s, const struct conn *c, uint32_t seq,
		     uint8_t flags)
{
	uint8_t f[CTRL_FRAME];
	size_t n = tcp_frame(s, f, c->mac, c->ip, c->port, seq, c->rcv_nxt,
			     flags, rcv_wnd(c), NULL, 0,
			     flags & TH_SYN ? MAX_MSS : 0);

	ctrl_push(s, f, n);
}

/* A reset for a segment that belongs to no connection (RFC 793, 3.4). */
static void reset_for(struct mmds_stack *s, const struct seg *g)
{
	struct conn tmp = { .ip = g->src, .port = g->sport };
	uint32_t seq = 0;
	uint8_t flags = TH_RST;

	if (g->flags & TH_RST)
		return;
	memcpy(tmp.mac, g->eth_src, 6);
	if (g->flags & TH_ACK) {
		seq = g->ack;
	} else {
		flags |= TH_ACK;
		tmp.rcv_nxt = g->seq + (uint32_t)g->len +
			      !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
	}
	tmp.req_len = sizeof(tmp.req);
	ctrl_tcp(s, &tmp, seq, flags);
}

static void conn_free(struct mmds_stack *s, struct conn *c)
{
	free(c->resp);
	memset(c, 0, sizeof(*c));
	COUNT(s, connections_destroyed, 1);
}

static void conn_reset(struct mmds_stack *s, struct conn *c)
{
	ctrl_tcp(s, c, c->snd_nxt, TH_RST | TH_ACK);
	conn_free(s, c);
}

/* The data (and FIN) @c may send now: length into *@len; false if none. */
static bool next_segment(const struct conn *c, size_t *len, bool *fin)
{
	uint32_t end = c->resp_seq + (uint32_t)c->resp_len;
	uint32_t inflight = c->snd_nxt - c->snd_una;
	size_t left = c->resp && (int32_t)(end - c->snd_nxt) > 0 ?
			      end - c->snd_nxt :
			      0;

	*len = 0;
	*fin = false;
	if (c->state != C_ESTABLISHED)
		return false;
	if (left && inflight < c->wnd) {
		*len = left;
		if (*len > c->mss)
			*len = c->mss;
		if (*len > c->wnd - inflight)
			*len = c->wnd - inflight;
	}
	*fin = !c->fin_sent && c->close_after && *len == left && !c->req_len;
	return *len || *fin;
}

static size_t data_frame(struct mmds_stack *s, struct conn *c, uint8_t *buf)
{
	size_t len, n;
	bool fin;

	if (!next_segment(c, &len, &fin))
		return 0;
	n = tcp_frame(
		s, buf, c->mac, c->ip, c->port, c->snd_nxt, c->rcv_nxt,
		(uint8_t)(TH_ACK | (len ? TH_PSH : 0) | (fin ? TH_FIN : 0)),
		rcv_wnd(c), len ? c->resp + (c->snd_nxt - c->resp_seq) : NULL,
		len, 0);
	c->snd_nxt += (uint32_t)len + fin;
	c->fin_sent |= fin;
	return n;
}

size_t mmds_stack_rx(struct mmds_stack *s, uint8_t *buf, uint64_t now_ns)
{
	size_t n = 0;

	(void)now_ns;
	if (s->ctrl_count) {
		n = s->ctrl_len[s->ctrl_head];
		memcpy(buf, s->ctrl[s->ctrl_head], n);
		s->ctrl_head = (s->ctrl_head + 1) % CTRL_SLOTS;
		s->ctrl_count--;
	}
	for (int i = 0; !n && i < MMDS_MAX_CONNS; i++)
		n = data_frame(s, &s->conns[i], buf);
	if (n) {
		COUNT(s, tx_frames, 1);
		COUNT(s, tx_count, 1);
		COUNT(s, tx_bytes, n);
	}
	return n;
}

bool mmds_stack_has_rx(struct mmds_stack *s)
{
	size_t len;
	bool fin;

	if (s->ctrl_count)
		return true;
	for (int i = 0; i < MMDS_MAX_CONNS; i++)
		if (next_segment(&s->conns[i], &len, &fin))
			return true;
	return false;
}

/* --- frames from the guest ---------------------------------------------- */

/* An ARP packet for the MMDS address: a request is answered. */
static void arp_input(struct mmds_stack *s, const uint8_t *a, size_t len)
{
	uint8_t f[ETH_HLEN + 28];

	if (len < 28 || wire_get16(a) != 1 || wire_get16(a + 2) != ETH_P_IP ||
	    a[4] != 6 || a[5] != 4) {
		COUNT(s, rx_accepted_err, 1);
		return;
	}
	if (wire_get16(a + 6) != 1) { /* a reply or another operation */
		COUNT(s, rx_accepted_unusual, 1);
		return;
	}
	eth_header(f, a + 8, ETH_P_ARP);
	memcpy(f + ETH_HLEN, a, 6); /* htype, ptype, hlen, plen */
	wire_put16(f + ETH_HLEN + 6, 2);
	memcpy(f + ETH_HLEN + 8, mmds_mac, 6);
	wire_put32(f + ETH_HLEN + 14, s->ip);
	memcpy(f + ETH_HLEN + 18, a + 8, 10); /* the asker's MAC and IP */
	ctrl_push(s, f, sizeof(f));
}

/* TCP options: the MSS, if given; -1 if the options are malformed. */
static int parse_options(const uint8_t *o, size_t len, uint16_t *mss)
{
	size_t i = 0;

	while (i < len) {
		if (o[i] == 0) /* end of options */
			break;
		if (o[i] == 1) { /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i)
			return -1;
		if (o[i] == 2) {
			if (o[i + 1] != 4)
				return -1;
			*mss = wire_get16(o + i + 2);
		}
		i += o[i + 1];
	}
	return 0;
}

/* Checks an IPv4 packet for the MMDS and its TCP segment: 0 or -1. */
static int parse_tcp(const uint8_t *ip, size_t len, unsigned int flags,
		     struct seg *g)
{
	size_t ihl, tot, doff, tcp_len;
	const uint8_t *t;

	if (len < IP_HLEN || ip[0] >> 4 != 4)
		return -1;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = wire_get16(ip + 2);
	if (ihl < IP_HLEN || tot < ihl || tot > len ||
	    mmds_csum(ip, ihl, 0) != 0 || (wire_get16(ip + 6) & 0x3fff) ||
	    ip[9] != IPPROTO_TCP_)
		return -1; /* bad header, a fragment, or not TCP */
	t = ip + ihl;
	tcp_len = tot - ihl;
	if (tcp_len < TCP_HLEN)
		return -1;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HLEN || doff > tcp_len)
		return -1;
	g->src = wire_get32(ip + 12);
	g->dst = wire_get32(ip + 16);
	if (!(flags & MMDS_TX_PARTIAL_CSUM) &&
	    mmds_csum(t, tcp_len, pseudo_sum(g->src, g->dst, tcp_len)) != 0)
		return -1;
	g->mss = 0;
	if (parse_options(t + TCP_HLEN, doff - TCP_HLEN, &g->mss))
		return -1;
	g->sport = wire_get16(t);
	g->dport = wire_get16(t + 2);
	g->seq = wire_get32(t + 4);
	g->ack = wire_get32(t + 8);
	g->flags = t[13];
	g->wnd = wire_get16(t + 14);
	g->data = t + doff;
	g->len = tcp_len - doff;
	return 0;
}

static struct conn *conn_find(struct mmds_stack *s, const struct seg *g)
{
	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		struct conn *c = &s->conns[i];

		if (c->state != C_FREE && c->ip == g->src &&
		    c->port == g->sport)
			return c;
	}
	return NULL;
}

/* A free slot; when all are taken, the least recently active is reset. */
static struct conn *conn_alloc(struct mmds_stack *s)
{
	struct conn *lru = &s->conns[0];

	for (int i = 0; i < MMDS_MAX_CONNS; i++) {
		if (s->conns[i].state == C_FREE)
			return &s->conns[i];
		if (s->conns[i].last_ns < lru->last_ns)
			lru = &s->conns[i];
	}
	conn_reset(s, lru);
	return lru;
}

/* A SYN for no connection: a new one in SYN-RECEIVED, a SYN-ACK. */
static void tcp_open(struct mmds_stack *s, const struct seg *g, uint64_t now_ns)
{
	struct conn *c;

	if (g->len || (g->flags & (TH_ACK | TH_FIN))) {
		COUNT(s, rx_accepted_unusual, 1);
		reset_for(s, g);
		return;
	}
	c = conn_alloc(s);
	c->state = C_SYN_RCVD;
	memcpy(c->mac, g->eth_src, 6);
	c->ip = g->src;
	c->port = g->sport;
	s->iss_seed = s->iss_seed * 1103515245u + 12345u + (uint32_t)now_ns;
	c->iss = s->iss_seed;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->rcv_nxt = g->seq + 1;
	c->wnd = g->wnd;
	c->mss = g->mss ? g->mss : DEFAULT_MSS;
	if (c->mss > MAX_MSS)
		c->mss = MAX_MSS;
	if (c->mss < 64)
		c->mss = 64;
	c->last_ns = now_ns;
	COUNT(s, connections_created, 1);
	ctrl_tcp(s, c, c->iss, TH_SYN | TH_ACK);
}

/* Answers the requests @c has buffered, one response in flight at a time. */
static void serve(struct mmds_stack *s, struct conn *c, uint64_t now_ns)
{
	while (!c->resp && c->req_len && !c->close_after) {
		struct mmds_http_resp r;
		ssize_t n = mmds_http_handle(c->req, c->req_len, now_ns, &r);

		if (n == 0)
			break;
		if (n < 0) {
			conn_reset(s, c);
			return;
		}
		memmove(c->req, c->req + n, c->req_len - (size_t)n);
		c->req_len -= (size_t)n;
		c->resp = r.data;
		c->resp_len = r.len;
		c->resp_seq = c->snd_nxt;
		c->close_after = r.close;
	}
	/* The guest is done sending: what it left unfinished goes. */
	if (c->peer_fin && !c->resp)
		c->close_after = true;
	if (c->close_after)
		c->req_len = 0;
}

/* The segment's ACK: 0 to go on with it, -1 if it was dropped. */
static int tcp_ack(struct mmds_stack *s, struct conn *c, const struct seg *g)
{
	uint32_t acked = g->ack - c->snd_una;

	if (acked > c->snd_nxt - c->snd_una ||
	    (c->state == C_SYN_RCVD && acked != 1)) {
		COUNT(s, rx_accepted_unusual, 1);
		if (c->state == C_SYN_RCVD)
			reset_for(s, g);
		else
			ctrl_tcp(s, c, c->snd_nxt, TH_ACK);
		return -1;
	}
	c->state = C_ESTABLISHED;
	c->snd_una = g->ack;
	c->wnd = g->wnd;
	if (c->resp && (int32_t)(c->snd_una -
				 (c->resp_seq + (uint32_t)c->resp_len)) >= 0) {
		free(c->resp); /* all of it arrived */
		c->resp = NULL;
		c->resp_len = 0;
	}
	return 0;
}

/* The segment's data and FIN, in order only; anything else is re-ACKed. */
static void tcp_data(struct mmds_stack *s, struct conn *c, const struct seg *g)
{
	bool fin = g->flags & TH_FIN;

	if (!g->len && !fin)
		return;
	if (g->seq != c->rcv_nxt) {
		/* A retransmission or a gap: say where we are, and send
		 * again what was not acknowledged (go-back-N). */
		COUNT(s, rx_accepted_unusual, 1);
		if (c->snd_nxt != c->snd_una) {
			c->snd_nxt = c->snd_una;
			c->fin_sent = false;
		}
		ctrl_tcp(s, c, c->snd_nxt, TH_ACK);
		return;
	}
	if ((c->peer_fin && g->len) || g->len > sizeof(c->req) - c->req_len) {
		COUNT(s, rx_accepted_unusual, 1);
		conn_reset(s, c);
		return;
	}
	memcpy(c->req + c->req_len, g->data, g->len);
	c->req_len += g->len;
	c->rcv_nxt += (uint32_t)g->len + fin;
	c->peer_fin |= fin;
	ctrl_tcp(s, c, c->snd_nxt, TH_ACK);
}

/* A segment of an existing connection. */
static void tcp_conn_input(struct mmds_stack *s, struct conn *c,
			   const struct seg *g, uint64_t now_ns)
{
	c->last_ns = now_ns;
	if (g->flags & TH_RST) {
		if (g->seq - c->rcv_nxt <= rcv_wnd(c))
			conn_free(s, c);
		else
			COUNT(s, rx_accepted_unusual, 1);
		return;
	}
	if (g->flags & TH_SYN) {
		if (c->state == C_SYN_RCVD && g->seq + 1 == c->rcv_nxt &&
		    !(g->flags & TH_ACK)) {
			ctrl_tcp(s, c, c->iss, TH_SYN | TH_ACK);
			return;
		}
		/* A new connection on the same port: the old one goes. */
		conn_reset(s, c);
		tcp_open(s, g, now_ns);
		return;
	}
	if (!(g->flags & TH_ACK)) {
		COUNT(s, rx_accepted_unusual, 1);
		return;
	}
	if (tcp_ack(s, c, g))
		return;
	tcp_data(s, c, g);
	if (c->state == C_FREE)
		return;
	serve(s, c, now_ns);
	if (c->state != C_FREE && c->fin_sent && c->peer_fin &&
	    c->snd_una == c->snd_nxt)
		conn_free(s, c);
}

static void tcp_input(struct mmds_stack *s, const struct seg *g,
		      uint64_t now_ns)
{
	struct conn *c;

	if (g->dport != HTTP_PORT) {
		COUNT(s, rx_accepted_unusual, 1);
		reset_for(s, g);
		return;
	}
	c = conn_find(s, g);
	if (c)
		tcp_conn_input(s, c, g, now_ns);
	else if (g->flags & TH_RST)
		return;
	else if (g->flags & TH_SYN)
		tcp_open(s, g, now_ns);
	else
		reset_for(s, g);
}

/* True if the frame (of at least ETH_HLEN bytes) is for the MMDS. */
static bool for_mmds(const struct mmds_stack *s, const uint8_t *f, size_t len)
{
	uint16_t type = wire_get16(f + 12);

	if (type == ETH_P_ARP)
		return len >= ETH_HLEN + 28 &&
		       wire_get32(f + ETH_HLEN + 24) == s->ip;
	if (type == ETH_P_IP)
		return len >= ETH_HLEN + IP_HLEN &&
		       wire_get32(f + ETH_HLEN + 16) == s->ip;
	return false;
}

bool mmds_stack_tx(struct mmds_stack *s, const uint8_t *frame, size_t len,
		   size_t total, unsigned int flags, uint64_t now_ns)
{
	struct seg g;

	if (len > total)
		len = total;
	if (len < ETH_HLEN || !for_mmds(s, frame, len))
		return false;
	COUNT(s, rx_count, 1);
	COUNT(s, rx_accepted, 1);
	if (total > len || total > MMDS_FRAME_MAX + 4 ||
	    (flags & MMDS_TX_GSO)) {
		COUNT(s, rx_bad_eth, 1); /* oversized: dropped */
		return true;
	}
	if (wire_get16(frame + 12) == ETH_P_ARP) {
		arp_input(s, frame + ETH_HLEN, len - ETH_HLEN);
		return true;
	}
	if (parse_tcp(frame + ETH_HLEN, len - ETH_HLEN, flags, &g)) {
		COUNT(s, rx_accepted_err, 1);
		return true;
	}
	g.eth_src = frame + 6;
	tcp_input(s, &g, now_ns);
	return true;
}
