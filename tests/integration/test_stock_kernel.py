# SPDX-License-Identifier: GPL-2.0-only
"""Debian's stock kernel, unmodified (the ELF vmlinux inside its bzImage,
booted through its PVH note; scripts/fetch-stock-kernel). On a VMX/SVM host
it boots until it finds no root file system, panics and reboots (panic=-1,
exit 0). On a PVM host it gets as far as the emulator allows and vmon stops
it with the emulation-failure report (exit 10, instruction bytes, a hint),
never a hang or a crash of vmon. The wait follows the guest's progress
(its console output): it fails only when the kernel stops printing for
vmontest.STALL_S seconds without vmon ending."""
import os
import subprocess
import time

import vmontest as t

PVM = t.PVM_HOST


def stock_dir():
    """Where scripts/fetch-stock-kernel keeps the current kernel."""
    r = subprocess.run([os.path.join(t.SOURCE_ROOT, "scripts", "fetch-stock-kernel"),
                        "--cache-dir"], capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main():
    t.require_kvm()
    kernel = os.path.join(stock_dir(), "vmlinux")
    if not t.check(os.path.exists(kernel), "stock kernel present (%s)" % kernel):
        print("run scripts/fetch-stock-kernel (scripts/setup does)")
        t.finish()
    vm = t.Interactive(["run", "--kernel", kernel, "--mem", "512M"])
    code = vm.follow_exit("stock kernel runs until vmon stops it")
    serial = vm.text()
    print("serial tail:\n" + serial[-1500:])
    print("stderr:\n" + vm.err[-3000:])
    t.check(code is not None, "vmon ends by itself (%.0f s)" % (time.monotonic() - vm.t0))
    t.check("Linux version 6.1" in serial, "the stock kernel runs and prints its banner")
    if PVM:
        t.check(code == 10, "stopped with the emulation-failure code 10 (got %r)" % code)
        t.check("emulation failure" in vm.err and "code at RIP:" in vm.err and
                "RIP=" in vm.err and "RAX=" in vm.err, "the report has RIP, bytes, registers")
        t.check("hint:" in vm.err, "the report has a hint")
    else:
        t.check(code == 0, "no root fs: panic=-1 reboots, exit 0 (got %r)" % code)
    t.finish()


main()
