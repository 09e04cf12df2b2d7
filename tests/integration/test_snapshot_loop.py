# SPDX-License-Identifier: GPL-2.0-only
"""100 restores of one snapshot (docs/snapshot.md), each in a new `vmon
run --restore DIR --resume` process (a load is allowed once per process,
as in Firecracker): every restore runs the counting guest on past the
snapshot's count and exits 0 on SIGTERM; the snapshot's files are never
changed (same bytes, same modification time, no file added to its
folder); every restored process holds the same number of file
descriptors (nothing a restore opens is left over or grows), none of
them a file of the snapshot once it runs (RAM maps the memory file). Memory
leaks of a process are LeakSanitizer's check at its exit in the
sanitizer build; the refused loads of one process leak nothing:
test_snapshot.py."""
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-snaploop-")
S = os.path.join(WORK, "snap")
ROUNDS = 100


def digest(d):
    out = {}
    for name in sorted(os.listdir(d)):
        st = os.stat(os.path.join(d, name))
        with open(os.path.join(d, name), "rb") as f:
            out[name] = (hashlib.sha256(f.read()).hexdigest(),
                         st.st_mtime_ns, st.st_size)
    return out


def last_count(path):
    try:
        with open(path, "rb") as f:
            data = f.read().decode(errors="replace")
    except FileNotFoundError:
        return -1
    lines = [l for l in data.split("\n") if l.startswith("c=") and len(l) == 10]
    return int(lines[-1][2:], 16) if lines else -1


src = vmon_api.Instance(id="snaploop-src-%d" % PID)
ok, b = src.boot_counter()
deadline = time.monotonic() + 30
while src.last_count() < 0x8000 and time.monotonic() < deadline:
    time.sleep(0.01)
check(ok and src.last_count() >= 0x8000, "boot the counting guest: %r" % (b,))
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
os.makedirs(S)
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": S + "/state",
                 "mem_file_path": S + "/memory"})
check(st == 204, "snapshot: %s %r" % (st, b))
base = src.last_count()
src.stop()
before = digest(S)

t0 = time.monotonic()
good, fds, held, worst = 0, set(), set(), 0.0
serial = os.path.join(WORK, "serial.out")
for i in range(ROUNDS):
    if os.path.exists(serial):
        os.unlink(serial)
    t = time.monotonic()
    p = subprocess.Popen([vmontest.VMON, "run", "--restore", S, "--resume",
                          "--serial", "file:" + serial],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    counted = False
    while time.monotonic() - t < 20 and p.poll() is None:
        if last_count(serial) > base:
            counted = True
            break
        time.sleep(0.002)
    if counted:
        links = vmontest.fd_targets(p.pid)
        fds.add(len(links))
        held |= {l for l in links if l.startswith(S + "/")}
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    worst = max(worst, time.monotonic() - t)
    if counted and code == 0:
        good += 1
    else:
        check(False, "restore %d: counted %s, exit %s: %s"
              % (i, counted, code, err[-500:]))
        break
elapsed = time.monotonic() - t0
print("%d restores in %.1f s (slowest %.0f ms)" % (good, elapsed, worst * 1000))
check(good == ROUNDS, "%d restores in a row count on and exit 0" % good)
check(len(fds) == 1, "every restored process holds the same fds: %s" % fds)
check(not held, "a resumed VM holds none of the snapshot's files: %s" % held)
check(digest(S) == before,
      "the snapshot's files are untouched (bytes, mtime, no new file)")

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
