/* SPDX-License-Identifier: GPL-2.0-only */
/* pvh-note.h - the Xen PHYS32_ENTRY ELF note that makes a fixture bootable
 * through vmon's PVH path (32-bit protected mode, EBX = hvm_start_info). */
	.section .note.Xen, "a"
	.align 4
	.long 4, 4, 18
	.asciz "Xen"
	.long start
