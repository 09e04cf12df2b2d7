// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_uffd.c - guest RAM given back to the host (vm_discard(), the
 * balloon's path) while something other than the kernel fills its missing
 * pages, with real userfaultfds over a mapping of this process:
 *   - the Uffd back-end (src/snapshot/uffd.c) with vmon's own handler
 *     (uffd_handler.c) on a thread: pages come from the memory file until
 *     the VM gives them back (UFFD_EVENT_REMOVE), then as zeros, also
 *     after being written and given back again; the handler's count; one
 *     handler serving two VMs at once, each its own pages given back,
 *     the second served on after the first left; a working set recorded
 *     from the first of two VMs, then prefetched into each of two;
 *   - post-copy (src/migration/postcopy.c), this test the source over a
 *     socket pair: a page given back before it arrived reads as zeros and
 *     is not asked for, the source's copy pushed later does not land; a
 *     page a vCPU waits for, given back before the answer comes, ends the
 *     wait with zeros.
 * Needs userfaultfd (root, or vm.unprivileged_userfaultfd).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "migration/migration.h"
#include "migration/stream.h"
#include "snapshot/uffd.h"
#include "snapshot/uffd_handler.h"
#include "vmm/vm.h"

#define PAGE 4096
#define PAGES 16

/* A VM of @PAGES pages of RAM at GPA 0, without KVM. */
static uint8_t *vm_init(struct vm *vm)
{
	uint8_t *ram = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(ram != MAP_FAILED);
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->stop_efd = -1;
	vm->uffd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->discard_lock, NULL);
	assert_int_equal(gmem_add_region(&vm->mem, 0, PAGES * PAGE, ram, false,
					 "ram"),
			 0);
	vm->mem.base = ram;
	vm->mem.ram_size = PAGES * PAGE;
	vm->mem.anon = true;
	return ram;
}

static void vm_fini(struct vm *vm)
{
	munmap(vm->mem.base, PAGES * PAGE);
	pthread_mutex_destroy(&vm->discard_lock);
	pthread_mutex_destroy(&vm->lock);
}

/* The first byte of page @pg, read as a vCPU would (faulting it in). */
static uint8_t peek(const uint8_t *ram, unsigned int pg)
{
	return *(const volatile uint8_t *)(ram + (size_t)pg * PAGE);
}

/* Every byte of page @pg is @v. */
static bool page_is(const uint8_t *ram, unsigned int pg, uint8_t v)
{
	for (size_t i = 0; i < PAGE; i++)
		if (((const volatile uint8_t *)ram)[(size_t)pg * PAGE + i] != v)
			return false;
	return true;
}

struct handler_run {
	char sock[80], mem[64];
	unsigned int max_vms;
	const char *wset;
	int ready[2];
	FILE *out, *in;
	pthread_t thread;
	int ret;
	char err[256];
};

static void *handler_main(void *arg)
{
	struct handler_run *h = arg;
	struct uffd_handler_opts o = { .sock_path = h->sock,
				       .mem_path = h->mem,
				       .wset_path = h->wset,
				       .max_vms = h->max_vms };

	h->ret = uffd_handler_run(&o, h->out, h->err, sizeof(h->err));
	fclose(h->out);
	return NULL;
}

/*
 * A memory file whose page i is all i + 1, and vmon's handler serving it
 * to @max_vms VMs on a thread (with the working set file @wset, or
 * NULL), listening once this returns.
 */
static void handler_start(struct handler_run *h, unsigned int max_vms,
			  const char *wset)
{
	uint8_t file[PAGES * PAGE];
	char line[256];
	int fd;

	memset(h, 0, sizeof(*h));
	h->ret = -1;
	h->max_vms = max_vms;
	h->wset = wset;
	snprintf(h->mem, sizeof(h->mem), "/tmp/vmon-test-uffd.XXXXXX");
	fd = mkstemp(h->mem);
	assert_true(fd >= 0);
	for (unsigned int i = 0; i < PAGES; i++)
		memset(file + (size_t)i * PAGE, (int)i + 1, PAGE);
	assert_int_equal(write(fd, file, sizeof(file)), (ssize_t)sizeof(file));
	close(fd);
	snprintf(h->sock, sizeof(h->sock), "%s.sock", h->mem);
	assert_int_equal(pipe(h->ready), 0);
	h->out = fdopen(h->ready[1], "w");
	h->in = fdopen(h->ready[0], "r");
	assert_non_null(h->out);
	assert_non_null(h->in);
	assert_int_equal(pthread_create(&h->thread, NULL, handler_main, h), 0);
	assert_non_null(fgets(line, sizeof(line), h->in));
	assert_non_null(strstr(line, "listening on"));
}

/* The handler's next line (what a VM was served) into @line. */
static void handler_line(struct handler_run *h, char *line, size_t len)
{
	assert_non_null(fgets(line, (int)len, h->in));
}

static void handler_end(struct handler_run *h)
{
	pthread_join(h->thread, NULL);
	fclose(h->in);
	unlink(h->mem);
}

/*
 * The Uffd back-end: page i of the memory file is all i + 1; the VM gives
 * pages 3 and 4 back, page 3 again once written.
 */
static void test_backend_remove(void **state)
{
	struct handler_run h;
	char line[512], err[256];
	struct vm vm;
	uint8_t *ram;
	int sock = -1;

	(void)state;
	ram = vm_init(&vm);
	handler_start(&h, 1, NULL);
	assert_int_equal(
		uffd_backend_connect(&vm, h.sock, &sock, err, sizeof(err)), 0);
	/* From the memory file. */
	assert_int_equal(peek(ram, 3), 4);
	assert_int_equal(peek(ram, 10), 11);
	/* Given back: zeros from now on, the other pages unchanged. */
	assert_int_equal(vm_discard(&vm, ram + 3 * PAGE, 2 * PAGE), 0);
	assert_true(page_is(ram, 3, 0));
	assert_true(page_is(ram, 4, 0));
	assert_true(page_is(ram, 5, 6));
	assert_true(page_is(ram, 10, 11));
	/* Written, given back again: zeros again, not the write. */
	memset(ram + 3 * PAGE, 0x77, PAGE);
	assert_true(page_is(ram, 3, 0x77));
	assert_int_equal(vm_discard(&vm, ram + 3 * PAGE, PAGE), 0);
	assert_true(page_is(ram, 3, 0));

	/* The VM's end: the handler counts and exits 0. */
	close(sock);
	handler_line(&h, line, sizeof(line));
	handler_end(&h);
	assert_int_equal(h.ret, 0);
	/* Faults: 3, 10, 3, 4, 5, 3 (a write to a zero page faults no more). */
	assert_non_null(strstr(line, "6 faults served (3 with zeros)"));
	assert_non_null(strstr(line, "2 pages given back by the VM"));
	close(vm.uffd);
	vm_fini(&vm);
}

/* Two VMs served by one handler. */
struct two {
	struct handler_run h;
	struct vm a, b;
	uint8_t *ra, *rb;
	int sa, sb;
};

/* Both VMs made and connected to a handler of @max_vms (and @wset). */
static void two_start(struct two *t, unsigned int max_vms, const char *wset)
{
	char err[256];

	t->ra = vm_init(&t->a);
	t->rb = vm_init(&t->b);
	handler_start(&t->h, max_vms, wset);
	assert_int_equal(uffd_backend_connect(&t->a, t->h.sock, &t->sa, err,
					      sizeof(err)),
			 0);
	assert_int_equal(uffd_backend_connect(&t->b, t->h.sock, &t->sb, err,
					      sizeof(err)),
			 0);
}

/* VM @sock leaves: the handler's line about it into @line. */
static void two_leave(struct two *t, int sock, char *line, size_t len)
{
	close(sock);
	handler_line(&t->h, line, len);
}

/* The handler is done (exit 0); the VMs go. */
static void two_end(struct two *t)
{
	handler_end(&t->h);
	assert_int_equal(t->h.ret, 0);
	close(t->a.uffd);
	close(t->b.uffd);
	vm_fini(&t->a);
	vm_fini(&t->b);
}

/*
 * One handler, two VMs at once (clones of one snapshot): each served
 * from the file; what one gives back is zeros for it alone; the first
 * leaving does not end the handler, which serves the second on and
 * exits when both came and went.
 */
static void test_handler_two_vms(void **state)
{
	struct two t;
	char line[512];

	(void)state;
	two_start(&t, 2, NULL);
	assert_true(page_is(t.ra, 2, 3));
	assert_true(page_is(t.rb, 2, 3));
	assert_int_equal(vm_discard(&t.a, t.ra + 2 * PAGE, PAGE), 0);
	assert_true(page_is(t.ra, 2, 0));
	assert_true(page_is(t.rb, 2, 3));
	assert_true(page_is(t.ra, 7, 8));
	two_leave(&t, t.sa, line, sizeof(line));
	assert_non_null(strstr(line, "vm 1: 3 faults served (1 with zeros)"));
	assert_non_null(strstr(line, "1 pages given back by the VM"));
	/* The second VM is still served. */
	assert_true(page_is(t.rb, 9, 10));
	two_leave(&t, t.sb, line, sizeof(line));
	assert_non_null(strstr(line, "vm 2: 2 faults served (0 with zeros)"));
	two_end(&t);
}

/*
 * Record-and-prefetch with two VMs: without a working set the first VM
 * records one (the second does not); with it, each of the next two VMs
 * gets its pages before its faults are served.
 */
static void test_handler_wset_two_vms(void **state)
{
	char line[512], wset[64];
	struct two t;

	(void)state;
	snprintf(wset, sizeof(wset), "/tmp/vmon-test-wset.%d", (int)getpid());
	unlink(wset);
	two_start(&t, 2, wset);
	assert_true(page_is(t.ra, 1, 2));
	assert_true(page_is(t.ra, 2, 3));
	assert_true(page_is(t.rb, 5, 6));
	two_leave(&t, t.sa, line, sizeof(line));
	assert_non_null(strstr(line, "vm 1: 2 faults served"));
	assert_non_null(strstr(line, "working set recorded"));
	two_leave(&t, t.sb, line, sizeof(line));
	assert_non_null(strstr(line, "vm 2: 1 faults served"));
	assert_null(strstr(line, "working set recorded"));
	two_end(&t);

	two_start(&t, 2, wset);
	assert_true(page_is(t.ra, 2, 3));
	assert_true(page_is(t.rb, 1, 2));
	two_leave(&t, t.sa, line, sizeof(line));
	assert_non_null(strstr(line, "vm 1: "));
	assert_non_null(strstr(line, " 2 pages prefetched"));
	two_leave(&t, t.sb, line, sizeof(line));
	assert_non_null(strstr(line, "vm 2: "));
	assert_non_null(strstr(line, " 2 pages prefetched"));
	two_end(&t);
	unlink(wset);
}

struct reader {
	const uint8_t *ram;
	unsigned int pg;
	uint8_t v;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->v = peek(r->ram, r->pg);
	return NULL;
}

/* Sends the source's PAGES record of pages @first..@first + @n - 1. */
static void push(struct mig_conn *c, uint64_t first, uint32_t n)
{
	size_t len = 8 + 8 * (size_t)n + (size_t)n * PAGE;
	uint8_t *rec = calloc(1, len);
	char err[MIG_ERR_MAX];

	assert_non_null(rec);
	memcpy(rec, &n, 4);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pg = first + i;

		memcpy(rec + 8 + 8 * i, &pg, 8);
		memset(rec + 8 + 8 * (size_t)n + (size_t)i * PAGE,
		       0xa0 + (int)pg, PAGE);
	}
	assert_int_equal(mig_send(c, MIG_PAGES, rec, len, err, sizeof(err)), 0);
	free(rec);
}

/* Post-copy: every page still to come when the VM moved. */
static void test_postcopy_discard(void **state)
{
	struct mig_dest d = { .listen_fd = -1 };
	struct mig_conn src;
	struct reader r = { 0 };
	uint8_t bitmap[8], *ram, *rec;
	char err[MIG_ERR_MAX];
	struct vm vm;
	uint32_t type, n;
	uint64_t asked;
	size_t len;
	pthread_t t;
	int sv[2];

	(void)state;
	ram = vm_init(&vm);
	memset(ram, 0x55, PAGES * PAGE); /* what the VM had before */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	mig_conn_init(&d.conn, sv[0]);
	mig_conn_init(&src, sv[1]);
	memset(bitmap, 0, sizeof(bitmap));
	bitmap[0] = 0xff;
	bitmap[1] = 0xff;
	assert_int_equal(mig_postcopy_prepare(&d, &vm, bitmap, sizeof(bitmap),
					      err, sizeof(err)),
			 0);
	assert_int_equal(mig_postcopy_start(&d, err, sizeof(err)), 0);

	/* Pages 2 and 3 given back before they came: zeros, never asked. */
	assert_int_equal(vm_discard(&vm, ram + 2 * PAGE, 2 * PAGE), 0);
	assert_true(page_is(ram, 2, 0));

	/* A vCPU waits for page 6: asked; given back before the answer. */
	r.ram = ram;
	r.pg = 6;
	r.v = 0xee;
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	assert_int_equal(
		mig_recv(&src, &type, &rec, &len, 10000, err, sizeof(err)), 0);
	assert_int_equal(type, MIG_REQ);
	assert_int_equal(len, 16);
	memcpy(&n, rec, 4);
	memcpy(&asked, rec + 8, 8);
	free(rec);
	assert_int_equal(n, 1);
	assert_int_equal(asked, 6);
	assert_int_equal(vm_discard(&vm, ram + 6 * PAGE, PAGE), 0);

	/* The source pushes every page: 2, 3 and 6 stay zeros. */
	push(&src, 0, PAGES);
	pthread_join(t, NULL);
	assert_int_equal(r.v, 0);
	assert_true(page_is(ram, 0, 0xa0));
	assert_true(page_is(ram, 2, 0));
	assert_true(page_is(ram, 3, 0));
	assert_true(page_is(ram, 5, 0xa5));
	assert_true(page_is(ram, 6, 0));
	assert_true(page_is(ram, 15, 0xaf));
	assert_int_equal(mig_send(&src, MIG_END, NULL, 0, err, sizeof(err)), 0);
	/*
	 * The destination reads END, then closes its side for sending. A
	 * page read above before its copy was installed was asked for: that
	 * request comes first.
	 */
	while (!mig_recv(&src, &type, &rec, &len, 10000, err, sizeof(err))) {
		assert_int_equal(type, MIG_REQ);
		free(rec);
	}
	mig_postcopy_free(&d);
	/* The balloon no longer reaches post-copy: an ordinary madvise. */
	assert_null(vm.discard_hook);
	assert_int_equal(vm_discard(&vm, ram + 5 * PAGE, PAGE), 0);
	assert_true(page_is(ram, 5, 0));
	mig_conn_close(&src);
	vm_fini(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_remove),
		cmocka_unit_test(test_handler_two_vms),
		cmocka_unit_test(test_handler_wset_two_vms),
		cmocka_unit_test(test_postcopy_discard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
