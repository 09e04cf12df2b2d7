// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - vmon's entry point: global options and the sub-command table.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "cli.h"
#include "density.h"
#include "fc_cli.h"
#include "img.h"
#include "instances.h"
#include "jail.h"
#include "migrate_cmd.h"
#include "run.h"
#include "seccomp_print.h"
#include "snapshot_cmd.h"

#ifndef VMON_VERSION
#define VMON_VERSION "unknown"
#endif

/* One sub-command: its name, its entry, its usage lines for --help. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	/* Prints its own --help (else the lines below are its help). */
	bool own_help;
	const char *usage; /* "ARGS\n  what it does", indented as in usage() */
};

static const struct command commands[] = {
	{ "run", cmd_run, true,
	  "[OPTIONS]\n             boot a VM (vmon run --help); --api-sock PATH serves\n"
	  "             Firecracker's API instead (docs/api.md)" },
	{ "list", cmd_list, false,
	  "[--mem]\n             the vmon instances with an API socket on this host;\n"
	  "             --mem: each one's memory and the total" },
	{ "balance", cmd_balance, true,
	  "--target SIZE [--floor SIZE] [--interval S] [--once]\n"
	  "             move the instances' balloons to keep their memory\n"
	  "             under SIZE (docs/density.md)" },
	{ "pause", cmd_instance, false,
	  "ID\n             pause instance ID (or API socket path)" },
	{ "resume", cmd_instance, false, "ID\n             resume it" },
	{ "stop", cmd_instance, false,
	  "[--acpi] ID\n             stop it (vmon exits 0); --acpi: press its ACPI\n"
	  "             power button (the guest shuts down)" },
	{ "stat", cmd_instance, false,
	  "ID\n             print its metrics as JSON" },
	{ "seccomp-print", cmd_seccomp_print, true,
	  "[--export FILE]\n             each thread's system call list (docs/seccomp.md)" },
	{ "snapshot", cmd_snapshot, false,
	  "ID DIR [--diff] [--resume]\n"
	  "             pause it and write a snapshot to DIR (state, memory)" },
	{ "jail", cmd_jail, true,
	  "--id ID --exec-file VMON --uid U --gid G [...] [-- OPTIONS]\n"
	  "             run VMON in a chroot as U:G (Firecracker's jailer,\n"
	  "             also as vmon-jailer: docs/jail.md)" },
	{ "snapshot-merge", cmd_snapshot_merge, false,
	  "BASE DIFF\n             apply the Diff snapshot DIFF to BASE (BASE becomes it)" },
	{ "uffd-handler", cmd_uffd_handler, false,
	  "SOCKET MEMFILE [--working-set FILE] [--vms N]\n"
	  "             serve VMs' pages from MEMFILE (Uffd back-end): one,\n"
	  "             N, or any number (0); record the working set in FILE,\n"
	  "             or prefetch it" },
	{ "snapshot-info", cmd_snapshot_info, false,
	  "DIR\n             check and describe the snapshot in DIR" },
	{ "img", cmd_img, false,
	  "create|convert|info|check|commit|resize|rebase ...\n"
	  "             qcow2 images, as qemu-img (docs/qcow2.md)" },
	{ "migrate", cmd_migrate, true,
	  "ID URL [options]\n"
	  "             live-migrate instance ID to `vmon run --incoming URL`" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(*commands))

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmon COMMAND [OPTIONS]\n"
		   "A virtual machine monitor for Linux KVM.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s %s\n", commands[i].name, commands[i].usage);
	fprintf(f,
		"  help\n             this help (vmon COMMAND --help: one command's)\n"
		"\n"
		"Options:\n"
		"  --version  print the Firecracker API version and vmon's\n"
		"  --help     this help\n"
		"\n"
		"See vmon(1) (docs/vmon.1) for details.\n");
}

static bool is_help(const char *arg)
{
	return arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h"));
}

/* Runs sub-command @c with argv[0] its name. */
static int run_command(const struct command *c, int argc, char **argv)
{
	if (!c->own_help && is_help(argv[1])) {
		printf("Usage: vmon %s %s\n\nSee vmon(1) (docs/vmon.1) for details.\n",
		       c->name, c->usage);
		return EXIT_OK;
	}
	return c->fn(argc, argv);
}

static int vmon_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "run";
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
						   argv[0];

	if (!strcmp(self, "vmon-jailer"))
		return cmd_jail(argc, argv);

	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		fc_print_version();
		return EXIT_OK;
	}
	/* A `firecracker` link to vmon: Firecracker's command line. */
	if (cli_is_firecracker(argv[0]))
		return cmd_run(argc, argv);
	if (is_help(cmd) || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	/* A bare `vmon` is `vmon run`. */
	if (argc <= 1)
		return cmd_run(1, argv);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return run_command(&commands[i], argc - 1, argv + 1);
	if (cmd[0] == '-') {
		/* `vmon --kernel K ...` is `vmon run --kernel K ...` */
		argv[0] = "run";
		return cmd_run(argc, argv);
	}
	pr_err("%s: unknown command (see vmon --help)", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	jail_self_main = vmon_main;
	return vmon_main(argc, argv);
}
