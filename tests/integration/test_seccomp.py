# SPDX-License-Identifier: GPL-2.0-only
"""Seccomp (docs/seccomp.md): every vmon thread runs under its kind's
filter (/proc/PID/task/*/status: Seccomp 2, and the number of filters
each thread stacked: its own, plus the API thread's for the threads the
API thread starts); a forbidden call (the test build's fault injection,
VMON_TEST_SECCOMP_FAULT=KIND) stops vmon with the report and exit 148, or
with --seccomp-level log goes on; --no-seccomp runs unfiltered;
--seccomp-filter takes the file `vmon seccomp-print --export` writes;
`vmon seccomp-print` lists every kind with reasons."""
import os
import signal
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

EXIT_SECCOMP = 148
GUEST = os.path.join(vmontest.BUILD_ROOT, "guest")
HELLO = os.path.join(GUEST, "hello.elf")
HELLO_CODE = 85  # hello.elf writes 42 to the debug-exit port
KINDS = ["main", "vcpu", "io", "api", "uart"]

vmontest.require_kvm()
tmp = tempfile.mkdtemp(prefix="vmon-seccomp-")


def threads(pid):
    """{tid: (comm, seccomp mode, filters)} of process @pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                st = dict(l.split(":", 1) for l in f if ":" in l)
        except FileNotFoundError:
            continue
        out[tid] = (comm, int(st["Seccomp"]),
                    int(st.get("Seccomp_filters", "-1")))
    return out


def wait_threads(pid, names, timeout=30):
    """The threads once every name in @names is there (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        t = threads(pid)
        comms = {c for c, _, _ in t.values()}
        if names <= comms or time.monotonic() > deadline:
            return t
        time.sleep(0.05)


def kind_of(comm):
    return {"vmon": "main", "vmon-io": "io", "vmon-api": "api",
            "vmon-uart": "uart"}.get(comm, "vcpu" if comm.startswith("vcpu")
                                     else None)


def check_filters(t, want_filters, what):
    """Every vmon thread in mode 2 with the expected number of filters."""
    bad = []
    for tid, (comm, mode, nf) in t.items():
        if comm.startswith("iou-") or comm.startswith("kvm-"):
            continue  # kernel workers (io_uring, KVM): never in user space
        kind = kind_of(comm)
        if kind is None or mode != 2 or \
                (nf >= 0 and nf != want_filters[kind]):
            bad.append((comm, mode, nf))
    check(not bad, "%s: every thread has its own filter (Seccomp: 2), %r"
          % (what, sorted(set(c for c, _, _ in t.values()))) +
          (" bad: %r" % bad if bad else ""))


# vmon seccomp-print
r = vmontest.run(["seccomp-print"])
check(r.code == 0 and all(("\n" + k + ": ") in "\n" + r.out for k in KINDS)
      and "KVM_RUN" in r.out and "no PROT_EXEC" in r.out and
      "AF_UNIX" in r.out,
      "vmon seccomp-print lists every thread kind with reasons %r" % r.out[:300])

# vmon run: main, vCPUs, I/O thread, UART writer, one filter each
p = subprocess.Popen([vmontest.VMON, "run", "--kernel",
                      vmon_api.GUEST_COUNTER, "--cpus", "2", "--rng",
                      "--serial", "file:" + os.path.join(tmp, "serial")],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
t = wait_threads(p.pid, {"vcpu0", "vcpu1", "vmon-io", "vmon-uart"})
time.sleep(0.5)  # the main thread enters its loop after the vCPUs start
t = threads(p.pid)
check_filters(t, {"main": 1, "vcpu": 1, "io": 1, "uart": 1}, "vmon run")
p.send_signal(signal.SIGTERM)
code = p.wait(timeout=30)
# -SIGTERM: the UART writer thread does not block the stop signals (a
# defect of src/devices/serial.c, with or without seccomp); never 148.
check(code in (0, -signal.SIGTERM),
      "vmon run under the filters stops on SIGTERM (%r, %r)"
      % (code, p.stderr.read()))

# API mode: the API thread starts the others, which stack their own filter
inst = vmon_api.Instance(id="seccomp-%d" % os.getpid())
check(inst.req("PUT", "/entropy", {})[0] == 204, "API mode: an entropy device")
ok, body = inst.boot_counter(vcpus=2)
check(ok, "API mode: the counter guest boots %r" % (body,))
t = wait_threads(inst.p.pid, {"vcpu0", "vcpu1", "vmon-io", "vmon-uart"})
inst.req("GET", "/")
check_filters(t, {"main": 1, "api": 1, "vcpu": 2, "io": 2, "uart": 2},
              "API mode")
check(inst.stop() == 0, "API mode under the filters stops with 0")

# --no-seccomp: no filter anywhere
p = subprocess.Popen([vmontest.VMON, "run", "--no-seccomp", "--kernel",
                      vmon_api.GUEST_COUNTER, "--serial",
                      "file:" + os.path.join(tmp, "serial2")],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
t = wait_threads(p.pid, {"vcpu0", "vmon-uart"})
check(t and all(m == 0 for _, m, _ in t.values()),
      "--no-seccomp: Seccomp 0 on every thread %r" % t)
p.send_signal(signal.SIGTERM)
p.wait(timeout=30)

# The fault injection: each kind's threads call personality(), no list has it
env = dict(os.environ)
for kind in ["main", "vcpu", "io", "uart"]:
    env["VMON_TEST_SECCOMP_FAULT"] = kind
    r = vmontest.run(["run", "--kernel", HELLO, "--rng"], env=env, timeout=60)
    check(r.code == EXIT_SECCOMP and
          ("seccomp: the %s thread" % kind) in r.err and
          "outside its list: personality" in r.err,
          "forbidden call on the %s thread: report and exit 148 %r"
          % (kind, r))
env["VMON_TEST_SECCOMP_FAULT"] = "api"
sock = os.path.join(tmp, "api.sock")
p = subprocess.Popen([vmontest.VMON, "--api-sock", sock, "--id",
                      "seccomp-api-%d" % os.getpid()], env=env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
deadline = time.monotonic() + 30
while not os.path.exists(sock) and time.monotonic() < deadline:
    time.sleep(0.02)
try:
    vmon_api.request(sock, "GET", "/")
except (OSError, ValueError):
    pass  # the API thread dies on its first connection
code = p.wait(timeout=30)
err = p.stderr.read().decode(errors="replace")
check(code == EXIT_SECCOMP and "seccomp: the api thread" in err and
      "personality" in err,
      "forbidden call on the API thread: report and exit 148 (%r, %r)"
      % (code, err))

# --seccomp-level log: the kernel logs the call, vmon goes on
env["VMON_TEST_SECCOMP_FAULT"] = "vcpu"
r = vmontest.run(["run", "--seccomp-level", "log", "--kernel", HELLO],
                 env=env, timeout=60)
check(r.code == HELLO_CODE and "level log" in r.err and
      "went on after its forbidden call" in r.err,
      "--seccomp-level log: the forbidden call is logged and vmon goes on %r"
      % (r,))

# --seccomp-filter: the exported filters work; a damaged file is refused
path = os.path.join(tmp, "filters.bpf")
r = vmontest.run(["seccomp-print", "--export", path])
check(r.code == 0 and os.path.getsize(path) > 100,
      "vmon seccomp-print --export writes a filter file")
env["VMON_TEST_SECCOMP_FAULT"] = "io"
r = vmontest.run(["run", "--seccomp-filter", path, "--kernel", HELLO,
                  "--rng"], env=env, timeout=60)
check(r.code == EXIT_SECCOMP and "seccomp: the io thread" in r.err,
      "--seccomp-filter FILE: its filters are installed %r" % (r,))
with open(path, "rb") as f:
    data = f.read()
with open(path, "wb") as f:
    f.write(data[:-8])
r = vmontest.run(["run", "--seccomp-filter", path, "--kernel", HELLO])
check(r.code == 2 and "seccomp filter file" in r.err,
      "--seccomp-filter with a truncated file: exit 2 %r" % (r,))
r = vmontest.run(["run", "--seccomp-level", "kill", "--kernel", HELLO])
check(r.code == 2 and "--seccomp-level kill" in r.err,
      "--seccomp-level with an unknown level: exit 2")

vmontest.finish()
