/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check.h - what the validators of src/config share (not for the front
 * ends): filling a config_err.
 */
#ifndef VMON_CONFIG_CHECK_H
#define VMON_CONFIG_CHECK_H

#include "config.h"

/* Fills @e with @object, @field and the formatted cause; returns -1. */
__attribute__((format(printf, 4, 5))) int config_fail(struct config_err *e,
						      const char *object,
						      const char *field,
						      const char *fmt, ...);

#endif
