/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uffd_handler.h - vmon's page-fault handler for the Uffd back-end
 * (`vmon uffd-handler SOCKET MEMFILE`, docs/snapshot.md): it listens on
 * SOCKET, takes one VM's userfaultfd and region table (Firecracker's
 * protocol, uffd.h; Firecracker itself can use it too), and fills each
 * missing page from MEMFILE on demand until the VM's end of the socket
 * closes.
 */
#ifndef VMON_SNAPSHOT_UFFD_HANDLER_H
#define VMON_SNAPSHOT_UFFD_HANDLER_H

#include <stddef.h>
#include <stdio.h>

/*
 * Serves one VM; @ready gets a line once SOCKET listens. Returns 0 when
 * the VM is gone, -1 with @err on a failure (a bad message, a region
 * outside the file, a copy the kernel refused).
 */
int uffd_handler_run(const char *sock_path, const char *mem_path, FILE *ready,
		     char *err, size_t errlen);

#endif
