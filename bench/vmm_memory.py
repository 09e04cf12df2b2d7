#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/vmm_memory.py - the VMM's own memory per VM: what a process holds
beyond its guest's pages (docs/performance.md, "Start cost and memory").

Starts N idle VMs at once (build/guest/density.elf, 128 MiB, which says
"density: ready" and halts), waits for every ready line, then reads each
process's /proc/PID/smaps and prints, per VM (median, min, max over the N):

  rss_minus_guest      RSS minus the guest RAM's resident pages: shared
                       library and binary pages count whole in every VM
  pss_minus_guest      PSS minus the guest's: pages shared between the N
                       instances (the binary's text, libraries) divided
  private_minus_guest  Private_Clean + Private_Dirty minus the guest's:
                       what one more VM costs once the text is shared

--api: instances configured as the API does it (--api-sock and
--config-file: libmicrohttpd and what it loads are mapped too).
The guest RAM is the mapping of the guest's size (vmon: the 2 MiB mapping
just below it as well, its first 2 MiB without transparent huge pages).

Usage: bench/vmm_memory.py [--build build] [-n 10] [--api] [--mem 128]
                           [--maps]   (also each mapping's RSS, first VM)
                           [--vmon PATH]   (another binary, to compare)
Not a test: it prints figures (and the load average before and after).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HUGE = 2 << 20
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


def smaps(pid):
    """[(start, end, name, {field: bytes})] of /proc/PID/smaps."""
    maps = []
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and not w[0].endswith(":"):
                lo, hi = w[0].split("-")
                maps.append((int(lo, 16), int(hi, 16),
                             w[5] if len(w) > 5 else "[anon]", {}))
            elif maps and w[0][:-1] in FIELDS:
                maps[-1][3][w[0][:-1]] = int(w[1]) * 1024
    return maps


def guest_maps(maps, guest_bytes):
    """The mappings of guest RAM: those of at least @guest_bytes - 2 MiB,
    and an anonymous 2 MiB one ending where such a one starts."""
    big = [m for m in maps if m[1] - m[0] >= max(guest_bytes - HUGE, HUGE + 1)]
    starts = {m[0] for m in big}
    return big + [m for m in maps if m[1] in starts and m[1] - m[0] == HUGE
                  and m[2] == "[anon]"]


def sample(pid, guest_bytes):
    """{field: (whole process, guest RAM)} in bytes, or None (gone)."""
    try:
        maps = smaps(pid)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    guest = guest_maps(maps, guest_bytes)
    return {k: (sum(m[3].get(k, 0) for m in maps),
                sum(m[3].get(k, 0) for m in guest)) for k in FIELDS}


def overhead(s):
    """The per-VM figures of a sample(), in KiB."""
    def minus(*keys):
        return sum(s[k][0] - s[k][1] for k in keys) // 1024
    return {"rss_minus_guest": minus("Rss"), "pss_minus_guest": minus("Pss"),
            "private_minus_guest": minus("Private_Clean", "Private_Dirty"),
            "guest_rss": s["Rss"][1] // 1024}


def start(a, d, i):
    serial = os.path.join(d, "serial%d" % i)
    open(serial, "w").close()
    if a.api:
        cfg = os.path.join(d, "vm%d.json" % i)
        with open(cfg, "w") as f:
            f.write('{"boot-source": {"kernel_image_path": "%s"}, '
                    '"machine-config": {"vcpu_count": 1, "mem_size_mib": %d}}'
                    % (a.guest, a.mem))
        cmd = [a.vmon, "--api-sock", os.path.join(d, "api%d" % i),
               "--config-file", cfg]
    else:
        cmd = [a.vmon, "run", "-k", a.guest, "-m", "%dM" % a.mem]
    p = subprocess.Popen(cmd + ["--serial", "file:" + serial, "-q"],
                         stdin=subprocess.DEVNULL,
                         env=dict(os.environ, VMON_RUNTIME_DIR=d))
    return p, serial


def wait_ready(vms, timeout=120):
    t0 = time.monotonic()
    for p, serial in vms:
        while True:
            with open(serial, "rb") as f:
                if b"ready" in f.read():
                    break
            if p.poll() is not None or time.monotonic() - t0 > timeout:
                sys.exit("a VM did not say ready (exit %s)" % p.poll())
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--api", action="store_true")
    ap.add_argument("--mem", type=int, default=128)
    ap.add_argument("--maps", action="store_true")
    ap.add_argument("--vmon", help="this binary instead of BUILD/vmon")
    a = ap.parse_args()
    a.vmon = os.path.abspath(a.vmon or os.path.join(a.build, "vmon"))
    a.guest = os.path.abspath(os.path.join(a.build, "guest", "density.elf"))
    print("load average before: %s" % open("/proc/loadavg").read().strip())
    d = tempfile.mkdtemp(prefix="vmon-mem-")
    vms = [start(a, d, i) for i in range(a.n)]
    try:
        wait_ready(vms)
        time.sleep(0.5)  # the last lines of the console and the log settle
        rows = [overhead(sample(p.pid, a.mem << 20)) for p, _ in vms]
        if a.maps:
            by = {}
            for m in smaps(vms[0][0].pid):
                by[m[2]] = by.get(m[2], 0) + m[3].get("Rss", 0)
            for name, rss in sorted(by.items(), key=lambda x: -x[1]):
                if rss:
                    print("  %6d KiB  %s" % (rss // 1024, name))
    finally:
        for p, _ in vms:
            p.kill()
            p.wait()
    print("%d %s VMs of %d MiB at once, per VM (KiB):" %
          (a.n, "API" if a.api else "`vmon run`", a.mem))
    for k in ("rss_minus_guest", "pss_minus_guest", "private_minus_guest",
              "guest_rss"):
        v = [r[k] for r in rows]
        print("  %-20s median %6d  min %6d  max %6d" %
              (k, statistics.median(v), min(v), max(v)))
    print("load average after: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
