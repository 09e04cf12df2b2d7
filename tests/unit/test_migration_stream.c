// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_migration_stream.c - the live-migration stream's framing and
 * versioning (src/migration/stream.c): a record goes through a socket
 * pair unchanged; a prelude's version is checked (this version accepted,
 * a newer one and version 1's bare state file refused, naming both
 * versions); a record type this version lacks is refused naming both
 * versions; a checksum mismatch is corrupt; a unix: address listens on a
 * socket only its owner may connect to, whatever the umask.
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

#include "migration/stream.h"
#include "snapshot/crc64.h"

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
	assert_int_equal(mig_send(&p.tx, MIG_SYNC, "abc", 3, err, sizeof(err)),
			 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), 0);
	assert_int_equal(type, MIG_SYNC);
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
		strstr(err, "the source speaks migration stream version 3"));
	assert_non_null(strstr(err, "this vmon version 2"));

	/* Version 1: the state file came first, no version field. */
	memcpy(hello, "VMONSNAP", 8);
	assert_int_equal(mig_hello_check(&c, hello, sizeof(hello), "the source",
					 err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "stream version 1, this vmon version 2"));

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
	raw_record(p.tx.fd, 11, NULL, 0, 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(
		err, "record type 11 is not in migration stream version 2"));
	assert_non_null(strstr(err, "has not announced its version"));
	/* After it: named. */
	p.rx.peer_version = 2;
	raw_record(p.tx.fd, 0, NULL, 0, 0);
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(
		err, "record type 0 is not in migration stream version 2"));
	assert_non_null(strstr(err, "announced version 2"));
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
	raw_record(p.tx.fd, MIG_SYNC, "abc", 3, crc64(0, "abd", 3));
	assert_int_equal(
		mig_recv(&p.rx, &type, &got, &len, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "checksum mismatch"));
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
		cmocka_unit_test(test_unix_listen_owner_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
