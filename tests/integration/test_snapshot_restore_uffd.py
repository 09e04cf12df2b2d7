# SPDX-License-Identifier: GPL-2.0-only
"""`vmon run --restore DIR --mem-backend uffd:SOCKET` (docs/vmon.1,
docs/snapshot.md): the Uffd back-end from the command line. A snapshot of
snap_probe.elf (64 MiB, RAM filled with a pattern it checks page by page)
restored with `vmon uffd-handler` serving DIR/memory: the guest counts on
without a step lost and finds its pattern intact (every page through the
handler), SIGTERM ends vmon with 0 and the handler then exits 0 having
served faults; a handler killed under a running restore ends vmon with
18; --clock-realtime advances the restored guest clock (GET /vmon/stats
with --api-sock) by the time since the snapshot; bad --mem-backend values,
the options without --restore and a missing handler are refused (2)."""
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
WORK = tempfile.mkdtemp(prefix="vmon-restore-uffd-")
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "snap_probe.elf")
SNAP = os.path.join(WORK, "snap")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def handler(tag):
    sock = os.path.join(WORK, tag + ".sock")
    h = subprocess.Popen([vmontest.VMON, "uffd-handler", sock,
                          os.path.join(SNAP, "memory")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(h.stdout.readline().startswith(b"listening on"),
          "%s: the handler listens" % tag)
    return h, sock


def restore(tag, extra):
    serial = os.path.join(WORK, tag + ".serial")
    err = open(os.path.join(WORK, tag + ".err"), "wb")
    p = subprocess.Popen([vmontest.VMON, "run", "--restore", SNAP,
                          "--serial", "file:" + serial] + extra,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=err)
    return p, serial


# --- The snapshot, mid-count ---
src = vmon_api.Instance(id="restore-uffd-src-%d" % PID)
check(src.req("PUT", "/boot-source", {"kernel_image_path": PROBE})[0] == 204
      and src.req("PUT", "/machine-config",
                  {"vcpu_count": 1, "mem_size_mib": 64})[0] == 204
      and src.req("PUT", "/actions",
                  {"action_type": "InstanceStart"})[0] == 204, "boot")
check(vmontest.wait_for(lambda: len(vmontest.counter_lines(src.serial_text())) > 4), "the source counts")
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
os.makedirs(SNAP)
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Full",
                 "snapshot_path": os.path.join(SNAP, "state"),
                 "mem_file_path": os.path.join(SNAP, "memory")})
check(st == 204, "snapshot/create: %s %r" % (st, b))
g_src = src.req("GET", "/vmon/stats")[1]["guest_clock_ns"] / 1e9
t_snap = time.monotonic()  # after that reading
check(src.stop() == 0, "the source stops")
before = src.serial_text()  # its UART output flushed by now

# --- Refused ---
for args, what in (
        (["--restore", SNAP, "--mem-backend", "uffd:"], "uffd: without a path"),
        (["--restore", SNAP, "--mem-backend", "tmpfs"], "an unknown back-end"),
        (["-k", PROBE, "--mem-backend", "uffd:/x"], "without --restore"),
        (["-k", PROBE, "--clock-realtime"], "--clock-realtime without --restore"),
        (["--restore", SNAP, "--mem-backend",
          "uffd:" + os.path.join(WORK, "none.sock")], "no handler there")):
    r = vmontest.run(["run"] + args, timeout=60)
    check(r.code == 2 and "vmon: " in r.err,
          "refused with 2: %s (%s %r)" % (what, r.code, r.err[-300:]))

# --- Restored through the handler: counts on, SIGTERM, the handler ends ---
h, sock = handler("served")
p, serial = restore("served", ["--mem-backend", "uffd:" + sock, "--resume"])
check(vmontest.wait_for(lambda: len(vmontest.counter_lines(read(serial))) > 300),
      "the restored guest counts on through the handler")
p.send_signal(signal.SIGTERM)
check(p.wait(30) == 0, "SIGTERM ends the restored vmon with 0")
# The guest may have stopped mid-line: the restored one ends that line.
both = vmontest.counter_lines(before + read(serial))
check(len(both) > len(vmontest.counter_lines(before)) + 300 and
      both == [0x1000 * (k + 1) for k in range(len(both))],
      "it goes on from the snapshot, no step lost or repeated (%d lines "
      "before, %d in all)" % (len(vmontest.counter_lines(before)), len(both)))
check("BAD" not in read(serial), "its memory (the pattern) is intact")
out, _ = h.communicate(timeout=30)
check(h.returncode == 0 and b"fault" in out,
      "the handler exits 0 when the VM is gone: %r" % out[-200:])

# --- A killed handler: 18 ---
h, sock = handler("killed")
p, serial = restore("killed", ["--mem-backend", "uffd:" + sock, "--resume"])
check(vmontest.wait_for(lambda: len(vmontest.counter_lines(read(serial))) > 20), "it counts")
h.kill()
h.wait()
try:
    code = p.wait(60)
except subprocess.TimeoutExpired:
    p.kill()
    code = None
check(code == 18 and "page-fault handler closed its socket" in
      read(os.path.join(WORK, "killed.err")),
      "the handler killed: vmon exits 18 (%s)" % code)

# --- --clock-realtime (and the File back-end named) ---
api = os.path.join(WORK, "api.sock")
p, serial = restore("clock", ["--mem-backend", "file", "--clock-realtime",
                              "--resume", "--api-sock", api,
                              "--id", "restore-uffd-clk-%d" % PID])
check(vmon_api.wait_socket(api, p), "the API answers")
since = time.monotonic() - t_snap
st, s = vmon_api.request(api, "GET", "/vmon/stats")
ahead = s["guest_clock_ns"] / 1e9 - g_src
check(st == 200 and ahead >= since,
      "--clock-realtime: the guest clock is %.2f s ahead of the snapshot's, "
      "at least the %.2f s since" % (ahead, since))
p.send_signal(signal.SIGTERM)
check(p.wait(30) == 0, "it stops")

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
