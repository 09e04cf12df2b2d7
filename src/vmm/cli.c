// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - option parsing for `vmon run` and its --help text.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
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
		"      --disk PATH[,ro][,serial=ID][,direct]\n"
		"                           virtio-blk disk on raw image PATH (up to 8):\n"
		"                           ro read-only, serial=ID its serial (20 chars\n"
		"                           at most), direct opens it O_DIRECT\n"
		"      --net tap=NAME[,mac=MAC]\n"
		"                           virtio-net on host tap NAME (created if missing\n"
		"                           and allowed); MAC like 02:00:00:00:00:01\n"
		"      --vsock cid=N,uds=PATH\n"
		"                           virtio-vsock with guest CID N (>= 3): host\n"
		"                           programs connect to PATH and send 'CONNECT port';\n"
		"                           guest connections to port P go to PATH_P\n"
		"      --balloon SIZE[,deflate-on-oom][,reporting][,stats=SECONDS]\n"
		"                           virtio-balloon asking the guest for SIZE (e.g.\n"
		"                           64M) at start; free page reporting; statistics\n"
		"                           every SECONDS\n"
		"      --rng [bytes=SIZE[/MS]][,ops=N[/MS]]\n"
		"                           virtio-rng fed by the host's getrandom(), at\n"
		"                           most SIZE bytes and N reads per MS ms (1000)\n"
		"      --console DEV        serial (default) or virtio: the console (see\n"
		"                           --serial) on virtio-console hvc0, and\n"
		"                           console=hvc0 in the default command line\n"
		"      --api-sock PATH      serve Firecracker's HTTP API on the Unix socket\n"
		"                           PATH and boot on its InstanceStart (docs/api.md)\n"
		"      --config-file FILE   boot the VM a Firecracker JSON configuration\n"
		"                           file describes (with --api-sock: API too)\n"
		"      --id ID              instance id for the API and `vmon list`\n"
		"                           (default vmon-PID)\n"
		"      --mem-prealloc       make all guest RAM resident before the boot\n"
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

enum {
	OPT_TEST_DEVICE = 256,
	OPT_API_SOCK,
	OPT_CONFIG_FILE,
	OPT_ID,
	OPT_DISK,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_NET,
	OPT_VSOCK,
	OPT_BALLOON,
	OPT_MEM_PREALLOC,
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
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "rng", optional_argument, NULL, OPT_RNG },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "test-device", no_argument, NULL, OPT_TEST_DEVICE },
	{ "mem-prealloc", no_argument, NULL, OPT_MEM_PREALLOC },
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

/* --disk PATH[,ro][,serial=ID][,direct] */
static int parse_disk(const char *arg, struct vm_config *cfg)
{
	struct disk_config *d;
	const char *comma = strchr(arg, ',');
	size_t plen = comma ? (size_t)(comma - arg) : strlen(arg);

	if (cfg->nr_disks == VMON_MAX_DISKS) {
		pr_err("--disk %s: at most %u disks", arg, VMON_MAX_DISKS);
		return -1;
	}
	if (plen == 0 || plen >= VMON_DISK_PATH_MAX) {
		pr_err("--disk %s: expected PATH[,ro][,serial=ID][,direct]",
		       arg);
		return -1;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	memcpy(d->path, arg, plen);
	while (comma) {
		const char *opt = comma + 1;
		size_t olen;

		comma = strchr(opt, ',');
		olen = comma ? (size_t)(comma - opt) : strlen(opt);
		if (olen == 2 && !strncmp(opt, "ro", 2)) {
			d->readonly = true;
		} else if (olen == 6 && !strncmp(opt, "direct", 6)) {
			d->direct = true;
		} else if (olen > 7 && !strncmp(opt, "serial=", 7) &&
			   olen - 7 <= VMON_DISK_SERIAL_MAX) {
			memcpy(d->serial, opt + 7, olen - 7);
		} else {
			pr_err("--disk %s: bad option '%.*s' (ro, direct, serial=ID of at most %u characters)",
			       arg, (int)olen, opt, VMON_DISK_SERIAL_MAX);
			return -1;
		}
	}
	cfg->nr_disks++;
	return 0;
}

static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	unsigned int b[6];
	char buf[18], tail;

	if (len != 17)
		return -1;
	memcpy(buf, s, 17);
	buf[17] = 0;
	if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return mac[0] & 1 ? -1 : 0; /* multicast: not an interface address */
}

/* --net tap=NAME[,mac=MAC] */
static int parse_net(const char *arg, struct vm_config *cfg)
{
	struct net_config *n;
	const char *p = arg;

	if (cfg->nr_nets == VMON_MAX_NETS) {
		pr_err("--net %s: at most %u interfaces", arg, VMON_MAX_NETS);
		return -1;
	}
	n = &cfg->nets[cfg->nr_nets];
	memset(n, 0, sizeof(*n));
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len > 4 && !strncmp(p, "tap=", 4) &&
		    len - 4 < VMON_IFNAME_MAX) {
			memcpy(n->tap, p + 4, len - 4);
			n->tap[len - 4] = 0;
		} else if (len > 4 && !strncmp(p, "mac=", 4) &&
			   !parse_mac(p + 4, len - 4, n->mac)) {
			n->mac_set = true;
		} else {
			pr_err("--net %s: bad option '%.*s' (tap=NAME of at most %u characters, mac=XX:XX:XX:XX:XX:XX unicast)",
			       arg, (int)len, p, VMON_IFNAME_MAX - 1);
			return -1;
		}
		p += len + (comma ? 1 : 0);
	}
	if (!n->tap[0] || strchr(n->tap, '/')) {
		pr_err("--net %s: expected tap=NAME[,mac=MAC]", arg);
		return -1;
	}
	cfg->nr_nets++;
	return 0;
}

/* --vsock cid=N,uds=PATH */
static int parse_vsock(const char *arg, struct vm_config *cfg)
{
	struct vsock_config *v = &cfg->vsock;
	const char *p = arg;

	memset(v, 0, sizeof(*v));
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char num[24];
		uint64_t cid;

		if (len > 4 && !strncmp(p, "cid=", 4) &&
		    len - 4 < sizeof(num)) {
			memcpy(num, p + 4, len - 4);
			num[len - 4] = 0;
			if (parse_uint(num, 3, 0xfffffffeULL, &cid)) {
				pr_err("--vsock %s: cid=%s: expected 3 to 4294967294 (0-2 are reserved)",
				       arg, num);
				return -1;
			}
			v->cid = cid;
		} else if (len > 4 && !strncmp(p, "uds=", 4) &&
			   len - 4 < VMON_UDS_PATH_MAX) {
			memcpy(v->uds, p + 4, len - 4);
			v->uds[len - 4] = 0;
		} else {
			pr_err("--vsock %s: bad option '%.*s' (cid=N, uds=PATH of at most %u characters)",
			       arg, (int)len, p, VMON_UDS_PATH_MAX - 1);
			return -1;
		}
		p += len + (comma ? 1 : 0);
	}
	if (!v->cid || !v->uds[0]) {
		pr_err("--vsock %s: expected cid=N,uds=PATH", arg);
		memset(v, 0, sizeof(*v));
		return -1;
	}
	return 0;
}

/* --balloon SIZE[,deflate-on-oom][,reporting][,stats=SECONDS] */
static int parse_balloon(const char *arg, struct vm_config *cfg)
{
	struct balloon_config *b = &cfg->balloon;
	const char *p = arg;
	bool first = true;

	memset(b, 0, sizeof(*b));
	while (*p || first) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char val[32];
		uint64_t v;

		if (len >= sizeof(val))
			goto bad;
		memcpy(val, p, len);
		val[len] = 0;
		if (first) {
			if (parse_size(val, 1ULL << 20, &v))
				goto bad;
			b->size = v & ~4095ULL;
		} else if (!strcmp(val, "deflate-on-oom")) {
			b->deflate_on_oom = true;
		} else if (!strcmp(val, "reporting")) {
			b->reporting = true;
		} else if (!strncmp(val, "stats=", 6) &&
			   !parse_uint(val + 6, 0, 3600, &v)) {
			b->stats_interval = (unsigned int)v;
		} else {
			goto bad;
		}
		first = false;
		p += len + (comma ? 1 : 0);
	}
	b->enabled = true;
	return 0;
bad:
	pr_err("--balloon %s: expected SIZE[,deflate-on-oom][,reporting][,stats=SECONDS] (SIZE like 64M, SECONDS up to 3600)",
	       arg);
	memset(b, 0, sizeof(*b));
	return -1;
}

/* --rng [bytes=SIZE[/MS]][,ops=N[/MS]]: the limits may follow a space. */
static int parse_rng(int argc, char **argv, struct vm_config *cfg)
{
	const char *arg = optarg;
	char err[128];

	if (!arg && optind < argc &&
	    (!strncmp(argv[optind], "bytes=", 6) ||
	     !strncmp(argv[optind], "ops=", 4)))
		arg = argv[optind++];
	if (arg && rl_parse(arg, &cfg->rng_rl, err, sizeof(err))) {
		pr_err("--rng %s: %s", arg, err);
		return -1;
	}
	cfg->rng = true;
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
		if ((c > 0 && c < 256 && strchr("kicapmt", c)) ||
		    (c >= OPT_DISK && c <= OPT_MEM_PREALLOC))
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
		case OPT_DISK:
			if (parse_disk(optarg, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_NET:
			if (parse_net(optarg, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_VSOCK:
			if (parse_vsock(optarg, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_BALLOON:
			if (parse_balloon(optarg, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_RNG:
			if (parse_rng(argc, argv, &o->cfg))
				return CLI_ERROR;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial")) {
				o->cfg.console = CONSOLE_SERIAL;
			} else if (!strcmp(optarg, "virtio")) {
				o->cfg.console = CONSOLE_VIRTIO;
			} else {
				pr_err("--console %s: expected serial or virtio",
				       optarg);
				return CLI_ERROR;
			}
			break;
		case OPT_TEST_DEVICE:
			o->cfg.test_device = true;
			break;
		case OPT_MEM_PREALLOC:
			o->cfg.mem_prealloc = true;
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
		pr_err("%s: the VM is described by the API or the config file; --kernel, --initrd, --cmdline, --append, --cpus, --mem, --cpu-template and the virtio device options do not apply",
		       o->api_sock ? "--api-sock" : "--config-file");
		return CLI_ERROR;
	}
	if (o->id && !o->api_sock && !o->config_file) {
		pr_err("--id: only with --api-sock or --config-file");
		return CLI_ERROR;
	}
	if (o->cfg.balloon.size > o->cfg.mem_size) {
		pr_err("--balloon: %lluM is more than the guest's %lluM of RAM",
		       (unsigned long long)(o->cfg.balloon.size >> 20),
		       (unsigned long long)(o->cfg.mem_size >> 20));
		return CLI_ERROR;
	}
	if (o->cfg.cmdline && o->append) {
		pr_err("--append: cannot be combined with --cmdline");
		return CLI_ERROR;
	}
	return CLI_OK;
}
