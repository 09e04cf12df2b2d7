// SPDX-License-Identifier: GPL-2.0-only
/*
 * machine.c - PUT/PATCH/GET /machine-config: vCPUs, memory, SMT, the CPU
 * template (Firecracker's names, or vmon's checked by the machine
 * validator), dirty page tracking, huge pages, and vmon's extension
 * mem_merge (KSM, docs/density.md).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *const machine_fields[] = {
	"vcpu_count",	     "mem_size_mib", "smt",	  "cpu_template",
	"track_dirty_pages", "huge_pages",   "mem_merge", NULL
};

static const struct api_field machine_keys[] = {
	{ "cpus", "vcpu_count" },
	{ "mem_size", "mem_size_mib" },
	{ "cpu_template", "cpu_template" },
	{ NULL, NULL },
};

/* Firecracker's instance-type templates (src/arch/x86/cpu_named.c). */
static const char *const fc_templates[] = { "C3",  "T2",   "T2S", "T2CL",
					    "T2A", "V1N1", NULL };

bool api_fc_cpu_template(const char *t)
{
	for (const char *const *f = fc_templates; t && *f; f++)
		if (!strcmp(t, *f))
			return true;
	return false;
}

/* The machine validator on the new values; "None" is no template. */
static int check_machine(const struct api_config *n, uint64_t vcpus,
			 uint64_t mib, const char *tmpl, char *err)
{
	const char *t = tmpl ? tmpl : n->cpu_template;
	struct config_err e;

	if (t && (!strcmp(t, "None") || api_fc_cpu_template(t)))
		t = NULL; /* whether the host fits: when the VM is built */
	if (config_check_machine((unsigned int)vcpus, mib << 20, t, &e))
		return api_config_err(err, "machine-config", &e, machine_keys);
	/* As Firecracker: the balloon's target stays within the memory. */
	if (n->balloon_set && n->balloon_mib > mib)
		return api_fail(
			err,
			"machine-config: field `mem_size_mib`: %llu MiB is less than the balloon's target of %llu MiB",
			(unsigned long long)mib,
			(unsigned long long)n->balloon_mib);
	return 0;
}

/*
 * huge_pages: None, Transparent or 2M (hugetlbfs; the memory a multiple of
 * 2 MiB and, as in Firecracker, no balloon: it gives back 4 KiB pages,
 * which cannot free a 2 MiB one).
 */
static int check_huge_pages(const struct api_config *n, const char *huge,
			    uint64_t mib, char *err)
{
	if (!huge || !strcmp(huge, "None") || !strcmp(huge, "Transparent"))
		return 0;
	if (strcmp(huge, "2M") != 0)
		return api_fail(
			err,
			"machine-config: field `huge_pages`: `%.32s` is not one of None, Transparent, 2M",
			huge);
	if (mib % 2)
		return api_fail(
			err,
			"machine-config: field `mem_size_mib`: %llu MiB is not a multiple of the 2 MiB huge page size",
			(unsigned long long)mib);
	if (n->balloon_set)
		return api_fail(
			err,
			"machine-config: field `huge_pages`: huge pages 2M are incompatible with the balloon device (as in Firecracker)");
	if (n->mem_merge)
		return api_fail(
			err,
			"machine-config: field `huge_pages`: huge pages 2M are incompatible with mem_merge (KSM merges 4 KiB pages)");
	return 0;
}

/* What is not given returns to its default (PUT). */
static void machine_defaults(struct api_config *n)
{
	n->smt = false;
	n->track_dirty_pages = false;
	n->mem_merge = false;
	free(n->cpu_template);
	free(n->huge_pages);
	n->cpu_template = n->huge_pages = NULL;
}

int cfg_parse_machine(struct api_config *n, json_t *body, bool partial,
		      char *err)
{
	const char *what = "machine-config";
	uint64_t vcpus = n->vcpu_count, mem = n->mem_size_mib;
	char *tmpl = NULL, *huge = NULL;

	if (api_check_fields(body, what, machine_fields, err) ||
	    api_get_uint(body, what, "vcpu_count", !partial, 0, API_MAX_VCPUS,
			 &vcpus, NULL, err) ||
	    api_get_uint(body, what, "mem_size_mib", !partial, 0,
			 API_MAX_MEM_MIB, &mem, NULL, err))
		return -1;
	if (!partial)
		machine_defaults(n);
	if (api_get_bool(body, what, "smt", &n->smt, err) ||
	    api_get_bool(body, what, "track_dirty_pages", &n->track_dirty_pages,
			 err) ||
	    api_get_bool(body, what, "mem_merge", &n->mem_merge, err) ||
	    api_get_str(body, what, "cpu_template", false, &tmpl, err) ||
	    api_get_str(body, what, "huge_pages", false, &huge, err) ||
	    check_machine(n, vcpus, mem, tmpl, err))
		goto bad;
	if (check_huge_pages(n, huge ? huge : n->huge_pages, mem, err))
		goto bad;
	if (n->smt && vcpus > 1 && vcpus % 2) {
		api_fail(
			err,
			"machine-config: with smt, `vcpu_count` must be 1 or even, not %llu",
			(unsigned long long)vcpus);
		goto bad;
	}
	if (tmpl) {
		free(n->cpu_template);
		n->cpu_template = tmpl;
	}
	if (huge) {
		free(n->huge_pages);
		n->huge_pages = huge;
	}
	n->vcpu_count = (unsigned int)vcpus;
	n->mem_size_mib = mem;
	return 0;
bad:
	free(tmpl);
	free(huge);
	return -1;
}

int api_config_machine(struct api_config *c, json_t *body, bool partial,
		       char *err)
{
	TRANSACT(c, err, cfg_parse_machine(n_, body, partial, err));
}

json_t *api_config_machine_json(const struct api_config *c)
{
	json_t *j = json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count",
			      (json_int_t)c->vcpu_count, "mem_size_mib",
			      (json_int_t)c->mem_size_mib, "smt", c->smt,
			      "track_dirty_pages", c->track_dirty_pages,
			      "huge_pages",
			      c->huge_pages ? c->huge_pages : "None");

	if (j && c->cpu_template)
		json_object_set_new(j, "cpu_template",
				    json_string(c->cpu_template));
	if (j && c->mem_merge) /* vmon's extension: only when set */
		json_object_set_new(j, "mem_merge", json_true());
	return j;
}
