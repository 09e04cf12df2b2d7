# SPDX-License-Identifier: GPL-2.0-only
"""PATCH /vm pause/resume: a guest counting on its vCPU makes no progress
while paused and goes on after resume, 100 times, without losing or
repeating a step; the guest's KVM clock does not jump over a pause."""
import os
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
inst = vmon_api.Instance(id="pause-test-%d" % os.getpid())
ok, body = inst.boot_counter(vcpus=2)
check(ok, "boot the counter guest (2 vCPUs) through the API %r" % (body,))


def wait_count(above, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = inst.last_count()
        if c > above:
            return c
        time.sleep(0.002)
    return inst.last_count()


check(wait_count(0) > 0, "the guest counts")
stalled = moved_on = 0
for i in range(100):
    st, b = inst.req("PATCH", "/vm", {"state": "Paused"})
    if st != 204:
        check(False, "pause %d: %s %r" % (i, st, b))
        break
    size1 = os.path.getsize(inst.serial)
    c1 = inst.last_count()
    time.sleep(0.03)
    if os.path.getsize(inst.serial) == size1 and inst.last_count() == c1:
        stalled += 1
    st, b = inst.req("PATCH", "/vm", {"state": "Resumed"})
    if st != 204:
        check(False, "resume %d: %s %r" % (i, st, b))
        break
    if wait_count(c1, 5) > c1:
        moved_on += 1
check(stalled == 100, "no output while paused: %d of 100 pauses" % stalled)
check(moved_on == 100, "counting goes on after resume: %d of 100" % moved_on)

# No step lost or repeated: the lines are 0x1000, 0x2000, ... in order.
inst.req("PATCH", "/vm", {"state": "Paused"})
lines = [l for l in inst.serial_text().split("\n") if l.startswith("c=")]
values = [int(l[2:], 16) for l in lines if len(l) == 10]
expected = [0x1000 * (k + 1) for k in range(len(values))]
check(len(values) > 100 and values == expected,
      "%d counter lines, contiguous and in order" % len(values))
inst.req("PATCH", "/vm", {"state": "Resumed"})

# The guest clock (kvmclock) does not count the paused time.
st, s1 = inst.req("GET", "/vmon/stats")
h1 = time.monotonic()
inst.req("PATCH", "/vm", {"state": "Paused"})
time.sleep(1.0)
inst.req("PATCH", "/vm", {"state": "Resumed"})
st, s2 = inst.req("GET", "/vmon/stats")
h2 = time.monotonic()
guest = (s2["guest_clock_ns"] - s1["guest_clock_ns"]) / 1e9
host = h2 - h1
check(s1["guest_clock_ns"] > 0 and abs(guest - (host - 1.0)) < 0.25,
      "guest clock advanced %.3f s over %.3f s with 1 s paused" % (guest, host))

st, _ = inst.req("PUT", "/actions", {"action_type": "Stop"})
check(st == 204 and inst.stop() == 0, "stop: exit 0")
if vmontest._failures:
    print(inst.stderr())
vmontest.finish()
