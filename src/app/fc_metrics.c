// SPDX-License-Identifier: GPL-2.0-only
/*
 * fc_metrics.c - Firecracker's metrics groups from vmon's counters (see
 * fc_metrics.h). The group and field names follow Firecracker's metrics
 * definitions and the validator of its test suite; a field vmon has no
 * event for stays 0.
 */
#include "fc_metrics.h"
#include "fc_latency.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../net/mmds_stack.h"
#include "../virtio/balloon.h"
#include "../virtio/mmio.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"

#define END NULL

static const char *const api_server_f[] = {
	"process_startup_time_us", "process_startup_time_cpu_us",
	"sync_response_fails", "sync_vmm_send_timeout_count", END
};
static const char *const balloon_f[] = { "activate_fails",
					 "inflate_count",
					 "stats_updates_count",
					 "stats_update_fails",
					 "deflate_count",
					 "event_fails",
					 END };
static const char *const block_f[] = { "activate_fails",
				       "cfg_fails",
				       "no_avail_buffer",
				       "event_fails",
				       "execute_fails",
				       "invalid_reqs_count",
				       "flush_count",
				       "queue_event_count",
				       "rate_limiter_event_count",
				       "update_count",
				       "update_fails",
				       "read_bytes",
				       "write_bytes",
				       "read_count",
				       "write_count",
				       "rate_limiter_throttled_events",
				       "io_engine_throttled_events",
				       "remaining_reqs_count",
				       END };
static const char *const deprecated_f[] = { "deprecated_http_api_calls",
					    "deprecated_cmd_line_api_calls",
					    END };
static const char *const dev_rw_f[] = { "error_count",
					"missed_read_count",
					"missed_write_count",
					"read_count",
					"reset_count",
					"write_count",
					END };
static const char *const uart_f[] = { "error_count",
				      "flush_count",
				      "missed_read_count",
				      "missed_write_count",
				      "read_count",
				      "write_count",
				      END };
static const char *const latencies_f[] = { "full_create_snapshot",
					   "diff_create_snapshot",
					   "load_snapshot",
					   "pause_vm",
					   "resume_vm",
					   "vmm_full_create_snapshot",
					   "vmm_diff_create_snapshot",
					   "vmm_load_snapshot",
					   "vmm_pause_vm",
					   "vmm_resume_vm",
					   END };
static const char *const logger_f[] = { "missed_metrics_count", "metrics_fails",
					"missed_log_count", "log_fails", END };
static const char *const mmds_f[] = { "rx_accepted",
				      "rx_accepted_err",
				      "rx_accepted_unusual",
				      "rx_bad_eth",
				      "rx_count",
				      "tx_bytes",
				      "tx_count",
				      "tx_errors",
				      "tx_frames",
				      "connections_created",
				      "connections_destroyed",
				      END };
static const char *const net_f[] = { "activate_fails",
				     "cfg_fails",
				     "mac_address_updates",
				     "no_rx_avail_buffer",
				     "no_tx_avail_buffer",
				     "event_fails",
				     "rx_queue_event_count",
				     "rx_event_rate_limiter_count",
				     "rx_partial_writes",
				     "rx_rate_limiter_throttled",
				     "rx_tap_event_count",
				     "rx_bytes_count",
				     "rx_packets_count",
				     "rx_fails",
				     "rx_count",
				     "tap_read_fails",
				     "tap_write_fails",
				     "tx_bytes_count",
				     "tx_malformed_frames",
				     "tx_fails",
				     "tx_count",
				     "tx_packets_count",
				     "tx_partial_reads",
				     "tx_queue_event_count",
				     "tx_rate_limiter_event_count",
				     "tx_rate_limiter_throttled",
				     "tx_spoofed_mac_count",
				     "tx_remaining_reqs_count",
				     END };
static const char *const seccomp_f[] = { "num_faults", END };
static const char *const vcpu_f[] = { "exit_io_in",	"exit_io_out",
				      "exit_mmio_read", "exit_mmio_write",
				      "failures",	END };
static const char *const vmm_f[] = { "device_events", "panic_count", END };
static const char *const signals_f[] = { "sigbus",  "sigsegv", "sigxfsz",
					 "sigxcpu", "sigpipe", "sighup",
					 "sigill",  END };
static const char *const vsock_f[] = { "activate_fails",
				       "cfg_fails",
				       "rx_queue_event_fails",
				       "tx_queue_event_fails",
				       "ev_queue_event_fails",
				       "muxer_event_fails",
				       "conn_event_fails",
				       "rx_queue_event_count",
				       "tx_queue_event_count",
				       "rx_bytes_count",
				       "tx_bytes_count",
				       "rx_packets_count",
				       "tx_packets_count",
				       "conns_added",
				       "conns_killed",
				       "conns_removed",
				       "killq_resync",
				       "tx_flush_fails",
				       "tx_write_fails",
				       "rx_read_fails",
				       END };
static const char *const entropy_f[] = {
	"activate_fails",	    "entropy_event_fails",
	"entropy_event_count",	    "entropy_bytes",
	"host_rng_fails",	    "entropy_rate_limiter_throttled",
	"rate_limiter_event_count", END
};

/* The groups vmon fills with zeros first, then with what it counts. */
static const struct {
	const char *name;
	const char *const *fields;
} groups[] = {
	{ "api_server", api_server_f },
	{ "balloon", balloon_f },
	{ "deprecated_api", deprecated_f },
	{ "i8042", dev_rw_f },
	{ "latencies_us", latencies_f },
	{ "logger", logger_f },
	{ "mmds", mmds_f },
	{ "seccomp", seccomp_f },
	{ "vcpu", vcpu_f },
	{ "vmm", vmm_f },
	{ "uart", uart_f },
	{ "signals", signals_f },
	{ "vsock", vsock_f },
	{ "entropy", entropy_f },
};

static json_t *zero_group(const char *const *fields)
{
	json_t *g = json_object();

	for (; *fields; fields++)
		json_object_set_new(g, *fields, json_integer(0));
	return g;
}

/* A latency aggregate (min_us, max_us, sum_us): vmon does not time them. */
static json_t *zero_agg(void)
{
	return json_pack("{s:i, s:i, s:i}", "min_us", 0, "max_us", 0, "sum_us",
			 0);
}

static void set(json_t *g, const char *key, uint64_t v)
{
	json_object_set_new(g, key, json_integer((json_int_t)v));
}

static void add(json_t *g, const char *key, uint64_t v)
{
	set(g, key, (uint64_t)json_integer_value(json_object_get(g, key)) + v);
}

static json_t *block_group(const struct virtio_io_stats *s)
{
	json_t *g = zero_group(block_f);

	set(g, "read_count", s->in_ops);
	set(g, "read_bytes", s->in_bytes);
	set(g, "write_count", s->out_ops);
	set(g, "write_bytes", s->out_bytes);
	set(g, "rate_limiter_throttled_events", s->throttled);
	json_object_set_new(g, "read_agg", zero_agg());
	json_object_set_new(g, "write_agg", zero_agg());
	return g;
}

static json_t *net_group(const struct virtio_io_stats *s)
{
	json_t *g = zero_group(net_f);

	set(g, "rx_count", s->in_ops);
	set(g, "rx_packets_count", s->in_ops);
	set(g, "rx_bytes_count", s->in_bytes);
	set(g, "tx_count", s->out_ops);
	set(g, "tx_packets_count", s->out_ops);
	set(g, "tx_bytes_count", s->out_bytes);
	set(g, "rx_rate_limiter_throttled", s->rx_throttled);
	set(g, "tx_rate_limiter_throttled", s->throttled);
	json_object_set_new(g, "tap_write_agg", zero_agg());
	return g;
}

/* Adds the integer fields of @from to @to (the aggregate of devices). */
static void sum_into(json_t *to, json_t *from)
{
	const char *k;
	json_t *v;

	json_object_foreach(from, k, v)
	{
		if (json_is_integer(v))
			add(to, k, (uint64_t)json_integer_value(v));
		else if (json_is_object(v) && json_object_get(to, k))
			sum_into(json_object_get(to, k), v);
	}
}

/*
 * "block" and "net": the sum of the per-device groups "block_ID" and
 * "net_ID", as Firecracker reports them.
 */
static void device_groups(json_t *m, const char *kind,
			  const struct fc_dev_stats *d, unsigned int nr,
			  json_t *(*make)(const struct virtio_io_stats *))
{
	static const struct virtio_io_stats none;
	json_t *agg = make(&none);

	for (unsigned int i = 0; i < nr; i++) {
		char key[128];
		json_t *g = make(&d[i].st);

		snprintf(key, sizeof(key), "%s_%s", kind, d[i].id);
		sum_into(agg, g);
		json_object_set_new(m, key, g);
	}
	json_object_set_new(m, kind, agg);
}

/* Accesses to the port or MMIO ranges named @name, all vCPUs. */
static void bus_rw(const struct bus *bus, const char *name, uint64_t *reads,
		   uint64_t *writes)
{
	for (size_t i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (name && strcmp(r->name, name) != 0)
			continue;
		*reads += vcpu_counter(&r->count.reads);
		*writes += vcpu_counter(&r->count.writes);
	}
}

static void vm_groups(json_t *m, struct vm *vm)
{
	uint64_t r = 0, w = 0;
	json_t *g;

	g = json_object_get(m, "vcpu");
	bus_rw(&vm->pio, NULL, &r, &w);
	set(g, "exit_io_in", r);
	set(g, "exit_io_out", w);
	r = w = 0;
	bus_rw(&vm->mmio, NULL, &r, &w);
	set(g, "exit_mmio_read", r);
	set(g, "exit_mmio_write", w);
	r = w = 0;
	g = json_object_get(m, "uart");
	bus_rw(&vm->pio, "serial", &r, &w);
	set(g, "read_count", r);
	set(g, "write_count", w);
	r = w = 0;
	g = json_object_get(m, "i8042");
	bus_rw(&vm->pio, "i8042", &r, &w);
	set(g, "read_count", r);
	set(g, "write_count", w);
}

static void mmds_group(json_t *g)
{
	struct mmds_stats st;

	mmds_stats_total(&st);
	set(g, "rx_accepted", st.rx_accepted);
	set(g, "rx_accepted_err", st.rx_accepted_err);
	set(g, "rx_accepted_unusual", st.rx_accepted_unusual);
	set(g, "rx_bad_eth", st.rx_bad_eth);
	set(g, "rx_count", st.rx_count);
	set(g, "tx_bytes", st.tx_bytes);
	set(g, "tx_count", st.tx_count);
	set(g, "tx_errors", st.tx_errors);
	set(g, "tx_frames", st.tx_frames);
	set(g, "connections_created", st.connections_created);
	set(g, "connections_destroyed", st.connections_destroyed);
}

struct field {
	const char *key;
	uint64_t v;
};

static void set_fields(json_t *g, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		set(g, f[i].key, f[i].v);
}

#define SET_FIELDS(g, ...)                                         \
	set_fields(g, (const struct field[]){ __VA_ARGS__ },       \
		   sizeof((const struct field[]){ __VA_ARGS__ }) / \
			   sizeof(struct field))

/* balloon, vsock and entropy: from the devices the VM has, if any. */
static void virtio_groups(json_t *m, struct vm *vm)
{
	struct virtio_dev *d;

	if ((d = virtio_find(vm, DEVICE_VIRTIO_BALLOON, 0))) {
		struct balloon_info b;

		virtio_balloon_get(d, &b);
		SET_FIELDS(json_object_get(m, "balloon"),
			   { "inflate_count", b.inflate_count },
			   { "deflate_count", b.deflate_count },
			   { "stats_updates_count", b.stats_updates });
	}
	if ((d = virtio_find(vm, DEVICE_VIRTIO_VSOCK, 0))) {
		struct virtio_vsock_stats v;

		virtio_vsock_stats(d, &v);
		SET_FIELDS(json_object_get(m, "vsock"),
			   { "rx_packets_count", v.rx_packets },
			   { "rx_bytes_count", v.rx_bytes },
			   { "tx_packets_count", v.tx_packets },
			   { "tx_bytes_count", v.tx_bytes },
			   { "conns_added", v.conns_added },
			   { "conns_removed", v.conns_removed },
			   { "rx_read_fails", v.rx_read_fails },
			   { "tx_write_fails", v.tx_write_fails });
	}
	if ((d = virtio_find(vm, DEVICE_VIRTIO_RNG, 0))) {
		struct virtio_rng_stats r;

		virtio_rng_stats(d, &r);
		SET_FIELDS(json_object_get(m, "entropy"),
			   { "entropy_event_count", r.events },
			   { "entropy_bytes", r.bytes },
			   { "host_rng_fails", r.host_fails },
			   { "entropy_rate_limiter_throttled", r.throttled });
	}
}

/* The start-up times (fc_report_start_time()); 0 until recorded. */
static _Atomic uint64_t startup_us[2];

void fc_metrics_startup(bool cpu, uint64_t us)
{
	startup_us[cpu] = us;
}

void fc_metrics_add(json_t *m, const struct fc_metrics_src *src)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(*groups); i++)
		json_object_set_new(m, groups[i].name,
				    zero_group(groups[i].fields));
	api_counters_json(src->requests, m);
	set(json_object_get(m, "api_server"), "process_startup_time_us",
	    startup_us[0]);
	set(json_object_get(m, "api_server"), "process_startup_time_cpu_us",
	    startup_us[1]);
	set(json_object_get(m, "deprecated_api"), "deprecated_http_api_calls",
	    __atomic_load_n(&src->requests->deprecated, __ATOMIC_RELAXED));
	device_groups(m, "block", src->blk, src->nr_blk, block_group);
	device_groups(m, "net", src->net, src->nr_net, net_group);
	mmds_group(json_object_get(m, "mmds"));
	fc_latency_json(json_object_get(m, "latencies_us"));
	if (src->vm) {
		vm_groups(m, src->vm);
		virtio_groups(m, src->vm);
	}
}

/* Firecracker's values that are not counters (its "store" metrics). */
static bool is_store(const char *group, const char *field)
{
	if (!strcmp(group, "api_server"))
		return strncmp(field, "process_startup", 15) == 0;
	if (!strcmp(group, "signals"))
		return strcmp(field, "sigpipe") != 0;
	return !strcmp(group, "latencies_us") || !strcmp(field, "num_faults") ||
	       !strcmp(field, "panic_count") || !strcmp(field, "min_us") ||
	       !strcmp(field, "max_us");
}

static bool is_fc_group(const char *name)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(*groups); i++)
		if (!strcmp(name, groups[i].name))
			return true;
	return strstr(name, "_api_requests") || !strcmp(name, "block") ||
	       !strcmp(name, "net") || !strncmp(name, "block_", 6) ||
	       !strncmp(name, "net_", 4);
}

/* @cur's counters minus @old's (a counter that went back: @cur's). */
static void group_since(const char *group, json_t *cur, json_t *old)
{
	const char *k;
	json_t *v;

	json_object_foreach(cur, k, v)
	{
		json_t *o = json_object_get(old, k);
		json_int_t a = json_integer_value(v), b = json_integer_value(o);

		if (json_is_object(v))
			group_since(group, v, o);
		else if (json_is_integer(v) && !is_store(group, k) && a >= b)
			json_integer_set(v, a - b);
	}
}

void fc_metrics_since(json_t *m, json_t **prev)
{
	json_t *now = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(m, k, v)
	{
		if (!json_is_object(v) || !is_fc_group(k))
			continue;
		json_object_set_new(now, k, json_deep_copy(v));
		if (*prev)
			group_since(k, v, json_object_get(*prev, k));
	}
	json_decref(*prev);
	*prev = now;
}
