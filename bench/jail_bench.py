#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/jail_bench.py - the start-up cost of the jail (docs/jail.md):
time from exec to the API socket accepting, and the CPU time spent by
then, for `vmon --api-sock` and for `vmon jail ... -- --api-sock`
(the jailer executes vmon in the same process: its CPU time includes the
jailer's, plus the loader it runs to list the libraries, a reaped child).
Needs root. Median of N runs each, alternating.

With /dev/kvm it also times a whole run of build/guest/exitcode.elf, a
guest whose first instruction ends it: `vmon --kernel ...` against the
same run jailed (`vmon jail ... --link exitcode.elf -- --kernel
/exitcode.elf`),
CPU time of the process and its reaped children (wait4), and wall time;
and the CPU the process used until the guest's first instruction, which
vmon logs at its first KVM_RUN with -v -v (the jailer goes on as vmon in
the same process: its CPU is counted).

Usage: bench/jail_bench.py [--build build] [-n 20]; prints a Markdown table.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def cpu_ms(pid):
    """CPU time of the process's threads (schedstat) and reaped children."""
    total = 0.0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0]) / 1e6
        except OSError:
            pass
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    children = int(fields[13]) + int(fields[14])  # cutime, cstime
    return total + children * 1000.0 / os.sysconf("SC_CLK_TCK")


def start(args, sock, env):
    """(wall ms, CPU ms) from exec to @sock accepting; the process ends."""
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    while True:
        if os.path.exists(sock):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sock)
                break
            except OSError:
                pass
            finally:
                s.close()
        if p.poll() is not None:
            raise RuntimeError("vmon exited: %r" % args)
        time.sleep(0.0002)
    wall = (time.monotonic() - t0) * 1000
    cpu = cpu_ms(p.pid)
    p.kill()
    p.wait()
    return wall, cpu


def whole_run(args, env):
    """(wall ms, CPU ms, CPU ms to the first KVM_RUN) of a run of
    exitcode.elf to its end: status 1, the guest's debug-exit of 0
    ((0 << 1) | 1)."""
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.monotonic() - t0) * 1000
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 1:
        raise RuntimeError("%r: exit %d: %s" % (args, p.returncode, err[-500:]))
    m = re.search(r"first KVM_RUN after ([0-9.]+) ms of process CPU", err)
    if not m:
        raise RuntimeError("%r logged no first KVM_RUN: %s" % (args, err[-500:]))
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=20)
    a = ap.parse_args()
    vmon = os.path.abspath(os.path.join(a.build, "vmon"))
    tmp = tempfile.mkdtemp(prefix="vmon-jail-bench-")
    env = dict(os.environ, VMON_RUNTIME_DIR=os.path.join(tmp, "reg"))
    res = {"plain": [], "jail": [], "run plain": [], "run jail": []}
    guest = os.path.abspath(os.path.join(a.build, "guest", "exitcode.elf"))
    kvm = os.path.exists("/dev/kvm") and os.path.exists(guest)
    try:
        for i in range(a.n):
            if kvm:
                res["run plain"].append(whole_run(
                    [vmon, "--id", "p%d" % i, "-v", "-v", "--kernel", guest, "-m",
                     "32M"], env))
                base = os.path.join(tmp, "base")
                res["run jail"].append(whole_run(
                    [vmon, "jail", "--id", "r%d" % i, "--exec-file", vmon,
                     "--uid", "60001", "--gid", "60001", "--chroot-base-dir",
                     base, "--link", guest, "--", "-v", "-v", "--kernel",
                     "/exitcode.elf", "-m", "32M"], env))
                shutil.rmtree(base)
            sock = os.path.join(tmp, "api.sock")
            res["plain"].append(start([vmon, "--api-sock", sock, "--id",
                                       "b%d" % i], sock, env))
            os.unlink(sock)
            base = os.path.join(tmp, "base")
            res["jail"].append(start(
                [vmon, "jail", "--id", "b%d" % i, "--exec-file", vmon,
                 "--uid", "60001", "--gid", "60001", "--chroot-base-dir",
                 base, "--", "--api-sock", "/api.sock"],
                os.path.join(base, "vmon", "b%d" % i, "root", "api.sock"),
                env))
            shutil.rmtree(base)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table(a.n, "vmon --api-sock", "vmon jail", res["plain"], res["jail"],
          ("exec to API socket accepting, wall", "CPU time by then"))
    if not kvm:
        print("\n(no /dev/kvm or %s: the whole runs were not timed)" % guest)
        return
    print()
    table(a.n, "vmon run", "vmon jail ... run", res["run plain"], res["run jail"],
          ("whole run of exitcode.elf, wall", "whole run of exitcode.elf, CPU",
           "process start to the guest's first instruction, CPU"))


def table(n, plain_name, jail_name, plain, jail, rows):
    """Medians of each measure (a tuple per run, @rows naming them), plain
    against jailed, as Markdown."""
    print("| measure (median of %d) | %s | %s | difference |"
          % (n, plain_name, jail_name))
    print("|---|---|---|---|")
    for k, name in enumerate(rows):
        p = statistics.median(r[k] for r in plain)
        j = statistics.median(r[k] for r in jail)
        print("| %s | %.2f ms | %.2f ms | %+.2f ms |" % (name, p, j, j - p))

if __name__ == "__main__":
    main()
