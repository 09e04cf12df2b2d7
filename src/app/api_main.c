// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_main.c - `vmon run --api-sock/--config-file`: a vmon process driven
 * by the API (src/api). The instance (configuration, state, the VM once
 * started) behind api_ops, the main loop before and after InstanceStart,
 * metrics flushing (on request and every 60 s), the logger, the registry
 * entry for `vmon list`, and orderly teardown. Part of the program: the
 * API serves requests and calls api_ops, it never calls back into here.
 *
 * Threads: the API thread (libmicrohttpd) runs the router and api_ops
 * with ctx.lock held; the main thread runs the console and signal loop
 * and takes ctx.lock before it tears the VM down.
 */
#include "../util/bounds.h"
#include "api_main.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../api/api_hotplug.h"
#include "../api/router.h"
#include "../api/server.h"
#include "../devices/acpi_pm.h"
#include "../devices/devices.h"
#include "../migration/migration.h"
#include "../pci/host.h"
#include "../pci/hotplug.h"
#include "../snapshot/snapshot.h"
#include "../snapshot/uffd.h"
#include "../util/log.h"
#include "../util/seccomp.h"
#include "../virtio/balloon.h"
#include "../virtio/hotplug.h"
#include "../virtio/mmio.h"
#include "../virtio/runtime.h"
#include "../vmm/exitcode.h"
#include "cli.h"
#include "instances.h"
#include "fc_latency.h"
#include "fc_metrics.h"
#include "metrics.h"
#include "run.h"

#define METRICS_PERIOD_S 60
#define CONFIG_FILE_MAX (1 << 20)

struct incoming;

struct instance {
	struct api_ctx ctx;
	const struct run_opts *opts;
	char id[80];
	struct kvm kvm;
	bool kvm_open;
	bool kvm_checked; /* vmm_host_check() passed */
	uint64_t snap_id; /* the VM's last snapshot (written or loaded) */
	int uffd_sock; /* Uffd back-end: the handler's socket, or -1 */
	struct vm_config vmcfg;
	struct vmm_session sess;
	bool started;
	int start_efd; /* the main loop learns of InstanceStart */
	int timer_fd;
	int metrics_fd;
	int log_fd;
	struct mig_source *mig; /* the last migration sent, if any */
	struct incoming *inc; /* --incoming: listening, not yet accepted */
	pthread_t recv_tid; /* PUT /migration/receive: the receiving thread */
	bool recv_started;
	int recv_ret; /* its incoming_start() result */
	pthread_cond_t mig_cond; /* with ctx.lock: the end was reported */
	bool mig_reported;
	json_t *fc_prev; /* the last metrics line's Firecracker counters */
	bool hotplugged; /* a device was hot-plugged or unplugged */
};

/* How long a migrated source waits for its end to be asked about. */
#define MIG_LINGER_S 5

static void copy_err(char *err, const char *fallback)
{
	const char *e = log_last_error();

	snprintf(err, API_ERR_MAX, "%s", *e ? e : fallback);
}

/*
 * An API process opens /dev/kvm and creates its KVM VM while it waits for
 * its configuration (kvm_prepare_vm()), so that a start or a snapshot
 * load does not pay for them. Quiet: without access to /dev/kvm nothing
 * is done, and the start reports it as before.
 */
static void instance_prepare_host(struct instance *in)
{
	if (access("/dev/kvm", R_OK | W_OK) || kvm_open(&in->kvm, NULL))
		return;
	in->kvm_open = true;
	kvm_prepare_vm(&in->kvm);
}

/* /dev/kvm open and checked against the VM's configuration; 0 or -1. */
static int instance_host(struct instance *in, char *err)
{
	if (!in->kvm_open) {
		if (vmm_host_open(&in->kvm, &in->vmcfg)) {
			copy_err(err, "cannot open /dev/kvm");
			return -1;
		}
		in->kvm_open = in->kvm_checked = true;
	}
	if (!in->kvm_checked) {
		if (vmm_host_check(&in->kvm, &in->vmcfg)) {
			copy_err(err, "cannot use /dev/kvm");
			return -1;
		}
		in->kvm_checked = true;
	}
	return 0;
}

static int op_start(void *opaque, char *err)
{
	struct instance *in = opaque;
	uint64_t one = 1;
	int r;

	if (api_config_to_vm(&in->ctx.cfg, &in->vmcfg, err))
		return -1;
	in->vmcfg.serial = in->opts->cfg.serial;
	in->vmcfg.serial_path = in->opts->cfg.serial_path;
	api_config_serial_apply(&in->ctx.cfg, &in->vmcfg);
	in->vmcfg.acpi = in->opts->cfg.acpi;
	in->vmcfg.virtio_pci = in->opts->cfg.virtio_pci;
	in->vmcfg.boot_timer = in->opts->cfg.boot_timer;
	in->vmcfg.dirty_log = in->opts->cfg.dirty_log;
	if (access(in->vmcfg.kernel, R_OK)) {
		snprintf(err, API_ERR_MAX, "kernel %.400s: %s",
			 in->vmcfg.kernel, strerror(errno));
		return -1;
	}
	if (in->vmcfg.initrd && access(in->vmcfg.initrd, R_OK)) {
		snprintf(err, API_ERR_MAX, "initrd %.400s: %s",
			 in->vmcfg.initrd, strerror(errno));
		return -1;
	}
	log_clear_last_error();
	if (instance_host(in, err))
		return -1;
	r = vmm_session_build(&in->sess, &in->kvm, &in->vmcfg,
			      in->ctx.cfg.root_args);
	if (!r)
		r = vmm_session_start(&in->sess);
	if (r) {
		copy_err(err, "cannot build the VM");
		vmm_session_destroy(&in->sess, r);
		return -1;
	}
	in->started = true;
	if (write(in->start_efd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflowing */
	}
	return 0;
}

static bool migrating(struct instance *in);

static int op_pause(void *opaque, char *err)
{
	struct instance *in = opaque;
	uint64_t t0 = fc_latency_now(), t1;

	if (migrating(in)) {
		snprintf(
			err, API_ERR_MAX,
			"a migration is in progress (PUT /migration/cancel first)");
		return -1;
	}
	t1 = fc_latency_now();
	if (vm_pause(&in->sess.vm)) {
		snprintf(err, API_ERR_MAX, "the VM is stopping");
		return -1;
	}
	fc_latency_record(FC_LAT_PAUSE, t0, t1);
	return 0;
}

static int op_resume(void *opaque, char *err)
{
	struct instance *in = opaque;
	uint64_t t0 = fc_latency_now(), t1;

	if (migrating(in)) {
		snprintf(
			err, API_ERR_MAX,
			"a migration is in progress (PUT /migration/cancel first)");
		return -1;
	}
	t1 = fc_latency_now();
	if (vm_resume(&in->sess.vm))
		return -1;
	fc_latency_record(FC_LAT_RESUME, t0, t1);
	return 0;
}

static int op_stop(void *opaque, char *err)
{
	struct instance *in = opaque;

	(void)err;
	vm_request_stop(&in->sess.vm, EXIT_OK, "stopping on API request");
	return 0;
}

/* The @nth virtio device of @kind of the running VM (drive n: blk n). */
static struct virtio_dev *find_virtio(struct instance *in,
				      enum device_kind kind, unsigned int nth)
{
	return virtio_find(&in->sess.vm, kind, nth);
}

/* The device of a run-time update, or NULL with @err: "the @what has none". */
static struct virtio_dev *update_target(void *opaque, enum device_kind kind,
					unsigned int nth, const char *what,
					char *err)
{
	struct virtio_dev *d = find_virtio(opaque, kind, nth);

	if (!d)
		snprintf(err, API_ERR_MAX, "the %s has no device", what);
	return d;
}

/* The virtio-blk and virtio-net counters of the running VM, by id. */
static void device_stats(struct instance *in, struct fc_dev_stats *blk,
			 unsigned int *nr_blk, struct fc_dev_stats *net,
			 unsigned int *nr_net)
{
	const struct api_config *c = &in->ctx.cfg;

	*nr_blk = *nr_net = 0;
	if (!in->started)
		return;
	for (unsigned int i = 0; i < c->nr_drives && i < VMON_MAX_DISKS; i++) {
		struct virtio_dev *d = find_virtio(in, DEVICE_VIRTIO_BLK, i);

		if (!d)
			continue;
		blk[*nr_blk].id = c->drives[i].id;
		virtio_blk_stats(d, &blk[(*nr_blk)++].st);
	}
	for (unsigned int i = 0; i < c->nr_nets && i < VMON_MAX_NETS; i++) {
		struct virtio_dev *d = find_virtio(in, DEVICE_VIRTIO_NET, i);

		if (!d)
			continue;
		net[*nr_net].id = c->nets[i].id;
		virtio_net_stats(d, &net[(*nr_net)++].st);
	}
}

static json_t *blk_json(const struct virtio_io_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "read_count",
			 (json_int_t)st->in_ops, "read_bytes",
			 (json_int_t)st->in_bytes, "write_count",
			 (json_int_t)st->out_ops, "write_bytes",
			 (json_int_t)st->out_bytes, "other_count",
			 (json_int_t)st->other_ops, "rate_limiter_throttled",
			 (json_int_t)st->throttled, "rate_limiter_throttled_ms",
			 (json_int_t)(st->throttled_ns / 1000000));
}

static json_t *net_json(const struct virtio_io_stats *st)
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_count",
		(json_int_t)st->in_ops, "rx_bytes", (json_int_t)st->in_bytes,
		"tx_count", (json_int_t)st->out_ops, "tx_bytes",
		(json_int_t)st->out_bytes, "tx_rate_limiter_throttled",
		(json_int_t)st->throttled, "tx_rate_limiter_throttled_ms",
		(json_int_t)(st->throttled_ns / 1000000),
		"rx_rate_limiter_throttled", (json_int_t)st->rx_throttled,
		"rx_rate_limiter_throttled_ms",
		(json_int_t)(st->rx_throttled_ns / 1000000));
}

/*
 * vmon's virtio-blk and virtio-net counters, by drive and interface id
 * (requests, bytes, and what the rate limiters held back), as @blk_key
 * and @net_key; with @fc, Firecracker's groups beside them, as increments
 * since the last line (fc_metrics.h).
 */
static void add_device_metrics(struct instance *in, json_t *m,
			       const char *blk_key, const char *net_key,
			       bool fc)
{
	struct fc_dev_stats blk[VMON_MAX_DISKS], net[VMON_MAX_NETS];
	struct fc_metrics_src src = { .blk = blk, .net = net };
	json_t *jb, *jn;

	device_stats(in, blk, &src.nr_blk, net, &src.nr_net);
	if (fc) {
		src.vm = in->started ? &in->sess.vm : NULL;
		src.requests = &in->ctx.requests;
		fc_metrics_add(m, &src);
		fc_metrics_since(m, &in->fc_prev);
	}
	if (!in->started)
		return;
	jb = json_object();
	jn = json_object();
	for (unsigned int i = 0; i < src.nr_blk; i++)
		json_object_set_new(jb, blk[i].id, blk_json(&blk[i].st));
	for (unsigned int i = 0; i < src.nr_net; i++)
		json_object_set_new(jn, net[i].id, net_json(&net[i].st));
	json_object_set_new(m, blk_key, jb);
	json_object_set_new(m, net_key, jn);
}

static int flush_metrics(struct instance *in)
{
	json_t *m;
	int r;

	if (in->metrics_fd < 0)
		return 0;
	m = metrics_collect(in->started ? &in->sess.vm : NULL);
	if (!m) {
		errno = ENOMEM;
		return -1;
	}
	json_object_set_new(m, "id", json_string(in->id));
	json_object_set_new(m, "state",
			    json_string(api_state_name(in->ctx.state)));
	add_device_metrics(in, m, "vmon_block", "vmon_net", true);
	r = metrics_write_line(in->metrics_fd, m);
	json_decref(m);
	return r;
}

static int op_flush_metrics(void *opaque, char *err)
{
	struct instance *in = opaque;

	if (flush_metrics(in)) {
		snprintf(err, API_ERR_MAX, "metrics file %.400s: %s",
			 in->ctx.cfg.metrics_path, strerror(errno));
		return -1;
	}
	return 0;
}

static json_t *op_stats(void *opaque)
{
	struct instance *in = opaque;
	json_t *m = metrics_collect(in->started ? &in->sess.vm : NULL);

	if (m) {
		json_object_set_new(m, "state",
				    json_string(api_state_name(in->ctx.state)));
		add_device_metrics(in, m, "block", "net", false);
	}
	return m;
}

/* Opens @path for appending without blocking (a FIFO needs a reader). */
static int open_output(const char *path, char *err, const char *what)
{
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK,
		      0644);

	if (fd < 0)
		snprintf(err, API_ERR_MAX, "%s %.400s: %s", what, path,
			 strerror(errno));
	return fd;
}

static int op_logger(void *opaque, char *err)
{
	struct instance *in = opaque;
	const struct api_config *c = &in->ctx.cfg;
	const char *lvl = c->log_level;

	if (c->log_path) {
		int fd = open_output(c->log_path, err, "log_path");

		if (fd < 0)
			return -1;
		if (dup2(fd, STDERR_FILENO) < 0) {
			snprintf(err, API_ERR_MAX, "log_path: %s",
				 strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	}
	if (!lvl || !strcasecmp(lvl, "Info"))
		log_level = LOG_INFO;
	else if (!strcasecmp(lvl, "Error") || !strcasecmp(lvl, "Off"))
		log_level = LOG_ERROR;
	else if (!strcasecmp(lvl, "Warning"))
		log_level = LOG_WARN;
	else
		log_level = LOG_DEBUG;
	/* A configured logger writes Firecracker's lines (log.h). */
	log_set_fc_format(in->id, c->show_level, c->show_log_origin,
			  c->log_module);
	return 0;
}

static int op_metrics(void *opaque, char *err)
{
	struct instance *in = opaque;
	int fd = open_output(in->ctx.cfg.metrics_path, err, "metrics_path");

	if (fd < 0)
		return -1;
	if (in->metrics_fd >= 0)
		close(in->metrics_fd);
	in->metrics_fd = fd;
	return 0;
}

static int op_drive_update(void *opaque, const struct api_drive_update *u,
			   char *err)
{
	struct virtio_dev *d = update_target(opaque, DEVICE_VIRTIO_BLK,
					     u->index, "drive", err);

	if (!d)
		return -1;
	/* Block migration reads and tracks the image it started with. */
	if (u->have_path && migrating(opaque)) {
		snprintf(err, API_ERR_MAX,
			 "a migration is in progress: the disk's file stays");
		return -1;
	}
	if (u->have_path && virtio_blk_set_path(d, u->path, err, API_ERR_MAX))
		return -1;
	if (u->have_rl)
		virtio_blk_set_rate_limiter(d, &u->rl);
	return 0;
}

static int op_net_update(void *opaque, const struct api_net_update *u,
			 char *err)
{
	struct virtio_dev *d = update_target(opaque, DEVICE_VIRTIO_NET,
					     u->index, "interface", err);

	if (!d)
		return -1;
	virtio_net_set_rate_limiters(d, &u->rx, &u->tx);
	return 0;
}

static int op_balloon_target(void *opaque, uint64_t mib, char *err)
{
	struct instance *in = opaque;
	struct virtio_dev *b = find_virtio(in, DEVICE_VIRTIO_BALLOON, 0);

	if (!b || virtio_balloon_set_target(b, mib << 20)) {
		snprintf(err, API_ERR_MAX, "the balloon device refused it");
		return -1;
	}
	return 0;
}

static int op_balloon_interval(void *opaque, unsigned int seconds, char *err)
{
	struct instance *in = opaque;
	struct virtio_dev *b = find_virtio(in, DEVICE_VIRTIO_BALLOON, 0);

	if (!b || virtio_balloon_set_stats_interval(b, seconds)) {
		snprintf(err, API_ERR_MAX,
			 "the balloon device refused the interval");
		return -1;
	}
	return 0;
}

static int op_balloon_hint(void *opaque, bool start, bool ack_on_stop,
			   char *err)
{
	struct instance *in = opaque;
	struct virtio_dev *b = find_virtio(in, DEVICE_VIRTIO_BALLOON, 0);

	if (!b || virtio_balloon_hint(b, start, ack_on_stop)) {
		snprintf(
			err, API_ERR_MAX,
			"free page hinting was not enabled when the device was configured");
		return -1;
	}
	return 0;
}

static int op_balloon_info(void *opaque, struct balloon_info *out)
{
	struct instance *in = opaque;
	struct virtio_dev *b = find_virtio(in, DEVICE_VIRTIO_BALLOON, 0);

	if (!b)
		return -1;
	virtio_balloon_get(b, out);
	return 0;
}

static int op_ctrl_alt_del(void *opaque, char *err)
{
	struct instance *in = opaque;
	struct i8042 *kbd = vm_i8042(&in->sess.vm);

	if (!kbd || i8042_ctrl_alt_del(kbd)) {
		snprintf(err, API_ERR_MAX, "the i8042 keyboard buffer is full");
		return -1;
	}
	return 0;
}

static int op_power_button(void *opaque, char *err)
{
	struct instance *in = opaque;
	struct acpi_pm *pm = vm_acpi_pm(&in->sess.vm);

	if (!pm) {
		snprintf(err, API_ERR_MAX,
			 "the microVM has no ACPI power button (ACPI is off)");
		return -1;
	}
	acpi_pm_power_button(pm);
	return 0;
}

/* The VM's configuration as a snapshot or migration carries it. */
static char *vm_config_text(struct instance *in, char *err)
{
	json_t *j = api_config_full_json(&in->ctx.cfg);
	char *text;

	/* The logger and metrics are the process's, not the VM's. */
	json_object_del(j, "logger");
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		snprintf(err, API_ERR_MAX, "out of memory");
	return text;
}

/* --- hotplug (docs/pci.md): the VM side of api_hotplug.c ---------------- */

static int op_hotplug_check(void *opaque, char *err)
{
	struct instance *in = opaque;

	return virtio_hotplug_possible(&in->sess.vm, err, API_ERR_MAX) ? 0 : -1;
}

/* Runs @fn with the VM paused (as it was if it was). */
static int paused_call(struct instance *in,
		       int (*fn)(struct instance *, void *), void *arg,
		       char *err)
{
	struct vm *vm = &in->sess.vm;
	bool was = vm_paused(vm);
	int r;

	if (!was && vm_pause(vm)) {
		snprintf(err, API_ERR_MAX, "the VM is stopping");
		return -1;
	}
	r = fn(in, arg);
	if (!was)
		vm_resume(vm);
	return r;
}

struct hotplug_req {
	const char *type;
	unsigned int index;
	char *err;
};

static int hotplug_add(struct instance *in, void *arg)
{
	struct hotplug_req *q = arg;
	struct vm_config *v = &in->vmcfg;
	bool disk = q->type[0] == 'd';

	if (disk) {
		v->disks[q->index] = in->ctx.cfg.drives[q->index].disk;
		v->nr_disks = q->index + 1;
	} else {
		v->nets[q->index] = in->ctx.cfg.nets[q->index].net;
		v->nets[q->index].mmds = false;
		v->nr_nets = q->index + 1;
	}
	if (virtio_hotplug_add(&in->sess.vm, q->type, q->index, q->err,
			       API_ERR_MAX)) {
		in->hotplugged = true;
		return 0;
	}
	if (disk)
		v->nr_disks = q->index;
	else
		v->nr_nets = q->index;
	return -1;
}

static int op_hotplug(void *opaque, const char *type, unsigned int index,
		      char *err)
{
	struct hotplug_req q = { type, index, err };
	struct instance *in = opaque;

	if (migrating(in)) {
		snprintf(err, API_ERR_MAX, "a migration is in progress");
		return -1;
	}
	if ((type[0] == 'd' && index >= VMON_MAX_DISKS) ||
	    (type[0] != 'd' && index >= VMON_MAX_NETS)) {
		snprintf(err, API_ERR_MAX, "too many devices");
		return -1;
	}
	if (virtio_hotplug_prepare(&in->sess.vm, err, API_ERR_MAX))
		return -1;
	return paused_call(in, hotplug_add, &q, err);
}

static int op_unplug(void *opaque, const char *type, unsigned int index,
		     char *err)
{
	struct instance *in = opaque;
	enum device_kind kind = type[0] == 'd' ? DEVICE_VIRTIO_BLK :
						 DEVICE_VIRTIO_NET;
	struct virtio_dev *d = update_target(opaque, kind, index, type, err);

	if (!d)
		return -1;
	if (migrating(in)) {
		snprintf(err, API_ERR_MAX, "a migration is in progress");
		return -1;
	}
	if (virtio_hotplug_unplug(&in->sess.vm, d, err, API_ERR_MAX))
		return -1;
	in->hotplugged = true;
	return 0;
}

/* A device the guest ejected: its entries leave both configurations. */
static void device_gone(void *opaque, enum device_kind kind, unsigned int i)
{
	struct instance *in = opaque;
	struct vm_config *v = &in->vmcfg;

	if (kind == DEVICE_VIRTIO_BLK && i < v->nr_disks) {
		memmove(&v->disks[i], &v->disks[i + 1],
			(v->nr_disks - i - 1) * sizeof(v->disks[0]));
		v->nr_disks--;
		api_config_drop_device(&in->ctx.cfg, "disk", i);
	} else if (kind == DEVICE_VIRTIO_NET && i < v->nr_nets) {
		memmove(&v->nets[i], &v->nets[i + 1],
			(v->nr_nets - i - 1) * sizeof(v->nets[0]));
		v->nr_nets--;
		api_config_drop_device(&in->ctx.cfg, "net", i);
	}
}

static int reap(struct instance *in, void *arg)
{
	(void)arg;
	virtio_hotplug_reap(&in->sess.vm, device_gone, in);
	return 0;
}

static void op_hotplug_reap(void *opaque)
{
	struct instance *in = opaque;
	char err[API_ERR_MAX];
	struct vm *vm = &in->sess.vm;

	/* Pausing costs: only when the guest ejected something. */
	if (in->started && vm->pci && vm->pci->hotplug &&
	    pci_hotplug_ejected(vm->pci->hotplug))
		paused_call(in, reap, NULL, err);
}

/* Snapshots and migration rebuild the boot-time slots: not after hotplug. */
static int refuse_hotplugged(struct instance *in, char *err)
{
	if (!in->hotplugged)
		return 0;
	snprintf(
		err, API_ERR_MAX,
		"devices were hot-plugged or unplugged: the VM's PCI slots are not its configuration's (not supported yet)");
	return -1;
}

static int op_snapshot_create(void *opaque, const struct api_snapshot_create *c,
			      char *err)
{
	struct instance *in = opaque;
	uint64_t t0 = fc_latency_now(), t1;
	char *text = vm_config_text(in, err);
	struct snapshot_params p = {
		.type = c->diff ? SNAPSHOT_DIFF : SNAPSHOT_FULL,
		.config_json = text,
		.state_path = c->state_path,
		.mem_path = c->mem_path,
		.parent = in->snap_id,
	};
	int r;

	if (!text)
		return -1;
	if (refuse_hotplugged(in, err)) {
		free(text);
		return -1;
	}
	t1 = fc_latency_now();
	r = snapshot_create(&in->sess.vm, &p, err, API_ERR_MAX);
	if (!r) {
		in->snap_id = p.id;
		fc_latency_record(c->diff ? FC_LAT_DIFF_SNAPSHOT :
					    FC_LAT_FULL_SNAPSHOT,
				  t0, t1);
	}
	free(text);
	return r;
}

/* --- live migration, sending side (docs/migration.md) --- */

static bool migrating(struct instance *in)
{
	struct mig_progress p;

	if (!in->mig)
		return false;
	mig_source_progress(in->mig, &p);
	return p.state == MIG_ACTIVE;
}

/* The migration thread pauses the VM for the switch-over. */
static int mig_pause(void *opaque)
{
	struct instance *in = opaque;
	int r;

	pthread_mutex_lock(&in->ctx.lock);
	r = vm_pause(&in->sess.vm);
	if (!r)
		in->ctx.state = API_PAUSED;
	pthread_mutex_unlock(&in->ctx.lock);
	return r;
}

static void mig_resume(void *opaque)
{
	struct instance *in = opaque;

	pthread_mutex_lock(&in->ctx.lock);
	if (!vm_resume(&in->sess.vm))
		in->ctx.state = API_RUNNING;
	pthread_mutex_unlock(&in->ctx.lock);
}

/*
 * The VM runs on the destination: this instance ends, exit 0, once the
 * end was reported (GET /migration: `vmon migrate` waits for it) or after
 * MIG_LINGER_S.
 */
static void mig_completed(void *opaque)
{
	struct instance *in = opaque;
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += MIG_LINGER_S;
	pthread_mutex_lock(&in->ctx.lock);
	while (!in->mig_reported &&
	       pthread_cond_timedwait(&in->mig_cond, &in->ctx.lock, &t) == 0)
		;
	pthread_mutex_unlock(&in->ctx.lock);
	vm_request_stop(&in->sess.vm, EXIT_OK, "migrated");
}

static int op_migrate_send(void *opaque, const struct mig_params *p, char *err)
{
	struct instance *in = opaque;
	struct mig_hooks h = { mig_pause, mig_resume, mig_completed, in };
	char *text;

	if (migrating(in)) {
		snprintf(err, API_ERR_MAX, "a migration is in progress");
		return -1;
	}
	if (refuse_hotplugged(in, err))
		return -1;
	text = vm_config_text(in, err);
	if (!text)
		return -1;
	mig_source_free(in->mig);
	in->mig = mig_source_start(&in->sess.vm, text, p, &h, err, API_ERR_MAX);
	free(text);
	return in->mig ? 0 : -1;
}

static int op_migrate_cancel(void *opaque, char *err)
{
	struct instance *in = opaque;

	if (!migrating(in)) {
		snprintf(err, API_ERR_MAX, "no migration in progress");
		return -1;
	}
	mig_source_cancel(in->mig);
	return 0;
}

static json_t *op_migrate_info(void *opaque)
{
	struct instance *in = opaque;
	struct mig_progress p = { 0 };

	if (in->mig)
		mig_source_progress(in->mig, &p);
	if (p.state == MIG_COMPLETED) {
		in->mig_reported = true;
		pthread_cond_broadcast(&in->mig_cond);
	}
	return json_pack(
		"{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?, s:s?, s:b, s:I}",
		"state", mig_state_name(p.state), "mode", mig_mode_name(p.mode),
		"postcopy", (int)p.postcopy, "rounds", (json_int_t)p.rounds,
		"ram_pages", (json_int_t)p.ram_pages, "pages_sent",
		(json_int_t)p.pages_sent, "zero_pages",
		(json_int_t)p.zero_pages, "bytes_sent",
		(json_int_t)p.bytes_sent, "dirty_pages",
		(json_int_t)p.dirty_pages, "dirty_rate_pages_s",
		(json_int_t)p.dirty_rate, "expected_downtime_ms",
		(json_int_t)p.expected_downtime_ms, "downtime_ms",
		(json_int_t)p.downtime_ms, "total_ms", (json_int_t)p.total_ms,
		"disk_bytes_sent", (json_int_t)p.disk_bytes_sent,
		"disk_dirty_bytes", (json_int_t)p.disk_dirty_bytes, "error",
		*p.error ? p.error : NULL, "dirty_log", p.dirty_log, "verify",
		(int)p.verify, "unreported_pages",
		(json_int_t)p.unreported_pages);
}

/*
 * What fills a VM built for a restore before its state is restored: a
 * live migration's receiver (guest RAM and the state come from the
 * stream). 0, or -1 with @err.
 */
typedef int (*load_fill_fn)(void *arg, struct vm *vm, struct snapshot *snap,
			    char *err);

/* clock_realtime: the first resume advances the restored guest clock. */
static int load_clock(struct vm *vm, const struct api_snapshot_load *l,
		      char *err)
{
	if (!l->clock_realtime)
		return 0;
	if (!vm->paused_realtime) {
		snprintf(
			err, API_ERR_MAX,
			"snapshot/load: clock_realtime: the snapshot does not record the host's wall clock (VM state version 1)");
		return -1;
	}
	vm->clock_advance = true;
	return 0;
}

/*
 * Builds the VM of the snapshot @snap, fills it (@fill, if any), restores
 * it and starts it paused (running with l->resume, read after @fill).
 */
static int load_build(struct instance *in, struct snapshot *snap,
		      const struct api_snapshot_load *l, load_fill_fn fill,
		      void *fill_arg, char *err)
{
	int r;

	if (api_config_to_vm(&in->ctx.cfg, &in->vmcfg, err))
		return -1;
	/* The load request decides, not the snapshotted machine-config. */
	in->vmcfg.track_dirty_pages = l->track_dirty;
	/* Restored RAM is on ordinary pages (the memory file, or 4 KiB
	 * pages through userfaultfd), huge_pages "2M" or not. */
	in->vmcfg.hugetlb = false;
	in->ctx.cfg.track_dirty_pages = l->track_dirty;
	in->vmcfg.serial = in->opts->cfg.serial;
	in->vmcfg.serial_path = in->opts->cfg.serial_path;
	api_config_serial_apply(&in->ctx.cfg, &in->vmcfg);
	in->vmcfg.acpi = in->opts->cfg.acpi;
	in->vmcfg.virtio_pci = in->opts->cfg.virtio_pci;
	in->vmcfg.boot_timer = in->opts->cfg.boot_timer;
	in->vmcfg.dirty_log = in->opts->cfg.dirty_log;
	if (in->vmcfg.cpus != snap->info.nr_vcpus ||
	    in->vmcfg.mem_size != snap->info.mem_size) {
		snprintf(
			err, API_ERR_MAX,
			"the snapshot's configuration does not match its header");
		return -1;
	}
	log_clear_last_error();
	if (instance_host(in, err))
		return -1;
	if (snapshot_check_host(snap, &in->kvm, err, API_ERR_MAX))
		return -1;
	r = vmm_session_build_restore(&in->sess, &in->kvm, &in->vmcfg,
				      snap->mem_fd);
	if (!r && vm_pause(&in->sess.vm))
		r = EXIT_HOST;
	if (r) {
		copy_err(err, "cannot build the VM");
	} else if (vmm_session_start(&in->sess)) {
		/*
		 * The vCPU threads start now, paused, and wait: a migration's
		 * switch-over (or a load) then only wakes them, instead of
		 * creating threads and installing their filters while the
		 * guest is down.
		 */
		copy_err(err, "cannot start the vCPUs");
		r = EXIT_HOST;
	}
	/*
	 * A migration fills RAM and brings the state; with Uffd, the handler
	 * serves the pages the restore touches.
	 */
	else if ((fill && fill(fill_arg, &in->sess.vm, snap, err)) ||
		 (l->uffd &&
		  uffd_backend_connect(&in->sess.vm, l->mem_path,
				       &in->uffd_sock, err, API_ERR_MAX)) ||
		 snapshot_restore(snap, &in->sess.vm, err, API_ERR_MAX) ||
		 load_clock(&in->sess.vm, l, err))
		r = EXIT_USAGE;
	if (r) {
		vmm_session_destroy(&in->sess, r);
		/* After the VM: its memory is gone, nothing faults any more. */
		if (in->uffd_sock >= 0)
			close(in->uffd_sock);
		in->uffd_sock = -1;
		return -1;
	}
	in->snap_id = snap->info.id;
	/*
	 * RAM maps the memory file: its fd is not needed any more. Closed
	 * before the vCPUs run, so a resumed VM holds no file of the load.
	 */
	if (snap->mem_fd >= 0)
		close(snap->mem_fd);
	snap->mem_fd = -1;
	if (l->resume)
		vm_resume(&in->sess.vm);
	return 0;
}

/* Takes @snap's configuration and builds, fills and restores its VM. */
static int load_snapshot(struct instance *in, struct snapshot *snap,
			 const struct api_snapshot_load *l, load_fill_fn fill,
			 void *fill_arg, char *err)
{
	struct api_config *saved = api_config_dup(&in->ctx.cfg);
	uint64_t one = 1;
	int r;

	if (!saved) {
		snprintf(err, API_ERR_MAX, "out of memory");
		return -1;
	}
	r = api_config_document(&in->ctx.cfg, snap->config,
				strlen(snap->config), err);
	if (!r)
		r = api_overrides_apply(&in->ctx.cfg, &l->ov, err);
	if (!r)
		r = load_build(in, snap, l, fill, fill_arg, err);
	if (r) {
		api_config_move(&in->ctx.cfg, saved);
		return -1;
	}
	api_config_drop(saved);
	in->started = true;
	if (write(in->start_efd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflowing */
	}
	return 0;
}

static int op_snapshot_load(void *opaque, const struct api_snapshot_load *l,
			    char *err)
{
	struct instance *in = opaque;
	uint64_t t0 = fc_latency_now(), t1;
	struct snapshot snap;
	int r;

	/* Uffd: the memory file is the handler's, not ours to open. */
	if (snapshot_open(&snap, l->state_path, l->uffd ? NULL : l->mem_path,
			  NULL, err, API_ERR_MAX))
		return -1;
	t1 = fc_latency_now();
	r = load_snapshot(in, &snap, l, NULL, NULL, err);
	snapshot_close(&snap);
	if (!r)
		fc_latency_record(FC_LAT_LOAD_SNAPSHOT, t0, t1);
	return r;
}

/* --override WHAT...: the host resources replacing the loaded VM's. */
static int parse_overrides(struct instance *in, struct api_overrides *ov)
{
	char err[API_ERR_MAX];

	for (unsigned int i = 0; i < in->opts->nr_overrides; i++) {
		if (api_override_parse_text(in->opts->overrides[i], ov, err)) {
			pr_err("--override %s: %s", in->opts->overrides[i],
			       err);
			return -1;
		}
	}
	return 0;
}

/* --- live migration, receiving side: run --incoming URL --- */

struct incoming {
	struct mig_dest dest;
	struct api_snapshot_load *l;
	/* CLOCK_MONOTONIC ns: state received, restored, DONE sent, resumed */
	uint64_t t_state, t_restored, t_done, t_resumed;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Logs where the switch-over's time went here, as absolute ns (the
 * source logs its pause on the same clock: bench/migrate subtracts),
 * once a vCPU entered KVM_RUN (waited for at most a second).
 */
static void incoming_log_marks(struct instance *in, struct incoming *inc)
{
	uint64_t run = 0;

	for (int i = 0; i < 1000 && inc->dest.run &&
			!(run = atomic_load(&in->sess.vm.run_ns));
	     i++)
		usleep(1000);
	pr_info("incoming migration marks (CLOCK_MONOTONIC ns): state=%llu restored=%llu done=%llu resumed=%llu run=%llu",
		(unsigned long long)inc->t_state,
		(unsigned long long)inc->t_restored,
		(unsigned long long)inc->t_done,
		(unsigned long long)inc->t_resumed, (unsigned long long)run);
}

static int incoming_fill(void *arg, struct vm *vm, struct snapshot *snap,
			 char *err)
{
	struct incoming *inc = arg;

	int r;

	/* Started paused: it runs once the source knows it does. */
	r = mig_receive_memory(&inc->dest, vm, snap, err, API_ERR_MAX);
	inc->t_state = mono_ns();
	return r;
}

/* Listens before the API answers: a source told to come finds us. */
static int incoming_listen(struct instance *in, const char *url,
			   const char *token_file)
{
	struct mig_token token = { 0 };
	char err[API_ERR_MAX];

	in->inc = calloc(1, sizeof(*in->inc));
	if (!in->inc)
		return EXIT_HOST;
	/* The source's configuration, with this host's tap, disks, vsock. */
	in->inc->l = calloc(1, sizeof(*in->inc->l));
	if (!in->inc->l)
		return EXIT_HOST;
	if (parse_overrides(in, &in->inc->l->ov))
		return EXIT_USAGE;
	if (token_file &&
	    mig_token_load(token_file, &token, err, sizeof(err))) {
		pr_err("--migration-token: %s", err);
		return EXIT_USAGE;
	}
	in->ctx.incoming = true;
	if (mig_listen_url(&in->inc->dest, url, err, sizeof(err))) {
		pr_err("--incoming %s", err);
		return EXIT_USAGE;
	}
	in->inc->dest.token = token;
	explicit_bzero(&token, sizeof(token));
	return 0;
}

static int incoming_start(struct instance *in, const char *url)
{
	struct incoming *inc = in->inc;
	char err[API_ERR_MAX] = "";
	struct snapshot snap;
	int ret = EXIT_USAGE;

	memset(&snap, 0, sizeof(snap));
	snap.mem_fd = -1;
	/* While it waits for the source, API requests are served. */
	if (!mig_accept(&inc->dest, &snap, err, sizeof(err))) {
		pthread_mutex_lock(&in->ctx.lock);
		if (!load_snapshot(in, &snap, inc->l, incoming_fill, inc,
				   err)) {
			in->ctx.configured = true;
			in->ctx.state = API_PAUSED;
			ret = 0;
		}
		pthread_mutex_unlock(&in->ctx.lock);
		inc->t_restored = mono_ns();
	}
	/* The source stops once told; only then may the VM run here. */
	if (mig_finish(&inc->dest, ret ? err : NULL) && !ret) {
		snprintf(err, sizeof(err),
			 "the source could not be told: the VM stays there");
		ret = EXIT_HOST;
	}
	inc->t_done = mono_ns();
	if (!ret && inc->dest.run) {
		pthread_mutex_lock(&in->ctx.lock);
		if (!vm_resume(&in->sess.vm))
			in->ctx.state = API_RUNNING;
		pthread_mutex_unlock(&in->ctx.lock);
		inc->t_resumed = mono_ns();
	}
	snapshot_close(&snap);
	if (ret) {
		pr_err("incoming migration on %s: %s", url, err);
	} else {
		pr_info("incoming migration on %s: the VM runs here", url);
		incoming_log_marks(in, inc);
	}
	return ret;
}

/* PUT /migration/receive: incoming_start() off the API thread. */
static void *receive_thread(void *arg)
{
	struct instance *in = arg;
	uint64_t one = 1;

	/* The API thread's filter, inherited; named for the reports. */
	seccomp_thread_enter(THREAD_API);
	in->recv_ret = incoming_start(in, in->inc->dest.url);
	/* The main thread learns of the end (a VM that came wakes it too). */
	if (write(in->start_efd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflowing */
	}
	return NULL;
}

/*
 * Starts the thread that waits for the source (in->inc listens): PUT
 * /migration/receive's, and --incoming's, so that the main thread stays
 * free to end the wait on a signal. 0 or -1.
 */
static int receive_spawn(struct instance *in)
{
	if (pthread_create(&in->recv_tid, NULL, receive_thread, in))
		return -1;
	in->recv_started = true;
	return 0;
}

static int op_migrate_receive(void *opaque,
			      const struct api_migration_receive *r, char *err)
{
	struct instance *in = opaque;
	struct incoming *inc;

	if (in->inc) {
		snprintf(
			err, API_ERR_MAX,
			"this instance already waits for a migration on %.400s",
			in->inc->dest.url);
		return -1;
	}
	inc = calloc(1, sizeof(*inc));
	if (inc)
		inc->l = calloc(1, sizeof(*inc->l));
	if (!inc || !inc->l) {
		free(inc);
		snprintf(err, API_ERR_MAX, "out of memory");
		return -1;
	}
	inc->l->ov = r->ov;
	if (mig_listen_url(&inc->dest, r->url, err, API_ERR_MAX))
		goto fail;
	inc->dest.token = r->token;
	in->inc = inc;
	if (receive_spawn(in)) {
		snprintf(err, API_ERR_MAX, "cannot start a thread");
		mig_dest_free(&inc->dest);
		in->inc = NULL;
		goto fail;
	}
	return 0;
fail:
	free(inc->l);
	free(inc);
	return -1;
}

/*
 * The main thread, woken from wait_for_start() (@ret: -1, or the exit
 * status of a signal) while a PUT /migration/receive thread runs: waits
 * for it (a signal first wakes it from its wait for the source). Returns
 * -1 if the VM came, else the exit status.
 */
static int receive_end(struct instance *in, int ret)
{
	if (ret >= 0) {
		if (in->inc->dest.listen_fd >= 0)
			shutdown(in->inc->dest.listen_fd, SHUT_RDWR);
		if (in->inc->dest.conn.fd >= 0)
			shutdown(in->inc->dest.conn.fd, SHUT_RDWR);
	}
	pthread_join(in->recv_tid, NULL);
	in->recv_started = false;
	if (ret >= 0)
		return ret;
	return in->recv_ret ? in->recv_ret : -1;
}

static const struct api_ops instance_ops = {
	.start = op_start,
	.pause = op_pause,
	.resume = op_resume,
	.stop = op_stop,
	.flush_metrics = op_flush_metrics,
	.stats = op_stats,
	.logger = op_logger,
	.metrics = op_metrics,
	.drive_update = op_drive_update,
	.hotplug_check = op_hotplug_check,
	.hotplug = op_hotplug,
	.unplug = op_unplug,
	.hotplug_reap = op_hotplug_reap,
	.net_update = op_net_update,
	.balloon_target = op_balloon_target,
	.balloon_info = op_balloon_info,
	.balloon_interval = op_balloon_interval,
	.balloon_hint = op_balloon_hint,
	.ctrl_alt_del = op_ctrl_alt_del,
	.power_button = op_power_button,
	.snapshot_create = op_snapshot_create,
	.snapshot_load = op_snapshot_load,
	.migrate_send = op_migrate_send,
	.migrate_cancel = op_migrate_cancel,
	.migrate_info = op_migrate_info,
	.migrate_receive = op_migrate_receive,
};

static void on_timer(void *opaque)
{
	struct instance *in = opaque;
	uint64_t n;

	if (read(in->timer_fd, &n, sizeof(n)) < 0) {
		/* spurious: nothing to drain */
	}
	pthread_mutex_lock(&in->ctx.lock);
	if (flush_metrics(in))
		pr_warn("metrics file %s: %s", in->ctx.cfg.metrics_path,
			strerror(errno));
	pthread_mutex_unlock(&in->ctx.lock);
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	/* Non-blocking: a FIFO is refused below instead of hanging here. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st)) {
		pr_err("--config-file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		if (S_ISREG(st.st_mode))
			bound_hit(BOUND_CONFIG_FILE);
		pr_err("--config-file %s: not a regular file of at most %d bytes",
		       path, CONFIG_FILE_MAX);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		pr_err("--config-file %s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/*
 * Firecracker's --log-path, --level, --show-level, --show-log-origin,
 * --module and --metrics-path: as if PUT /logger and PUT /metrics came
 * first (GET /vm/config shows them). 0 or an exit code.
 */
/* --mmds-size-limit (by default the API's body limit) and --metadata. */
static int apply_mmds_flags(const struct fc_opts *f)
{
	char err[API_ERR_MAX] = "not a JSON object";
	json_error_t je;
	json_t *j;
	int r;

	mmds_set_size_limit(f->mmds_size_limit ? f->mmds_size_limit :
						 f->max_payload);
	if (!f->metadata)
		return 0;
	j = json_load_file(f->metadata, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		snprintf(err, sizeof(err), "not a JSON object: %s", je.text);
	r = json_is_object(j) ? mmds_put(j, err, sizeof(err)) : -1;
	if (r)
		pr_err("--metadata %s: %s", f->metadata, err);
	json_decref(j);
	return r ? -1 : 0;
}

static int apply_fc_flags(struct instance *in, const struct fc_opts *f)
{
	char err[API_ERR_MAX] = "out of memory";
	json_t *l = NULL, *m = NULL;
	int r = 0;

	if (f->log_path || f->level || f->show_level || f->show_log_origin ||
	    f->module) {
		l = json_pack("{s:b, s:b}", "show_level", f->show_level,
			      "show_log_origin", f->show_log_origin);
		if (l && f->log_path)
			json_object_set_new(l, "log_path",
					    json_string(f->log_path));
		if (l && f->level)
			json_object_set_new(l, "level", json_string(f->level));
		if (l && f->module)
			json_object_set_new(l, "module",
					    json_string(f->module));
		r = !l || api_config_logger(&in->ctx.cfg, l, err) ||
		    op_logger(in, err);
	}
	if (!r && f->metrics_path) {
		m = json_pack("{s:s}", "metrics_path", f->metrics_path);
		r = !m || api_config_metrics(&in->ctx.cfg, m, err) ||
		    op_metrics(in, err);
	}
	json_decref(l);
	json_decref(m);
	if (r)
		pr_err("%s", err);
	else
		r = apply_mmds_flags(f);
	return r ? EXIT_USAGE : 0;
}

/* Applies --config-file, starts the VM (API lock held): 0 or an exit code. */
static int config_file_start(struct instance *in, const char *path)
{
	char err[API_ERR_MAX];
	size_t len = 0;
	char *text = read_file(path, &len);
	int ret = 0;

	if (!text)
		return EXIT_USAGE;
	if (api_config_document(&in->ctx.cfg, text, len, err) ||
	    (in->ctx.cfg.logger_set && op_logger(in, err)) ||
	    (in->ctx.cfg.metrics_set && op_metrics(in, err))) {
		pr_err("--config-file %s: %s", path, err);
		ret = EXIT_USAGE;
	} else if (op_start(in, err)) {
		pr_err("--config-file %s: InstanceStart: %s", path, err);
		ret = EXIT_USAGE;
	} else {
		in->ctx.state = API_RUNNING;
	}
	free(text);
	return ret;
}

/*
 * --restore DIR [--resume] [--mem-backend uffd:SOCKET] [--clock-realtime]:
 * loads DIR/state and DIR/memory (or the handler at SOCKET serves it),
 * with the API's lock held.
 */
static int restore_start(struct instance *in, const char *dir, bool resume)
{
	struct api_snapshot_load *l = calloc(1, sizeof(*l));
	const char *uffd = in->opts->uffd_sock;
	char err[API_ERR_MAX];
	int ret = 0;

	if (!l)
		return EXIT_HOST;
	snprintf(l->state_path, sizeof(l->state_path), "%.4000s/state", dir);
	snprintf(l->mem_path, sizeof(l->mem_path), "%.4000s/memory", dir);
	if (uffd && strlen(uffd) >= sizeof(l->mem_path)) {
		pr_err("--mem-backend uffd:%.200s: path too long", uffd);
		free(l);
		return EXIT_USAGE;
	}
	if (uffd)
		snprintf(l->mem_path, sizeof(l->mem_path), "%s", uffd);
	l->uffd = uffd != NULL;
	l->clock_realtime = in->opts->clock_realtime;
	l->resume = resume;
	if (parse_overrides(in, &l->ov)) {
		free(l);
		return EXIT_USAGE;
	}
	if (op_snapshot_load(in, l, err)) {
		pr_err("snapshot %s: %s", dir, err);
		ret = EXIT_USAGE;
	} else {
		in->ctx.configured = true;
		in->ctx.state = resume ? API_RUNNING : API_PAUSED;
	}
	free(l);
	return ret;
}

/* The Uffd handler's socket: its end stops the VM (uffd.h). */
static void on_uffd(void *opaque)
{
	struct instance *in = opaque;

	uffd_backend_check(&in->sess.vm, in->uffd_sock);
}

/* Before InstanceStart: signals end the process, start_efd moves on. */
static int wait_for_start(struct instance *in, int sig_fd)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = in->start_efd, .events = POLLIN },
			{ .fd = in->timer_fd, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			return EXIT_HOST;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				pr_info("stopping on signal %u (%s)",
					si.ssi_signo,
					strsignal((int)si.ssi_signo));
			return EXIT_OK;
		}
		if (p[2].revents & POLLIN)
			on_timer(in);
		if (p[1].revents & POLLIN)
			return -1;
	}
}

/*
 * The end of api_main(): the server stops first (no request runs past it),
 * then the VM, the registry entry and every descriptor. Returns @ret, or
 * the VM's exit code if it ran.
 */
static int instance_end(struct instance *in, struct api_server *server,
			const char *entry, int sig_fd, int ret)
{
	api_server_stop(server);
	/* The migration thread may wait for the lock: it ends first. */
	mig_source_free(in->mig);
	/* Post-copy threads write into guest memory: before it goes. */
	if (in->inc)
		mig_dest_free(&in->inc->dest);
	pthread_mutex_lock(&in->ctx.lock);
	if (in->started) {
		in->ctx.state = API_STOPPING;
		flush_metrics(in);
		ret = vmm_session_destroy(&in->sess, ret);
	}
	pthread_mutex_unlock(&in->ctx.lock);
	if (in->kvm_open)
		kvm_close(&in->kvm);
	instance_unregister(entry);
	api_ctx_destroy(&in->ctx);
	if (in->metrics_fd >= 0)
		close(in->metrics_fd);
	if (in->start_efd >= 0)
		close(in->start_efd);
	if (in->timer_fd >= 0)
		close(in->timer_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	if (in->inc)
		free(in->inc->l);
	free(in->inc);
	json_decref(in->fc_prev);
	pthread_cond_destroy(&in->mig_cond);
	free(in);
	return ret;
}

/* The API socket and the registry entry, if asked for. 0 or EXIT_USAGE. */
static int start_api(struct instance *in, const struct run_opts *o, char *entry,
		     size_t entry_len, struct api_server **server)
{
	if (!o->api_sock) {
		fc_report_start_time(&o->fc); /* --no-api: the VM is built */
		return 0;
	}
	if (instance_register(in->id, o->api_sock, entry, entry_len))
		return EXIT_USAGE;
	*server = api_server_start(o->api_sock, &in->ctx);
	if (*server && o->api_sock_group &&
	    api_server_share(o->api_sock, o->api_sock_gid)) {
		api_server_stop(*server);
		*server = NULL;
	}
	if (*server)
		fc_report_start_time(&o->fc); /* the socket is bound */
	return *server ? 0 : EXIT_USAGE;
}

int api_main(const struct run_opts *o)
{
	struct itimerspec period = { { METRICS_PERIOD_S, 0 },
				     { METRICS_PERIOD_S, 0 } };
	struct api_server *server = NULL;
	char entry[PATH_MAX + 128] = "";
	struct instance *in = calloc(1, sizeof(*in));
	int sig_fd = -1, ret = EXIT_HOST;

	if (!in)
		return EXIT_HOST;
	in->opts = o;
	pthread_cond_init(&in->mig_cond, NULL);
	in->start_efd = in->timer_fd = in->metrics_fd = in->log_fd = -1;
	in->uffd_sock = -1;
	if (o->id)
		snprintf(in->id, sizeof(in->id), "%s", o->id);
	else
		snprintf(in->id, sizeof(in->id), "vmon-%d", (int)getpid());
	api_ctx_init(&in->ctx, in->id, &instance_ops, in);
	if (o->fc.max_payload)
		in->ctx.max_body = o->fc.max_payload;
	ret = apply_fc_flags(in, &o->fc);
	if (ret)
		goto out;
	ret = EXIT_HOST;
	in->start_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	in->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (in->start_efd < 0 || in->timer_fd < 0 ||
	    timerfd_settime(in->timer_fd, 0, &period, NULL)) {
		pr_err("eventfd/timerfd: %s", strerror(errno));
		goto out;
	}
	/* Before any thread starts: all of them inherit the blocked mask. */
	sig_fd = vmm_signals_fd();
	if (sig_fd < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	if (o->incoming) {
		ret = incoming_listen(in, o->incoming, o->migration_token);
		if (ret)
			goto out;
	}
	/*
	 * With a start of its own (a config file, a snapshot), the instance
	 * is registered and its socket bound first (a taken --id or socket
	 * fails before any guest runs), and requests wait on the API's lock
	 * until the VM is there: never "Not started" for a VM that is being
	 * restored. An incoming migration's API answers while it waits (GET
	 * / says Not started until the VM arrived).
	 */
	if (o->incoming || !(o->config_file || o->restore)) {
		instance_prepare_host(in);
		ret = start_api(in, o, entry, sizeof(entry), &server);
		if (ret)
			goto out;
		/*
		 * --incoming: the source is awaited on the receiving thread,
		 * as after PUT /migration/receive: a signal ends the wait.
		 */
		if (o->incoming && receive_spawn(in)) {
			pr_err("--incoming: cannot start a thread");
			ret = EXIT_HOST;
			goto out;
		}
		/* The API thread builds the VM; this one only waits. */
		seccomp_thread_enter(THREAD_MAIN);
		ret = wait_for_start(in, sig_fd);
		if (in->recv_started)
			ret = receive_end(in, ret);
		if (ret >= 0)
			goto out;
	} else {
		pthread_mutex_lock(&in->ctx.lock);
		ret = 0;
		if (o->api_sock)
			ret = start_api(in, o, entry, sizeof(entry), &server);
		if (!ret)
			ret = o->restore ?
				      restore_start(in, o->restore, o->resume) :
				      config_file_start(in, o->config_file);
		/* --no-api: the start time is the VM's, built now. */
		if (!ret && !o->api_sock)
			ret = start_api(in, o, entry, sizeof(entry), &server);
		pthread_mutex_unlock(&in->ctx.lock);
		if (ret)
			goto out;
	}
	{
		struct loop_extra ex[] = { { in->timer_fd, on_timer, in },
					   { in->uffd_sock, on_uffd, in } };

		ret = vmm_main_loop(&in->sess, sig_fd, ex,
				    in->uffd_sock >= 0 ? 2 : 1);
	}
out:
	return instance_end(in, server, entry, sig_fd, ret);
}
