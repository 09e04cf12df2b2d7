# SPDX-License-Identifier: GPL-2.0-only
"""Control plane and devices on real KVM, with a guest program (no Linux):

- rate limiter: a drive with a 1 MiB/s bandwidth bucket (1 MiB, full at
  start); the guest (guest/probes/api_probe.c) reads 4 MiB in
  64 KiB requests, which must take (4 - 1) MiB / (1 MiB/s) = 3 s within
  10 %; the metrics count the throttling; without a limiter the same read
  is far quicker; a PATCH at run time changes the limit;
- virtio-rng's rate limiter: with PUT /entropy's 1 KiB/s bandwidth bucket
  (full at start) the guest's 3 KiB of 256-byte reads take (3 - 1) s; with
  `vmon run --rng ops=4/1000` its 12 reads take (12 - 4) / 4 = 2 s; without
  a limiter both are far quicker;
- SendCtrlAltDel: the guest reads the keys from the i8042 data port,
  scancode set 1 with translation on, set 2 after it turns it off.
"""
import os
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "api_probe.elf")
MIB = 1 << 20


def wait_serial(inst, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in inst.serial_text():
            return time.monotonic()
        if not inst.alive():
            break
        time.sleep(0.005)
    return None


def boot(inst, args, drive=None, entropy=None):
    ok = inst.req("PUT", "/boot-source", {"kernel_image_path": PROBE,
                                          "boot_args": args})[0] == 204
    ok &= inst.req("PUT", "/machine-config",
                   {"vcpu_count": 1, "mem_size_mib": 32})[0] == 204
    if drive:
        st, b = inst.req("PUT", "/drives/disk", drive)
        ok &= st == 204
    if entropy is not None:
        ok &= inst.req("PUT", "/entropy", entropy)[0] == 204
    st, b = inst.req("PUT", "/actions", {"action_type": "InstanceStart"})
    return ok and st == 204


def timed_read(rate_limiter, patch=None):
    tmp = vmon_api.Instance(id="rate-%d" % os.getpid())
    img = os.path.join(tmp.dir, "disk.img")
    with open(img, "wb") as f:
        f.write(os.urandom(4 * MIB))
    drive = {"drive_id": "disk", "path_on_host": img, "is_root_device": False,
             "is_read_only": True}
    if rate_limiter:
        drive["rate_limiter"] = rate_limiter
    check(boot(tmp, "console=ttyS0 probe.blkrate probe.stay", drive),
          "boot with a drive")
    t0 = wait_serial(tmp, "blkrate: start", 30)
    if patch:
        st, b = tmp.req("PATCH", "/drives/disk", patch)
        check(st == 204, "PATCH /drives/disk rate_limiter at run time: %r" % (b,))
    t1 = wait_serial(tmp, "blkrate: done", 60)
    wait_serial(tmp, "api-probe: PASSED", 10)
    st, stats = tmp.req("GET", "/vmon/stats")
    text = tmp.serial_text()
    check(tmp.stop() == 0, "vmon stops on SIGTERM with 0")
    check(t0 is not None and t1 is not None and "ok: blk: 4 MiB read" in text
          and "api-probe: PASSED" in text, "the guest read 4 MiB: %s" % text[-300:])
    return (t1 - t0) if t0 and t1 else None, stats


# --- rate limiter: 1 MiB/s -------------------------------------------------
bucket = {"bandwidth": {"size": MIB, "refill_time": 1000}}
took, stats = timed_read(bucket)
print("4 MiB at 1 MiB/s (bucket of 1 MiB, full): %.3f s" % (took or -1))
check(took is not None and 2.7 <= took <= 3.3,
      "1 MiB/s bucket: 4 MiB take 3 s within 10 %% (took %s)" % took)
blk = (stats or {}).get("block", {}).get("disk", {})
# The queue is held from each refusal to its admission: about 3 s for the
# 3 MiB past the full bucket, less the time the guest and the I/O thread
# take between two requests (tens of ms each on a busy host).
check(blk.get("read_count") == 64 and blk.get("read_bytes") == 4 * MIB and
      blk.get("rate_limiter_throttled", 0) > 0 and
      2000 <= blk.get("rate_limiter_throttled_ms", 0) <= (took or 0) * 1000,
      "metrics: 64 reads, 4 MiB, throttling counted: %r" % blk)

took_free, _ = timed_read(None)
print("4 MiB without a limiter: %.3f s" % (took_free or -1))
check(took_free is not None and took_free < 1.5,
      "without a rate limiter the same read is much quicker (%s s)" % took_free)

# ops bucket: 16 requests per second, 64 requests, bucket full at start:
# (64 - 16) / 16 = 3 s; at run time the limiter is swapped for 4 MiB/s
# bandwidth only (ops bucket disabled by size 0, as in Firecracker: null
# would leave it unchanged), so it finishes well before that.
took, _ = timed_read({"ops": {"size": 16, "refill_time": 1000}})
print("64 requests at 16 ops/s: %.3f s" % (took or -1))
check(took is not None and 2.7 <= took <= 3.3,
      "16 ops/s bucket: 64 requests take 3 s within 10 %% (took %s)" % took)
took, _ = timed_read({"ops": {"size": 16, "refill_time": 1000}},
                     patch={"drive_id": "disk", "rate_limiter": {
                         "ops": {"size": 0, "refill_time": 0},
                         "bandwidth": {"size": 4 * MIB, "refill_time": 1000}}})
print("64 requests at 16 ops/s, patched to 4 MiB/s: %.3f s" % (took or -1))
check(took is not None and took < 1.5,
      "a PATCHed rate limiter takes effect at once (took %s)" % took)

# --- virtio-rng rate limiter ----------------------------------------------
def timed_rng_api(entropy):
    tmp = vmon_api.Instance(id="rngrate-%d" % os.getpid())
    check(boot(tmp, "console=ttyS0 probe.rngrate probe.stay", entropy=entropy),
          "boot with an entropy device %r" % (entropy,))
    t0 = wait_serial(tmp, "rngrate: start", 30)
    t1 = wait_serial(tmp, "rngrate: done", 60)
    wait_serial(tmp, "api-probe: PASSED", 10)
    text = tmp.serial_text()
    check(tmp.stop() == 0, "vmon stops on SIGTERM with 0")
    check(t0 is not None and t1 is not None and "ok: rng: 3 KiB read" in text
          and "api-probe: PASSED" in text, "the guest read 3 KiB: %s" % text[-300:])
    return (t1 - t0) if t0 and t1 else None


took = timed_rng_api({"rate_limiter": {"bandwidth": {"size": 1024,
                                                     "refill_time": 1000}}})
print("3 KiB of entropy at 1 KiB/s (bucket of 1 KiB, full): %.3f s" % (took or -1))
check(took is not None and 1.8 <= took <= 2.2,
      "entropy 1 KiB/s bucket: 3 KiB take 2 s within 10 %% (took %s)" % took)
took = timed_rng_api({})
print("3 KiB of entropy without a limiter: %.3f s" % (took or -1))
check(took is not None and took < 1.0,
      "entropy without a rate limiter: much quicker (%s s)" % took)


def timed_rng_cli(limit):
    args = ["run", "-k", PROBE, "-m", "32M", "--rng"] + limit + \
        ["--append", "probe.rngrate"]
    r = vmontest.run(args, timeout=60)
    check(not r.timed_out and r.code == 1 and "ok: rng: 3 KiB read" in r.out
          and "api-probe: PASSED" in r.out, "%s: the guest read 3 KiB: %r" % (
              " ".join(args[4:]), r))
    return r.elapsed


took = timed_rng_cli(["ops=4/1000"])
print("12 entropy reads at 4 ops/s (--rng ops=4/1000): %.3f s in all" % took)
check(1.8 <= took <= 3.0, "--rng ops=4/1000: 12 reads take 2 s (%s s in all)" % took)
took = timed_rng_cli([])
check(took < 1.5, "--rng without limits: much quicker (%s s in all)" % took)
r = vmontest.run(["run", "-k", PROBE, "--rng=bytes=1M,iops=3"], timeout=30)
check(r.code == 2 and "--rng bytes=1M,iops=3: bad rate limit 'iops=3'" in r.err,
      "--rng with a bad limit: exit 2, the item named: %r" % r.err)

# --- SendCtrlAltDel --------------------------------------------------------
inst = vmon_api.Instance(id="kbd-%d" % os.getpid())
check(boot(inst, "console=ttyS0 probe.kbd"), "boot the keyboard probe")
check(wait_serial(inst, "kbd: ready for set 1", 30) is not None, "probe ready (set 1)")
st, b = inst.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
check(st == 204, "SendCtrlAltDel: 204 (%r)" % (b,))
check(wait_serial(inst, "kbd: ready for set 2", 30) is not None, "probe ready (set 2)")
st, b = inst.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
check(st == 204, "SendCtrlAltDel again: 204 (%r)" % (b,))
check(wait_serial(inst, "api-probe: ", 30) is not None, "probe finished")
inst.p.wait(30)
text = inst.serial_text()
print(text)
check("ok: kbd: Ctrl+Alt+Del in scancode set 1" in text and
      "ok: kbd: Ctrl+Alt+Del in scancode set 2" in text and
      "api-probe: PASSED" in text, "the guest read Ctrl+Alt+Del from port 0x60")
inst.stop()
vmontest.finish()
