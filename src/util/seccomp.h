/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp.h - per-thread system call filters (docs/seccomp.md): compiled
 * once at start-up (from the lists in seccomp_lists.c, or read from a
 * filter file), installed by each thread as it starts, and a SIGSYS
 * report for a call outside the list.
 */
#ifndef VMON_UTIL_SECCOMP_H
#define VMON_UTIL_SECCOMP_H

#include <stdio.h>

#include "seccomp_lists.h"

enum seccomp_level {
	SECCOMP_LEVEL_TRAP, /* a call outside the list stops vmon (default) */
	SECCOMP_LEVEL_LOG, /* the kernel logs it, the call goes on */
	SECCOMP_LEVEL_OFF, /* no filters */
};

/* Parses "trap" or "log"; -1 for anything else. */
int seccomp_level_parse(const char *s, enum seccomp_level *level);

/*
 * Compiles the filters (or reads @file, a filter file as
 * seccomp_filters_export() writes, when not NULL) and installs the SIGSYS
 * handler. Call before any thread starts. 0, or -1 with a message.
 */
int seccomp_filters_setup(enum seccomp_level level, const char *file);

/*
 * The calling thread becomes a thread of @kind: it takes the kind's name
 * (if it has one) and installs the kind's filter, once. A thread that
 * cannot install its filter ends vmon (EXIT_HOST): it never runs
 * unfiltered when filters were asked for.
 */
void seccomp_thread_enter(enum thread_kind kind);

/* Prints each kind's list with the reasons (`vmon seccomp-print`). */
void seccomp_lists_print(FILE *f);

/* Compiles the lists at @level and writes them to @path as a filter file. */
int seccomp_filters_export(enum seccomp_level level, const char *path);

#endif
