# SPDX-License-Identifier: GPL-2.0-only
"""vmontest - helpers for vmon's integration tests.

Each test script is a plain Python program run by `meson test`: it starts
vmon (path in $VMON) with a timeout, checks what it printed and its exit
code, and exits non-zero on the first failed check. A hang is a failure.
"""
import glob
import os
import select
import socket
import subprocess
import sys
import threading
import time

VMON = os.environ.get("VMON", "vmon")
SOURCE_ROOT = os.environ.get("VMON_SOURCE_ROOT",
                             os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_ROOT = os.environ.get("VMON_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))

# `test_NAME.py host` (meson test integration/NAME_host): only the part of
# the test that needs no /dev/kvm, so that it runs and passes on a host
# without it; the plain run needs KVM (require_kvm()) and runs the rest.
HOST_PART = sys.argv[1:] == ["host"]

# The host's KVM backend. On AMD SVM, KVM puts a vCPU in its reset state
# at a shutdown exit (the VMCB is undefined after a shutdown), so a triple
# fault's report says the registers are lost instead of showing them.
PVM_HOST = os.path.exists("/sys/module/kvm_pvm")
SVM_HOST = os.path.exists("/sys/module/kvm_amd") and not PVM_HOST


def shutdown_report_ok(err):
    """Whether vmon's stderr @err has a triple fault's register report,
    or on an SVM host the line saying the registers are lost."""
    if SVM_HOST:
        return "registers lost" in err and "RIP=" not in err
    return all(s in err for s in ("RIP=", "CPL=", "code at RIP:", "RAX="))

_failures = 0


def ram_rss(pid, size):
    """Resident bytes of vmon's guest-RAM mapping (@size bytes, 2 MiB
    aligned); of several such mappings (the sanitizer's shadow has one),
    the one with the most resident memory."""
    best, mapping = 0, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and len(w) >= 5:
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                mapping = hi - lo if lo % (2 << 20) == 0 else None
            elif w[0] == "Rss:" and mapping == size:
                best = max(best, int(w[1]) * 1024)
    return best


def require_kvm():
    """Fail (not skip) when /dev/kvm is missing or not usable."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        fail("/dev/kvm is missing or not accessible: this test needs KVM")
        finish()


_exclusive = []


def host_exclusive(what):
    """Holds, until the test process ends, a lock on the host-wide state
    @what ("ksm": /sys/kernel/mm/ksm; "hugepages": the hugetlb pool) that
    the test changes or measures: scripts/test runs the two builds' suites
    at once, and another clone's tests may run on the same host."""
    import fcntl
    f = open("/tmp/vmon-test-%s.lock" % what, "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("waiting for another test's hold on the host's %s" % what,
              flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    _exclusive.append(f)


def fail(msg):
    global _failures
    _failures += 1
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    if cond:
        print("ok: " + msg, flush=True)
    else:
        fail(msg)
    return cond


def finish():
    if _failures:
        print("%d check(s) failed" % _failures, flush=True)
        sys.exit(1)
    print("all checks passed", flush=True)
    sys.exit(0)


def wait_for(pred, timeout=60):
    """Polls pred() every 20 ms until it is true (True) or @timeout s
    pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def counter_lines(text):
    """The values of the counting guests' complete "c=XXXXXXXX" lines."""
    return [int(l[2:], 16) for l in text.split("\n")
            if l.startswith("c=") and len(l) == 10]


def fd_targets(pid):
    """What process @pid's file descriptors point to (readlink of each
    /proc/PID/fd entry; one closed meanwhile is left out)."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def threads_report(pid):
    """One line per thread of @pid: name, state, wchan, utime+stime: a
    stalled guest's vCPU threads busy (R, ticks growing) are a slow guest;
    all asleep on a futex would be a deadlock in vmon."""
    out = []
    try:
        tasks = sorted(os.listdir("/proc/%d/task" % pid), key=int)
    except OSError:
        return "(gone)"
    for tid in tasks:
        d = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(d + "comm") as f:
                comm = f.read().strip()
            with open(d + "stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open(d + "wchan") as f:
                wchan = f.read().strip() or "-"
        except OSError:
            continue
        out.append("%-10s %s wchan=%-24s ticks=%d" %
                   (comm, st[0], wchan, int(st[11]) + int(st[12])))
    return "\n".join(out)


class Result:
    def __init__(self, code, out, err, elapsed, timed_out):
        self.code = code
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.timed_out = timed_out

    def __repr__(self):
        return "exit=%r timed_out=%r\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.code, self.timed_out, self.out[-4000:], self.err[-4000:])


def run(args, timeout=60, stdin_data=None, env=None):
    """Runs vmon with args; returns a Result. Never hangs past timeout."""
    t0 = time.monotonic()
    p = subprocess.Popen([VMON] + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    timed_out = False
    try:
        out, err = p.communicate(input=stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.kill()
        out, err = p.communicate()
    return Result(p.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - t0, timed_out)


# Linux guests on a PVM host: their kernel code is emulated, so how long a
# step takes depends on how busy the machine is (pvm-host.md: the default
# guest reaches its marker in ~45 s on an idle machine, 80-300 s on a busy
# one). Waits on a Linux guest therefore follow the guest's progress:
# - while the guest keeps printing (or vmon logging), a wait goes on, up to
#   a ceiling;
# - it fails early only after STALL_S seconds without any new output;
# - the budget of each step after the boot scales with this boot's pace,
#   the time it took to reach its marker against IDLE_BOOT_S (budget()).
IDLE_BOOT_S = 45.0
STALL_S = float(os.environ.get("VMON_TEST_STALL", "600"))
CEILING_S = float(os.environ.get("VMON_TEST_CEILING", "1800"))


class Interactive:
    """A vmon process whose console is driven line by line.

    Both stdout (the guest's console) and stderr (vmon's log) are read as
    they come, so neither pipe can fill up and stall vmon."""

    def __init__(self, args, env=None, argv=None):
        cmd = argv if argv is not None else [VMON] + list(args)
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env)
        self.out = b""
        self.errb = b""
        self.err = ""
        self.t0 = time.monotonic()
        self.last_output = self.t0  # when the guest last printed something
        self.pace = 1.0  # this boot's slowness against an idle machine
        self.boot_s = None

    def _read(self, left):
        """Reads what is there (waits at most @left s); False at EOF."""
        fds = [f for f in (self.p.stdout, self.p.stderr) if not f.closed]
        if not fds:
            return False
        r, _, _ = select.select(fds, [], [], max(0.0, min(left, 1.0)))
        alive = True
        for f in r:
            chunk = os.read(f.fileno(), 65536)
            if f is self.p.stdout:
                if chunk:
                    self.out += chunk
                    self.last_output = time.monotonic()
                else:
                    alive = False
            elif chunk:
                # vmon's log shows the guest at work too (-v: devices).
                self.errb += chunk
                self.err = self.errb.decode(errors="replace")
                self.last_output = time.monotonic()
            else:
                f.close()
        return alive

    def _wait_until(self, found, timeout, stall):
        """Reads until found() is true; stops after @timeout s, after
        @stall s without guest output (if given) or at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            if found():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            if stall is not None and now - self.last_output >= stall:
                return False
            if not self._read(deadline - now):
                self.p.wait()
                return found()

    def expect(self, pattern, timeout):
        """Waits until pattern (bytes or str) appears in stdout; True if so."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        return self._wait_until(lambda: pattern in self.out, timeout, None)

    def expect_re(self, regex, timeout):
        """Waits until regex (str) matches stdout; returns the match or None."""
        import re
        self._wait_until(lambda: re.search(regex, self.text()), timeout, None)
        return re.search(regex, self.text())

    def budget(self, idle_s):
        """The time a step that takes @idle_s on an idle machine gets here:
        ten times that (at least 30 s), scaled by this boot's pace. Load
        changes during a test, and a pipeline of forks in the guest is
        slowed down more than the boot was: the margin is wide on purpose,
        it only costs time when the step really hangs."""
        return max(30.0, 10 * idle_s) * max(1.0, self.pace)

    def follow(self, pattern, step, idle_s=None, start=None):
        """Waits for @pattern while the guest makes progress.

        Without @idle_s (a boot): until the guest prints nothing new for
        STALL_S seconds, or CEILING_S. With @idle_s (a step after the boot):
        for budget(idle_s), but never less than while output still flows
        (at most CEILING_S). Only output after offset @start counts.
        On failure, names the step and shows what the guest printed last."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        base = len(self.out) if start is None else start
        t = time.monotonic()
        self.last_output = t

        def found():
            return pattern in self.out[base:]
        ok = self._wait_until(found, CEILING_S if idle_s is None else self.budget(idle_s),
                              STALL_S if idle_s is None else None)
        if not ok and idle_s is not None and self.p.poll() is None:
            # Out of budget, but the guest may still be printing: go on for
            # as long as it does.
            ok = self._wait_until(found, CEILING_S - (time.monotonic() - t),
                                  max(30.0, self.budget(idle_s) / 3))
        if not ok:
            self.report_stall(step, time.monotonic() - t)
        return ok

    def follow_err(self, text, count, step, idle_s):
        """Like follow(), for the @count-th occurrence of @text in vmon's
        log (stderr)."""
        t = time.monotonic()
        ok = self._wait_until(lambda: self.err.count(text) >= count,
                              self.budget(idle_s), None)
        if not ok:
            self.report_stall(step, time.monotonic() - t)
        return ok

    def follow_exit(self, step):
        """Waits for vmon to exit while the guest makes progress (as a
        boot: STALL_S, CEILING_S); returns the exit code or None."""
        t = time.monotonic()
        self.last_output = t
        if not self._wait_until(lambda: self.p.poll() is not None, CEILING_S, STALL_S):
            self.report_stall(step, time.monotonic() - t)
            self.p.kill()
        return self.wait(10)

    def boot(self, marker, step="boot to the guest's marker"):
        """Waits for the boot marker; sets the pace of this boot."""
        ok = self.follow(marker, step)
        if ok:
            self.boot_s = time.monotonic() - self.t0
            self.pace = self.boot_s / IDLE_BOOT_S
            print("%s: %.1f s (pace %.2fx an idle machine)" %
                  (step, self.boot_s, self.pace), flush=True)
        return ok

    def report_stall(self, step, waited):
        quiet = time.monotonic() - self.last_output
        state = ("vmon exited with %r" % self.p.returncode
                 if self.p.poll() is not None else "vmon still running")
        fail("step '%s' stalled: waited %.0f s, no guest output for the last "
             "%.0f s, %s (boot took %s)" %
             (step, waited, quiet, state,
              "%.0f s" % self.boot_s if self.boot_s else "-"))
        lines = self.text().splitlines()[-25:]
        print("--- what the guest printed last ---", flush=True)
        print("\n".join(lines), flush=True)
        print("--- vmon's stderr, last lines ---", flush=True)
        print("\n".join(self.err.splitlines()[-15:]), flush=True)
        if self.p.poll() is None:
            print("--- vmon's threads (state, kernel wait, CPU ticks; "
                  "twice, 2 s apart) ---", flush=True)
            for _ in range(2):
                print(threads_report(self.p.pid), flush=True)
                time.sleep(2)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def wait(self, timeout):
        """Waits for exit; returns the exit code, or None after a kill."""
        deadline = time.monotonic() + timeout
        while self.p.poll() is None and time.monotonic() < deadline:
            if not self._read(deadline - time.monotonic()):
                break
        try:
            self.p.wait(max(0.1, deadline - time.monotonic()))
            code = self.p.returncode
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            code = None
        self._drain()
        return code

    def _drain(self):
        """After exit: everything left in both pipes."""
        for f in (self.p.stdout, self.p.stderr):
            if f.closed:
                continue
            rest = f.read()
            if f is self.p.stdout:
                self.out += rest
            else:
                self.errb += rest
                self.err = self.errb.decode(errors="replace")

    def text(self):
        return self.out.decode(errors="replace")


def default_guest_dir():
    """The directory of the default Linux guest (scripts/build-guest:
    vmlinux, initramfs.cpio) in vmon's cache, or None."""
    cache = os.environ.get("VMON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vmon")
    # "default" links the one scripts/build-guest last built or found.
    dirs = sorted(glob.glob(os.path.join(cache, "guest", "*")))
    default = os.path.join(cache, "guest", "default")
    for d in ([default] if default in dirs else []) + dirs:
        if os.path.exists(os.path.join(d, "vmlinux")) and \
                os.path.exists(os.path.join(d, "initramfs.cpio")):
            return d
    return None


def linux_guest_dir():
    """For a test that boots the default Linux guest: needs KVM and the
    guest (scripts/build-guest); returns its directory or fails the test."""
    require_kvm()
    d = default_guest_dir()
    if not check(d is not None, "default guest built (scripts/build-guest)"):
        finish()
    return d


def stop_all(*shells):
    """Ends the vmon processes of @shells (None allowed) still running."""
    for g in shells:
        if g and g.p.poll() is None:
            g.p.terminate()
            g.wait(30)


class Shell(Interactive):
    """Interactive for a full command line (@argv) whose console is the
    default guest's shell (vmon.shell), driven command by command."""

    def __init__(self, argv, env=None):
        super().__init__(None, env=env, argv=argv)
        self.seq = 0

    def sh(self, cmd, idle_s=3, what=None):
        """Runs cmd in the guest's shell (@idle_s: what it takes on an idle
        machine); returns its output, or None after a failure."""
        self.seq += 1
        start = len(self.out)
        self.send("%s; echo @@$((%d+1))@@\n" % (cmd, self.seq - 1))
        tag = "@@%d@@" % self.seq
        if not self.follow(tag, what or cmd, idle_s=idle_s, start=start):
            return None
        text = self.out[start:].decode(errors="replace")
        return text[:text.rfind(tag)]


def vsock_connect(uds, port, timeout):
    """Connects to guest port @port through vmon's vsock socket @uds
    (Firecracker's "CONNECT PORT" line); returns the socket and vmon's
    answer line ("OK <host port>" once the guest accepted)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        line += c
    return s, line


def unix_echo_once(path, timeout):
    """Listens on the Unix socket @path (a guest's vsock connection to the
    host ends there) and answers one connection's first read with "echo:"
    in front, in a thread. Returns a dict that gets "data" (what was read)
    or "error"."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(timeout)
    got = {}

    def serve():
        try:
            c, _ = srv.accept()
            c.settimeout(timeout)
            got["data"] = c.recv(100)
            c.sendall(b"echo:" + got["data"])
            c.close()
        except OSError as e:
            got["error"] = e
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return got


def tcp_echo_server(ns, ip, port):
    """In network namespace @ns: answers one TCP connection to @ip:@port
    with "echo:" + what it read, then prints "served <bytes read>". The
    process, once it listens."""
    code = ("import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind((%r, %d)); s.listen(1); s.settimeout(%d)\n"
            "print('listening', flush=True)\n"
            "c, a = s.accept(); d = c.recv(100); c.sendall(b'echo:' + d); c.close()\n"
            "print('served %%r' %% d, flush=True)\n" % (ip, port, CEILING_S))
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                         stdout=subprocess.PIPE, text=True)
    check(p.stdout.readline().strip() == "listening", "TCP echo server up in " + ns)
    return p
