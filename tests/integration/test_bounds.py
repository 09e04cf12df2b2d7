#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Bounds a hostile local user or guest must not get past (issue 13,
docs/limits.md): the API socket's mode whatever the umask, FIFOs given as
files, a console on /dev/null, the runtime directory's checks, stalled
API connections, blocked console output and stop in bounded time.

`test_bounds.py host` (integration/bounds_host) runs the items that need
no /dev/kvm (stalled API clients, the runtime directory, the socket's
mode, FIFOs), so they hold on any host; the plain run needs KVM and runs
the rest."""
import fcntl
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import vmon_api  # noqa: E402
import vmontest as vt  # noqa: E402

GUEST = os.path.join(vt.BUILD_ROOT, "guest")
HELLO = os.path.join(GUEST, "hello.elf")
FLOOD = os.path.join(GUEST, "flood.elf")  # prints without end
TAG = "bounds-%d" % os.getpid()


def api_socket_mode():
    """Item 6: the API socket is 0600 even with umask 000."""
    old = os.umask(0)
    try:
        inst = vmon_api.Instance(id=TAG + "-umask")
    finally:
        os.umask(old)
    try:
        mode = stat.S_IMODE(os.stat(inst.sock).st_mode)
        vt.check(mode == 0o600, "API socket mode 0%o with umask 000" % mode)
    finally:
        inst.stop()


def fifos(before_kvm):
    """Item 9: FIFOs as kernel, initrd, config file, serial file. With
    @before_kvm only those refused before /dev/kvm is opened (the config
    file), else the others (vmon opens them once KVM is up)."""
    d = tempfile.mkdtemp(prefix="vmon-fifo-")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    cases = [
        ("--kernel", ["run", "--kernel", fifo]),
        ("--initrd", ["run", "--kernel", HELLO, "--initrd", fifo]),
        ("--serial file:", ["run", "--kernel", HELLO, "--serial",
                            "file:" + fifo]),
    ]
    if before_kvm:
        cases = [("--config-file", ["--config-file", fifo])]
    try:
        for what, args in cases:
            r = vt.run(args, timeout=20)
            last = r.err.strip().splitlines()[-1:] if r.err else []
            vt.check(not r.timed_out and r.code != 0 and last and
                     fifo in last[0],
                     "%s FIFO: refused at once with a message naming it "
                     "(%s)" % (what, last or r))
    finally:
        shutil.rmtree(d)


def console_devnull():
    """Item 7: --console virtio with stdin on /dev/null runs (no input)."""
    with open(os.devnull, "rb") as null:
        p = subprocess.run([vt.VMON, "run", "--kernel", HELLO, "--console",
                            "virtio"], stdin=null, capture_output=True,
                           timeout=30)
    vt.check(p.returncode == 85 and b"bye" in p.stdout,
             "--console virtio, stdin /dev/null: guest runs (exit %d, %s)" %
             (p.returncode, p.stderr.decode(errors="replace").strip()))


def runtime_dir():
    """Item 5: a runtime directory that is not the user's private one
    (a symlink, group/other access, another owner) is refused."""
    base = tempfile.mkdtemp(prefix="vmon-rundir-")
    real = os.path.join(base, "real")
    os.mkdir(real, 0o700)
    link = os.path.join(base, "link")
    os.symlink(real, link)
    open_dir = os.path.join(base, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o777)
    for what, d in (("a symlink", link), ("mode 0777", open_dir)):
        env = dict(os.environ, VMON_RUNTIME_DIR=d)
        sock = os.path.join(base, "api.sock")
        r = vt.run(["--api-sock", sock, "--id", TAG + "-rd"], timeout=20,
                   env=env)
        vt.check(not r.timed_out and r.code != 0 and
                 "runtime directory" in r.err and not os.path.exists(sock),
                 "runtime directory %s refused: %s" % (what, r.err.strip()))
        vt.check(not os.listdir(real) and not os.listdir(open_dir),
                 "nothing written in the runtime directory (%s)" % what)
        r = vt.run(["list"], timeout=20, env=env)
        vt.check(r.code != 0 and "runtime directory" in r.err,
                 "vmon list refuses the runtime directory (%s)" % what)
    # The user's own 0700 directory works.
    env = dict(os.environ, VMON_RUNTIME_DIR=real)
    inst = vmon_api.Instance(id=TAG + "-rd", env=env)
    try:
        vt.check(os.path.exists(os.path.join(real, TAG + "-rd.json")),
                 "registry entry in a private runtime directory")
    finally:
        inst.stop()


def stop_with_stuck_output():
    """Item 2: with a stdout nobody reads (the guest printing without end),
    SIGTERM still ends vmon in bounded time."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    p = subprocess.Popen([vt.VMON, "run", "--kernel", FLOOD],
                         stdin=subprocess.DEVNULL, stdout=w,
                         stderr=subprocess.PIPE)
    os.close(w)
    try:
        # The pipe and the UART's 64 KiB fill (a slow guest: give it time).
        err = b""
        deadline = time.monotonic() + 60
        while b"output stalled" not in err and time.monotonic() < deadline:
            err += os.read(p.stderr.fileno(), 65536)
        # vmon's log goes on being read: only stdout is stuck.
        threading.Thread(target=lambda: [None for _ in
                                         iter(lambda: os.read(
                                             p.stderr.fileno(), 65536), b"")],
                         daemon=True).start()
        vt.check(p.poll() is None and b"output stalled" in err,
                 "guest runs with its output stalled")
        t0 = time.monotonic()
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            pass
        dt = time.monotonic() - t0
        # An orderly exit (not killed by the signal: a thread that takes
        # SIGTERM instead of the main loop would end vmon without cleanup).
        vt.check(p.poll() is not None and p.returncode >= 0 and dt < 10,
                 "SIGTERM ends vmon in %.1f s with stdout not drained "
                 "(exit %r)" % (dt, p.returncode))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
        os.close(r)


def serial_file_limits():
    """Item 4: --serial file: is capped, and output is rate limited."""
    d = tempfile.mkdtemp(prefix="vmon-serial-cap-")
    out = os.path.join(d, "serial.out")
    r = vt.run(["run", "--kernel", FLOOD, "--serial", "file:" + out,
                "--console-limit", "max=20K"], timeout=6)
    size = os.path.getsize(out)
    vt.check(r.timed_out and 0 < size <= 20 * 1024,
             "--serial file capped at 20K: %d bytes" % size)
    t0 = time.monotonic()
    r = vt.run(["run", "--kernel", FLOOD, "--serial", "file:" + out,
                "--console-limit", "rate=4K"], timeout=4)
    dt = time.monotonic() - t0
    size = os.path.getsize(out)
    vt.check(0 < size <= 4096 * (1 + dt) + 4096,
             "console output at 4K/s: %d bytes in %.1f s" % (size, dt))
    # The print hypercall: a line rate, the rest counted and summarised.
    r = vt.run(["run", "--kernel", FLOOD, "--serial", "none"], timeout=5)
    lines = r.err.count("guest: flood")
    vt.check(r.timed_out and 0 < lines <= 50 * (1 + r.elapsed) + 10 and
             "suppressed" in r.err,
             "print hypercalls at 50 lines/s: %d lines in %.1f s" %
             (lines, r.elapsed))
    r = vt.run(["run", "--kernel", HELLO, "--console-limit", "rate=1X"])
    vt.check(r.code != 0 and "--console-limit" in r.err,
             "a bad --console-limit is refused")


def stalled_api_clients():
    """Item 10: 64 connections that say nothing do not keep a legitimate
    request waiting for long (idle connections time out in 2 s)."""
    inst = vmon_api.Instance(id=TAG + "-stall")
    stalled = []
    try:
        for _ in range(64):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(inst.sock)
            stalled.append(c)
        time.sleep(0.2)
        t0 = time.monotonic()
        st, _ = vmon_api.request(inst.sock, "GET", "/", timeout=20)
        dt = time.monotonic() - t0
        vt.check(st == 200 and dt < 5,
                 "a request behind 64 stalled connections: %d in %.1f s" %
                 (st, dt))
        # A keep-alive client that goes on sending is not cut off.
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(inst.sock)
        ok = True
        for _ in range(3):
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            c.settimeout(5)
            ok = ok and c.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(1)
        c.close()
        vt.check(ok, "keep-alive requests a second apart are served")
        vt.check(inst.alive(), "vmon still runs")
    finally:
        for c in stalled:
            c.close()
        inst.stop()


BOUND_NAMES = {"console_rate", "serial_file_max", "uart_tx_buf",
               "console_out_buf", "output_teardown", "hypercall_print_rate",
               "log_once", "disk_bounce", "blk_inflight",
               "balloon_pfns_per_turn", "balloon_chains_per_turn",
               "vsock_connections", "vsock_pending", "api_connections",
               "api_timeout", "api_body", "vsock_uds_pending", "config_file",
               "migration_record", "migration_token"}


def bound_counters():
    """A bound hit is counted: `vmon stat` shows "bounds", one counter per
    bound of docs/limits.md; a body over API_MAX_BODY moves api_body."""
    import json
    inst = vmon_api.Instance(id=TAG + "-count")
    try:
        ok, body = inst.boot_counter()
        vt.check(ok, "the counter guest boots (stats need a VM): %r" % body)
        def bounds():
            r = vt.run(["stat", inst.sock], timeout=20)
            return json.loads(r.out).get("bounds", {}) if r.code == 0 else {}
        before = bounds()
        vt.check(set(before) == BOUND_NAMES,
                 "vmon stat: a counter per bound: %r" % sorted(before))
        st, _ = inst.req("PUT", "/machine-config", "{" + " " * (80 << 10) + "}")
        after = bounds()
        vt.check(st == 400 and after.get("api_body") == before.get("api_body", -9) + 1,
                 "a body over 64 KiB (400: %r) counts once in api_body: %r -> %r"
                 % (st, before.get("api_body"), after.get("api_body")))
        vt.check(all(after[k] == before[k] for k in before if k != "api_body"),
                 "no other counter moved")
    finally:
        inst.stop()


def main():
    if vt.HOST_PART:
        stalled_api_clients()
        runtime_dir()
        api_socket_mode()
        fifos(True)
    else:
        vt.require_kvm()
        bound_counters()
        stop_with_stuck_output()
        serial_file_limits()
        fifos(False)
        console_devnull()
    vt.finish()


if __name__ == "__main__":
    main()
