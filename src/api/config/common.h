/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * common.h - what the JSON layer's object files (src/api/config/)
 * share: error text, strict field getters, rate limiter bodies, ids,
 * all-or-nothing updates, the validators' errors in the API's words, and
 * each object's parser and GET view (for --config-file and GET /vm/config).
 */
#ifndef VMON_API_CONFIG_COMMON_H
#define VMON_API_CONFIG_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../config/config.h"
#include "../vmconfig.h"

/* A path, id or argument string: bounded, no NUL (jansson allows it). */
#define API_STR_MAX 4096

/* Formats @fmt into @err (API_ERR_MAX bytes); returns -1. */
__attribute__((format(printf, 2, 3))) int api_fail(char *err, const char *fmt,
						   ...);

/* A validator's field and the JSON key that holds it. */
struct api_field {
	const char *field;
	const char *key;
};

/*
 * A validator's error as the API says it: "@what: field `KEY`: cause"
 * (KEY from @map; the object alone when the field has no key). -1.
 */
int api_config_err(char *err, const char *what, const struct config_err *e,
		   const struct api_field *map);

/* GET /vm/config in Firecracker's shape: every key, null where unset. */
void api_fc_shape(json_t *full);

/* Removes the keys of @obj whose value is null ("not set"). */
void api_drop_nulls(json_t *obj);
/* Drops the null fields, then refuses any key not in the NULL-terminated
 * @known. */
int api_check_fields(json_t *obj, const char *what, const char *const *known,
		     char *err);
/* Optional string field: 0 (absent: *out untouched), or -1. */
int api_get_str(json_t *obj, const char *what, const char *key, bool required,
		char **out, char *err);
/* A string field into @buf of @size bytes (its NUL included). */
int api_get_strbuf(json_t *obj, const char *what, const char *key,
		   bool required, char *buf, size_t size, bool *given,
		   char *err);
int api_get_bool(json_t *obj, const char *what, const char *key, bool *out,
		 char *err);
int api_get_uint(json_t *obj, const char *what, const char *key, bool required,
		 uint64_t min, uint64_t max, uint64_t *out, bool *given,
		 char *err);
/*
 * Rate limiter field @key of @obj onto @rl: a bucket not given stays as
 * it is (PATCH semantics; a PUT starts from zero), null disables.
 */
int api_parse_rl(json_t *obj, const char *what, const char *key,
		 struct rl_config *rl, bool *given, char *err);
void api_rl_json(json_t *obj, const char *key, const struct rl_config *rl);
/* The id of the body (field @key) must be the one of the path. */
int api_check_body_id(json_t *body, const char *what, const char *key,
		      const char *id, char *err);

/*
 * Runs @call on a copy n_ (a pointer, on the heap) of @c and commits it
 * only on success.
 */
#define TRANSACT(c, err, call)                                   \
	do {                                                     \
		struct api_config *n_ = api_config_dup(c);       \
		int r_;                                          \
		if (!n_)                                         \
			return api_fail((err), "out of memory"); \
		r_ = call;                                       \
		if (!r_)                                         \
			api_config_move((c), n_);                \
		else                                             \
			api_config_drop(n_);                     \
		return r_;                                       \
	} while (0)

/* Each object's parser, onto the copy @n (see TRANSACT). */
int cfg_parse_boot_source(struct api_config *n, json_t *body, char *err);
/* Whether @t is one of Firecracker's named CPU templates (C3, T2...). */
bool api_fc_cpu_template(const char *t);
int cfg_parse_machine(struct api_config *n, json_t *body, bool partial,
		      char *err);
int cfg_parse_logger(struct api_config *n, json_t *body, char *err);
int cfg_parse_metrics(struct api_config *n, json_t *body, char *err);
int cfg_parse_drive(struct api_config *n, const char *id, json_t *body,
		    char *err);
int cfg_parse_net(struct api_config *n, const char *id, json_t *body,
		  char *err);
int cfg_parse_vsock(struct api_config *n, json_t *body, char *err);
int cfg_parse_balloon(struct api_config *n, json_t *body, char *err);
int cfg_parse_mmds_config(struct api_config *n, json_t *body, char *err);
int cfg_find_drive(const struct api_config *c, const char *id);
int cfg_find_net(const struct api_config *c, const char *id);

/* Each object's part of GET /vm/config, added to @j when configured. */
void cfg_boot_source_json(const struct api_config *c, json_t *j);
void cfg_logger_json(const struct api_config *c, json_t *j);
void cfg_drives_json(const struct api_config *c, json_t *j);
void cfg_nets_json(const struct api_config *c, json_t *j);
void cfg_vsock_json(const struct api_config *c, json_t *j);
void cfg_mmds_config_json(const struct api_config *c, json_t *j);

#endif
