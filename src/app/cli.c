// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - option parsing for `vmon run` and its --help text: options
 * into vm_config fields, checked by the validators of src/config, whose
 * errors are told with the option and its value. The devices' options
 * are registered by their own files (cli_option.h, src/app/options/).
 */
#include "cli.h"

#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "../util/log.h"
#include "../config/config.h"
#include "cli_option.h"
#include "../util/parse.h"
#include "../vmm/dirty.h"
#include "instances.h"

/* The devices' options (cli_option.h), sorted once by their order. */
#define MAX_DEV_OPTS 32
static const struct cli_option *dev_opts[MAX_DEV_OPTS];
static unsigned int nr_dev_opts;

static void load_dev_opts(void)
{
	if (!nr_dev_opts)
		nr_dev_opts = REGISTRY_SORTED(vmon_cli_options,
					      struct cli_option, dev_opts,
					      MAX_DEV_OPTS);
}

void cli_run_usage(FILE *f)
{
	load_dev_opts();
	fprintf(f,
		"Usage: vmon run [OPTIONS]\n"
		"Boot a virtual machine on KVM with its serial console on the terminal.\n"
		"Without --kernel, boots the default guest (see scripts/build-guest).\n"
		"\n"
		"  -k, --kernel PATH        kernel: bzImage, ELF vmlinux (PVH entry) or multiboot\n"
		"  -i, --initrd PATH        initial ramdisk (Linux) or multiboot module;\n"
		"                           without --kernel: instead of the root disk\n"
		"      --firmware PATH      without --kernel: boot this BIOS image (SeaBIOS's\n"
		"                           bios-256k.bin) from the reset vector (docs/firmware.md)\n"
		"  -c, --cmdline STR        kernel command line, replacing the default\n"
		"                           'console=ttyS0 reboot=k panic=-1' (and acpi=off\n"
		"                           without --acpi, pci=off without --transport pci)\n"
		"  -a, --append STR         add STR to the default kernel command line\n"
		"  -p, --cpus N             number of vCPUs (default 1)\n"
		"  -m, --mem SIZE           guest RAM, e.g. 256M, 1G; a bare number is MiB\n"
		"                           (default 256M)\n"
		"  -t, --cpu-template SPEC  CPUID template NAME[,+FEAT,-FEAT...]: 'host' (all\n"
		"                           KVM supports) or 'pvm' (what a PVM host can run);\n"
		"                           default: pvm on a PVM host, else host\n"
		"  -s, --serial MODE        stdio (default), file:PATH or none\n");
	for (unsigned int i = 0; i < nr_dev_opts; i++)
		fputs(dev_opts[i]->usage, f);
	fprintf(f,
		"      --console DEV        serial (default) or virtio: the console (see\n"
		"                           --serial) on virtio-console hvc0, and\n"
		"                           console=hvc0 in the default command line\n"
		"      --console-limit [rate=SIZE][,max=SIZE]\n"
		"                           guest console output at most SIZE bytes per\n"
		"                           second (2M) and, to a --serial file, SIZE bytes\n"
		"                           in all (256M); 0: no limit (docs/limits.md)\n"
		"      --api-sock PATH      serve Firecracker's HTTP API on the Unix socket\n"
		"                           PATH and boot on its InstanceStart (docs/api.md)\n"
		"      --api-sock-group GROUP  the socket's group, mode 0660 (else 0600)\n"
		"      --config-file FILE   boot the VM a Firecracker JSON configuration\n"
		"                           file describes (with --api-sock: API too)\n"
		"      --restore DIR        start from the snapshot in DIR (DIR/state,\n"
		"                           DIR/memory: vmon snapshot), paused\n"
		"      --resume             with --restore: run it at once\n"
		"      --mem-backend uffd:SOCKET  with --restore: guest memory from\n"
		"                           the page-fault handler at SOCKET (the Uffd\n"
		"                           back-end; vmon uffd-handler); file: mapped\n"
		"                           from DIR/memory (default)\n"
		"      --clock-realtime     with --restore: advance the guest clock by\n"
		"                           the wall-clock time since the snapshot\n"
		"      --override WHAT      with --restore or --incoming: net:ID=TAP,\n"
		"                           drive:ID=PATH or vsock=PATH replaces the\n"
		"                           snapshot's (or the source's) tap, disk image\n"
		"                           or vsock socket (clones; repeatable)\n"
		"      --incoming URL       wait for a live migration on URL (tcp:ADDR:PORT\n"
		"                           or unix:PATH) and run the VM that arrives\n"
		"                           (vmon migrate; docs/migration.md)\n"
		"      --migration-token FILE\n"
		"                           with --incoming: accept only a source given\n"
		"                           the same token (vmon migrate --token FILE)\n"
		"      --id ID              instance id for the API and `vmon list`\n"
		"                           (default vmon-PID)\n"
		"      --seccomp-level LEVEL\n"
		"                           trap (default): a system call outside a\n"
		"                           thread's seccomp list stops vmon (exit 148);\n"
		"                           log: the kernel logs it (docs/seccomp.md)\n"
		"      --seccomp-filter FILE\n"
		"                           the filters of FILE (vmon seccomp-print --export)\n"
		"      --no-seccomp         no system call filters\n"
		"      Firecracker's flags (--no-api, --level, --log-path, --metrics-path,\n"
		"      --http-api-max-payload-size, --version...): see vmon(1)\n"
		"      --mem-prealloc       make all guest RAM resident before the boot\n"
		"      --mem-merge          let the host's KSM share identical guest pages\n"
		"                           (MADV_MERGEABLE; docs/density.md)\n"
		"      --mem-file PATH      guest RAM shared from file PATH (a directory: an\n"
		"                           unlinked file in it): the host can page it out\n"
		"      --acpi, --no-acpi    ACPI tables and power management (default\n"
		"                           off; docs/acpi.md)\n"
		"      --transport pci|mmio virtio devices on PCI (virtio-pci with MSI-X)\n"
		"                           or on virtio-mmio (default; docs/pci.md)\n"
		"      --dirty-log auto|ring|bitmap\n"
		"                           how KVM reports the pages the guest writes\n"
		"                           (default auto: the ring if offered, the\n"
		"                           bitmap on a PVM host)\n"
		"      --test-device        add QEMU's pc-testdev (ports 0xe0-0xe7 and\n"
		"                           0x2000-0x2017, MMIO 0xff000000) for test kernels\n"
		"  -v, --verbose            more messages (twice: debug)\n"
		"  -q, --quiet              only warnings and errors\n"
		"  -h, --help               this help\n"
		"\n"
		"Console: C-a x quits, C-a C-a sends C-a, C-a h helps.\n"
		"Exit status: 0 guest reset/power-off or quit; (V<<1)|1 after a guest wrote V\n"
		"to port 0xf4; 2 bad option or input; 4 host cannot run the VM; 8 triple\n"
		"fault; 10 emulation failure; 12 VM entry failure; 14 unexpected exit;\n"
		"16 guest crash; 148 system call outside the seccomp list. See vmon(1).\n");
}

enum {
	OPT_TEST_DEVICE = 256,
	OPT_API_SOCK,
	OPT_API_SOCK_GROUP,
	OPT_CONFIG_FILE,
	OPT_ID,
	OPT_SECCOMP_LEVEL,
	OPT_SECCOMP_FILTER,
	OPT_NO_SECCOMP,
	OPT_RESTORE,
	OPT_INCOMING,
	OPT_MIGRATION_TOKEN,
	OPT_RESUME,
	OPT_ACPI, /* platform options: with the API and --restore too */
	OPT_NO_ACPI,
	OPT_TRANSPORT,
	OPT_DIRTY_LOG,
	OPT_OVERRIDE,
	OPT_MEM_BACKEND,
	OPT_CLOCK_REALTIME,
	OPT_CONSOLE, /* from here on: options that describe the VM */
	OPT_FIRMWARE,
	OPT_CONSOLE_LIMIT,
	OPT_MEM_PREALLOC,
	OPT_MEM_MERGE,
	OPT_MEM_FILE,
	OPT_DEVICE, /* + i: dev_opts[i] */
};

#define SHORT_OPTIONS "k:i:c:a:p:m:t:s:vqh"

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "append", required_argument, NULL, 'a' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpu-template", required_argument, NULL, 't' },
	{ "serial", required_argument, NULL, 's' },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "console-limit", required_argument, NULL, OPT_CONSOLE_LIMIT },
	{ "test-device", no_argument, NULL, OPT_TEST_DEVICE },
	{ "mem-prealloc", no_argument, NULL, OPT_MEM_PREALLOC },
	{ "mem-merge", no_argument, NULL, OPT_MEM_MERGE },
	{ "mem-file", required_argument, NULL, OPT_MEM_FILE },
	{ "acpi", no_argument, NULL, OPT_ACPI },
	{ "firmware", required_argument, NULL, OPT_FIRMWARE },
	{ "no-acpi", no_argument, NULL, OPT_NO_ACPI },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "dirty-log", required_argument, NULL, OPT_DIRTY_LOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "api-sock-group", required_argument, NULL, OPT_API_SOCK_GROUP },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "seccomp-level", required_argument, NULL, OPT_SECCOMP_LEVEL },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "migration-token", required_argument, NULL, OPT_MIGRATION_TOKEN },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "override", required_argument, NULL, OPT_OVERRIDE },
	{ "mem-backend", required_argument, NULL, OPT_MEM_BACKEND },
	{ "clock-realtime", no_argument, NULL, OPT_CLOCK_REALTIME },
};

#define NR_RUN_OPTIONS (sizeof(run_options) / sizeof(*run_options))
#define MAX_FC_OPTS 32

/* run_options[], the devices' options, Firecracker's, then the end. */
static struct option all_options[NR_RUN_OPTIONS + MAX_DEV_OPTS + MAX_FC_OPTS];

static const struct option *long_options(void)
{
	size_t n = NR_RUN_OPTIONS;

	load_dev_opts();
	memcpy(all_options, run_options, sizeof(run_options));
	for (unsigned int i = 0; i < nr_dev_opts; i++)
		all_options[n++] = (struct option){ dev_opts[i]->name,
						    dev_opts[i]->has_arg, NULL,
						    OPT_DEVICE + (int)i };
	for (unsigned int i = 0; fc_options[i].name && i + 1 < MAX_FC_OPTS; i++)
		all_options[n++] = fc_options[i];
	all_options[n] = (struct option){ NULL, 0, NULL, 0 };
	return all_options;
}

/* The item of "a,key=b,..." that sets @key (the last one), or NULL. */
static const char *find_item(const char *arg, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *found = NULL;

	for (const char *p = arg; p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			found = p;
			*len = strcspn(p, ",");
		}
	return found;
}

int cli_config_error(const char *flag, const char *arg,
		     const struct config_err *e, const char *key)
{
	size_t len = 0;
	const char *item = key && arg ? find_item(arg, key, &len) : NULL;

	if (item)
		pr_err("%s %s: bad option '%.*s': %s", flag, arg, (int)len,
		       item, e->cause);
	else if (arg)
		pr_err("%s %s: %s", flag, arg, e->cause);
	else
		pr_err("%s: %s", flag, e->cause);
	return -1;
}

static int parse_serial(const char *arg, struct vm_config *cfg)
{
	struct config_err e;

	if (!strcmp(arg, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else {
		pr_err("--serial %s: expected stdio, file:PATH or none", arg);
		return -1;
	}
	if (config_check_serial(cfg->serial, cfg->serial_path, cfg->console,
				&e))
		return cli_config_error("--serial", arg, &e, NULL);
	return 0;
}

/* The value of item @p (@len bytes) if it is "@key=VALUE" and fits @size. */
bool cli_item_value(const char *p, size_t len, const char *key, char *buf,
		    size_t size)
{
	size_t klen = strlen(key);

	if (len <= klen + 1 || strncmp(p, key, klen) != 0 || p[klen] != '=' ||
	    len - klen - 1 >= size)
		return false;
	memcpy(buf, p + klen + 1, len - klen - 1);
	buf[len - klen - 1] = 0;
	return true;
}

/*
 * The option getopt_long() just refused, for messages. A long option is
 * always a whole element, consumed: argv[optind - 1]. A short one may sit
 * in a group ("-vx", where optind has not moved yet), so it is named by
 * its letter. A missing value means the option ended argv.
 */
static const char *bad_option(char **argv, int c)
{
	static char shortopt[3];
	const char *last = argv[optind - 1];

	if (c == ':' && !strncmp(last, "--", 2))
		return last;
	if (c != ':' &&
	    (!optopt || (optopt != ':' && strchr(SHORT_OPTIONS, optopt))))
		return last; /* unknown --name, or --flag=value */
	shortopt[0] = '-';
	shortopt[1] = (char)optopt;
	return shortopt;
}

/* --cpus, --mem, --cpu-template: the machine, checked as a whole. */
static int parse_machine(int c, const char *arg, struct vm_config *cfg)
{
	static const char *const flags[] = {
		['p'] = "--cpus", ['m'] = "--mem", ['t'] = "--cpu-template"
	};
	unsigned int cpus = cfg->cpus;
	uint64_t mem = cfg->mem_size, v;
	const char *tmpl = cfg->cpu_template;
	struct config_err e;

	if (c == 'p') {
		if (parse_uint(arg, 0, 1U << 20, &v)) {
			pr_err("--cpus %s: not a number", arg);
			return -1;
		}
		cpus = (unsigned int)v;
	} else if (c == 'm') {
		if (parse_size(arg, 1ULL << 20, &mem)) {
			pr_err("--mem %s: not a size (examples: 256M, 1G, 512)",
			       arg);
			return -1;
		}
	} else {
		tmpl = arg;
	}
	if (config_check_machine(cpus, mem, tmpl, &e))
		return cli_config_error(flags[c], arg, &e, NULL);
	cfg->cpus = cpus;
	cfg->mem_size = (mem + 4095) & ~4095ULL; /* whole pages */
	cfg->cpu_template = tmpl;
	return 0;
}

/* --kernel, --initrd, --cmdline. */
static int parse_boot(int c, const char *arg, struct vm_config *cfg)
{
	struct config_err e;

	if (config_check_boot(c == 'k' ? arg : NULL, c == 'i' ? arg : NULL,
			      c == 'c' ? arg : NULL, &e))
		return cli_config_error(c == 'k' ? "--kernel" : "--initrd", arg,
					&e, NULL);
	if (c == 'k')
		cfg->kernel = arg;
	else if (c == 'i')
		cfg->initrd = arg;
	else
		cfg->cmdline = arg;
	return 0;
}

static int parse_console(const char *arg, struct vm_config *cfg)
{
	if (!strcmp(arg, "serial")) {
		cfg->console = CONSOLE_SERIAL;
	} else if (!strcmp(arg, "virtio")) {
		cfg->console = CONSOLE_VIRTIO;
	} else {
		pr_err("--console %s: expected serial or virtio", arg);
		return -1;
	}
	return 0;
}

/* --console-limit [rate=SIZE][,max=SIZE] */
static int parse_console_limit(const char *arg, struct vm_config *cfg)
{
	char buf[128], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		goto bad;
	for (char *o = strtok_r(buf, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strncmp(o, "rate=", 5) &&
		    !parse_size(o + 5, 1, &cfg->console_rate))
			continue;
		if (!strncmp(o, "max=", 4) &&
		    !parse_size(o + 4, 1, &cfg->serial_file_max))
			continue;
		goto bad;
	}
	return 0;
bad:
	pr_err("--console-limit %s: expected [rate=SIZE][,max=SIZE]", arg);
	return -1;
}

/* An option that describes the VM: 0, -1 (refused) or 1 (not one). */
static int vm_option(int c, const char *arg, struct vm_config *cfg)
{
	switch (c) {
	case 'k':
	case 'i':
	case 'c':
		return parse_boot(c, arg, cfg);
	case 'p':
	case 'm':
	case 't':
		return parse_machine(c, arg, cfg);
	case 's':
		return parse_serial(arg, cfg);
	case OPT_CONSOLE:
		return parse_console(arg, cfg);
	case OPT_CONSOLE_LIMIT:
		return parse_console_limit(arg, cfg);
	case OPT_TEST_DEVICE:
		cfg->test_device = true;
		return 0;
	case OPT_MEM_PREALLOC:
		cfg->mem_prealloc = true;
		return 0;
	case OPT_MEM_MERGE:
		cfg->mem_merge = true;
		return 0;
	case OPT_MEM_FILE:
		cfg->mem_file = arg;
		return 0;
	case OPT_ACPI:
	case OPT_NO_ACPI:
		cfg->acpi = c == OPT_ACPI;
		return 0;
	case OPT_TRANSPORT:
		if (strcmp(arg, "pci") != 0 && strcmp(arg, "mmio") != 0) {
			pr_err("--transport %s: expected pci or mmio", arg);
			return -1;
		}
		cfg->virtio_pci = !strcmp(arg, "pci");
		return 0;
	case OPT_FIRMWARE:
		cfg->firmware = arg;
		return 0;
	case OPT_DIRTY_LOG:
		if (!dirty_log_mode_parse(arg, &cfg->dirty_log))
			return 0;
		pr_err("--dirty-log %s: expected auto, ring or bitmap", arg);
		return -1;
	default:
		return 1;
	}
}

/* --seccomp-level, --seccomp-filter, --no-seccomp: one of them at most. */
static enum cli_result seccomp_option(int c, struct run_opts *o)
{
	if (o->seccomp_level != SECCOMP_LEVEL_TRAP || o->seccomp_filter) {
		pr_err("--seccomp-level, --seccomp-filter, --no-seccomp: give one at most");
		return CLI_ERROR;
	}
	if (c == OPT_NO_SECCOMP) {
		o->seccomp_level = SECCOMP_LEVEL_OFF;
	} else if (c == OPT_SECCOMP_FILTER) {
		o->seccomp_filter = optarg;
	} else if (seccomp_level_parse(optarg, &o->seccomp_level)) {
		pr_err("--seccomp-level %s: expected trap or log", optarg);
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* --api-sock-group: a group name or number. */
static enum cli_result sock_group_option(const char *arg, struct run_opts *o)
{
	struct group *g = getgrnam(arg);
	uint64_t v;

	if (g) {
		o->api_sock_gid = g->gr_gid;
	} else if (!parse_uint(arg, 0, UINT32_MAX - 1, &v)) {
		o->api_sock_gid = (gid_t)v;
	} else {
		pr_err("--api-sock-group %s: no such group", arg);
		return CLI_ERROR;
	}
	o->api_sock_group = true;
	return CLI_OK;
}

/* The options of the program rather than of the VM. */
/* --mem-backend file|uffd:SOCKET (with --restore). */
static enum cli_result mem_backend_option(const char *arg, struct run_opts *o)
{
	if (!strcmp(arg, "file")) {
		o->uffd_sock = NULL;
		return CLI_OK;
	}
	if (!strncmp(arg, "uffd:", 5) && arg[5]) {
		o->uffd_sock = arg + 5;
		return CLI_OK;
	}
	pr_err("--mem-backend %s: use file or uffd:SOCKET", arg);
	return CLI_ERROR;
}

static enum cli_result program_option(int c, char **argv, struct run_opts *o)
{
	switch (c) {
	case OPT_API_SOCK:
		if (!*optarg) {
			pr_err("--api-sock: needs a socket path");
			return CLI_ERROR;
		}
		o->api_sock = optarg;
		return CLI_OK;
	case OPT_API_SOCK_GROUP:
		return sock_group_option(optarg, o);
	case OPT_CONFIG_FILE:
		o->config_file = optarg;
		return CLI_OK;
	case OPT_RESTORE:
		o->restore = optarg;
		return CLI_OK;
	case OPT_INCOMING:
		o->incoming = optarg;
		return CLI_OK;
	case OPT_MIGRATION_TOKEN:
		o->migration_token = optarg;
		return CLI_OK;
	case OPT_RESUME:
		o->resume = true;
		return CLI_OK;
	case OPT_MEM_BACKEND:
		return mem_backend_option(optarg, o);
	case OPT_CLOCK_REALTIME:
		o->clock_realtime = true;
		return CLI_OK;
	case OPT_OVERRIDE:
		if (o->nr_overrides == CLI_MAX_OVERRIDES) {
			pr_err("--override: at most %d", CLI_MAX_OVERRIDES);
			return CLI_ERROR;
		}
		o->overrides[o->nr_overrides++] = optarg;
		return CLI_OK;
	case OPT_ID:
		if (!instance_id_valid(optarg)) {
			pr_err("--id %s: use 1 to 64 letters, digits, '_', '-' or '.'",
			       optarg);
			return CLI_ERROR;
		}
		o->id = optarg;
		return CLI_OK;
	case OPT_SECCOMP_LEVEL:
	case OPT_SECCOMP_FILTER:
	case OPT_NO_SECCOMP:
		return seccomp_option(c, o);
	case 'a':
		o->append = optarg;
		return CLI_OK;
	case 'v':
		if (log_level < LOG_DEBUG)
			log_level++;
		return CLI_OK;
	case 'q':
		log_level = LOG_WARN;
		return CLI_OK;
	case 'h':
		cli_run_usage(stdout);
		return CLI_EXIT_OK;
	case ':':
		pr_err("%s: needs a value (see vmon run --help)",
		       bad_option(argv, c));
		return CLI_ERROR;
	default:
		pr_err("%s: unknown option (see vmon run --help)",
		       bad_option(argv, c));
		return CLI_ERROR;
	}
}

/* Firecracker's defaults and its rules on --api-sock and --no-api. */
static enum cli_result check_firecracker(struct run_opts *o)
{
	if (o->fc.no_api) {
		if (!o->config_file) {
			pr_err("--no-api: needs --config-file (the VM must come from somewhere)");
			return CLI_ERROR;
		}
		o->api_sock = NULL;
	} else if (o->fc.firecracker && !o->api_sock && !o->restore) {
		o->api_sock = FC_DEFAULT_API_SOCK;
	}
	return CLI_OK;
}

/* What only the whole command line tells. */
static enum cli_result check_run(struct run_opts *o)
{
	if (check_firecracker(o) != CLI_OK)
		return CLI_ERROR;
	if ((o->api_sock || o->config_file) && o->vm_opts) {
		pr_err("%s: the VM is described by the API or the config file; --kernel, --initrd, --cmdline, --append, --cpus, --mem, --cpu-template and the virtio device options do not apply",
		       o->api_sock ? "--api-sock" : "--config-file");
		return CLI_ERROR;
	}
	if (o->restore && (o->config_file || o->vm_opts)) {
		pr_err("--restore: the snapshot describes the VM; --config-file, --kernel, --mem and the device options do not apply");
		return CLI_ERROR;
	}
	if (o->api_sock_group && !o->api_sock) {
		pr_err("--api-sock-group: only with --api-sock");
		return CLI_ERROR;
	}
	if ((o->resume || o->uffd_sock || o->clock_realtime) && !o->restore) {
		pr_err("%s: only with --restore",
		       o->resume    ? "--resume" :
		       o->uffd_sock ? "--mem-backend" :
				      "--clock-realtime");
		return CLI_ERROR;
	}
	if (o->nr_overrides && !o->restore && !o->incoming) {
		pr_err("--override: only with --restore or --incoming");
		return CLI_ERROR;
	}
	if (o->migration_token && !o->incoming) {
		pr_err("--migration-token: only with --incoming (the source's: vmon migrate --token)");
		return CLI_ERROR;
	}
	if (o->incoming && (o->restore || o->config_file || o->vm_opts)) {
		pr_err("--incoming: the source describes the VM; --restore, --config-file, --kernel, --mem and the device options do not apply");
		return CLI_ERROR;
	}
	for (unsigned int i = 0; i < nr_dev_opts; i++)
		if (dev_opts[i]->check && dev_opts[i]->check(&o->cfg))
			return CLI_ERROR;
	if (o->cfg.cmdline && o->append) {
		pr_err("--append: cannot be combined with --cmdline");
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* A device's option; an optional value may be the next word. */
static int device_option(int i, int argc, char **argv, struct vm_config *cfg)
{
	const struct cli_option *opt = dev_opts[i];
	const char *arg = optarg;

	if (!arg && opt->next_word && optind < argc &&
	    opt->next_word(argv[optind]))
		arg = argv[optind++];
	return opt->parse(arg, cfg);
}

bool cli_is_firecracker(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	return !strcmp(base ? base + 1 : argv0, "firecracker");
}

enum cli_result cli_parse_run(int argc, char **argv, struct run_opts *o)
{
	const struct option *options = long_options();
	enum cli_result r;
	int c, v;

	memset(o, 0, sizeof(*o));
	vm_config_init(&o->cfg);
	o->fc.firecracker = argc > 0 && cli_is_firecracker(argv[0]);
	/*
	 * optind = 0, not 1: glibc then also forgets its position inside a
	 * flag group ("-xv") where an earlier call stopped with an error,
	 * which would otherwise point into that call's argv.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" SHORT_OPTIONS, options,
				NULL)) != -1) {
		if (c >= FC_OPT_BASE) {
			enum fc_result f = fc_option(c, optarg, &o->fc);

			if (f != FC_OK)
				return f == FC_EXIT_OK ? CLI_EXIT_OK :
							 CLI_ERROR;
			o->cfg.virtio_pci |= o->fc.enable_pci;
			o->cfg.boot_timer |= o->fc.boot_timer;
			continue;
		}
		if ((c > 0 && c < 256 && strchr("kicapmt", c)) ||
		    c >= OPT_CONSOLE)
			o->vm_opts = true;
		v = c >= OPT_DEVICE ?
			    device_option(c - OPT_DEVICE, argc, argv, &o->cfg) :
			    vm_option(c, optarg, &o->cfg);
		if (v < 0)
			return CLI_ERROR;
		if (v > 0 && (r = program_option(c, argv, o)) != CLI_OK)
			return r;
	}
	if (optind < argc) {
		pr_err("%s: unexpected argument (see vmon run --help)",
		       argv[optind]);
		return CLI_ERROR;
	}
	return check_run(o);
}
