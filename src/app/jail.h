/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jail.h - `vmon jail` / `vmon-jailer`: Firecracker's jailer for vmon
 * (docs/jail.md). As root, it builds <base>/<exec-name>/<id>/root, puts
 * the exec file (and the shared libraries it loads) in it, enters new
 * mount, IPC, UTS (and optionally PID and network) namespaces, a cgroup,
 * resource limits, pivots into the root, drops to the given uid/gid with
 * no capabilities and no_new_privs, and executes vmon there. Runs before
 * any seccomp filter: the executed vmon installs its own.
 */
#ifndef VMON_APP_JAIL_H
#define VMON_APP_JAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_MAX_CGROUPS 16
#define JAIL_MAX_LINKS 16
/* vmon's VMON_RUNTIME_DIR in the jail (made for the uid, 0700). */
#define JAIL_RUNTIME_DIR "/run/vmon"

struct jail_opts {
	const char *id; /* --id */
	const char *exec_file; /* --exec-file (absolute) */
	const char *exec_name; /* its last path component */
	uid_t uid; /* --uid */
	gid_t gid; /* --gid */
	const char *base; /* --chroot-base-dir, /srv/jailer */
	const char *netns; /* --netns: a network namespace file */
	const char *parent_cgroup; /* --parent-cgroup (default exec_name) */
	int cgroup_version; /* --cgroup-version: 1 or 2 */
	const char *cgroups[JAIL_MAX_CGROUPS]; /* --cgroup FILE=VALUE */
	int nr_cgroups;
	long long rl_fsize, rl_nofile; /* --resource-limit; -1: unset */
	const char *links[JAIL_MAX_LINKS]; /* --link FILE (vmon's own) */
	int nr_links;
	bool daemonize; /* --daemonize */
	bool new_pid_ns; /* --new-pid-ns */
	int vmm_argc; /* after --: vmon's arguments */
	char **vmm_argv;
	char root[4096]; /* <base>/<exec_name>/<id>/root */
	bool self; /* the exec file is this program (set by jail_build_root) */
	/*
	 * Passed to the exec file as Firecracker's jailer does: when the
	 * jailer started (CLOCK_MONOTONIC, us) and its CPU time then
	 * (CLOCK_PROCESS_CPUTIME_ID, us); with --new-pid-ns the exec file is
	 * a new process: 0, and the CPU the jailer's first process used.
	 */
	uint64_t start_us, start_cpu_us, parent_cpu_us;
};

int cmd_jail(int argc, char **argv);
/*
 * vmon's command dispatch as main() runs it (main.c sets it): what a jail
 * whose exec file is this program goes on with instead of an exec.
 */
extern int (*jail_self_main)(int argc, char **argv);

/*
 * jail_root.c, in the new mount namespace: fills the root (exec file and
 * its libraries, device nodes, --link files), then pivots into it. Each
 * returns 0 or -1 (logged).
 */
int jail_build_root(struct jail_opts *o);
int jail_pivot(const struct jail_opts *o);

/* jail_cgroup.c: the process's cgroup and resource limits. 0 or -1. */
int jail_cgroup_enter(const struct jail_opts *o);
int jail_rlimits(const struct jail_opts *o);

#endif
