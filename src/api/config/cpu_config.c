// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu_config.c - PUT /cpu-config: Firecracker's custom CPU template
 * (kvm_capabilities, cpuid_modifiers, msr_modifiers; the aarch64-only
 * reg_modifiers and vcpu_features refused) parsed into a struct
 * cpu_custom kept in api_config; its --config-file section and its part
 * of GET /vm/config. Whether the host can honour it is checked when the
 * VM is built (src/arch/x86/cpu_custom.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "object.h"

#define WHAT "cpu-config"

static const char *const cpu_fields[] = { "kvm_capabilities", "cpuid_modifiers",
					  "msr_modifiers",    "reg_modifiers",
					  "vcpu_features",    NULL };
static const char *const leaf_fields[] = { "leaf", "subleaf", "flags",
					   "modifiers", NULL };
static const char *const reg_fields[] = { "register", "bitmap", NULL };
static const char *const msr_fields[] = { "addr", "bitmap", NULL };
static const char reg_names[][4] = { "eax", "ebx", "ecx", "edx" };

/* "0x1f", "0b101" or "31" (or a JSON number), at most @max. */
static int get_num(json_t *o, const char *ctx, const char *key, uint64_t max,
		   uint64_t *out, char *err)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	char *end = NULL;
	int base = 10;

	*out = 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
	} else if (s && *s) {
		if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
			base = 16, s += 2;
		else if (!strncmp(s, "0b", 2) || !strncmp(s, "0B", 2))
			base = 2, s += 2;
		if (*s != '-' && *s != '+' && *s)
			*out = strtoull(s, &end, base);
	} else {
		return api_fail(err, WHAT ": %s: missing or invalid field `%s`",
				ctx, key);
	}
	if ((s && (!end || *end)) || *out > max)
		return api_fail(
			err,
			WHAT ": %s: field `%s`: not a number of at most 0x%llx",
			ctx, key, (unsigned long long)max);
	return 0;
}

/*
 * "0b" then up to @bits characters, the first the highest bit: 0 or 1 set
 * the bit, x leaves it; '_' separates. Missing high bits are left.
 */
static int get_bitmap(json_t *o, const char *ctx, unsigned int bits,
		      uint64_t *mask, uint64_t *value, char *err)
{
	const char *s = json_string_value(json_object_get(o, "bitmap"));
	unsigned int n = 0;

	*mask = *value = 0;
	if (!s || strncmp(s, "0b", 2) != 0)
		return api_fail(
			err,
			WHAT
			": %s: field `bitmap` must be a string \"0b\" followed by 0, 1 and x",
			ctx);
	for (s += 2; *s; s++) {
		if (*s == '_')
			continue;
		if ((*s != '0' && *s != '1' && *s != 'x' && *s != 'X') ||
		    ++n > bits)
			return api_fail(
				err,
				WHAT
				": %s: field `bitmap`: at most %u characters 0, 1 or x after 0b",
				ctx, bits);
		*mask <<= 1;
		*value <<= 1;
		if (*s != 'x' && *s != 'X') {
			*mask |= 1;
			*value |= *s == '1';
		}
	}
	if (!n)
		return api_fail(err, WHAT ": %s: field `bitmap` is empty", ctx);
	return 0;
}

static int parse_register(struct cpu_custom *cc, json_t *r, const char *ctx,
			  const struct cpuid_modifier *leaf, char *err)
{
	const char *name = json_string_value(json_object_get(r, "register"));
	struct cpuid_modifier *m;
	uint64_t mask, value;
	unsigned int reg;

	if (api_check_fields(r, ctx, reg_fields, err))
		return -1;
	for (reg = 0; reg < 4; reg++)
		if (name && !strcmp(name, reg_names[reg]))
			break;
	if (reg == 4)
		return api_fail(
			err,
			WHAT
			": %s: field `register` must be eax, ebx, ecx or edx",
			ctx);
	if (get_bitmap(r, ctx, 32, &mask, &value, err))
		return -1;
	if (cc->nr_cpuid == CPU_CUSTOM_MAX_CPUID)
		return api_fail(err,
				WHAT ": more than %u CPUID register modifiers",
				CPU_CUSTOM_MAX_CPUID);
	m = &cc->cpuid[cc->nr_cpuid++];
	*m = *leaf;
	m->reg = (uint8_t)reg;
	m->mask = (uint32_t)mask;
	m->value = (uint32_t)value;
	return 0;
}

static int parse_leaf(struct cpu_custom *cc, json_t *l, size_t i, char *err)
{
	struct cpuid_modifier leaf = { 0 };
	uint64_t v[3] = { 0 };
	char ctx[64];
	json_t *regs, *r;
	size_t k;

	snprintf(ctx, sizeof(ctx), "cpuid_modifiers[%zu]", i);
	if (!json_is_object(l) || api_check_fields(l, ctx, leaf_fields, err) ||
	    get_num(l, ctx, "leaf", UINT32_MAX, &v[0], err) ||
	    get_num(l, ctx, "subleaf", UINT32_MAX, &v[1], err) ||
	    (json_object_get(l, "flags") &&
	     get_num(l, ctx, "flags", UINT32_MAX, &v[2], err)))
		return json_is_object(l) ?
			       -1 :
			       api_fail(err, WHAT ": %s must be an object",
					ctx);
	leaf.leaf = (uint32_t)v[0];
	leaf.subleaf = (uint32_t)v[1];
	leaf.flags = (uint32_t)v[2];
	regs = json_object_get(l, "modifiers");
	if (!json_is_array(regs))
		return api_fail(err,
				WHAT ": %s: field `modifiers` must be a list",
				ctx);
	json_array_foreach(regs, k, r)
	{
		char rctx[96];

		snprintf(rctx, sizeof(rctx), "%s.modifiers[%zu]", ctx, k);
		if (!json_is_object(r))
			return api_fail(err, WHAT ": %s must be an object",
					rctx);
		if (parse_register(cc, r, rctx, &leaf, err))
			return -1;
	}
	return 0;
}

static int parse_msr(struct cpu_custom *cc, json_t *o, size_t i, char *err)
{
	struct msr_modifier *m;
	uint64_t addr;
	char ctx[64];

	snprintf(ctx, sizeof(ctx), "msr_modifiers[%zu]", i);
	if (!json_is_object(o))
		return api_fail(err, WHAT ": %s must be an object", ctx);
	if (cc->nr_msr == CPU_CUSTOM_MAX_MSR)
		return api_fail(err, WHAT ": more than %u MSR modifiers",
				CPU_CUSTOM_MAX_MSR);
	m = &cc->msr[cc->nr_msr];
	if (api_check_fields(o, ctx, msr_fields, err) ||
	    get_num(o, ctx, "addr", UINT32_MAX, &addr, err) ||
	    get_bitmap(o, ctx, 64, &m->mask, &m->value, err))
		return -1;
	m->addr = (uint32_t)addr;
	cc->nr_msr++;
	return 0;
}

/* "121" requires capability 121, "!121" does not. */
static int parse_cap(struct cpu_custom *cc, json_t *v, size_t i, char *err)
{
	const char *s = json_string_value(v);
	struct kvm_cap_modifier *k;
	char *end = NULL;
	unsigned long n = 0;
	bool remove;

	if (!s)
		return api_fail(err,
				WHAT ": kvm_capabilities[%zu] must be a string",
				i);
	remove = *s == '!';
	s += remove;
	if (*s >= '0' && *s <= '9')
		n = strtoul(s, &end, 10);
	if (!end || *end || n > UINT32_MAX)
		return api_fail(
			err,
			WHAT
			": kvm_capabilities[%zu]: `%.32s` is not a capability number (\"N\" or \"!N\")",
			i, json_string_value(v));
	if (cc->nr_caps == CPU_CUSTOM_MAX_CAPS)
		return api_fail(err, WHAT ": more than %u KVM capabilities",
				CPU_CUSTOM_MAX_CAPS);
	k = &cc->caps[cc->nr_caps++];
	k->cap = (uint32_t)n;
	k->remove = remove;
	return 0;
}

typedef int (*item_fn)(struct cpu_custom *cc, json_t *v, size_t i, char *err);

static int parse_list(struct cpu_custom *cc, json_t *body, const char *key,
		      item_fn fn, char *err)
{
	json_t *l = json_object_get(body, key), *v;
	size_t i;

	if (!l)
		return 0;
	if (!json_is_array(l))
		return api_fail(err, WHAT ": field `%s` must be a list", key);
	json_array_foreach(l, i, v)
	{
		if (fn(cc, v, i, err))
			return -1;
	}
	return 0;
}

static int cfg_parse_cpu_config(struct api_config *n, json_t *body, char *err)
{
	static const char *const arm[] = { "reg_modifiers", "vcpu_features" };
	struct cpu_custom *cc = calloc(1, sizeof(*cc));
	int r = -1;

	if (!cc)
		return api_fail(err, "out of memory");
	if (api_check_fields(body, WHAT, cpu_fields, err))
		goto out;
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(body, arm[i]);

		if (v && !(json_is_array(v) && !json_array_size(v))) {
			api_fail(
				err,
				WHAT
				": field `%s`: aarch64 only (this is an x86-64 host)",
				arm[i]);
			goto out;
		}
	}
	if (parse_list(cc, body, "kvm_capabilities", parse_cap, err) ||
	    parse_list(cc, body, "cpuid_modifiers", parse_leaf, err) ||
	    parse_list(cc, body, "msr_modifiers", parse_msr, err))
		goto out;
	n->cpu_custom = *cc;
	n->cpu_custom_set = true;
	r = 0;
out:
	free(cc);
	return r;
}

static json_t *bitmap_json(uint64_t mask, uint64_t value, unsigned int bits)
{
	char s[2 + 64 + 1] = "0b";

	for (unsigned int i = 0; i < bits; i++) {
		unsigned int b = bits - 1 - i;

		s[2 + i] = !(mask >> b & 1) ? 'x' :
			   (value >> b & 1) ? '1' :
					      '0';
	}
	s[2 + bits] = 0;
	return json_string(s);
}

static json_t *hex_json(uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "0x%x", v);
	return json_string(s);
}

/* One cpuid_modifiers item per run of registers of the same leaf. */
static json_t *cpuid_json(const struct cpu_custom *cc)
{
	json_t *a = json_array(), *regs = NULL;

	for (unsigned int i = 0; i < cc->nr_cpuid; i++) {
		const struct cpuid_modifier *m = &cc->cpuid[i], *p = m - 1;

		if (!i || p->leaf != m->leaf || p->subleaf != m->subleaf ||
		    p->flags != m->flags) {
			regs = json_array();
			json_array_append_new(
				a, json_pack("{s:o, s:o, s:I, s:o}", "leaf",
					     hex_json(m->leaf), "subleaf",
					     hex_json(m->subleaf), "flags",
					     (json_int_t)m->flags, "modifiers",
					     regs));
		}
		json_array_append_new(
			regs, json_pack("{s:s, s:o}", "register",
					reg_names[m->reg], "bitmap",
					bitmap_json(m->mask, m->value, 32)));
	}
	return a;
}

static void cpu_config_json(const struct api_config *c, json_t *j)
{
	const struct cpu_custom *cc = &c->cpu_custom;
	json_t *caps, *msrs;
	char s[16];

	if (!c->cpu_custom_set)
		return;
	caps = json_array();
	msrs = json_array();
	for (unsigned int i = 0; i < cc->nr_caps; i++) {
		snprintf(s, sizeof(s), "%s%u", cc->caps[i].remove ? "!" : "",
			 cc->caps[i].cap);
		json_array_append_new(caps, json_string(s));
	}
	for (unsigned int i = 0; i < cc->nr_msr; i++)
		json_array_append_new(
			msrs, json_pack("{s:o, s:o}", "addr",
					hex_json(cc->msr[i].addr), "bitmap",
					bitmap_json(cc->msr[i].mask,
						    cc->msr[i].value, 64)));
	json_object_set_new(j, "cpu-config",
			    json_pack("{s:o, s:o, s:o}", "kvm_capabilities",
				      caps, "cpuid_modifiers", cpuid_json(cc),
				      "msr_modifiers", msrs));
}

static const struct api_object cpu_config_object = {
	.key = "cpu-config",
	.order = 5,
	.parse = cfg_parse_cpu_config,
	.json = cpu_config_json,
};
API_OBJECT(cpu_config_object);
