// SPDX-License-Identifier: GPL-2.0-only
/*
 * postcopy.c - the receiving side of a post-copy migration (migration.h):
 * the pages the source had not sent when the VM moved are dropped from
 * guest RAM and registered with userfaultfd; a fault thread asks the
 * source for each page the guest (or a device) touches, a receive thread
 * installs the pages as they come (asked for or pushed in the
 * background) with UFFDIO_COPY, until the source says all were sent. A
 * page the guest gives back meanwhile (the balloon) is no longer to come:
 * it reads as zeros, as a page given back does (postcopy_discard()).
 */
#include "migration.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/seccomp.h"
#include "../util/thread.h"
#include "../vmm/exitcode.h"
#include "../vmm/vm.h"

/* Waits for pages: the source may be slow, but not silent this long. */
#define PAGE_TIMEOUT_MS 120000

struct mig_postcopy {
	struct mig_dest *d;
	struct vm *vm;
	int uffd, stop_efd;
	_Atomic uint64_t *missing; /* pages not here yet */
	uint64_t *asked; /* fault thread only: pages requested */
	uint64_t words;
	pthread_t fault_thread, recv_thread;
	bool threads;
	pthread_mutex_t send_lock; /* the connection's sending side */
	/* Held by install() and postcopy_discard(): one at a time. */
	pthread_mutex_t install_lock;
	atomic_bool ended; /* every page arrived */
	atomic_uint_fast64_t faults, received;
};

static bool test_bit(_Atomic uint64_t *b, uint64_t pg)
{
	return atomic_load(&b[pg / 64]) & (1ULL << (pg % 64));
}

/* Clears @pg; true if it was set. */
static bool take_bit(_Atomic uint64_t *b, uint64_t pg)
{
	uint64_t bit = 1ULL << (pg % 64);

	return atomic_fetch_and(&b[pg / 64], ~bit) & bit;
}

/*
 * vm_discard() during post-copy (the balloon gives pages back): the pages
 * still to come are taken off the list before the range goes, so that
 * the source's copy never lands in a page the guest gave away (it reads
 * as zeros, as a page given back does in anonymous memory, and the
 * background push does not fill the host's memory with it again). Under
 * install_lock: a copy install() began before is dropped by the
 * madvise(), none lands after it.
 */
static int postcopy_discard(void *opaque, uint8_t *hva, uint64_t len)
{
	struct mig_postcopy *p = opaque;
	uint64_t first = (uint64_t)(hva - p->vm->mem.base) / MIG_PAGE;
	uint64_t end = first + len / MIG_PAGE;
	int r;

	if (end > p->vm->mem.ram_size / MIG_PAGE)
		end = p->vm->mem.ram_size / MIG_PAGE;
	pthread_mutex_lock(&p->install_lock);
	for (uint64_t pg = first; pg < end; pg++)
		take_bit(p->missing, pg);
	r = madvise(hva, len,
		    p->vm->mem.file_shared ? MADV_REMOVE : MADV_DONTNEED);
	pthread_mutex_unlock(&p->install_lock);
	return r;
}

int mig_postcopy_prepare(struct mig_dest *d, struct vm *vm,
			 const uint8_t *bitmap, size_t len, char *err,
			 size_t errlen)
{
	uint64_t words = (vm->mem.ram_size / MIG_PAGE + 63) / 64;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)vm->mem.base,
			   .len = vm->mem.ram_size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct mig_postcopy *p;
	uint64_t n = 0;

	if (d->post || len != words * 8) {
		snprintf(
			err, errlen,
			"corrupt stream: a page list of %zu bytes for %llu pages",
			len, (unsigned long long)(vm->mem.ram_size / MIG_PAGE));
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->missing = calloc(words, 8)) ||
	    !(p->asked = calloc(words, 8))) {
		if (p)
			free((void *)p->missing);
		free(p);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->post = p;
	p->d = d;
	p->vm = vm;
	p->words = words;
	p->stop_efd = -1;
	pthread_mutex_init(&p->send_lock, NULL);
	pthread_mutex_init(&p->install_lock, NULL);
	memcpy((void *)p->missing, bitmap, len);
	/* 4 KiB pages: the holes below are single pages. */
	madvise(vm->mem.base, vm->mem.ram_size, MADV_NOHUGEPAGE);
	/* One madvise() per run of missing pages, not one per page. */
	for (uint64_t pg = 0, end = vm->mem.ram_size / MIG_PAGE; pg < end;) {
		uint64_t run = pg;

		while (run < end && test_bit(p->missing, run))
			run++;
		if (run > pg)
			madvise(vm->mem.base + pg * MIG_PAGE,
				(run - pg) * MIG_PAGE, MADV_DONTNEED);
		n += run - pg;
		pg = run > pg ? run : pg + 1;
	}
	p->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	p->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->uffd < 0 || p->stop_efd < 0 ||
	    ioctl(p->uffd, UFFDIO_API, &api) ||
	    ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
		snprintf(err, errlen, "post-copy needs userfaultfd: %s",
			 strerror(errno));
		return -1;
	}
	/* Missing pages come from the source, not as zeros: no pagemap hint. */
	vm->mem.anon = false;
	vm_set_discard_hook(vm, postcopy_discard, p);
	pr_info("migration: post-copy, %llu pages to come",
		(unsigned long long)n);
	return 0;
}

/* Sends one record under the send lock (the fault thread and DONE). */
static int send_locked(struct mig_postcopy *p, enum mig_rec type,
		       const void *payload, size_t len)
{
	char err[MIG_ERR_MAX];
	int r;

	pthread_mutex_lock(&p->send_lock);
	/* After END the connection is closed for sending. */
	r = atomic_load(&p->ended) ?
		    -1 :
		    mig_send(&p->d->conn, type, payload, len, err, sizeof(err));
	pthread_mutex_unlock(&p->send_lock);
	if (r && atomic_load(&p->ended))
		return r;
	if (r)
		pr_warn("post-copy: %s", err);
	return r;
}

/*
 * A fault on a page that is not coming: here already (a race with its
 * arrival: EEXIST), or dropped since by vmon itself (the balloon): zeros.
 * Under install_lock: install() takes a page's bit before its copy lands,
 * and a zero page put in between would win over the copy (EEXIST).
 */
static void zero_page(struct mig_postcopy *p, uint64_t pg)
{
	struct uffdio_zeropage z = {
		.range = { .start = (uintptr_t)p->vm->mem.base + pg * MIG_PAGE,
			   .len = MIG_PAGE }
	};

	if (ioctl(p->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
		pr_warn("post-copy: page %llu: %s", (unsigned long long)pg,
			strerror(errno));
}

/* Reads the pending faults and asks the source for their pages. */
static void ask(struct mig_postcopy *p)
{
	uint8_t req[8 + 8 * MIG_BATCH_PAGES];
	struct uffd_msg msg[16];
	uint32_t n = 0;
	ssize_t got;

	while ((got = read(p->uffd, msg, sizeof(msg))) > 0) {
		for (ssize_t i = 0; i < got / (ssize_t)sizeof(msg[0]); i++) {
			uint64_t a = msg[i].arg.pagefault.address, pg;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			pg = (a - (uintptr_t)p->vm->mem.base) / MIG_PAGE;
			atomic_fetch_add(&p->faults, 1);
			if (pg * MIG_PAGE >= p->vm->mem.ram_size)
				continue;
			if (!test_bit(p->missing, pg)) {
				/* Its copy may be on the way in: wait for it. */
				pthread_mutex_lock(&p->install_lock);
				zero_page(p, pg);
				pthread_mutex_unlock(&p->install_lock);
				continue;
			}
			if (p->asked[pg / 64] & (1ULL << (pg % 64)))
				continue;
			p->asked[pg / 64] |= 1ULL << (pg % 64);
			memcpy(req + 8 + 8ULL * n++, &pg, 8);
			if (n == MIG_BATCH_PAGES)
				break;
		}
		if (n == MIG_BATCH_PAGES)
			break;
	}
	if (!n)
		return;
	memcpy(req, &n, 4);
	memset(req + 4, 0, 4);
	send_locked(p, MIG_REQ, req, 8 + 8ULL * n);
}

static void *fault_main(void *opaque)
{
	struct mig_postcopy *p = opaque;

	seccomp_thread_enter(THREAD_MIGRATE);
	while (!atomic_load(&p->ended)) {
		struct pollfd f[2] = { { .fd = p->uffd, .events = POLLIN },
				       { .fd = p->stop_efd,
					 .events = POLLIN } };

		if (poll(f, 2, -1) < 0 && errno != EINTR)
			break;
		if (f[1].revents)
			break;
		if (f[0].revents)
			ask(p);
	}
	return NULL;
}

/*
 * Installs the pages of one PAGES record; -1 on a corrupt record. A page
 * that is not to come any more gets zeros instead: one the guest gave
 * back (postcopy_discard()) that a vCPU faulted on before, and whose
 * fault waits for this answer; a page already here is left as it is
 * (EEXIST).
 */
static int install(struct mig_postcopy *p, const uint8_t *rec, size_t len)
{
	uint64_t ram_pages = p->vm->mem.ram_size / MIG_PAGE;
	const uint8_t *data;
	uint32_t n;
	int ret = 0;

	if (len < 8 || (memcpy(&n, rec, 4), n > MIG_BATCH_PAGES) ||
	    len < 8 + 8ULL * n)
		return -1;
	data = rec + 8 + 8ULL * n;
	pthread_mutex_lock(&p->install_lock);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e, pg;
		uintptr_t dst;
		bool zero;
		int r;

		memcpy(&e, rec + 8 + 8ULL * i, 8);
		pg = e & ~MIG_PAGE_ZERO;
		zero = e & MIG_PAGE_ZERO;
		if (pg >= ram_pages ||
		    (!zero && (size_t)(data + MIG_PAGE - rec) > len)) {
			ret = -1;
			break;
		}
		dst = (uintptr_t)p->vm->mem.base + pg * MIG_PAGE;
		if (take_bit(p->missing, pg)) {
			struct uffdio_copy c = { .dst = dst,
						 .src = (uintptr_t)data,
						 .len = MIG_PAGE };
			struct uffdio_zeropage z = {
				.range = { .start = dst, .len = MIG_PAGE }
			};

			r = zero ? ioctl(p->uffd, UFFDIO_ZEROPAGE, &z) :
				   ioctl(p->uffd, UFFDIO_COPY, &c);
			/*
			 * A missing page is filled by this copy alone: one
			 * there already means its content was lost.
			 */
			if (r && errno == EEXIST)
				pr_warn("post-copy: page %llu was filled before its copy came: its content is lost",
					(unsigned long long)pg);
			else if (r)
				pr_warn("post-copy: page %llu: %s",
					(unsigned long long)pg,
					strerror(errno));
			atomic_fetch_add(&p->received, 1);
		} else {
			zero_page(p, pg);
		}
		if (!zero)
			data += MIG_PAGE;
	}
	pthread_mutex_unlock(&p->install_lock);
	return ret;
}

static void *recv_main(void *opaque)
{
	struct mig_postcopy *p = opaque;
	char err[MIG_ERR_MAX] = "";

	seccomp_thread_enter(THREAD_MIGRATE);
	for (;;) {
		uint8_t *rec;
		uint32_t type;
		size_t len;
		int r = -1;

		if (mig_recv(&p->d->conn, &type, &rec, &len, PAGE_TIMEOUT_MS,
			     err, sizeof(err)))
			break;
		if (type == MIG_PAGES)
			r = install(p, rec, len);
		free(rec);
		if (type == MIG_END) {
			struct uffdio_range all = {
				.start = (uintptr_t)p->vm->mem.base,
				.len = p->vm->mem.ram_size
			};

			/* Every page is here: RAM is ordinary memory again. */
			if (ioctl(p->uffd, UFFDIO_UNREGISTER, &all))
				pr_warn("post-copy: UFFDIO_UNREGISTER: %s",
					strerror(errno));
			/*
			 * Read END: the source, which reads our requests
			 * until then, may close without a reset.
			 */
			pthread_mutex_lock(&p->send_lock);
			atomic_store(&p->ended, true);
			shutdown(p->d->conn.fd, SHUT_WR);
			pthread_mutex_unlock(&p->send_lock);
			pr_info("migration: post-copy done: %llu pages came, %llu faults",
				(unsigned long long)atomic_load(&p->received),
				(unsigned long long)atomic_load(&p->faults));
			return NULL;
		}
		if (r) {
			snprintf(err, sizeof(err),
				 "corrupt or unexpected record (type %u)",
				 type);
			break;
		}
	}
	/* Without the rest of its memory the guest cannot go on. */
	pr_err("post-copy migration: %s: the VM stops", err);
	vm_request_stop(p->vm, EXIT_HOST, "post-copy: the source is gone");
	return NULL;
}

int mig_postcopy_start(struct mig_dest *d, char *err, size_t errlen)
{
	struct mig_postcopy *p = d->post;
	int e = thread_spawn(&p->recv_thread, recv_main, p);

	if (!e) {
		e = thread_spawn(&p->fault_thread, fault_main, p);
		if (e) {
			/* The receiver ends with the connection. */
			shutdown(d->conn.fd, SHUT_RDWR);
			pthread_join(p->recv_thread, NULL);
		}
	}
	if (e) {
		snprintf(err, errlen, "post-copy: cannot start a thread: %s",
			 strerror(e));
		return -1;
	}
	p->threads = true;
	d->post_started = true;
	return 0;
}

int mig_postcopy_send(struct mig_dest *d, enum mig_rec type,
		      const void *payload, size_t len)
{
	return send_locked(d->post, type, payload, len);
}

void mig_postcopy_free(struct mig_dest *d)
{
	struct mig_postcopy *p = d->post;
	uint64_t one = 1;

	if (!p)
		return;
	/* Before p goes: the balloon no longer reaches it. */
	vm_set_discard_hook(p->vm, NULL, NULL);
	if (p->threads) {
		/* The receiver leaves on END, an error, or the shutdown. */
		if (!atomic_load(&p->ended))
			shutdown(d->conn.fd, SHUT_RDWR);
		pthread_join(p->recv_thread, NULL);
		if (write(p->stop_efd, &one, sizeof(one)) < 0) {
			/* cannot fail: a fresh counter */
		}
		pthread_join(p->fault_thread, NULL);
	}
	/* Faults still waiting are let go (the VM is ending). */
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->stop_efd >= 0)
		close(p->stop_efd);
	pthread_mutex_destroy(&p->send_lock);
	pthread_mutex_destroy(&p->install_lock);
	free((void *)p->missing);
	free(p->asked);
	free(p);
	d->post = NULL;
	mig_conn_close(&d->conn);
}
