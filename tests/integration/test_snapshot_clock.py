# SPDX-License-Identifier: GPL-2.0-only
"""clock_realtime on PUT /snapshot/load (docs/snapshot.md): a snapshot of
the counting guest (run 2 s) is loaded twice, 4 s after it was taken.
Without the field the guest clock (kvmclock, GET /vmon/stats
guest_clock_ns) goes on from the pause: at least the source's reading
before the pause, ahead of its reading after the pause by no more than the
time the load took; with clock_realtime: true it is ahead by at
least the 4 s that passed (the wall clock since the snapshot). The
source's reading comes after the pause, so both bounds are exact: the
guest clock runs at the host's rate while the source is paused, and the
restored one from its resume."""
import os
import shutil
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-snapclock-")
WAIT = 4.0


def clock(inst):
    st, s = inst.req("GET", "/vmon/stats")
    check(st == 200 and s.get("guest_clock_ns", -1) > 0,
          "guest_clock_ns: %s %r" % (st, s))
    return s["guest_clock_ns"] / 1e9


def load(tag, body_extra):
    inst = vmon_api.Instance(id="snapclk-%s-%d" % (tag, PID))
    body = {"snapshot_path": os.path.join(WORK, "state"),
            "mem_backend": {"backend_type": "File",
                            "backend_path": os.path.join(WORK, "memory")},
            "resume_vm": True}
    body.update(body_extra)
    t0 = time.monotonic()
    st, b = inst.req("PUT", "/snapshot/load", body)
    check(st == 204, "load %s: %s %r" % (tag, st, b))
    g = clock(inst)
    return inst, g, time.monotonic() - t0


src = vmon_api.Instance(id="snapclk-src-%d" % PID)
ok, body = src.boot_counter()
check(ok, "boot the counter guest %r" % (body,))
deadline = time.monotonic() + 30
while clock(src) < 2.0 and time.monotonic() < deadline:
    time.sleep(0.1)
g_pre = clock(src)  # the clock at the pause is at least this
check(g_pre >= 2.0 and src.last_count() > 0, "the source runs 2 s, counting")
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Full",
                 "snapshot_path": os.path.join(WORK, "state"),
                 "mem_file_path": os.path.join(WORK, "memory")})
check(st == 204, "snapshot/create: %s %r" % (st, b))
t_read = time.monotonic()
g_src = clock(src)
t_src = time.monotonic()
check(src.stop() == 0, "the source stops")
time.sleep(max(0.0, WAIT - (time.monotonic() - t_src)))

plain, g1, took = load("plain", {})
check(g1 >= g_pre, "the restored guest clock (%.3f s) starts from the "
      "snapshot's (at least %.3f s)" % (g1, g_pre))
ahead = g1 - g_src
check(ahead <= took + 0.05,
      "without clock_realtime the guest clock goes on from the pause: "
      "%.3f s ahead, the load took %.3f s" % (ahead, took))
check(plain.stop() == 0, "the plain restore stops")

since = time.monotonic() - t_src
real, g2, took = load("realtime", {"clock_realtime": True})
ahead = g2 - g_src
check(ahead >= since,
      "with clock_realtime the guest clock is %.3f s ahead, at least the "
      "%.3f s since the source's reading" % (ahead, since))
check(ahead <= time.monotonic() - t_read + 0.05,
      "and not more than the wall clock since (%.3f s)" % ahead)
lines = real.last_count()
deadline = time.monotonic() + 30
while real.last_count() <= lines + 0x4000 and time.monotonic() < deadline:
    time.sleep(0.01)
check(real.last_count() > lines + 0x4000, "the advanced guest counts on")
check(real.stop() == 0, "the advanced restore stops")

bad = vmon_api.Instance(id="snapclk-bad-%d" % PID)
st, b = bad.req(
    "PUT", "/snapshot/load",
    {"snapshot_path": os.path.join(WORK, "state"),
     "mem_backend": {"backend_type": "File",
                     "backend_path": os.path.join(WORK, "memory")},
     "clock_realtime": "yes"})
check(st == 400 and "clock_realtime" in b.get("fault_message", ""),
      "clock_realtime must be a boolean: %s %r" % (st, b))
bad.stop()
shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
