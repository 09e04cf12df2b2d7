// SPDX-License-Identifier: GPL-2.0-only
/*
 * uffd_handler.c - vmon's on-demand page-fault handler of the Uffd
 * back-end (uffd_handler.h): the listening socket, the message with the
 * userfaultfd and the region table, and the fault loop (UFFDIO_COPY from
 * the memory file, mapped read-only; UFFDIO_ZEROPAGE for the pages the VM
 * gave back, which UFFD_EVENT_REMOVE announces).
 */
#include "uffd_handler.h"

#include "wset.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MSG_MAX 65536
#define MAX_REGIONS 16
#define PAGE 4096ULL

struct region {
	uint64_t base, size, offset;
};

struct handler {
	const uint8_t *file;
	uint64_t file_size;
	struct region regions[MAX_REGIONS];
	unsigned int nr;
	int uffd, conn;
	char *err;
	size_t errlen;
	/* Record-and-prefetch: the pages recorded (when recording). */
	bool recording;
	struct wset rec;
	/*
	 * Pages the VM gave back (UFFD_EVENT_REMOVE), a bit per page of the
	 * memory file: faults there get zeros. NULL until the first.
	 */
	uint64_t *removed;
	uint64_t faults, prefetched, zeroed, removed_pages;
};

static int fail(struct handler *h, const char *what)
{
	snprintf(h->err, h->errlen, "%s: %s", what,
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
	    listen(fd, 1)) {
		snprintf(err, errlen, "socket %.200s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The first message: the region table, with the userfaultfd attached. */
static int receive(struct handler *h, char *buf, size_t len)
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
		n = recvmsg(h->conn, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return fail(h, "receiving the userfaultfd");
	buf[n] = 0;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = 0;
		return fail(h, "the message carries no userfaultfd");
	}
	memcpy(&h->uffd, CMSG_DATA(c), sizeof(int));
	/* poll() reports a blocking userfaultfd as an error. */
	if (fcntl(h->uffd, F_SETFL, fcntl(h->uffd, F_GETFL) | O_NONBLOCK))
		return fail(h, "the userfaultfd");
	return 0;
}

static int parse_region(struct handler *h, json_t *e)
{
	json_t *ps = json_object_get(e, "page_size");
	json_t *kib = json_object_get(e, "page_size_kib");
	struct region *r = &h->regions[h->nr];
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
			h,
			"region table: a region of 4 KiB pages inside the memory file expected");
	h->nr++;
	return 0;
}

static int parse_table(struct handler *h, const char *text)
{
	json_t *a = json_loads(text, 0, NULL), *e;
	size_t i;
	int ret = 0;

	errno = 0;
	if (!json_is_array(a) || !json_array_size(a) ||
	    json_array_size(a) > MAX_REGIONS) {
		json_decref(a);
		return fail(h, "region table: not a JSON array of regions");
	}
	json_array_foreach(a, i, e)
	{
		if (!ret)
			ret = parse_region(h, e);
	}
	json_decref(a);
	return ret;
}

/* Copies @len bytes of the file at @off to @dst; 1 if already there. */
static int copy_in(struct handler *h, uint64_t dst, uint64_t off, uint64_t len)
{
	struct uffdio_copy copy = {
		.dst = dst,
		.src = (uint64_t)(uintptr_t)(h->file + off),
		.len = len,
	};

	while (ioctl(h->uffd, UFFDIO_COPY, &copy)) {
		if (errno == EEXIST)
			return 1; /* filled meanwhile */
		if (errno != EAGAIN && errno != EINTR)
			return fail(h, "UFFDIO_COPY");
		if (copy.copy > 0) /* partly done: the rest */
			return copy_in(h, dst + (uint64_t)copy.copy,
				       off + (uint64_t)copy.copy,
				       len - (uint64_t)copy.copy);
	}
	return 0;
}

static bool is_removed(const struct handler *h, uint64_t off)
{
	uint64_t pg = off / PAGE;

	return h->removed && (h->removed[pg / 64] & (1ULL << (pg % 64)));
}

/* The page at @dst gets zeros; 1 if already there. */
static int zero_in(struct handler *h, uint64_t dst)
{
	struct uffdio_zeropage z = { .range = { .start = dst, .len = PAGE } };

	while (ioctl(h->uffd, UFFDIO_ZEROPAGE, &z)) {
		if (errno == EEXIST)
			return 1;
		if (errno != EAGAIN && errno != EINTR)
			return fail(h, "UFFDIO_ZEROPAGE");
	}
	return 0;
}

/*
 * Fills the page at @addr (a fault's address): from the file, or with
 * zeros if the VM gave it back since.
 */
static int serve(struct handler *h, uint64_t addr)
{
	addr &= ~(PAGE - 1);
	for (unsigned int i = 0; i < h->nr; i++) {
		const struct region *r = &h->regions[i];
		uint64_t off = r->offset + (addr - r->base);
		int c;

		if (addr < r->base || addr - r->base >= r->size)
			continue;
		if (is_removed(h, off)) {
			c = zero_in(h, addr);
			if (c < 0)
				return -1;
			h->faults++;
			h->zeroed += !c;
			return 0;
		}
		c = copy_in(h, addr, off, PAGE);
		if (c < 0)
			return -1;
		h->faults++;
		if (!c && h->recording && wset_add(&h->rec, off))
			return fail(h, "recording the working set");
		return 0;
	}
	errno = 0;
	return fail(h, "a page fault outside the regions");
}

/*
 * UFFD_EVENT_REMOVE: the VM gave [start, end) back (the balloon's
 * MADV_DONTNEED; the kernel drops the pages once this is read). Their
 * memory file pages are stale from now on: a later fault gets zeros, as
 * it would in anonymous memory. Parts outside the regions are ignored.
 */
static int on_remove(struct handler *h, uint64_t start, uint64_t end)
{
	start &= ~(PAGE - 1);
	for (unsigned int i = 0; i < h->nr; i++) {
		const struct region *r = &h->regions[i];
		uint64_t lo = start > r->base ? start : r->base;
		uint64_t hi = end < r->base + r->size ? end : r->base + r->size;

		if (lo >= hi)
			continue;
		if (!h->removed) {
			h->removed = calloc((h->file_size / PAGE + 63) / 64, 8);
			if (!h->removed)
				return fail(h,
					    "a page list of the pages removed");
		}
		for (uint64_t a = lo; a < hi; a += PAGE) {
			uint64_t pg = (r->offset + (a - r->base)) / PAGE;

			h->removed_pages +=
				!(h->removed[pg / 64] & (1ULL << (pg % 64)));
			h->removed[pg / 64] |= 1ULL << (pg % 64);
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
static int prefetch(struct handler *h, struct wset *w)
{
	qsort(w->pages, w->nr, sizeof(*w->pages), cmp_u64);
	for (size_t i = 0; i < w->nr;) {
		const struct region *r = NULL;
		size_t j = i + 1;

		for (unsigned int k = 0; k < h->nr && !r; k++)
			if (w->pages[i] >= h->regions[k].offset &&
			    w->pages[i] - h->regions[k].offset <
				    h->regions[k].size)
				r = &h->regions[k];
		if (!r) { /* not guest RAM any more: skip it */
			i++;
			continue;
		}
		while (j < w->nr && w->pages[j] == w->pages[j - 1] + PAGE &&
		       w->pages[j] - r->offset < r->size)
			j++;
		/* A page already there: page by page for this run. */
		if (copy_in(h, r->base + (w->pages[i] - r->offset), w->pages[i],
			    (j - i) * PAGE) == 1) {
			for (size_t k = i; k < j; k++)
				if (copy_in(h,
					    r->base + (w->pages[k] - r->offset),
					    w->pages[k], PAGE) < 0)
					return -1;
		}
		h->prefetched += j - i;
		i = j;
	}
	return 0;
}

/* With a working set file: prefetch it, or record one if there is none. */
static int start_wset(struct handler *h, const char *path)
{
	struct wset w;
	int r = wset_load(&w, path, h->file_size, h->err, h->errlen);

	if (r < 0)
		return -1;
	if (r == 1) {
		h->recording = true;
		return 0;
	}
	r = prefetch(h, &w);
	wset_free(&w);
	return r;
}

static int fault_loop(struct handler *h)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = h->uffd, .events = POLLIN },
				       { .fd = h->conn, .events = POLLIN } };
		struct uffd_msg msg;
		char byte;
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail(h, "poll");
		}
		/* The VM's end closed (or spoke out of turn): done. */
		if (p[1].revents && read(h->conn, &byte, 1) <= 0)
			return 0;
		if (p[0].revents & (POLLERR | POLLNVAL)) {
			errno = 0;
			return fail(h, "the userfaultfd reports an error");
		}
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(h->uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n != sizeof(msg))
			return fail(h, "reading the userfaultfd");
		if (msg.event == UFFD_EVENT_PAGEFAULT &&
		    serve(h, msg.arg.pagefault.address))
			return -1;
		if (msg.event == UFFD_EVENT_REMOVE &&
		    on_remove(h, msg.arg.remove.start, msg.arg.remove.end))
			return -1;
	}
}

static int map_file(struct handler *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st) || !st.st_size || st.st_size % PAGE) {
		if (fd >= 0)
			close(fd);
		errno = errno ? errno : EINVAL;
		return fail(h, "memory file");
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail(h, "memory file");
	h->file = p;
	h->file_size = (uint64_t)st.st_size;
	return 0;
}

int uffd_handler_run(const char *sock_path, const char *mem_path,
		     const char *wset_path, FILE *ready, char *err,
		     size_t errlen)
{
	struct handler h = {
		.uffd = -1, .conn = -1, .err = err, .errlen = errlen
	};
	char *buf = malloc(MSG_MAX);
	int lfd = -1, ret = -1;

	if (!buf || map_file(&h, mem_path))
		goto out;
	lfd = listen_on(sock_path, err, errlen);
	if (lfd < 0)
		goto out;
	fprintf(ready, "listening on %s\n", sock_path);
	fflush(ready);
	do
		h.conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (h.conn < 0 && errno == EINTR);
	if (h.conn < 0) {
		fail(&h, "accept");
		goto out;
	}
	if (!receive(&h, buf, MSG_MAX) && !parse_table(&h, buf) &&
	    (!wset_path || !start_wset(&h, wset_path)))
		ret = fault_loop(&h);
	if (!ret && h.recording && wset_save(&h.rec, wset_path, err, errlen))
		ret = -1;
	if (!ret)
		fprintf(ready,
			"%llu faults served (%llu with zeros), %llu pages prefetched, %llu pages given back by the VM%s\n",
			(unsigned long long)h.faults,
			(unsigned long long)h.zeroed,
			(unsigned long long)h.prefetched,
			(unsigned long long)h.removed_pages,
			h.recording ? ", working set recorded" : "");
out:
	wset_free(&h.rec);
	free(h.removed);
	if (h.uffd >= 0)
		close(h.uffd);
	if (h.conn >= 0)
		close(h.conn);
	if (lfd >= 0) {
		close(lfd);
		unlink(sock_path);
	}
	if (h.file)
		munmap((void *)h.file, h.file_size);
	free(buf);
	return ret;
}
