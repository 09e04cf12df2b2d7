/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp_compile.h - the allow-lists compiled with libseccomp, at build
 * time (seccomp_gen.c; seccomp_compile.c says why).
 */
#ifndef VMON_UTIL_SECCOMP_COMPILE_H
#define VMON_UTIL_SECCOMP_COMPILE_H

#include <linux/filter.h>
#include <stdbool.h>

#include "seccomp_lists.h"

/*
 * Kind @k's list as a BPF program (@out->filter malloc'd): a call outside
 * it traps (SIGSYS), or with @log is logged by the kernel. 0, or -1 with a
 * message.
 */
int seccomp_compile(enum thread_kind k, bool log, struct sock_fprog *out);

#endif
