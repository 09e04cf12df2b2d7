#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/start_cpu.py - the CPU of a whole `vmon run` of a guest whose first
instruction exits (build/guest/exitcode.elf), several binaries alternated
(docs/performance.md, "Start cost and memory").

Each round runs `perf stat -r RUNS -e task-clock VMON run --kernel
exitcode.elf` once per binary, in turn; it prints the median, min and max
of the rounds' means per binary, and the load average before and after.
On a shared machine one perf stat varies by tens of percent from one
minute to the next: compare binaries only within one invocation.

Usage: bench/start_cpu.py [--rounds 10] [--runs 20] [--build build]
                          [VMON...]   (default: BUILD/vmon)
Needs perf. Not a test.
"""
import argparse
import os
import statistics
import subprocess
import sys


def task_clock_ms(vmon, guest, runs):
    out = subprocess.run(["perf", "stat", "-r", str(runs), "-x", ",", "-e",
                          "task-clock", vmon, "run", "--kernel", guest],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True).stderr
    for line in out.splitlines():
        if "task-clock" in line:
            return float(line.split(",")[0])
    sys.exit("perf stat gave no task-clock for %s:\n%s" % (vmon, out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--build", default="build")
    ap.add_argument("vmon", nargs="*")
    a = ap.parse_args()
    bins = [os.path.abspath(b) for b in a.vmon] or \
        [os.path.abspath(os.path.join(a.build, "vmon"))]
    guest = os.path.abspath(os.path.join(a.build, "guest", "exitcode.elf"))
    print("load average before: %s" % open("/proc/loadavg").read().strip())
    res = {b: [] for b in bins}
    for _ in range(a.rounds):
        for b in bins:
            res[b].append(task_clock_ms(b, guest, a.runs))
    for b in bins:
        v = res[b]
        print("%s: median %.2f ms of CPU, min %.2f, max %.2f (%d rounds of "
              "perf stat -r %d)" % (b, statistics.median(v), min(v), max(v),
                                    a.rounds, a.runs))
    print("load average after: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
