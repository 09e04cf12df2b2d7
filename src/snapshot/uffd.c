// SPDX-License-Identifier: GPL-2.0-only
/*
 * uffd.c - the Uffd memory back-end (uffd.h): the userfaultfd over guest
 * RAM and the message to the page-fault handler.
 */
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"

#define TABLE_MAX 2048

/*
 * A userfaultfd with every RAM region registered for missing pages, and
 * UFFD_EVENT_REMOVE: the handler learns of the pages the balloon gives
 * back (MADV_DONTNEED), so that it serves zeros for them afterwards, not
 * the memory file's page (as Firecracker's handlers expect).
 */
static int make_uffd(struct vm *vm, char *err, size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_EVENT_REMOVE };
	/* Non-blocking: a handler can only poll it so (as Firecracker's). */
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		snprintf(err, errlen, "userfaultfd%s: %s",
			 fd < 0 ? "" : " with UFFD_FEATURE_EVENT_REMOVE",
			 strerror(errno));
		goto fail;
	}
	/* 4 KiB pages: the handler fills them one by one. */
	madvise(vm->mem.base, vm->mem.ram_size, MADV_NOHUGEPAGE);
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct uffdio_register reg = {
			.range = { .start = (uint64_t)(uintptr_t)r->hva,
				   .len = r->size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (!gmem_is_ram(&vm->mem, r))
			continue;
		if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
			snprintf(err, errlen, "userfaultfd: registering %s: %s",
				 r->name, strerror(errno));
			goto fail;
		}
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Firecracker's GuestRegionUffdMapping list, as JSON. */
static int region_table(const struct vm *vm, char *buf, size_t len)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, len - n, "[");
	for (unsigned int i = 0; i < vm->mem.nr && n < len; i++) {
		const struct mem_region *r = &vm->mem.regions[i];

		if (!gmem_is_ram(&vm->mem, r))
			continue;
		n += (size_t)snprintf(
			buf + n, len - n,
			"%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,\"page_size\":4096,\"page_size_kib\":4}",
			n > 1 ? "," : "", (unsigned long long)(uintptr_t)r->hva,
			(unsigned long long)r->size,
			(unsigned long long)(r->hva - vm->mem.base));
	}
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "]");
	return n < len ? (int)n : -1;
}

static int send_fd(int sock, const char *msg, size_t len, int fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *c;
	ssize_t n;

	memset(ctrl, 0, sizeof(ctrl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int uffd_backend_connect(struct vm *vm, const char *sock_path, int *sock_out,
			 char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char table[TABLE_MAX];
	int uffd, sock = -1, len = region_table(vm, table, sizeof(table));

	if (len < 0 || strlen(sock_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "Uffd back-end %.200s: path too long",
			 sock_path);
		return -1;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	uffd = make_uffd(vm, err, errlen);
	if (uffd < 0)
		return -1;
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send_fd(sock, table, (size_t)len, uffd)) {
		snprintf(err, errlen, "Uffd back-end %.200s: %s", sock_path,
			 strerror(errno));
		if (sock >= 0)
			close(sock);
		close(uffd);
		return -1;
	}
	*sock_out = sock;
	vm->uffd = uffd;
	vm->mem.anon = false; /* the handler fills pages, not the kernel */
	return 0;
}

void uffd_backend_check(struct vm *vm, int sock)
{
	char buf[256];
	ssize_t n = read(sock, buf, sizeof(buf));

	if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
		return;
	if (vm_stopping(vm))
		return;
	pr_err("Uffd back-end: the page-fault handler closed its socket (%s): no guest page can be served any more, stopping the VM",
	       n < 0 ? strerror(errno) : "end of file");
	vm_request_stop(vm, EXIT_UFFD_HANDLER, NULL);
	/*
	 * A vCPU may wait on a fault inside KVM (its instruction emulator
	 * reading guest memory), where no signal reaches it: only the end of
	 * the userfaultfd wakes it, on a zero page. Each vCPU is kicked
	 * first, so it leaves KVM_RUN before it runs on, and it stops.
	 */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	if (vm->uffd >= 0)
		close(vm->uffd);
	vm->uffd = -1;
}
