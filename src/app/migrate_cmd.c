// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate_cmd.c - `vmon migrate ID URL [--mode M] [--downtime-ms N]
 * [--bandwidth RATE] [--compress] [--with-disks] [--token FILE]
 * [--verify auto|on|off]`:
 * resolves URL's host, starts the migration through instance ID's API (PUT /migration/send), follows
 * GET /migration with a progress line until it ends, and cancels it on
 * Ctrl-C. Exit 0 when the VM runs on the destination.
 */
#include "migrate_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../api/client.h"
#include "../migration/migration.h"
#include "../util/log.h"
#include "../util/parse.h"
#include "../vmm/exitcode.h"
#include "instances.h"

#define API_TIMEOUT_MS 10000
#define POLL_MS 200

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon migrate ID URL [options]\n"
		"Live-migrate instance ID to a vmon waiting with\n"
		"`vmon run --incoming URL` (URL: tcp:HOST:PORT or unix:PATH).\n"
		"  --mode MODE          precopy (default), postcopy (the VM moves\n"
		"                       after one round, its pages follow on demand)\n"
		"                       or auto (pre-copy, post-copy if it does not\n"
		"                       converge)\n"
		"  --downtime-ms N      the pause the guest may see (default %d)\n"
		"  --bandwidth RATE     bytes per second at most (K, M, G suffixes)\n"
		"  --compress           zstd-compress guest pages on the wire\n"
		"  --with-disks         copy the writable disks too (raw, qcow2), into the\n"
		"                       destination's images of them\n"
		"  --token FILE         prove to the destination that this source holds\n"
		"                       the token in FILE, and require the same of it\n"
		"                       (the destination's --migration-token FILE)\n"
		"  --verify WHEN        check guest RAM against KVM's dirty log at the\n"
		"                       switch-over and send the pages it missed: auto\n"
		"                       (default: on a PVM host, whose KVM misses\n"
		"                       some), on or off\n"
		"  -h, --help           this text\n"
		"Exit status: 0 the VM runs on the destination; 2 bad usage or\n"
		"refused; 4 the instance cannot be reached; 6 the migration failed\n"
		"or was cancelled (the VM runs on here).\n",
		MIG_DEFAULT_DOWNTIME_MS);
}

/* One API request; the status (body in *@resp) or -1 (printed). */
static int call(const char *sock, const char *method, const char *path,
		const char *body, char **resp)
{
	int st = api_request(sock, method, path, body, resp, API_TIMEOUT_MS);

	if (st < 0)
		pr_err("%s: %s", sock, strerror(errno));
	return st;
}

static void print_fault(const char *id, const char *resp)
{
	json_t *j = json_loads(resp ? resp : "", 0, NULL);
	const char *m = json_string_value(json_object_get(j, "fault_message"));

	pr_err("migrate %s: %s", id, m ? m : resp ? resp : "refused");
	json_decref(j);
}

static uint64_t jint(json_t *j, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(j, k));
}

/* The progress line: rewritten in place on a terminal. */
static void show(json_t *j, bool tty)
{
	uint64_t total = jint(j, "ram_pages"), sent = jint(j, "pages_sent");

	fprintf(stderr,
		"%sround %llu: %llu/%llu pages sent (%llu%% of RAM), %llu MiB on the wire, %llu dirty, expected downtime %llu ms%s",
		tty ? "\r" : "", (unsigned long long)jint(j, "rounds"),
		(unsigned long long)sent, (unsigned long long)total,
		(unsigned long long)(total ? sent * 100 / total : 0),
		(unsigned long long)(jint(j, "bytes_sent") >> 20),
		(unsigned long long)jint(j, "dirty_pages"),
		(unsigned long long)jint(j, "expected_downtime_ms"),
		tty ? "\033[K" : "\n");
}

/* The end of a migration: its summary and the exit code. */
static int ended(json_t *j, const char *state, bool tty)
{
	const char *e = json_string_value(json_object_get(j, "error"));

	if (tty)
		fputc('\n', stderr);
	if (strcmp(state, "completed") != 0) {
		pr_err("migration %s: %s; the VM runs on the source", state,
		       e ? e : "");
		return EXIT_MIGRATION;
	}
	fprintf(stderr,
		"migrated in %llu ms, downtime %llu ms, %llu rounds%s\n",
		(unsigned long long)jint(j, "total_ms"),
		(unsigned long long)jint(j, "downtime_ms"),
		(unsigned long long)jint(j, "rounds"),
		json_is_true(json_object_get(j, "postcopy")) ?
			", then post-copy" :
			"");
	if (jint(j, "unreported_pages"))
		fprintf(stderr,
			"%llu pages changed that KVM's dirty log did not report: sent with the last pages (--verify)\n",
			(unsigned long long)jint(j, "unreported_pages"));
	return EXIT_OK;
}

/* Follows GET /migration until the end; the exit code. */
static int follow(const char *sock, const char *id)
{
	bool tty = isatty(STDERR_FILENO), cancelled = false;
	uint64_t last_round = UINT64_MAX;

	for (;;) {
		char *resp = NULL;
		const char *state;
		int st, code = -1;
		json_t *j;

		if (interrupted && !cancelled) {
			cancelled = true;
			if (call(sock, "PUT", "/migration/cancel", "{}",
				 &resp) >= 0)
				free(resp);
			resp = NULL;
		}
		st = call(sock, "GET", "/migration", NULL, &resp);
		if (st < 0) {
			pr_err("migrate %s: the instance went away before it reported the end",
			       id);
			return EXIT_MIGRATION;
		}
		j = json_loads(resp ? resp : "", 0, NULL);
		free(resp);
		state = json_string_value(json_object_get(j, "state"));
		if (st != 200 || !state) {
			json_decref(j);
			pr_err("migrate %s: GET /migration answered %d", id,
			       st);
			return EXIT_MIGRATION;
		}
		if (tty || jint(j, "rounds") != last_round)
			show(j, tty);
		last_round = jint(j, "rounds");
		if (strcmp(state, "active") != 0)
			code = ended(j, state, tty);
		json_decref(j);
		if (code >= 0)
			return code;
		nanosleep(&(struct timespec){ 0, POLL_MS * 1000000L }, NULL);
	}
}

static const struct option opts[] = {
	{ "mode", required_argument, NULL, 'm' },
	{ "downtime-ms", required_argument, NULL, 'd' },
	{ "bandwidth", required_argument, NULL, 'b' },
	{ "compress", no_argument, NULL, 'c' },
	{ "with-disks", no_argument, NULL, 'w' },
	{ "token", required_argument, NULL, 't' },
	{ "verify", required_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

int cmd_migrate(int argc, char **argv)
{
	char sock[PATH_MAX], url[600], err[MIG_ERR_MAX], token[PATH_MAX] = "";
	struct mig_token t;
	uint64_t downtime = MIG_DEFAULT_DOWNTIME_MS, bw = 0;
	const char *mode = "precopy", *verify = "auto";
	enum mig_verify_mode vmode;
	bool compress = false, disks = false;
	char *body, *resp = NULL;
	enum mig_mode m;
	json_t *j;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			if (mig_mode_parse(mode, &m)) {
				pr_err("--mode %s: precopy, postcopy or auto",
				       mode);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (parse_uint(optarg, 1, 3600000, &downtime)) {
				pr_err("--downtime-ms %s: 1 to 3600000",
				       optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			if (parse_size(optarg, 1, &bw) || !bw) {
				pr_err("--bandwidth %s: a rate in bytes per second (K, M, G suffixes)",
				       optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			compress = true;
			break;
		case 'w':
			disks = true;
			break;
		case 't':
			/* Checked here; the instance reads it by its full path. */
			if (mig_token_load(optarg, &t, err, sizeof(err))) {
				pr_err("--token: %s", err);
				return EXIT_USAGE;
			}
			explicit_bzero(&t, sizeof(t));
			if (!realpath(optarg, token)) {
				pr_err("--token %s: %s", optarg,
				       strerror(errno));
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verify = optarg;
			if (mig_verify_mode_parse(verify, &vmode)) {
				pr_err("--verify %s: auto, on or off", verify);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (mig_url_resolve(argv[optind + 1], url, sizeof(url), err,
			    sizeof(err))) {
		pr_err("migrate: %s", err);
		return EXIT_USAGE;
	}
	if (instance_socket(argv[optind], sock, sizeof(sock)))
		return EXIT_USAGE;
	j = json_pack("{s:s, s:s, s:I, s:I, s:b, s:b, s:s}", "url", url, "mode",
		      mode, "downtime_ms", (json_int_t)downtime, "bandwidth",
		      (json_int_t)bw, "compress", compress, "with_disks", disks,
		      "verify", verify);
	if (j && *token)
		json_object_set_new(j, "token_file", json_string(token));
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body)
		return EXIT_HOST;
	st = call(sock, "PUT", "/migration/send", body, &resp);
	free(body);
	if (st < 0)
		return EXIT_HOST;
	if (st >= 300) {
		print_fault(argv[optind], resp);
		free(resp);
		return EXIT_USAGE;
	}
	free(resp);
	signal(SIGINT, on_sigint);
	return follow(sock, argv[optind]);
}
