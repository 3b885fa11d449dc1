# fix_lib.py — helpers shared by the fix_*.py integration tests (issue 7); not a test itself.
#
# A Lab context manager (dpfleet-lab up in a private temp dir, down + rmtree in finally even on failure), runs of
# dpfleet-scanner, state DB reads, and two readers of a host's registry that share no code with the scanner:
#   - net_getvalue(): Samba's `net rpc registry getvalue` over the network (what an admin would use);
#   - reg_export(): `net --configfile=<the host's smb.conf> registry export` of the host's own registry.tdb,
#     which prints the value's exact bytes (hex(7):...), so "restored exactly" is checked byte for byte.
# Assumes the meson test environment (DPFLEET_BUILD_ROOT, DPFLEET_SOURCE_ROOT) and root.

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("DPFLEET_BUILD_ROOT") or sys.exit("DPFLEET_BUILD_ROOT is not set (run through meson test)")
SRC = os.environ.get("DPFLEET_SOURCE_ROOT") or sys.exit("DPFLEET_SOURCE_ROOT is not set")
SCANNER = os.path.join(BUILD, "scanner", "dpfleet-scanner")
LAB = os.path.join(SRC, "tests", "lab", "dpfleet-lab")
KEY = r"HKLM\SOFTWARE\Microsoft\SMS\Security"
VALUE = "IssuingCertificateList"

FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def finish(name):
    n = CHECKS[0]
    print("%s: %d checks, %d failed" % (name, n, len(FAILURES)))
    for f in FAILURES:
        print("  " + f)
    sys.exit(1 if FAILURES or n == 0 else 0)


class Lab:
    """`with Lab(scenario_dict, base, tag) as lab:` — lab.dir, lab.info (lab.json), lab.conf."""

    def __init__(self, scenario, base, tag):
        self.base = base
        self.tmp = tempfile.mkdtemp(prefix="dpf-%s-" % tag, dir="/tmp")
        os.chmod(self.tmp, 0o711)       # smbd's helpers run as the lab's scan user and must reach DIR
        self.dir = os.path.join(self.tmp, "lab")
        self.scenario = os.path.join(self.tmp, "scenario.json")
        with open(self.scenario, "w") as f:
            json.dump(scenario, f, indent=1)
        self.procs = []

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

    # -- facts from lab.json ------------------------------------------------------------------------------
    def site_value(self, fqdn):
        """The site's expected list (REG.exe split of Value1) or None when absent/ambiguous."""
        s = self.info["expect_sites"][self.info["expect"][fqdn]["site"]]
        if s["value_state"] != "ok":
            return None
        return [e for e in s["value1"].split("\\0") if e]

    def writable_affected(self, fqdn):
        e = self.info["expect"][fqdn]
        return (e["registry"] in ("missing", "empty", "mismatch") and e["network"] in ("ok", "slow")
                and self.site_value(fqdn) is not None)

    def real_addr(self, fqdn):
        return self.info["real_addrs"].get(fqdn, self.info["hosts"][fqdn])

    def host_conf(self, fqdn):
        addr = self.real_addr(fqdn)
        hdir = os.path.join(self.dir, "h")
        for d in sorted(os.listdir(hdir)):
            p = os.path.join(hdir, d, "smb.conf")
            try:
                with open(p) as f:
                    if re.search(r"^\s*interfaces\s*=\s*%s/" % re.escape(addr), f.read(), re.M):
                        return p
            except OSError:
                pass
        return None

    # -- independent readers ------------------------------------------------------------------------------
    def net_getvalue(self, fqdn):
        """(type, [elements]) from `net rpc registry getvalue`, ("absent", None) or ("error", text)."""
        r = subprocess.run(["net", "rpc", "registry", "getvalue", KEY, VALUE, "-I", self.info["hosts"][fqdn],
                            "-U", "%s%%%s" % (self.info["smb_user"], self.info["smb_password"])],
                           capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        m = re.search(r"^Type\s*=\s*(\S+)", out, re.M)
        if r.returncode == 0 and m:
            return m.group(1), re.findall(r'^Value\[\d+\] = "(.*)"$', out, re.M)
        if "NO_SUCH_DEVICE" in out or "FILE_NOT_FOUND" in out or "OBJECT_NAME_NOT_FOUND" in out:
            return "absent", None
        return "error", out.strip()[-300:]

    def reg_export(self, fqdn):
        """The exact bytes of the value in the host's registry.tdb as 'absent', 'nokey' or (type, hex)."""
        conf = self.host_conf(fqdn)
        if conf is None:
            return "noconf"
        out = os.path.join(self.tmp, "export.reg")
        if os.path.exists(out):
            os.unlink(out)
        r = subprocess.run(["net", "--configfile=" + conf, "registry", "export", KEY, out], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            return "nokey"
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read().replace("\\\n", "")
        m = re.search(r'^"%s"=(hex\((\d+)\):|hex:|dword:)([0-9a-fA-F, ]*)$' % VALUE, text, re.M)
        if not m:
            return "absent"
        typ = int(m.group(2)) if m.group(2) else (3 if m.group(1) == "hex:" else 4)
        return typ, m.group(3).replace(",", "").replace(" ", "").lower()


def scanner(lab, *args, timeout=600):
    r = subprocess.run([SCANNER, "-f", lab.conf] + list(args), capture_output=True, text=True, timeout=timeout)
    print("$ dpfleet-scanner %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr[-3000:]),
          flush=True)
    return r


def outcomes(stdout):
    """{fqdn: (outcome, job id)} from the fix/rollback CLI's per-host lines."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S+)\s+(\S+)\s+job=(\d+)\b", line)
        if m:
            out[m.group(1)] = (m.group(2), int(m.group(3)))
    return out


def db(lab):
    c = sqlite3.connect(lab.db, timeout=30)
    c.row_factory = sqlite3.Row
    return c


def last_state(lab, fqdn):
    with db(lab) as c:
        r = c.execute("SELECT o.state, s.trigger FROM hosts h JOIN observations o ON o.id = h.last_obs_id "
                      "JOIN scans s ON s.id = o.scan_id WHERE h.fqdn = ?", (fqdn,)).fetchone()
    return (r["state"], r["trigger"]) if r else (None, None)


def check_audit(lab, job_ids, who):
    """Every job: one job.queue by `who`, job.start rows = attempts, exactly one job.end by the scanner
    naming the job's outcome, with the hashes in its detail."""
    with db(lab) as c:
        for jid in job_ids:
            j = c.execute("SELECT * FROM jobs WHERE id = ?", (jid,)).fetchone()
            rows = c.execute("SELECT * FROM audit WHERE target = ? AND action LIKE 'job.%' ORDER BY id",
                             (j["host"],)).fetchall()
            mine = [r for r in rows if r["detail"] and json.loads(r["detail"]).get("job") == jid]
            q = [r for r in mine if r["action"] == "job.queue"]
            s = [r for r in mine if r["action"] == "job.start"]
            e = [r for r in mine if r["action"] == "job.end"]
            check(len(q) == 1 and q[0]["who"] == who, "job %d: one job.queue by %s (%s)" % (
                jid, who, [(r["who"]) for r in q]))
            check(len(s) == j["attempts"] and all(r["who"] == "scanner" for r in s),
                  "job %d: %d job.start rows for %d attempts" % (jid, len(s), j["attempts"]))
            check(len(e) == 1 and e[0]["who"] == "scanner" and e[0]["outcome"] == j["outcome"],
                  "job %d: exactly one job.end with outcome %s" % (jid, j["outcome"]))
            if e:
                d = json.loads(e[0]["detail"])
                check(all(k in d for k in ("before_sha256", "after_sha256", "expected_sha256")) and
                      d.get("after_sha256") == j["after_sha256"] and d.get("before_sha256") == j["before_sha256"],
                      "job %d: job.end detail carries the hashes: %s" % (jid, e[0]["detail"]))
            check(all(r["at"] for r in mine), "job %d: every audit row has a time" % jid)


def multisz_hex(elems):
    """The REG_MULTI_SZ bytes of a list, lowercase hex (what a correct write must leave)."""
    return ("".join(e + "\0" for e in elems) + "\0").encode("utf-16-le").hex()


def children(pid):
    """Pids whose parent is pid (a scanner's workers)."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) == pid:
                    out.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return out


def wait_gone(pids, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not [p for p in pids if os.path.exists("/proc/%d" % p)]:
            return True
        time.sleep(0.1)
    return False
