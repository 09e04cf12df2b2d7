// SPDX-License-Identifier: GPL-2.0-only
/*
 * instances.c - the host's registry of vmon instances and the commands
 * that use it: list, pause, resume, stop, stat (list --mem and balance:
 * density.c).
 */
#include "instances.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../api/client.h"
#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "density.h"

#define API_TIMEOUT_MS 5000

/*
 * The runtime directory must be the caller's own: a directory (not a
 * symlink to one), owned by the effective uid, with no access for group or
 * others. Otherwise another local user could have planted it (or a link
 * in it) under the predictable name. Returns 0, or -1 (logged).
 */
static int check_private_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st)) {
		pr_err("runtime directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		pr_err("runtime directory %s: not a private directory of user %u (a directory, not a symlink, owned by that user, mode 0700): refused",
		       dir, (unsigned int)geteuid());
		return -1;
	}
	return 0;
}

static int runtime_dir(char *dir, size_t len, int create)
{
	struct stat st;

	const char *env = getenv("VMON_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(dir, len, "%s", env);
	else if (xdg && *xdg)
		snprintf(dir, len, "%s/vmon", xdg);
	else if (geteuid() == 0)
		snprintf(dir, len, "/run/vmon");
	else
		snprintf(dir, len, "/tmp/vmon-%u", (unsigned int)geteuid());
	if (create && mkdir(dir, 0700) && errno != EEXIST) {
		pr_err("runtime directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!create && lstat(dir, &st) && errno == ENOENT)
		return 0; /* nothing registered yet */
	return check_private_dir(dir);
}

int instance_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] >= 'a' && id[i] <= 'z') &&
		    !(id[i] >= 'A' && id[i] <= 'Z') &&
		    !(id[i] >= '0' && id[i] <= '9') && id[i] != '_' &&
		    id[i] != '-' && id[i] != '.')
			return 0;
	return 1;
}

/*
 * Whether the caller can talk on the Unix socket @path: 0 if it connects,
 * 1 if the socket is there but its mode or owner refuses the caller, -1
 * if nothing listens.
 */
static int socket_state(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		ret = errno == EACCES || errno == EPERM ? 1 : -1;
	close(fd);
	return ret;
}

/*
 * Reads a registry entry; 0 if it names a live instance the caller may
 * talk to: its process exists and its socket accepts the caller (a
 * reused PID alone does not count); 1 if it lives but its socket refuses
 * the caller; -1 if it is gone (or the entry is bad).
 */
static int read_entry(const char *path, char *sock, size_t len, long *pid)
{
	json_t *j = json_load_file(path, 0, NULL);
	json_t *s, *p;
	int ret = -1;

	if (!j)
		return -1;
	s = json_object_get(j, "api_sock");
	p = json_object_get(j, "pid");
	if (json_is_string(s) && json_is_integer(p) &&
	    json_integer_value(p) > 0) {
		snprintf(sock, len, "%s", json_string_value(s));
		*pid = (long)json_integer_value(p);
		if (kill((pid_t)*pid, 0) == 0 || errno == EPERM)
			ret = socket_state(sock);
	}
	json_decref(j);
	return ret;
}

int instance_register(const char *id, const char *sock, char *entry, size_t len)
{
	char dir[PATH_MAX], abs[PATH_MAX], old[PATH_MAX], tmp[PATH_MAX + 16];
	long pid;
	json_t *j;
	int fd;

	entry[0] = 0;
	if (runtime_dir(dir, sizeof(dir), 1))
		return -1;
	if (sock[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", sock);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		snprintf(abs, sizeof(abs), "%.2000s/%.2000s", cwd, sock);
	}
	snprintf(entry, len, "%.3000s/%s.json", dir, id);
	if (read_entry(entry, old, sizeof(old), &pid) >= 0) {
		pr_err("--id %s: already used by vmon instance %ld (%s)", id,
		       pid, old);
		entry[0] = 0;
		return -1;
	}
	j = json_pack("{s:s, s:I, s:s}", "id", id, "pid", (json_int_t)getpid(),
		      "api_sock", abs);
	snprintf(tmp, sizeof(tmp), "%s.tmp", entry);
	/* A new file of ours: never through a link somebody left there. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (!j || fd < 0 || json_dumpfd(j, fd, JSON_COMPACT) ||
	    rename(tmp, entry)) {
		pr_err("instance registry %s: %s", entry, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		json_decref(j);
		if (fd >= 0)
			close(fd);
		entry[0] = 0;
		return -1;
	}
	close(fd);
	json_decref(j);
	return 0;
}

void instance_unregister(const char *entry)
{
	if (entry && *entry)
		unlink(entry);
}

json_t *instance_get_json(const char *sock, const char *path)
{
	char *body = NULL;
	int st = api_request(sock, "GET", path, NULL, &body, API_TIMEOUT_MS);
	json_t *j = NULL;

	if (st == 200 && body)
		j = json_loads(body, 0, NULL);
	free(body);
	return j;
}

int instance_foreach(int (*fn)(const char *id, const char *sock, long pid,
			       void *arg),
		     void *arg)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (runtime_dir(dir, sizeof(dir), 0))
		return -1;
	d = opendir(dir);
	if (!d)
		return 0; /* nothing ever registered */
	while (!r && (de = readdir(d))) {
		char path[PATH_MAX + 256], sock[PATH_MAX], id[128];
		size_t n = strlen(de->d_name);
		long pid;
		int e;

		if (n < 6 || n - 5 >= sizeof(id) ||
		    strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		e = read_entry(path, sock, sizeof(sock), &pid);
		if (e < 0) /* The instance died without cleaning up. */
			unlink(path);
		if (e) /* gone, or not the caller's to talk to */
			continue;
		r = fn(id, sock, pid, arg);
	}
	closedir(d);
	return r;
}

static int list_one(const char *id, const char *sock, long pid, void *arg)
{
	json_t *info = instance_get_json(sock, "/");
	json_t *mc = instance_get_json(sock, "/machine-config");

	(void)arg;
	printf("%-24s %8ld %-12s %5lld %8lld %s\n", id, pid,
	       info ? json_string_value(json_object_get(info, "state")) :
		      "unreachable",
	       mc ? (long long)json_integer_value(
			    json_object_get(mc, "vcpu_count")) :
		    0LL,
	       mc ? (long long)json_integer_value(
			    json_object_get(mc, "mem_size_mib")) :
		    0LL,
	       sock);
	json_decref(info);
	json_decref(mc);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--mem"))
		return cmd_list_mem();
	if (argc > 1) {
		pr_err("list: %s: unknown argument (vmon list [--mem])",
		       argv[1]);
		return EXIT_USAGE;
	}
	printf("%-24s %8s %-12s %5s %8s %s\n", "ID", "PID", "STATE", "VCPUS",
	       "MEM_MIB", "API_SOCKET");
	return instance_foreach(list_one, NULL) ? EXIT_HOST : EXIT_OK;
}

int instance_socket(const char *id, char *sock, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX + 80];
	long pid;
	int r;

	if (strchr(id, '/')) {
		snprintf(sock, len, "%s", id);
		return 0;
	}
	if (!instance_id_valid(id)) {
		pr_err("%s: not an instance id or socket path", id);
		return -1;
	}
	if (runtime_dir(dir, sizeof(dir), 0))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	r = read_entry(path, sock, len, &pid);
	if (r) {
		pr_err("%s: %s", id,
		       r > 0 ? "its API socket refuses this user" :
			       "no such vmon instance (vmon list shows those with an API socket, the only ones these commands reach)");
		return -1;
	}
	return 0;
}

int cmd_instance(int argc, char **argv)
{
	const char *cmd = argv[0], *method, *path, *body = NULL;
	char sock[PATH_MAX], *resp = NULL;
	int st;

	/* vmon stop --acpi ID: the ACPI power button, not the hard stop. */
	if (!strcmp(cmd, "stop") && argc == 3 && !strcmp(argv[1], "--acpi")) {
		cmd = "stop --acpi";
		argc--;
		argv++;
	}
	if (argc != 2) {
		pr_err("%s: expected one instance id or API socket path (vmon %s ID)",
		       cmd, cmd);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		method = "PATCH";
		path = "/vm";
		body = !strcmp(cmd, "pause") ? "{\"state\":\"Paused\"}" :
					       "{\"state\":\"Resumed\"}";
	} else if (!strcmp(cmd, "stop") || !strcmp(cmd, "stop --acpi")) {
		method = "PUT";
		path = "/actions";
		body = cmd[4] ? "{\"action_type\":\"PowerButton\"}" :
				"{\"action_type\":\"Stop\"}";
	} else {
		method = "GET";
		path = "/vmon/stats";
	}
	if (instance_socket(argv[1], sock, sizeof(sock)))
		return EXIT_USAGE;
	st = api_request(sock, method, path, body, &resp, API_TIMEOUT_MS);
	if (st < 0) {
		pr_err("%s: %s", sock, strerror(errno));
		return EXIT_HOST;
	}
	if (st >= 300) {
		json_t *j = json_loads(resp, 0, NULL);
		const char *m =
			json_string_value(json_object_get(j, "fault_message"));

		pr_err("%s %s: %s", cmd, argv[1], m ? m : resp);
		json_decref(j);
		free(resp);
		return EXIT_USAGE;
	}
	if (*resp) {
		json_t *j = json_loads(resp, 0, NULL);

		if (j)
			json_dumpf(j, stdout, JSON_INDENT(2));
		else
			fputs(resp, stdout);
		putchar('\n');
		json_decref(j);
	}
	free(resp);
	return EXIT_OK;
}
