// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot.c - the boot source object: kernel, initrd and command line. The
 * files are read when the VM is built (the loaders know their formats,
 * and an initrd may be a multiboot module list); here, their names.
 */
#include "check.h"

int config_check_boot(const char *kernel, const char *initrd,
		      const char *cmdline, struct config_err *e)
{
	(void)cmdline; /* any text; its length depends on the kernel */
	if (kernel && !*kernel)
		return config_fail(e, "boot source", "kernel", "an empty path");
	if (initrd && !*initrd)
		return config_fail(e, "boot source", "initrd", "an empty path");
	return 0;
}
