// SPDX-License-Identifier: GPL-2.0-only
/*
 * jail.c - `vmon jail` and `vmon-jailer` (the same program, called by
 * that name): Firecracker's jailer options, and the order of the steps
 * from root to an unprivileged vmon inside its chroot (docs/jail.md).
 */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/parse.h"
#include "../vmm/exitcode.h"
#include "../vmm/kvm.h"
#include "instances.h"

enum {
	J_ID = 256,
	J_EXEC,
	J_UID,
	J_GID,
	J_BASE,
	J_NETNS,
	J_DAEMON,
	J_PIDNS,
	J_CGROUP,
	J_CGVER,
	J_PARENT,
	J_RLIMIT,
	J_LINK,
	J_HELP,
};

static const struct option jail_options[] = {
	{ "id", required_argument, NULL, J_ID },
	{ "exec-file", required_argument, NULL, J_EXEC },
	{ "uid", required_argument, NULL, J_UID },
	{ "gid", required_argument, NULL, J_GID },
	{ "chroot-base-dir", required_argument, NULL, J_BASE },
	{ "netns", required_argument, NULL, J_NETNS },
	{ "daemonize", no_argument, NULL, J_DAEMON },
	{ "new-pid-ns", no_argument, NULL, J_PIDNS },
	{ "cgroup", required_argument, NULL, J_CGROUP },
	{ "cgroup-version", required_argument, NULL, J_CGVER },
	{ "parent-cgroup", required_argument, NULL, J_PARENT },
	{ "resource-limit", required_argument, NULL, J_RLIMIT },
	{ "link", required_argument, NULL, J_LINK },
	{ "help", no_argument, NULL, J_HELP },
	{ NULL, 0, NULL, 0 },
};

static void jail_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon jail --id ID --exec-file VMON --uid UID --gid GID\n"
		"         [--chroot-base-dir DIR] [--netns PATH] [--daemonize]\n"
		"         [--new-pid-ns] [--cgroup-version 1|2] [--parent-cgroup PATH]\n"
		"         [--cgroup FILE=VALUE]... [--resource-limit fsize=N|no-file=N]...\n"
		"         [--link FILE]... [-- VMON-RUN-OPTIONS]\n"
		"(also as vmon-jailer). Runs VMON as UID:GID in DIR/NAME/ID/root\n"
		"(DIR: /srv/jailer) with new namespaces, a cgroup and no\n"
		"capabilities; see vmon(1) and docs/jail.md.\n");
}

static int bad(const char *opt, const char *arg, const char *why)
{
	pr_err("jail: %s %s: %s", opt, arg, why);
	return -1;
}

static int parse_rlimit(struct jail_opts *o, const char *arg)
{
	uint64_t v;

	if (!strncmp(arg, "fsize=", 6) &&
	    !parse_uint(arg + 6, 0, INT64_MAX, &v))
		o->rl_fsize = (long long)v;
	else if (!strncmp(arg, "no-file=", 8) &&
		 !parse_uint(arg + 8, 1, 1 << 20, &v))
		o->rl_nofile = (long long)v;
	else
		return bad("--resource-limit", arg,
			   "expected fsize=BYTES or no-file=1..1048576");
	return 0;
}

/* Options with a value, checked as they come. 0 or -1 (logged). */
static int jail_option(struct jail_opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case J_UID:
	case J_GID:
		if (parse_uint(arg, 0, UINT32_MAX - 1, &v))
			return bad(c == J_UID ? "--uid" : "--gid", arg,
				   "expected a number");
		if (c == J_UID)
			o->uid = (uid_t)v;
		else
			o->gid = (gid_t)v;
		return 0;
	case J_CGVER:
		if (strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0)
			return bad("--cgroup-version", arg, "expected 1 or 2");
		o->cgroup_version = arg[0] - '0';
		return 0;
	case J_CGROUP:
		if (o->nr_cgroups == JAIL_MAX_CGROUPS)
			return bad("--cgroup", arg, "too many (16 at most)");
		o->cgroups[o->nr_cgroups++] = arg;
		return 0;
	case J_LINK:
		if (o->nr_links == JAIL_MAX_LINKS)
			return bad("--link", arg, "too many (16 at most)");
		o->links[o->nr_links++] = arg;
		return 0;
	case J_RLIMIT:
		return parse_rlimit(o, arg);
	}
	return 0;
}

/* The whole command line: what the options together must satisfy. */
static int jail_check(struct jail_opts *o, bool uid, bool gid)
{
	const char *p;

	if (!o->id || !o->exec_file || !uid || !gid) {
		pr_err("jail: --id, --exec-file, --uid and --gid are required");
		return -1;
	}
	if (!instance_id_valid(o->id))
		return bad("--id", o->id,
			   "use 1 to 64 letters, digits, '_', '-' or '.'");
	if (o->exec_file[0] != '/' || access(o->exec_file, X_OK))
		return bad("--exec-file", o->exec_file,
			   "needs an absolute path to an executable");
	o->exec_name = strrchr(o->exec_file, '/') + 1;
	if (!*o->exec_name || o->exec_name[0] == '.')
		return bad("--exec-file", o->exec_file, "no file name");
	if (!o->parent_cgroup)
		o->parent_cgroup = o->exec_name;
	while (*o->parent_cgroup == '/')
		o->parent_cgroup++;
	p = o->parent_cgroup;
	if (!*o->parent_cgroup || strstr(p, "..") || strstr(p, "//"))
		return bad("--parent-cgroup", p,
			   "expected a relative path without '..'");
	if (o->base[0] != '/' || strstr(o->base, "/.."))
		return bad("--chroot-base-dir", o->base,
			   "expected an absolute path without '..'");
	if ((size_t)snprintf(o->root, sizeof(o->root), "%s/%s/%s/root", o->base,
			     o->exec_name, o->id) >= sizeof(o->root))
		return bad("--chroot-base-dir", o->base, "path too long");
	return 0;
}

/* 0, 1 (--help) or -1 (logged). */
static int jail_parse(int argc, char **argv, struct jail_opts *o)
{
	bool uid = false, gid = false;
	int c;

	*o = (struct jail_opts){ .base = "/srv/jailer",
				 .cgroup_version = 1,
				 .rl_fsize = -1,
				 .rl_nofile = -1 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", jail_options, NULL)) != -1) {
		if (c == J_HELP) {
			jail_usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			pr_err("jail: %s: unknown option or missing value (see vmon jail --help)",
			       argv[optind - 1]);
			return -1;
		}
		uid = uid || c == J_UID;
		gid = gid || c == J_GID;
		if (c == J_ID)
			o->id = optarg;
		else if (c == J_EXEC)
			o->exec_file = optarg;
		else if (c == J_BASE)
			o->base = optarg;
		else if (c == J_NETNS)
			o->netns = optarg;
		else if (c == J_PARENT)
			o->parent_cgroup = optarg;
		o->daemonize = o->daemonize || c == J_DAEMON;
		o->new_pid_ns = o->new_pid_ns || c == J_PIDNS;
		if (jail_option(o, c, optarg))
			return -1;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		pr_err("jail: %s: unexpected (vmon's options go after --)",
		       argv[optind]);
		return -1;
	}
	o->vmm_argc = argc - optind;
	o->vmm_argv = argv + optind;
	return jail_check(o, uid, gid);
}

/*
 * No way back to root: an empty bounding set and ambient set, the given
 * ids (no supplementary groups), no capabilities, no_new_privs.
 */
static int drop_privileges(const struct jail_opts *o)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			goto fail;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    setgroups(0, NULL) || setresgid(o->gid, o->gid, o->gid) ||
	    setresuid(o->uid, o->uid, o->uid) || syscall(SYS_capset, &h, d) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto fail;
	return 0;
fail:
	pr_err("jail: dropping to uid %u gid %u: %s", (unsigned int)o->uid,
	       (unsigned int)o->gid, strerror(errno));
	return -1;
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * --new-pid-ns: the child is the namespace's init and goes on; the
 * jailer writes its pid (as the caller's namespace sees it) to
 * /<exec-name>.pid in the jail and exits 0, as Firecracker's does.
 */
static int enter_pid_ns(struct jail_opts *o)
{
	char path[PATH_MAX];
	uint64_t cpu;
	pid_t pid;
	FILE *f;

	if (unshare(CLONE_NEWPID)) {
		pr_err("jail: new PID namespace: %s", strerror(errno));
		return -1;
	}
	cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	pid = fork();
	if (pid <= 0) {
		if (pid < 0)
			pr_err("jail: fork: %s", strerror(errno));
		/* The child's CPU time starts at 0; the parent's so far. */
		o->parent_cpu_us = cpu - o->start_cpu_us;
		o->start_cpu_us = 0;
		return pid;
	}
	snprintf(path, sizeof(path), "/%s.pid", o->exec_name);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f)) {
		pr_err("jail: %s: %s", path, strerror(errno));
		kill(pid, SIGKILL);
		_exit(EXIT_HOST);
	}
	_exit(EXIT_OK);
}

/* Joins --netns, detaches for --daemonize. 0 or -1 (logged). */
static int detach(const struct jail_opts *o, int netns_fd, int null_fd)
{
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET)) {
		pr_err("jail: network namespace %s: %s", o->netns,
		       strerror(errno));
		return -1;
	}
	if (!o->daemonize)
		return 0;
	if (setsid() < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
	    dup2(null_fd, 2) < 0) {
		pr_err("jail: daemonize: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The jail's steps, in order; returns only on failure. */
static int jail_enter(struct jail_opts *o)
{
	int netns_fd = -1, null_fd = -1;

	syscall(SYS_close_range, 3, ~0U, 0);
	if (o->netns) {
		netns_fd = open(o->netns, O_RDONLY | O_CLOEXEC);
		if (netns_fd < 0)
			return bad("--netns", o->netns, strerror(errno));
	}
	null_fd = o->daemonize ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
	if (jail_cgroup_enter(o))
		return -1;
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		pr_err("jail: new namespaces: %s", strerror(errno));
		return -1;
	}
	if (jail_build_root(o) || jail_pivot(o) || detach(o, netns_fd, null_fd))
		return -1;
	if (o->new_pid_ns && enter_pid_ns(o))
		return -1;
	/*
	 * The resource limits are the exec file's: set last, so that building
	 * the root is not bound by them (a copy of a large exec file onto
	 * another file system under --resource-limit fsize=).
	 */
	if (jail_rlimits(o))
		return -1;
	return drop_privileges(o);
}

int (*jail_self_main)(int argc, char **argv);

int cmd_jail(int argc, char **argv)
{
	uint64_t start_us = clock_us(CLOCK_MONOTONIC);
	uint64_t start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	char exe[PATH_MAX], t_us[24], t_cpu[24], t_parent[24];
	struct jail_opts o;
	const char *backend;
	char **args;
	int n, r = jail_parse(argc, argv, &o);

	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	o.start_us = start_us;
	o.start_cpu_us = start_cpu_us;
	if (geteuid() != 0) {
		pr_err("jail: needs root (it creates namespaces, device nodes and cgroups)");
		return EXIT_USAGE;
	}
	/* The jail's root has no /sys: vmon learns the backend from us. */
	backend = kvm_host_backend();
	args = calloc((size_t)o.vmm_argc + 10, sizeof(*args));
	if (!args || jail_enter(&o)) {
		free(args);
		return EXIT_HOST;
	}
	snprintf(exe, sizeof(exe), "/%s", o.exec_name);
	/* Firecracker's jailer's arguments, then those after --. */
	snprintf(t_us, sizeof(t_us), "%llu", (unsigned long long)o.start_us);
	snprintf(t_cpu, sizeof(t_cpu), "%llu",
		 (unsigned long long)o.start_cpu_us);
	snprintf(t_parent, sizeof(t_parent), "%llu",
		 (unsigned long long)o.parent_cpu_us);
	n = 0;
	args[n++] = (char *)o.exec_name;
	args[n++] = "--id";
	args[n++] = (char *)o.id;
	args[n++] = "--start-time-us";
	args[n++] = t_us;
	args[n++] = "--start-time-cpu-us";
	args[n++] = t_cpu;
	if (o.new_pid_ns) {
		args[n++] = "--parent-cpu-time-us";
		args[n++] = t_parent;
	}
	memcpy(args + n, o.vmm_argv, (size_t)o.vmm_argc * sizeof(*args));
	clearenv();
	setenv("VMON_RUNTIME_DIR", JAIL_RUNTIME_DIR, 1);
	if (backend)
		setenv("VMON_KVM_BACKEND", backend, 1);
	syscall(SYS_close_range, 3, ~0U, 0);
	/*
	 * The exec file is this very program (the usual `vmon jail
	 * --exec-file vmon`): go on as it in this process, with the same
	 * arguments, environment, descriptors, root, namespaces and
	 * credentials an exec would give it. A second exec would only load
	 * and relocate the same libraries again (docs/jail.md: about half
	 * of the jail's start-up CPU).
	 */
	if (o.self && jail_self_main)
		return jail_self_main(o.vmm_argc + n, args);
	execv(exe, args);
	pr_err("jail: exec %s in %s: %s", exe, o.root, strerror(errno));
	free(args);
	return EXIT_HOST;
}
