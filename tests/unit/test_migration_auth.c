// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_migration_auth.c - the migration token (src/migration/auth.c,
 * dest.c): a token file is read only if it is a regular file its owner
 * alone may read, of 16 bytes to 4 KiB (its end's whitespace not part of
 * it); source and destination with the same token accept each other,
 * with different ones each refuses, naming why; a destination with a
 * token refuses a source without one (and the other way round); a
 * destination with a token that is sent a stranger's connection refuses
 * it, tells it why and goes on listening for the real source.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "migration/migration.h"
#include "snapshot/snapshot.h"
#include "util/bounds.h"

static char dir[] = "/tmp/vmon-auth-test-XXXXXX";

/* Writes @text to DIR/@name with @mode; the path in @path. */
static void token_file(const char *name, const char *text, mode_t mode,
		       char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void load(const char *name, const char *text, struct mig_token *t)
{
	char path[256], err[MIG_ERR_MAX];

	token_file(name, text, 0600, path, sizeof(path));
	assert_int_equal(mig_token_load(path, t, err, sizeof(err)), 0);
	assert_true(t->set);
}

static void test_token_file(void **state)
{
	char path[256], err[MIG_ERR_MAX];
	struct mig_token a, b;

	(void)state;
	load("a", "correct horse battery staple\n", &a);
	load("b", "correct horse battery staple", &b);
	assert_memory_equal(a.key, b.key, sizeof(a.key));
	load("c", "correct horse battery stapler\n", &b);
	assert_memory_not_equal(a.key, b.key, sizeof(a.key));

	token_file("open", "correct horse battery staple\n", 0644, path,
		   sizeof(path));
	assert_int_equal(mig_token_load(path, &a, err, sizeof(err)), -1);
	assert_false(a.set);
	assert_non_null(strstr(err, "(mode 0644): chmod 600 it"));

	{
		char big[5000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		token_file("big", big, 0600, path, sizeof(path));
		assert_int_equal(mig_token_load(path, &a, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "more than 4096 bytes"));
		big[4097] = 0; /* 4097 bytes: one too many */
		token_file("big", big, 0600, path, sizeof(path));
		assert_int_equal(mig_token_load(path, &a, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "4097 bytes; give 16 to 4096"));
	}

	token_file("short", "0123456789abcde\n", 0600, path, sizeof(path));
	assert_int_equal(mig_token_load(path, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "15 bytes; give 16 to 4096"));

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(mig_token_load(path, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(mig_token_load(path, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_non_null(strstr(err, path));
}

struct source {
	int fd;
	const struct mig_token *t;
	int ret;
	char err[MIG_ERR_MAX];
	bool hello; /* after the exchange, send a (bad) HELLO */
	char answer[MIG_ERR_MAX]; /* the destination's ERROR, if it sent one */
	atomic_bool connected;
};

static void *source_main(void *arg)
{
	struct source *s = arg;
	uint8_t hello[MIG_HELLO_HEAD + 16], *p = NULL;
	char scratch[MIG_ERR_MAX];
	struct mig_conn c;
	uint32_t type;
	size_t len;

	mig_conn_init(&c, s->fd);
	if (s->t)
		s->ret = mig_auth_source(&c, s->t, s->err, sizeof(s->err));
	/* As the migration thread does on a failure. */
	if (s->ret)
		mig_send(&c, MIG_ERROR, s->err, strlen(s->err) + 1, scratch,
			 sizeof(scratch));
	if (!s->ret && (s->hello || !s->t)) {
		/* No state file after the version: parsed and refused. */
		memset(hello, 0, sizeof(hello));
		mig_hello_head(hello);
		s->ret = mig_send(&c, MIG_HELLO, hello, sizeof(hello), s->err,
				  sizeof(s->err));
	}
	/* What the destination says, until it closes. */
	if (!mig_recv(&c, &type, &p, &len, 5000, scratch, sizeof(scratch)) &&
	    type == MIG_ERROR && p)
		snprintf(s->answer, sizeof(s->answer), "%s", (char *)p);
	free(p);
	return NULL;
}

/*
 * The destination's side of a socket pair, given the first record the
 * source sent: mig_auth_dest()'s result, its message in @err.
 */
static int exchange(const struct mig_token *src, const struct mig_token *dst,
		    struct source *s, char *err, size_t errlen)
{
	struct mig_conn c;
	pthread_t th;
	uint8_t *first = NULL;
	uint32_t type;
	size_t len;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(s, 0, sizeof(*s));
	s->fd = sv[0];
	s->t = src;
	assert_int_equal(pthread_create(&th, NULL, source_main, s), 0);
	mig_conn_init(&c, sv[1]);
	assert_int_equal(mig_recv(&c, &type, &first, &len, 5000, err, errlen),
			 0);
	r = mig_auth_dest(&c, dst, type, first, len, err, errlen);
	free(first);
	mig_conn_close(&c);
	pthread_join(th, NULL);
	close(sv[0]);
	return r;
}

static void test_exchange(void **state)
{
	char err[MIG_ERR_MAX];
	struct mig_token a, b;
	struct source s;

	(void)state;
	load("ta", "a token both sides were given\n", &a);
	load("tb", "a token only one side was given\n", &b);

	/* The same token: each side proves it to the other. */
	assert_int_equal(exchange(&a, &a, &s, err, sizeof(err)), 0);
	assert_int_equal(s.ret, 0);

	/* Different tokens: the source finds out first and says so. */
	assert_int_equal(exchange(&a, &b, &s, err, sizeof(err)), -1);
	assert_int_equal(s.ret, -1);
	assert_string_equal(
		s.err, "the destination does not hold this migration token");
	assert_string_equal(
		err,
		"the source refused: the destination does not hold this migration token");

	/* A source without a token, a destination with one. */
	assert_int_equal(exchange(NULL, &a, &s, err, sizeof(err)), -1);
	assert_string_equal(
		err,
		"the source gave no migration token (this destination requires one)");

	/* A source with a token, a destination without. */
	assert_int_equal(exchange(&a, NULL, &s, err, sizeof(err)), -1);
	assert_string_equal(
		err,
		"the source gave a migration token, this destination has none");
	assert_int_equal(s.ret, -1);
}

struct client {
	char path[108];
	const struct mig_token *t;
	struct source s;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		c->s.ret = -2;
		atomic_store(&c->s.connected, true);
		return NULL;
	}
	atomic_store(&c->s.connected, true);
	c->s.fd = fd;
	c->s.t = c->t;
	c->s.hello = true;
	source_main(&c->s);
	close(fd);
	return NULL;
}

/*
 * Starts @c; with @wait, until it is connected: the listening socket's
 * queue keeps the order (it holds two: a third connect waits in the
 * kernel until the first is accepted, then queues behind the second).
 */
static void start_client(struct client *c, const char *path,
			 const struct mig_token *t, bool wait, pthread_t *th)
{
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->t = t;
	assert_int_equal(pthread_create(th, NULL, client_main, c), 0);
	while (wait && !atomic_load(&c->s.connected))
		usleep(1000);
}

static void test_accept_refuses_strangers(void **state)
{
	char url[256], path[200], err[MIG_ERR_MAX];
	struct client stranger = { 0 }, wrong = { 0 }, real = { 0 };
	struct mig_token t, other;
	struct mig_dest d;
	struct snapshot snap;
	pthread_t th[3];

	(void)state;
	load("tr", "the real source's token, 32 B.\n", &t);
	load("to", "a stranger's guess at the token\n", &other);
	snprintf(path, sizeof(path), "%s/in.sock", dir);
	snprintf(url, sizeof(url), "unix:%s", path);
	assert_int_equal(mig_listen_url(&d, url, err, sizeof(err)), 0);
	d.token = t;

	/*
	 * A stranger without a token, one with the wrong token, then the
	 * real source, queued in that order on the listening socket.
	 */
	start_client(&stranger, path, NULL, true, &th[0]);
	start_client(&wrong, path, &other, true, &th[1]);
	start_client(&real, path, &t, false, &th[2]);
	memset(&snap, 0, sizeof(snap));
	/* Past the real source's exchange, its (bad) HELLO is refused. */
	assert_int_equal(mig_accept(&d, &snap, err, sizeof(err)), -1);
	assert_null(strstr(err, "token"));
	assert_int_equal(d.refused, 2);
	assert_int_equal(bound_count(BOUND_MIG_TOKEN), 2);
	mig_finish(&d, err);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	/* The stranger was told; the address was not given up. */
	assert_int_equal(stranger.s.ret, 0);
	assert_string_equal(
		stranger.s.answer,
		"the source gave no migration token (this destination requires one)");
	/* The wrong token: the source itself refuses the destination. */
	assert_int_equal(wrong.s.ret, -1);
	assert_string_equal(
		wrong.s.err,
		"the destination does not hold this migration token");
	/* The real source got through; its HELLO's refusal is the parser's. */
	assert_int_equal(real.s.ret, 0);
	assert_string_equal(real.s.answer, err);
	mig_dest_free(&d);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_accept_refuses_strangers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
