#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpus of fuzz_virtq (tests/fuzz/corpus/virtq/).

Each seed is a small guest in the layout fuzz_virtq.c describes: valid
block requests (direct and indirect chains, every request type) and a few
broken rings, so the fuzzer starts from inputs that reach deep code.
Run it again after changing the input format; commit the output.
"""
import os
import struct
import sys

RAM = 0x10000
AVAIL, USED = 0x1000, 0x2000
HDR, STATUS, TABLE, DATA = 0x2900, 0x2a00, 0x2b00, 0x2c00


class Guest:
    def __init__(self, qlog=3, flags=3, capacity=2048):
        self.qlog, self.flags, self.capacity = qlog, flags, capacity
        self.ram = bytearray(RAM)
        self.heads = []

    def put(self, addr, data):
        self.ram[addr:addr + len(data)] = data

    def desc(self, i, addr, length, flags, nxt, table=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def req(self, typ, sector, at=HDR):
        self.put(at, struct.pack("<IIQ", typ, 0, sector))

    def avail(self, head):
        self.heads.append(head)

    def blob(self):
        size = 1 << self.qlog
        for n, h in enumerate(self.heads):
            self.put(AVAIL + 4 + 2 * (n % size), struct.pack("<H", h))
        self.put(AVAIL + 2, struct.pack("<H", len(self.heads)))
        hdr = bytes([self.qlog, self.flags]) + struct.pack("<Q", self.capacity << 16)
        used = max(AVAIL + 6 + 2 * size, HDR + 16, STATUS + 16, TABLE + 64, DATA + 4096)
        return hdr + bytes(self.ram[:used])


NEXT, WRITE, INDIRECT = 1, 2, 4


def seeds():
    g = Guest()
    g.req(0, 8)
    g.desc(0, HDR, 16, NEXT, 1)
    g.desc(1, DATA, 4096, NEXT | WRITE, 2)
    g.desc(2, STATUS, 1, WRITE, 0)
    g.avail(0)
    g.req(1, 16, HDR + 16)
    g.desc(3, HDR + 16, 16, NEXT, 4)
    g.desc(4, DATA, 1024, NEXT, 5)
    g.desc(5, STATUS + 1, 1, WRITE, 0)
    g.avail(3)
    yield "read-write", g.blob()

    g = Guest(flags=3 | 8)
    for n, typ in enumerate((4, 8, 11, 13)):
        g.req(typ, 0, HDR + 16 * n)
        g.put(DATA + 16 * n, struct.pack("<QII", 4, 8, 1 if typ == 13 else 0))
        g.desc(3 * n, HDR + 16 * n, 16, NEXT, 3 * n + 1)
        if typ == 8:
            g.desc(3 * n + 1, DATA + 64, 20, NEXT | WRITE, 3 * n + 2)
        elif typ in (11, 13):
            g.desc(3 * n + 1, DATA + 16 * n, 16, NEXT, 3 * n + 2)
        else:
            g.desc(3 * n + 1, DATA + 128, 0, NEXT, 3 * n + 2)
        g.desc(3 * n + 2, STATUS + n, 1, WRITE, 0)
        g.avail(3 * n)
    yield "flush-id-discard-zeroes", g.blob()

    g = Guest()
    g.req(0, 0)
    g.desc(0, HDR, 16, NEXT, 1, TABLE)
    g.desc(1, DATA, 512, NEXT | WRITE, 2, TABLE)
    g.desc(2, STATUS, 1, WRITE, 0, TABLE)
    g.desc(0, TABLE, 48, INDIRECT, 0)
    g.avail(0)
    yield "indirect-read", g.blob()

    g = Guest()
    g.desc(0, HDR, 16, NEXT, 1)
    g.desc(1, HDR, 16, NEXT, 0)
    g.avail(0)
    yield "loop", g.blob()

    g = Guest()
    g.req(0, 0)
    g.desc(0, HDR, 16, NEXT, 1)
    g.desc(1, RAM - 8, 4096, WRITE, 0)
    g.avail(0)
    yield "outside-ram", g.blob()

    g = Guest(qlog=8)
    g.req(0, 2047)
    g.desc(0, HDR, 16, NEXT, 1)
    g.desc(1, STATUS, 513, WRITE, 0)
    g.avail(0)
    yield "last-sector-shared-status", g.blob()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "virtq")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
