/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - the description of one VM as the user gave it (CLI or, later,
 * the API). Plain data: filled by cli.c, read by vm.c and the loaders.
 */
#ifndef VMON_VMM_CONFIG_H
#define VMON_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ratelimit.h"

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };
/* Which device the console (--serial's input and output) is attached to. */
enum console_mode { CONSOLE_SERIAL, CONSOLE_VIRTIO };

/* Virtio devices (src/virtio). Strings are copied in: no ownership. */
#define VMON_MAX_DISKS 8
#define VMON_DISK_PATH_MAX 4096
#define VMON_DISK_SERIAL_MAX 20 /* virtio-blk GET_ID: 20 bytes */

/* One virtio-blk disk: a raw image file. */
struct disk_config {
	char path[VMON_DISK_PATH_MAX];
	char serial[VMON_DISK_SERIAL_MAX + 1]; /* "": no serial */
	bool readonly; /* opened O_RDONLY, VIRTIO_BLK_F_RO offered */
	bool direct; /* opened O_DIRECT (bypasses the host page cache) */
	struct rl_config rl; /* rate limiter (API): all zero, none */
};

/* One virtio-net interface on a host tap device. */
#define VMON_MAX_NETS 4
#define VMON_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */
struct net_config {
	char tap[VMON_IFNAME_MAX];
	uint8_t mac[6];
	bool mac_set; /* false: a random locally administered address */
	struct rl_config rx_rl, tx_rl; /* rate limiters (API): zero, none */
};

/* The virtio-vsock device: guest CID and the host's Unix socket. */
#define VMON_UDS_PATH_MAX 96 /* leaves room for "_<port>" in sun_path */
struct vsock_config {
	uint64_t cid; /* 0: no vsock device; else >= 3 */
	char uds[VMON_UDS_PATH_MAX];
};

/* The virtio-balloon device. */
struct balloon_config {
	bool enabled;
	uint64_t size; /* initial target: bytes the guest should give back */
	bool deflate_on_oom; /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	bool reporting; /* VIRTIO_BALLOON_F_PAGE_REPORTING */
	unsigned int stats_interval; /* seconds between statistics; 0: off */
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline; /* user's --cmdline, NULL: default only */
	unsigned int cpus;
	uint64_t mem_size;
	const char *cpu_template; /* "NAME[,+feat,-feat...]", NULL: auto */
	enum serial_mode serial;
	const char *serial_path; /* SERIAL_FILE */
	bool test_device; /* QEMU pc-testdev layout (tests) */
	bool mem_prealloc; /* --mem-prealloc: all guest RAM resident at start */

	/* Virtio-mmio devices, in this order on the MMIO window. */
	enum console_mode console; /* --console: CONSOLE_VIRTIO adds hvc0 */
	struct disk_config disks[VMON_MAX_DISKS]; /* --disk */
	unsigned int nr_disks;
	struct net_config nets[VMON_MAX_NETS]; /* --net */
	unsigned int nr_nets;
	struct vsock_config vsock; /* --vsock */
	struct balloon_config balloon; /* --balloon */
	bool rng; /* --rng: virtio-rng fed by getrandom() */
	struct rl_config rng_rl; /* its rate limiter: all zero, none */
};

#define VMON_DEFAULT_CPUS 1
#define VMON_DEFAULT_MEM (256ULL << 20)

void vm_config_init(struct vm_config *cfg);

#endif
