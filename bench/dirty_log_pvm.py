#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/dirty_log_pvm.py - how often KVM's dirty log misses pages
(docs/migration.md, "Pages the dirty log does not report"), the ring
against the bitmap. Boots the default Linux guest (scripts/build-guest)
once, starts a loop of shell builtins in it, then migrates it from one
vmon process to the next RUNS times on this host (`vmon migrate
--bandwidth 8M --verify on`: a few pre-copy rounds while the guest
runs), the source alternately with `--dirty-log ring` and `bitmap`.
The check of RAM against the log at each switch-over counts the pages
that changed with no report; prints one line a migration and, per log,
the migrations that missed pages and the mean downtime.
Needs /dev/kvm.

Usage: bench/dirty_log_pvm.py [--build build] [--runs 30] [--mem 256]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LOGS = ["ring", "bitmap"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--mem", type=int, default=256, help="guest MiB")
    a = ap.parse_args()
    vmon = os.path.abspath(os.path.join(a.build, "vmon"))
    cache = os.environ.get("VMON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "vmon")
    guests = glob.glob(os.path.join(cache, "guest", "default"))
    if not guests:
        sys.exit("no default guest: run scripts/build-guest")
    g = guests[0]
    work = tempfile.mkdtemp(prefix="vmon-dirtylog-")
    env = dict(os.environ, VMON_RUNTIME_DIR=os.path.join(work, "run"))
    cfg = os.path.join(work, "cfg.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {
            "kernel_image_path": os.path.join(g, "vmlinux"),
            "initrd_path": os.path.join(g, "initramfs.cpio"),
            "boot_args": "console=ttyS0 reboot=k panic=-1 acpi=off "
                         "pci=off vmon.shell"},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": a.mem}}, f)
    procs = []

    def start(i, extra, stdin):
        out = open(os.path.join(work, "out%d" % i), "w")
        serial = ["--serial", "stdio"] if stdin == subprocess.PIPE else \
            ["--serial", "file:" + os.path.join(work, "serial%d" % i)]
        p = subprocess.Popen(
            [vmon, "run", "--id", "dl%d" % i, "--api-sock",
             os.path.join(work, "api%d.sock" % i), "--dirty-log",
             LOGS[i % 2]] + serial + extra,
            env=env, stdin=stdin, stdout=out, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    missed = {log: [] for log in LOGS}
    downtime = {log: [] for log in LOGS}
    try:
        src = start(0, ["--config-file", cfg], subprocess.PIPE)
        t0 = time.monotonic()
        while "VMON-GUEST-OK" not in open(os.path.join(work, "out0"),
                                          errors="replace").read():
            if src.poll() is not None or time.monotonic() - t0 > 900:
                sys.exit("the guest did not boot: see %s/out0" % work)
            time.sleep(1)
        time.sleep(3)
        src.stdin.write(b"i=0; while :; do i=$((i+1)); "
                        b"echo $i > /dev/null; done &\n")
        src.stdin.flush()
        time.sleep(5)
        for i in range(a.runs):
            url = "unix:" + os.path.join(work, "m%d.sock" % i)
            dst = start(i + 1, ["--incoming", url], subprocess.DEVNULL)
            time.sleep(1)
            r = subprocess.run([vmon, "migrate", "dl%d" % i, url,
                                "--verify", "on", "--bandwidth", "8M"],
                               env=env, capture_output=True, text=True,
                               timeout=600)
            text = (r.stdout + r.stderr).replace("\r", "\n")
            if r.returncode:
                sys.exit("migration %d failed (%d): %s"
                         % (i, r.returncode, text[-500:]))
            log = LOGS[i % 2]
            n = re.search(r"(\d+) pages changed that", text)
            # The summary line, after the progress lines.
            d = re.search(r"migrated in \d+ ms, downtime (\d+) ms", text)
            missed[log].append(int(n.group(1)) if n else 0)
            downtime[log].append(int(d.group(1)) if d else 0)
            print("migration %d, source with the %s: %d pages missed, "
                  "downtime %s ms" % (i, log, missed[log][-1],
                                      d.group(1) if d else "?"),
                  flush=True)
            src.wait(60)
            src = dst
            time.sleep(3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    for log in LOGS:
        m = missed[log]
        if m:
            print("%s: pages missed in %d of %d migrations (%s), mean "
                  "downtime %.1f ms" % (log, sum(1 for x in m if x), len(m),
                                        " ".join(map(str, m)),
                                        sum(downtime[log]) / len(m)))


main()
