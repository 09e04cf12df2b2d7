// SPDX-License-Identifier: GPL-2.0-only
/*
 * jail_root.c - the jail's root directory: <base>/<exec-name>/<id>/root
 * with the exec file, the shared libraries its dynamic loader maps (a
 * dynamically linked vmon cannot start without them), the device nodes
 * vmon opens (/dev/kvm, /dev/net/tun, /dev/urandom) and the --link files;
 * then pivot_root into it. Runs as root in the jail's new mount namespace,
 * before any seccomp filter (docs/jail.md).
 */
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../api/mhd.h"
#include "../util/log.h"
#include "jail.h"

/*
 * mkdir -p @path (each new directory @mode, root's). Every component
 * after the first @from characters (inside the jail's root, where a user
 * jailed there before may have left a symbolic link) must be a directory
 * itself, not a link to one. 0 or -1 (logged).
 */
static int mkdirs(const char *path, size_t from, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != 0)
			continue;
		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST) {
			pr_err("jail: directory %s: %s", buf, strerror(errno));
			return -1;
		}
		if ((size_t)(p - buf) > from &&
		    (lstat(buf, &st) || !S_ISDIR(st.st_mode))) {
			pr_err("jail: %s: not a directory (a symbolic link?): refused",
			       buf);
			return -1;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/* Copies regular file @src to new file @dst (mode 0755). 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
	struct stat st;
	int in, out = -1, ret = -1;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st))
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL; /* not a regular file */
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0)
		goto out;
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto out;
		}
	}
	ret = 0;
out:
	if (ret)
		pr_err("jail: copy %s to %s: %s", src, dst, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ret;
}

/*
 * Puts file @src (symlinks followed) at @dst inside the root: a hard link
 * when it is root's and nobody else may write it, and both are on one
 * file system; else a copy (root's). Never a link to a file that another
 * user may change: the jailed user could otherwise rewrite, through the
 * shared inode, a program that root runs outside. A file left at @dst by
 * an earlier jail of the same id is replaced.
 */
static int place_file(const char *src, const char *dst, size_t from)
{
	char real[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (!realpath(src, real) || stat(real, &st)) {
		pr_err("jail: %s: %s", src, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdirs(dir, from, 0755))
			return -1;
	}
	if (unlink(dst) && errno != ENOENT) {
		pr_err("jail: %s: %s", dst, strerror(errno));
		return -1;
	}
	if (st.st_uid == 0 && !(st.st_mode & 022) && !link(real, dst))
		return 0;
	return copy_file(real, dst);
}

/*
 * Whether vmon, jailed with @o's arguments, may start an API server:
 * with --api-sock (or --api-sock=PATH) among them, or started as
 * `firecracker`, whose API is on by default (cli.c). An argument that
 * only looks like it costs the loading of libmicrohttpd, nothing else.
 */
static bool may_serve_api(const struct jail_opts *o)
{
	if (!strcmp(o->exec_name, "firecracker"))
		return true;
	for (int i = 0; i < o->vmm_argc; i++)
		if (!strncmp(o->vmm_argv[i], "--api-sock", 10))
			return true;
	return false;
}

/*
 * The dynamic loader (PT_INTERP) of ELF file @fd into @buf: 1, or 0 for a
 * static executable, -1 if @fd is not a 64-bit ELF executable.
 */
static int elf_interp(int fd, char *buf, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 256)
		return -1;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		off_t at = (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof(ph));

		if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
			return -1;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > len ||
		    pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) !=
			    (ssize_t)ph.p_filesz ||
		    buf[0] != '/' || buf[ph.p_filesz - 1] != 0)
			return -1;
		return 1;
	}
	return 0;
}

/*
 * Runs `@interp --list @exec` (glibc's loader lists what it would map,
 * without running @exec) and reads its output into @out. 0 or -1.
 */
static int loader_list(const char *interp, const char *exec, char *out,
		       size_t len)
{
	char *const argv[] = { (char *)interp, "--list", (char *)exec, NULL };
	char *const envp[] = { NULL };
	size_t got = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execve(interp, argv, envp);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && got + 1 < len) {
		ssize_t n = read(p[0], out + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = 0;
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pr_err("jail: %s --list %s failed: cannot tell its libraries",
		       interp, exec);
		return -1;
	}
	return 0;
}

/*
 * When the exec file is the jailer's own program (`vmon jail` executing
 * vmon), the libraries it needs are the ones this process has mapped, at
 * the paths the loader opened them by: dl_iterate_phdr() lists them with
 * no fork and exec of the loader (about 3 ms of CPU, most of the jail's
 * start-up cost). Each is placed in the root as place_libs() would.
 */
struct own_libs {
	const struct jail_opts *o;
	int err;
};

static int place_own_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct own_libs *ol = arg;
	char dst[PATH_MAX * 2];

	(void)size;
	/* The program itself (""), the vDSO (no file): nothing to place. */
	if (!info->dlpi_name || info->dlpi_name[0] != '/' ||
	    strstr(info->dlpi_name, "/../"))
		return 0;
	snprintf(dst, sizeof(dst), "%s%s", ol->o->root, info->dlpi_name);
	if (place_file(info->dlpi_name, dst, strlen(ol->o->root))) {
		ol->err = -1;
		return 1;
	}
	return 0;
}

static bool is_own_program(int fd)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat("/proc/self/exe", &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The exec file's loader and libraries, at the same paths in the root. */
static int place_libs(struct jail_opts *o, int fd)
{
	char interp[PATH_MAX], dst[PATH_MAX * 2];
	static char list[65536];
	struct own_libs ol = { o, 0 };
	struct stat st;
	int r = elf_interp(fd, interp, sizeof(interp));

	if (r <= 0) {
		if (r < 0)
			pr_err("jail: exec file %s: not a 64-bit ELF executable",
			       o->exec_file);
		return r;
	}
	/* It runs as root here: only a loader that root alone controls. */
	if (stat(interp, &st) || st.st_uid != 0 || (st.st_mode & 022)) {
		pr_err("jail: exec file %s: its loader %s is not a file of root's that only root may write",
		       o->exec_file, interp);
		return -1;
	}
	snprintf(dst, sizeof(dst), "%s%s", o->root, interp);
	if (place_file(interp, dst, strlen(o->root)))
		return -1;
	o->self = is_own_program(fd);
	/*
	 * This process's libraries, with libmicrohttpd, which vmon loads only
	 * for an API (api/mhd.c): loaded now if the jailed vmon may serve
	 * one, so that it and its own libraries are placed too (loading it
	 * and GnuTLS costs about as much CPU as the rest of the jail). For
	 * another exec file they are extra, its own are listed by its loader
	 * below.
	 */
	if (o->self && may_serve_api(o) && mhd_load())
		return -1;
	dl_iterate_phdr(place_own_lib, &ol);
	if (ol.err || o->self)
		return ol.err;
	if (loader_list(interp, o->exec_file, list, sizeof(list)))
		return -1;
	for (char *s = strtok(list, " \t\n"); s; s = strtok(NULL, " \t\n")) {
		if (s[0] != '/' || strstr(s, "/../"))
			continue; /* names, "=>", addresses */
		snprintf(dst, sizeof(dst), "%s%s", o->root, s);
		if (place_file(s, dst, strlen(o->root)))
			return -1;
	}
	return 0;
}

/* Device node @path (as on the host, if the host has it) in the root. */
static int make_node(const struct jail_opts *o, const char *path, mode_t mode,
		     bool owned)
{
	char dst[PATH_MAX * 2];
	struct stat st;

	if (stat(path, &st) || !S_ISCHR(st.st_mode))
		return 0; /* not on this host: vmon reports it if needed */
	snprintf(dst, sizeof(dst), "%s%s", o->root, path);
	*strrchr(dst, '/') = 0;
	if (mkdirs(dst, strlen(o->root), 0755))
		return -1;
	snprintf(dst, sizeof(dst), "%s%s", o->root, path);
	if ((unlink(dst) && errno != ENOENT) ||
	    mknod(dst, S_IFCHR | mode, st.st_rdev) || chmod(dst, mode) ||
	    (owned && chown(dst, o->uid, o->gid))) {
		pr_err("jail: device node %s: %s", dst, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --link FILE: FILE at /<its name> in the root, a hard link or (another
 * file system) a bind mount that lives in the jail's mount namespace.
 */
static int place_link(const struct jail_opts *o, const char *file)
{
	const char *slash = strrchr(file, '/');
	const char *name = slash ? slash + 1 : file;
	char dst[PATH_MAX * 2];
	struct stat a, b;
	int fd;

	if (!*name) {
		pr_err("jail: link %s: names a directory", file);
		return -1;
	}

	snprintf(dst, sizeof(dst), "%s/%s", o->root, name);
	if (stat(file, &a)) {
		pr_err("jail: link %s: %s", file, strerror(errno));
		return -1;
	}
	if (!lstat(dst, &b) && (b.st_ino != a.st_ino || b.st_dev != a.st_dev)) {
		pr_err("jail: link %s: %s is another file: refused", file, dst);
		return -1;
	}
	if (!lstat(dst, &b) || !link(file, dst))
		return 0;
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) ||
	    mount(file, dst, NULL, MS_BIND | MS_NOSUID | MS_NODEV, NULL)) {
		pr_err("jail: link %s: %s", file, strerror(errno));
		return -1;
	}
	return 0;
}

int jail_build_root(struct jail_opts *o)
{
	char dst[PATH_MAX * 2];
	int fd, ret;

	if (mkdirs(o->root, strlen(o->root), 0755) ||
	    chown(o->root, o->uid, o->gid) || chmod(o->root, 0755)) {
		pr_err("jail: %s: %s", o->root, strerror(errno));
		return -1;
	}
	snprintf(dst, sizeof(dst), "%s/%s", o->root, o->exec_name);
	if (place_file(o->exec_file, dst, strlen(o->root)))
		return -1;
	fd = open(dst, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("jail: %s: %s", dst, strerror(errno));
		return -1;
	}
	ret = place_libs(o, fd);
	close(fd);
	if (ret || make_node(o, "/dev/kvm", 0600, true) ||
	    make_node(o, "/dev/net/tun", 0600, true) ||
	    make_node(o, "/dev/urandom", 0444, false))
		return -1;
	for (int i = 0; i < o->nr_links; i++)
		if (place_link(o, o->links[i]))
			return -1;
	/* vmon's runtime directory (JAIL_RUNTIME_DIR), the user's own. */
	snprintf(dst, sizeof(dst), "%s%s", o->root, JAIL_RUNTIME_DIR);
	if (mkdirs(dst, strlen(o->root), 0755) || lchown(dst, o->uid, o->gid) ||
	    chmod(dst, 0700)) {
		pr_err("jail: %s: %s", dst, strerror(errno));
		return -1;
	}
	return 0;
}

int jail_pivot(const struct jail_opts *o)
{
	const char *step = "bind";

	if (mount(o->root, o->root, NULL, MS_BIND | MS_REC, NULL))
		goto fail;
	step = "chdir";
	if (chdir(o->root))
		goto fail;
	step = "old_root";
	if (mkdir("old_root", 0700) && errno != EEXIST)
		goto fail;
	step = "pivot_root";
	if (syscall(SYS_pivot_root, ".", "old_root"))
		goto fail;
	step = "umount old root";
	if (umount2("old_root", MNT_DETACH) || rmdir("old_root"))
		goto fail;
	step = "chroot";
	if (chroot(".") || chdir("/"))
		goto fail;
	return 0;
fail:
	pr_err("jail: %s: %s: %s", o->root, step, strerror(errno));
	return -1;
}
