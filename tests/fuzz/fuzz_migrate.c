// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_migrate.c - libFuzzer target for the receiving side of a live
 * migration (src/migration/stream.c, dest.c, disks.c, postcopy.c): what a
 * peer that connects to `--migrate-receive tcp:...` (or PUT
 * /migration/receive) sends after the prelude. The records go through a
 * socket pair into mig_receive_memory() on a VM without KVM (256 KiB of
 * RAM, a writable 64 KiB disk and a read-only one): page batches, zero
 * pages, zstd records, the disk list and disk runs, SYNC, the post-copy
 * page list and the state; after a post-copy state, the post-copy
 * receiver's own records (pages installed with userfaultfd, END). Nothing
 * may crash, leak, hang or write outside the VM's RAM and disks, and a
 * refusal always says why.
 *
 * Input: byte 0: bit 0 makes the prelude disagree with the state (another
 * vCPU count); 0x80 or 0x81 gives the destination a migration token:
 * the records then go to the token exchange (mig_greet(), auth.c) and
 * no further (the destination's nonce is random: no input can hold its
 * proof). Then records: [0] type (bits 0-4: the record type, any
 * value), [1] how to frame it (bit 0 the zstd flag, bit 1 a wrong CRC,
 * bit 2 a wrong magic, bit 3 the state file's own checksum made right,
 * bit 4 an unknown flag), [2..3] payload length (little-endian, cut to
 * what is left), the payload. The prelude (the source's HELLO, parsed by
 * the code fuzz_snapshot covers) is taken as the first STATE record's.
 * Seeds: tests/fuzz/make_seeds_migrate.py.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "migration/migration.h"
#include "migration/stream.h"
#include "snapshot/crc64.h"
#include "snapshot/snapshot.h"
#include "util/le.h"
#include "vmm/vm.h"

#include "fuzz_vm.h"

#define RAM_SIZE (256u << 10)
#define DISK_SIZE (64u << 10)
/* The longest the post-copy receiver may take to drain an input. */
#define POST_WAIT_MS 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct vm_config cfg;
static uint8_t *ram;

struct writer {
	int fd;
	const uint8_t *buf;
	size_t len;
};

static void setup(void)
{
	int fd = memfd_create("fuzz-migrate-disk", 0);

	if (fd < 0 || ftruncate(fd, DISK_SIZE))
		abort();
	ram = fuzz_vm_init(&vm, RAM_SIZE, 0, 0);
	vm.mem.base = ram; /* the one mapping of RAM, as vm_create() makes */
	/* A post-copy receiver that fails stops the VM: it says so here. */
	vm.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm.stop_efd < 0)
		abort();
	cfg.nr_disks = 2;
	snprintf(cfg.disks[0].path, sizeof(cfg.disks[0].path),
		 "/proc/self/fd/%d", fd);
	snprintf(cfg.disks[1].path, sizeof(cfg.disks[1].path),
		 "/proc/self/fd/%d", fd);
	cfg.disks[1].readonly = true;
	vm.cfg = &cfg;
	signal(SIGPIPE, SIG_IGN);
}

/* Sends the stream, then ends it; stops when the receiver has gone. */
static void *write_main(void *opaque)
{
	struct writer *w = opaque;
	size_t off = 0;

	while (off < w->len) {
		ssize_t n =
			send(w->fd, w->buf + off, w->len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/*
 * The input's records framed as a source would (with the input's
 * mistakes); the first STATE record's state file, checked, in @prelude.
 */
static uint8_t *frame(const uint8_t *data, size_t size, size_t *out_len,
		      struct snapshot_info *prelude)
{
	uint8_t *out = malloc(size / 4 * 24 + size + 24);
	bool have_prelude = false;
	size_t o = 0, i = 1;

	if (!out)
		abort();
	while (i + 4 <= size) {
		uint8_t type = data[i] & 31, how = data[i + 1];
		size_t len = (size_t)data[i + 2] | (size_t)data[i + 3] << 8;
		uint8_t *head = out + o, *p = out + o + MIG_HEAD_SIZE;

		i += 4;
		if (len > size - i)
			len = size - i;
		memcpy(p, data + i, len);
		i += len;
		if (type == MIG_STATE && (how & 8) &&
		    len >= 4 + SNAPSHOT_HEAD_SIZE + SNAPSHOT_CRC_SIZE)
			put_le64(p + len - SNAPSHOT_CRC_SIZE,
				 crc64(0, p + 4, len - 4 - SNAPSHOT_CRC_SIZE));
		if (type == MIG_STATE && !have_prelude && len >= 4) {
			struct snapshot s;
			char err[SNAPSHOT_ERR_MAX];

			if (!snapshot_parse(&s, p + 4, len - 4, err,
					    sizeof(err))) {
				*prelude = s.info;
				free(s.config);
				free(s.pages);
				have_prelude = true;
			}
		}
		put_le32(head, (how & 4) ? 0x12345678 : MIG_MAGIC);
		put_le32(head + 4, type | (uint32_t)(how & 1) << 16 |
					   (uint32_t)((how >> 4) & 1) << 17);
		put_le64(head + 8, len);
		put_le64(head + 16, crc64(0, p, len) ^ ((how & 2) ? 1 : 0));
		o += MIG_HEAD_SIZE + len;
	}
	*out_len = o;
	return out;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Post-copy: lets the receiver thread take the rest of the stream; it
 * ends with END (it shuts the connection's sending side: EOF on @fd) or
 * with an error (it stops the VM: vm.stop_efd). Reads what the
 * destination sends meanwhile.
 */
static void wait_postcopy(int fd)
{
	struct timespec t0;
	char buf[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&vm.stopping) && ms_since(&t0) < POST_WAIT_MS) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN },
					{ .fd = vm.stop_efd,
					  .events = POLLIN } };

		if (poll(pf, 2, 100) > 0 && (pf[0].revents & POLLIN) &&
		    read(fd, buf, sizeof(buf)) == 0)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_info prelude = { 0 };
	char err[MIG_ERR_MAX] = "";
	struct mig_dest d = { .listen_fd = -1 };
	struct snapshot s = { .mem_fd = -1 };
	struct writer w;
	pthread_t writer;
	size_t len;
	uint8_t *stream;
	int fds[2], r;
	uint64_t one;

	if (!ram)
		setup();
	if (size < 1)
		return 0;
	stream = frame(data, size, &len, &prelude);
	s.info = prelude;
	if (data[0] & 1)
		s.info.nr_vcpus++;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
		abort();
	/* Most streams fit in the socket: no writer thread, no hand-offs. */
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUFFORCE, &(int){ 4 << 20 },
		   sizeof(int));
	/*
	 * The destination's answers (one SYNC per SYNC: up to 16384 in an
	 * input) are not read here, as a source would: room for all of
	 * them, or it blocks in send() (bench/fuzz's timeout-f010b38f...).
	 */
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUFFORCE, &(int){ 64 << 20 },
		   sizeof(int));
	w = (struct writer){ .fd = fds[1], .buf = stream, .len = len };
	while (w.len) {
		ssize_t n =
			send(w.fd, w.buf, w.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		w.buf += n;
		w.len -= (size_t)n;
	}
	if (!w.len)
		shutdown(fds[1], SHUT_WR);
	else if (pthread_create(&writer, NULL, write_main, &w))
		abort();
	mig_conn_init(&d.conn, fds[0]);
	if ((data[0] & 0xfe) == 0x80) {
		d.token.set = true;
		memset(d.token.key, 0x5a, sizeof(d.token.key));
		r = mig_greet(&d, err, sizeof(err));
		if (!r)
			abort(); /* a proof no input can hold */
	} else {
		r = mig_receive_memory(&d, &vm, &s, err, sizeof(err));
	}
	if (r && !*err)
		abort(); /* a refusal always says why */
	if (!r && d.post_started)
		wait_postcopy(fds[1]);
	if (getenv("FUZZ_MIGRATE_VERBOSE"))
		fprintf(stderr, "fuzz_migrate: %s%s%s\n",
			r ? "refused: " : "received",
			!r && d.post_started ? " (post-copy)" : "", err);
	/* Closes the connection: a writer still sending stops. */
	mig_dest_free(&d);
	if (w.len)
		pthread_join(writer, NULL);
	close(fds[1]);
	snapshot_close(&s);
	free(stream);
	/* The next input finds a fresh VM: RAM of zeros, running. */
	madvise(ram, RAM_SIZE, MADV_DONTNEED);
	atomic_store(&vm.stopping, false);
	if (read(vm.stop_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
	return 0;
}
