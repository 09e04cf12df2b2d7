// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_snapshot.c - fuzz target of the snapshot state file parser
 * (src/snapshot): the input as a whole state file (head, checksum,
 * header, CPU model, configuration), then once more with its checksum
 * made right so that mutations reach the parsers behind it. Nothing may
 * crash, leak or read out of bounds; an accepted file is printed as
 * `vmon snapshot-info` does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/crc64.h"
#include "snapshot/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void parse(const uint8_t *data, size_t size)
{
	char err[SNAPSHOT_ERR_MAX];
	struct snapshot s;

	if (snapshot_parse(&s, data, size, err, sizeof(err))) {
		if (!*err)
			abort(); /* a refusal always says why */
		return;
	}
	snapshot_print(&s, devnull);
	s.data = NULL; /* the caller's */
	snapshot_close(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	uint64_t crc;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	parse(data, size);
	if (size < SNAPSHOT_HEAD_SIZE + SNAPSHOT_CRC_SIZE)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	crc = crc64(0, fixed, size - SNAPSHOT_CRC_SIZE);
	for (int i = 0; i < 8; i++)
		fixed[size - SNAPSHOT_CRC_SIZE + i] = (uint8_t)(crc >> (8 * i));
	parse(fixed, size);
	free(fixed);
	return 0;
}
