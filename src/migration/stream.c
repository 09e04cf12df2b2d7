// SPDX-License-Identifier: GPL-2.0-only
/*
 * stream.c - the live-migration stream (stream.h): addresses, sockets,
 * record framing with CRC-64, optional zstd compression of page batches
 * and the bandwidth limit of the sending side.
 */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "../snapshot/crc64.h"
#include "../snapshot/file.h"
#include "../util/bounds.h"
#include "../util/le.h"

#define NS 1000000000ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

int mig_addr_parse(const char *url, struct mig_addr *a, char *err,
		   size_t errlen)
{
	const char *rest, *colon;
	size_t hl;

	memset(a, 0, sizeof(*a));
	if (!strncmp(url, "unix:", 5)) {
		if (!url[5] || strlen(url + 5) >= sizeof(a->path)) {
			snprintf(
				err, errlen,
				"%s: a unix: address needs a path of at most %zu bytes",
				url, sizeof(a->path) - 1);
			return -1;
		}
		a->unix_sock = true;
		snprintf(a->path, sizeof(a->path), "%s", url + 5);
		return 0;
	}
	if (strncmp(url, "tcp:", 4) != 0) {
		snprintf(err, errlen, "%s: expected tcp:HOST:PORT or unix:PATH",
			 url);
		return -1;
	}
	rest = url + 4;
	if (*rest == '[') {
		const char *end = strchr(rest, ']');

		if (!end || end[1] != ':') {
			snprintf(err, errlen, "%s: expected tcp:[ADDR]:PORT",
				 url);
			return -1;
		}
		hl = (size_t)(end - rest - 1);
		rest++;
		colon = end + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon) {
			snprintf(err, errlen, "%s: expected tcp:HOST:PORT",
				 url);
			return -1;
		}
		hl = (size_t)(colon - rest);
	}
	if (hl >= sizeof(a->host) || strlen(colon + 1) >= sizeof(a->port) ||
	    !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		snprintf(err, errlen, "%s: bad host or port", url);
		return -1;
	}
	memcpy(a->host, rest, hl);
	snprintf(a->port, sizeof(a->port), "%s", colon + 1);
	return 0;
}

bool mig_addr_numeric(const struct mig_addr *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	bool ok = !getaddrinfo(a->host, a->port, &hints, &res);

	freeaddrinfo(res);
	return ok;
}

int mig_url_resolve(const char *url, char *out, size_t outlen, char *err,
		    size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char host[NI_MAXHOST];
	struct mig_addr a;
	int rc;

	if (mig_addr_parse(url, &a, err, errlen))
		return -1;
	if (a.unix_sock || mig_addr_numeric(&a)) {
		snprintf(out, outlen, "%s", url);
		return 0;
	}
	rc = getaddrinfo(a.host, a.port, &hints, &res);
	if (!rc)
		rc = getnameinfo(res->ai_addr, res->ai_addrlen, host,
				 sizeof(host), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc) {
		snprintf(err, errlen, "%s: %s", a.host, gai_strerror(rc));
		return -1;
	}
	snprintf(out, outlen, strchr(host, ':') ? "tcp:[%s]:%s" : "tcp:%s:%s",
		 host, a.port);
	return 0;
}

static void unix_sockaddr(const struct mig_addr *a, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", a->path);
}

/* Waits for a non-blocking connect() on @fd; 0 or -1 (errno). */
static int connect_wait(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int n = poll(&p, 1, timeout_ms);

	if (n == 0)
		errno = ETIMEDOUT;
	if (n <= 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/* One connect() within @timeout_ms; a blocking socket, or -1 (errno). */
static int connect_one(int family, const struct sockaddr *sa, socklen_t len,
		       int timeout_ms)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int saved, fl;

	if (fd < 0)
		return -1;
	if (!connect(fd, sa, len) ||
	    (errno == EINPROGRESS && !connect_wait(fd, timeout_ms))) {
		/* Blocking from here on: the sender waits for room. */
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && !fcntl(fd, F_SETFL, fl & ~O_NONBLOCK))
			return fd;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int mig_connect(const struct mig_addr *a, int timeout_ms, char *err,
		size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, rc;

	if (a->unix_sock) {
		struct sockaddr_un sun;

		unix_sockaddr(a, &sun);
		fd = connect_one(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
				 timeout_ms);
		if (fd < 0)
			snprintf(err, errlen, "unix:%s: %s", a->path,
				 strerror(errno));
		return fd;
	}
	rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				 timeout_ms);
	if (fd < 0)
		snprintf(err, errlen, "tcp:%s:%s: %s", a->host, a->port,
			 strerror(errno));
	else
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
			   sizeof(int));
	freeaddrinfo(res);
	return fd;
}

int mig_listen(const struct mig_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	int fd = -1, rc;

	if (a->unix_sock) {
		struct sockaddr_un sun;

		unix_sockaddr(a, &sun);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/*
		 * Owner only, whatever the umask: bind() gives the node the
		 * socket's own mode (less the umask), so set it first. Who
		 * connects sends the VM's configuration (docs/migration.md).
		 */
		if (fd >= 0 &&
		    (fchmod(fd, 0600) ||
		     bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
		     listen(fd, 1))) {
			close(fd);
			fd = -1;
		}
		if (fd < 0)
			snprintf(err, errlen, "unix:%s: %s", a->path,
				 strerror(errno));
		return fd;
	}
	rc = getaddrinfo(a->host[0] ? a->host : NULL, a->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 },
			   sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
			int saved = errno;

			close(fd);
			fd = -1;
			errno = saved;
		}
	}
	if (fd < 0)
		snprintf(err, errlen, "tcp:%s:%s: %s", a->host, a->port,
			 strerror(errno));
	freeaddrinfo(res);
	return fd;
}

void mig_conn_init(struct mig_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	if (fd >= 0)
		mig_conn_send_timeout(c, MIG_SEND_TIMEOUT_MS);
}

void mig_conn_send_timeout(struct mig_conn *c, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	/* A peer that stops reading must not hold a sender for good. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void mig_conn_close(struct mig_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ZSTD_freeCCtx(c->zctx);
	c->zctx = NULL;
}

int mig_conn_compress(struct mig_conn *c, char *err, size_t errlen)
{
	c->zctx = ZSTD_createCCtx();
	if (!c->zctx) {
		snprintf(err, errlen, "zstd: out of memory");
		return -1;
	}
	/* Fast: the link, not the CPU, should be what takes time. */
	ZSTD_CCtx_setParameter(c->zctx, ZSTD_c_compressionLevel, 1);
	return 0;
}

/* Sleeps as long as the bandwidth limit asks after @n more bytes. */
static void throttle(struct mig_conn *c, size_t n)
{
	uint64_t now = now_ns(), due;

	if (!c->rate)
		return;
	if (!c->rl_start_ns || now - c->rl_start_ns > 10 * NS) {
		c->rl_start_ns = now;
		c->rl_bytes = 0;
	}
	c->rl_bytes += n;
	due = c->rl_start_ns + c->rl_bytes * NS / c->rate;
	if (due > now) {
		struct timespec ts = { .tv_sec = (time_t)((due - now) / NS),
				       .tv_nsec = (long)((due - now) % NS) };

		nanosleep(&ts, NULL);
	}
}

static int write_all(struct mig_conn *c, const void *buf, size_t len, char *err,
		     size_t errlen)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "sending: %s",
				 w == 0 ? "connection closed" :
				 errno == EAGAIN ?
					  "timed out (the peer reads nothing)" :
					  strerror(errno));
			return -1;
		}
		p += w;
		len -= (size_t)w;
		c->bytes_out += (uint64_t)w;
	}
	return 0;
}

int mig_send(struct mig_conn *c, enum mig_rec type, const void *payload,
	     size_t len, char *err, size_t errlen)
{
	uint8_t head[MIG_HEAD_SIZE];
	uint8_t *z = NULL;
	uint32_t flags = 0;
	int ret;

	if (c->zctx && type == MIG_PAGES && len) {
		size_t cap = ZSTD_compressBound(len), zl;

		z = malloc(8 + cap);
		if (!z) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		zl = ZSTD_compress2(c->zctx, z + 8, cap, payload, len);
		if (ZSTD_isError(zl)) {
			snprintf(err, errlen, "zstd: %s",
				 ZSTD_getErrorName(zl));
			free(z);
			return -1;
		}
		put_le64(z, len);
		payload = z;
		len = 8 + zl;
		flags = MIG_F_ZSTD;
	}
	put_le32(head, MIG_MAGIC);
	put_le32(head + 4, (uint32_t)type | flags << 16);
	put_le64(head + 8, len);
	put_le64(head + 16, crc64(0, payload, len));
	ret = write_all(c, head, sizeof(head), err, errlen);
	if (!ret && len)
		ret = write_all(c, payload, len, err, errlen);
	if (!ret)
		throttle(c, sizeof(head) + len);
	free(z);
	return ret;
}

static int read_all(struct mig_conn *c, void *buf, size_t len, int timeout_ms,
		    char *err, size_t errlen)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		ssize_t r;
		int n = poll(&pf, 1, timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "receiving: %s",
				 n ? strerror(errno) : "timed out");
			return -1;
		}
		r = recv(c->fd, p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "receiving: %s",
				 r < 0 ? strerror(errno) : "connection closed");
			return -1;
		}
		p += r;
		len -= (size_t)r;
		c->bytes_in += (uint64_t)r;
	}
	return 0;
}

uint64_t mig_payload_max(uint32_t type)
{
	switch (type) {
	case MIG_HELLO:
	case MIG_STATE:
	case MIG_DISCARD:
		return MIG_PAYLOAD_MAX;
	case MIG_PAGES:
		return 8 + (uint64_t)MIG_BATCH_PAGES * (8 + MIG_PAGE);
	case MIG_REQ:
		return 8 + 8ULL * MIG_BATCH_PAGES;
	case MIG_ERROR:
		return MIG_ERR_MAX;
	case MIG_DISKS:
		return 8 + 16ULL * MIG_DISKS_MAX;
	case MIG_BLOCKS:
		return MIG_BLOCKS_HEAD + MIG_BLOCKS_RUN_MAX;
	case MIG_AUTH:
		return MIG_AUTH_MAX;
	case MIG_DONE:
	case MIG_END:
	case MIG_SYNC:
		return 0;
	}
	return 0;
}

/*
 * An ERROR's message, to be printed: NUL-terminated within @len and
 * without control characters (a hostile peer's text reaches a terminal).
 */
static void tame_message(uint8_t *p, size_t len)
{
	p[len - 1] = 0;
	for (size_t i = 0; i + 1 < len && p[i]; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
}

/*
 * Replaces *@buf (a compressed payload of *@len bytes) by its content,
 * at most @max bytes.
 */
static int decompress(uint8_t **buf, size_t *len, uint64_t max, char *err,
		      size_t errlen)
{
	uint64_t raw;
	uint8_t *out;
	size_t got;

	if (*len < 8) {
		snprintf(err, errlen,
			 "corrupt stream: short compressed record");
		return -1;
	}
	raw = get_le64(*buf);
	if (!raw || raw > max) {
		if (raw)
			bound_hit(BOUND_MIG_RECORD);
		snprintf(err, errlen,
			 "corrupt stream: compressed record of %llu bytes",
			 (unsigned long long)raw);
		return -1;
	}
	out = malloc(raw);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	got = ZSTD_decompress(out, raw, *buf + 8, *len - 8);
	if (ZSTD_isError(got) || got != raw) {
		snprintf(err, errlen, "corrupt stream: %s",
			 ZSTD_isError(got) ? ZSTD_getErrorName(got) :
					     "compressed length differs");
		free(out);
		return -1;
	}
	free(*buf);
	*buf = out;
	*len = raw;
	return 0;
}

void mig_hello_head(uint8_t out[MIG_HELLO_HEAD])
{
	put_le32(out, MIG_PROTO_VERSION);
	put_le32(out + 4, 0);
}

int mig_hello_check(struct mig_conn *c, const uint8_t *p, size_t len,
		    const char *who, char *err, size_t errlen)
{
	uint32_t v;

	if (len >= 8 && !memcmp(p, SNAPSHOT_MAGIC, 8)) {
		/* Version 1 had no version field: its state file came first. */
		v = 1;
	} else if (len < MIG_HELLO_HEAD) {
		snprintf(err, errlen, "corrupt stream: a prelude of %zu bytes",
			 len);
		return -1;
	} else {
		v = get_le32(p);
	}
	c->peer_version = v;
	if (v != MIG_PROTO_VERSION) {
		snprintf(
			err, errlen,
			"%s speaks migration stream version %u, this vmon version %u",
			who, v, MIG_PROTO_VERSION);
		return -1;
	}
	return 0;
}

/* The record types of this stream version. */
static bool known_type(uint32_t type)
{
	return (type >= MIG_HELLO && type <= MIG_AUTH) || type == MIG_SYNC;
}

/* @err for a record of a type this version lacks: both versions named. */
static void unknown_type(const struct mig_conn *c, uint32_t type, char *err,
			 size_t errlen)
{
	char peer[64];

	if (c->peer_version)
		snprintf(peer, sizeof(peer), "announced version %u",
			 c->peer_version);
	else
		snprintf(peer, sizeof(peer), "has not announced its version");
	snprintf(
		err, errlen,
		"record type %u is not in migration stream version %u (this vmon's); the other side %s",
		type, MIG_PROTO_VERSION, peer);
}

bool mig_readable(struct mig_conn *c, int timeout_ms)
{
	struct pollfd pf = { .fd = c->fd, .events = POLLIN };

	return poll(&pf, 1, timeout_ms) > 0;
}

int mig_recv(struct mig_conn *c, uint32_t *type, uint8_t **payload, size_t *len,
	     int timeout_ms, char *err, size_t errlen)
{
	return mig_recv_max(c, type, payload, len, timeout_ms, UINT64_MAX, err,
			    errlen);
}

int mig_recv_max(struct mig_conn *c, uint32_t *type, uint8_t **payload,
		 size_t *len, int timeout_ms, uint64_t cap, char *err,
		 size_t errlen)
{
	uint8_t head[MIG_HEAD_SIZE];
	uint64_t n, crc, max, limit;
	uint32_t word, zstd;
	uint8_t *buf = NULL;

	*payload = NULL;
	*len = 0;
	if (read_all(c, head, sizeof(head), timeout_ms, err, errlen))
		return -1;
	word = get_le32(head + 4);
	n = get_le64(head + 8);
	crc = get_le64(head + 16);
	if (get_le32(head) != MIG_MAGIC) {
		snprintf(err, errlen,
			 "not a vmon migration stream (bad magic)");
		return -1;
	}
	*type = word & 0xffff;
	if (!known_type(*type)) {
		unknown_type(c, *type, err, errlen);
		return -1;
	}
	/* Only a batch of pages is ever compressed. */
	zstd = (word >> 16) & MIG_F_ZSTD;
	max = mig_payload_max(*type);
	if (max > cap)
		max = cap;
	limit = zstd ? 8 + ZSTD_COMPRESSBOUND(max) : max;
	if (n > limit)
		bound_hit(BOUND_MIG_RECORD);
	if ((word >> 16) & ~MIG_F_ZSTD || (zstd && *type != MIG_PAGES) ||
	    n > limit) {
		snprintf(err, errlen,
			 "corrupt stream: record type %u, flags %u, %llu bytes",
			 *type, word >> 16, (unsigned long long)n);
		return -1;
	}
	if (n) {
		buf = malloc(n);
		if (!buf) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (read_all(c, buf, n, timeout_ms, err, errlen))
			goto fail;
	}
	if (crc64(0, buf, n) != crc) {
		snprintf(
			err, errlen,
			"corrupt stream: checksum mismatch in a record of type %u",
			*type);
		goto fail;
	}
	*len = n;
	if (zstd && decompress(&buf, len, max, err, errlen))
		goto fail;
	if (*type == MIG_ERROR && n)
		tame_message(buf, n);
	*payload = buf;
	return 0;
fail:
	free(buf);
	*len = 0;
	return -1;
}
