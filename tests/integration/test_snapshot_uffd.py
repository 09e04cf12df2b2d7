# SPDX-License-Identifier: GPL-2.0-only
"""The Uffd memory back-end (docs/snapshot.md) with vmon's own handler,
`vmon uffd-handler SOCKET MEMFILE`: a snapshot of snap_probe.elf (64 MiB,
its RAM filled with a pattern) loaded through PUT /snapshot/load with
mem_backend Uffd: paused, its memory (every page fetched through the
handler by a new snapshot) is the snapshot's byte for byte; resumed, the
guest counts on without a step lost, finds its pattern intact and sees
generation 1; when the VM ends the handler exits 0. A load whose handler
is not there is refused (400) and the process can load again.
Record-and-prefetch (--working-set): the first restore records the pages
its guest touched, the next loads them before its first fault and
faults only on pages beyond them. One handler (--vms 2) serves two
clones of the snapshot at once. The balloon: a restored guest that
inflates its balloon by 32 MiB and deflates it again keeps its pages'
content, the handler hears of every page given back (UFFD_EVENT_REMOVE)
and serves zeros for those the guest takes again."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-uffd-")
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "snap_probe.elf")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def counts(text):
    return [int(l[2:], 16) for l in text.split("\n")
            if l.startswith("c=") and len(l) == 10]


def wait_for(pred, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not pred():
        time.sleep(0.02)
    return pred()


def create(inst, d):
    os.makedirs(d)
    return inst.req("PUT", "/snapshot/create",
                    {"snapshot_type": "Full", "snapshot_path": d + "/state",
                     "mem_file_path": d + "/memory"})


src = vmon_api.Instance(id="uffd-src-%d" % PID)
src.req("PUT", "/boot-source", {"kernel_image_path": PROBE})
src.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
st, b = src.req("PUT", "/actions", {"action_type": "InstanceStart"})
check(st == 204 and wait_for(lambda: len(counts(src.serial_text())) > 30),
      "the source fills its memory and counts")
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
S = os.path.join(WORK, "snap")
check(create(src, S)[0] == 204, "snapshot")
before = src.serial_text()
src.stop()

sock = os.path.join(WORK, "uffd.sock")
dst = vmon_api.Instance(id="uffd-dst-%d" % PID)
load = {"snapshot_path": S + "/state",
        "mem_backend": {"backend_type": "Uffd", "backend_path": sock}}
st, b = dst.req("PUT", "/snapshot/load", load)
check(st == 400 and "Uffd" in b["fault_message"],
      "no handler listening: 400 (%r)" % (b,))

handler = subprocess.Popen([vmontest.VMON, "uffd-handler", sock,
                            S + "/memory"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
line = handler.stdout.readline().decode()
check(line.startswith("listening on"), "the handler listens: %r" % line)
t = time.monotonic()
st, b = dst.req("PUT", "/snapshot/load", load)
print("load (Uffd): %.1f ms" % ((time.monotonic() - t) * 1000))
check(st == 204, "load with the Uffd back-end: %s %r" % (st, b))
C = os.path.join(WORK, "check")
check(create(dst, C)[0] == 204 and sha(C + "/memory") == sha(S + "/memory"),
      "every page through the handler: the memory is the snapshot's")
check(dst.req("PATCH", "/vm", {"state": "Resumed"})[0] == 204, "resume")
check(wait_for(lambda: len(counts(dst.serial_text())) > 50),
      "the restored guest counts on")
text = dst.serial_text()
vals = counts(before + text)
check(vals == [0x1000 * (k + 1) for k in range(len(vals))],
      "no step lost or repeated (%d lines)" % len(vals))
check("BAD" not in text and "gen=1 " in text,
      "its pattern is intact, it sees generation 1: %r" % text[:200])
check(dst.stop() == 0, "the restored VM stops")
try:
    code = handler.wait(10)
except subprocess.TimeoutExpired:
    handler.kill()
    code = None
err = handler.stderr.read().decode()
check(code == 0 and not os.path.exists(sock),
      "the handler exits 0 when the VM is gone: %s %r" % (code, err))

# One handler, two VMs at once (clones of one snapshot): --vms 2.
h2 = subprocess.Popen([vmontest.VMON, "uffd-handler", sock, S + "/memory",
                       "--vms", "2"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
h2.stdout.readline()
clones = []
for k in (1, 2):
    c = vmon_api.Instance(id="uffd-clone%d-%d" % (k, PID))
    st, b = c.req("PUT", "/snapshot/load", dict(load, resume_vm=True))
    check(st == 204, "clone %d: loaded through the one handler: %s %r"
          % (k, st, b))
    clones.append(c)
for k, c in enumerate(clones, 1):
    check(wait_for(lambda: len(counts(c.serial_text())) > 30),
          "clone %d counts on" % k)
    vals = counts(before + c.serial_text())
    check(vals == [0x1000 * (i + 1) for i in range(len(vals))] and
          "BAD" not in c.serial_text(),
          "clone %d: no step lost or repeated, its pattern intact" % k)
check(all(c.stop() == 0 for c in clones), "both clones stop")
out, err = h2.communicate(timeout=20)
out = out.decode()
print("two VMs: %s" % out.strip().replace("\n", "; "))
check(h2.returncode == 0 and re.search(r"^vm 1: \d+ faults served", out, re.M)
      and re.search(r"^vm 2: \d+ faults served", out, re.M),
      "the handler served both and exits 0 once both are gone: %s %r %r"
      % (h2.returncode, out, err))

# Record-and-prefetch: a first restore records the pages its guest
# touches, the next loads them in one batch before the first fault.
WS = os.path.join(WORK, "wset")


def run_with_wset(tag, lines):
    h = subprocess.Popen([vmontest.VMON, "uffd-handler", sock, S + "/memory",
                          "--working-set", WS], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    h.stdout.readline()
    inst = vmon_api.Instance(id="uffd-%s-%d" % (tag, PID))
    st, b = inst.req("PUT", "/snapshot/load", dict(load, resume_vm=True))
    check(st == 204, "%s: load: %s %r" % (tag, st, b))
    wait_for(lambda: len(counts(inst.serial_text())) >= lines)
    inst.req("PATCH", "/vm", {"state": "Paused"})
    text = inst.serial_text()
    n = len(counts(text))
    check(inst.stop() == 0 and "BAD" not in text and n >= lines,
          "%s: counts on (%d lines), memory intact" % (tag, n))
    out, err = h.communicate(timeout=20)
    out = out.decode()
    check(h.returncode == 0, "%s: the handler exits 0: %r" % (tag, err))
    print("%s: %s" % (tag, out.strip()))
    m = re.search(r"(\d+) faults served .* (\d+) pages prefetched", out)
    check(m is not None, "%s: the handler's counts: %r" % (tag, out))
    return int(m.group(1)), int(m.group(2)), n


faults1, pre1, lines1 = run_with_wset("record", 40)
check(pre1 == 0 and os.path.getsize(WS) == 16 + 8 * faults1,
      "the first restore records its %d pages" % faults1)
faults2, pre2, lines2 = run_with_wset("prefetch", 40)
# Each line beyond the first run's touches two new pages: one of the
# pattern (read) and one of the ring (written).
extra = max(0, lines2 - lines1)
check(pre2 == faults1 and faults2 <= 2 * extra + 8,
      "the next restore prefetches them: %d pages, then %d faults "
      "(%d lines more than the first)" % (pre2, faults2, extra))

# The balloon: pages the restored guest gives back reach the handler
# (UFFD_EVENT_REMOVE), which serves them as zeros from then on. The guest
# (balloon_load.elf) drives its balloon as a kernel's driver does; its
# program takes 8 MiB more every other second (its turn of two), from the
# pages it has not touched first, the ones the balloon gave back among
# them, and checks each page's content when it frees it.
BL = os.path.join(vmontest.BUILD_ROOT, "guest", "balloon_load.elf")
BL_ARGS = ("bl.ram=64 bl.vm=0 bl.n=2 bl.phase=1 bl.base=4 bl.active=8 "
           "bl.cache=0")
B = os.path.join(WORK, "bsnap")
bsrc = vmon_api.Instance(id="uffd-bsrc-%d" % PID)
bsrc.req("PUT", "/boot-source", {"kernel_image_path": BL,
                                 "boot_args": BL_ARGS})
bsrc.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
bsrc.req("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": False,
                             "stats_polling_interval_s": 1})
st, b = bsrc.req("PUT", "/actions", {"action_type": "InstanceStart"})
check(st == 204 and wait_for(
    lambda: "balloon_load: ready" in bsrc.serial_text()),
    "the balloon guest runs: %r" % bsrc.serial_text()[-300:])
check(bsrc.req("PATCH", "/vm", {"state": "Paused"})[0] == 204 and
      create(bsrc, B)[0] == 204, "its snapshot")
bsrc.stop()
bsock = os.path.join(WORK, "bal.sock")
bh = subprocess.Popen([vmontest.VMON, "uffd-handler", bsock, B + "/memory"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      stdin=subprocess.DEVNULL)
bh.stdout.readline()
bdst = vmon_api.Instance(id="uffd-bdst-%d" % PID)
st, b = bdst.req("PUT", "/snapshot/load", {
    "snapshot_path": B + "/state", "resume_vm": True,
    "mem_backend": {"backend_type": "Uffd", "backend_path": bsock}})
check(st == 204, "the balloon guest restored through the handler: %s %r"
      % (st, b))


def balloon_actual():
    st, b = bdst.req("GET", "/balloon/statistics")
    return b.get("actual_mib") if st == 200 and b else None


def phases():
    return bdst.serial_text().count("balloon_load: phase")


def wait_progress(value, done, stall=60):
    """Waits for done(value()) while value() keeps changing: the guest's
    driver runs in ring 0, emulated on a PVM host, so its pace is the
    host's load; only 60 s without a step fails."""
    last, deadline = value(), time.monotonic() + stall
    while not done(last) and time.monotonic() < deadline:
        time.sleep(0.1)
        v = value()
        if v != last:
            last, deadline = v, time.monotonic() + stall
    return done(last)


check(bdst.req("PATCH", "/balloon", {"amount_mib": 32})[0] == 204 and
      wait_progress(balloon_actual, lambda v: v == 32),
      "the restored guest inflates its balloon to 32 MiB (%r)"
      % balloon_actual())
check(bdst.req("PATCH", "/balloon", {"amount_mib": 0})[0] == 204 and
      wait_progress(balloon_actual, lambda v: v == 0),
      "and deflates it (%r)" % balloon_actual())
# 12 phases take the program's allocations once round the 48 MiB pool.
p0 = phases()
check(wait_progress(phases, lambda v: v >= p0 + 14),
      "the program goes on for 14 phases (%d)" % (phases() - p0))
text = bdst.serial_text()
check("corrupt" not in text, "no page the guest uses lost its content")
check(bdst.stop() == 0, "the restored balloon guest stops")
out, err = bh.communicate(timeout=20)
out = out.decode()
print("balloon: %s" % out.strip())
m = re.search(r"\((\d+) with zeros\).* (\d+) pages given back by the VM",
              out)
check(bh.returncode == 0 and m is not None and int(m.group(2)) >= 32 * 256,
      "the handler heard of the 32 MiB given back: %r %r" % (out, err))
check(m is not None and int(m.group(1)) > 0,
      "and served zeros for the pages the program took again")

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
