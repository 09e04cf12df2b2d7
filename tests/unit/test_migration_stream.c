// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_migration_stream.c - the live-migration stream's framing and
 * versioning (src/migration/stream.c): a record goes through a socket
 * pair unchanged; a prelude's version is checked (this version accepted,
 * a newer one and version 1's bare state file refused, naming both
 * versions); a record type this version lacks is refused naming both
 * versions; a checksum mismatch is corrupt; a unix: address listens on a
 * socket only its owner may connect to, whatever the umask; each record
 * type's payload is bounded by what a sender of this version produces
 * (compressed or not: a small zstd frame cannot make the receiver
 * allocate 256 MiB) and a peer's ERROR reaches the log without control
 * characters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "migration/stream.h"
#include "snapshot/crc64.h"
#include "util/bounds.h"

struct pair {
	struct mig_conn tx, rx;
};

static void pair_open(struct pair *p)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	mig_conn_init(&p->tx, sv[0]);
	mig_conn_init(&p->rx, sv[1]);
}

static void pair_close(struct pair *p)
{
	mig_conn_close(&p->tx);
	mig_conn_close(&p->rx);
}

/* Writes a record head of @type (and its payload) by hand. */
static void raw_record(int fd, uint32_t type, const void *payload, uint64_t len,
		       uint64_t crc)
{
	uint8_t head[MIG_HEAD_SIZE];
	uint32_t magic = MIG_MAGIC;

	memcpy(head, &magic, 4);
	memcpy(head + 4, &type, 4);
	memcpy(head + 8, &len, 8);
	memcpy(head + 16, &crc, 8);
	assert_int_equal(write(fd, head, sizeof(head)), sizeof(head));
	if (len)
		assert_int_equal(write(fd, payload, len), (ssize_t)len);
}

static void test_round_trip(void **state)
{
	char err[MIG_ERR_MAX] = "";
	struct pair p;
	uint8_t *got;
	uint32_t type;
	size_t len;

	(void)state;
	pair_open(&p);
	assert_int_equal(mig_send(&p.tx, MIG_STATE, "abc", 3, err, sizeof(err)),
			 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), 0);
	assert_int_equal(type, MIG_STATE);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "abc", 3);
	free(got);
	assert_int_equal(p.tx.bytes_out, MIG_HEAD_SIZE + 3);
	pair_close(&p);
}

static void test_hello_versions(void **state)
{
	char err[MIG_ERR_MAX] = "";
	uint8_t hello[MIG_HELLO_HEAD + 8];
	uint32_t v = MIG_PROTO_VERSION + 1;
	struct mig_conn c;

	(void)state;
	mig_conn_init(&c, -1);
	memset(hello, 0, sizeof(hello));
	mig_hello_head(hello);
	assert_int_equal(mig_hello_check(&c, hello, sizeof(hello), "the source",
					 err, sizeof(err)),
			 0);
	assert_int_equal(c.peer_version, MIG_PROTO_VERSION);

	/* A newer source: refused, both versions named. */
	memcpy(hello, &v, 4);
	assert_int_equal(mig_hello_check(&c, hello, sizeof(hello), "the source",
					 err, sizeof(err)),
			 -1);
	assert_non_null(
		strstr(err, "the source speaks migration stream version 4"));
	assert_non_null(strstr(err, "this vmon version 3"));

	/* Version 1: the state file came first, no version field. */
	memcpy(hello, "VMONSNAP", 8);
	assert_int_equal(mig_hello_check(&c, hello, sizeof(hello), "the source",
					 err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "stream version 1, this vmon version 3"));

	/* Too short for a version. */
	assert_int_equal(mig_hello_check(&c, hello, 4, "the source", err,
					 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "corrupt stream"));
}

static void test_unknown_type(void **state)
{
	char err[MIG_ERR_MAX] = "";
	struct pair p;
	uint8_t *got;
	uint32_t type;
	size_t len;

	(void)state;
	pair_open(&p);
	/* Before any HELLO: the other side's version is not known. */
	raw_record(p.tx.fd, 12, NULL, 0, 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(
		err, "record type 12 is not in migration stream version 3"));
	assert_non_null(strstr(err, "has not announced its version"));
	/* After it: named. */
	p.rx.peer_version = 3;
	raw_record(p.tx.fd, 0, NULL, 0, 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(
		err, "record type 0 is not in migration stream version 3"));
	assert_non_null(strstr(err, "announced version 3"));
	pair_close(&p);
}

static void test_checksum(void **state)
{
	char err[MIG_ERR_MAX] = "";
	struct pair p;
	uint8_t *got;
	uint32_t type;
	size_t len;

	(void)state;
	pair_open(&p);
	raw_record(p.tx.fd, MIG_STATE, "abc", 3, crc64(0, "abd", 3));
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "checksum mismatch"));
	pair_close(&p);
}

/* Sends a record (@word: type, flags) and expects mig_recv() to refuse it. */
static void expect_refused(struct pair *p, uint32_t word, const void *payload,
			   uint64_t len, const char *why)
{
	char err[MIG_ERR_MAX] = "";
	uint8_t *got = NULL;
	uint32_t type;
	size_t n;

	raw_record(p->tx.fd, word, payload, len, crc64(0, payload, len));
	assert_int_equal(
		mig_recv(&p->rx, &type, &got, &n, 1000, err, sizeof(err)), -1);
	assert_null(got);
	assert_non_null(strstr(err, why));
}

static void test_payload_bounds(void **state)
{
	const uint64_t pages_max = 8 + MIG_BATCH_PAGES * (8ULL + MIG_PAGE);
	char err[MIG_ERR_MAX] = "";
	uint8_t head[MIG_HEAD_SIZE], *big, *z, *got;
	uint32_t word = MIG_PAGES;
	uint64_t len, hits;
	size_t zl, n;
	uint32_t type;
	struct pair p;

	(void)state;
	assert_int_equal(mig_payload_max(MIG_PAGES), pages_max);
	assert_int_equal(mig_payload_max(MIG_SYNC), 0);
	assert_int_equal(mig_payload_max(MIG_BLOCKS),
			 MIG_BLOCKS_HEAD + MIG_BLOCKS_RUN_MAX);
	assert_int_equal(mig_payload_max(MIG_STATE), MIG_PAYLOAD_MAX);
	hits = bound_count(BOUND_MIG_RECORD);

	pair_open(&p);
	/*
	 * A head announcing more than a batch of pages is refused before
	 * anything is allocated or read (no payload follows here: a receiver
	 * that tried to read it would time out instead).
	 */
	len = pages_max + 1;
	memcpy(head, &(uint32_t){ MIG_MAGIC }, 4);
	memcpy(head + 4, &word, 4);
	memcpy(head + 8, &len, 8);
	memset(head + 16, 0, 8);
	assert_int_equal(write(p.tx.fd, head, sizeof(head)), sizeof(head));
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &n, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt stream: record type 2"));
	assert_int_equal(bound_count(BOUND_MIG_RECORD), hits + 1);
	pair_close(&p);

	pair_open(&p);
	/* An empty-payload type with a payload. */
	expect_refused(&p, MIG_SYNC, "x", 1,
		       "record type 16, flags 0, 1 bytes");
	pair_close(&p);

	pair_open(&p);
	/* Only pages are compressed. */
	expect_refused(&p, MIG_STATE | MIG_F_ZSTD << 16, "12345678x", 9,
		       "record type 3, flags 1");
	pair_close(&p);

	/*
	 * A zstd bomb: 64 MiB of zeros in a frame of a few KiB, announced
	 * as a batch of pages. Refused by its announced length, before the
	 * 64 MiB are allocated.
	 */
	big = calloc(1, 64U << 20);
	assert_non_null(big);
	z = malloc(8 + ZSTD_compressBound(64U << 20));
	assert_non_null(z);
	len = 64U << 20;
	memcpy(z, &len, 8);
	zl = ZSTD_compress(z + 8, ZSTD_compressBound(64U << 20), big, 64U << 20,
			   1);
	assert_false(ZSTD_isError(zl));
	assert_true(zl < 65536);
	free(big);
	pair_open(&p);
	expect_refused(&p, MIG_PAGES | MIG_F_ZSTD << 16, z, 8 + zl,
		       "compressed record of 67108864 bytes");
	pair_close(&p);
	free(z);
	/* The head, the empty type's payload and the bomb: three hits. */
	assert_int_equal(bound_count(BOUND_MIG_RECORD), hits + 3);

	/* A peer's message: control characters replaced, NUL-terminated. */
	pair_open(&p);
	raw_record(p.tx.fd, MIG_ERROR, "bad\033[2Jx\n", 10,
		   crc64(0, "bad\033[2Jx\n", 10));
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &n, 1000, err, sizeof(err)), 0);
	assert_int_equal(type, MIG_ERROR);
	assert_int_equal(n, 10);
	assert_string_equal((char *)got, "bad?[2Jx?");
	free(got);
	pair_close(&p);
}

/* A peer that reads nothing: the sender fails after its time limit. */
static void test_send_timeout(void **state)
{
	char err[MIG_ERR_MAX] = "", buf[4096] = { 0 };
	struct pair p;
	int r = 0;

	(void)state;
	pair_open(&p);
	mig_conn_send_timeout(&p.tx, 200);
	for (int i = 0; i < 100000 && !r; i++)
		r = mig_send(&p.tx, MIG_STATE, buf, sizeof(buf), err,
			     sizeof(err));
	assert_int_equal(r, -1);
	assert_string_equal(err, "sending: timed out (the peer reads nothing)");
	pair_close(&p);
}

static void test_unix_listen_owner_only(void **state)
{
	char dir[] = "/tmp/vmon-mig-test-XXXXXX", url[128], err[MIG_ERR_MAX];
	struct mig_addr a;
	struct stat st;
	mode_t old;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "unix:%s/in.sock", dir);
	assert_int_equal(mig_addr_parse(url, &a, err, sizeof(err)), 0);
	old = umask(0);
	fd = mig_listen(&a, err, sizeof(err));
	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(stat(a.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	unlink(a.path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hello_versions),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_payload_bounds),
		cmocka_unit_test(test_send_timeout),
		cmocka_unit_test(test_unix_listen_owner_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
