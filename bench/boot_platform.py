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

and with --qemu the same kernel, root disk, memory and command line (plus
the words vmon's pvm template adds, as bench/boot gives them) under QEMU:

  qemu-microvm  -M microvm,acpi=off: virtio-blk-device (virtio-mmio),
                acpi=off pci=off, as mmio; qboot and the PVH entry
  qemu-q35      -M q35: SeaBIOS, then the PVH entry; ACPI, PCI and
                virtio-blk-pci with MSI-X, as pci-acpi

(`--only NAME,...` picks configurations), and prints for each boot the
wall time to the init marker, the guest's own printk time of `Run /init`
(after the firmware), KVM's emulated instructions and exits at the marker
(vmon: through `vmon stat`; QEMU: QMP's query-stats) and the load
average; then the medians per configuration. The times depend on the
load; the emulated-instruction count less (a longer boot takes more timer
ticks, each emulated on a PVM host). One boot at a time.

Usage: bench/boot_platform.py [--runs N] [--before-cache DIR] [--vmon PATH]
                              [--qemu] [--only NAME,...] [--timeout S]
"""
import argparse
import importlib.machinery
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = b"VMON-GUEST-OK"
# bench/boot (no .py suffix): QEMU's -cpu and the pvm template's words.
BOOT = importlib.machinery.SourceFileLoader(
    "bench_boot", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "boot")).load_module()


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


def boot_args(acpi):
    words = "" if acpi else " acpi=off pci=off"
    return "console=ttyS0 reboot=k panic=-1%s %s" % (words, ROOT_WORDS)


def wait_marker(p, serial, timeout, t0, at_marker=None):
    """Seconds from t0 to the marker on the serial file, or None; the
    process is killed at the marker (after at_marker()) or the timeout."""
    t = None
    while p.poll() is None and time.monotonic() - t0 < timeout:
        if serial_has_marker(serial):
            t = time.monotonic() - t0
            if at_marker:
                at_marker()
            break
        time.sleep(0.1)
    if p.poll() is None:
        p.kill()
    return t, p.wait()


def result(name, serial, t, code, load, kvm):
    with open(serial, "rb") as f:
        log = f.read().decode(errors="replace")
    m = re.search(r"\[\s*([\d.]+)\] Run /init", log)
    res = {"marker": t, "init": float(m.group(1)) if m else None,
           "insns": kvm.get("insn_emulation"), "exits": kvm.get("exits"), "exit": code,
           "load": load}
    print("%-12s marker %s s, Run /init at %s s (printk), %s emulated instructions, "
          "%s exits, exit %s, load %.1f" % (
              name, "%.1f" % t if t else "-", m.group(1) if m else "-",
              res["insns"], res["exits"], code, load), flush=True)
    return res


def boot(a, name, args, cache, timeout):
    tmp = tempfile.mkdtemp(prefix="vmon-bootplat-")
    serial, sock = os.path.join(tmp, "serial"), os.path.join(tmp, "api.sock")
    d = guest_dir(cache)
    cfg = {"boot-source": {"kernel_image_path": os.path.join(d, "vmlinux"),
                           "boot_args": boot_args("--acpi" in args)},
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
    got = {}

    def stat():
        r = subprocess.run([a.vmon, "stat", sock], capture_output=True, text=True)
        got.update(json.loads(r.stdout) if r.returncode == 0 else {})

    t, code = wait_marker(p, serial, timeout, t0, stat)
    kvm = {}
    for v in got.get("vcpus", []):
        for k, n in v.get("kvm", {}).items():
            if isinstance(n, int):
                kvm[k] = kvm.get(k, 0) + n
    res = result(name, serial, t, code, load, kvm)
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def qemu_cmd(machine, serial):
    """QEMU booting the default guest as the matching vmon configuration."""
    d = guest_dir(None)
    microvm = machine == "microvm"
    cmd = ["qemu-system-x86_64", "-M", "microvm,acpi=off,rtc=on" if microvm else "q35",
           "-accel", "kvm", "-cpu", BOOT.pvm_features(), "-m", "256M", "-smp", "1",
           "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-serial", "file:" + serial, "-kernel", os.path.join(d, "vmlinux"),
           "-drive", "file=%s,format=raw,if=none,id=root,readonly=on" %
           os.path.join(d, "rootfs.ext4"),
           "-device", ("virtio-blk-device" if microvm else "virtio-blk-pci") + ",drive=root",
           "-append", boot_args(not microvm) + BOOT.pvm_cmdline_extra()]
    return cmd + (["-device", "i8042"] if microvm else [])


def qmp_kvm_counts(sock):
    """KVM's emulated instructions and exits of QEMU's vCPUs, summed, from
    QMP's query-stats (the counters `vmon stat` gives for vmon): {} if
    QEMU does not answer."""
    want = ("insn_emulation", "exits")
    got = {}
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(sock)
            f = s.makefile("rw")
            f.readline()  # the greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": "query-stats", "arguments": {"target": "vcpu"}}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                r = json.loads(f.readline())
                while "event" in r:
                    r = json.loads(f.readline())
            for vcpu in r.get("return", []):
                for st in vcpu.get("stats", []) if vcpu.get("provider") == "kvm" else []:
                    if st["name"] in want and isinstance(st["value"], int):
                        got[st["name"]] = got.get(st["name"], 0) + st["value"]
    except (OSError, ValueError):
        return {}
    return got


def boot_qemu(a, name, machine, timeout):
    tmp = tempfile.mkdtemp(prefix="vmon-bootplat-")
    serial = os.path.join(tmp, "serial")
    open(serial, "wb").close()
    load = os.getloadavg()[0]
    t0 = time.monotonic()
    qmp = os.path.join(tmp, "qmp.sock")
    p = subprocess.Popen(qemu_cmd(machine, serial) +
                         ["-qmp", "unix:%s,server=on,wait=off" % qmp],
                         stdin=subprocess.DEVNULL)
    kvm = {}
    t, code = wait_marker(p, serial, timeout, t0,
                          lambda: kvm.update(qmp_kvm_counts(qmp)))
    res = result(name, serial, t, code, load, kvm)
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before-cache", help="VMON_CACHE of an older guest to boot too")
    ap.add_argument("--vmon", default=os.path.join(ROOT, "build", "vmon"))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--qemu", action="store_true",
                    help="also QEMU microvm and q35 on the same kernel")
    ap.add_argument("--only", help="comma-separated configurations to boot")
    a = ap.parse_args()
    configs = [("mmio", lambda: boot(a, "mmio", [], None, a.timeout)),
               ("pci-acpi", lambda: boot(a, "pci-acpi", ["--acpi", "--transport", "pci"],
                                         None, a.timeout))]
    if a.before_cache:
        configs.insert(0, ("before", lambda: boot(a, "before", [], a.before_cache,
                                                  a.timeout)))
    if a.qemu:
        configs += [("qemu-" + m, lambda m=m: boot_qemu(a, "qemu-" + m, m, a.timeout))
                    for m in ("microvm", "q35")]
    if a.only:
        configs = [c for c in configs if c[0] in a.only.split(",")]
    res = {name: [] for name, _ in configs}
    for _ in range(a.runs):
        for name, fn in configs:
            res[name].append(fn())
    for name, rs in res.items():
        def med(k):
            v = [r[k] for r in rs if r[k] is not None]
            return statistics.median(v) if v else None
        print("median %-12s: marker %s s, Run /init %s s, %s emulated instructions" % (
            name, med("marker"), med("init"), med("insns")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
