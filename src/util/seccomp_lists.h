/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp_lists.h - the shape of the per-thread system call allow-lists
 * (the lists themselves are in seccomp_lists.c; src/util/seccomp.c turns
 * them into filters). docs/seccomp.md describes both.
 */
#ifndef VMON_UTIL_SECCOMP_LISTS_H
#define VMON_UTIL_SECCOMP_LISTS_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of vmon threads; each installs its own filter at its start. */
enum thread_kind {
	THREAD_MAIN, /* main(): console, signals, stop, teardown */
	THREAD_VCPU, /* one per vCPU: KVM_RUN and device emulation */
	THREAD_IO, /* the virtio I/O thread (src/vmm/iothread.c) */
	THREAD_API, /* libmicrohttpd's thread: the API, InstanceStart */
	THREAD_UART, /* the console output writers (util/outq.c): UART, hvc0 */
	THREAD_MIGRATE, /* post-copy receivers (migration/postcopy.c) */
	THREAD_KINDS,
};

/* An argument condition: (arg[index] & mask) == value. */
struct sc_cond {
	unsigned int index;
	uint64_t mask;
	uint64_t value;
};

/* One allowed system call, under up to two argument conditions. */
struct sc_rule {
	const char *call; /* its name as libseccomp knows it */
	const char *cond_text; /* the conditions for people, or NULL */
	const char *why; /* the reason the thread needs it */
	unsigned int nconds;
	struct sc_cond cond[2];
};

struct sc_group {
	const char *name;
	const struct sc_rule *rules;
	size_t nr_rules;
};

struct sc_kind {
	const char *name; /* "vcpu": reports, seccomp-print, filter files */
	const char *comm; /* the thread name it sets, or NULL: its own */
	const char *what; /* one line for seccomp-print */
	const struct sc_group *const *groups; /* NULL-terminated */
	/*
	 * NULL-terminated, or NULL: the calls the thread makes on its hot
	 * path (every exit, every event), tested first in this order; the
	 * others are tested after them, each costing a few instructions.
	 */
	const char *const *hot;
};

extern const struct sc_kind sc_kinds[THREAD_KINDS];

#endif
