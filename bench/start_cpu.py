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

--first measures process start to the guest's first instruction instead:
each run is `VMON run -v -v --kernel exitcode.elf`, whose vCPU logs the
CPU the whole process had used (CLOCK_PROCESS_CPUTIME_ID: exec, ld.so,
set-up, every thread) when it enters KVM_RUN for the first time; a round
is the mean of RUNS runs. The debug logging itself is included (a few
dozen lines written before that point), so the figure errs high.

Usage: bench/start_cpu.py [--first] [--rounds 10] [--runs 20]
                          [--build build] [VMON...]   (default: BUILD/vmon)
Needs perf (not for --first). Not a test.
"""
import argparse
import os
import re
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


def first_run_ms(vmon, guest, runs):
    """Mean CPU (ms) of @runs runs at the guest's first instruction."""
    v = []
    for _ in range(runs):
        err = subprocess.run([vmon, "run", "-v", "-v", "--kernel", guest],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True).stderr
        m = re.search(r"first KVM_RUN after ([0-9.]+) ms of process CPU", err)
        if not m:
            sys.exit("%s logged no first KVM_RUN:\n%s" % (vmon, err))
        v.append(float(m.group(1)))
    return statistics.mean(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--build", default="build")
    ap.add_argument("--first", action="store_true",
                    help="CPU to the guest's first instruction")
    ap.add_argument("vmon", nargs="*")
    a = ap.parse_args()
    bins = [os.path.abspath(b) for b in a.vmon] or \
        [os.path.abspath(os.path.join(a.build, "vmon"))]
    guest = os.path.abspath(os.path.join(a.build, "guest", "exitcode.elf"))
    print("load average before: %s" % open("/proc/loadavg").read().strip())
    res = {b: [] for b in bins}
    for _ in range(a.rounds):
        for b in bins:
            res[b].append((first_run_ms if a.first else task_clock_ms)(
                b, guest, a.runs))
    for b in bins:
        v = res[b]
        print("%s: median %.2f ms of CPU%s, min %.2f, max %.2f (%d rounds "
              "of %d runs)" % (b, statistics.median(v),
                               " to the first instruction" if a.first else
                               " (a whole run)", min(v), max(v), a.rounds,
                               a.runs))
    print("load average after: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
