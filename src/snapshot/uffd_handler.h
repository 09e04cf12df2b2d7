/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uffd_handler.h - vmon's page-fault handler for the Uffd back-end
 * (`vmon uffd-handler SOCKET MEMFILE`, docs/snapshot.md): it listens on
 * SOCKET, takes each VM's userfaultfd and region table (Firecracker's
 * protocol, uffd.h; Firecracker itself can use it too), and fills each
 * missing page from MEMFILE on demand until the VM's end of the socket
 * closes; one VM, or many at once (clones of one snapshot); with a
 * working set file, it records the pages the first VM touched, or loads
 * those recorded before in one batch ahead of each VM's faults.
 */
#ifndef VMON_SNAPSHOT_UFFD_HANDLER_H
#define VMON_SNAPSHOT_UFFD_HANDLER_H

#include <stddef.h>
#include <stdio.h>

struct uffd_handler_opts {
	const char *sock_path; /* where VMs connect */
	const char *mem_path; /* the memory file served */
	/*
	 * Record-and-prefetch (wset.h), or NULL: if the file exists, its
	 * pages are copied into each VM before its first fault is served, in
	 * runs of adjacent pages; if not, the pages the first VM faults in
	 * are recorded there when it is gone.
	 */
	const char *wset_path;
	/*
	 * How many VMs may connect in all: 1 (one VM, the default of `vmon
	 * uffd-handler`), N, or 0 for any number until SIGTERM or SIGINT.
	 */
	unsigned int max_vms;
};

/*
 * Serves the VMs that connect, each with its own userfaultfd and table,
 * from one read-only mapping of the memory file; @ready gets a line once
 * the socket listens and one for each VM with what it was served when it
 * is gone ("vm N: " first when more than one may come). Returns 0 when
 * the VMs are done (or on a signal), -1 with @err on a failure before
 * any VM (memory file, working set, socket) or, with one VM, when that VM
 * failed (a bad message, a region outside the file, a copy the kernel
 * refused). With more, a VM that fails is dropped and logged, and the
 * others are served on.
 */
int uffd_handler_run(const struct uffd_handler_opts *o, FILE *ready, char *err,
		     size_t errlen);

#endif
