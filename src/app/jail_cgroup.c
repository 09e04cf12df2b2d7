// SPDX-License-Identifier: GPL-2.0-only
/*
 * jail_cgroup.c - the jail's cgroup and resource limits. --cgroup
 * FILE=VALUE writes VALUE to FILE of <hierarchy>/<parent>/<id>, created
 * (with its parents) on the hierarchy that has FILE's controller: the
 * unified one for --cgroup-version 2 (controllers enabled down the path
 * through cgroup.subtree_control), the controller's own mount for 1 (as
 * listed in /proc/mounts); then the jailer moves itself in, and vmon,
 * executed later, stays there. --resource-limit fsize= and no-file= set
 * both the soft and the hard limit (no-file 2048 when none is given, as
 * Firecracker's jailer).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"
#include "jail.h"

/* Writes @val to @dir/@file. 0 or -1 (logged). */
static int write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	size_t len = strlen(val);
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len) != (ssize_t)len)
		ret = -1;
	if (ret)
		pr_err("jail: cgroup %s = %s: %s", path, val, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The mount point of the hierarchy holding controller @ctl (version 1:
 * a "cgroup" mount with @ctl among its options; 2: the "cgroup2" mount).
 */
static int hierarchy(int version, const char *ctl, char *mnt, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int ret = -1;

	while (f && ret && (m = getmntent(f))) {
		if (version == 2 && !strcmp(m->mnt_type, "cgroup2"))
			ret = 0;
		if (version == 1 && !strcmp(m->mnt_type, "cgroup") &&
		    hasmntopt(m, ctl))
			ret = 0;
		if (!ret)
			snprintf(mnt, len, "%s", m->mnt_dir);
	}
	if (f)
		endmntent(f);
	if (ret)
		pr_err("jail: cgroup controller %s: no cgroup v%d hierarchy has it",
		       ctl, version);
	return ret;
}

/*
 * Creates @dir directory by directory below its first @n characters (the
 * hierarchy's mount point); on version 2 enables @ctl in each parent's
 * cgroup.subtree_control first. 0 or -1 (logged).
 */
static int make_cgroup(int version, const char *dir, size_t n, const char *ctl)
{
	char path[PATH_MAX], plus[72];

	snprintf(path, sizeof(path), "%s", dir);
	snprintf(plus, sizeof(plus), "+%s", ctl);
	for (char *p = path + n;; p++) {
		char c = *p;

		if (p > path + n && (c == '/' || c == 0)) {
			*p = 0;
			if (mkdir(path, 0755) && errno != EEXIST) {
				pr_err("jail: cgroup %s: %s", path,
				       strerror(errno));
				return -1;
			}
			*p = c;
		}
		if (c == '/' && version == 2) {
			*p = 0;
			if (write_file(path, "cgroup.subtree_control", plus))
				return -1;
			*p = c;
		}
		if (!c)
			return 0;
	}
}

/* One --cgroup FILE=VALUE. Its directory into @dir. 0 or -1 (logged). */
static int set_one(const struct jail_opts *o, const char *spec, char *dir,
		   size_t len)
{
	char file[128], ctl[64], mnt[PATH_MAX];
	const char *eq = strchr(spec, '=');
	const char *dot = strchr(spec, '.');
	size_t n = eq ? (size_t)(eq - spec) : 0;

	if (!eq || !dot || dot > eq || dot == spec || n >= sizeof(file) ||
	    (size_t)(dot - spec) >= sizeof(ctl) || memchr(spec, '/', n)) {
		pr_err("jail: cgroup %s: expected CONTROLLER.FILE=VALUE", spec);
		return -1;
	}
	snprintf(file, sizeof(file), "%.*s", (int)n, spec);
	snprintf(ctl, sizeof(ctl), "%.*s", (int)(dot - spec), spec);
	if (hierarchy(o->cgroup_version, ctl, mnt, sizeof(mnt)))
		return -1;
	if ((size_t)snprintf(dir, len, "%s/%s/%s", mnt, o->parent_cgroup,
			     o->id) >= len) {
		pr_err("jail: cgroup %s/%s/%s: path too long", mnt,
		       o->parent_cgroup, o->id);
		return -1;
	}
	if (make_cgroup(o->cgroup_version, dir, strlen(mnt), ctl))
		return -1;
	return write_file(dir, file, eq + 1);
}

int jail_cgroup_enter(const struct jail_opts *o)
{
	char dirs[JAIL_MAX_CGROUPS][PATH_MAX], pid[32];
	int nr = 0;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (int i = 0; i < o->nr_cgroups; i++) {
		bool seen = false;

		if (set_one(o, o->cgroups[i], dirs[nr], sizeof(dirs[nr])))
			return -1;
		for (int j = 0; j < nr; j++)
			seen = seen || !strcmp(dirs[j], dirs[nr]);
		nr += !seen;
	}
	for (int i = 0; i < nr; i++)
		if (write_file(dirs[i], "cgroup.procs", pid))
			return -1;
	return 0;
}

int jail_rlimits(const struct jail_opts *o)
{
	struct rlimit nofile = { 2048, 2048 };

	if (o->rl_fsize >= 0) {
		struct rlimit r = { (rlim_t)o->rl_fsize, (rlim_t)o->rl_fsize };

		if (setrlimit(RLIMIT_FSIZE, &r)) {
			pr_err("jail: resource limit fsize=%lld: %s",
			       o->rl_fsize, strerror(errno));
			return -1;
		}
	}
	if (o->rl_nofile >= 0)
		nofile.rlim_cur = nofile.rlim_max = (rlim_t)o->rl_nofile;
	if (setrlimit(RLIMIT_NOFILE, &nofile)) {
		pr_err("jail: resource limit no-file=%llu: %s",
		       (unsigned long long)nofile.rlim_cur, strerror(errno));
		return -1;
	}
	return 0;
}
