#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/density - how many VMs a host holds and how fast it starts them,
vmon against QEMU on the same guest (docs/density.md; figures and the
chart in docs/performance.md). The guest is build/guest/density.elf (QEMU:
its ELF32 copy, -M microvm, the same CPU flags as vmon's template), which
fills "fill=N" MiB with content set by "seed=" and says "density: ready".

- starts:  N VMs (16 MiB, idle guest) started at once, the time until all
  said ready, N = --starts (default 1,5,10,25; up to 100 with more time);
  Firecracker's published 150 VMs/s per host is the reference line;
- idle:    --idle K idle VMs of 128 MiB: each process's RSS and PSS
  (smaps_rollup), against Firecracker's 5 MiB overhead limit;
- sharing: --vms K VMs of 128 MiB filling 96 MiB with the same content,
  summed PSS without and with merging (vmon --mem-merge; QEMU merges by
  default, -machine mem-merge=off without); KSM runs fast while it does
  (the host's settings are restored). Needs root;
- budget:  how many such VMs fit in a memory cgroup of --budget (default
  512M; the issue's 4G takes long on a small host) started one after the
  other (each waits for its ready line and, merging, for KSM's scans),
  until one is OOM-killed or --max VMs (default 12) run: vmon and QEMU,
  each without and with merging, and vmon clones (`run --restore` of one
  snapshot of such a VM: they share its unwritten pages without KSM).
  Needs root.

Usage: bench/density/run.py [--build DIR] [--starts 1,5,10,25] [--idle 5]
       [--vms 4] [--budget 512M] [--max 12] [--only starts,idle,...]
       [--json FILE] [--chart FILE.svg]
Not a test: it prints figures (and the load average before and after).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
import memcg  # noqa: E402
import vmon_api  # noqa: E402

MIB = 1 << 20
KSM = "/sys/kernel/mm/ksm/"
FIRECRACKER_STARTS = 150  # VMs/s per host, Firecracker's design target
FIRECRACKER_OVERHEAD = 5  # MiB per VM, Firecracker's overhead limit


def qemu_cpu():
    """QEMU -cpu flags like vmon's template (bench/boot's pvm_features)."""
    if os.path.exists("/sys/module/kvm_pvm"):
        return ("host,-cx16,-xsave,-popcnt,-smap,-erms,-fsrm,+xsaveerptr,"
                "-arch-capabilities")
    return "host"


class Launcher:
    """Starts one side's VMs: 'vmon' or 'qemu', optionally in a cgroup."""

    def __init__(self, side, a):
        self.side, self.a = side, a

    def cmd(self, mem, args, merge, serial):
        if self.side == "clone":
            return [self.a.vmon, "run", "--restore", self.a.snapshot,
                    "--resume", "--serial", "file:" + serial]
        if self.side == "vmon":
            c = [self.a.vmon, "run", "-k", self.a.guest, "-c", args, "-m",
                 str(mem), "--serial", "file:" + serial]
            return c + (["--mem-merge"] if merge else [])
        return ["qemu-system-x86_64", "-M", "microvm,acpi=off,mem-merge=" +
                ("on" if merge else "off"), "-accel", "kvm,kernel-irqchip=on",
                "-cpu", qemu_cpu(), "-m", "%dM" % mem, "-nodefaults",
                "-no-user-config", "-nographic", "-no-reboot", "-serial",
                "file:" + serial, "-kernel", self.a.guest + "32", "-append",
                args]

    def start(self, mem, args, merge=False, cgroup=None):
        d = tempfile.mkdtemp(prefix="vmon-bench-density-%s-" % self.side)
        serial = os.path.join(d, "serial")
        c = self.cmd(mem, args, merge, serial)
        if cgroup:
            c = memcg.join_cmd(cgroup, c)
        p = subprocess.Popen(c, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=self.a.env)
        return p, serial


def ready(serial):
    """The guest's ready line; a clone (its guest said it before the
    snapshot) is ready when its vmon has opened the serial file."""
    if "clone-" in serial:
        return os.path.exists(serial)
    try:
        with open(serial) as f:
            return "density: ready" in f.read()
    except FileNotFoundError:
        return False


def wait_all(vms, limit=300):
    """Seconds until every VM said ready; None if one died or time ran out."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if all(ready(s) for _, s in vms):
            return time.monotonic() - t0
        if any(p.poll() is not None for p, _ in vms):
            return None
        time.sleep(0.01)
    return None


def stop(vms):
    for p, _ in vms:
        if p.poll() is None:
            p.terminate()
    for p, s in vms:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(os.path.dirname(s), ignore_errors=True)


def rollup(pid):
    """(RSS, PSS) of process @pid in bytes."""
    r = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            w = line.split()
            if w[0] in ("Rss:", "Pss:"):
                r[w[0]] = int(w[1]) * 1024
    return r.get("Rss:", 0), r.get("Pss:", 0)


def bench_starts(a, res):
    res["starts"] = {}
    for side in a.sides:
        L = Launcher(side, a)
        for n in a.starts:
            t0 = time.monotonic()
            vms = [L.start(16, "seed=%d" % i) for i in range(n)]
            t = wait_all(vms)
            wall = time.monotonic() - t0
            stop(vms)
            res["starts"].setdefault(side, {})[n] = wall if t else None
            print("starts: %-4s %3d VMs at once: %s" % (
                side, n, "all ready in %.2f s (%.1f VMs/s)" % (wall, n / wall)
                if t else "not all ready"), flush=True)


def bench_idle(a, res):
    res["idle"] = {}
    for side in a.sides:
        vms = [Launcher(side, a).start(128, "seed=%d" % i)
               for i in range(a.idle)]
        ok = wait_all(vms) is not None
        time.sleep(1)
        mem = [rollup(p.pid) for p, _ in vms] if ok else []
        stop(vms)
        if not mem:
            print("idle: %s: not all ready" % side)
            continue
        rss = sum(m[0] for m in mem) / len(mem) / MIB
        pss = sum(m[1] for m in mem) / len(mem) / MIB
        res["idle"][side] = {"rss_mib": rss, "pss_mib": pss}
        print("idle: %-4s %d VMs of 128 MiB: RSS %.1f MiB, PSS %.1f MiB per "
              "VM (Firecracker's overhead limit: %d MiB)" %
              (side, a.idle, rss, pss, FIRECRACKER_OVERHEAD), flush=True)


def ksm(name, value=None):
    with open(KSM + name, "r+" if value is not None else "r") as f:
        if value is None:
            return int(f.read())
        f.write(str(value))


def ksm_settle():
    """Waits for KSM to go over everything twice (bounded)."""
    scans, t0 = ksm("full_scans"), time.monotonic()
    while ksm("full_scans") < scans + 2 and time.monotonic() - t0 < 60:
        time.sleep(0.2)


def bench_sharing(a, res):
    res["sharing"] = {}
    for side in a.sides:
        for merge in (False, True):
            vms = [Launcher(side, a).start(128, "fill=96 seed=3", merge)
                   for _ in range(a.vms)]
            ok = wait_all(vms) is not None
            if merge:
                ksm_settle()
            pss = sum(rollup(p.pid)[1] for p, _ in vms) if ok else 0
            stop(vms)
            res["sharing"]["%s %s" % (side, "merge" if merge else "plain")] \
                = pss / MIB
            print("sharing: %-4s %d VMs x 96 MiB alike, %s: PSS %d MiB" %
                  (side, a.vms, "merged" if merge else "not merged",
                   pss // MIB), flush=True)


def make_snapshot(a):
    """A snapshot of a 128 MiB VM whose guest filled 96 MiB, for clones."""
    d = tempfile.mkdtemp(prefix="vmon-bench-snap-")
    cfg, sock = os.path.join(d, "c.json"), os.path.join(d, "api.sock")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": a.guest,
                                   "boot_args": "fill=96 seed=3"},
                   "machine-config": {"vcpu_count": 1,
                                      "mem_size_mib": 128}}, f)
    p = subprocess.Popen([a.vmon, "run", "--config-file", cfg, "--api-sock",
                          sock, "--serial", "file:" + d + "/serial"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=a.env)
    ok = wait_all([(p, d + "/serial")]) is not None
    if ok:
        ok = (vmon_api.request(sock, "PATCH", "/vm",
                               {"state": "Paused"})[0] == 204 and
              vmon_api.request(sock, "PUT", "/snapshot/create", {
                  "snapshot_type": "Full", "snapshot_path": d + "/state",
                  "mem_file_path": d + "/memory"})[0] == 204)
    p.terminate()
    p.wait()
    return d if ok else None


def fit(a, side, merge):
    """VMs started one by one in a --budget cgroup until one dies."""
    cg = memcg.memory_cgroup("vmon-bench-%d-%s-%d" % (os.getpid(), side,
                                                        merge), a.budget)
    if not cg:
        return None
    vms = []
    try:
        while len(vms) < a.max:
            vms.append(Launcher(side, a).start(128, "fill=96 seed=3", merge,
                                               cg))
            if wait_all(vms[-1:], 120) is None:
                break
            if merge:
                ksm_settle()
            if any(p.poll() is not None for p, _ in vms):
                break
        time.sleep(2)  # a VM killed just after its ready line counts not
        return sum(p.poll() is None and ready(s) for p, s in vms)
    finally:
        stop(vms)
        time.sleep(0.5)
        try:
            os.rmdir(cg)
        except OSError:
            pass


def bench_budget(a, res):
    res["budget"] = {"budget_mib": a.budget // MIB, "max": a.max}
    a.snapshot = make_snapshot(a)
    for side, merge in [(s, m) for s in a.sides for m in (False, True)] + (
            [("clone", False)] if a.snapshot else []):
        n = fit(a, side, merge)
        res["budget"]["%s %s" % (side, "merge" if merge else "plain")] = n
        print("budget: %-5s %s: %s VMs of 128 MiB (96 MiB alike) in %d "
              "MiB%s" % (side, "restored from one snapshot" if side == "clone"
                         else "merged" if merge else "not merged",
                         "?" if n is None else n, a.budget // MIB,
                         " (the --max cap)" if n == a.max else ""),
              flush=True)
    if a.snapshot:
        shutil.rmtree(a.snapshot, ignore_errors=True)


def chart(res, out):
    """Start rate per parallel start count, vmon and QEMU, gnuplot SVG."""
    st = res.get("starts", {})
    ns = sorted({n for s in st.values() for n in s})
    rows = ["%d %s %s %d" % (n, *["%.2f" % (n / st[s][n])
                                   if st.get(s, {}).get(n) else "NaN"
                                   for s in ("vmon", "qemu")],
                              FIRECRACKER_STARTS) for n in ns]
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        f.write("\n".join(rows) + "\n")
        data = f.name
    script = """set terminal svg size 640,400 font 'sans,11'
set output '%s'
set title 'VMs started at once: VMs per second until all are ready'
set xlabel 'VMs started in parallel'
set ylabel 'VMs / s'
set logscale y
set key top left
plot '%s' using 1:2 with linespoints title 'vmon', \\
     '' using 1:3 with linespoints title 'QEMU (microvm)', \\
     '' using 1:4 with lines dashtype 2 title 'Firecracker target (150/s)'
""" % (out, data)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    finally:
        os.unlink(data)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--starts", default="1,5,10,25")
    ap.add_argument("--idle", type=int, default=5)
    ap.add_argument("--vms", type=int, default=4)
    ap.add_argument("--budget", default="512M")
    ap.add_argument("--max", type=int, default=12)
    ap.add_argument("--only", default="starts,idle,sharing,budget")
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--chart")
    a = ap.parse_args()
    a.vmon = os.path.abspath(os.path.join(a.build, "vmon"))
    a.guest = os.path.abspath(os.path.join(a.build, "guest", "density.elf"))
    a.starts = [int(x) for x in a.starts.split(",")]
    units = {"K": 1 << 10, "M": MIB, "G": 1 << 30}
    a.budget = int(a.budget[:-1]) * units[a.budget[-1].upper()] \
        if a.budget[-1].upper() in units else int(a.budget)
    a.sides = ["vmon"] + ([] if a.no_qemu or
                          not shutil.which("qemu-system-x86_64") or
                          not os.path.exists(a.guest + "32") else ["qemu"])
    rundir = tempfile.mkdtemp(prefix="vmon-bench-run-")
    os.chmod(rundir, 0o700)
    a.env = dict(os.environ, VMON_RUNTIME_DIR=rundir)
    res = {"load_before": loadavg(), "sides": a.sides}
    print("load average before: %s; sides: %s" % (res["load_before"],
                                                   ", ".join(a.sides)))
    only = a.only.split(",")
    root = os.access(KSM + "run", os.W_OK)
    saved = {n: ksm(n) for n in ("run", "pages_to_scan",
                                 "sleep_millisecs")} if root else {}
    try:
        if root:
            ksm("pages_to_scan", 20000)
            ksm("sleep_millisecs", 10)
            ksm("run", 1)
        for name, fn in (("starts", bench_starts), ("idle", bench_idle),
                         ("sharing", bench_sharing),
                         ("budget", bench_budget)):
            if name not in only:
                continue
            if name in ("sharing", "budget") and not root:
                print("%s: skipped (KSM and cgroups need root)" % name)
                continue
            fn(a, res)
    finally:
        for n in ("pages_to_scan", "sleep_millisecs", "run"):
            if n in saved:
                ksm(n, saved[n])
    res["load_after"] = loadavg()
    print("load average after: %s" % res["load_after"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if a.chart and "starts" in res:
        chart(res, a.chart)


main()
