/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * registry.h - compile-time registration of descriptors in a linker
 * section: each device type, command-line option or API object describes
 * itself in its own file with REGISTER(), and the generic code walks the
 * section with REGISTRY_SORTED(). Like the kernel's initcalls: no central
 * list to edit. The section holds pointers; the order of the entries is
 * the link order, so a registry that needs an order sorts by a field of
 * its own (every registry here has an `order`).
 *
 * The objects of libvmon are linked whole (meson.build: link_whole), or
 * a file only reachable through its registration would be left out.
 */
#ifndef VMON_UTIL_REGISTRY_H
#define VMON_UTIL_REGISTRY_H

#include <stddef.h>

/*
 * Declares the section @name of pointers to @type: the bounds the linker
 * provides (__start_/__stop_ + a section name that is a C identifier).
 */
/* NOLINTBEGIN(bugprone-macro-parentheses): @type is a type name. */
#define REGISTRY_DECLARE(type, name)                               \
	extern type *const __start_##name[] __attribute__((weak)); \
	extern type *const __stop_##name[] __attribute__((weak))
/* NOLINTEND(bugprone-macro-parentheses) */

/* Adds &@obj (a static or global const object) to section @name. */
#define REGISTER(name, obj)                          \
	static __typeof__(&(obj)) const name##_##obj \
		__attribute__((used, section(#name))) = &(obj)

/*
 * The entries of section @name (pointers to @type, which has an unsigned
 * int member `order`) into @out, at most @max, sorted by ascending order
 * (equal orders: link order). Returns their number.
 */
#define REGISTRY_SORTED(name, type, out, max)                \
	registry_sorted((const void *const *)__start_##name, \
			(const void *const *)__stop_##name,  \
			(const void **)(out), (max), offsetof(type, order))
unsigned int registry_sorted(const void *const *start, const void *const *stop,
			     const void **out, unsigned int max,
			     size_t order_offset);

#endif
