"""IPv6 loopback addresses for hosts with `ipv6: true` (and tests that need one).

Each lab gets its own unique-local addresses on lo, derived from its IPv4 base (127.A.B.0 -> fd00:7fAB::N+1, so
labs on different bases never meet), added with `ip -6 addr add ADDR/128 dev lo nodad`.  What a lab added is
recorded in DIR/ipv6.json, and release(DIR) (called by `down` and by a failed `up`) removes it again.
Where the kernel refuses extra loopback addresses, the one address every machine has, ::1, is used instead;
only one lab at a time may own ::1:445, so the lab takes LOCK_PATH (created exclusively, holding the lab's DIR):
a second lab fails at once with a clear error instead of smbd failing to bind.  A lock whose DIR is gone is stale
and taken over.
"""
import ipaddress
import json
import os
import subprocess

LOCK_PATH = "/run/dpfleet-lab-ipv6-loopback.lock"


class Ipv6Error(Exception):
    pass


def lab_address(base, n):
    """The unique-local address of host n of the lab on IPv4 base (an IPv4Address or its text)."""
    o = ipaddress.IPv4Address(str(base)).packed
    return str(ipaddress.IPv6Address("fd00:%02x%02x::%x" % (o[0], o[1], n + 1)))


def _record_path(d):
    return os.path.join(d, "ipv6.json")     # DIR/run does not exist yet when up claims


def _load(d):
    try:
        with open(_record_path(d)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"added": [], "lock": False}


def _save(d, rec):
    os.makedirs(os.path.dirname(_record_path(d)), exist_ok=True)
    with open(_record_path(d), "w") as f:
        json.dump(rec, f)


def _ip(*args):
    return subprocess.run(["ip", "-6"] + list(args), capture_output=True, text=True, timeout=30)


def _take_lock(d):
    d = os.path.abspath(d)
    for _ in range(2):
        try:
            fd = os.open(LOCK_PATH, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                owner = open(LOCK_PATH).read().strip()
            except OSError:
                owner = ""
            if owner == d:
                return
            if owner and os.path.isdir(owner):
                raise Ipv6Error("::1 is held by the lab in %s (lock %s): this machine cannot add IPv6 loopback "
                                "addresses, so only one lab at a time may have an ipv6 host" % (owner, LOCK_PATH))
            os.unlink(LOCK_PATH)        # its lab is gone: stale
            continue
        with os.fdopen(fd, "w") as f:
            f.write(d + "\n")
        return
    raise Ipv6Error("could not take %s" % LOCK_PATH)


def claim(d, base, n):
    """An IPv6 address on lo for host n of the lab in DIR d: the lab's own, else ::1 under the lock."""
    rec = _load(d)
    addr = lab_address(base, n)
    r = _ip("addr", "add", addr + "/128", "dev", "lo", "nodad")
    if r.returncode == 0:
        rec["added"].append(addr)
        _save(d, rec)
        return addr
    if "File exists" in r.stderr:
        raise Ipv6Error("IPv6 address %s is already on lo (another lab on this base, or one not taken down: "
                        "`ip -6 addr del %s/128 dev lo` once nothing uses it)" % (addr, addr))
    if rec.get("lock"):
        raise Ipv6Error("this machine cannot add IPv6 loopback addresses (%s) and ::1 serves one host only: "
                        "use ipv6: true on one host" % r.stderr.strip())
    _take_lock(d)
    rec["lock"] = True
    _save(d, rec)
    return "::1"


def release(d):
    """Remove what claim() recorded for DIR d (addresses, the ::1 lock).  Never fails."""
    rec = _load(d)
    for a in rec.get("added", []):
        _ip("addr", "del", a + "/128", "dev", "lo")
    if rec.get("lock"):
        try:
            if open(LOCK_PATH).read().strip() == os.path.abspath(d):
                os.unlink(LOCK_PATH)
        except OSError:
            pass
    try:
        os.unlink(_record_path(d))
    except OSError:
        pass
