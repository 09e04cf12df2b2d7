#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpus of fuzz_migrate (tests/fuzz/corpus/migrate/) in
the input layout tests/fuzz/fuzz_migrate.c describes: what a source sends
after the prelude. Page batches (data and zero pages, zstd-compressed
ones), block migration (the disk list, data and zero runs, the read-only
disk refused), SYNC, post-copy (the page list, the state, pages installed
afterwards, END), and a few broken streams (wrong magic, wrong CRC, an
unknown type, the source's ERROR, a prelude that disagrees), and the
token exchange of a destination given a token (a proof no input holds, a
source without a token, a record too big, a wrong size or version, the
source's ERROR). The state
file is a Full state from the snapshot corpus (2 vCPUs, 32 MiB), its
checksum made right by the harness. Needs the zstd command. Run it again
after changing the layout; commit the output.
"""
import hashlib
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STATE_SEED = os.path.join(HERE, "corpus", "snapshot",
                          "65be2a873d28dae3f35c8dc669c8f1b369efc4ae")
HELLO, PAGES, STATE, DONE, ERROR, REQ, DISCARD, END, DISKS, BLOCKS, AUTH = \
    range(1, 12)
SYNC = 16
ZSTD, BAD_CRC, BAD_MAGIC, FIX_STATE, BAD_FLAG = 1, 2, 4, 8, 16
RUN, POSTCOPY = 1, 2
PAGE = 4096
ZERO = 1 << 63
TOKEN = b"\x80"  # byte 0: the destination has a token (the exchange only)
V3 = struct.pack("<II", 3, 0)  # the stream version head


def rec(rtype, payload=b"", how=0):
    assert len(payload) < 65536
    return struct.pack("<BBH", rtype, how, len(payload)) + payload


def pages(entries):
    """entries: (index, byte or None for a zero page)."""
    head = struct.pack("<II", len(entries), 0)
    head += b"".join(struct.pack("<Q", i | (ZERO if b is None else 0))
                     for i, b in entries)
    return head + b"".join(bytes([b]) * PAGE for _, b in entries if b is not None)


def compressed(payload):
    z = subprocess.run(["zstd", "-q", "-c", "-3"], input=payload,
                       capture_output=True, check=True).stdout
    return struct.pack("<Q", len(payload)) + z


def state(flags=RUN):
    with open(STATE_SEED, "rb") as f:
        return rec(STATE, struct.pack("<I", flags) + f.read(), FIX_STATE)


def disks(*entries):
    return struct.pack("<II", len(entries), 0) + b"".join(
        struct.pack("<IIQ", idx, 0, size) for idx, size in entries)


def blocks(idx, off, data=None, zero_len=0):
    if data is None:
        return struct.pack("<IIQQ", idx, 1, off, zero_len)
    return struct.pack("<IIQQ", idx, 0, off, len(data)) + data


def bitmap(missing):
    w = 0
    for pg in missing:
        w |= 1 << pg
    return struct.pack("<Q", w)  # 64 pages: one word


SEEDS = {
    "pages": b"\0" + rec(PAGES, pages([(0, 0x11), (5, None), (63, 0x22)])) + state(),
    "pages-rezero": b"\0" + rec(PAGES, pages([(1, 0x33)])) +
    rec(PAGES, pages([(1, None), (2, None)])) + rec(SYNC) + state(),
    "pages-zstd": b"\0" + rec(PAGES, compressed(pages([(3, 0x44), (4, 0x44)])), ZSTD) +
    state(0),
    "disks": b"\0" + rec(DISKS, disks((0, 64 << 10))) +
    rec(BLOCKS, blocks(0, 4096, bytes(range(256)) * 2)) +
    rec(BLOCKS, blocks(0, 8192, zero_len=4096)) + rec(SYNC) + state(),
    "disks-readonly": b"\0" + rec(DISKS, disks((1, 64 << 10))) + state(),
    "disks-size": b"\0" + rec(DISKS, disks((0, 1 << 20))) + state(),
    "postcopy": b"\0" + rec(PAGES, pages([(0, 0x55)])) +
    rec(DISCARD, bitmap(range(10, 20))) + state(RUN | POSTCOPY) +
    rec(PAGES, pages([(10, 0x66), (11, None), (12, 0x77)])) +
    rec(PAGES, pages([(13, 0x88)])) + rec(END),
    "postcopy-no-list": b"\0" + state(RUN | POSTCOPY),
    # Pages between the list and the state: once hung the receiver in a
    # page fault no handler served (found by bench/fuzz).
    "postcopy-pages-early": b"\0" + rec(DISCARD, bitmap(range(10, 20))) +
    rec(PAGES, pages([(12, 0x12)])) + state(RUN | POSTCOPY),
    "postcopy-cut": b"\0" + rec(DISCARD, bitmap([7])) + state(RUN | POSTCOPY) +
    rec(PAGES, pages([(70, 0x99)])),
    "prelude-differs": b"\1" + rec(PAGES, pages([(0, 1)])) + state(),
    "bad-magic": b"\0" + rec(PAGES, pages([(0, 1)]), BAD_MAGIC),
    "bad-crc": b"\0" + rec(PAGES, pages([(0, 1)]), BAD_CRC),
    "bad-flag": b"\0" + rec(SYNC, b"", BAD_FLAG),
    "unknown": b"\0" + rec(12, b"what"),
    "error": b"\0" + rec(ERROR, b"the source gave up\0"),
    "page-beyond": b"\0" + rec(PAGES, pages([(64, 1)])),
    "state-unfixed": b"\0" + state()[:1] + b"\0" + state()[2:],
    "token-proof": TOKEN + rec(AUTH, V3 + b"n" * 32) + rec(AUTH, V3 + b"m" * 32),
    "token-none": TOKEN + rec(HELLO, V3 + b"a state file"),
    "token-big": TOKEN + rec(HELLO, V3 + b"x" * 200),
    "token-size": TOKEN + rec(AUTH, V3 + b"n" * 31),
    "token-version": TOKEN + rec(AUTH, struct.pack("<II", 4, 0) + b"n" * 32),
    "token-error": TOKEN + rec(AUTH, V3 + b"n" * 32) + rec(ERROR, b"no\0"),
}


def main():
    out = os.path.join(HERE, "corpus", "migrate")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        path = os.path.join(out, hashlib.sha1(data).hexdigest())
        with open(path, "wb") as f:
            f.write(data)
        print("%-18s %6d bytes %s" % (name, len(data), os.path.basename(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
