// SPDX-License-Identifier: GPL-2.0-only
/*
 * uffd_handler.c - vmon's on-demand page-fault handler of the Uffd
 * back-end (uffd_handler.h): the listening socket, each VM's message with
 * its userfaultfd and region table, and one loop serving every VM's
 * faults (UFFDIO_COPY from the memory file, mapped read-only once for
 * all; UFFDIO_ZEROPAGE for the pages a VM gave back, which
 * UFFD_EVENT_REMOVE announces), with record-and-prefetch (wset.h).
 */
#include "uffd_handler.h"

#include "wset.h"

#include "../util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MSG_MAX 65536
#define MAX_REGIONS 16
#define MAX_VMS 256
#define PAGE 4096ULL

struct region {
	uint64_t base, size, offset;
};

/* One VM served: its connection, userfaultfd and regions. */
struct vmc {
	unsigned int id; /* 1, 2, ... in the order they connected */
	int conn, uffd; /* uffd -1 until its message came */
	struct region regions[MAX_REGIONS];
	unsigned int nr;
	/* Record-and-prefetch: the pages recorded (when recording). */
	bool recording;
	struct wset rec;
	/*
	 * Pages the VM gave back (UFFD_EVENT_REMOVE), a bit per page of the
	 * memory file: faults there get zeros. NULL until the first.
	 */
	uint64_t *removed;
	uint64_t faults, prefetched, zeroed, removed_pages;
	char err[256]; /* why it was dropped */
};

struct handler {
	const uint8_t *file;
	uint64_t file_size;
	const char *wset_path;
	struct wset pre; /* the working set each VM gets first */
	bool have_pre;
	bool record_free; /* no working set yet: the first VM records one */
	unsigned int max_vms; /* how many may connect in all; 0: any */
	unsigned int came;
	struct vmc *vms[MAX_VMS];
	unsigned int nr_vms;
	FILE *ready;
	char *buf; /* MSG_MAX bytes: a region table */
};

static int fail(struct vmc *v, const char *what)
{
	snprintf(v->err, sizeof(v->err), "%s: %s", what,
		 errno ? strerror(errno) : "invalid");
	return -1;
}

static int listen_on(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 16)) {
		snprintf(err, errlen, "socket %.200s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The VM's message: the region table, with the userfaultfd attached. 1 if
 * it has not come yet (the connection is non-blocking), 0, or -1.
 */
static int receive(struct vmc *v, char *buf, size_t len)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(v->conn, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 1;
	if (n <= 0)
		return fail(v, "receiving the userfaultfd");
	buf[n] = 0;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = 0;
		return fail(v, "the message carries no userfaultfd");
	}
	memcpy(&v->uffd, CMSG_DATA(c), sizeof(int));
	/* poll() reports a blocking userfaultfd as an error. */
	if (fcntl(v->uffd, F_SETFL, fcntl(v->uffd, F_GETFL) | O_NONBLOCK))
		return fail(v, "the userfaultfd");
	return 0;
}

static int parse_region(struct handler *h, struct vmc *v, json_t *e)
{
	json_t *ps = json_object_get(e, "page_size");
	json_t *kib = json_object_get(e, "page_size_kib");
	struct region *r = &v->regions[v->nr];
	json_int_t page = ps ? json_integer_value(ps) :
			       json_integer_value(kib) * 1024;

	r->base = (uint64_t)json_integer_value(
		json_object_get(e, "base_host_virt_addr"));
	r->size = (uint64_t)json_integer_value(json_object_get(e, "size"));
	r->offset = (uint64_t)json_integer_value(json_object_get(e, "offset"));
	errno = 0;
	if (page != (json_int_t)PAGE || !r->size || r->base % PAGE ||
	    r->size % PAGE || r->offset % PAGE || r->offset > h->file_size ||
	    r->size > h->file_size - r->offset)
		return fail(
			v,
			"region table: a region of 4 KiB pages inside the memory file expected");
	v->nr++;
	return 0;
}

static int parse_table(struct handler *h, struct vmc *v, const char *text)
{
	json_t *a = json_loads(text, 0, NULL), *e;
	size_t i;
	int ret = 0;

	errno = 0;
	if (!json_is_array(a) || !json_array_size(a) ||
	    json_array_size(a) > MAX_REGIONS) {
		json_decref(a);
		return fail(v, "region table: not a JSON array of regions");
	}
	json_array_foreach(a, i, e)
	{
		if (!ret)
			ret = parse_region(h, v, e);
	}
	json_decref(a);
	return ret;
}

/* Copies @len bytes of the file at @off to @dst; 1 if already there. */
static int copy_in(struct handler *h, struct vmc *v, uint64_t dst, uint64_t off,
		   uint64_t len)
{
	struct uffdio_copy copy = {
		.dst = dst,
		.src = (uint64_t)(uintptr_t)(h->file + off),
		.len = len,
	};

	while (ioctl(v->uffd, UFFDIO_COPY, &copy)) {
		if (errno == EEXIST)
			return 1; /* filled meanwhile */
		if (errno != EAGAIN && errno != EINTR)
			return fail(v, "UFFDIO_COPY");
		if (copy.copy > 0) /* partly done: the rest */
			return copy_in(h, v, dst + (uint64_t)copy.copy,
				       off + (uint64_t)copy.copy,
				       len - (uint64_t)copy.copy);
	}
	return 0;
}

static bool is_removed(const struct vmc *v, uint64_t off)
{
	uint64_t pg = off / PAGE;

	return v->removed && (v->removed[pg / 64] & (1ULL << (pg % 64)));
}

/* The page at @dst gets zeros; 1 if already there. */
static int zero_in(struct vmc *v, uint64_t dst)
{
	struct uffdio_zeropage z = { .range = { .start = dst, .len = PAGE } };

	while (ioctl(v->uffd, UFFDIO_ZEROPAGE, &z)) {
		if (errno == EEXIST)
			return 1;
		if (errno != EAGAIN && errno != EINTR)
			return fail(v, "UFFDIO_ZEROPAGE");
	}
	return 0;
}

/*
 * Fills the page at @addr (a fault's address): from the file, or with
 * zeros if the VM gave it back since.
 */
static int serve(struct handler *h, struct vmc *v, uint64_t addr)
{
	addr &= ~(PAGE - 1);
	for (unsigned int i = 0; i < v->nr; i++) {
		const struct region *r = &v->regions[i];
		uint64_t off = r->offset + (addr - r->base);
		int c;

		if (addr < r->base || addr - r->base >= r->size)
			continue;
		if (is_removed(v, off)) {
			c = zero_in(v, addr);
			if (c < 0)
				return -1;
			v->faults++;
			v->zeroed += !c;
			return 0;
		}
		c = copy_in(h, v, addr, off, PAGE);
		if (c < 0)
			return -1;
		v->faults++;
		if (!c && v->recording && wset_add(&v->rec, off))
			return fail(v, "recording the working set");
		return 0;
	}
	errno = 0;
	return fail(v, "a page fault outside the regions");
}

/*
 * UFFD_EVENT_REMOVE: the VM gave [start, end) back (the balloon's
 * MADV_DONTNEED; the kernel drops the pages once this is read). Their
 * memory file pages are stale from now on: a later fault gets zeros, as
 * it would in anonymous memory. Parts outside the regions are ignored.
 */
static int on_remove(struct handler *h, struct vmc *v, uint64_t start,
		     uint64_t end)
{
	start &= ~(PAGE - 1);
	for (unsigned int i = 0; i < v->nr; i++) {
		const struct region *r = &v->regions[i];
		uint64_t lo = start > r->base ? start : r->base;
		uint64_t hi = end < r->base + r->size ? end : r->base + r->size;

		if (lo >= hi)
			continue;
		if (!v->removed) {
			v->removed = calloc((h->file_size / PAGE + 63) / 64, 8);
			if (!v->removed)
				return fail(v,
					    "a page list of the pages removed");
		}
		for (uint64_t a = lo; a < hi; a += PAGE) {
			uint64_t pg = (r->offset + (a - r->base)) / PAGE;

			v->removed_pages +=
				!(v->removed[pg / 64] & (1ULL << (pg % 64)));
			v->removed[pg / 64] |= 1ULL << (pg % 64);
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs of adjacent pages of @w inside one region, one copy each. */
static int prefetch(struct handler *h, struct vmc *v, const struct wset *w)
{
	for (size_t i = 0; i < w->nr;) {
		const struct region *r = NULL;
		size_t j = i + 1;

		for (unsigned int k = 0; k < v->nr && !r; k++)
			if (w->pages[i] >= v->regions[k].offset &&
			    w->pages[i] - v->regions[k].offset <
				    v->regions[k].size)
				r = &v->regions[k];
		if (!r) { /* not guest RAM any more: skip it */
			i++;
			continue;
		}
		while (j < w->nr && w->pages[j] == w->pages[j - 1] + PAGE &&
		       w->pages[j] - r->offset < r->size)
			j++;
		/* A page already there: page by page for this run. */
		if (copy_in(h, v, r->base + (w->pages[i] - r->offset),
			    w->pages[i], (j - i) * PAGE) == 1) {
			for (size_t k = i; k < j; k++)
				if (copy_in(h, v,
					    r->base + (w->pages[k] - r->offset),
					    w->pages[k], PAGE) < 0)
					return -1;
		}
		v->prefetched += j - i;
		i = j;
	}
	return 0;
}

/* The VM's message came: its table, then its working set. 0 or -1. */
static int start_vm(struct handler *h, struct vmc *v)
{
	if (parse_table(h, v, h->buf))
		return -1;
	if (h->have_pre)
		return prefetch(h, v, &h->pre);
	if (h->record_free) {
		h->record_free = false;
		v->recording = true;
	}
	return 0;
}

/* Reads every message waiting on the VM's userfaultfd; 0 or -1. */
static int drain_uffd(struct handler *h, struct vmc *v)
{
	for (;;) {
		struct uffd_msg msg;
		ssize_t n = read(v->uffd, &msg, sizeof(msg));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n != sizeof(msg))
			return fail(v, "reading the userfaultfd");
		if (msg.event == UFFD_EVENT_PAGEFAULT &&
		    serve(h, v, msg.arg.pagefault.address))
			return -1;
		if (msg.event == UFFD_EVENT_REMOVE &&
		    on_remove(h, v, msg.arg.remove.start, msg.arg.remove.end))
			return -1;
	}
}

/*
 * The VM is gone (@failed: dropped, v->err says why): its working set
 * saved if it recorded one, what it was served printed, its descriptors
 * closed. 0, or -1 if it failed or its working set could not be saved.
 */
static int end_vm(struct handler *h, struct vmc *v, bool failed)
{
	int ret = failed ? -1 : 0;

	if (!failed && v->recording &&
	    wset_save(&v->rec, h->wset_path, v->err, sizeof(v->err)))
		ret = -1;
	if (!ret) {
		if (h->max_vms != 1)
			fprintf(h->ready, "vm %u: ", v->id);
		fprintf(h->ready,
			"%llu faults served (%llu with zeros), %llu pages prefetched, %llu pages given back by the VM%s\n",
			(unsigned long long)v->faults,
			(unsigned long long)v->zeroed,
			(unsigned long long)v->prefetched,
			(unsigned long long)v->removed_pages,
			v->recording ? ", working set recorded" : "");
		fflush(h->ready);
	} else if (h->max_vms != 1) {
		pr_err("uffd-handler: vm %u: %s: its VM can no longer be served",
		       v->id, v->err);
	}
	wset_free(&v->rec);
	free(v->removed);
	if (v->uffd >= 0)
		close(v->uffd);
	close(v->conn);
	return ret;
}

/* A VM's connection or userfaultfd has news: 0 on, 1 gone, -1 failed. */
static int vm_event(struct handler *h, struct vmc *v, short conn_ev,
		    short uffd_ev)
{
	char byte;
	int r;

	if (v->uffd < 0) {
		if (!conn_ev)
			return 0;
		r = receive(v, h->buf, MSG_MAX);
		return r < 0 ? -1 : r == 1 ? 0 : start_vm(h, v);
	}
	if (uffd_ev & (POLLERR | POLLNVAL)) {
		errno = 0;
		return fail(v, "the userfaultfd reports an error");
	}
	if ((uffd_ev & POLLIN) && drain_uffd(h, v))
		return -1;
	/* The VM's end closed (or spoke out of turn: ignored). */
	if (conn_ev) {
		ssize_t n = read(v->conn, &byte, 1);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
	return 0;
}

/* A new connection: a VM to serve once its message comes. */
static void accept_vm(struct handler *h, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct vmc *v;

	if (fd < 0)
		return;
	v = h->nr_vms < MAX_VMS ? calloc(1, sizeof(*v)) : NULL;
	if (!v) {
		pr_err("uffd-handler: %s: a VM refused",
		       h->nr_vms < MAX_VMS ? "out of memory" :
					     "256 VMs served already");
		close(fd);
		return;
	}
	v->id = ++h->came;
	v->conn = fd;
	v->uffd = -1;
	h->vms[h->nr_vms++] = v;
}

/*
 * The loop: new VMs while more may come, every VM's faults and end,
 * SIGTERM or SIGINT (@sig_fd, -1 with one VM). Returns 0 when the VMs
 * are done, -1 with @err when the only VM failed.
 */
static int serve_all(struct handler *h, int lfd, int sig_fd, char *err,
		     size_t errlen)
{
	struct pollfd p[2 + 2 * MAX_VMS];
	int ret = 0;

	for (;;) {
		bool accepting = !h->max_vms || h->came < h->max_vms;
		unsigned int n = 0, first;

		if (!accepting && !h->nr_vms)
			break;
		p[n++] = (struct pollfd){ .fd = accepting ? lfd : -1,
					  .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		first = n;
		for (unsigned int i = 0; i < h->nr_vms; i++) {
			p[n++] = (struct pollfd){ .fd = h->vms[i]->conn,
						  .events = POLLIN };
			p[n++] = (struct pollfd){ .fd = h->vms[i]->uffd,
						  .events = POLLIN };
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			/* Taken, or it would end the process once unblocked. */
			if (read(sig_fd, &si, sizeof(si)) < 0) {
				/* it is there: poll said so */
			}
			break;
		}
		/* Each VM's news, the ones that end taken out. */
		for (unsigned int i = 0, k = first; i < h->nr_vms; k += 2) {
			struct vmc *v = h->vms[i];
			int r = vm_event(h, v, p[k].revents, p[k + 1].revents);

			if (!r) {
				i++;
				continue;
			}
			if (end_vm(h, v, r < 0) && h->max_vms == 1) {
				snprintf(err, errlen, "%s", v->err);
				ret = -1;
			}
			free(v);
			h->vms[i] = h->vms[--h->nr_vms];
			/* The moved VM's news come next. */
			p[k] = p[first + 2 * h->nr_vms];
			p[k + 1] = p[first + 2 * h->nr_vms + 1];
			k -= 2;
		}
		if (p[0].revents)
			accept_vm(h, lfd);
	}
	/* A signal: the VMs left can no longer be served. */
	while (h->nr_vms) {
		struct vmc *v = h->vms[--h->nr_vms];

		end_vm(h, v, false);
		free(v);
	}
	return ret;
}

static int map_file(struct handler *h, const char *path, char *err,
		    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st) || !st.st_size || st.st_size % PAGE) {
		snprintf(err, errlen, "memory file: %s",
			 fd < 0 ? strerror(errno) :
				  "not a whole number of 4 KiB pages");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "memory file: %s", strerror(errno));
		return -1;
	}
	h->file = p;
	h->file_size = (uint64_t)st.st_size;
	return 0;
}

/* With a working set file: prefetch it into each VM, or record one. */
static int load_wset(struct handler *h, char *err, size_t errlen)
{
	int r = wset_load(&h->pre, h->wset_path, h->file_size, err, errlen);

	if (r < 0)
		return -1;
	if (r == 1) {
		h->record_free = true;
		return 0;
	}
	qsort(h->pre.pages, h->pre.nr, sizeof(*h->pre.pages), cmp_u64);
	h->have_pre = true;
	return 0;
}

/* SIGTERM and SIGINT as a file descriptor (serving many VMs). */
static int signals_fd(sigset_t *old)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	if (sigprocmask(SIG_BLOCK, &s, old))
		return -1;
	return signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
}

int uffd_handler_run(const struct uffd_handler_opts *o, FILE *ready, char *err,
		     size_t errlen)
{
	struct handler h = { .wset_path = o->wset_path,
			     .max_vms = o->max_vms,
			     .ready = ready };
	int lfd = -1, sig_fd = -1, ret = -1;
	sigset_t old;

	h.buf = malloc(MSG_MAX);
	if (!h.buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (map_file(&h, o->mem_path, err, errlen) ||
	    (h.wset_path && load_wset(&h, err, errlen)))
		goto out;
	if (h.max_vms != 1) {
		sig_fd = signals_fd(&old);
		if (sig_fd < 0) {
			snprintf(err, errlen, "signalfd: %s", strerror(errno));
			goto out;
		}
	}
	lfd = listen_on(o->sock_path, err, errlen);
	if (lfd < 0)
		goto out;
	fprintf(ready, "listening on %s\n", o->sock_path);
	fflush(ready);
	ret = serve_all(&h, lfd, sig_fd, err, errlen);
out:
	wset_free(&h.pre);
	if (lfd >= 0) {
		close(lfd);
		unlink(o->sock_path);
	}
	if (sig_fd >= 0) {
		close(sig_fd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (h.file)
		munmap((void *)h.file, h.file_size);
	free(h.buf);
	return ret;
}
