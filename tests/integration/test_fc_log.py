# SPDX-License-Identifier: GPL-2.0-only
"""Firecracker's log lines: without a logger vmon writes its own lines
("vmon: ..."); once PUT /logger (or Firecracker's --log-path/--level/
--show-level/--show-log-origin/--module flags) configures one, each line
is "TIME [ID:THREAD] message" with the level after the thread for
show_level and the source file and line for show_log_origin, and `module`
keeps only the messages of that part of vmon's source."""
import os
import re
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}"


def run(logger=None, args=(), name="x"):
    """Boots the counting guest, stops it; returns the log lines."""
    iid = "fclog-%s-%d" % (name, PID)
    inst = vmon_api.Instance(id=iid, extra=args)
    if logger is not None:
        log = os.path.join(inst.dir, "log")
        open(log, "w").close()
        logger = dict(logger, log_path=log)
        st, b = inst.req("PUT", "/logger", logger)
        check(st == 204, "PUT /logger %r -> 204 (%r)" % (logger, b))
    check(inst.boot_counter()[0], "%s: the guest boots" % name)
    time.sleep(0.3)
    check(inst.stop() == 0, "%s: vmon stops with 0" % name)
    path = log if logger is not None else inst.err_path
    with open(path) as f:
        return iid, [ln for ln in f.read().splitlines() if ln]


iid, lines = run(args=["--verbose"], name="default")
check(any("stopping on signal 15" in ln for ln in lines) and
      all(ln.startswith("vmon: ") for ln in lines),
      "no logger: vmon's own lines: %r" % lines[:3])

iid, lines = run({"level": "Info"}, name="plain")
pat = re.compile(TIME + r" \[" + re.escape(iid) + r":[^:\]]+\] \S")
check(lines and all(pat.match(ln) for ln in lines),
      "logger: 'TIME [ID:THREAD] message': %r" % lines[:3])
check(any("stopping on signal 15" in ln for ln in lines),
      "the stop is logged: %r" % lines)

iid, lines = run({"level": "Info", "show_level": True,
                  "show_log_origin": True}, name="full")
pat = re.compile(TIME + r" \[" + re.escape(iid) +
                 r":[^:\]]+:(ERROR|WARN|INFO|DEBUG):src/[a-z0-9_/]+\.c:\d+\] ")
check(lines and all(pat.match(ln) for ln in lines),
      "show_level, show_log_origin: level, file and line: %r" % lines[:3])
check(any(":INFO:src/vmm/vm.c:" in ln and "stopping on signal" in ln
          for ln in lines), "the stop comes from src/vmm/vm.c: %r" % lines)

iid, lines = run({"level": "Info", "show_log_origin": True,
                  "module": "vmm"}, name="module")
check(lines and all(":src/vmm/" in ln for ln in lines) and
      any("stopping on signal" in ln for ln in lines),
      "module vmm: only src/vmm's messages: %r" % lines)

# Firecracker's flags on the command line, "::" as a module separator.
tmp = tempfile.mkdtemp(prefix="vmon-fclog-")
log = os.path.join(tmp, "fc.log")
open(log, "w").close()
iid, _ = run(args=["--log-path", log, "--level", "Info", "--show-level",
                   "--module", "vmm::vm"], name="flags")
with open(log) as f:
    lines = [ln for ln in f.read().splitlines() if ln]
pat = re.compile(TIME + r" \[" + re.escape(iid) + r":[^:\]]+:INFO\] ")
check(lines and all(pat.match(ln) for ln in lines) and
      any("stopping on signal" in ln for ln in lines) and
      not any("booting" in ln for ln in lines),
      "--show-level --module vmm::vm: levels, src/vmm/vm*.c only: %r" % lines)
vmontest.finish()
