# SPDX-License-Identifier: GPL-2.0-only
"""Clones (docs/snapshot.md): 8 VMs restored at once from one snapshot of
snap_probe.elf (64 MiB, a vsock device; the guest fills its RAM with a
pattern, counts, checks one page of the pattern per line and prints the
fw_cfg generation when it changes), each with its own vsock socket (one
through PUT /snapshot/load's vsock_override, the others through `run
--restore --override vsock=PATH`). Each clone counts on from the
snapshot's count without a step lost, has its own disk image (one
drive_overrides, the others --override drive:ID=PATH), finds its memory
intact, sees
generation 1 with an id of its own; the clones' memory (PSS, from
/proc/PID/smaps_rollup) is well below 8 times the source VM's, because
they share the snapshot's pages (MAP_PRIVATE, loaded on demand).
Overrides naming what the snapshot lacks are refused."""
import os
import re
import shutil
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-clones-")
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "snap_probe.elf")
N = 8


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return [int(l.split()[1]) for l in f if l.startswith("Pss:")][0]


def counts(text):
    return [int(l[2:], 16) for l in text.split("\n")
            if l.startswith("c=") and len(l) == 10]


def wait_for(pred, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def image(name):
    path = os.path.join(WORK, name + ".img")
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    return path


src = vmon_api.Instance(id="clones-src-%d" % PID)
for path, body in (
        ("/boot-source", {"kernel_image_path": PROBE}),
        ("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}),
        ("/vsock", {"guest_cid": 3, "uds_path": WORK + "/src.vsock"}),
        ("/drives/scratch", {"drive_id": "scratch",
                             "path_on_host": image("src"),
                             "is_root_device": False,
                             "is_read_only": False}),
        ("/actions", {"action_type": "InstanceStart"})):
    st, b = src.req("PUT", path, body)
    check(st == 204, "PUT %s: %s %r" % (path, st, b))
check(wait_for(lambda: len(counts(src.serial_text())) > 50),
      "the source fills its memory and counts: %r"
      % src.serial_text()[:200])
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
S = os.path.join(WORK, "snap")
os.makedirs(S)
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": S + "/state",
                 "mem_file_path": S + "/memory"})
check(st == 204, "snapshot: %s %r" % (st, b))
src_pss = pss_kib(src.p.pid)
before = src.serial_text()  # may end in the middle of a line
last = counts(before)[-1]
check(src.stop() == 0, "the source stops")
print("source: PSS %d KiB, snapshot at count 0x%x" % (src_pss, last))

# Overrides must name what the snapshot has.
for bad, want in (("net:eth0=tap9", "no such interface"),
                  ("drive:rootfs=/x", "no such drive"),
                  ("vsock", "expected")):
    r = vmontest.run(["run", "--restore", S, "--override", bad,
                      "--serial", "none"], timeout=30)
    check(r.code == 2 and want in r.err, "--override %s: %r" % (bad, r))

clones = []
t0 = time.monotonic()
api = vmon_api.Instance(id="clones-0-%d" % PID)
st, b = api.req("PUT", "/snapshot/load",
                {"snapshot_path": S + "/state",
                 "mem_backend": {"backend_type": "File",
                                 "backend_path": S + "/memory"},
                 "vsock_override": {"uds_path": WORK + "/c0.vsock"},
                 "drive_overrides": [{"drive_id": "scratch",
                                      "path_on_host": image("c0")}],
                 "resume_vm": True})
check(st == 204, "clone 0 through the API: %s %r" % (st, b))
clones.append(api)
for i in range(1, N):
    clones.append(vmon_api.Instance(
        id="clones-%d-%d" % (i, PID),
        extra=["--restore", S, "--resume",
               "--override", "vsock=%s/c%d.vsock" % (WORK, i),
               "--override", "drive:scratch=" + image("c%d" % i)]))
print("%d clones started in %.0f ms" % (N, (time.monotonic() - t0) * 1000))

# Each runs a while: it reads a page of the pattern per line.
ok = wait_for(lambda: all(len(counts(c.serial_text())) > 100
                          for c in clones), timeout=120)
check(ok, "every clone counts: %r" % [len(counts(c.serial_text()))
                                      for c in clones])
pss = [pss_kib(c.p.pid) for c in clones]
print("clone PSS (KiB): %s; sum %d, 8 x source %d"
      % (pss, sum(pss), N * src_pss))
check(sum(pss) < N * src_pss // 4,
      "the clones share memory: %d KiB in all, the source alone %d KiB"
      % (sum(pss), src_pss))

ids = set()
for i, c in enumerate(clones):
    text = c.serial_text()
    vals = counts(before + text)
    gens = re.findall(r"gen=(\d+) id=([0-9a-f]{32})", text)
    check(vals == [0x1000 * (k + 1) for k in range(len(vals))]
          and vals[-1] > last + 0x10000,
          "clone %d counts on from 0x%x, no step lost or repeated (to 0x%x)"
          % (i, last, vals[-1]))
    check("BAD" not in text, "clone %d: its memory is the snapshot's" % i)
    check(len(gens) == 1 and gens[0][0] == "1",
          "clone %d: the guest sees generation 1: %r" % (i, gens))
    ids.update(g[1] for g in gens)
    files = set(vmontest.fd_targets(c.p.pid))
    check(os.path.exists("%s/c%d.vsock" % (WORK, i))
          and "%s/c%d.img" % (WORK, i) in files
          and WORK + "/src.img" not in files,
          "clone %d has its own vsock socket and disk image" % i)
check(len(ids) == N, "every clone has its own generation id: %d" % len(ids))
for c in clones:
    check(c.alive(), "the clone still runs")
    c.stop()

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
