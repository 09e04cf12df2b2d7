# SPDX-License-Identifier: GPL-2.0-only
"""Network namespaces for the migration tests: two "hosts" joined by a
veth pair, and a tap in a namespace for a guest's network device."""
import subprocess


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def pair_up(ns_a, ns_b, ip_a, ip_b, tag):
    """Namespaces @ns_a and @ns_b, joined by veth vma@tag/vmb@tag with
    addresses @ip_a and @ip_b (/24). True if the pair was made."""
    sh("ip", "netns", "add", ns_a)
    sh("ip", "netns", "add", ns_b)
    r = sh("ip", "link", "add", "vma%s" % tag, "netns", ns_a, "type", "veth",
           "peer", "name", "vmb%s" % tag, "netns", ns_b)
    for ns, dev, ip in ((ns_a, "vma%s" % tag, ip_a),
                        (ns_b, "vmb%s" % tag, ip_b)):
        sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    return r.returncode == 0


def tap_up(ns, tap, ip, mac):
    """Tap @tap in @ns with address @ip (/24) and MAC @mac; True if made."""
    rs = [sh("ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"),
          sh("ip", "-n", ns, "link", "set", tap, "address", mac),
          sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", tap),
          sh("ip", "-n", ns, "link", "set", tap, "up")]
    return all(r.returncode == 0 for r in rs)


def down(*names):
    for ns in names:
        sh("ip", "netns", "del", ns)
