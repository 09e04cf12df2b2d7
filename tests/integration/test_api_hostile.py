# SPDX-License-Identifier: GPL-2.0-only
"""A hostile API client: malformed, truncated, huge (> 64 KiB) and
concurrent requests never crash vmon, never change its configuration or
state, and never keep other clients from being served.

`test_api_hostile.py host` (integration/api_hostile_host) stops before
InstanceStart and needs no /dev/kvm, so it holds on any host; the plain
run needs KVM and boots a guest after it all."""
import os
import random
import socket
import threading
import time

import vmontest
from vmontest import check
import vmon_api

HOST_PART = vmontest.HOST_PART
if not HOST_PART:
    vmontest.require_kvm()
inst = vmon_api.Instance(id="hostile-%d" % os.getpid())
inst.req("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64})
before = inst.req("GET", "/vm/config")[1]


def send(data, shutdown=True, timeout=3.0):
    try:
        return vmon_api.raw(inst.sock, data, timeout, shutdown)
    except OSError:
        return b""


garbage = [
    b"", b"\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n", b"PUT /machine-config HTTP/1.1\r\n",
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"vcpu_count\":",
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 5\r\n\r\n\x00\xff\x00\xff\x00",
    b"PUT /machine-config HTTP/1.1\r\nContent-Length: 29\r\n\r\n{\"vcpu_count\":1e400,\"x\":\"\\ud800\"}",
    b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"B" * 200000 + b"\r\n\r\n",
    b"PUT /actions HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"action_t",
]
rng = random.Random(5)
for _ in range(200):
    n = rng.randrange(1, 400)
    garbage.append(bytes(rng.randrange(256) for _ in range(n)))
    req = b"PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % n
    garbage.append(req + bytes(rng.randrange(32, 127) for _ in range(n)))
for g in garbage:
    send(g)
check(inst.alive(), "vmon survives %d malformed and truncated requests" % len(garbage))

# Huge bodies: refused with 400, announced or not, chunked or not.
big = b"{\"vcpu_count\": 1, \"mem_size_mib\": 32, \"pad\": \"" + b"x" * 70000 + b"\"}"
r = send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
st, body, _ = vmon_api.parse_response(r) if r else (0, None, b"")
check(st == 400 and "larger than the limit" in (body or {}).get("fault_message", ""),
      "a 70 KB body is refused with 400 naming the limit")
chunks = b"".join(b"%x\r\n" % 4096 + b"y" * 4096 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
r = send(b"PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
st, body, _ = vmon_api.parse_response(r) if r else (0, None, b"")
check(st == 400 and "larger than the limit" in (body or {}).get("fault_message", ""),
      "an 80 KB chunked body is refused with 400")

# Slow and idle clients do not block others.
idle = []
for _ in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(inst.sock)
    s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{")
    idle.append(s)
t0 = time.monotonic()
st, info = inst.req("GET", "/")
check(st == 200 and time.monotonic() - t0 < 1.0,
      "served while 16 clients hold half-sent requests")
for s in idle:
    s.close()

# Concurrent clients: valid and invalid requests from 8 threads.
errors = []


def worker(k):
    for j in range(40):
        try:
            if j % 4 == 0:
                st, _ = inst.req("GET", "/machine-config")
                if st != 200:
                    errors.append(("GET", st))
            elif j % 4 == 1:
                st, _ = inst.req("PUT", "/machine-config", "{\"vcpu_count\": 1")
                if st != 400:
                    errors.append(("bad PUT", st))
            elif j % 4 == 2:
                st, _ = inst.req("PATCH", "/vm", {"state": "Paused"})
                if st != 400:
                    errors.append(("pause before boot", st))
            else:
                send(bytes(rng.randrange(256) for _ in range(64)))
        except OSError as e:
            errors.append(("os", str(e)))


threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
check(not errors, "8 concurrent clients x 40 requests answered correctly %r" % errors[:5])

after = inst.req("GET", "/vm/config")[1]
check(after == before, "the configuration is unchanged by all of it")
check(inst.req("GET", "/")[1]["state"] == "Not started", "the state is unchanged")
if HOST_PART:
    check(inst.stop() == 0, "SIGTERM: exit 0")
    vmontest.finish()

# And the instance still works.
ok, b = inst.boot_counter(vcpus=1, mem=32)
check(ok, "InstanceStart still works afterwards %r" % (b,))
for g in garbage[:50]:
    send(g)
st, info = inst.req("GET", "/")
check(st == 200 and info["state"] == "Running", "running VM unaffected by garbage")
check(inst.stop() == 0, "SIGTERM: exit 0")
vmontest.finish()
