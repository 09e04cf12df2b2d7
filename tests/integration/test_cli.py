# SPDX-License-Identifier: GPL-2.0-only
"""Core command-line behaviour: version/help, every bad input with its
message and exit code, the debug-exit code, serial modes, and the reports
of a triple fault and an emulation failure (tiny bare PVH guests,
guest/bare/).

`test_cli.py host` (integration/cli_host) runs what needs no /dev/kvm, so
it holds on any host: version and help, the bad inputs vmon refuses before
it opens /dev/kvm, and the missing /dev/kvm itself. The plain run needs
KVM and runs the rest: the limits KVM sets, kernels and initrds the
loaders refuse, the guests."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import vmontest as t

FIX = os.path.join(t.BUILD_ROOT, "guest")  # guest/bare/*.S
EXITCODE = os.path.join(FIX, "exitcode.elf")
XRSTOR = os.path.join(FIX, "xrstor.elf")
TRIPLE = os.path.join(FIX, "triple.elf")
COUNTER = os.path.join(FIX, "api_counter.elf")  # counts and prints forever
PVM = t.PVM_HOST


def expect_error(args, code, pattern, what):
    r = t.run(args, timeout=30)
    ok = r.code == code and re.search(pattern, r.err) is not None
    ok = ok and len([l for l in r.err.splitlines() if l.startswith("vmon:") and
                     "note:" not in l]) >= 1
    if not t.check(ok, "%s: exit %d and /%s/" % (what, code, pattern)):
        print(r)


def host_checks(tmp):
    """What needs no /dev/kvm."""
    r = t.run(["--version"])
    # Kata reads the second field of the first line: Firecracker's version.
    t.check(r.code == 0 and re.match(
        r"vmon v\d+\.\d+\.\d+ \(the Firecracker API version it implements\)\n"
        r"vmon \d+\.\d+",
        r.out), "--version: %r" % r.out)
    r = t.run(["run", "--help"])
    for opt in ["--kernel", "--initrd", "--cmdline", "--append", "--cpus",
                "--mem", "--cpu-template", "--serial"]:
        t.check(r.code == 0 and opt in r.out, "run --help documents " + opt)
    # Every command vmon --help lists answers --help itself, exit 0.
    r = t.run(["--help"])
    cmds = re.findall(r"^  ([a-z][a-z-]+)\b", r.out, re.M)
    t.check(r.code == 0 and len(cmds) >= 15, "vmon --help lists the commands: %r" % cmds)
    for c in cmds:
        r = t.run([c, "--help"])
        t.check(r.code == 0 and ("Usage" in r.out or "usage" in r.out) and c in r.out,
                "vmon %s --help: exit %s, %r" % (c, r.code, (r.out + r.err)[:120]))

    # Bad input: one line naming the object and the cause, exit 2.
    expect_error(["run", "--kernel", "/nonexistent/bzImage"], 2,
                 r"vmon: kernel /nonexistent/bzImage: No such file or directory",
                 "missing kernel")
    noperm = os.path.join(tmp, "noperm")
    open(noperm, "w").write("x")
    os.chmod(noperm, 0)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", t.VMON, "run", "--kernel", noperm],
                       capture_output=True, text=True, timeout=30)
    t.check(r.returncode == 2 and "Permission denied" in r.stderr and noperm in r.stderr,
            "unreadable kernel")
    expect_error(["run", "--kernel", EXITCODE, "--cpus", "0"], 2,
                 r"--cpus 0: a VM needs at least one vCPU", "--cpus 0")
    expect_error(["run", "--kernel", EXITCODE, "--cpus", "two"], 2,
                 r"--cpus two: not a number", "--cpus not a number")
    expect_error(["run", "--kernel", EXITCODE, "--mem", "12Q"], 2,
                 r"--mem 12Q: not a size", "--mem not a size")
    expect_error(["run", "--kernel", EXITCODE, "--mem", "1M"], 2,
                 r"--mem 1M: too small", "--mem below the minimum")
    expect_error(["run", "--kernel", EXITCODE, "--cpu-template", "fast"], 2,
                 r"--cpu-template fast: unknown template 'fast'", "unknown template")
    expect_error(["run", "--kernel", EXITCODE, "--cpu-template", "host,-warp9"], 2,
                 r"unknown CPU feature 'warp9'", "unknown feature")
    expect_error(["run", "--kernel", EXITCODE, "--cpu-template", "pvm,avx"], 2,
                 r"'avx' is no edit", "edit without a sign")
    expect_error(["run", "--kernel", EXITCODE, "--serial", "tcp:1"], 2,
                 r"--serial tcp:1: expected stdio, file:PATH or none", "bad --serial")
    # The migration token: only with --incoming; its file checked first.
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("a migration token of this test\n")
    os.chmod(tok, 0o644)
    expect_error(["run", "--kernel", EXITCODE, "--migration-token", tok], 2,
                 r"--migration-token: only with --incoming",
                 "--migration-token without --incoming")
    expect_error(["run", "--incoming", "unix:" + os.path.join(tmp, "in.sock"),
                  "--migration-token", tok], 2,
                 r"migration token %s: other users may read or change it "
                 r"\(mode 0644\): chmod 600 it" % re.escape(tok),
                 "a token file others may read")
    expect_error(["migrate", "x", "unix:" + os.path.join(tmp, "in.sock"),
                  "--token", os.path.join(tmp, "none")], 2,
                 r"migration token %s: No such file or directory"
                 % re.escape(os.path.join(tmp, "none")),
                 "vmon migrate --token: a missing file")
    expect_error(["uffd-handler", os.path.join(tmp, "h.sock"), EXITCODE,
                  "--vms", "many"], 2, r"--vms many: a number of VMs expected",
                 "uffd-handler --vms: not a number")
    # uffd-handler --vms 0 serves until SIGTERM: then exit 0, socket gone.
    mem = os.path.join(tmp, "uffd-mem")
    with open(mem, "wb") as f:
        f.write(bytes(65536))
    hsock = os.path.join(tmp, "h0.sock")
    h = subprocess.Popen([t.VMON, "uffd-handler", hsock, mem, "--vms", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = h.stdout.readline()
    h.send_signal(signal.SIGTERM)
    out, err = h.communicate(timeout=30)
    t.check(line.startswith("listening on") and h.returncode == 0 and
            not os.path.exists(hsock),
            "uffd-handler --vms 0: SIGTERM ends it, exit 0, socket removed: "
            "%r %s %r" % (line, h.returncode, err))
    expect_error(["run", "--bogus"], 2, r"--bogus: unknown option", "unknown option")
    expect_error(["frobnicate"], 2, r"frobnicate: unknown command", "unknown command")

    # No /dev/kvm: exit 4.
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        "mount -t tmpfs none /dev && exec \"$0\" run --kernel \"$1\"",
                        t.VMON, EXITCODE], capture_output=True, text=True, timeout=30)
    t.check(r.returncode == 4 and "/dev/kvm: No such file or directory" in r.stderr,
            "no /dev/kvm: exit 4 and message")


def kvm_checks(tmp):
    """The limits KVM sets, the kernel and initrd loaders (after
    /dev/kvm is open), and the guests."""
    text = os.path.join(tmp, "notakernel")
    open(text, "w").write("hello, I am not a kernel\n" * 100)
    expect_error(["run", "--kernel", text], 2, r"kernel .*notakernel: not a kernel",
                 "file that is no kernel")
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    expect_error(["run", "--kernel", empty], 2, r"kernel .*empty: file is empty",
                 "empty kernel file")
    big = os.path.join(tmp, "initrd.big")
    with open(big, "wb") as f:
        f.write(os.urandom(1 << 20) * 8)
    expect_error(["run", "--kernel", EXITCODE, "--initrd", big, "--mem", "4M"], 2,
                 r"initrd .*initrd.big: 8 MiB does not fit in guest memory",
                 "memory too small for the initrd")
    expect_error(["run", "--kernel", EXITCODE, "--cpus", "100000"], 2,
                 r"--cpus 100000: this host allows at most \d+ vCPUs",
                 "--cpus above the KVM limit")
    expect_error(["run", "--kernel", EXITCODE, "--mem", "1000T"], 2,
                 r"memory \d+M: more than this host can map", "--mem above the host")
    # No permission on /dev/kvm: exit 4.
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", t.VMON, "run", "--kernel", EXITCODE],
                       capture_output=True, text=True, timeout=30)
    t.check(r.returncode == 4 and "/dev/kvm: Permission denied" in r.stderr,
            "no permission on /dev/kvm: exit 4 and message")

    # debug-exit: a write of V gives (V << 1) | 1.
    for v in [0, 1, 42, 127]:
        r = t.run(["run", "--kernel", EXITCODE, "--cmdline", str(v)], timeout=30)
        t.check(r.code == ((v << 1) | 1) and "vmon-fixture: exit" in r.out,
                "debug-exit %d gives exit code %d (got %r)" % (v, (v << 1) | 1, r.code))
    out = os.path.join(tmp, "serial.log")
    r = t.run(["run", "--kernel", EXITCODE, "--cmdline", "3", "--serial",
               "file:" + out], timeout=30)
    t.check(r.code == 7 and open(out).read() == "vmon-fixture: exit\n" and r.out == "",
            "--serial file:PATH receives the output byte for byte")
    r = t.run(["run", "--kernel", EXITCODE, "--cmdline", "3", "--serial", "none"],
              timeout=30)
    t.check(r.code == 7 and r.out == "", "--serial none discards the output")
    r = t.run(["run", "--kernel", EXITCODE, "--cmdline", "5", "--cpus", "4",
               "--mem", "4G"], timeout=30)
    t.check(r.code == 11, "4 vCPUs and 4 GiB (RAM above the MMIO hole)")

    # Fatal exits: documented code and a register report.
    r = t.run(["run", "--kernel", TRIPLE], timeout=30)
    ok = (r.code == 8 and "triple fault" in r.err and
          t.shutdown_report_ok(r.err))
    if not t.check(ok, "triple fault: exit 8 and register report"):
        print(r)
    r = t.run(["run", "--kernel", XRSTOR], timeout=30)
    if PVM:
        ok = (r.code == 10 and "emulation failure" in r.err and
              re.search(r"code at RIP: 0f ae 2f", r.err) is not None and
              "hint: xsave/xrstor: use --cpu-template pvm" in r.err)
        if not t.check(ok, "emulation failure: exit 10, instruction bytes, hint"):
            print(r)
    else:
        t.check(r.code == 8, "xrstor without OSXSAVE triple-faults on VMX/SVM")

    # SIGTERM and SIGINT end a running VM cleanly (exit 0), whichever
    # thread the kernel would pick for the signal (the UART writer thread
    # exists with --serial file: and stdio).
    for sig, mode in ((signal.SIGTERM, "file:" + os.path.join(tmp, "term.out")),
                      (signal.SIGINT, "stdio")):
        p = subprocess.Popen([t.VMON, "run", "--kernel", COUNTER, "--serial", mode],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(1)
        p.send_signal(sig)
        try:
            err = p.communicate(timeout=30)[1].decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            err = p.communicate()[1].decode(errors="replace")
        t.check(p.returncode == 0, "%s with --serial %s: exit %r == 0 (%s)" %
                (sig.name, mode.split(":")[0], p.returncode, err.strip()[-200:]))


def main():
    if not t.HOST_PART:
        t.require_kvm()
    tmp = tempfile.mkdtemp(prefix="vmon-test-")
    try:
        if t.HOST_PART:
            host_checks(tmp)
        else:
            kvm_checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


main()
