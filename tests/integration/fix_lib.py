# fix_lib.py — helpers shared by the fix_*.py integration tests (dpfleet-scanner(8) fix); not a test itself.
#
# scan_lib's Lab (dpfleet-lab up in a private temp dir, down + rmtree in finally even on failure) with the lab's
# facts, runs of dpfleet-scanner, the daemon started and stopped, state DB reads, and two readers of a host's
# registry that share no code with the scanner:
#   - net_getvalue(): Samba's `net rpc registry getvalue` over the network (what an admin would use);
#   - reg_export(): `net --configfile=<the host's smb.conf> registry export` of the host's own registry.tdb,
#     which prints the value's exact bytes (hex(7):...), so "restored exactly" is checked byte for byte.
# Assumes the meson test environment (DPFLEET_BUILD_ROOT, DPFLEET_SOURCE_ROOT) and root.

import json
import os
import re
import signal
import subprocess
import time

import scan_lib   # the importing test put this directory on sys.path
from scan_lib import LAB, SCANNER, SRC, check  # noqa: F401 (the fix tests import them from here)

KEY = r"HKLM\SOFTWARE\Microsoft\SMS\Security"
VALUE = "IssuingCertificateList"


class Lab(scan_lib.Lab):
    """scan_lib.Lab (`with Lab(scenario_dict, base, tag) as lab:`) with the fix tests' facts and readers."""

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
    """`with db(lab) as c:` — scan_lib.db on the lab's state DB (committed and closed on exit)."""
    return scan_lib.db(lab.db)


def start_daemon(lab):
    """`dpfleet-scanner -d` on a copy of the lab's scanner.conf with no scheduled scan (jobs only), output to
    DIR/daemon.out; returns (process, output file) for stop_daemon."""
    conf2 = os.path.join(lab.tmp, "daemon.conf")
    with open(lab.conf) as f, open(conf2, "w") as g:
        g.write(f.read().replace("interval = 3600", "interval = 0"))
    dout = open(os.path.join(lab.tmp, "daemon.out"), "w")
    return lab.spawn([SCANNER, "-d", "-f", conf2], stdout=dout, stderr=subprocess.STDOUT), dout


def stop_daemon(d, dout):
    """SIGTERM, then SIGKILL after 60 s; returns the exit status."""
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(60)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = d.wait()
    dout.close()
    return rc


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


children = scan_lib.children     # pids whose parent is pid (a scanner's workers)


def wait_gone(pids, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not [p for p in pids if os.path.exists("/proc/%d" % p)]:
            return True
        time.sleep(0.1)
    return False
