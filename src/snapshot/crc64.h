/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crc64.h - CRC-64/XZ: the ECMA-182 polynomial 0x42F0E1EBA9EA3693,
 * reflected (0xC96C5795D7870F42), initial value and final XOR all ones,
 * as in the xz file format. crc64("123456789") = 0x995DC9BBDF1939FA.
 * The checksum of a snapshot's state file (docs/snapshot.md).
 */
#ifndef VMON_SNAPSHOT_CRC64_H
#define VMON_SNAPSHOT_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Continues @crc (0 to start) over @len bytes at @p. */
uint64_t crc64(uint64_t crc, const void *p, size_t len);

#endif
