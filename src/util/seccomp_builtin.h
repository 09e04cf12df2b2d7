/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp_builtin.h - the filters built into vmon: every thread kind's
 * program at both levels, and the system call names for the SIGSYS
 * report, written at build time by seccomp_gen.c into seccomp_progs.c
 * (in the build directory) from the lists in seccomp_lists.c.
 */
#ifndef VMON_UTIL_SECCOMP_BUILTIN_H
#define VMON_UTIL_SECCOMP_BUILTIN_H

#include <linux/filter.h>

#include "seccomp_lists.h"

struct seccomp_builtin {
	const struct sock_filter *filter;
	unsigned short len;
};

/* [0]: a call outside the list traps; [1]: the kernel logs it. */
extern const struct seccomp_builtin seccomp_builtin_progs[2][THREAD_KINDS];

/* System call numbers the names are known for. */
#define SECCOMP_NAMES_MAX 512
/* Each number's name, or NULL. */
extern const char *const seccomp_builtin_names[SECCOMP_NAMES_MAX];

#endif
