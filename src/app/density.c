// SPDX-License-Identifier: GPL-2.0-only
/*
 * density.c - the host-level memory commands (docs/density.md):
 * `vmon list --mem`, each instance's memory and the total, and
 * `vmon balance`, the controller that moves the instances' balloon
 * targets through their API sockets so that the sum of their memory stays
 * under a host target (the decision itself: balance_policy.c).
 */
#include "density.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/client.h"
#include "../util/log.h"
#include "../util/parse.h"
#include "../vmm/exitcode.h"
#include "balance_policy.h"
#include "instances.h"

#define API_TIMEOUT_MS 5000
#define MAX_VMS 1024
#define DEFAULT_FLOOR (32ULL << 20)
#define DEFAULT_INTERVAL 5

static uint64_t mem_field(json_t *mem, const char *key)
{
	json_t *v = json_object_get(mem, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		       (uint64_t)json_integer_value(v) :
		       0;
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

static const char *const mem_keys[] = {
	"guest_ram_bytes", "process_rss_bytes", "process_pss_bytes",
	"shared_bytes",	   "ksm_merged_bytes",	"swapped_bytes",
};
#define NR_MEM_KEYS (sizeof(mem_keys) / sizeof(*mem_keys))

static int list_mem_one(const char *id, const char *sock, long pid, void *arg)
{
	uint64_t *sum = arg;
	json_t *st = instance_get_json(sock, "/vmon/stats");
	json_t *mem = json_object_get(st, "memory");

	printf("%-24s %8ld", id, pid);
	for (size_t i = 0; i < NR_MEM_KEYS; i++) {
		uint64_t v = mem_field(mem, mem_keys[i]);

		sum[i] += v;
		printf(" %8llu", mib(v));
	}
	printf("%s\n", mem ? "" : "  (not started)");
	json_decref(st);
	return 0;
}

int cmd_list_mem(void)
{
	uint64_t sum[NR_MEM_KEYS] = { 0 };

	printf("%-24s %8s %8s %8s %8s %8s %8s %8s\n", "ID", "PID", "MEM_MIB",
	       "RSS_MIB", "PSS_MIB", "SHARED", "KSM", "SWAP");
	if (instance_foreach(list_mem_one, sum))
		return EXIT_HOST;
	printf("%-24s %8s", "total", "");
	for (size_t i = 0; i < NR_MEM_KEYS; i++)
		printf(" %8llu", mib(sum[i]));
	putchar('\n');
	return EXIT_OK;
}

/* What `vmon balance` knows of the instances in one step. */
struct balance_step {
	struct bal_vm vms[MAX_VMS];
	char ids[MAX_VMS][72];
	char socks[MAX_VMS][PATH_MAX];
	size_t n;
};

/* The balloon's target and the guest's free memory, if it has a balloon. */
static void read_balloon(const char *sock, struct bal_vm *v)
{
	json_t *b = instance_get_json(sock, "/balloon");
	json_t *s;

	if (!b)
		return;
	v->balloon = true;
	v->target = mem_field(b, "amount_mib") << 20;
	json_decref(b);
	s = instance_get_json(sock, "/balloon/statistics");
	if (s) {
		v->target = mem_field(s, "target_mib") << 20;
		/*
		 * What the guest could give: its available memory (free plus
		 * reclaimable cache) where it reports it, as a kernel that
		 * fills free memory with cache has little "free".
		 */
		v->free = mem_field(s, "available_memory");
		if (!v->free)
			v->free = mem_field(s, "free_memory");
	}
	json_decref(s);
}

static int gather_one(const char *id, const char *sock, long pid, void *arg)
{
	struct balance_step *s = arg;
	json_t *st, *mem;
	struct bal_vm *v;

	(void)pid;
	if (s->n == MAX_VMS)
		return 0;
	st = instance_get_json(sock, "/vmon/stats");
	mem = json_object_get(st, "memory");
	if (!mem) { /* not started: uses no guest memory yet */
		json_decref(st);
		return 0;
	}
	v = &s->vms[s->n];
	memset(v, 0, sizeof(*v));
	v->mem = mem_field(mem, "guest_ram_bytes");
	v->resident = mem_field(mem, "process_pss_bytes");
	json_decref(st);
	read_balloon(sock, v);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
	snprintf(s->socks[s->n], sizeof(s->socks[0]), "%s", sock);
	s->n++;
	return 0;
}

static int set_target(const char *id, const char *sock, uint64_t target)
{
	char body[64], *resp = NULL;
	int st;

	snprintf(body, sizeof(body), "{\"amount_mib\":%llu}", mib(target));
	st = api_request(sock, "PATCH", "/balloon", body, &resp,
			 API_TIMEOUT_MS);
	if (st != 204)
		pr_warn("balance: %s: balloon target %llu MiB refused (%d): %s",
			id, mib(target), st, resp ? resp : "");
	free(resp);
	return st == 204 ? 0 : -1;
}

/* One step: read every instance, plan, set the targets that change. */
static int balance_once(struct balance_step *s, uint64_t target, uint64_t floor)
{
	uint64_t total;

	s->n = 0;
	if (instance_foreach(gather_one, s))
		return -1;
	total = balance_plan(s->vms, s->n, target, floor, target / 20);
	printf("balance: %zu VMs, %llu MiB in use, target %llu MiB\n", s->n,
	       mib(total), mib(target));
	for (size_t i = 0; i < s->n; i++) {
		const struct bal_vm *v = &s->vms[i];

		if (!v->balloon || v->new_target == v->target)
			continue;
		printf("balance: %s: %llu MiB in use, %llu MiB free: balloon %llu -> %llu MiB\n",
		       s->ids[i], mib(v->resident), mib(v->free),
		       mib(v->target), mib(v->new_target));
		set_target(s->ids[i], s->socks[i], v->new_target);
	}
	fflush(stdout);
	return 0;
}

static void balance_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon balance --target SIZE [--floor SIZE] [--interval S] [--once]\n"
		"Move the balloon targets of this host's vmon instances so that the sum of\n"
		"their memory (PSS) stays under SIZE: from the VMs with the most free\n"
		"memory first, never leaving a VM less than the floor (default 32M).\n"
		"Every S seconds (default 5), or one step with --once. docs/density.md\n");
}

static const struct option balance_options[] = {
	{ "target", required_argument, NULL, 't' },
	{ "floor", required_argument, NULL, 'f' },
	{ "interval", required_argument, NULL, 'i' },
	{ "once", no_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Options into @target, @floor, @interval, @once; 0, 1 (help) or -1. */
static int balance_args(int argc, char **argv, uint64_t *target,
			uint64_t *floor, uint64_t *interval, bool *once)
{
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", balance_options, NULL)) !=
	       -1) {
		if ((c == 't' && !parse_size(optarg, 1ULL << 20, target)) ||
		    (c == 'f' && !parse_size(optarg, 1ULL << 20, floor)) ||
		    (c == 'i' && !parse_uint(optarg, 1, 86400, interval)))
			continue;
		if (c == 'o') {
			*once = true;
			continue;
		}
		if (c == 'h') {
			balance_usage(stdout);
			return 1;
		}
		pr_err("balance: %s: %s (see vmon balance --help)",
		       argv[optind - 1],
		       c == '?' ? "unknown option" : "bad or missing value");
		return -1;
	}
	if (!*target || optind < argc) {
		pr_err("balance: %s", optind < argc ?
					      "unexpected argument" :
					      "--target SIZE is required");
		return -1;
	}
	return 0;
}

int cmd_balance(int argc, char **argv)
{
	uint64_t target = 0, floor = DEFAULT_FLOOR, interval = DEFAULT_INTERVAL;
	struct balance_step *s;
	bool once = false;
	int r = balance_args(argc, argv, &target, &floor, &interval, &once);

	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	s = malloc(sizeof(*s));
	if (!s) {
		pr_err("balance: out of memory");
		return EXIT_HOST;
	}
	do {
		struct timespec ts = { .tv_sec = (time_t)interval };

		if (balance_once(s, target, floor)) {
			free(s);
			return EXIT_HOST;
		}
		if (!once)
			nanosleep(&ts, NULL);
	} while (!once);
	free(s);
	return EXIT_OK;
}
