# SPDX-License-Identifier: GPL-2.0-only
"""Snapshots (docs/snapshot.md) of the counting guest (api_counter.elf,
2 vCPUs): taken through the API and through `vmon snapshot`, restored in a
new vmon process through `vmon run --restore` and PUT /snapshot/load; the
guest goes on from where it stopped (no counter step lost or repeated
across the snapshot), the memory of a restored VM is the snapshot's;
foreign, truncated, corrupt and mismatched snapshots, a load after
configuration and a create while running are refused cleanly (exit 2,
HTTP 400, nothing left running); repeated failed loads leak no file
descriptor or memory."""
import hashlib
import os
import shutil
import struct
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-snap-")


def crc64(data):
    """CRC-64/XZ (ECMA-182 polynomial, reflected), as the state file's."""
    poly, crc = 0xC96C5795D7870F42, 0xFFFFFFFFFFFFFFFF
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def counter_lines(text):
    return [int(l[2:], 16) for l in text.split("\n")
            if l.startswith("c=") and len(l) == 10]


def contiguous(values):
    return values == [0x1000 * (k + 1) for k in range(len(values))]


def wait_count(inst, above, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inst.last_count() > above:
            break
        time.sleep(0.005)
    return inst.last_count()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def create(inst, d):
    os.makedirs(d, exist_ok=True)
    return inst.req("PUT", "/snapshot/create",
                    {"snapshot_type": "Full",
                     "snapshot_path": os.path.join(d, "state"),
                     "mem_file_path": os.path.join(d, "memory")})


def restored(d, resume, tag):
    """A `vmon run --restore D` process with an API socket."""
    extra = ["--restore", d] + (["--resume"] if resume else [])
    return vmon_api.Instance(id="snap-%s-%d" % (tag, PID), extra=extra)


# --- A snapshot through the API, of a paused VM ---
src = vmon_api.Instance(id="snap-src-%d" % PID)
ok, body = src.boot_counter(vcpus=2)
check(ok, "boot the counter guest %r" % (body,))
check(wait_count(src, 0x8000) > 0x8000, "the guest counts")
A = os.path.join(WORK, "a")
st, b = create(src, A)
check(st == 400 and "paused" in b.get("fault_message", ""),
      "create while running: 400 naming the pause (%s %r)" % (st, b))
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Diff", "snapshot_path": A + "/s",
                 "mem_file_path": A + "/m"})
check(st == 400 and "Diff" in b["fault_message"], "Diff refused: %r" % (b,))
t = time.monotonic()
st, b = create(src, A)
check(st == 204, "snapshot/create: %s %r" % (st, b))
print("create: %.1f ms" % ((time.monotonic() - t) * 1000))
before = src.serial_text()
c1 = src.last_count()
check(src.stop() == 0, "the snapshotted instance stops")
check(os.path.getsize(A + "/memory") == 32 << 20,
      "memory file: the guest's 32 MiB")
check(not [f for f in os.listdir(A) if ".tmp" in f], "no temporary file left")

r = vmontest.run(["snapshot-info", A])
check(r.code == 0 and "vcpus: 2" in r.out and "memory: 32 MiB" in r.out
      and "format version: 1" in r.out and "cpu: " in r.out,
      "snapshot-info: %r" % (r,))

# --- Restored paused: its memory is the snapshot's; then it goes on ---
dst = restored(A, False, "paused")
st, info = dst.req("GET", "/")
check(info.get("state") == "Paused", "restored paused: %r" % (info,))
B = os.path.join(WORK, "b")
st, b = create(dst, B)
check(st == 204, "snapshot of the restored VM: %s %r" % (st, b))
check(sha(A + "/memory") == sha(B + "/memory"),
      "the restored VM's memory matches the snapshot's (SHA-256)")
check(dst.req("PATCH", "/vm", {"state": "Resumed"})[0] == 204, "resume")
after_c = wait_count(dst, c1 + 0x8000)
check(after_c > c1 + 0x8000, "the restored guest counts on: 0x%x after 0x%x"
      % (after_c, c1))
dst.req("PATCH", "/vm", {"state": "Paused"})
values = counter_lines(before + dst.serial_text())
check(contiguous(values) and len(values) > c1 // 0x1000,
      "counter lines across the snapshot: none lost or repeated (%d lines)"
      % len(values))
check(dst.stop() == 0, "the restored instance stops")

# --- PUT /snapshot/load with resume_vm, the File back-end ---
ld = vmon_api.Instance(id="snap-load-%d" % PID)
t = time.monotonic()
st, b = ld.req("PUT", "/snapshot/load",
               {"snapshot_path": A + "/state",
                "mem_backend": {"backend_type": "File",
                                "backend_path": A + "/memory"},
                "track_dirty_pages": False, "resume_vm": True})
print("load: %.1f ms" % ((time.monotonic() - t) * 1000))
check(st == 204, "snapshot/load: %s %r" % (st, b))
check(ld.req("GET", "/")[1].get("state") == "Running", "loaded: Running")
check(wait_count(ld, c1) > c1, "the loaded guest counts on from 0x%x" % c1)
st, b = ld.req("PUT", "/snapshot/load",
               {"snapshot_path": A + "/state", "mem_file_path": A + "/memory"})
check(st == 400, "a second load is refused: %s %r" % (st, b))
check(ld.stop() == 0, "the loaded instance stops")

# --- `vmon snapshot ID DIR` of a running instance, `--resume` ---
cli = vmon_api.Instance(id="snap-cli-%d" % PID)
ok, _ = cli.boot_counter(vcpus=1)
check(ok and wait_count(cli, 0x4000) > 0x4000, "boot a second guest")
C = os.path.join(WORK, "c")
r = vmontest.run(["snapshot", "snap-cli-%d" % PID, C, "--resume"])
check(r.code == 0 and os.path.exists(C + "/state"),
      "vmon snapshot ID DIR --resume: %r" % (r,))
c2 = cli.last_count()
check(wait_count(cli, c2) > c2, "--resume: the source runs on")
r = vmontest.run(["snapshot", "snap-cli-%d" % PID, C])
st, info = cli.req("GET", "/")
check(r.code == 0 and info.get("state") == "Paused",
      "vmon snapshot ID DIR: left paused (%r, %r)" % (r, info))
c3 = cli.last_count()
cli.stop()
back = restored(C, True, "cli")
check(wait_count(back, c3) > c3, "restored from `vmon snapshot`: counts on")
back.stop()
r = vmontest.run(["snapshot", "no-such-instance-%d" % PID, C])
check(r.code == 2, "vmon snapshot of an unknown instance: exit 2 (%r)" % (r,))


# --- Bad snapshots: refused with exit 2 and a message ---
with open(A + "/state", "rb") as f:
    GOOD = f.read()


def with_crc(data):
    data = bytearray(data[:-8])
    return bytes(data) + struct.pack("<Q", crc64(data))


def patched(off, new, fix_crc=True):
    d = bytearray(GOOD)
    d[off:off + len(new)] = new
    return with_crc(d) if fix_crc else bytes(d)


verlen = struct.unpack_from("<I", GOOD, 60)[0]
cpum = 64 + verlen + 4  # the CPU model section in the header
bad = {
    "foreign": (b"#!/bin/sh\necho not a snapshot\n", "not a vmon snapshot"),
    "empty": (b"", "not a vmon snapshot"),
    "magic": (patched(0, b"VMONSNAQ", False), "not a vmon snapshot"),
    "format version": (patched(8, struct.pack("<I", 2)),
                       "format version 2"),
    "flags": (patched(12, b"\x01", False), "checksum"),
    "length": (patched(16, struct.pack("<Q", len(GOOD))), "announces"),
    "checksum": (patched(len(GOOD) - 1, b"\x00" if GOOD[-1] else b"\x01",
                         False), "checksum"),
    "payload bit": (patched(200, bytes([GOOD[200] ^ 4]), False), "checksum"),
    "truncated head": (GOOD[:20], "truncated"),
    "truncated": (GOOD[:len(GOOD) // 2], "truncated"),
    "no checksum": (GOOD[:-8], "announces"),
    "header tag": (patched(24, b"XEAD"), "header"),
    "header version": (patched(28, struct.pack("<I", 9)), "version 9"),
    "vcpu count": (patched(36, struct.pack("<I", 0)), "vcpu count"),
    "memory size": (patched(40, struct.pack("<Q", 1 << 20)), "memory"),
    "snapshot type": (patched(48, struct.pack("<I", 1)), "snapshot type"),
    "vmon version": (patched(60, struct.pack("<I", 999)), "vmon version"),
    "device count": (patched(64 + verlen, struct.pack("<I", 99)),
                     "devices"),
    "cpu vendor": (patched(cpum + 12, b"GenuineIntel"), "CPU vendor"),
    "cpu family": (patched(cpum + 24, struct.pack("<I", 0x42)),
                   "CPU family"),
    "cpu features": (patched(cpum + 40 + 4 + 4 * 2,
                             struct.pack("<I", 0xffffffff)),
                     "features"),
    # The last byte of the devices' state: refused after the VM is built.
    "last device byte": (patched(len(GOOD) - 8 - 1, b"\x07"), ""),
}
for name, (data, want) in bad.items():
    d = os.path.join(WORK, "bad-" + name.replace(" ", "-"))
    os.makedirs(d)
    with open(d + "/state", "wb") as f:
        f.write(data)
    os.link(A + "/memory", d + "/memory")
    r = vmontest.run(["run", "--restore", d, "--serial", "none"], timeout=30)
    check(r.code == 2 and "vmon: snapshot" in r.err and want in r.err
          and "Traceback" not in r.err,
          "bad snapshot (%s): exit 2 naming %r: %r" % (name, want, r))

# The memory file: missing, truncated.
d = os.path.join(WORK, "bad-memory")
os.makedirs(d)
shutil.copy(A + "/state", d + "/state")
r = vmontest.run(["run", "--restore", d, "--serial", "none"], timeout=30)
check(r.code == 2 and "memory file" in r.err, "no memory file: %r" % (r,))
with open(d + "/memory", "wb") as f:
    f.write(b"\0" * 4096)
r = vmontest.run(["run", "--restore", d, "--serial", "none"], timeout=30)
check(r.code == 2 and "memory file" in r.err and "bytes" in r.err,
      "truncated memory file: %r" % (r,))
r = vmontest.run(["run", "--restore", A, "--mem", "64"], timeout=30)
check(r.code == 2 and "--restore" in r.err, "--restore with --mem: %r" % (r,))

# --- Through the API: 400, the process lives on, nothing leaks ---
api = vmon_api.Instance(id="snap-api-%d" % PID)
st, b = api.req("PUT", "/snapshot/load",
                {"snapshot_path": A + "/state",
                 "mem_backend": {"backend_type": "Uffd",
                                 "backend_path": WORK + "/uffd.sock"}})
check(st == 400 and "Uffd" in b["fault_message"], "Uffd refused: %r" % (b,))


def fds(p):
    """Open fds, the fewest of a few looks (a request's socket may close)."""
    n = []
    for _ in range(5):
        n.append(len(os.listdir("/proc/%d/fd" % p.pid)))
        time.sleep(0.05)
    return min(n)


def rss(p):
    with open("/proc/%d/status" % p.pid) as f:
        return [int(l.split()[1]) for l in f if l.startswith("VmRSS")][0]


deep = os.path.join(WORK, "bad-last-device-byte")  # fails after the VM is built
loads = [os.path.join(WORK, "bad-" + n) for n in ("checksum", "cpu-vendor")]
loads += [deep] * 18
fd0 = rss0 = None
for i, d in enumerate(loads):
    st, b = api.req("PUT", "/snapshot/load",
                    {"snapshot_path": d + "/state",
                     "mem_file_path": d + "/memory"})
    if st != 400:
        check(False, "bad load %d (%s): %s %r" % (i, d, st, b))
        break
    if i == 2:
        fd0, rss0 = fds(api.p), rss(api.p)
fd1, rss1 = fds(api.p), rss(api.p)
check(api.alive() and fd1 <= fd0,
      "20 refused loads: the process lives, fds %s -> %s" % (fd0, fd1))
# The sanitizer build keeps freed memory in ASan's quarantine, so its RSS
# says nothing about leaks there; LeakSanitizer checks them at exit instead
# (scripts/test runs it with detect_leaks=1).
with open("/proc/%d/maps" % api.p.pid) as f:
    sanitized = "libasan" in f.read()
if sanitized:
    print("sanitizer build: leaks are LeakSanitizer's check at exit "
          "(RSS %d -> %d KiB)" % (rss0, rss1))
else:
    check(rss1 - rss0 < 4096, "20 refused loads: RSS %d -> %d KiB" % (rss0, rss1))
check(api.req("GET", "/")[1].get("state") == "Not started",
      "after refused loads: Not started")
st, b = api.req("PUT", "/snapshot/load",
                {"snapshot_path": A + "/state", "mem_file_path": A + "/memory",
                 "resume_vm": True})
check(st == 204 and wait_count(api, c1) > c1,
      "after 20 refused loads a good one runs: %s %r" % (st, b))
api.stop()

cfgd = vmon_api.Instance(id="snap-cfg-%d" % PID)
cfgd.req("PUT", "/logger", {"log_path": WORK + "/log", "level": "Info"})
cfgd.req("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 32})
st, b = cfgd.req("PUT", "/snapshot/load",
                 {"snapshot_path": A + "/state",
                  "mem_file_path": A + "/memory"})
check(st == 400 and "configured" in b["fault_message"],
      "load after configuration: 400 (%r)" % (b,))
cfgd.stop()

# --- 20 restores of one snapshot, each in a new process ---
n_ok = 0
for i in range(20):
    p = restored(A, True, "loop%d" % i)
    if wait_count(p, c1) > c1:
        n_ok += 1
    p.stop()
check(n_ok == 20, "20 restores in a row count on: %d" % n_ok)

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
