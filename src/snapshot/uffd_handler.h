/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uffd_handler.h - vmon's page-fault handler for the Uffd back-end
 * (`vmon uffd-handler SOCKET MEMFILE`, docs/snapshot.md): it listens on
 * SOCKET, takes one VM's userfaultfd and region table (Firecracker's
 * protocol, uffd.h; Firecracker itself can use it too), and fills each
 * missing page from MEMFILE on demand until the VM's end of the socket
 * closes; with a working set file, it records the pages the VM touched,
 * or loads those recorded before in one batch ahead of the faults.
 */
#ifndef VMON_SNAPSHOT_UFFD_HANDLER_H
#define VMON_SNAPSHOT_UFFD_HANDLER_H

#include <stddef.h>
#include <stdio.h>

/*
 * Serves one VM; @ready gets a line once SOCKET listens and one with
 * what was served when the VM is gone. With @wset_path (record-and-
 * prefetch, wset.h): if the file exists, its pages are copied in before
 * the first fault is served, in runs of adjacent pages; if not, the pages
 * the VM faults in are recorded there when it is gone. Returns 0 when the
 * VM is gone, -1 with @err on a failure (a bad message or working set, a
 * region outside the file, a copy the kernel refused).
 */
int uffd_handler_run(const char *sock_path, const char *mem_path,
		     const char *wset_path, FILE *ready, char *err,
		     size_t errlen);

#endif
