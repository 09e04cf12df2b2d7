// SPDX-License-Identifier: GPL-2.0-only
/*
 * snapshot.c - writing, opening and restoring snapshots (snapshot.h):
 * the payload's sections in order (header with the CPU model, the VM
 * configuration, each vCPU, the VM, the devices) on top of the state
 * serializer, the architecture's save/restore and the device registry.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../devices/devices.h"
#include "../util/log.h"
#include "../vmm/device.h"
#include "../vmm/dirty.h"
#include "../vmm/kvm.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"

#define HEAD_TAG 0x44414548 /* "HEAD" */
#define HEAD_VERSION 1
#define LINK_TAG 0x4b4e494c /* "LINK" */
#define LINK_VERSION 1
#define CONF_TAG 0x464e4f43 /* "CONF" */
#define CONF_VERSION 1
#define DEVS_TAG 0x53564544 /* "DEVS" */
#define DEVS_VERSION 1
#define CONFIG_MAX (1U << 20)
#define MAX_VCPUS 1024

static void put_header(struct vm *vm, uint32_t type, struct state_writer *w)
{
	size_t sec = state_begin(w, HEAD_TAG, HEAD_VERSION);
	const char *version = VMON_VERSION;

	state_put_u32(w, vm->nr_vcpus);
	state_put_u64(w, vm->mem.ram_size);
	state_put_u32(w, type);
	state_put_u64(w, (uint64_t)time(NULL));
	state_put_u32(w, (uint32_t)strlen(version));
	state_put_bytes(w, version, strlen(version));
	state_put_u32(w, vm->devices.nr);
	arch_cpu_model_save(vm->kvm, w);
	state_end(w, sec);
}

/* The snapshot's id, its parent's, and a Diff's page bitmap (@nwords). */
static void put_link(struct state_writer *w, uint64_t id, uint64_t parent,
		     const uint64_t *pages, uint64_t nwords)
{
	size_t sec = state_begin(w, LINK_TAG, LINK_VERSION);

	state_put_u64(w, id);
	state_put_u64(w, parent);
	state_put_u64(w, pages ? nwords : 0);
	for (uint64_t i = 0; pages && i < nwords; i++)
		state_put_u64(w, pages[i]);
	state_end(w, sec);
}

static int build_state(struct vm *vm, const struct snapshot_params *p,
		       const uint64_t *pages, struct state_writer *w)
{
	const char *config_json = p->config_json;
	size_t sec;

	put_header(vm, p->type, w);
	put_link(w, p->id, p->parent, p->type == SNAPSHOT_DIFF ? pages : NULL,
		 dirty_words(vm->mem.ram_size));
	sec = state_begin(w, CONF_TAG, CONF_VERSION);
	state_put_u32(w, (uint32_t)strlen(config_json));
	state_put_bytes(w, config_json, strlen(config_json));
	state_end(w, sec);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (arch_vcpu_save(&vm->vcpus[i], w))
			return -1;
	if (arch_vm_save(vm, w))
		return -1;
	sec = state_begin(w, DEVS_TAG, DEVS_VERSION);
	if (device_save_all(&vm->devices, w))
		return -1;
	state_end(w, sec);
	return w->failed ? -1 : 0;
}

/*
 * With tracking on, takes the pages written since the last round into
 * *@pages (a new round starts). A Diff needs tracking. 0, or -1 with @err.
 */
static atomic_bool pvm_warned; /* the warning below, once a process */

static int take_pages(struct vm *vm, enum snapshot_type type, uint64_t **pages,
		      char *err, size_t errlen)
{
	*pages = NULL;
	if (!dirty_log_enabled(vm)) {
		if (type != SNAPSHOT_DIFF)
			return 0;
		snprintf(
			err, errlen,
			"a Diff snapshot needs dirty page tracking (track_dirty_pages in the machine configuration or the snapshot load)");
		return -1;
	}
	if (type == SNAPSHOT_DIFF && vm->kvm && vm->kvm->pvm &&
	    vm->dirty_ring_entries && !atomic_exchange(&pvm_warned, true))
		pr_warn("snapshot: this host's KVM (PVM) does not report every page it writes for the guest with the dirty ring, so a Diff snapshot may miss some: take Full snapshots, or run with --dirty-log auto or bitmap (docs/snapshot.md)");
	*pages = calloc(dirty_words(vm->mem.ram_size), sizeof(**pages));
	log_clear_last_error();
	if (!*pages || dirty_log_collect(vm, *pages)) {
		snprintf(err, errlen, "dirty page tracking: %s",
			 *log_last_error() ? log_last_error() :
					     "out of memory");
		if (*pages)
			dirty_log_remark(vm, *pages);
		free(*pages);
		*pages = NULL;
		return -1;
	}
	return 0;
}

static int write_files(struct vm *vm, const struct snapshot_params *p,
		       const uint64_t *pages, const struct state_writer *file,
		       char *err, size_t errlen)
{
	/* Memory first: the state file is the commit point. */
	if (snapfile_write_memory(p->mem_path, vm->mem.base, vm->mem.ram_size,
				  p->type == SNAPSHOT_DIFF ? pages : NULL, err,
				  errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err),
			 " (memory file %.200s)", p->mem_path);
		return -1;
	}
	if (snapfile_write(p->state_path, file->data, file->len, err, errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err),
			 " (state file %.200s)", p->state_path);
		return -1;
	}
	return 0;
}

int snapshot_state(struct vm *vm, const char *config_json, bool prelude,
		   struct state_writer *file)
{
	struct snapshot_params p = { .type = SNAPSHOT_FULL,
				     .config_json = config_json };
	struct state_writer payload;
	int ret;

	state_writer_init(&payload);
	if (prelude) {
		size_t sec;

		put_header(vm, SNAPSHOT_FULL, &payload);
		put_link(&payload, 0, 0, NULL, 0);
		sec = state_begin(&payload, CONF_TAG, CONF_VERSION);
		state_put_u32(&payload, (uint32_t)strlen(config_json));
		state_put_bytes(&payload, config_json, strlen(config_json));
		state_end(&payload, sec);
		ret = payload.failed ? -1 : 0;
	} else {
		ret = build_state(vm, &p, NULL, &payload);
	}
	if (!ret)
		ret = snapfile_pack(&payload, file);
	state_writer_free(&payload);
	return ret;
}

int snapshot_create(struct vm *vm, struct snapshot_params *p, char *err,
		    size_t errlen)
{
	struct state_writer payload, file;
	uint64_t *pages = NULL;
	int ret = -1;

	state_writer_init(&payload);
	state_writer_init(&file);
	if (!vm_paused(vm)) {
		snprintf(err, errlen, "the VM is not paused");
		goto out;
	}
	if (take_pages(vm, p->type, &pages, err, errlen))
		goto out;
	do
		if (getrandom(&p->id, sizeof(p->id), 0) != sizeof(p->id))
			p->id = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	while (!p->id);
	log_clear_last_error();
	if (build_state(vm, p, pages, &payload) ||
	    snapfile_pack(&payload, &file)) {
		snprintf(err, errlen, "cannot take the VM state: %s",
			 *log_last_error() ? log_last_error() :
					     "out of memory");
		goto out;
	}
	ret = write_files(vm, p, pages, &file, err, errlen);
out:
	/* Not written: the pages count in the next snapshot. */
	if (ret && pages)
		dirty_log_remark(vm, pages);
	free(pages);
	state_writer_free(&payload);
	state_writer_free(&file);
	return ret;
}

static void read_header(struct state_reader *r, struct snapshot *s)
{
	struct snapshot_info *h = &s->info;
	struct state_reader sub;
	uint32_t n;

	if (state_enter(r, HEAD_TAG, HEAD_VERSION, &sub, "header"))
		return;
	h->nr_vcpus = state_get_u32(&sub, "header: vcpu count");
	state_check(&sub, h->nr_vcpus >= 1 && h->nr_vcpus <= MAX_VCPUS,
		    "header: vcpu count");
	h->mem_size = state_get_u64(&sub, "header: memory size");
	state_check(&sub, h->mem_size && !(h->mem_size & 4095),
		    "header: memory size");
	h->type = state_get_u32(&sub, "header: snapshot type");
	state_check(&sub, h->type == SNAPSHOT_FULL || h->type == SNAPSHOT_DIFF,
		    "header: snapshot type");
	h->created = state_get_u64(&sub, "header: creation time");
	n = state_get_u32(&sub, "header: vmon version");
	if (state_check(&sub, n < sizeof(h->vmon_version),
			"header: vmon version"))
		state_get_bytes(&sub, h->vmon_version, n,
				"header: vmon version");
	for (uint32_t i = 0; i < n && i < sizeof(h->vmon_version); i++)
		if (h->vmon_version[i] < 0x20 || h->vmon_version[i] > 0x7e)
			h->vmon_version[i] = '?';
	h->nr_devices = state_get_u32(&sub, "header: device count");
	/* The CPU model is the rest of the header: checked later. */
	if (state_ok(&sub))
		state_reader_init(&s->cpu_model, sub.data + sub.pos,
				  sub.len - sub.pos);
	if (!state_ok(&sub))
		state_fail(r, "%s", sub.err);
}

static void read_link(struct state_reader *r, struct snapshot *s)
{
	uint64_t want = s->info.type == SNAPSHOT_DIFF ?
				dirty_words(s->info.mem_size) :
				0;
	struct state_reader sub;
	uint64_t n;

	s->link_off = r->pos;
	if (state_enter(r, LINK_TAG, LINK_VERSION, &sub, "snapshot link"))
		return;
	s->link_end = r->pos;
	s->info.id = state_get_u64(&sub, "snapshot id");
	s->info.parent = state_get_u64(&sub, "parent snapshot id");
	n = state_get_u64(&sub, "page map size");
	if (!state_check(&sub, n == want,
			 "page map size (for the header's snapshot type)"))
		goto out;
	if (n) {
		s->pages = calloc(n, sizeof(*s->pages));
		if (!s->pages) {
			state_fail(&sub, "page map: out of memory");
			goto out;
		}
	}
	for (uint64_t i = 0; i < n && state_ok(&sub); i++)
		s->pages[i] = state_get_u64(&sub, "page map");
	state_expect_end(&sub, "snapshot link");
out:
	if (!state_ok(&sub))
		state_fail(r, "%s", sub.err);
}

static void read_config(struct state_reader *r, struct snapshot *s)
{
	struct state_reader sub;
	uint32_t n;

	if (state_enter(r, CONF_TAG, CONF_VERSION, &sub, "configuration"))
		return;
	n = state_get_u32(&sub, "configuration length");
	if (!state_check(&sub, n <= CONFIG_MAX, "configuration length"))
		goto out;
	s->config = calloc(1, (size_t)n + 1);
	if (!s->config) {
		state_fail(&sub, "configuration: out of memory");
		goto out;
	}
	state_get_bytes(&sub, s->config, n, "configuration");
	state_check(&sub, strlen(s->config) == n, "configuration text");
	state_expect_end(&sub, "configuration");
out:
	if (!state_ok(&sub))
		state_fail(r, "%s", sub.err);
}

int snapshot_parse(struct snapshot *s, const uint8_t *data, size_t len,
		   char *err, size_t errlen)
{
	const uint8_t *payload;
	struct state_reader r;
	size_t plen;

	memset(s, 0, sizeof(*s));
	s->mem_fd = -1;
	if (snapfile_unpack(data, len, &payload, &plen, err, errlen))
		return -1;
	state_reader_init(&r, payload, plen);
	read_header(&r, s);
	read_link(&r, s);
	read_config(&r, s);
	if (!state_ok(&r)) {
		snprintf(err, errlen, "%s", r.err);
		free(s->config);
		free(s->pages);
		s->config = NULL;
		s->pages = NULL;
		return -1;
	}
	state_reader_init(&s->rest, r.data + r.pos, r.len - r.pos);
	return 0;
}

static int open_memory(struct snapshot *s, const char *path, char *err,
		       size_t errlen)
{
	struct stat st;

	s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->mem_fd < 0 || fstat(s->mem_fd, &st)) {
		snprintf(err, errlen, "memory file %.300s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != s->info.mem_size) {
		snprintf(
			err, errlen,
			"memory file %.300s: %llu bytes, the snapshot's memory is %llu bytes",
			path, (unsigned long long)st.st_size,
			(unsigned long long)s->info.mem_size);
		return -1;
	}
	return 0;
}

int snapshot_open(struct snapshot *s, const char *state_path,
		  const char *mem_path, const struct kvm *kvm, char *err,
		  size_t errlen)
{
	size_t len = 0;
	uint8_t *data = snapfile_read(state_path, &len, err, errlen);

	if (!data || snapshot_parse(s, data, len, err, errlen)) {
		free(data);
		memset(s, 0, sizeof(*s));
		s->mem_fd = -1;
		return -1;
	}
	s->data = data;
	if (kvm && snapshot_check_host(s, kvm, err, errlen)) {
		snapshot_close(s);
		return -1;
	}
	if (mem_path && open_memory(s, mem_path, err, errlen)) {
		snapshot_close(s);
		return -1;
	}
	return 0;
}

int snapshot_check_host(struct snapshot *s, const struct kvm *kvm, char *err,
			size_t errlen)
{
	struct state_reader model = s->cpu_model;

	arch_cpu_model_check(kvm, &model);
	if (!state_ok(&model)) {
		snprintf(err, errlen, "%s", model.err);
		return -1;
	}
	return 0;
}

void snapshot_close(struct snapshot *s)
{
	free(s->data);
	free(s->config);
	free(s->pages);
	if (s->mem_fd >= 0)
		close(s->mem_fd);
	memset(s, 0, sizeof(*s));
	s->mem_fd = -1;
}

static void restore_all(struct snapshot *s, struct vm *vm,
			struct state_reader *r)
{
	struct state_reader sub;

	for (unsigned int i = 0; i < vm->nr_vcpus && state_ok(r); i++)
		arch_vcpu_restore(&vm->vcpus[i], r);
	if (state_ok(r))
		arch_vm_restore(vm, r);
	if (state_ok(r) &&
	    !state_enter(r, DEVS_TAG, DEVS_VERSION, &sub, "devices")) {
		device_restore_all(&vm->devices, &sub);
		state_expect_end(&sub, "devices");
		if (!state_ok(&sub))
			state_fail(r, "%s", sub.err);
	}
	state_expect_end(r, "snapshot");
	(void)s;
}

int snapshot_restore(struct snapshot *s, struct vm *vm, char *err,
		     size_t errlen)
{
	struct state_reader r = s->rest;

	if (s->info.type != SNAPSHOT_FULL) {
		snprintf(
			err, errlen,
			"snapshot type Diff: it holds only the pages written since its parent; merge it onto that first (vmon snapshot-merge)");
		return -1;
	}
	if (vm->nr_vcpus != s->info.nr_vcpus ||
	    vm->mem.ram_size != s->info.mem_size) {
		snprintf(
			err, errlen,
			"the configuration has %u vCPUs and %llu bytes of memory, the header %u and %llu",
			vm->nr_vcpus, (unsigned long long)vm->mem.ram_size,
			s->info.nr_vcpus, (unsigned long long)s->info.mem_size);
		return -1;
	}
	if (vm->devices.nr != s->info.nr_devices) {
		snprintf(
			err, errlen,
			"the snapshot has %u devices, this VM %u: another configuration",
			s->info.nr_devices, vm->devices.nr);
		return -1;
	}
	restore_all(s, vm, &r);
	if (!state_ok(&r)) {
		snprintf(err, errlen, "%s", r.err);
		return -1;
	}
	/* The guest can tell it was restored, and clones apart. */
	if (fw_cfg_next_generation(vm)) {
		snprintf(err, errlen, "the VM has no fw_cfg device");
		return -1;
	}
	return 0;
}

int snapshot_state_as_full(const struct snapshot *s, struct state_writer *file)
{
	const uint8_t *payload = s->data + SNAPSHOT_HEAD_SIZE;
	size_t plen = s->rest.len + (size_t)(s->rest.data - payload);
	/* HEAD: section head (12 bytes), vCPU count, memory size, type. */
	const size_t type_off = 12 + 4 + 8;
	uint8_t full[4] = { SNAPSHOT_FULL };
	struct state_writer w;
	int ret;

	state_writer_init(&w);
	state_put_bytes(&w, payload, type_off);
	state_put_bytes(&w, full, sizeof(full));
	state_put_bytes(&w, payload + type_off + 4, s->link_off - type_off - 4);
	put_link(&w, s->info.id, s->info.parent, NULL, 0);
	state_put_bytes(&w, payload + s->link_end, plen - s->link_end);
	ret = w.failed ? -1 : snapfile_pack(&w, file);
	state_writer_free(&w);
	return ret;
}

void snapshot_print(struct snapshot *s, FILE *f)
{
	struct state_reader model = s->cpu_model;
	time_t t = (time_t)s->info.created;
	char when[64] = "?";
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "format version: %u\n", SNAPSHOT_FORMAT_VERSION);
	fprintf(f, "type: %s\n",
		s->info.type == SNAPSHOT_DIFF ? "Diff" : "Full");
	fprintf(f, "id: %016llx\n", (unsigned long long)s->info.id);
	if (s->info.parent)
		fprintf(f, "parent: %016llx\n",
			(unsigned long long)s->info.parent);
	if (s->pages) {
		uint64_t n = 0;

		for (uint64_t i = 0; i < dirty_words(s->info.mem_size); i++)
			n += (uint64_t)__builtin_popcountll(s->pages[i]);
		fprintf(f, "pages: %llu\n", (unsigned long long)n);
	}
	fprintf(f, "written by: vmon %s at %s\n", s->info.vmon_version, when);
	fprintf(f, "vcpus: %u\n", s->info.nr_vcpus);
	fprintf(f, "memory: %llu MiB (%llu bytes)\n",
		(unsigned long long)(s->info.mem_size >> 20),
		(unsigned long long)s->info.mem_size);
	fprintf(f, "devices: %u\n", s->info.nr_devices);
	arch_cpu_model_print(&model, f);
	fprintf(f, "configuration: %s\n", s->config);
}
