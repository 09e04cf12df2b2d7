// SPDX-License-Identifier: GPL-2.0-only
/*
 * common.c - the JSON layer's shared helpers: strict getters (types,
 * ranges, unknown fields), rate limiter bodies, ids, the copy-and-swap
 * of all-or-nothing updates, and validator errors in the API's words.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, API_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

int api_config_err(char *err, const char *what, const struct config_err *e,
		   const struct api_field *map)
{
	for (const struct api_field *m = map; e->field && m && m->field; m++)
		if (!strcmp(m->field, e->field))
			return api_fail(err, "%s: field `%s`: %s", what, m->key,
					e->cause);
	return api_fail(err, "%s: %s", what, e->cause);
}

/*
 * `null` means "not set" (Firecracker's optional fields): a key whose
 * value is null is removed, so every getter sees it absent.
 */
void api_drop_nulls(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		if (json_is_null(v))
			json_object_del(obj, key);
	}
}

int api_check_fields(json_t *obj, const char *what, const char *const *known,
		     char *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return api_fail(err, "%s: expected a JSON object", what);
	api_drop_nulls(obj);
	json_object_foreach(obj, key, v)
	{
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			if (!strcmp(key, *k))
				ok = true;
		if (!ok)
			return api_fail(err, "%s: unknown field `%.64s`", what,
					key);
	}
	return 0;
}

int api_get_str(json_t *obj, const char *what, const char *key, bool required,
		char **out, char *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		if (required)
			return api_fail(err, "%s: missing field `%s`", what,
					key);
		return 0;
	}
	if (!json_is_string(v))
		return api_fail(err, "%s: field `%s` must be a string", what,
				key);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return api_fail(err, "%s: field `%s` contains a NUL character",
				what, key);
	if (json_string_length(v) > API_STR_MAX)
		return api_fail(err, "%s: field `%s` is longer than %d bytes",
				what, key, API_STR_MAX);
	free(*out);
	*out = strdup(s);
	if (!*out)
		return api_fail(err, "%s: out of memory", what);
	return 0;
}

int api_get_strbuf(json_t *obj, const char *what, const char *key,
		   bool required, char *buf, size_t size, bool *given,
		   char *err)
{
	char *s = NULL;
	size_t n;

	if (given)
		*given = false;
	if (api_get_str(obj, what, key, required, &s, err))
		return -1;
	if (!s)
		return 0;
	n = strlen(s);
	if (n == 0 || n >= size) {
		free(s);
		return api_fail(err,
				"%s: field `%s` must be 1 to %zu bytes long",
				what, key, size - 1);
	}
	memcpy(buf, s, n + 1);
	free(s);
	if (given)
		*given = true;
	return 0;
}

int api_get_bool(json_t *obj, const char *what, const char *key, bool *out,
		 char *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return api_fail(err, "%s: field `%s` must be true or false",
				what, key);
	*out = json_is_true(v);
	return 0;
}

int api_get_uint(json_t *obj, const char *what, const char *key, bool required,
		 uint64_t min, uint64_t max, uint64_t *out, bool *given,
		 char *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (given)
		*given = v != NULL;
	if (!v) {
		if (required)
			return api_fail(err, "%s: missing field `%s`", what,
					key);
		return 0;
	}
	if (!json_is_integer(v))
		return api_fail(err, "%s: field `%s` must be an integer", what,
				key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return api_fail(
			err,
			"%s: field `%s` is %lld, must be between %llu and %llu",
			what, key, (long long)n, (unsigned long long)min,
			(unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static const char *const bucket_fields[] = { "size", "refill_time",
					     "one_time_burst", NULL };

static int parse_bucket(json_t *rl, const char *what, const char *key,
			struct tb_config *out, char *err)
{
	json_t *b = json_object_get(rl, key);
	char w[160];
	uint64_t size = 0, refill = 0, burst = 0;

	if (!b)
		return 0; /* absent or null: unchanged */
	snprintf(w, sizeof(w), "%s.%s", what, key);
	if (api_check_fields(b, w, bucket_fields, err) ||
	    api_get_uint(b, w, "size", true, 0, RL_MAX_SIZE, &size, NULL,
			 err) ||
	    api_get_uint(b, w, "refill_time", true, 0, RL_MAX_REFILL_MS,
			 &refill, NULL, err) ||
	    api_get_uint(b, w, "one_time_burst", false, 0, RL_MAX_SIZE, &burst,
			 NULL, err))
		return -1;
	out->size = size;
	out->refill_time_ms = refill;
	out->one_time_burst = burst;
	return 0;
}

static const char *const rl_fields[] = { "bandwidth", "ops", NULL };

int api_parse_rl(json_t *obj, const char *what, const char *key,
		 struct rl_config *rl, bool *given, char *err)
{
	json_t *v = json_object_get(obj, key);
	struct rl_config n = *rl;
	char w[128];

	if (given)
		*given = v != NULL;
	if (!v)
		return 0;
	snprintf(w, sizeof(w), "%s: %s", what, key);
	if (api_check_fields(v, w, rl_fields, err) ||
	    parse_bucket(v, w, "bandwidth", &n.bandwidth, err) ||
	    parse_bucket(v, w, "ops", &n.ops, err))
		return -1;
	*rl = n;
	return 0;
}

static json_t *bucket_json(const struct tb_config *b)
{
	json_t *j = json_pack("{s:I, s:I}", "size", (json_int_t)b->size,
			      "refill_time", (json_int_t)b->refill_time_ms);

	if (j && b->one_time_burst)
		json_object_set_new(
			j, "one_time_burst",
			json_integer((json_int_t)b->one_time_burst));
	return j;
}

void api_rl_json(json_t *obj, const char *key, const struct rl_config *rl)
{
	json_t *j;

	if (!rl_config_enabled(rl))
		return;
	j = json_object();
	if (!j)
		return;
	if (rl->bandwidth.size || rl->bandwidth.refill_time_ms)
		json_object_set_new(j, "bandwidth",
				    bucket_json(&rl->bandwidth));
	if (rl->ops.size || rl->ops.refill_time_ms)
		json_object_set_new(j, "ops", bucket_json(&rl->ops));
	json_object_set_new(obj, key, j);
}

/* Device ids in paths and bodies: 1..64 of [A-Za-z0-9_] (Firecracker's). */
static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > API_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

int api_check_body_id(json_t *body, const char *what, const char *key,
		      const char *id, char *err)
{
	char bid[API_ID_MAX + 1];

	if (!valid_id(id))
		return api_fail(
			err,
			"%s: the id in the path must be 1 to %d of A-Z a-z 0-9 _",
			what, API_ID_MAX);
	if (api_get_strbuf(body, what, key, true, bid, sizeof(bid), NULL, err))
		return -1;
	if (strcmp(bid, id) != 0)
		return api_fail(
			err,
			"%s: field `%s` (%.64s) does not match the id in the path",
			what, key, bid);
	return 0;
}
