// SPDX-License-Identifier: GPL-2.0-only
/*
 * snapshot_cmd.c - the snapshot commands: `vmon snapshot ID DIR
 * [--resume]` (pause instance ID through its API, write DIR/state and
 * DIR/memory, leave it paused unless --resume) and `vmon snapshot-info
 * DIR` (what a snapshot holds, checked), `vmon snapshot-merge BASE
 * DIFF` (a Diff applied to its base), `vmon uffd-handler SOCKET MEMFILE`
 * (the Uffd back-end's page server). `vmon run --restore DIR` is in
 * api_main.c.
 */
#include "snapshot_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../api/client.h"
#include "../snapshot/snapshot.h"
#include "../snapshot/uffd_handler.h"
#include "../util/log.h"
#include "../util/parse.h"
#include "../vmm/exitcode.h"
#include "instances.h"

/* Snapshots of large VMs take a while to write. */
#define SNAPSHOT_TIMEOUT_MS 600000
#define API_TIMEOUT_MS 5000

/* One API request; 0, or an exit code with the fault printed. */
static int call(const char *sock, const char *id, const char *method,
		const char *path, const char *body, int timeout_ms)
{
	char *resp = NULL;
	int st = api_request(sock, method, path, body, &resp, timeout_ms);

	if (st < 0) {
		pr_err("%s: %s", sock, strerror(errno));
		return EXIT_HOST;
	}
	if (st >= 300) {
		json_t *j = json_loads(resp ? resp : "", 0, NULL);
		const char *m =
			json_string_value(json_object_get(j, "fault_message"));

		pr_err("snapshot %s: %s", id, m ? m : resp ? resp : "refused");
		json_decref(j);
		free(resp);
		return EXIT_USAGE;
	}
	free(resp);
	return 0;
}

static char *create_body(const char *dir, bool diff)
{
	char state[PATH_MAX + 8], mem[PATH_MAX + 8];
	json_t *j;
	char *s;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(mem, sizeof(mem), "%s/memory", dir);
	j = json_pack("{s:s, s:s, s:s}", "snapshot_type",
		      diff ? "Diff" : "Full", "snapshot_path", state,
		      "mem_file_path", mem);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

int cmd_snapshot(int argc, char **argv)
{
	char sock[PATH_MAX], dir[PATH_MAX], *body;
	bool resume = false, diff = false, bad = argc < 3;
	int ret;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--resume"))
			resume = true;
		else if (!strcmp(argv[i], "--diff"))
			diff = true;
		else
			bad = true;
	}
	if (bad) {
		pr_err("snapshot: expected an instance id and a directory (vmon snapshot ID DIR [--diff] [--resume])");
		return EXIT_USAGE;
	}
	if (mkdir(argv[2], 0700) && errno != EEXIST) {
		pr_err("snapshot directory %s: %s", argv[2], strerror(errno));
		return EXIT_USAGE;
	}
	/* The instance may run elsewhere: it needs an absolute path. */
	if (!realpath(argv[2], dir)) {
		pr_err("snapshot directory %s: %s", argv[2], strerror(errno));
		return EXIT_USAGE;
	}
	if (instance_socket(argv[1], sock, sizeof(sock)))
		return EXIT_USAGE;
	body = create_body(dir, diff);
	if (!body)
		return EXIT_HOST;
	ret = call(sock, argv[1], "PATCH", "/vm", "{\"state\":\"Paused\"}",
		   API_TIMEOUT_MS);
	if (!ret)
		ret = call(sock, argv[1], "PUT", "/snapshot/create", body,
			   SNAPSHOT_TIMEOUT_MS);
	if (!ret && resume)
		ret = call(sock, argv[1], "PATCH", "/vm",
			   "{\"state\":\"Resumed\"}", API_TIMEOUT_MS);
	free(body);
	if (!ret)
		printf("%s/state\n%s/memory\n", dir, dir);
	return ret;
}

struct snap_paths {
	char state[PATH_MAX + 8], mem[PATH_MAX + 8];
};

static void paths(struct snap_paths *p, const char *dir)
{
	snprintf(p->state, sizeof(p->state), "%s/state", dir);
	snprintf(p->mem, sizeof(p->mem), "%s/memory", dir);
}

int cmd_snapshot_merge(int argc, char **argv)
{
	char err[SNAPSHOT_ERR_MAX];
	struct snap_paths base, diff;

	if (argc != 3) {
		pr_err("snapshot-merge: expected a base and a diff snapshot directory (vmon snapshot-merge BASE DIFF)");
		return EXIT_USAGE;
	}
	paths(&base, argv[1]);
	paths(&diff, argv[2]);
	if (snapshot_merge(base.state, base.mem, diff.state, diff.mem, err,
			   sizeof(err))) {
		pr_err("snapshot-merge %s %s: %s", argv[1], argv[2], err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_uffd_handler(int argc, char **argv)
{
	struct uffd_handler_opts o = { .max_vms = 1 };
	char err[SNAPSHOT_ERR_MAX] = "";
	uint64_t n;

	for (int i = 3; i < argc; i += 2) {
		bool wset = !strcmp(argv[i], "--working-set");

		if (i + 1 >= argc || (!wset && strcmp(argv[i], "--vms") != 0)) {
			argc = 0;
			break;
		}
		if (wset) {
			o.wset_path = argv[i + 1];
		} else if (parse_uint(argv[i + 1], 0, 1000000, &n)) {
			pr_err("uffd-handler: --vms %s: a number of VMs expected (0: any, until SIGTERM)",
			       argv[i + 1]);
			return EXIT_USAGE;
		} else {
			o.max_vms = (unsigned int)n;
		}
	}
	if (argc < 3) {
		pr_err("uffd-handler: expected a socket path and a memory file (vmon uffd-handler SOCKET MEMFILE [--working-set FILE] [--vms N])");
		return EXIT_USAGE;
	}
	o.sock_path = argv[1];
	o.mem_path = argv[2];
	if (uffd_handler_run(&o, stdout, err, sizeof(err))) {
		pr_err("uffd-handler %s: %s", argv[1], err);
		return EXIT_HOST;
	}
	return EXIT_OK;
}

int cmd_snapshot_info(int argc, char **argv)
{
	char err[SNAPSHOT_ERR_MAX];
	struct snap_paths p;
	struct snapshot s;

	if (argc != 2) {
		pr_err("snapshot-info: expected a snapshot directory (vmon snapshot-info DIR)");
		return EXIT_USAGE;
	}
	paths(&p, argv[1]);
	if (snapshot_open(&s, p.state, p.mem, NULL, err, sizeof(err))) {
		pr_err("snapshot %s: %s", argv[1], err);
		return EXIT_USAGE;
	}
	snapshot_print(&s, stdout);
	snapshot_close(&s);
	return EXIT_OK;
}
