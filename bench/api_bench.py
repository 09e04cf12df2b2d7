#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/api_bench.py - control-plane start-up costs of vmon, side by side
with QEMU's equivalent.

- vmon: time from `vmon --api-sock` exec to the socket accepting (wall and
  the process's CPU time at that point), median of N;
  time from sending InstanceStart to the guest's first instruction (the
  api_counter guest writes "!" to COM1 first), median of N;
  RSS of vmon running that guest with 1 vCPU / 128 MiB, minus the guest
  memory it touched (VMM overhead, from /proc/PID/smaps).
- QEMU: `qemu-system-x86_64 -S -qmp unix:...` (KVM, -M microvm, 128 MiB,
  no devices) exec to the QMP greeting, wall and CPU, median of N; its RSS.

Usage: bench/api_bench.py [--build build] [-n 20]; prints a Markdown table.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmm_memory  # noqa: E402


def cpu_ms(pid):
    """CPU time of all threads so far, from schedstat (ns resolution)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6


def rss_kib(pid, guest_kib=128 * 1024):
    """Resident memory minus that of the guest RAM (bench/vmm_memory.py
    finds its mappings): the VMM's own. A guest touching one page can make
    2 MiB resident when its RAM is backed by transparent huge pages."""
    rss = vmm_memory.sample(pid, guest_kib << 10)["Rss"]
    return (rss[0] - rss[1]) >> 10


def wait_connect(path, proc, deadline):
    while time.monotonic() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None:
                raise RuntimeError("process exited")
            time.sleep(0.0002)
    raise RuntimeError("timeout")


def http(s, method, path, body=""):
    req = ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" %
           (method, path, len(body), body)).encode()
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    return int(data.split()[1])


def vmon_start(vmon, guest, boot):
    d = tempfile.mkdtemp(prefix="vmon-bench-")
    sock, serial = os.path.join(d, "s"), os.path.join(d, "serial")
    env = dict(os.environ, VMON_RUNTIME_DIR=d)
    t0 = time.monotonic()
    p = subprocess.Popen([vmon, "--api-sock", sock, "--serial", "file:" + serial,
                          "-q"], env=env, stdin=subprocess.DEVNULL)
    s = wait_connect(sock, p, t0 + 10)
    wall = (time.monotonic() - t0) * 1000
    cpu = cpu_ms(p.pid)
    first = rss = None
    if boot:
        http(s, "PUT", "/boot-source", '{"kernel_image_path": "%s"}' % guest)
        s.close()
        s = wait_connect(sock, p, time.monotonic() + 5)
        http(s, "PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 128}')
        s.close()
        s = wait_connect(sock, p, time.monotonic() + 5)
        t1 = time.monotonic()
        http(s, "PUT", "/actions", '{"action_type": "InstanceStart"}')
        while True:
            try:
                with open(serial, "rb") as f:
                    if f.read(1) == b"!":
                        break
            except FileNotFoundError:
                pass
            if time.monotonic() - t1 > 10:
                raise RuntimeError("guest did not start")
            time.sleep(0.0002)
        first = (time.monotonic() - t1) * 1000
        time.sleep(0.2)
        rss = rss_kib(p.pid)
    s.close()
    p.terminate()
    p.wait()
    return wall, cpu, first, rss


def qemu_start(qemu):
    d = tempfile.mkdtemp(prefix="qemu-bench-")
    sock = os.path.join(d, "qmp")
    t0 = time.monotonic()
    p = subprocess.Popen([qemu, "-S", "-M", "microvm", "-accel", "kvm", "-m", "128",
                          "-nodefaults", "-no-user-config", "-display", "none",
                          "-qmp", "unix:%s,server=on,wait=off" % sock],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    s = wait_connect(sock, p, t0 + 20)
    greeting = b""
    while b"\n" not in greeting:
        greeting += s.recv(4096)
    wall = (time.monotonic() - t0) * 1000
    cpu = cpu_ms(p.pid)
    rss = rss_kib(p.pid)
    s.close()
    p.terminate()
    p.wait()
    return wall, cpu, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=20)
    a = ap.parse_args()
    vmon = os.path.abspath(os.path.join(a.build, "vmon"))
    guest = os.path.abspath(os.path.join(a.build, "guest", "api_counter.elf"))
    med = statistics.median
    v = [vmon_start(vmon, guest, True) for _ in range(a.n)]
    q = [qemu_start("qemu-system-x86_64") for _ in range(a.n)]
    guest_kib = 128 * 1024
    print("| measure (median of %d) | vmon | QEMU (-S -qmp, microvm) |" % a.n)
    print("|---|---|---|")
    print("| exec to API socket accepting / QMP greeting, wall | %.1f ms | %.1f ms |" %
          (med(x[0] for x in v), med(x[0] for x in q)))
    print("| CPU time of the process by then | %.2f ms | %.2f ms |" %
          (med(x[1] for x in v), med(x[1] for x in q)))
    print("| InstanceStart to the guest's first instruction | %.1f ms | - |" %
          med(x[2] for x in v))
    print("| RSS, 1 vCPU / 128 MiB (vmon: guest running; QEMU: -S) | %d KiB | %d KiB |" %
          (med(x[3] for x in v), med(x[2] for x in q)))
    print("(guest RAM is %d KiB, mapped lazily: the tiny guest touches a few pages)"
          % guest_kib)


if __name__ == "__main__":
    main()
