// SPDX-License-Identifier: GPL-2.0-only
/*
 * dest.c - the receiving side of a live migration (migration.h): waits
 * for the source, receives the prelude, fills guest RAM from page
 * batches (every index and count checked against the VM), receives the
 * state and answers the source.
 */
#include "migration.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../snapshot/snapshot.h"
#include "../util/bounds.h"
#include "../util/log.h"
#include "../vmm/vm.h"

/* Waits between records: a source may pause while the link is slow. */
#define RECV_TIMEOUT_MS 600000
/* How long a connection refused for its token may keep sending. */
#define REFUSED_DRAIN_MS 2000

int mig_listen_url(struct mig_dest *d, const char *url, char *err,
		   size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->conn.fd = -1;
	d->listen_fd = -1;
	if (mig_addr_parse(url, &d->addr, err, errlen))
		return -1;
	d->listen_fd = mig_listen(&d->addr, err, errlen);
	if (d->listen_fd < 0)
		return -1;
	snprintf(d->url, sizeof(d->url), "%s", url);
	return 0;
}

static void drain_source(struct mig_dest *d, int max_ms);

int mig_greet(struct mig_dest *d, char *err, size_t errlen)
{
	uint8_t *first = NULL;
	uint32_t type = 0;
	size_t len;
	int r;

	if (!d->token.set)
		return 0;
	/* A stranger's record is not read beyond a token exchange's size. */
	if (mig_recv_max(&d->conn, &type, &first, &len, MIG_AUTH_TIMEOUT_MS,
			 mig_payload_max(MIG_AUTH), err, errlen)) {
		if (type == MIG_HELLO)
			snprintf(
				err, errlen,
				"the source gave no migration token (this destination requires one)");
		return -1;
	}
	r = mig_auth_dest(&d->conn, &d->token, type, first, len, err, errlen);
	free(first);
	return r;
}

int mig_accept(struct mig_dest *d, struct snapshot *s, char *err, size_t errlen)
{
	char scratch[MIG_ERR_MAX];
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int fd;

	pr_info("waiting for a migration on %s%s", d->url,
		d->token.set ? " (a source with the token)" : "");
	/* A unix: socket is its owner's alone (mig_listen()). */
	if (!d->token.set && !d->addr.unix_sock)
		pr_warn("migration on %s: no migration token: whoever connects first is taken as the source (docs/migration.md)",
			d->url);
	for (;;) {
		do {
			fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		} while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			/* EINVAL: shut down by a signal's stop (api_main.c). */
			snprintf(
				err, errlen, "%s: %s", d->url,
				errno == EINVAL ?
					"stopped while waiting for the source" :
					strerror(errno));
			break;
		}
		mig_conn_init(&d->conn, fd);
		if (!mig_greet(d, err, errlen))
			break;
		/*
		 * Refused for its token: told why, and the address stays
		 * open for the real source.
		 */
		d->refused++;
		bound_hit(BOUND_MIG_TOKEN);
		pr_warn("migration on %s: refused connection %u: %s", d->url,
			d->refused, err);
		mig_send(&d->conn, MIG_ERROR, err, strlen(err) + 1, scratch,
			 sizeof(scratch));
		drain_source(d, REFUSED_DRAIN_MS);
		mig_conn_close(&d->conn);
	}
	close(d->listen_fd);
	d->listen_fd = -1;
	if (d->addr.unix_sock)
		unlink(d->addr.path);
	d->addr.unix_sock = false;
	if (fd < 0)
		return -1;
	if (mig_recv(&d->conn, &type, &payload, &len, RECV_TIMEOUT_MS, err,
		     errlen))
		return -1;
	if (type == MIG_AUTH) {
		/* The source has a token, this destination none. */
		mig_auth_dest(&d->conn, NULL, type, payload, len, err, errlen);
		free(payload);
		return -1;
	}
	if (type != MIG_HELLO) {
		snprintf(
			err, errlen,
			"the source began with record type %u, not the prelude",
			type);
		free(payload);
		return -1;
	}
	if (mig_hello_check(&d->conn, payload, len, "the source", err,
			    errlen)) {
		free(payload);
		return -1;
	}
	/* The state file follows the version. */
	len -= MIG_HELLO_HEAD;
	memmove(payload, payload + MIG_HELLO_HEAD, len);
	if (snapshot_parse(s, payload, len, err, errlen)) {
		free(payload);
		return -1;
	}
	s->data = payload;
	return 0;
}

/*
 * Copies one PAGES record into guest RAM; 0 or -1 with @err. A page of
 * zeros is cleared only if an earlier record wrote it (@written): the
 * rest of RAM is still the kernel's zeros, never faulted in.
 */
static int put_pages(struct vm *vm, uint64_t *written, const uint8_t *p,
		     size_t len, char *err, size_t errlen, uint64_t *pages)
{
	uint64_t ram_pages = vm->mem.ram_size / MIG_PAGE;
	const uint8_t *data;
	uint32_t n;
	size_t need;

	if (len < 8)
		goto bad;
	memcpy(&n, p, 4);
	if (n > MIG_BATCH_PAGES || len < 8 + 8ULL * n)
		goto bad;
	data = p + 8 + 8ULL * n;
	need = 8 + 8ULL * n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e, idx;
		uint8_t *dst;

		memcpy(&e, p + 8 + 8ULL * i, 8);
		idx = e & ~MIG_PAGE_ZERO;
		if (idx >= ram_pages) {
			snprintf(
				err, errlen,
				"corrupt stream: page %llu beyond the VM's %llu",
				(unsigned long long)idx,
				(unsigned long long)ram_pages);
			return -1;
		}
		dst = vm->mem.base + idx * MIG_PAGE;
		if (e & MIG_PAGE_ZERO) {
			if (written[idx / 64] & (1ULL << (idx % 64)))
				memset(dst, 0, MIG_PAGE);
			continue;
		}
		need += MIG_PAGE;
		if (need > len)
			goto bad;
		written[idx / 64] |= 1ULL << (idx % 64);
		memcpy(dst, data, MIG_PAGE);
		data += MIG_PAGE;
	}
	if (need != len)
		goto bad;
	*pages += n;
	return 0;
bad:
	snprintf(
		err, errlen,
		"corrupt stream: a page batch of %zu bytes does not match its list",
		len);
	return -1;
}

int mig_receive_memory(struct mig_dest *d, struct vm *vm, struct snapshot *s,
		       char *err, size_t errlen)
{
	uint8_t hello[MIG_HELLO_HEAD];
	uint64_t pages = 0;

	/* The VM is built (its CPU model accepted): the pages may come. */
	mig_hello_head(hello);
	if (mig_send(&d->conn, MIG_HELLO, hello, sizeof(hello), err, errlen))
		return -1;
	free(d->written);
	d->written = calloc((vm->mem.ram_size / MIG_PAGE + 63) / 64, 8);
	if (!d->written) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		uint8_t *payload;
		uint32_t type, flags;
		size_t len;
		int r = -1;

		if (mig_recv(&d->conn, &type, &payload, &len, RECV_TIMEOUT_MS,
			     err, errlen))
			return -1;
		/*
		 * After the post-copy page list, RAM's missing pages wait for
		 * the userfaultfd's handler, which starts with the state: a
		 * page written before that would block this thread for good.
		 * A source sends the state right after the list.
		 */
		if (d->post && type != MIG_STATE && type != MIG_ERROR) {
			snprintf(
				err, errlen,
				"corrupt stream: record type %u between the post-copy page list and the state",
				type);
			free(payload);
			return -1;
		}
		if (type == MIG_PAGES) {
			r = put_pages(vm, d->written, payload, len, err, errlen,
				      &pages);
			free(payload);
			if (r)
				return -1;
			continue;
		}
		if (type == MIG_DISKS || type == MIG_BLOCKS) {
			r = type == MIG_DISKS ?
				    mig_disks_accept(d, vm, payload, len, err,
						     errlen) :
				    mig_disks_put(d, payload, len, err, errlen);
			free(payload);
			if (r)
				return -1;
			continue;
		}
		if (type == MIG_SYNC) {
			/* Caught up: the source may pause now. */
			free(payload);
			if (mig_send(&d->conn, MIG_SYNC, NULL, 0, err, errlen))
				return -1;
			continue;
		}
		if (type == MIG_DISCARD) {
			r = mig_postcopy_prepare(d, vm, payload, len, err,
						 errlen);
			free(payload);
			if (r)
				return -1;
			continue;
		}
		if (type == MIG_ERROR) {
			snprintf(err, errlen, "the source gave up: %.*s",
				 (int)(len > 400 ? 400 : len),
				 payload ? (char *)payload : "");
		} else if (type != MIG_STATE || len < 4) {
			snprintf(err, errlen, "unexpected record type %u",
				 type);
		} else {
			struct snapshot st;

			memcpy(&flags, payload, 4);
			d->run = flags & MIG_STATE_RUN;
			if (!(flags & MIG_STATE_POSTCOPY) != !d->post) {
				snprintf(
					err, errlen,
					"corrupt stream: post-copy state without its page list");
				free(payload);
				return -1;
			}
			r = snapshot_parse(&st, payload + 4, len - 4, err,
					   errlen);
			if (!r && (st.info.nr_vcpus != s->info.nr_vcpus ||
				   st.info.mem_size != s->info.mem_size)) {
				snprintf(
					err, errlen,
					"the state does not match the prelude");
				r = -1;
			}
			if (r || st.info.type != SNAPSHOT_FULL) {
				free(st.config);
				free(st.pages);
				if (!r)
					snprintf(err, errlen,
						 "the state is not a Full one");
				r = -1;
			}
			if (!r) {
				/* The state's rest points into payload. */
				free(s->config);
				free(s->data);
				s->config = st.config;
				s->rest = st.rest;
				s->cpu_model = st.cpu_model;
				s->data = payload;
				pr_info("migration: received %llu pages and the state",
					(unsigned long long)pages);
				/* The disks reach storage before the answer. */
				if (mig_disks_sync(d, err, errlen))
					return -1;
				/* Restoring touches memory: pages must come. */
				return d->post ? mig_postcopy_start(d, err,
								    errlen) :
						 0;
			}
		}
		free(payload);
		return -1;
	}
}

/*
 * After ERROR: the source may still be sending pages. Closing with them
 * unread would reset the connection, and a reset can drop the ERROR
 * before the source reads it (it would only see "connection closed").
 * So the sending side is closed and what still comes is read and thrown
 * away until the source, told, closes its side (or DRAIN_MS passed).
 */
#define DRAIN_MS 10000
static void drain_source(struct mig_dest *d, int max_ms)
{
	struct timespec t0, t;
	char buf[65536];

	shutdown(d->conn.fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pf = { .fd = d->conn.fd, .events = POLLIN };
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= max_ms || poll(&pf, 1, (int)(max_ms - ms)) <= 0 ||
		    recv(d->conn.fd, buf, sizeof(buf), 0) <= 0)
			return;
	}
}

int mig_finish(struct mig_dest *d, const char *fail)
{
	char err[MIG_ERR_MAX];
	int ret = -1;

	if (d->post && d->post_started) {
		/* The post-copy threads share the connection. */
		ret = mig_postcopy_send(d, fail ? MIG_ERROR : MIG_DONE, fail,
					fail ? strlen(fail) + 1 : 0);
		return fail ? -1 : ret;
	}
	if (d->conn.fd >= 0) {
		if (fail) {
			mig_send(&d->conn, MIG_ERROR, fail, strlen(fail) + 1,
				 err, sizeof(err));
			drain_source(d, DRAIN_MS);
		} else if (mig_send(&d->conn, MIG_DONE, NULL, 0, err,
				    sizeof(err)))
			pr_warn("migration: cannot tell the source: %s", err);
		else
			ret = 0;
	}
	mig_conn_close(&d->conn);
	return ret;
}

void mig_dest_free(struct mig_dest *d)
{
	mig_postcopy_free(d);
	mig_disks_dst_free(d);
	free(d->written);
	d->written = NULL;
	explicit_bzero(&d->token, sizeof(d->token));
	mig_conn_close(&d->conn);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
	if (d->addr.unix_sock)
		unlink(d->addr.path);
	d->addr.unix_sock = false;
}
