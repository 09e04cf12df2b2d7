# SPDX-License-Identifier: GPL-2.0-only
"""The default Linux guest, booted by a plain `vmon run`: with --cpus 2 it
reaches its init marker reporting nproc=2, a line typed on the serial
console reaches the guest's shell and its answer comes back, and the
guest's `reboot -f` (reboot=k: i8042 reset) ends vmon with exit code 0.
One boot covers all of it: a Linux boot costs ~45 s on an idle PVM host,
minutes on a busy one; every wait follows the guest's progress (vmontest)."""
import vmontest as t


def main():
    t.require_kvm()
    vm = t.Interactive(["run", "--cpus", "2", "--append", "vmon.shell"])
    booted = vm.boot(b"VMON-GUEST-OK")
    if not t.check(booted, "the default guest reaches its init marker"):
        vm.p.kill()
        vm.wait(10)
        t.finish()
    m = vm.expect_re(r"VMON-GUEST-OK nproc=(\d+) kernel=(\S+)\s", 10)
    t.check(m is not None and m.group(1) == "2", "the guest sees 2 CPUs (nproc=2)")
    t.check(m is not None and m.group(2).startswith("6.1."), "kernel version reported")

    # A line typed on the console reaches the shell; its output comes back.
    # (Each fork+exec costs the guest 0.5-1 s of emulated kernel work.)
    vm.follow(b"# ", "shell prompt", idle_s=5)
    vm.send("echo vmon-$((6*7))-ok\n")
    t.check(vm.follow(b"vmon-42-ok", "echo through the shell", idle_s=5),
            "serial input reaches the guest's shell")
    vm.send("reboot -f\n")
    code = vm.wait(vm.budget(10))
    t.check(code == 0, "guest reboot ends vmon with exit code 0 (got %r)" % code)
    t.check("Traceback" not in vm.err and "ERROR" not in vm.err, "no error on stderr")
    t.finish()


main()
