# scan_lib.py — helpers shared by the scan_*.py integration tests (not a test itself); fix_lib.py builds on it.
#
# What it gives: the counted check() of tests/lib/checks.py, a Lab context manager (dpfleet-lab up in a temp dir on
# a given base address, processes it spawned killed, down + rmtree in finally, even on failure), scanner.conf
# variants, `dpfleet-scanner --once` runs with captured output, state DB reads, the verdict a host of the lab must
# get (derived from DIR/lab.json's per-host facts, never from the scanner's own code), and leak checks (scanner
# processes, client SMB connections).  Assumes the meson test environment (DPFLEET_BUILD_ROOT, DPFLEET_SOURCE_ROOT)
# and root (the lab's smbd needs it).

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("DPFLEET_BUILD_ROOT") or sys.exit("DPFLEET_BUILD_ROOT is not set (run through meson test)")
SRC = os.environ.get("DPFLEET_SOURCE_ROOT") or sys.exit("DPFLEET_SOURCE_ROOT is not set")
SCANNER = os.path.join(BUILD, "scanner", "dpfleet-scanner")
LAB = os.path.join(SRC, "tests", "lab", "dpfleet-lab")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check  # noqa: E402,F401  (tests/lib/checks.py; the scan and fix tests take it from here)


class Lab:
    """`with Lab(scenario, base, tag) as lab:` — scenario is a file or a dict (written to the temp dir);
    lab.tmp (scratch), lab.dir, lab.info (lab.json), lab.conf (scanner.conf path), lab.db (state DB);
    lab.spawn() starts a process that is killed on exit if still running."""

    def __init__(self, scenario, base, tag):
        self.base = base
        self.tmp = tempfile.mkdtemp(prefix="dpf-%s-" % tag, dir="/tmp")
        os.chmod(self.tmp, 0o711)       # smbd's helpers run as the lab's scan user and must reach DIR
        self.dir = os.path.join(self.tmp, "lab")
        self.info = None
        self.procs = []
        if isinstance(scenario, dict):
            self.scenario = os.path.join(self.tmp, "scenario.json")
            with open(self.scenario, "w") as f:
                json.dump(scenario, f, indent=1)
        else:
            self.scenario = scenario

    def __enter__(self):
        try:
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, LAB, "up", self.scenario, "--dir", self.dir, "--base-addr",
                                self.base], capture_output=True, text=True, timeout=600)
            if r.returncode != 0 or "ready" not in r.stdout:
                raise RuntimeError("dpfleet-lab up failed (%d): %s%s" % (r.returncode, r.stdout[-2000:],
                                                                         r.stderr[-2000:]))
            print("lab up on %s in %.1f s" % (self.base, time.monotonic() - t0), flush=True)
            with open(os.path.join(self.dir, "lab.json")) as f:
                self.info = json.load(f)
            self.conf = os.path.join(self.dir, "scanner.conf")
            self.db = os.path.join(self.dir, "state.db")
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run([sys.executable, LAB, "down", "--dir", self.dir], capture_output=True, text=True,
                       timeout=300)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def read_conf(path):
    """scanner.conf as {section: [(key, value)...]} keeping order."""
    out, sec = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith(";"):
                continue
            m = re.match(r"^\[([^\]]+)\]$", line)     # [credentials NAME] too
            if m:
                sec = m.group(1)
                out.setdefault(sec, [])
                continue
            k, v = [x.strip() for x in line.split("=", 1)]
            out[sec].append((k, v))
    return out


def write_conf(base_conf, path, **sections):
    """Copy base_conf to path with overrides: write_conf(src, dst, smb={"timeout": 2}, scan={...})."""
    conf = read_conf(base_conf)
    for sec, kv in sections.items():
        items = conf.setdefault(sec, [])
        for k, v in kv.items():
            items[:] = [(a, b) for a, b in items if a != k]
            if v is not None:
                items.append((k, str(v)))
    with open(path, "w") as f:
        for sec, items in conf.items():
            f.write("[%s]\n" % sec)
            for k, v in items:
                f.write("%s = %s\n" % (k, v))
            f.write("\n")
    return path


def write_host_map(path, hosts, override=None):
    """hosts: {fqdn: addr}; override: {fqdn: addr} replacing some."""
    m = dict(hosts)
    m.update(override or {})
    with open(path, "w") as f:
        f.write("# written by scan_lib.py\n")
        for fq, a in sorted(m.items()):
            f.write("%s %s\n" % (fq, a))
    return path


def run_once(conf, timeout=600, extra=()):
    t0 = time.monotonic()
    r = subprocess.run([SCANNER, "-f", conf, "-v"] + list(extra) + ["--once"], capture_output=True, text=True,
                       timeout=timeout)
    wall = time.monotonic() - t0
    return r.returncode, r.stdout, r.stderr, wall


class db:
    """`with db(path) as c:` — one connection, committed and CLOSED on exit.  Never keep one open: this
    process also reads the DB files with plain open()/close() (secret_leaks), and closing any descriptor of a
    file drops every POSIX lock the process holds on it, SQLite's included; the scanner then believed it was
    the last connection, removed -wal/-shm at exit, and a lingering connection here read the stale shared
    memory ("database disk image is malformed" while a fresh process found the DB intact)."""

    def __init__(self, path):
        self.c = sqlite3.connect(path, timeout=30)
        self.c.row_factory = sqlite3.Row

    def __enter__(self):
        return self.c

    def __exit__(self, exc, *rest):
        try:
            if exc is None:
                self.c.commit()
        finally:
            self.c.close()
        return False


def store_path(conf):
    for k, v in read_conf(conf)["store"]:
        if k == "path":
            return v
    raise RuntimeError("no [store] path")


def observations(conf, scan_id):
    with db(store_path(conf)) as c:
        rows = c.execute("SELECT h.fqdn, h.last_obs_id, o.* FROM observations o JOIN hosts h ON h.id = o.host_id "
                         "WHERE o.scan_id = ?", (scan_id,)).fetchall()
        ev = {}
        for r in rows:
            ev[r["fqdn"]] = c.execute("SELECT * FROM evidence WHERE observation_id = ? ORDER BY id",
                                      (r["id"],)).fetchall()
    return {r["fqdn"]: r for r in rows}, ev


def last_scan(conf):
    with db(store_path(conf)) as c:
        return c.execute("SELECT * FROM scans ORDER BY id DESC LIMIT 1").fetchone()


def multisz_sha(elems):
    h = hashlib.sha256()
    for e in elems:
        h.update(e.encode("utf-8") + b"\0")
    return h.hexdigest()


def expected_verdict(lab, fqdn):
    """(state, set of acceptable reasons or {None}) from the lab's facts about the host and its site."""
    e = lab["expect"][fqdn]
    site = lab["expect_sites"][e["site"]]
    if e["network"] == "blackhole":     # smb_timeout, unless the parent's host deadline cuts the stall first
        return "unreachable", {e["unreachable_reason"], "deadline"}
    if e.get("unreachable_reason"):     # network down, Remote Registry disabled, binds answered too late
        return "unreachable", {e["unreachable_reason"]}
    if e["registry"] == "denied":
        return "denied", {None}
    if e["registry"] == "no_key":
        return "no_key", {None}
    if site["value_state"] != "ok":
        return "unknown", {None}
    return {"ok": "healthy", "missing": "missing", "empty": "empty", "mismatch": "mismatch"}[e["registry"]], {None}


def scanner_pids():
    """Pids of every running dpfleet-scanner process (parent or worker: workers are forks of the binary)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % p) == os.path.realpath(SCANNER):
                out.append(int(p))
        except OSError:
            pass
    return out


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def client_connections(prefix):
    """Client-side TCP connections to port 445 of addresses starting with prefix (e.g. '127.81.'),
    established or connecting, as ss lines."""
    r = subprocess.run(["ss", "-Htn", "state", "established", "state", "syn-sent", "dport", "=", ":445"],
                       capture_output=True, text=True)
    return [ln for ln in r.stdout.splitlines() if len(ln.split()) >= 4 and ln.split()[-1].startswith(prefix)]


def conn_pids(addr):
    """Pids holding a TCP connection to addr:445 (ss -p)."""
    r = subprocess.run(["ss", "-Htnp", "dst", addr, "dport", "=", ":445"], capture_output=True, text=True)
    return sorted({int(m) for m in re.findall(r"pid=(\d+)", r.stdout)})


def secret_leaks(secret, paths, texts):
    """Where secret appears: files (bytes) and strings."""
    hits = []
    s = secret.encode()
    for p in paths:
        try:
            with open(p, "rb") as f:
                if s in f.read():
                    hits.append(p)
        except OSError:
            pass
    for name, t in texts.items():
        if secret in t:
            hits.append(name)
    return hits


def kill_quietly(proc):
    if proc is not None and proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
