/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uffd.h - the Uffd memory back-end of snapshot loads, Firecracker's
 * protocol (docs/snapshot.md): guest RAM stays anonymous and empty, is
 * registered with a userfaultfd for missing-page faults, and the
 * userfaultfd goes, with a JSON table of the RAM regions
 * [{base_host_virt_addr, size, offset, page_size, page_size_kib}], over
 * the Unix socket of an external page-fault handler, which fills each
 * page on the guest's (or vmon's) first touch from the memory file
 * (UFFDIO_COPY). vmon's own handler is `vmon uffd-handler`
 * (uffd_handler.h).
 */
#ifndef VMON_SNAPSHOT_UFFD_H
#define VMON_SNAPSHOT_UFFD_H

#include <stddef.h>

struct vm;

/*
 * Registers @vm's RAM (built, nothing touched yet) and hands the
 * userfaultfd and the region table to the handler listening at
 * @sock_path. 0 with *@sock the connected socket, which the caller keeps
 * open while the VM lives (the handler learns from its end that the VM is
 * gone) and watches with uffd_backend_check(), or -1 with @err. The VM
 * keeps its own copy of the userfaultfd (vm->uffd) until its vCPUs have
 * stopped, so a handler that dies stalls a faulting thread instead of
 * letting the kernel fill zero pages into a running guest.
 */
int uffd_backend_connect(struct vm *vm, const char *sock_path, int *sock,
			 char *err, size_t errlen);

/*
 * The handler's socket @sock is readable: a handler that
 * closed it (it exited or crashed) serves no page any more, so @vm stops
 * with EXIT_UFFD_HANDLER and a report rather than let its vCPUs wait on
 * their faults forever. Bytes a handler sends are read and ignored.
 */
void uffd_backend_check(struct vm *vm, int sock);

#endif
