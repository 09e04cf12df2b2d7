#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the seed corpus of fuzz_mmds (tests/fuzz/corpus/mmds/).

Each seed is a guest's conversation with the metadata service in the
layout fuzz_mmds.c describes: ARP, a TCP handshake, V1 and V2 requests,
a close, and a few broken frames. Checksums and acknowledgement numbers
are left to the target (record flags 8 and 4). Run it again after
changing the input format; commit the output.
"""
import os
import struct
import sys

GUEST_MAC = bytes([2, 0, 0, 0, 0, 2])
MMDS_MAC = bytes([6, 1, 0x23, 0x45, 0x67, 1])
GUEST_IP = bytes([10, 0, 0, 2])
MMDS_IP = bytes([169, 254, 169, 254])
SYN, ACK, PSH, FIN, RST = 2, 16, 8, 1, 4


def arp(op=1, target=MMDS_IP):
    return (b"\xff" * 6 + GUEST_MAC + b"\x08\x06" +
            struct.pack(">HHBBH", 1, 0x800, 6, 4, op) + GUEST_MAC +
            GUEST_IP + b"\0" * 6 + target)


def tcp(seq, flags, data=b"", port=40000, dport=80, opts=b""):
    hlen = 20 + len(opts)
    t = (struct.pack(">HHIIBBHHH", port, dport, seq, 0, (hlen // 4) << 4,
                     flags, 65535, 0, 0) + opts + data)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(t), 0, 0x4000, 64,
                     6, 0, GUEST_IP, MMDS_IP)
    return MMDS_MAC + GUEST_MAC + b"\x08\x00" + ip + t


def record(frame, flags=8):
    return struct.pack(">HB", len(frame), flags) + frame


def conversation(cfg, requests, close=True):
    out = bytes([cfg]) + record(arp())
    out += record(tcp(1000, SYN, opts=b"\x02\x04\x05\xb4\x01\x01\x04\x02"))
    seq = 1001
    out += record(tcp(seq, ACK), 12)
    for r in requests:
        out += record(tcp(seq, ACK | PSH, r), 12)
        seq += len(r)
        out += record(tcp(seq, ACK), 12)
    if close:
        out += record(tcp(seq, ACK | FIN), 12)
        out += record(tcp(seq + 1, ACK), 12)
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "corpus", "mmds")
    os.makedirs(d, exist_ok=True)
    get = b"GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\n\r\n"
    seeds = {
        "arp": bytes([0]) + record(arp()) + record(arp(2)),
        "v1-get": conversation(0, [get]),
        "v1-json": conversation(2, [b"GET /latest HTTP/1.1\r\n"
                                    b"Accept: application/json\r\n\r\n"]),
        "v1-keepalive": conversation(0, [get, get.replace(b"/", b"/x/", 1)],
                                     close=False),
        "v2-token": conversation(1, [
            b"PUT /latest/api/token HTTP/1.1\r\n"
            b"X-metadata-token-ttl-seconds: 60\r\n\r\n",
            b"GET /latest HTTP/1.1\r\nX-metadata-token: nope\r\n\r\n"]),
        "bad-frames": bytes([0]) + record(tcp(5, SYN), 0) +
        record(tcp(5, SYN, dport=22)) + record(tcp(5, ACK | RST)) +
        record(tcp(5, SYN)[:30]) + record(tcp(5, SYN, opts=b"\x02\x09"), 8) +
        record(tcp(5, SYN), 2),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, "s-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
