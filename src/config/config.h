/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - the description of one VM (machine, boot source, disks,
 * network interfaces, vsock, balloon, rng, serial and console) and its
 * checks: one validator per object, shared by the command line, the API
 * and --config-file, which only turn text or JSON into these fields.
 * Plain data: filled by the front ends, read by vm.c, the loaders and
 * the devices. The rules are written down in docs/config.md.
 */
#ifndef VMON_CONFIG_CONFIG_H
#define VMON_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/ratelimit.h"
#include "cpu_custom.h"

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };
/* Which device the console (the serial's input and output) is on. */
enum console_mode { CONSOLE_SERIAL, CONSOLE_VIRTIO };
/* Dirty page tracking: KVM's bitmap (the default), its ring, or the ring
 * where offered (auto). */
enum dirty_log_mode { DIRTY_LOG_BITMAP, DIRTY_LOG_AUTO, DIRTY_LOG_RING };

/*
 * Virtio devices (src/virtio). Strings are copied in: no ownership. As
 * many disks and interfaces as the platform has virtio-mmio slots (16 on
 * x86, their interrupt lines); all devices together must fit them too.
 */
#define VMON_MAX_DISKS 16
#define VMON_DISK_PATH_MAX 4096
#define VMON_DISK_SERIAL_MAX 20 /* virtio-blk GET_ID: 20 bytes */

/* One virtio-blk disk: a raw image file. */
struct disk_config {
	char path[VMON_DISK_PATH_MAX];
	char serial[VMON_DISK_SERIAL_MAX + 1]; /* "": no serial */
	bool readonly; /* opened O_RDONLY, VIRTIO_BLK_F_RO offered */
	bool direct; /* opened O_DIRECT (bypasses the host page cache) */
	uint8_t format; /* enum block_format: 0 probes the header */
	struct rl_config rl; /* rate limiter (API): all zero, none */
};

/* One virtio-net interface on a host tap device. */
#define VMON_MAX_NETS 16
#define VMON_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */
#define VMON_NET_MTU_MIN 68 /* IPv4's minimum (RFC 791) */
struct net_config {
	char tap[VMON_IFNAME_MAX];
	uint8_t mac[6];
	bool mac_set; /* false: a random locally administered address */
	uint16_t mtu; /* told the guest (VIRTIO_NET_F_MTU); 0: not told */
	struct rl_config rx_rl, tx_rl; /* rate limiters (API): zero, none */
	bool mmds; /* the metadata service answers on it (API /mmds/config) */
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
	bool hinting; /* VIRTIO_BALLOON_F_FREE_PAGE_HINT */
	unsigned int stats_interval; /* seconds between statistics; 0: off */
};

struct vm_config {
	const char *kernel;
	/* A BIOS image booted at the reset vector when kernel is NULL */
	const char *firmware;
	const char *initrd;
	const char *cmdline; /* the whole command line; NULL: the default */
	unsigned int cpus;
	bool smt; /* 2 threads per core (cpus even); else 1 */
	uint64_t mem_size;
	const char *cpu_template; /* "NAME[,+feat,-feat...]", NULL: auto */
	/* Firecracker's named template (T2, C3...) on top; NULL: none. */
	const char *cpu_named;
	const struct cpu_custom *cpu_custom; /* PUT /cpu-config; NULL: none */
	enum serial_mode serial;
	const char *serial_path; /* SERIAL_FILE */
	bool test_device; /* QEMU pc-testdev layout (tests) */
	bool mem_prealloc; /* all guest RAM resident at start */
	bool mem_merge; /* guest RAM MADV_MERGEABLE: the host's KSM may share it */
	bool hugetlb; /* guest RAM on 2 MiB hugetlbfs pages (MAP_HUGETLB) */
	/*
	 * Guest RAM shared from this file (a directory: an unlinked file in
	 * it), so the host pages it out to the file; NULL: anonymous memory.
	 */
	const char *mem_file;
	bool acpi; /* ACPI tables and PM device (docs/acpi.md) */
	bool virtio_pci; /* virtio devices on PCI, not MMIO (docs/pci.md) */
	bool boot_timer; /* Firecracker's boot timer in virtio-mmio slot 0 */
	bool track_dirty_pages; /* dirty page tracking (src/vmm/dirty.h) */
	enum dirty_log_mode dirty_log; /* KVM's dirty ring or bitmap */
	/* Guest console output (UART, hvc0), per device: docs/limits.md. */
	uint64_t console_rate; /* bytes per second; 0: unlimited */
	uint64_t serial_file_max; /* SERIAL_FILE: bytes at most; 0: no cap */

	/* Virtio-mmio devices, in this order on the MMIO window. */
	enum console_mode console; /* CONSOLE_VIRTIO adds hvc0 */
	struct disk_config disks[VMON_MAX_DISKS];
	unsigned int nr_disks;
	struct net_config nets[VMON_MAX_NETS];
	unsigned int nr_nets;
	struct vsock_config vsock;
	struct balloon_config balloon;
	bool rng; /* virtio-rng fed by getrandom() */
	struct rl_config rng_rl; /* its rate limiter: all zero, none */
};

#define VMON_DEFAULT_CPUS 1
#define VMON_DEFAULT_MEM (256ULL << 20)
#define VMON_MIN_MEM (2ULL << 20)
#define VMON_DEFAULT_CONSOLE_RATE (2ULL << 20)
#define VMON_DEFAULT_SERIAL_FILE_MAX (256ULL << 20)
/* Balloon statistics: an interval of at most an hour (in Firecracker's u16). */
#define VMON_MAX_STATS_INTERVAL 3600
/* Guest CIDs: 0-2 are reserved, 0xffffffff is VMADDR_CID_ANY. */
#define VMON_MIN_CID 3
#define VMON_MAX_CID 0xfffffffeULL

/* The defaults: 1 vCPU, 256 MiB, serial on stdio, no devices. */
void vm_config_init(struct vm_config *cfg);

/*
 * A refused configuration: the object ("net vmtap0", "machine"), the field
 * of it ("mac"; NULL: the object as a whole) and the cause ("not a unicast
 * address"), apart, so that each front end names the object and the field
 * in its own vocabulary (--net tap=..., network-interfaces/ID ...).
 * Field names are the ones of the structures above; never a flag name.
 */
#define CONFIG_ERR_MAX 320
struct config_err {
	char object[96];
	const char *field;
	char cause[CONFIG_ERR_MAX];
};

/* "object: field: cause" (or "object: cause") into @buf; returns @buf. */
const char *config_err_str(const struct config_err *e, char *buf, size_t size);

/*
 * The validators: 0, or -1 with @e filled. Each checks one object once,
 * where the front end accepts it (at PUT time in the API, when the option
 * is parsed on the command line).
 */
/* machine: cpus >= 1, 2 MiB <= mem_size < 2^64 - 4 KiB (a front end
 * rounds it up to pages), the template's names. */
int config_check_machine(unsigned int cpus, uint64_t mem_size,
			 const char *cpu_template, struct config_err *e);
/* CPU template "NAME[,+feat,-feat...]" or "+feat,...": names exist. */
int config_check_cpu_template(const char *spec, struct config_err *e);
/* boot source: kernel and initrd paths, when given, are not empty. */
int config_check_boot(const char *kernel, const char *initrd,
		      const char *cmdline, struct config_err *e);
/* disk: a path that can be opened (read-write unless readonly), serial. */
int config_check_disk(const struct disk_config *d, struct config_err *e);
/* "auto", "raw" or "qcow2" (@len bytes of @s): its disk format, or -1. */
int config_parse_disk_format(const char *s, size_t len);
const char *config_disk_format_name(unsigned int f);
/* net: the tap-name rule, a unicast MAC. */
int config_check_net(const struct net_config *n, struct config_err *e);
/* Two interfaces of one VM: neither the tap nor a given MAC used twice. */
int config_check_net_pair(const struct net_config *n,
			  const struct net_config *other, struct config_err *e);
/* vsock (when configured): the CID rule, a socket path. */
int config_check_vsock(const struct vsock_config *v, struct config_err *e);
/* balloon: the statistics interval, a target within @mem_size. */
int config_check_balloon(const struct balloon_config *b, uint64_t mem_size,
			 struct config_err *e);
/* serial and console: a file mode has a path. */
int config_check_serial(enum serial_mode mode, const char *path,
			enum console_mode console, struct config_err *e);
/* A whole VM: every object above, and the checks between objects. */
int config_check_vm(const struct vm_config *cfg, struct config_err *e);

/* The rules themselves, for the parsers and the single-field updates. */
bool config_tap_name_valid(const char *name);
bool config_cid_valid(uint64_t cid);
/* "xx:xx:xx:xx:xx:xx", two hex digits a byte: 0 or -1 (any address). */
int config_parse_mac(const char *s, size_t len, uint8_t mac[6]);
/* @buf of 18 bytes, lower case. */
void config_format_mac(const uint8_t mac[6], char *buf);
int config_check_stats_interval(uint64_t seconds, struct config_err *e);

#endif
