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
 * @sock_path. 0 with fds[0] the connected socket and fds[1] the
 * userfaultfd, which the caller keeps open while the VM lives (the
 * handler learns from the socket's end that the VM is gone; vmon's copy
 * of the userfaultfd keeps the registration, so a dead handler stalls the
 * faulting thread instead of letting the kernel fill zero pages), or -1
 * with @err.
 */
int uffd_backend_connect(struct vm *vm, const char *sock_path, int fds[2],
			 char *err, size_t errlen);

#endif
