# SPDX-License-Identifier: GPL-2.0-only
"""memcg - a memory cgroup for a test or benchmark to run VMs in
(test_density.py memfile, bench/density): a child of this process's own
memory cgroup, cgroup v1 or v2, with a memory limit."""
import os


def enable_memory(parent):
    """Enables the memory controller for the children of v2 cgroup
    @parent if it is not yet (a host whose service manager did not, as
    root); where that is not allowed, memory_cgroup() finds no knob."""
    try:
        with open(os.path.join(parent, "cgroup.subtree_control")) as f:
            if "memory" in f.read().split():
                return
        with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
            f.write("+memory")
    except OSError:
        pass


def memory_cgroup(name, limit, v2_knob="memory.max"):
    """The directory of a new child cgroup @name limited to @limit bytes
    (v1: memory.limit_in_bytes; v2: @v2_knob, memory.max or memory.high),
    or None where none can be made (not root, no memory controller). A
    process joins by writing its pid to cgroup.procs; os.rmdir() removes
    the cgroup once it is empty."""
    with open("/proc/self/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    v1 = [l[2] for l in lines if "memory" in l[1].split(",")]
    v2 = [l[2] for l in lines if l[0] == "0" and l[1] == ""]
    if v1:
        parent, knob = "/sys/fs/cgroup/memory" + v1[0], "memory.limit_in_bytes"
    elif v2:
        parent, knob = "/sys/fs/cgroup" + v2[0], v2_knob
    else:
        return None
    d = os.path.join(parent, name)
    if knob != "memory.limit_in_bytes":
        enable_memory(parent)
    try:
        os.mkdir(d)
        with open(os.path.join(d, knob), "w") as f:
            f.write(str(limit))
    except OSError:
        return None
    return d


def join_cmd(cgroup, cmd):
    """@cmd run through sh, which moves itself into @cgroup first."""
    return ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
            "sh", cgroup] + cmd
