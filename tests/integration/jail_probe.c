// SPDX-License-Identifier: GPL-2.0-only
/*
 * jail_probe.c - a static program test_jail.py runs as the jail's exec
 * file (`vmon jail --exec-file jail_probe`, as Firecracker's jailer runs
 * any program) to look at the jail from inside, with no /dev/kvm needed:
 * it prints one "key=value" line per thing it finds, and the test checks
 * them. It needs nothing in its root (no /proc, no libraries):
 *   args       its arguments after argv[0]
 *   ids        real, effective and saved uid and gid, supplementary groups
 *   caps       effective, permitted and inheritable sets; bounding set size
 *   nnp        no_new_privs
 *   pid        its pid (1 when the jail made a PID namespace)
 *   files      every path under its root: its type, owner, and "w" if
 *              the probe may write it (access(W_OK)), else "-"
 *   dotdot     whether "/.." is "/" (no way out of the root)
 *   write_root what creating a file at the root gives (an errno name)
 *   nofile, fsize  its resource limits
 *   forks      how many children it could fork (at most 64) and why not
 *   ate        with the argument --eat MIB: the MiB of memory it could
 *              touch (after every line above is out), one line per 4 MiB,
 *              so that a memory limit's kill shows where it came
 *   held       with the argument --hold, last: it then waits for the end
 *              of its standard input, so that the test can look at it
 *              from outside (its cgroup) while it runs
 * The root is the jail user's own (vmon puts its socket and snapshots
 * there), so creating a file in it succeeds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FORKS 64

static void list(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		printf("files=%s unreadable (%s)\n", dir,
		       strerrorname_np(errno));
		return;
	}
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[1] ? "/" : "",
			 e->d_name);
		if (lstat(path, &st))
			continue;
		printf("files=%s %s %u %s\n", path,
		       S_ISDIR(st.st_mode)  ? "dir" :
		       S_ISREG(st.st_mode)  ? "file" :
		       S_ISCHR(st.st_mode)  ? "chr" :
		       S_ISLNK(st.st_mode)  ? "link" :
		       S_ISSOCK(st.st_mode) ? "sock" :
					      "other",
		       st.st_uid, access(path, W_OK) ? "-" : "w");
		if (S_ISDIR(st.st_mode) && depth < 8)
			list(path, depth + 1);
	}
	closedir(d);
}

static void forks(void)
{
	pid_t kids[MAX_FORKS];
	int n = 0, err = 0;

	while (n < MAX_FORKS) {
		pid_t p = fork();

		if (p < 0) {
			err = errno;
			break;
		}
		if (!p) {
			pause();
			_exit(0);
		}
		kids[n++] = p;
	}
	printf("forks=%d %s\n", n, err ? strerrorname_np(err) : "-");
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
}

/* Touches @mib MiB of fresh anonymous memory, 4 MiB at a time. */
static void eat(long mib)
{
	for (long done = 0; done < mib; done += 4) {
		char *p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			printf("ate=%ld %s\n", done, strerrorname_np(errno));
			return;
		}
		memset(p, 0x5a, 4 << 20);
		printf("ate=%ld\n", done + 4);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = { 0 };
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct stat root, up;
	struct rlimit rl;
	int bset = 0, fd;

	printf("args=");
	for (int i = 1; i < argc; i++)
		printf("%s%s", argv[i], i + 1 < argc ? " " : "");
	printf("\n");
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	printf("ids=%u %u %u %u %u %u %d\n", ruid, euid, suid, rgid, egid, sgid,
	       getgroups(0, NULL));
	syscall(SYS_capget, &h, c);
	for (int cap = 0; cap < 64; cap++)
		bset += prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1;
	printf("caps=%x%08x %x%08x %x%08x %d\n", c[1].effective, c[0].effective,
	       c[1].permitted, c[0].permitted, c[1].inheritable,
	       c[0].inheritable, bset);
	printf("nnp=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("pid=%d\n", (int)getpid());
	list("/", 0);
	printf("dotdot=%s\n", !stat("/", &root) && !stat("/..", &up) &&
					      root.st_ino == up.st_ino &&
					      root.st_dev == up.st_dev ?
				      "root" :
				      "escapes");
	fd = open("/probe-was-here", O_WRONLY | O_CREAT | O_EXCL, 0644);
	printf("write_root=%s\n", fd < 0 ? strerrorname_np(errno) : "created");
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("nofile=%llu %llu\n", (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_FSIZE, &rl);
	printf("fsize=%lld %lld\n", (long long)rl.rlim_cur,
	       (long long)rl.rlim_max);
	fflush(stdout);
	forks();
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--eat"))
			eat(strtol(argv[i + 1], NULL, 10));
	for (int i = 1; i < argc; i++) {
		char c;

		if (strcmp(argv[i], "--hold"))
			continue;
		printf("held=1\n");
		fflush(stdout);
		while (read(STDIN_FILENO, &c, 1) > 0)
			;
		break;
	}
	return 0;
}
