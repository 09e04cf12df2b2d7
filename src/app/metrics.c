// SPDX-License-Identifier: GPL-2.0-only
/*
 * metrics.c - collects a VM's metrics (see metrics.h). Runs on any thread;
 * it only reads counters that vCPU threads update with relaxed atomics and
 * asks KVM for its statistics through fresh stats file descriptors.
 */
#include "metrics.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../util/bounds.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"
#include "memstat.h"

/*
 * KVM's statistics from a stats fd (KVM_GET_STATS_FD): {name: value} for
 * the scalar ones. @sfd < 0: an empty object.
 */
static json_t *kvm_stats(int sfd)
{
	struct kvm_stats_header h;
	json_t *out = json_object();
	char *descs = NULL;
	size_t dsize;

	if (sfd < 0 || !out)
		goto done;
	if (pread(sfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.num_desc > 4096 || h.name_size > 4096)
		goto done;
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsize * h.num_desc);
	if (!descs || pread(sfd, descs, dsize * h.num_desc, h.desc_offset) !=
			      (ssize_t)(dsize * h.num_desc))
		goto done;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsize);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		uint64_t v;

		if (d->size != 1 || (type != KVM_STATS_TYPE_CUMULATIVE &&
				     type != KVM_STATS_TYPE_INSTANT &&
				     type != KVM_STATS_TYPE_PEAK))
			continue;
		if (pread(sfd, &v, sizeof(v), h.data_offset + d->offset) !=
		    (ssize_t)sizeof(v))
			continue;
		d->name[h.name_size - 1] = 0;
		json_object_set_new(out, d->name, json_integer((json_int_t)v));
	}
done:
	free(descs);
	return out;
}

/*
 * A thread's CPU time from /proc: utime + stime in ms, and the part of it
 * spent running the guest (guest_time, which Linux counts in utime too).
 */
static int thread_times(int tid, uint64_t *total_ms, uint64_t *guest_ms)
{
	char path[64], buf[1024], *p;
	unsigned long long f[64];
	long hz = sysconf(_SC_CLK_TCK);
	FILE *fp;
	size_t n;
	int nf = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || hz <= 0)
		return -1;
	p += 2; /* field 3, the state, is a letter */
	while (*p && *p != ' ')
		p++;
	/* f[k] is field k + 4 of proc(5) */
	while (*p && nf < 64) {
		char *e;

		f[nf++] = strtoull(p, &e, 10);
		if (e == p)
			break;
		p = e;
	}
	if (nf < 40)
		return -1;
	*total_ms = (f[14 - 4] + f[15 - 4]) * 1000 / (unsigned long long)hz;
	*guest_ms = f[43 - 4] * 1000 / (unsigned long long)hz;
	return 0;
}

static void add_counter(json_t *obj, const char *key, uint64_t v)
{
	json_t *old = json_object_get(obj, key);

	if (old)
		v += (uint64_t)json_integer_value(old);
	json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static void bus_metrics(json_t *devs, const struct bus *bus)
{
	for (size_t i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];
		json_t *d = json_object_get(devs, r->name);

		if (!d) {
			d = json_object();
			json_object_set_new(devs, r->name, d);
		}
		add_counter(d, "reads", vcpu_counter(&r->count.reads));
		add_counter(d, "writes", vcpu_counter(&r->count.writes));
		add_counter(d, "read_bytes",
			    vcpu_counter(&r->count.read_bytes));
		add_counter(d, "write_bytes",
			    vcpu_counter(&r->count.write_bytes));
	}
}

/* How often each bound of docs/limits.md was hit: {name: count}. */
static json_t *bounds_json(void)
{
	json_t *b = json_object();

	for (int i = 0; i < BOUND_NR; i++)
		json_object_set_new(
			b, bound_name((enum bound)i),
			json_integer((json_int_t)bound_count((enum bound)i)));
	return b;
}

json_t *metrics_collect(struct vm *vm)
{
	struct timespec ts;
	json_t *m, *exits, *vcpus, *devs;

	clock_gettime(CLOCK_REALTIME, &ts);
	m = json_pack("{s:I}", "utc_timestamp_ms",
		      (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (m)
		json_object_set_new(m, "bounds", bounds_json());
	if (!m || !vm)
		return m;
	exits = json_object();
	vcpus = json_array();
	devs = json_object();
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		json_t *ve = json_object(), *j;
		uint64_t total = 0, guest = 0;
		int tid = atomic_load(&v->tid);

		for (unsigned int r = 0; r < VCPU_EXIT_REASONS; r++) {
			uint64_t n = vcpu_counter(&v->exits[r]);

			if (!n)
				continue;
			json_object_set_new(ve, vcpu_exit_name(r),
					    json_integer((json_int_t)n));
			add_counter(exits, vcpu_exit_name(r), n);
		}
		j = json_pack("{s:I, s:o, s:o}", "id", (json_int_t)i, "exits",
			      ve, "kvm", kvm_stats(v->stats_fd));
		if (j && tid > 0 && !thread_times(tid, &total, &guest)) {
			json_object_set_new(j, "cpu_ms",
					    json_integer((json_int_t)total));
			json_object_set_new(j, "guest_ms",
					    json_integer((json_int_t)guest));
			json_object_set_new(
				j, "vmm_ms",
				json_integer(
					(json_int_t)(total > guest ?
							     total - guest :
							     0)));
		}
		json_array_append_new(vcpus, j);
	}
	bus_metrics(devs, &vm->pio);
	bus_metrics(devs, &vm->mmio);
	json_object_set_new(m, "exits", exits);
	json_object_set_new(m, "vcpus", vcpus);
	json_object_set_new(m, "devices", devs);
	{
		/* A VM ioctl: never waits for a vCPU. */
		int sfd = ioctl(vm->fd, KVM_GET_STATS_FD, NULL);

		json_object_set_new(m, "kvm_vm", kvm_stats(sfd));
		if (sfd >= 0)
			close(sfd);
	}
	{
		/* /proc/self/smaps: on this (API or main) thread, on request. */
		struct mem_usage u;

		if (!memstat_read(vm->mem.base, vm->mem.ram_size, &u))
			json_object_set_new(m, "memory",
					    memstat_json(&u,
							 vm->cfg->mem_merge));
	}
	json_object_set_new(m, "guest_clock_ns",
			    json_integer((json_int_t)vm_guest_clock(vm)));
	json_object_set_new(m, "paused", json_boolean(vm_paused(vm)));
	return m;
}

int metrics_write_line(int fd, json_t *m)
{
	char *s = json_dumps(m, JSON_COMPACT);
	size_t len, off = 0;

	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL: written by length */
	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			free(s);
			return -1;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}
