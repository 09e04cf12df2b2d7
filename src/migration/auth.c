// SPDX-License-Identifier: GPL-2.0-only
/*
 * auth.c - the migration token (docs/migration.md, "Who may connect"):
 * loading a token file, and the AUTH exchange by which source and
 * destination prove to each other that they hold the same token before
 * the source's configuration is read or a page of the guest is sent.
 *
 * Each side sends a fresh 32-byte nonce and answers the other's with
 * HMAC-SHA256 (nettle), keyed with SHA-256 of the token and labelled by
 * its role, so the token never crosses the wire and an answer cannot be
 * replayed or reflected:
 *
 *   source -> destination  AUTH: version head, nonce_s
 *   destination -> source  AUTH: version head, nonce_d,
 *                                HMAC(key, "vmon-mig destination" nonce_s nonce_d)
 *   source -> destination  AUTH: version head,
 *                                HMAC(key, "vmon-mig source" nonce_d nonce_s)
 *
 * It authenticates the peer at the start of the connection; it does not
 * protect the rest of the stream against a man in the middle (the stream
 * has no encryption or MAC: a tunnel does that).
 */
#include "migration.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE MIG_AUTH_NONCE
#define MAC SHA256_DIGEST_SIZE
_Static_assert(MIG_HELLO_HEAD + NONCE + MAC == MIG_AUTH_MAX,
	       "an AUTH record's bound fits a nonce and a proof");
/* A token file: at least 16 bytes, at most 4 KiB (whitespace at the end dropped). */
#define TOKEN_MIN 16
#define TOKEN_FILE_MAX 4096

/* The HMAC key: SHA-256 of the token's @len bytes at @p. */
static void token_key(const uint8_t *p, size_t len,
		      uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, p);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
	explicit_bzero(&c, sizeof(c));
}

int mig_token_load(const char *path, struct mig_token *t, char *err,
		   size_t errlen)
{
	/* Room for whitespace after a token of the largest size. */
	uint8_t buf[TOKEN_FILE_MAX + 64];
	struct stat st;
	ssize_t n = 0, r;
	int fd;

	memset(t, 0, sizeof(*t));
	/* Non-blocking: a FIFO must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "migration token %.400s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "migration token %.400s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & 077) {
		snprintf(
			err, errlen,
			"migration token %.400s: other users may read or change it (mode %04o): chmod 600 it",
			path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	while ((size_t)n < sizeof(buf) &&
	       (r = read(fd, buf + n, sizeof(buf) - (size_t)n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "migration token %.400s: %s",
				 path, strerror(errno));
			goto fail;
		}
		n += r;
	}
	if ((size_t)n == sizeof(buf)) {
		snprintf(err, errlen,
			 "migration token %.400s: more than %d bytes", path,
			 TOKEN_FILE_MAX);
		goto fail;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n < TOKEN_MIN || n > TOKEN_FILE_MAX) {
		snprintf(
			err, errlen,
			"migration token %.400s: %zd bytes; give %d to %d (e.g. head -c 32 /dev/urandom | base64)",
			path, n, TOKEN_MIN, TOKEN_FILE_MAX);
		goto fail;
	}
	token_key(buf, (size_t)n, t->key);
	t->set = true;
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return 0;
fail:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return -1;
}

static void auth_mac(const struct mig_token *t, const char *label,
		     const uint8_t *first, const uint8_t *second,
		     uint8_t out[MAC])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_set_key(&c, sizeof(t->key), t->key);
	hmac_sha256_update(&c, strlen(label), (const uint8_t *)label);
	hmac_sha256_update(&c, NONCE, first);
	hmac_sha256_update(&c, NONCE, second);
	hmac_sha256_digest(&c, MAC, out);
}

static int nonce(uint8_t out[NONCE], char *err, size_t errlen)
{
	size_t got = 0;

	while (got < NONCE) {
		ssize_t n = getrandom(out + got, NONCE - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Sends AUTH: the version head, then @a and @b (NONCE or MAC bytes each, or NULL). */
static int send_auth(struct mig_conn *c, const uint8_t *a, const uint8_t *b,
		     char *err, size_t errlen)
{
	uint8_t p[MIG_HELLO_HEAD + NONCE + MAC];
	size_t len = MIG_HELLO_HEAD;

	mig_hello_head(p);
	if (a) {
		memcpy(p + len, a, NONCE);
		len += NONCE;
	}
	if (b) {
		memcpy(p + len, b, MAC);
		len += MAC;
	}
	return mig_send(c, MIG_AUTH, p, len, err, errlen);
}

/*
 * Receives the peer's AUTH of @want bytes after the head (@who: "the
 * source"): its version checked; an ERROR becomes @err. The payload, or
 * NULL with @err.
 */
static uint8_t *recv_auth(struct mig_conn *c, size_t want, const char *who,
			  char *err, size_t errlen)
{
	uint8_t *p = NULL;
	uint32_t type;
	size_t len;

	if (mig_recv(c, &type, &p, &len, MIG_AUTH_TIMEOUT_MS, err, errlen))
		return NULL;
	if (type == MIG_ERROR) {
		snprintf(err, errlen, "%s refused: %.400s", who,
			 p ? (char *)p : "");
	} else if (type != MIG_AUTH) {
		snprintf(err, errlen,
			 "%s answered the token exchange with record type %u",
			 who, type);
	} else if (!mig_hello_check(c, p, len, who, err, errlen)) {
		if (len == MIG_HELLO_HEAD + want)
			return p;
		snprintf(err, errlen,
			 "corrupt stream: a token exchange of %zu bytes", len);
	}
	free(p);
	return NULL;
}

int mig_auth_source(struct mig_conn *c, const struct mig_token *t, char *err,
		    size_t errlen)
{
	uint8_t ns[NONCE], mac[MAC];
	uint8_t *p;

	if (nonce(ns, err, errlen) || send_auth(c, ns, NULL, err, errlen))
		return -1;
	p = recv_auth(c, NONCE + MAC, "the destination", err, errlen);
	if (!p)
		return -1;
	auth_mac(t, "vmon-mig destination", ns, p + MIG_HELLO_HEAD, mac);
	if (!memeql_sec(mac, p + MIG_HELLO_HEAD + NONCE, MAC)) {
		free(p);
		/* The caller tells the destination, as of any failure. */
		snprintf(err, errlen,
			 "the destination does not hold this migration token");
		return -1;
	}
	auth_mac(t, "vmon-mig source", p + MIG_HELLO_HEAD, ns, mac);
	free(p);
	return send_auth(c, NULL, mac, err, errlen);
}

int mig_auth_dest(struct mig_conn *c, const struct mig_token *t, uint32_t type,
		  const uint8_t *first, size_t len, char *err, size_t errlen)
{
	uint8_t nd[NONCE], mac[MAC];
	uint8_t *p;
	bool ok;

	/* Both kinds of first record begin with the source's version. */
	if (mig_hello_check(c, first, len, "the source", err, errlen))
		return -1;
	if (type != MIG_AUTH) {
		snprintf(
			err, errlen,
			"the source gave no migration token (this destination requires one)");
		return -1;
	}
	if (!t || !t->set) {
		snprintf(
			err, errlen,
			"the source gave a migration token, this destination has none");
		return -1;
	}
	if (len != MIG_HELLO_HEAD + NONCE) {
		snprintf(err, errlen,
			 "corrupt stream: a token exchange of %zu bytes", len);
		return -1;
	}
	if (nonce(nd, err, errlen))
		return -1;
	auth_mac(t, "vmon-mig destination", first + MIG_HELLO_HEAD, nd, mac);
	if (send_auth(c, nd, mac, err, errlen))
		return -1;
	p = recv_auth(c, MAC, "the source", err, errlen);
	if (!p)
		return -1;
	auth_mac(t, "vmon-mig source", nd, first + MIG_HELLO_HEAD, mac);
	ok = memeql_sec(mac, p + MIG_HELLO_HEAD, MAC);
	free(p);
	if (!ok) {
		snprintf(err, errlen,
			 "the source does not hold this migration token");
		return -1;
	}
	return 0;
}
