// SPDX-License-Identifier: GPL-2.0-only
/*
 * logger.c - PUT /logger and PUT /metrics: Firecracker's log and metrics
 * outputs (opened by the instance, src/app/api_main.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

static const char *const logger_fields[] = { "log_path",   "level",
					     "show_level", "show_log_origin",
					     "module",	   NULL };
static const char *const log_levels[] = { "Error", "Warning", "Info", "Debug",
					  "Trace", "Off",     NULL };

int cfg_parse_logger(struct api_config *n, json_t *body, char *err)
{
	const char *what = "logger";
	char *level = NULL, *module = NULL;
	const char *canon = NULL;

	if (api_check_fields(body, what, logger_fields, err) ||
	    api_get_str(body, what, "log_path", false, &n->log_path, err) ||
	    api_get_str(body, what, "level", false, &level, err) ||
	    api_get_str(body, what, "module", false, &module, err) ||
	    api_get_bool(body, what, "show_level", &n->show_level, err) ||
	    api_get_bool(body, what, "show_log_origin", &n->show_log_origin,
			 err))
		goto bad;
	if (module) {
		free(n->log_module);
		n->log_module = module;
		module = NULL;
	}
	if (level) {
		/* Any case, and `warn` for Warning, as Firecracker. */
		for (const char *const *l = log_levels; *l; l++)
			if (!strcasecmp(level, *l))
				canon = *l;
		if (!strcasecmp(level, "warn"))
			canon = "Warning";
		if (!canon) {
			api_fail(
				err,
				"logger: field `level`: `%.32s` is not one of Error, Warning, Info, Debug, Trace, Off",
				level);
			goto bad;
		}
		free(level);
		level = strdup(canon);
		if (!level) {
			api_fail(err, "logger: out of memory");
			goto bad;
		}
		free(n->log_level);
		n->log_level = level;
	}
	n->logger_set = true;
	return 0;
bad:
	free(level);
	free(module);
	return -1;
}

static const char *const metrics_fields[] = { "metrics_path", NULL };

int cfg_parse_metrics(struct api_config *n, json_t *body, char *err)
{
	if (n->metrics_set)
		return api_fail(
			err,
			"metrics: the metrics system is already initialized");
	if (api_check_fields(body, "metrics", metrics_fields, err) ||
	    api_get_str(body, "metrics", "metrics_path", true, &n->metrics_path,
			err))
		return -1;
	if (!*n->metrics_path)
		return api_fail(err, "metrics: field `metrics_path` is empty");
	n->metrics_set = true;
	return 0;
}

int api_config_logger(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_logger(n_, body, err));
}

int api_config_metrics(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_metrics(n_, body, err));
}

/* The logger and metrics parts of GET /vm/config. */
void cfg_logger_json(const struct api_config *c, json_t *j)
{
	if (c->logger_set) {
		json_t *l = json_pack("{s:b, s:b, s:s}", "show_level",
				      c->show_level, "show_log_origin",
				      c->show_log_origin, "level",
				      c->log_level ? c->log_level : "Info");

		if (l && c->log_path)
			json_object_set_new(l, "log_path",
					    json_string(c->log_path));
		if (l && c->log_module)
			json_object_set_new(l, "module",
					    json_string(c->log_module));
		json_object_set_new(j, "logger", l);
	}
	if (c->metrics_set)
		json_object_set_new(j, "metrics",
				    json_pack("{s:s}", "metrics_path",
					      c->metrics_path));
}
