// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - vmon's entry point: global options and the sub-command table.
 */
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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon COMMAND [OPTIONS]\n"
		"A virtual machine monitor for Linux KVM.\n"
		"\n"
		"Commands:\n"
		"  run        boot a VM (vmon run --help); --api-sock PATH serves\n"
		"             Firecracker's API instead (docs/api.md)\n"
		"  list [--mem]\n"
		"             the vmon instances with an API socket on this host;\n"
		"             --mem: each one's memory and the total\n"
		"  balance --target SIZE [--floor SIZE] [--interval S] [--once]\n"
		"             move the instances' balloons to keep their memory\n"
		"             under SIZE (docs/density.md)\n"
		"  pause ID   pause instance ID (or API socket path)\n"
		"  resume ID  resume it\n"
		"  stop ID    stop it (vmon exits 0)\n"
		"  stop --acpi ID\n"
		"             press its ACPI power button (the guest shuts down)\n"
		"  stat ID    print its metrics as JSON\n"
		"  seccomp-print [--export FILE]\n"
		"             each thread's system call list (docs/seccomp.md)\n"
		"  snapshot ID DIR [--diff] [--resume]\n"
		"             pause it and write a snapshot to DIR (state, memory)\n"
		"  jail --id ID --exec-file VMON --uid U --gid G [...] [-- OPTIONS]\n"
		"             run VMON in a chroot as U:G (Firecracker's jailer,\n"
		"             also as vmon-jailer: docs/jail.md)\n"
		"  snapshot-merge BASE DIFF\n"
		"             apply the Diff snapshot DIFF to BASE (BASE becomes it)\n"
		"  uffd-handler SOCKET MEMFILE [--working-set FILE]\n"
		"             serve one VM's pages from MEMFILE (Uffd back-end);\n"
		"             record its working set in FILE, or prefetch it\n"
		"  snapshot-info DIR\n"
		"             check and describe the snapshot in DIR\n"
		"  img create|info|check|commit\n"
		"             qcow2 images, as qemu-img (docs/qcow2.md)\n"
		"  migrate ID URL [options]\n"
		"             live-migrate instance ID to `vmon run --incoming URL`\n"
		"  help       this help\n"
		"\n"
		"Options:\n"
		"  --version  print the Firecracker API version and vmon's\n"
		"  --help     this help\n"
		"\n"
		"See vmon(1) (docs/vmon.1) for details.\n");
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
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc > 1 ? argc - 1 : 1,
			       argc > 1 ? argv + 1 : argv);
	if (!strcmp(cmd, "seccomp-print"))
		return cmd_seccomp_print(argc - 1, argv + 1);
	if (!strcmp(cmd, "jail"))
		return cmd_jail(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "balance"))
		return cmd_balance(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "img"))
		return cmd_img(argc - 1, argv + 1);
	if (!strcmp(cmd, "uffd-handler"))
		return cmd_uffd_handler(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot-merge"))
		return cmd_snapshot_merge(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot-info"))
		return cmd_snapshot_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume") ||
	    !strcmp(cmd, "stop") || !strcmp(cmd, "stat"))
		return cmd_instance(argc - 1, argv + 1);
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
