/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hypercall.h - the numbers of vmon's paravirtual call ABI, shared by the
 * doorbell device (hypercall.c) and the guest runtime (guest/runtime).
 * docs/hypercalls.md is the reference. Plain C, no host headers.
 */
#ifndef VMON_DEVICES_HYPERCALL_H
#define VMON_DEVICES_HYPERCALL_H

#define VMON_HC_PORT 0x0e80 /* 4-byte OUT of the function number */

#define VMON_HC_VERSION 0 /* () -> major << 16 | minor << 8 | patch */
#define VMON_HC_FEATURES 1 /* () -> bit n set: function n exists */
#define VMON_HC_PRINT 2 /* (gpa, len) -> len, -EINVAL, -EFAULT */
#define VMON_HC_SHUTDOWN 3 /* (status 0..127) -> no return, -EINVAL */
#define VMON_HC_PING 4 /* (a, b, c, d) -> a + 2b + 3c + 4d */
#define VMON_HC_NR 5

#define VMON_HC_FEATURE_MASK ((1ULL << VMON_HC_NR) - 1)
#define VMON_HC_PRINT_MAX 1024
#define VMON_HC_SHUTDOWN_MAX 127

#ifndef __ASSEMBLER__
#include <stdint.h>
struct vm;
/* Runs function @nr; returns the value for RAX (negative errno on error). */
uint64_t hypercall_dispatch(struct vm *vm, uint64_t nr, uint64_t a0,
			    uint64_t a1, uint64_t a2, uint64_t a3);
#endif

#endif
