#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpus of fuzz_pci (tests/fuzz/corpus/pci/) in the
input layout tests/fuzz/fuzz_pci.c describes: a driver's walk of every
slot's configuration space (through 0xcf8/0xcfc and ECAM), BAR sizing and
a BAR moved, each virtio function brought up with valid requests in its
rings (disk reads, writes and flushes, random bytes, balloon page lists),
MSI-X masking and the PBA, INTx with MSI-X off, and a hot unplug that the
guest acknowledges through the ACPI registers, reaped and plugged back.
Run it again after changing the layout; commit the output.
"""
import os
import struct
import sys

CONF1, ECAM, BAR, WINDOW, HOTPLUG, HOST, TURN, BRING_UP = range(8)
W1, W2, W4, W8 = 0, 1, 2, 3
F_NEXT, F_WRITE = 1, 2
# Slots: the bridge in 0, then disk 0, disk 1, rng, balloon.
DISK0, DISK1, RNG, BALLOON = 1, 2, 3, 4
# BAR 0's layout (src/virtio/pci.h) and the common configuration fields.
NOTIFY, MSIX_TABLE, MSIX_PBA, DEVICE_CFG, ISR = 0x3000, 0x4000, 0x5000, 0x2000, 0x1000
Q_SELECT, Q_SIZE, Q_ENABLE, STATUS, MSIX_CONFIG = 0x16, 0x18, 0x1c, 0x14, 0x10
PCI_HP_UP, PCI_HP_DOWN, PCI_HP_EJECT = 0x0, 0x4, 0x8
GPE = 0x80  # [2] >= 128: the GPE0 block


class Input:
    """One fuzz_pci input: accesses, then RAM from GPA 0."""

    def __init__(self):
        self.ops = []
        self.ram = bytearray(0x4000)
        self.avail = {}
        self.qsize = 8

    def op(self, kind, write=False, width=W4, sel=0, off=0, value=0):
        self.ops.append(struct.pack("<BBHI", kind | (8 if write else 0) |
                                    width << 4, sel, off, value & 0xffffffff))

    def conf_write(self, slot, reg, value, width=W4):
        self.op(CONF1, True, W4, 0, 0, 0x80000000 | slot << 11 | (reg & 0xfc))
        self.op(CONF1, True, width, 0, 4 + (reg & 3), value)

    def conf_read(self, slot, reg, width=W4):
        self.op(CONF1, True, W4, 0, 0, 0x80000000 | slot << 11 | (reg & 0xfc))
        self.op(CONF1, False, width, 0, 4 + (reg & 3))

    def bring_up(self, slot, qlog=3, features=0, high=1):
        self.op(BRING_UP, False, W4, slot, qlog | high << 8, features)
        self.qsize = 1 << qlog

    def kick(self, slot, q):
        self.op(BAR, True, W2, slot, NOTIFY + 4 * q, q)

    def put(self, addr, data):
        self.ram[addr:addr + len(data)] = data

    def chain(self, q, bufs):
        """Queues a chain of (addr, len, writable) on queue q's ring."""
        qsize = self.qsize
        base = 0x800 * q
        n = self.avail.get(q, 0)
        head = (n * 4) % qsize
        for i, (addr, length, wr) in enumerate(bufs):
            idx = (head + i) % qsize
            last = i == len(bufs) - 1
            flags = (0 if last else F_NEXT) | (F_WRITE if wr else 0)
            self.put(base + 16 * idx, struct.pack(
                "<QIHH", addr, length, flags, 0 if last else (idx + 1) % qsize))
        self.put(base + 0x400 + 4 + 2 * (n % qsize), struct.pack("<H", head))
        self.avail[q] = n + 1
        self.put(base + 0x400, struct.pack("<HH", 0, n + 1))

    def blk(self, rtype, sector, data_len, at):
        self.put(at, struct.pack("<IIQ", rtype, 0, sector))
        if rtype == 1:
            self.put(at + 0x100, bytes(range(256)) * (data_len // 256))
        bufs = [(at, 16, False)]
        if data_len:
            bufs.append((at + 0x100, data_len, rtype != 1))
        bufs.append((at + 0x100 + data_len, 1, True))
        self.chain(0, bufs)

    def data(self):
        assert len(self.ops) < 256
        ram = bytes(self.ram).rstrip(b"\0")
        return bytes([len(self.ops)]) + b"".join(self.ops) + ram


def seeds():
    out = {}

    # A driver's enumeration: every slot's ID, header and capability
    # list, by both mechanisms, and the bridge.
    s = Input()
    for slot in range(6):
        s.conf_read(slot, 0x00)
        s.conf_read(slot, 0x08)
        s.conf_read(slot, 0x34, W1)
        s.op(ECAM, False, W4, slot, 0x10)
        s.op(ECAM, False, W2, slot, 0x40)
    s.op(ECAM, False, W4, RNG + 32, 0)   # function 1: nothing
    out["enumerate"] = s

    # BAR sizing of a disk, then the BAR moved and decoding toggled.
    s = Input()
    s.conf_read(DISK0, 0x10)
    s.conf_write(DISK0, 0x10, 0xffffffff)
    s.conf_read(DISK0, 0x10)
    s.conf_write(DISK0, 0x14, 0xffffffff)
    s.conf_read(DISK0, 0x14)
    s.conf_write(DISK0, 0x10, 0xc1008000)
    s.conf_write(DISK0, 0x04, 0x6, W2)
    s.op(BAR, False, W4, DISK0, 0x0)
    s.op(WINDOW, False, W4, 0x10, 0x8000)
    s.conf_write(DISK0, 0x04, 0x0, W2)
    s.op(BAR, False, W4, DISK0, 0x0)
    s.op(ECAM, True, W4, DISK0, 0x10, 0xffffffff)
    s.op(ECAM, True, W8, DISK1, 0x10, 0)
    out["bar-sizing"] = s

    # Disk reads, writes and a flush through each disk, MSI-X vectors.
    for slot in (DISK0, DISK1):
        s = Input()
        s.bring_up(slot, 4)
        s.blk(1, 0, 512, 0x3000)       # write sector 0
        s.blk(0, 0, 512, 0x3400)       # read it back
        s.blk(4, 0, 0, 0x3800)         # flush
        s.blk(8, 0, 32, 0x3c00)        # get id
        s.kick(slot, 0)
        s.op(TURN)
        s.op(TURN)
        s.op(BAR, False, W1, slot, ISR)
        s.op(BAR, False, W8, slot, DEVICE_CFG)
        s.op(BAR, False, W8, slot, MSIX_PBA)
        out["disk%d-requests" % (slot - DISK0)] = s

    # Reads past the end of the disk and a bad request type.
    s = Input()
    s.bring_up(DISK0, 4)
    s.blk(0, 63, 1024, 0x3000)
    s.blk(0, 1 << 40, 512, 0x3800)
    s.blk(0x55, 0, 512, 0x3c00)
    s.kick(DISK0, 0)
    s.op(TURN)
    out["disk-bad-requests"] = s

    # The rng: 64 bytes asked for; vectors masked, then the PBA read.
    s = Input()
    s.bring_up(RNG, 3)
    s.op(BAR, True, W4, RNG, MSIX_TABLE + 16 + 12, 1)   # mask vector 1
    s.chain(0, [(0x3000, 64, True)])
    s.kick(RNG, 0)
    s.op(TURN)
    s.op(BAR, False, W8, RNG, MSIX_PBA)
    s.op(BAR, True, W4, RNG, MSIX_TABLE + 16 + 12, 0)   # unmask: sent
    s.op(BAR, False, W8, RNG, MSIX_PBA)
    s.op(BAR, True, W8, RNG, MSIX_TABLE + 16, 0xfee00000)
    s.op(BAR, False, W4, RNG, MSIX_TABLE + 0x1f0)
    out["rng-msix"] = s

    # INTx: MSI-X off, the ISR read to clear, INTx disabled and back.
    s = Input()
    s.bring_up(RNG, 2)
    s.conf_write(RNG, 0x40, 0, W4)
    s.conf_read(RNG, 0x50)
    s.chain(0, [(0x3000, 16, True)])
    s.kick(RNG, 0)
    s.op(TURN)
    s.op(BAR, False, W1, RNG, ISR)
    s.op(BAR, False, W1, RNG, ISR)
    s.conf_write(RNG, 0x04, 0x406, W2)
    s.conf_read(RNG, 0x06, W2)
    out["rng-intx"] = s

    # The balloon: an inflate list and statistics.
    s = Input()
    s.bring_up(BALLOON, 3, features=0x2)  # STATS_VQ
    s.put(0x3000, struct.pack("<8I", *range(0x10, 0x18)))
    s.chain(0, [(0x3000, 32, False)])
    s.put(0x3400, struct.pack("<HQ", 5, 1 << 20))
    s.chain(2, [(0x3400, 10, False)])
    s.kick(BALLOON, 0)
    s.kick(BALLOON, 2)
    s.op(TURN)
    s.op(BAR, False, W4, BALLOON, DEVICE_CFG)
    s.op(BAR, True, W4, BALLOON, DEVICE_CFG + 4, 8)
    out["balloon"] = s

    # Queue set-up by hand: sizes, a reset of the function, bad vectors.
    s = Input()
    s.conf_write(DISK1, 0x04, 0x6, W2)
    s.op(BAR, True, W1, DISK1, STATUS, 0)
    s.op(BAR, True, W1, DISK1, STATUS, 3)
    s.op(BAR, True, W2, DISK1, Q_SELECT, 0)
    s.op(BAR, True, W2, DISK1, Q_SIZE, 3)
    s.op(BAR, True, W2, DISK1, Q_SELECT, 7)
    s.op(BAR, False, W2, DISK1, Q_SIZE)
    s.op(BAR, True, W2, DISK1, MSIX_CONFIG, 0x40)
    s.op(BAR, False, W2, DISK1, MSIX_CONFIG)
    s.op(BAR, True, W2, DISK1, Q_ENABLE, 1)
    s.op(BAR, True, W1, DISK1, STATUS, 0)
    out["queue-by-hand"] = s

    # Hot unplug: the host asks, the guest reads DOWN, clears the GPE and
    # ejects; the host reaps and plugs a disk back; the guest reads UP.
    s = Input()
    s.bring_up(DISK0, 3)
    s.op(HOTPLUG, True, W2, 0, GPE + 2, 2)         # GPE enable
    s.op(HOST, False, W4, 0, 0)                   # unplug disk 0
    s.op(HOTPLUG, False, W2, 0, GPE + 0)
    s.op(HOTPLUG, False, W4, 0, PCI_HP_DOWN)
    s.op(HOTPLUG, True, W2, 0, GPE + 0, 2)
    s.blk(0, 0, 512, 0x3000)
    s.kick(DISK0, 0)
    s.op(HOTPLUG, True, W4, 0, PCI_HP_EJECT, 1 << DISK0)
    s.op(BAR, False, W4, DISK0, 0)
    s.op(TURN)
    s.op(HOST, False, W4, 1)                      # reap
    s.conf_read(DISK0, 0)
    s.op(HOST, False, W4, 2)                      # add back
    s.op(HOTPLUG, False, W4, 0, PCI_HP_UP)
    s.conf_read(DISK0, 0)
    s.bring_up(DISK0, 3)
    s.op(HOST, False, W4, 3)                      # reset all
    out["hotplug"] = s

    return out


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(root, "corpus", "pci")
    os.makedirs(outdir, exist_ok=True)
    for name, s in seeds().items():
        with open(os.path.join(outdir, "seed-" + name), "wb") as f:
            f.write(s.data())


if __name__ == "__main__":
    main()
