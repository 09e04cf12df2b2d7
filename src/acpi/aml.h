/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * aml.h - a small emitter of ACPI Machine Language byte code (ACPI 6.5,
 * chapter 20): just what vmon's DSDT needs. Objects that contain others
 * (Scope, Device, Method, Package, Buffer) are opened with *_begin(),
 * which returns a mark, filled, and closed with aml_end(mark), which puts
 * the PkgLength in front of their contents. Errors (out of memory, a bad
 * name) stick in aml.err and every later call does nothing.
 */
#ifndef VMON_ACPI_AML_H
#define VMON_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool err;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/*
 * A NameString: "\_SB_.COM1", "_HID", "^FOO"... segments of up to four
 * characters ('_'-padded) separated by '.'.
 */
void aml_name_string(struct aml *a, const char *path);
/* The shortest integer encoding (Zero, One, Byte/Word/DWord/QWord). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA id ("PNP0501") as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(NAME, <object that follows>) */
void aml_name(struct aml *a, const char *name);
/* Scope(NAME) { ... } and Device(NAME) { ... } */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
/* Method(NAME, nargs, NotSerialized) { ... } */
size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs);
/* Package(n) { ... }: @n elements must follow. */
size_t aml_package_begin(struct aml *a, unsigned int n);
/* Buffer() { bytes }: the size is what is emitted before aml_end(). */
size_t aml_buffer_begin(struct aml *a);
void aml_end(struct aml *a, size_t mark);
/* Return(<object that follows>) */
void aml_return(struct aml *a);

/* If(<predicate that follows>) { ... } */
size_t aml_if_begin(struct aml *a);
/* Store(<source>, <target>), And(<a>, <b>, <target>), Notify(<obj>, <v>):
 * the operands follow; a Target may be aml_byte(0) (none). */
void aml_store(struct aml *a);
void aml_and(struct aml *a);
void aml_notify(struct aml *a);
/* Local0..Local7 and Arg0..Arg6. */
void aml_local(struct aml *a, unsigned int n);
void aml_arg(struct aml *a, unsigned int n);
/* OperationRegion(NAME, SystemIO, base, len) */
void aml_opregion_io(struct aml *a, const char *name, uint16_t base,
		     uint16_t len);
/* Field(REGION, flags) { units }: AccessType | UpdateRule << 5 (ACPI
 * 19.6.48); each unit a 4-character name and its width in bits (< 64). */
#define AML_FIELD_DWORD_ACC 0x03
#define AML_FIELD_WRITE_ZEROS 0x40
size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, unsigned int bits);

/* Resource descriptors, inside a Buffer (a ResourceTemplate). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned int irq);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
/* Interrupt(ResourceConsumer, edge/level, ActiveHigh, Exclusive) {gsi} */
void aml_res_interrupt(struct aml *a, uint32_t gsi, bool edge);
void aml_res_end(struct aml *a);

#endif
