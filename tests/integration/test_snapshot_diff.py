# SPDX-License-Identifier: GPL-2.0-only
"""Diff snapshots and snapshot-merge (docs/snapshot.md) with the counting
guest (api_counter.elf): with track_dirty_pages on, a Full snapshot, then
two Diffs of the running guest, each holding only the pages written since
the one before (sparse memory files, page maps in the state files); a
Diff alone, or merged out of order, is refused; merged in order onto the
base, the memory file is byte for byte the Full snapshot taken at the
second Diff, and the merged snapshot restores and counts on without a
step lost. A Diff after a restore (track_dirty_pages on the load) merges
onto the snapshot it was restored from; a Diff without tracking is
refused."""
import hashlib
import os
import shutil
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-snapdiff-")
MEM = 32 << 20


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def counter_lines(text):
    return [int(l[2:], 16) for l in text.split("\n")
            if l.startswith("c=") and len(l) == 10]


def wait_count(inst, above, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and inst.last_count() <= above:
        time.sleep(0.005)
    return inst.last_count()


def snap(inst, name, kind):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    st, b = inst.req("PUT", "/snapshot/create",
                     {"snapshot_type": kind,
                      "snapshot_path": d + "/state",
                      "mem_file_path": d + "/memory"})
    check(st == 204, "%s snapshot %s: %s %r" % (kind, name, st, b))
    return d


def pause(inst):
    check(inst.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")


def run_on(inst, above):
    check(inst.req("PATCH", "/vm", {"state": "Resumed"})[0] == 204, "resume")
    check(wait_count(inst, above + 0x4000) > above + 0x4000,
          "the guest counts on past 0x%x" % above)
    pause(inst)
    return inst.last_count()


def info(d):
    r = vmontest.run(["snapshot-info", d])
    check(r.code == 0, "snapshot-info %s: %r" % (d, r))
    return dict(l.split(": ", 1) for l in r.out.splitlines() if ": " in l)


def used_bytes(path):
    return os.stat(path).st_blocks * 512


src = vmon_api.Instance(id="snapdiff-src-%d" % PID)
src.req("PUT", "/boot-source",
        {"kernel_image_path": vmon_api.GUEST_COUNTER})
st, b = src.req("PUT", "/machine-config",
                {"vcpu_count": 1, "mem_size_mib": MEM >> 20,
                 "track_dirty_pages": True})
check(st == 204, "machine-config with track_dirty_pages: %s %r" % (st, b))
st, b = src.req("PUT", "/actions", {"action_type": "InstanceStart"})
check(st == 204 and wait_count(src, 0x4000) > 0x4000, "boot: %r" % (b,))
pause(src)
BASE = snap(src, "base", "Full")
c = run_on(src, src.last_count())
D1 = snap(src, "d1", "Diff")
c = run_on(src, c)
D2 = snap(src, "d2", "Diff")
FULL = snap(src, "full", "Full")
before = src.serial_text()
check(src.stop() == 0, "the source stops")

i_base, i1, i2 = info(BASE), info(D1), info(D2)
check(i1["type"] == "Diff" and i1["parent"] == i_base["id"]
      and i2["parent"] == i1["id"], "the chain: %r %r %r" % (i_base, i1, i2))
for d, i in ((D1, i1), (D2, i2)):
    pages = int(i["pages"])
    check(0 < pages < (MEM >> 12) // 4,
          "%s: a few pages dirtied (%d of %d)" % (d, pages, MEM >> 12))
    check(os.path.getsize(d + "/memory") == MEM
          and used_bytes(d + "/memory") <= pages * 4096 + (1 << 20),
          "%s: a sparse file of %d KiB on disk"
          % (d, used_bytes(d + "/memory") >> 10))

r = vmontest.run(["run", "--restore", D2, "--serial", "none"], timeout=30)
check(r.code == 2 and "Diff" in r.err and "merge" in r.err,
      "a Diff alone is refused: %r" % (r,))
r = vmontest.run(["snapshot-merge", BASE, D2])
check(r.code == 2 and "in order" in r.err
      and os.path.exists(BASE + "/state"),
      "merged out of order: refused, the base untouched: %r" % (r,))
for d in (D1, D2):
    r = vmontest.run(["snapshot-merge", BASE, d])
    check(r.code == 0, "snapshot-merge base %s: %r" % (d, r))
check(sha(BASE + "/memory") == sha(FULL + "/memory"),
      "base + d1 + d2 == the Full snapshot at d2 (SHA-256 of the memory)")
check(info(BASE)["type"] == "Full", "the merged snapshot is a Full one")

# The merged snapshot restores; with tracking on, a Diff after it merges.
dst = vmon_api.Instance(id="snapdiff-dst-%d" % PID)
st, b = dst.req("PUT", "/snapshot/load",
                {"snapshot_path": BASE + "/state",
                 "mem_backend": {"backend_type": "File",
                                 "backend_path": BASE + "/memory"},
                 "track_dirty_pages": True})
check(st == 204, "load the merged snapshot: %s %r" % (st, b))
CHECK = snap(dst, "check", "Full")
check(sha(CHECK + "/memory") == sha(FULL + "/memory"),
      "the restored guest's memory is the snapshot's")
c2 = run_on(dst, c)
D3 = snap(dst, "d3", "Diff")
values = counter_lines(before + dst.serial_text())
check(values == [0x1000 * (k + 1) for k in range(len(values))]
      and values[-1] == c2, "counter lines across the merge and restore: "
      "none lost or repeated (%d lines)" % len(values))
FULL3 = snap(dst, "full3", "Full")
check(dst.stop() == 0, "the restored instance stops")
r = vmontest.run(["snapshot-merge", CHECK, D3])
check(r.code == 0 and sha(CHECK + "/memory") == sha(FULL3 + "/memory"),
      "a Diff of a restored VM merges onto its snapshot: %r" % (r,))

# Without tracking, no Diff.
plain = vmon_api.Instance(id="snapdiff-plain-%d" % PID)
ok, _ = plain.boot_counter()
pause(plain)
st, b = plain.req("PUT", "/snapshot/create",
                  {"snapshot_type": "Diff", "snapshot_path": WORK + "/x/s",
                   "mem_file_path": WORK + "/x/m"})
check(ok and st == 400 and "track_dirty_pages" in b["fault_message"],
      "a Diff without tracking: 400 (%s %r)" % (st, b))
plain.stop()

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
