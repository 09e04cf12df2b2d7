/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - the `vmon run` command: from options to a running VM and back
 * to an exit code.
 */
#ifndef VMON_APP_RUN_H
#define VMON_APP_RUN_H

#include <stdbool.h>

#include "../config/config.h"
#include "../vmm/kvm.h"
#include "../vmm/vm.h"
#include "console.h"

int cmd_run(int argc, char **argv);

/* One VM with its console and serial output: built, started, torn down. */
struct vmm_session {
	struct vm vm;
	const struct vm_config *cfg; /* must outlive the session */
	bool vm_created;
	struct console con;
	bool console_on;
	int serial_fd;
};

/* Opens /dev/kvm and checks @cfg against it; 0 or an exit code. */
int vmm_host_open(struct kvm *kvm, const struct vm_config *cfg);
/* vmm_host_open()'s check of @cfg against an open @kvm; 0 or an exit code. */
int vmm_host_check(struct kvm *kvm, const struct vm_config *cfg);
/*
 * Builds the VM of @cfg (CPUID, vCPUs, devices, kernel) without starting
 * it; @append (may be NULL) is added to the command line. Returns 0 or an
 * exit code; either way vmm_session_destroy() cleans up.
 */
int vmm_session_build(struct vmm_session *s, struct kvm *kvm,
		      const struct vm_config *cfg, const char *append);
/*
 * As vmm_session_build() for a snapshot's VM: guest RAM mapped private
 * from @mem_fd (-1: anonymous, for the Uffd back-end), no kernel loaded,
 * no register set (snapshot_restore() does that next).
 */
int vmm_session_build_restore(struct vmm_session *s, struct kvm *kvm,
			      const struct vm_config *cfg, int mem_fd);
/* Attaches the console and starts the vCPUs; 0 or an exit code. */
int vmm_session_start(struct vmm_session *s);

/* An extra file descriptor for the main loop: @fn runs when it polls. */
struct loop_extra {
	int fd;
	void (*fn)(void *opaque);
	void *opaque;
};
#define VMM_LOOP_MAX_EXTRA 4

/*
 * Runs console I/O, signals (@sig_fd) and @ex until the VM stops; returns
 * the VM's exit code.
 */
int vmm_main_loop(struct vmm_session *s, int sig_fd,
		  const struct loop_extra *ex, unsigned int nex);
/* Tears the session down; returns the final exit code given @ret. */
int vmm_session_destroy(struct vmm_session *s, int ret);
/* Blocks SIGINT/TERM/HUP/QUIT in this thread and returns a signalfd. */
int vmm_signals_fd(void);

#endif
