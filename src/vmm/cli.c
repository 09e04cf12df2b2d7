// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - option parsing for `vmon run` and its --help text.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

#include "../util/log.h"
#include "../util/parse.h"
#include "instances.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = VMON_DEFAULT_CPUS;
	cfg->mem_size = VMON_DEFAULT_MEM;
	cfg->serial = SERIAL_STDIO;
}

void cli_run_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon run [OPTIONS]\n"
		"Boot a virtual machine on KVM with its serial console on the terminal.\n"
		"Without --kernel, boots the default guest (see scripts/build-guest).\n"
		"\n"
		"  -k, --kernel PATH        kernel: bzImage, ELF vmlinux (PVH entry) or multiboot\n"
		"  -i, --initrd PATH        initial ramdisk (Linux) or multiboot module\n"
		"  -c, --cmdline STR        kernel command line, replacing the default\n"
		"                           'console=ttyS0 reboot=k panic=-1'\n"
		"  -a, --append STR         add STR to the default kernel command line\n"
		"  -p, --cpus N             number of vCPUs (default 1)\n"
		"  -m, --mem SIZE           guest RAM, e.g. 256M, 1G; a bare number is MiB\n"
		"                           (default 256M)\n"
		"  -t, --cpu-template SPEC  CPUID template NAME[,+FEAT,-FEAT...]: 'host' (all\n"
		"                           KVM supports) or 'pvm' (what a PVM host can run);\n"
		"                           default: pvm on a PVM host, else host\n"
		"  -s, --serial MODE        stdio (default), file:PATH or none\n"
		"      --api-sock PATH      serve Firecracker's HTTP API on the Unix socket\n"
		"                           PATH and boot on its InstanceStart (docs/api.md)\n"
		"      --config-file FILE   boot the VM a Firecracker JSON configuration\n"
		"                           file describes (with --api-sock: API too)\n"
		"      --id ID              instance id for the API and `vmon list`\n"
		"                           (default vmon-PID)\n"
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
		"16 guest crash. See vmon(1).\n");
}

enum { OPT_TEST_DEVICE = 256, OPT_API_SOCK, OPT_CONFIG_FILE, OPT_ID };

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
	{ "test-device", no_argument, NULL, OPT_TEST_DEVICE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "id", required_argument, NULL, OPT_ID },
	{ NULL, 0, NULL, 0 },
};

static int parse_serial(const char *arg, struct vm_config *cfg)
{
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
	return 0;
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

enum cli_result cli_parse_run(int argc, char **argv, struct run_opts *o)
{
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	vm_config_init(&o->cfg);
	/*
	 * optind = 0, not 1: glibc then also forgets its position inside a
	 * flag group ("-xv") where an earlier call stopped with an error,
	 * which would otherwise point into that call's argv.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" SHORT_OPTIONS, run_options,
				NULL)) != -1) {
		if (c > 0 && c < 256 && strchr("kicapmt", c))
			o->vm_opts = true;
		switch (c) {
		case OPT_API_SOCK:
			if (!*optarg) {
				pr_err("--api-sock: needs a socket path");
				return CLI_ERROR;
			}
			o->api_sock = optarg;
			break;
		case OPT_CONFIG_FILE:
			o->config_file = optarg;
			break;
		case OPT_ID:
			if (!instance_id_valid(optarg)) {
				pr_err("--id %s: use 1 to 64 letters, digits, '_', '-' or '.'",
				       optarg);
				return CLI_ERROR;
			}
			o->id = optarg;
			break;
		case 'k':
			o->cfg.kernel = optarg;
			break;
		case 'i':
			o->cfg.initrd = optarg;
			break;
		case 'c':
			o->cfg.cmdline = optarg;
			break;
		case 'a':
			o->append = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 1U << 20, &v)) {
				pr_err("--cpus %s: not a number", optarg);
				return CLI_ERROR;
			}
			if (v == 0) {
				pr_err("--cpus %s: a VM needs at least one vCPU",
				       optarg);
				return CLI_ERROR;
			}
			o->cfg.cpus = (unsigned int)v;
			break;
		case 'm':
			if (parse_size(optarg, 1ULL << 20, &v)) {
				pr_err("--mem %s: not a size (examples: 256M, 1G, 512)",
				       optarg);
				return CLI_ERROR;
			}
			if (v < (2ULL << 20)) {
				pr_err("--mem %s: too small, a VM needs at least 2 MiB",
				       optarg);
				return CLI_ERROR;
			}
			if (v > UINT64_MAX - 4095) {
				pr_err("--mem %s: too large", optarg);
				return CLI_ERROR;
			}
			o->cfg.mem_size = (v + 4095) & ~4095ULL;
			break;
		case 't':
			o->cfg.cpu_template = optarg;
			break;
		case 's':
			if (parse_serial(optarg, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_TEST_DEVICE:
			o->cfg.test_device = true;
			break;
		case 'v':
			if (log_level < LOG_DEBUG)
				log_level++;
			break;
		case 'q':
			log_level = LOG_WARN;
			break;
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
	if (optind < argc) {
		pr_err("%s: unexpected argument (see vmon run --help)",
		       argv[optind]);
		return CLI_ERROR;
	}
	if ((o->api_sock || o->config_file) && o->vm_opts) {
		pr_err("%s: the VM is described by the API or the config file; --kernel, --initrd, --cmdline, --append, --cpus, --mem and --cpu-template do not apply",
		       o->api_sock ? "--api-sock" : "--config-file");
		return CLI_ERROR;
	}
	if (o->id && !o->api_sock && !o->config_file) {
		pr_err("--id: only with --api-sock or --config-file");
		return CLI_ERROR;
	}
	if (o->cfg.cmdline && o->append) {
		pr_err("--append: cannot be combined with --cmdline");
		return CLI_ERROR;
	}
	return CLI_OK;
}
