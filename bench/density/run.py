#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/density - how many VMs a host holds and how fast it starts them
(docs/density.md, figures in docs/performance.md):

- start rate: N VMs (the density guest, idle) started at once, the time
  until all said ready, for N = 1, 10, 50 (--starts);
- sharing: K VMs of 128 MiB, each filling 96 MiB with the same content,
  with and without --mem-merge (KSM on at a high rate while it runs, the
  host's settings restored): their summed PSS and the ratio, i.e. how many
  more such VMs fit in the same memory. Needs root for KSM.

Usage: bench/density/run.py [--build DIR] [--starts 1,10,50] [--vms 4]
Not a test: it prints figures. vmon only (no QEMU comparison yet).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import vmon_api  # noqa: E402

MIB = 1 << 20
KSM = "/sys/kernel/mm/ksm/"


def start(vmon, guest, env, name, mem, args, merge):
    d = tempfile.mkdtemp(prefix="vmon-bench-density-")
    mc = {"vcpu_count": 1, "mem_size_mib": mem}
    if merge:
        mc["mem_merge"] = True
    cfg = os.path.join(d, "c.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": guest,
                                   "boot_args": args},
                   "machine-config": mc}, f)
    p = subprocess.Popen([vmon, "run", "--config-file", cfg, "--api-sock",
                          d + "/api.sock", "--id", name, "--serial",
                          "file:" + d + "/serial"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    return p, d


def ready(d):
    try:
        with open(d + "/serial") as f:
            return "density: ready" in f.read()
    except FileNotFoundError:
        return False


def wait_all(vms, limit=300):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if all(ready(d) for _, d in vms):
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


def stop(vms):
    for p, d in vms:
        try:
            vmon_api.request(d + "/api.sock", "PUT", "/actions",
                             {"action_type": "Stop"})
        except OSError:
            pass
    for p, _ in vms:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def pss(d):
    st, m = vmon_api.request(d + "/api.sock", "GET", "/vmon/stats")
    return m["memory"]["process_pss_bytes"] if st == 200 else 0


def bench_starts(a, env, counts):
    for n in counts:
        t0 = time.monotonic()
        vms = [start(a.vmon, a.guest, env, "s%d-%d" % (n, i), 16, "", False)
               for i in range(n)]
        t = wait_all(vms)
        wall = time.monotonic() - t0
        stop(vms)
        print("start: %3d VMs at once: all ready in %.2f s (%.1f VMs/s)" %
              (n, wall, n / wall) if t else "start: %d VMs: timed out" % n)


def ksm(name, value=None):
    with open(KSM + name, "r+" if value is not None else "r") as f:
        if value is None:
            return int(f.read())
        f.write(str(value))


def bench_sharing(a, env, k):
    saved = {n: ksm(n) for n in ("run", "pages_to_scan", "sleep_millisecs")}
    try:
        ksm("pages_to_scan", 20000)
        ksm("sleep_millisecs", 10)
        ksm("run", 1)
        res = {}
        for merge in (False, True):
            vms = [start(a.vmon, a.guest, env, "k%d-%d" % (merge, i), 128,
                         "fill=96 seed=3", merge) for i in range(k)]
            wait_all(vms)
            scans = ksm("full_scans")
            while merge and ksm("full_scans") < scans + 3:
                time.sleep(0.2)
            res[merge] = sum(pss(d) for _, d in vms)
            stop(vms)
        print("sharing: %d VMs x 96 MiB of the same content: PSS %d MiB "
              "without merge, %d MiB with --mem-merge: %.1fx as many VMs "
              "per GiB" % (k, res[False] // MIB, res[True] // MIB,
                            res[False] / max(res[True], 1)))
    finally:
        for n in ("pages_to_scan", "sleep_millisecs", "run"):
            ksm(n, saved[n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--starts", default="1,10,50")
    ap.add_argument("--vms", type=int, default=4)
    a = ap.parse_args()
    a.vmon = os.path.abspath(os.path.join(a.build, "vmon"))
    a.guest = os.path.abspath(os.path.join(a.build, "guest", "density.elf"))
    rundir = tempfile.mkdtemp(prefix="vmon-bench-run-")
    env = dict(os.environ, VMON_RUNTIME_DIR=rundir)
    bench_starts(a, env, [int(x) for x in a.starts.split(",")])
    if os.access(KSM + "run", os.W_OK):
        bench_sharing(a, env, a.vms)
    else:
        print("sharing: skipped (KSM settings not writable: needs root)")


main()
