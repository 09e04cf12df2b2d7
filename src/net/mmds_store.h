/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmds_store.h - the microVM metadata service's store (one per process,
 * as there is one VM): the JSON document the API puts and patches, the
 * configuration (version, address, interfaces), the guest's view of the
 * document (a path lookup in JSON or IMDS form) and V2 session tokens.
 * Every function takes the store's own lock: the API thread writes while
 * the I/O thread answers the guest.
 */
#ifndef VMON_NET_MMDS_STORE_H
#define VMON_NET_MMDS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_DEFAULT_IPV4 0xa9fea9feu /* 169.254.169.254 */
#define MMDS_DEFAULT_LIMIT 51200 /* bytes of compact JSON */
#define MMDS_MAX_IFACES 16
#define MMDS_IFACE_MAX 64
#define MMDS_TOKEN_LEN 44 /* characters of a session token */
#define MMDS_TTL_MAX 21600 /* seconds */

enum mmds_version { MMDS_V1 = 1, MMDS_V2 = 2 };

struct mmds_config {
	bool set; /* PUT /mmds/config was accepted */
	enum mmds_version version;
	uint32_t ipv4; /* host byte order */
	bool imds_compat; /* IMDS (text) output whatever the Accept header */
	unsigned int nr_ifaces;
	char ifaces[MMDS_MAX_IFACES][MMDS_IFACE_MAX + 1];
};

/* The store's size limit (compact JSON bytes); 0 keeps the default. */
void mmds_set_size_limit(size_t bytes);
size_t mmds_size_limit(void);

/*
 * PUT /mmds (replace with any JSON value) and PATCH /mmds (RFC 7396 merge
 * patch; only after a PUT). Return 0, -1 (@err: not initialized, out of
 * memory) or -2 (the result would exceed the size limit; nothing changes).
 */
int mmds_put(json_t *body, char *err, size_t errlen);
int mmds_patch(json_t *body, char *err, size_t errlen);
/* GET /mmds: a deep copy of the store ({} before the first PUT). */
json_t *mmds_get(void);
/* Empties the store and the configuration (tests). */
void mmds_reset(void);

/*
 * RFC 7396 merge patch: applies @patch to *@target (which may be
 * replaced). Returns 0 or -1 (out of memory).
 */
int mmds_merge_patch(json_t **target, json_t *patch);

void mmds_set_config(const struct mmds_config *c);
void mmds_get_config(struct mmds_config *c);

/* What the guest asked for, in which form. */
enum mmds_lookup {
	MMDS_FOUND,
	MMDS_NOT_FOUND,
	MMDS_BAD_FORMAT, /* a value IMDS form cannot show (501) */
	MMDS_NO_MEMORY,
};

/*
 * The value at @path ("/latest/meta-data", a trailing '/' allowed) as
 * JSON (@json) or IMDS text: a string value as is, an object's keys one
 * a line, sorted, with '/' after those holding objects. *@out is
 * malloc'ed, *@len its length.
 */
enum mmds_lookup mmds_lookup(const char *path, size_t path_len, bool json,
			     char **out, size_t *len);

/*
 * V2 session tokens. mmds_token_new() fills @out (MMDS_TOKEN_LEN
 * characters and a NUL) for @ttl seconds from @now_ns (CLOCK_MONOTONIC);
 * the oldest token makes room when the table is full. 0 or -1.
 */
int mmds_token_new(unsigned int ttl, uint64_t now_ns,
		   char out[MMDS_TOKEN_LEN + 1]);
bool mmds_token_valid(const char *tok, size_t len, uint64_t now_ns);

#endif
