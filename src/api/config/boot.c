// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot.c - PUT /boot-source: kernel, initrd and boot arguments, checked
 * by the boot source validator (the files are read at InstanceStart).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char *const boot_source_fields[] = { "kernel_image_path",
						  "initrd_path", "boot_args",
						  NULL };

static const struct api_field boot_keys[] = {
	{ "kernel", "kernel_image_path" },
	{ "initrd", "initrd_path" },
	{ "cmdline", "boot_args" },
	{ NULL, NULL },
};

int cfg_parse_boot_source(struct api_config *n, json_t *body, char *err)
{
	const char *what = "boot-source";
	struct config_err e;

	free(n->kernel);
	free(n->initrd);
	free(n->boot_args);
	n->kernel = n->initrd = n->boot_args = NULL;
	if (api_check_fields(body, what, boot_source_fields, err) ||
	    api_get_str(body, what, "kernel_image_path", true, &n->kernel,
			err) ||
	    api_get_str(body, what, "initrd_path", false, &n->initrd, err) ||
	    api_get_str(body, what, "boot_args", false, &n->boot_args, err))
		return -1;
	if (config_check_boot(n->kernel, n->initrd, n->boot_args, &e))
		return api_config_err(err, what, &e, boot_keys);
	/* As Firecracker: the files must be there to read at PUT time. */
	if (access(n->kernel, R_OK))
		return api_fail(err,
				"%s: field `kernel_image_path`: %.400s: %s",
				what, n->kernel, strerror(errno));
	if (n->initrd && access(n->initrd, R_OK))
		return api_fail(err, "%s: field `initrd_path`: %.400s: %s",
				what, n->initrd, strerror(errno));
	n->boot_source_set = true;
	return 0;
}

int api_config_boot_source(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_boot_source(n_, body, err));
}

void cfg_boot_source_json(const struct api_config *c, json_t *j)
{
	json_t *b;

	if (!c->boot_source_set)
		return;
	b = json_pack("{s:s}", "kernel_image_path", c->kernel);
	if (b && c->initrd)
		json_object_set_new(b, "initrd_path", json_string(c->initrd));
	if (b && c->boot_args)
		json_object_set_new(b, "boot_args", json_string(c->boot_args));
	json_object_set_new(j, "boot-source", b);
}
