# SPDX-License-Identifier: GPL-2.0-only
"""A dead Uffd page-fault handler (docs/snapshot.md): vmon does not wait
forever on guest pages nobody serves. A snapshot of snap_probe.elf
(64 MiB, its RAM filled with a pattern, read back page by page as it
counts) is loaded with the Uffd back-end twice:
  - `vmon uffd-handler` serves it, the guest counts, then the handler is
    killed (SIGKILL): the guest soon faults on a page nobody serves;
  - a handler that takes the userfaultfd, serves nothing and closes its
    socket while it lives on: the vCPU waits on its first fault.
Each time vmon reports that the handler closed its socket and exits with
status 18 within seconds, and leaves no thread behind."""
import array
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PID = os.getpid()
WORK = tempfile.mkdtemp(prefix="vmon-uffd-dead-")
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "snap_probe.elf")
STATE, MEM = os.path.join(WORK, "state"), os.path.join(WORK, "memory")


def counts(inst):
    return [l for l in inst.serial_text().split("\n") if l.startswith("c=")]


def load(tag, sock):
    inst = vmon_api.Instance(id="uffd-dead-%s-%d" % (tag, PID))
    st, b = inst.req("PUT", "/snapshot/load",
                     {"snapshot_path": STATE,
                      "mem_backend": {"backend_type": "Uffd",
                                      "backend_path": sock},
                      "resume_vm": True})
    check(st == 204, "load %s: %s %r" % (tag, st, b))
    return inst


def ends_18(inst, what):
    try:
        code = inst.p.wait(60)
    except subprocess.TimeoutExpired:
        code = None
    err = inst.stderr()
    check(code == 18 and "page-fault handler closed its socket" in err,
          "%s: vmon exits 18 naming the handler (exit %s): %s"
          % (what, code, err[-500:]))
    inst.stop()


# --- The snapshot ---
src = vmon_api.Instance(id="uffd-dead-src-%d" % PID)
check(src.req("PUT", "/boot-source", {"kernel_image_path": PROBE})[0] == 204
      and src.req("PUT", "/machine-config",
                  {"vcpu_count": 1, "mem_size_mib": 64})[0] == 204
      and src.req("PUT", "/actions",
                  {"action_type": "InstanceStart"})[0] == 204, "boot")
check(vmontest.wait_for(lambda: len(counts(src)) > 2), "the source counts")
check(src.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
st, b = src.req("PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": STATE,
                 "mem_file_path": MEM})
check(st == 204, "snapshot/create: %s %r" % (st, b))
check(src.stop() == 0, "the source stops")

# --- vmon's handler, killed while the guest runs ---
hsock = os.path.join(WORK, "h1.sock")
h = subprocess.Popen([vmontest.VMON, "uffd-handler", hsock, MEM],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
check(h.stdout.readline().startswith(b"listening on"), "the handler listens")
inst = load("killed", hsock)
check(vmontest.wait_for(lambda: len(counts(inst)) > 20),
      "the guest counts through the handler")
h.kill()
h.wait()
ends_18(inst, "handler killed")


# --- A handler that closes its socket without serving ---
def silent_handler(listener, got):
    conn, _ = listener.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    got.extend(fds)
    time.sleep(0.5)  # the vCPU is waiting on its first fault by now
    for fd in fds:
        os.close(fd)
    conn.close()


hsock = os.path.join(WORK, "h2.sock")
listener = socket.socket(socket.AF_UNIX)
listener.bind(hsock)
listener.listen(1)
got = []
t = threading.Thread(target=silent_handler, args=(listener, got), daemon=True)
t.start()
inst = load("silent", hsock)
t.join(30)
check(len(got) == 1, "the silent handler received the userfaultfd")
ends_18(inst, "handler closed its socket")
check(not counts(inst), "the guest ran nothing unserved (no line printed)")
listener.close()

shutil.rmtree(WORK, ignore_errors=True)
vmontest.finish()
