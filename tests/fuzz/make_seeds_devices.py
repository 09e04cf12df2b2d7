#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpora of fuzz_vdev, fuzz_pio and fuzz_loader
(tests/fuzz/corpus/{vdev,pio,loader}/) in the input layouts their files
describe: for each virtio device a guest whose rings hold valid requests
(random bytes asked for, console output, vsock requests and data, balloon
page lists, free page reports and statistics, a network frame), register
sequences a driver of each legacy device issues, and minimal kernels of
each format vmon loads. Run it again after changing a layout; commit the
output.
"""
import os
import struct
import sys

RNG, CONSOLE, VSOCK, BALLOON, NET = range(5)
F_WRITE, F_NEXT = 2, 1
VERSION_1 = 1 << 32


class Guest:
    """One fuzz_vdev input: header, register writes, then RAM."""

    def __init__(self, dev, features=VERSION_1, qlog=3, kicks=0xff):
        self.dev, self.features, self.qlog, self.kicks = dev, features, qlog, kicks
        self.ram = bytearray(0x12000)
        self.writes = []
        self.avail_idx = {}

    def put(self, addr, data):
        if addr + len(data) > len(self.ram):
            self.ram.extend(bytes(addr + len(data) - len(self.ram)))
        self.ram[addr:addr + len(data)] = data

    def chain(self, q, bufs):
        """Queues one chain of (addr, len, writable) on queue q."""
        size = 1 << self.qlog
        base = 0x2000 * q
        n = self.avail_idx.get(q, 0)
        head = (n * 2) % size
        for i, (addr, length, wr) in enumerate(bufs):
            d = (head + i) % size
            last = i == len(bufs) - 1
            flags = (F_WRITE if wr else 0) | (0 if last else F_NEXT)
            self.put(base + 16 * d, struct.pack("<QIHH", addr, length, flags,
                                                (d + 1) % size))
        self.put(base + 0x1000 + 4 + 2 * (n % size), struct.pack("<H", head))
        self.avail_idx[q] = n + 1
        self.put(base + 0x1000 + 2, struct.pack("<H", n + 1))

    def blob(self):
        hdr = bytes([self.dev]) + struct.pack("<Q", self.features)
        hdr += bytes([self.qlog, self.kicks, 1, len(self.writes)])
        w = b"".join(struct.pack("<HI", o, v) for o, v in self.writes)
        # The harness zeroes RAM: trailing zeros need not be stored.
        return hdr + w + bytes(self.ram).rstrip(b"\0")


def vsock_hdr(op, src_port=1000, dst_port=80, length=0, typ=1):
    return struct.pack("<QQIIIHHIII", 3, 2, src_port, dst_port, length, typ,
                       op, 0, 65536, 0)


def vdev_seeds():
    g = Guest(RNG)
    g.chain(0, [(0x400, 64, True)])
    yield "rng", g
    g = Guest(CONSOLE)
    g.put(0x400, b"hello from the guest\n")
    g.chain(0, [(0x500, 128, True)])
    g.chain(1, [(0x400, 21, False)])
    yield "console", g
    g = Guest(CONSOLE, features=VERSION_1 | 3)  # size and multiport
    g.put(0x400, struct.pack("<IHH", 0, 0, 1))  # DEVICE_READY
    g.chain(3, [(0x400, 8, False)])
    g.chain(2, [(0x500, 64, True)])
    yield "console-multiport", g
    for name, op, ln in (("request", 1, 0), ("rw", 5, 16), ("shutdown", 4, 0),
                         ("credit", 7, 0), ("rst", 3, 0)):
        g = Guest(VSOCK)
        g.put(0x400, vsock_hdr(op, length=ln) + b"x" * ln)
        g.chain(0, [(0x600, 0x800, True)])
        g.chain(1, [(0x400, 44 + ln, False)])
        yield "vsock-" + name, g
    g = Guest(VSOCK)
    g.put(0x400, vsock_hdr(5, length=32))
    g.put(0x500, b"y" * 32)
    g.chain(1, [(0x400, 44, False), (0x500, 32, False)])
    yield "vsock-split", g
    g = Guest(BALLOON, features=VERSION_1 | 0x3e)
    g.put(0x400, struct.pack("<8I", *range(0x30, 0x38)))
    g.chain(0, [(0x400, 32, False)])  # inflate
    g.chain(1, [(0x400, 16, False)])  # deflate
    yield "balloon-lists", g
    g = Guest(BALLOON, features=VERSION_1 | 0x3e)
    g.put(0x400, struct.pack("<HQHQ", 4, 1 << 20, 5, 1 << 19))
    g.chain(2, [(0x400, 20, False)])  # statistics
    g.chain(3, [(0x20000, 0x4000, False)])  # free page report
    g.writes = [(0x104, 64), (0x108, 16)]  # config: actual
    yield "balloon-stats", g
    g = Guest(NET)
    frame = bytes(12) + b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x06"
    frame += bytes(28)
    g.put(0x400, frame)
    g.chain(0, [(0x600, 0x800, True)])
    g.chain(1, [(0x400, len(frame), False)])
    yield "net-arp", g
    g = Guest(RNG, qlog=0, kicks=1)
    g.writes = [(0x70, 0), (0x30, 7), (0x38, 4096), (0x44, 1)]
    yield "transport-bad", g


def pio_seeds():
    def acc(write, width, dev, off, val, mmio=False, hc=False):
        flags = int(write) | {1: 0, 2: 2, 4: 4, 8: 6}[width]
        flags |= 8 if mmio else 0
        flags |= 16 if hc else 0
        return struct.pack("<BBBBI", flags, dev, off, 0, val)

    uart = [acc(1, 1, 0, 3, 0x80), acc(1, 1, 0, 0, 1), acc(1, 1, 0, 3, 3),
            acc(1, 1, 0, 1, 0x0f), acc(1, 1, 0, 4, 0x0b)]
    uart += [acc(1, 1, 0, 0, c) for c in b"hi\n"]
    uart += [acc(0, 1, 0, o, 0) for o in range(8)]
    yield "uart", b"".join(uart)
    kbd = [acc(1, 1, 2, 0, 0x20), acc(0, 1, 1, 0, 0), acc(1, 1, 2, 0, 0x60),
           acc(1, 1, 1, 0, 0x47), acc(1, 1, 2, 0, 0xd1), acc(1, 1, 1, 0, 0xdf),
           acc(1, 1, 2, 0, 0xfe)]
    yield "i8042", b"".join(kbd)
    rtc = []
    for reg in (0, 2, 4, 7, 8, 9, 0x0a, 0x0b, 0x0c, 0x0d, 0x32):
        rtc += [acc(1, 1, 3, 0, reg), acc(0, 1, 3, 1, 0)]
    rtc += [acc(1, 1, 3, 0, 0x0b), acc(1, 1, 3, 1, 0x26),
            acc(1, 1, 3, 0, 0x01), acc(1, 1, 3, 1, 0x30)]
    yield "rtc", b"".join(rtc)
    fw = [acc(1, 2, 4, 0, 0)] + [acc(0, 1, 4, 1, 0) for _ in range(4)]
    fw += [acc(1, 2, 4, 0, 0x19)] + [acc(0, 1, 4, 1, 0) for _ in range(8)]
    fw += [acc(1, 2, 4, 0, 0x21)] + [acc(0, 1, 4, 1, 0) for _ in range(24)]
    yield "fw_cfg", b"".join(fw)
    td = [acc(1, 4, 5, 0, 0xdeadbeef), acc(0, 4, 5, 0, 0), acc(1, 1, 5, 4, 0),
          acc(1, 4, 6, 11, 1), acc(1, 1, 6, 3, 0),
          acc(1, 4, 0, 0, 0x12345678, mmio=True),
          acc(0, 8, 0, 4, 0, mmio=True)]
    yield "testdev", b"".join(td)
    pm = [acc(1, 2, 7, 2, 0x100), acc(0, 2, 7, 0, 0), acc(1, 2, 7, 0, 0x100),
          acc(0, 4, 7, 8, 0), acc(1, 1, 7, 12, 0xf1), acc(1, 2, 7, 4, 0x3c00),
          acc(1, 2, 7, 4, 0x2000 | (5 << 10))]
    yield "acpi_pm", b"".join(pm)
    hc = [acc(1, 4, 0, 0, 0, hc=True), acc(1, 4, 0, 1, 0, hc=True),
          acc(1, 4, 0, 2, 0x100, hc=True), acc(1, 4, 0, 4, 7, hc=True),
          acc(1, 4, 0, 3, 200, hc=True)]
    yield "hypercall", b"".join(hc)
    # isa-debug-exit (device 9): a write stops the VM, the next runs again.
    yield "debug_exit", b"".join([acc(0, 1, 9, 0, 0), acc(1, 1, 9, 1, 3),
                                  acc(1, 1, 9, 0, 0x21), acc(1, 4, 9, 0, 7)])
    # The firmware's debug port (device 10): a line, a long one, a read.
    fwd = [acc(0, 1, 10, 0, 0)] + [acc(1, 1, 10, 0, c) for c in b"SeaBIOS\n"]
    fwd += [acc(1, 1, 10, 0, 0x41 + i % 26) for i in range(170)]
    yield "fw_debug", b"".join(fwd)
    # The boot timer's page (MMIO window 1): the magic byte, other writes.
    yield "boot_timer", b"".join([acc(0, 4, 1, 0, 0, mmio=True),
                                  acc(1, 4, 1, 0, 123, mmio=True),
                                  acc(1, 1, 1, 4, 123, mmio=True),
                                  acc(1, 1, 1, 0, 123, mmio=True)])


def loader_seeds():
    # Multiboot v1: a header with address fields, text loaded at 1 MiB.
    magic, flags = 0x1BADB002, 0x00010003
    mb = struct.pack("<III", magic, flags, (-(magic + flags)) & 0xffffffff)
    mb += struct.pack("<IIIII", 0x100000, 0x100000, 0x100100, 0x100200,
                      0x100020)
    yield "multiboot", b"\x01" + mb + b"\xf4" * 0x1e0
    # bzImage: a setup header of protocol 2.15, 64-bit capable.
    img = bytearray(0x1200)
    img[0x1f1] = 1  # setup_sects
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    struct.pack_into("<I", img, 0x202, 0x53726448)  # "HdrS"
    struct.pack_into("<H", img, 0x206, 0x020f)
    img[0x211] = 1  # loadflags: LOADED_HIGH
    struct.pack_into("<I", img, 0x214, 0x100000)
    struct.pack_into("<I", img, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)  # kernel_alignment
    img[0x234] = 1  # relocatable
    struct.pack_into("<H", img, 0x236, 3)  # xloadflags: 64-bit entry
    struct.pack_into("<I", img, 0x238, 2048)  # cmdline_size
    struct.pack_into("<I", img, 0x260, 0x100000)  # init_size
    yield "bzimage", b"\x03" + bytes(img)
    # ELF64 with one PT_LOAD and a PVH note.
    note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x100000)
    eh = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                     bytes(7), 2, 62, 1, 0x100000, 64, 0, 0, 64, 56, 2, 64,
                     0, 0)
    ph1 = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0x100000, 0x100000, 0x100,
                      0x2000, 0x1000)
    ph2 = struct.pack("<IIQQQQQQ", 4, 4, 0x200, 0, 0, len(note), len(note), 4)
    elf = bytearray(0x1100)
    elf[0:len(eh)] = eh
    elf[64:64 + 56] = ph1
    elf[120:120 + 56] = ph2
    elf[0x200:0x200 + len(note)] = note
    elf[0x1000:0x1010] = b"\xf4" * 16
    yield "elf-pvh", b"\x01" + bytes(elf)


def write(dirname, name, blob):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name), "wb") as f:
        f.write(blob)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for name, g in vdev_seeds():
        write(os.path.join(root, "vdev"), name, g.blob())
    for name, blob in pio_seeds():
        write(os.path.join(root, "pio"), name, blob)
    for name, blob in loader_seeds():
        write(os.path.join(root, "loader"), name, blob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
