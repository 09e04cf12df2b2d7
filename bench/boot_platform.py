#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench/boot_platform.py - the default guest's boot with and without ACPI
and PCI (issue 14), alternating, on the same load.

Each round boots the default guest (scripts/build-guest: vmlinux and its
root disk, 1 vCPU, 256 MiB, serial to a file) once per configuration,
configured with --config-file and --api-sock so that `vmon stat` can read
KVM's counters at the marker, with the command line `vmon run` gives it:

  mmio      virtio-mmio, no ACPI (acpi=off pci=off, as vmon's default
            command line says then)
  pci-acpi  --acpi --transport pci
  before    (with --before-cache DIR) as mmio, the guest in DIR/guest/default,
            e.g. the kernel without ACPI and PCI

and prints for each boot the wall time to the init marker, the guest's own
printk time of `Run /init`, KVM's emulated instructions and exits at the
marker and the load average; then the medians per configuration. The
emulated-instruction count does not depend on the load; the times do.

Usage: bench/boot_platform.py [--runs N] [--before-cache DIR] [--vmon PATH]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = b"VMON-GUEST-OK"


ROOT_WORDS = "root=/dev/vda ro rootfstype=ext4 init=/init"


def guest_dir(cache):
    return os.path.join(cache or os.environ.get("VMON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vmon"),
        "guest", "default")


def serial_has_marker(path):
    try:
        with open(path, "rb") as f:
            return MARKER in f.read()
    except OSError:
        return False


def boot(a, name, args, cache, timeout):
    tmp = tempfile.mkdtemp(prefix="vmon-bootplat-")
    serial, sock = os.path.join(tmp, "serial"), os.path.join(tmp, "api.sock")
    d = guest_dir(cache)
    words = "" if "--acpi" in args else " acpi=off pci=off"
    cfg = {"boot-source": {"kernel_image_path": os.path.join(d, "vmlinux"),
                           "boot_args": "console=ttyS0 reboot=k panic=-1%s %s" %
                           (words, ROOT_WORDS)},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
           "drives": [{"drive_id": "root", "path_on_host": os.path.join(d, "rootfs.ext4"),
                       "is_root_device": False, "is_read_only": True}]}
    with open(os.path.join(tmp, "vm.json"), "w") as f:
        json.dump(cfg, f)
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    p = subprocess.Popen([a.vmon, "run", "--config-file", os.path.join(tmp, "vm.json"),
                          "--api-sock", sock, "--serial", "file:" + serial, "--quiet"] + args,
                         stdin=subprocess.DEVNULL)
    t, got = None, {}
    while p.poll() is None and time.monotonic() - t0 < timeout:
        if serial_has_marker(serial):
            t = time.monotonic() - t0
            r = subprocess.run([a.vmon, "stat", sock], capture_output=True, text=True)
            got = json.loads(r.stdout) if r.returncode == 0 else {}
            break
        time.sleep(0.1)
    if t is None and p.poll() is None:
        p.kill()
    code = p.wait()
    kvm = {}
    for v in got.get("vcpus", []):
        for k, n in v.get("kvm", {}).items():
            if isinstance(n, int):
                kvm[k] = kvm.get(k, 0) + n
    with open(serial, "rb") as f:
        log = f.read().decode(errors="replace")
    m = re.search(r"\[\s*([\d.]+)\] Run /init", log)
    res = {"marker": t, "init": float(m.group(1)) if m else None,
           "insns": kvm.get("insn_emulation"), "exits": kvm.get("exits"), "exit": code,
           "load": load}
    print("%-9s marker %s s, Run /init at %s s (printk), %s emulated instructions, "
          "%s exits, exit %s, load %.1f" % (
              name, "%.1f" % t if t else "-", m.group(1) if m else "-",
              res["insns"], res["exits"], code, load), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before-cache", help="VMON_CACHE of an older guest to boot too")
    ap.add_argument("--vmon", default=os.path.join(ROOT, "build", "vmon"))
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    configs = [("mmio", [], None), ("pci-acpi", ["--acpi", "--transport", "pci"], None)]
    if a.before_cache:
        configs.insert(0, ("before", [], a.before_cache))
    res = {name: [] for name, _, _ in configs}
    for _ in range(a.runs):
        for name, args, cache in configs:
            res[name].append(boot(a, name, args, cache, a.timeout))
    for name, rs in res.items():
        def med(k):
            v = [r[k] for r in rs if r[k] is not None]
            return statistics.median(v) if v else None
        print("median %-9s: marker %s s, Run /init %s s, %s emulated instructions" % (
            name, med("marker"), med("init"), med("insns")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
