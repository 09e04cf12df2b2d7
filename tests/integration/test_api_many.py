# SPDX-License-Identifier: GPL-2.0-only
"""Many VMs side by side: 8 vmon instances each boot a counting guest
through the API; `vmon list` shows all 8 (socket, PID, state, vCPUs,
memory); `vmon pause|resume|stat|stop ID` drive one without touching the
others; all exit cleanly and unregister."""
import json
import os
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
N = 8
env = dict(os.environ, VMON_RUNTIME_DIR=tempfile.mkdtemp(prefix="vmon-run-"))


def vmon(*args):
    r = subprocess.run([vmontest.VMON] + list(args), env=env,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


insts = [vmon_api.Instance(id="vm%d" % i, env=env) for i in range(N)]
booted = 0
for i, inst in enumerate(insts):
    ok, _ = inst.boot_counter(vcpus=1 + i % 2, mem=16 + 8 * i)
    booted += ok
check(booted == N, "%d of %d instances booted through their API" % (booted, N))


def counting(inst, above, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inst.last_count() > above:
            return True
        time.sleep(0.05)
    return False


check(all(counting(x, 0) for x in insts), "all 8 guests count")

code, out, err = vmon("list")
rows = {l.split()[0]: l.split() for l in out.splitlines()[1:] if l.strip()}
good = 0
for i, inst in enumerate(insts):
    r = rows.get("vm%d" % i)
    if (r and r[1] == str(inst.p.pid) and r[2] == "Running" and
            r[3] == str(1 + i % 2) and r[4] == str(16 + 8 * i) and
            r[5] == inst.sock):
        good += 1
check(code == 0 and len(rows) == N and good == N,
      "vmon list shows the 8 instances with PID, state, vCPUs, memory, socket\n" + out)

code, out, err = vmon("pause", "vm3")
check(code == 0, "vmon pause vm3 " + err)
code, out, _ = vmon("list")
states = {l.split()[0]: l.split()[2] for l in out.splitlines()[1:] if l.strip()}
check(states.get("vm3") == "Paused" and
      sum(1 for s in states.values() if s == "Running") == N - 1,
      "only vm3 is paused")
c3 = insts[3].last_count()
others = [x.last_count() for x in insts]
time.sleep(0.5)
check(insts[3].last_count() == c3, "vm3 makes no progress while paused")
check(all(counting(x, others[i], 10) for i, x in enumerate(insts) if i != 3),
      "the 7 others keep counting")
code, _, err = vmon("resume", insts[3].sock)
check(code == 0 and counting(insts[3], c3), "vmon resume by socket path: vm3 counts again " + err)

code, out, err = vmon("stat", "vm5")
try:
    st = json.loads(out)
except ValueError:
    st = {}
check(code == 0 and st.get("exits", {}).get("IO", 0) > 0 and
      len(st.get("vcpus", [])) == 2, "vmon stat vm5 prints its metrics")
code, _, err = vmon("pause", "nosuch")
check(code == 2 and "no such vmon instance" in err, "vmon pause of an unknown id: exit 2")

codes = []
for i, inst in enumerate(insts):
    c, _, err = vmon("stop", "vm%d" % i)
    codes.append((c, inst.stop()))
check(all(c == (0, 0) for c in codes), "vmon stop: every instance exits 0 %r" % codes)
code, out, _ = vmon("list")
check(code == 0 and len(out.splitlines()) == 1, "vmon list is empty afterwards")
check(os.listdir(env["VMON_RUNTIME_DIR"]) == [], "the registry entries are removed")
vmontest.finish()
