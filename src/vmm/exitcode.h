/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exitcode.h - vmon's documented exit codes (docs/vmon.1, EXIT STATUS).
 *
 * Odd codes 1..255 belong to the guest: a write of V to the debug-exit
 * port ends vmon with (V << 1) | 1, as QEMU's isa-debug-exit does. vmon's
 * own codes are therefore even.
 */
#ifndef VMON_VMM_EXITCODE_H
#define VMON_VMM_EXITCODE_H

enum vmon_exit {
	/* Guest reset (i8042, reboot=k), power-off, Ctrl-A x, SIGTERM/SIGINT. */
	EXIT_OK = 0,
	/* Bad command line or input file: option, size, kernel, initrd. */
	EXIT_USAGE = 2,
	/* The host cannot run the VM: /dev/kvm missing, no permission,
	 * KVM too old, a required capability missing, out of memory. */
	EXIT_HOST = 4,
	/* The guest triple-faulted (KVM_EXIT_SHUTDOWN). */
	EXIT_TRIPLE_FAULT = 8,
	/* KVM could not emulate a guest instruction (KVM_EXIT_INTERNAL_ERROR,
	 * emulation failure). */
	EXIT_EMULATION = 10,
	/* VM entry failed (KVM_EXIT_FAIL_ENTRY) or another KVM internal error. */
	EXIT_ENTRY_FAILED = 12,
	/* An exit reason vmon does not expect, or KVM_RUN itself failed. */
	EXIT_UNEXPECTED = 14,
	/* The guest reported a crash (KVM_SYSTEM_EVENT_CRASH). */
	EXIT_GUEST_CRASH = 16,
	/* The Uffd back-end's page-fault handler went away (docs/snapshot.md). */
	EXIT_UFFD_HANDLER = 18,
	/* vmon migrate: the migration failed or was cancelled; the VM runs
	 * on the source (docs/migration.md). */
	EXIT_MIGRATION = 6,
	/* A vmon thread made a system call outside its seccomp list
	 * (docs/seccomp.md); Firecracker's code for it too. */
	EXIT_SECCOMP = 148,
};

#endif
