# SPDX-License-Identifier: GPL-2.0-only
"""vmontest - helpers for vmon's integration tests.

Each test script is a plain Python program run by `meson test`: it starts
vmon (path in $VMON) with a timeout, checks what it printed and its exit
code, and exits non-zero on the first failed check. A hang is a failure.
"""
import os
import select
import subprocess
import sys
import time

VMON = os.environ.get("VMON", "vmon")
SOURCE_ROOT = os.environ.get("VMON_SOURCE_ROOT",
                             os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_ROOT = os.environ.get("VMON_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))

_failures = 0


def require_kvm():
    """Fail (not skip) when /dev/kvm is missing or not usable."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        fail("/dev/kvm is missing or not accessible: this test needs KVM")
        finish()


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


class Interactive:
    """A vmon process whose serial console is driven line by line."""

    def __init__(self, args, env=None):
        self.p = subprocess.Popen([VMON] + list(args), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env)
        self.out = b""
        self.t0 = time.monotonic()

    def expect(self, pattern, timeout):
        """Waits until pattern (bytes or str) appears in stdout; True if so."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        deadline = time.monotonic() + timeout
        while pattern not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None and not self._pending():
                return pattern in self.out
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    self.p.wait()
                    return pattern in self.out
                self.out += chunk
        return True

    def expect_re(self, regex, timeout):
        """Waits until regex (str) matches stdout; returns the match or None."""
        import re
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(regex, self.text())
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.p.poll() is not None and not self._pending():
                return re.search(regex, self.text())
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    self.p.wait()
                    return re.search(regex, self.text())
                self.out += chunk

    def _pending(self):
        r, _, _ = select.select([self.p.stdout], [], [], 0)
        return bool(r)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def wait(self, timeout):
        """Waits for exit; returns the exit code, or None after a kill."""
        try:
            rest, err = self.p.communicate(timeout=timeout)
            self.out += rest
            self.err = err.decode(errors="replace")
            return self.p.returncode
        except subprocess.TimeoutExpired:
            self.p.kill()
            rest, err = self.p.communicate()
            self.out += rest
            self.err = err.decode(errors="replace")
            return None

    def text(self):
        return self.out.decode(errors="replace")
