#!/usr/bin/env python3
# scan_credsets.py — credential sets (dpfleet.conf(5), CREDENTIAL SETS) against real smbd hosts of three
# accounts.
#
# The lab (127.99.0.0) has hosts of the lab's own workgroup and account (sites PS1 and PS4) and of two other
# domains with their own account (site CR2: CORP2, site CR3: CORP3; tests/lab/dpfleet_lab/addc.py: such a host
# knows only its domain's account, so any other set gets logon_failure there).  The scanner's [smb] has no
# account; three [credentials] sections pick the hosts: `lab` by site code PS1, `corp2` by site code CR2,
# `corp3` by the FQDN suffix .corp3.test.  dp03.corp3.test sits in PS1 (the site code wins over the suffix),
# dp01.xcorp3.test in PS4 does not end with .corp3.test on a label boundary, and no set names PS4.  Checks:
#   - `-n` prints the set each stored host would use;
#   - `--once`: every host's observation names its set (observations.cred_set) and gets its lab verdict; the
#     PS4 hosts are unreachable/no_credentials with no set, and each host's own smbd log (auth_audit lines)
#     shows exactly the account of its set, and nothing at all on the PS4 hosts and their site server;
#   - a wrong password in `corp2` gives logon_failure on the CR2 hosts only, every other host as before;
#   - a fix of a CR2 host runs with `corp2` (jobs.cred_set, the job.end audit detail, the host's log) and a fix
#     of a PS4 host ends unreachable/no_credentials without contacting it;
#   - dpfleet-server shows the sets: the host page (cred_set, history, last_fix), the jobs list, hosts.csv and
#     fixes.csv.
# The lab is always taken down (scan_lib.Lab), no scanner process may be left.

import csv
import io
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402
from server_harness import Session, lab_login, server_binary  # noqa: E402

BASE = "127.99.0.0"
ck = L.check

VALUE = ("MIIF4jCCBMqgAwIBAgITLwAAAAXy6sJ0zQtJXgAAAAAABTANBgkqhkiG9w0BAQsFADBGMRUw_LabRootCA;"
         "CN=Lab Issuing CA 01, DC=lab, DC=test;2C6F0A51B3E4D9871F22")


def site(code, server, domain=None):
    s = {"code": code, "name": "Site " + code, "type": "primary", "parent": None, "server": server,
         "issuing_certificate_list": VALUE}
    if domain:
        s["domain"] = domain
    return s


def host(fqdn, code, registry="ok"):
    return {"fqdn": fqdn, "site": code, "roles": ["dp"], "pxe": True, "registry": registry, "smspxe_log": "clean"}


SCENARIO = {
    "comment": "credential sets: the lab's account (PS1, PS4), CORP2 (CR2) and CORP3 (CR3); scan_credsets.py",
    "sites": [site("PS1", "cm-ps1.lab.test"), site("CR2", "cm-cr2.corp2.test", "CORP2"),
              site("CR3", "cm-cr3.corp3.test", "CORP3"), site("PS4", "cm-ps4.other.test")],
    "hosts": [host("dp01.ps1.lab.test", "PS1"), host("dp02.ps1.lab.test", "PS1", "missing"),
              host("dp03.corp3.test", "PS1"),
              host("dp01.corp2.test", "CR2"), host("dp02.corp2.test", "CR2", "mismatch"),
              host("dp01.corp3.test", "CR3"), host("mp01.branch.corp3.test", "CR3", "missing"),
              host("dp01.xcorp3.test", "PS4"), host("dp02.other.test", "PS4", "missing")],
}

# The set each host (and site server) must use; None: no set, never contacted.
WANT = {"dp01.ps1.lab.test": "lab", "dp02.ps1.lab.test": "lab", "dp03.corp3.test": "lab",
        "dp01.corp2.test": "corp2", "dp02.corp2.test": "corp2",
        "dp01.corp3.test": "corp3", "mp01.branch.corp3.test": "corp3",
        "dp01.xcorp3.test": None, "dp02.other.test": None}
SERVERS = {"cm-ps1.lab.test": "lab", "cm-cr2.corp2.test": "corp2", "cm-cr3.corp3.test": "corp3",
           "cm-ps4.other.test": None}

# An NTLM session setup as smbd's auth_audit logs it (auth/auth_log.c): the account and the status.
AUTH_LINE = re.compile(r"Auth: \[SMB2?,[^\]]*\] user \[([^\]]*)\]\\\[([^\]]*)\] .*with \[NTLM[^\]]*\] "
                       r"status \[([A-Z0-9_]+)\]")


def write_scanner_conf(lab, path, corp2_pwfile):
    """lab.conf's [store], [sitedb] and [scan], [smb] without an account, and the three sets."""
    info = lab.info
    dom = info["domains"]
    keep, sec = [], None
    with open(lab.conf) as f:
        for line in f:
            m = re.match(r"^\[([^\]]+)\]", line.strip())
            if m:
                sec = m.group(1)
            if sec in ("store", "sitedb", "scan") or (sec == "smb" and not re.match(
                    r"^\s*(domain|user|password_file)\s*=", line)):
                keep.append(line.rstrip("\n"))
    keep += ["", "[credentials lab]", "domain = %s" % info["smb_domain"], "user = %s" % info["smb_user"],
             "password_file = %s" % os.path.join(lab.dir, "smb.password"), "site_codes = PS1", "",
             "[credentials corp2]", "domain = CORP2", "user = %s" % dom["CORP2"]["user"],
             "password_file = %s" % corp2_pwfile, "site_codes = CR2", "",
             "[credentials corp3]", "domain = CORP3", "user = %s" % dom["CORP3"]["user"],
             "password_file = %s" % dom["CORP3"]["password_file"], "fqdn_suffix = .corp3.test", ""]
    with open(path, "w") as f:
        f.write("\n".join(keep))
    return path


def logins(lab, fqdn):
    """[(domain, user, status)] of every NTLM session setup in the host's smbd log."""
    path = lab.info["smbd_logs"][fqdn]
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [m.groups() for m in map(AUTH_LINE.search, f) if m]
    except FileNotFoundError:
        return []


def account_of(lab, cset):
    info = lab.info
    return {"lab": (info["smb_domain"], info["smb_user"]), "corp2": ("CORP2", info["domains"]["CORP2"]["user"]),
            "corp3": ("CORP3", info["domains"]["CORP3"]["user"])}[cset]


def check_logins(lab, marks, label):
    """Since marks (per host: how many login lines its log had), each host saw only its set's account (at least
    one successful login) and a host without a set saw none.  Returns the new marks."""
    new = {}
    for fq, cset in list(WANT.items()) + list(SERVERS.items()):
        got = logins(lab, fq)
        new[fq] = len(got)
        got = got[marks.get(fq, 0):]
        if cset is None:
            ck(got == [], "%s: %s has no set: no login reached it (got %s)" % (label, fq, got[:3]))
            continue
        dom, user = account_of(lab, cset)
        ck(got and all(d.upper() == dom.upper() and u.lower() == user.lower() for d, u, _ in got),
           "%s: %s saw only %s\\%s (set %s): %s" % (label, fq, dom, user, cset, sorted(set(got))[:4]))
    return new


@test("credential sets: -n, each set for exactly its hosts, a wrong password, fix jobs", fatal=True)
def credsets():
    with L.Lab(SCENARIO, BASE, "credsets") as lab:
        info = lab.info
        ck(set(info.get("domains", {})) == {"CORP2", "CORP3"}, "the lab has the domains CORP2 and CORP3")
        work = lab.tmp
        conf = write_scanner_conf(lab, os.path.join(work, "sets.conf"), info["domains"]["CORP2"]["password_file"])
        marks = {fq: len(logins(lab, fq)) for fq in list(WANT) + list(SERVERS)}

        # --- -n before and after the inventory is stored --------------------------------------------
        r = subprocess.run([L.SCANNER, "-n", "-f", conf], capture_output=True, text=True, timeout=60)
        ck(r.returncode == 0 and "configuration OK" in r.stdout, "-n accepts the sets: %s%s" % (r.stdout, r.stderr))
        ck("credential sets: lab corp2 corp3 (no [smb] fallback" in r.stdout, "-n lists the sets: " + r.stdout)
        r = subprocess.run([L.SCANNER, "-f", conf, "--inventory"], capture_output=True, text=True, timeout=120)
        ck(r.returncode == 0, "--inventory stores the fleet: " + r.stderr[-800:])
        r = subprocess.run([L.SCANNER, "-n", "-f", conf], capture_output=True, text=True, timeout=60)
        for fq, cset in WANT.items():
            ck(re.search(r"^\s+%s\s+\S+\s+%s" % (re.escape(fq), re.escape(cset or "(none")), r.stdout, re.M),
               "-n: %s would use %s" % (fq, cset))

        # --- one scan: every host with its set ---------------------------------------------------------
        rc, out, err, wall = L.run_once(conf)
        print("--once: exit %d in %.1f s\n%s" % (rc, wall, out), flush=True)
        ck(rc == 0, "--once exits 0: " + err[-1500:])
        scan = L.last_scan(conf)
        obs, _ = L.observations(conf, scan["id"])
        first = {}
        for fq, cset in WANT.items():
            o = obs.get(fq)
            if not ck(o is not None, "%s has an observation" % fq):
                continue
            first[fq] = (o["state"], o["reason"])
            ck(o["cred_set"] == cset, "%s: cred_set %r, expected %r" % (fq, o["cred_set"], cset))
            if cset is None:
                ck((o["state"], o["reason"]) == ("unreachable", "no_credentials"),
                   "%s: unreachable/no_credentials (got %s/%s)" % (fq, o["state"], o["reason"]))
            else:
                state, reasons = L.expected_verdict(info, fq)
                ck(o["state"] == state and o["reason"] in reasons,
                   "%s: %s/%s, expected %s/%s" % (fq, o["state"], o["reason"], state, reasons))
        ck("no_credentials" in out, "the summary names no_credentials")
        marks = check_logins(lab, marks, "scan")

        # --- a wrong password in corp2: logon_failure there only --------------------------------------
        bad = os.path.join(work, "corp2-wrong.password")
        with open(bad, "w") as f:
            f.write("not-the-password\n")
        os.chmod(bad, 0o600)
        wrong = write_scanner_conf(lab, os.path.join(work, "wrong.conf"), bad)
        rc, out, err, wall = L.run_once(wrong)
        print("--once (wrong corp2 password): exit %d in %.1f s" % (rc, wall), flush=True)
        scan = L.last_scan(wrong)
        obs, _ = L.observations(wrong, scan["id"])
        for fq, cset in WANT.items():
            o = obs.get(fq)
            if not ck(o is not None, "wrong password: %s has an observation" % fq):
                continue
            ck(o["cred_set"] == cset, "wrong password: %s cred_set %r" % (fq, o["cred_set"]))
            if cset == "corp2":
                ck((o["state"], o["reason"]) == ("unreachable", "logon_failure"),
                   "wrong password: %s unreachable/logon_failure (got %s/%s)" % (fq, o["state"], o["reason"]))
            else:
                ck((o["state"], o["reason"]) == first.get(fq), "wrong password: %s unchanged %s (got %s/%s)" % (
                    fq, first.get(fq), o["state"], o["reason"]))
        for fq in ("dp01.corp2.test", "dp02.corp2.test"):
            got = logins(lab, fq)[marks[fq]:]
            ck(got and all(s != "NT_STATUS_OK" for _, _, s in got),
               "wrong password: %s saw only failed logins: %s" % (fq, sorted(set(got))[:3]))
            marks[fq] += len(got)

        # --- fix jobs use the set of their host ---------------------------------------------------------
        r = subprocess.run([L.SCANNER, "-f", conf, "fix", "dp02.corp2.test", "dp02.other.test"],
                           capture_output=True, text=True, timeout=600)
        print("$ fix dp02.corp2.test dp02.other.test -> %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-2000:]),
              flush=True)
        with L.db(lab.db) as c:
            jobs = {j["host"]: j for j in c.execute("SELECT * FROM jobs ORDER BY id")}
            ends = {a["target"]: json.loads(a["detail"]) for a in c.execute(
                "SELECT * FROM audit WHERE action = 'job.end' ORDER BY id")}
        j = jobs.get("dp02.corp2.test")
        ck(j is not None and j["outcome"] == "written" and j["cred_set"] == "corp2",
           "fix of dp02.corp2.test written with corp2: %s" % (dict(j) if j else None))
        ck(ends.get("dp02.corp2.test", {}).get("cred_set") == "corp2", "job.end audit names corp2: %s" %
           ends.get("dp02.corp2.test"))
        j = jobs.get("dp02.other.test")
        ck(j is not None and j["outcome"] == "unreachable" and "no_credentials" in (j["error"] or "") and
           j["cred_set"] is None, "fix of dp02.other.test: unreachable, no_credentials, no set: %s" %
           (dict(j) if j else None))
        ck(ends.get("dp02.other.test", {}).get("cred_set", "x") is None, "its job.end audit has no set")
        got = logins(lab, "dp02.corp2.test")[marks["dp02.corp2.test"]:]
        dom, user = account_of(lab, "corp2")
        ck(got and all(d.upper() == dom and u.lower() == user.lower() and s == "NT_STATUS_OK" for d, u, s in got),
           "the fix logged on to dp02.corp2.test as %s\\%s: %s" % (dom, user, sorted(set(got))[:3]))
        ck(logins(lab, "dp02.other.test")[marks["dp02.other.test"]:] == [],
           "dp02.other.test was never contacted (no login since the lab's own readiness check)")
        ck(L.scanner_pids() == [], "no scanner process left")
        check_server(lab)


def check_server(lab):
    """dpfleet-server on the lab's state DB, as the lab's operator: where the API and the exports name the set."""
    with open(os.path.join(lab.tmp, "server.log"), "wb") as out:
        lab.spawn([server_binary(), "-d", "-f", os.path.join(lab.dir, "server.conf")], stdout=out, stderr=out)
    api, r = lab_login(lab.info)
    if not ck(r.status == 200, "operator login (%s)" % r):
        return
    op = Session(r)
    h = api.request("GET", "/api/v1/hosts/dp02.corp2.test", session=op).json()
    ck(h.get("cred_set") == "corp2" and (h.get("last_fix") or {}).get("cred_set") == "corp2",
       "host page of dp02.corp2.test: cred_set and last_fix.cred_set corp2 (%s, %s)" % (h.get("cred_set"),
                                                                                         h.get("last_fix")))
    ck(h.get("history") and all(x.get("cred_set") == "corp2" for x in h["history"]),
       "its history names corp2 for every read: %s" % [x.get("cred_set") for x in h.get("history", [])])
    h = api.request("GET", "/api/v1/hosts/dp02.other.test", session=op).json()
    ck("cred_set" in h and h["cred_set"] is None and h.get("reason") == "no_credentials",
       "host page of dp02.other.test: cred_set null, reason no_credentials (%s, %s)" % (h.get("cred_set"),
                                                                                      h.get("reason")))
    j = api.request("GET", "/api/v1/jobs?host=dp02.corp2.test", session=op).json().get("jobs", [])
    ck(j and all(x.get("cred_set") == "corp2" for x in j), "jobs list: corp2 (%s)" % [x.get("cred_set") for x in j])
    r = api.request("GET", "/api/v1/report/hosts.csv", session=op)
    rows = {x["fqdn"]: x for x in csv.DictReader(io.StringIO(r.body.decode() if r.status == 200 else "",
                                                              newline=""))}
    for fq, cset in WANT.items():
        ck(fq in rows and rows[fq].get("cred_set") == (cset or ""), "hosts.csv: %s cred_set %r" % (
            fq, rows.get(fq, {}).get("cred_set")))
    r = api.request("GET", "/api/v1/report/fixes.csv", session=op)
    rows = {x["host"]: x for x in csv.DictReader(io.StringIO(r.body.decode() if r.status == 200 else "",
                                                              newline=""))}
    ck(rows.get("dp02.corp2.test", {}).get("cred_set") == "corp2" and
       rows.get("dp02.other.test", {}).get("cred_set") == "", "fixes.csv: corp2 and none (%s)" % rows)


if __name__ == "__main__":
    sys.exit(checks.run())
