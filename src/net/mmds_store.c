// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmds_store.c - the metadata service's store: the JSON document (PUT,
 * RFC 7396 merge PATCH, GET, size limit), its configuration, the guest's
 * path lookups in JSON or IMDS form, and V2 session tokens. One store a
 * process, behind one lock (mmds_store.h).
 */
#include "mmds_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MMDS_MAX_TOKENS 64

struct mmds_token {
	char value[MMDS_TOKEN_LEN + 1];
	uint64_t expires_ns; /* 0: a free slot */
};

static struct {
	pthread_mutex_t lock;
	json_t *data; /* NULL until the first PUT */
	size_t limit;
	struct mmds_config cfg;
	struct mmds_token tokens[MMDS_MAX_TOKENS];
} store = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.limit = MMDS_DEFAULT_LIMIT,
	.cfg = { .version = MMDS_V1, .ipv4 = MMDS_DEFAULT_IPV4 },
};

void mmds_set_size_limit(size_t bytes)
{
	pthread_mutex_lock(&store.lock);
	store.limit = bytes ? bytes : MMDS_DEFAULT_LIMIT;
	pthread_mutex_unlock(&store.lock);
}

size_t mmds_size_limit(void)
{
	size_t l;

	pthread_mutex_lock(&store.lock);
	l = store.limit;
	pthread_mutex_unlock(&store.lock);
	return l;
}

int mmds_merge_patch(json_t **target, json_t *patch)
{
	const char *key;
	json_t *v;

	if (!json_is_object(patch)) {
		json_decref(*target);
		*target = json_deep_copy(patch);
		return *target ? 0 : -1;
	}
	if (!json_is_object(*target)) {
		json_decref(*target);
		*target = json_object();
		if (!*target)
			return -1;
	}
	json_object_foreach(patch, key, v)
	{
		json_t *cur;

		if (json_is_null(v)) {
			json_object_del(*target, key);
			continue;
		}
		cur = json_incref(json_object_get(*target, key));
		if (mmds_merge_patch(&cur, v) ||
		    json_object_set_new(*target, key, cur))
			return -1;
	}
	return 0;
}

/* Installs @next (a new reference) if it fits the limit. Lock held. */
static int install(json_t *next, char *err, size_t errlen)
{
	size_t size = json_dumpb(next, NULL, 0, JSON_COMPACT);

	if (size > store.limit) {
		snprintf(
			err, errlen,
			"The MMDS patch request doesn't fit: %zu bytes of data, the data store limit is %zu.",
			size, store.limit);
		json_decref(next);
		return -2;
	}
	json_decref(store.data);
	store.data = next;
	return 0;
}

int mmds_put(json_t *body, char *err, size_t errlen)
{
	json_t *next;
	int r;

	next = json_deep_copy(body);
	if (!next) {
		snprintf(err, errlen, "mmds: out of memory");
		return -1;
	}
	pthread_mutex_lock(&store.lock);
	r = install(next, err, errlen);
	pthread_mutex_unlock(&store.lock);
	return r;
}

int mmds_patch(json_t *body, char *err, size_t errlen)
{
	json_t *next;
	int r = -1;

	pthread_mutex_lock(&store.lock);
	if (!store.data) {
		pthread_mutex_unlock(&store.lock);
		snprintf(err, errlen,
			 "The MMDS data store is not initialized.");
		return -1;
	}
	next = json_deep_copy(store.data);
	if (next && !mmds_merge_patch(&next, body))
		r = install(next, err, errlen);
	else {
		json_decref(next);
		snprintf(err, errlen, "mmds: out of memory");
	}
	pthread_mutex_unlock(&store.lock);
	return r;
}

json_t *mmds_get(void)
{
	json_t *j;

	pthread_mutex_lock(&store.lock);
	j = store.data ? json_deep_copy(store.data) : json_object();
	pthread_mutex_unlock(&store.lock);
	return j;
}

void mmds_reset(void)
{
	pthread_mutex_lock(&store.lock);
	json_decref(store.data);
	store.data = NULL;
	store.limit = MMDS_DEFAULT_LIMIT;
	memset(&store.cfg, 0, sizeof(store.cfg));
	store.cfg.version = MMDS_V1;
	store.cfg.ipv4 = MMDS_DEFAULT_IPV4;
	memset(store.tokens, 0, sizeof(store.tokens));
	pthread_mutex_unlock(&store.lock);
}

void mmds_set_config(const struct mmds_config *c)
{
	pthread_mutex_lock(&store.lock);
	store.cfg = *c;
	store.cfg.set = true;
	pthread_mutex_unlock(&store.lock);
}

void mmds_get_config(struct mmds_config *c)
{
	pthread_mutex_lock(&store.lock);
	*c = store.cfg;
	pthread_mutex_unlock(&store.lock);
}

/* --- the guest's view ------------------------------------------------ */

/* The member of @j named by @seg (@len bytes, no NUL), or NULL. */
static json_t *member(json_t *j, const char *seg, size_t len)
{
	char key[256];

	if (!json_is_object(j) || len >= sizeof(key))
		return NULL;
	memcpy(key, seg, len);
	key[len] = 0;
	if (strlen(key) != len) /* a NUL inside the path */
		return NULL;
	return json_object_get(j, key);
}

/* Walks @path's '/'-separated segments; empty segments are skipped. */
static json_t *walk(json_t *root, const char *path, size_t len)
{
	json_t *j = root;
	size_t i = 0;

	while (j && i < len) {
		size_t s;

		while (i < len && path[i] == '/')
			i++;
		s = i;
		while (i < len && path[i] != '/')
			i++;
		if (i > s)
			j = member(j, path + s, i - s);
	}
	return j;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted, one a line; '/' after objects; NUL-ended. */
static char *imds_listing(json_t *obj, size_t *len)
{
	size_t n = json_object_size(obj), i = 0, total = 1;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char *key;
	char *out, *p;
	json_t *v;

	if (!keys)
		return NULL;
	json_object_foreach(obj, key, v)
	{
		keys[i++] = key;
		total += strlen(key) + 2;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	out = malloc(total);
	for (i = 0, p = out; out && i < n; i++) {
		size_t l = strlen(keys[i]);

		if (i)
			*p++ = '\n';
		memcpy(p, keys[i], l);
		p += l;
		if (json_is_object(json_object_get(obj, keys[i])))
			*p++ = '/';
	}
	if (out) {
		*len = (size_t)(p - out);
		*p = 0; /* as every rendering: a C string too */
	}
	free(keys);
	return out;
}

static enum mmds_lookup render(json_t *v, bool json, char **out, size_t *len)
{
	if (json) {
		*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
					     JSON_SORT_KEYS);
		*len = *out ? strlen(*out) : 0;
	} else if (json_is_string(v)) {
		*len = json_string_length(v);
		*out = malloc(*len + 1);
		if (*out)
			memcpy(*out, json_string_value(v), *len + 1);
	} else if (json_is_object(v)) {
		*out = imds_listing(v, len);
	} else {
		return MMDS_BAD_FORMAT;
	}
	return *out ? MMDS_FOUND : MMDS_NO_MEMORY;
}

enum mmds_lookup mmds_lookup(const char *path, size_t path_len, bool json,
			     char **out, size_t *len)
{
	enum mmds_lookup r = MMDS_NOT_FOUND;
	json_t *v;

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&store.lock);
	v = store.data ? walk(store.data, path, path_len) : NULL;
	if (v)
		r = render(v, json, out, len);
	pthread_mutex_unlock(&store.lock);
	return r;
}

/* --- V2 session tokens -------------------------------------------------- */

int mmds_token_new(unsigned int ttl, uint64_t now_ns,
		   char out[MMDS_TOKEN_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t rnd[MMDS_TOKEN_LEN];
	struct mmds_token *slot;

	if (ttl < 1 || ttl > MMDS_TTL_MAX ||
	    getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (int i = 0; i < MMDS_TOKEN_LEN; i++)
		out[i] = b64[rnd[i] & 63];
	out[MMDS_TOKEN_LEN] = 0;
	pthread_mutex_lock(&store.lock);
	slot = &store.tokens[0];
	for (int i = 0; i < MMDS_MAX_TOKENS; i++) {
		struct mmds_token *t = &store.tokens[i];

		if (t->expires_ns <= now_ns) {
			slot = t; /* free or expired */
			break;
		}
		if (t->expires_ns < slot->expires_ns)
			slot = t;
	}
	memcpy(slot->value, out, sizeof(slot->value));
	slot->expires_ns = now_ns + (uint64_t)ttl * 1000000000ULL;
	pthread_mutex_unlock(&store.lock);
	return 0;
}

bool mmds_token_valid(const char *tok, size_t len, uint64_t now_ns)
{
	bool ok = false;

	if (len != MMDS_TOKEN_LEN)
		return false;
	pthread_mutex_lock(&store.lock);
	for (int i = 0; i < MMDS_MAX_TOKENS; i++) {
		const struct mmds_token *t = &store.tokens[i];

		if (t->expires_ns > now_ns && !memcmp(t->value, tok, len))
			ok = true;
	}
	pthread_mutex_unlock(&store.lock);
	return ok;
}
