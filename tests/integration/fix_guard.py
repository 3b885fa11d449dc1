#!/usr/bin/env python3
# fix_guard.py — what a job row can make dpfleet-scanner do (dpfleet-scanner(8), "Jobs"; dpfleet-server(8),
# POST /api/v1/fixes and /rollbacks): the server, or anyone holding its DB access, can write every row of the
# state DB, so the scanner re-checks each job at run time against what it reads and what it sealed.
#
# Lab: tests/lab/scenarios/small.json cut to dp01..dp04 (PS1, value present), dp08 (PS2, ambiguous) and dp12
# (SS1, no value), on 127.87.0.0.  Each check reads the host with `net rpc registry getvalue` (no code shared
# with the scanner):
#   (a) fix A, the site's value changed in the lab's site DB, fix B: rollback A is refused (a newer write), and
#       still refused once B's row is deleted (the host no longer holds A's value); the host keeps B's value;
#   (b) a forged done fix row (a real sealed row copied with a chosen backup) and a real row whose backup was
#       edited: rollbacks refused (no seal of the scanner), nothing written; the forged row deleted and the
#       real one put back: restored;
#   (c) POST /api/v1/fixes for a host whose site has no value (SS1) or an ambiguous one (PS2): 409, no job;
#   (d) a fix queued through the API, the site's value changed before it runs, and a queued row without an
#       approved hash: refused, nothing written;
#   (e) a rollback of a host the site DB no longer lists: refused before any contact, nothing written;
#   (f) forged observations (run first, while dp01 holds its site's value): the newest observation of healthy
#       dp01 (PS1) and of dp12 (SS1, no value) made `missing`, as the server's DB access could; all_affected
#       through the API takes dp01 (and the really affected dp02..dp04: a dry run, cancelled) but not dp12,
#       naming SS1 as left out (SS1 alone: 409, and `fix --all-affected --site SS1` queues nothing); a fix of
#       dp01 queued through the API: the scanner re-reads it, finds the site's value: already_correct, no
#       backup, the value unchanged;
#   (g) a queued fix row for dp01 carrying a backup the scanner never took: not sealed, so its rollback is
#       refused and the planted bytes are never written.
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fix_lib import (SRC, Lab, check, db, last_state, outcomes, scanner, start_daemon,  # noqa: E402
                     stop_daemon)
from server_harness import Client, Session, server_binary  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import test  # noqa: E402

BASE = "127.87.0.0"
KEEP = ("dp01.ps1.lab.test", "dp02.ps1.lab.test", "dp03.ps1.lab.test", "dp04.ps1.lab.test",
        "dp08.ps2.lab.test", "dp12.ss1.lab.test")
NEW_VALUE = "MIIGuardRenewedCA;CN=Lab Issuing CA 03, DC=lab, DC=test;0011223344556677"
NEWER_VALUE = "MIIGuardThirdCA;CN=Lab Issuing CA 04, DC=lab, DC=test;8899AABBCCDDEEFF"


def scenario():
    with open(os.path.join(SRC, "tests", "lab", "scenarios", "small.json")) as f:
        sc = json.load(f)
    sc["hosts"] = [h for h in sc["hosts"] if h["fqdn"] in KEEP]
    for site in sc["sites"]:
        site["certmgr_denied"] = [h for h in site.get("certmgr_denied", []) if h in KEEP]
    return sc


def sitedb(lab):
    return sqlite3.connect(os.path.join(lab.dir, "sitedb.sqlite"), timeout=30, isolation_level=None)


def set_site_value(lab, old, new):
    """Every Value1 `old` of IssuingCertificateList becomes `new` (PS1 and CAS share it in this scenario)."""
    c = sitedb(lab)
    n = c.execute("UPDATE SC_Component_Property SET Value1 = ? WHERE Name = 'IssuingCertificateList' "
                  "AND Value1 = ?", (new, old)).rowcount
    c.close()
    check(n >= 1, "site DB: IssuingCertificateList changed (%d rows)" % n)


def job(lab, jid):
    with db(lab) as c:
        return c.execute("SELECT * FROM jobs WHERE id = ?", (jid,)).fetchone()


def fix_one(lab, host, want="written"):
    r = scanner(lab, "fix", host)
    o = outcomes(r.stdout)
    check(o.get(host, ("?",))[0] == want, "%s: fix %s (%s)" % (host, want, o.get(host)))
    return o.get(host, (None, None))[1]


def rollback(lab, jid, host):
    r = scanner(lab, "rollback", str(jid))
    return outcomes(r.stdout).get(host, (None, None)), r


def check_refused(lab, jid, host, text, before):
    (out, rid), r = rollback(lab, jid, host)
    j = job(lab, rid) if rid else None
    check(out == "refused" and j is not None and text in (j["error"] or ""),
          "rollback of job %s on %s refused with '%s' (%s: %s)" % (jid, host, text, out, j and j["error"]))
    check(j is not None and j["backup"] is None, "rollback of job %s: no backup taken, nothing prepared" % jid)
    now = lab.net_getvalue(host)
    check(now == before, "%s: value unchanged by the refused rollback (%s)" % (host, now))
    return rid


def part_a(lab):
    h = "dp02.ps1.lab.test"
    old = lab.info["expect_sites"]["PS1"]["value1"]
    a = fix_one(lab, h)
    set_site_value(lab, old, NEW_VALUE)
    check(scanner(lab, "--once").returncode == 0, "rescan after the site's value changed")
    b = fix_one(lab, h)
    held = lab.net_getvalue(h)
    check(held == ("REG_MULTI_SZ", NEW_VALUE.split("\\0")), "%s holds B's value (%s)" % (h, held))
    check_refused(lab, a, h, "job %d wrote to the host after fix job %d" % (b, a), held)
    with db(lab) as c:      # an attacker hides the newer write
        c.execute("DELETE FROM jobs WHERE id = ?", (b,))
    check_refused(lab, a, h, "no longer holds the value fix job %d wrote" % a, held)
    return old


def part_b(lab):
    h = "dp03.ps1.lab.test"
    c_id = fix_one(lab, h)
    held = lab.net_getvalue(h)
    evil = ("".join(e + "\0" for e in ["EVIL"]) + "\0").encode("utf-16-le").hex()
    with db(lab) as c:
        row = dict(c.execute("SELECT * FROM jobs WHERE id = ?", (c_id,)).fetchone())
        check(row["seal"] and len(row["seal"]) == 64, "a written fix carries the scanner's seal")
        del row["id"]
        row["backup"] = evil
        cols = ",".join(row)
        forged = c.execute("INSERT INTO jobs (%s) VALUES (%s)" % (cols, ",".join("?" * len(row))),
                           list(row.values())).lastrowid
    check_refused(lab, forged, h, "not a backup this scanner took", held)
    with db(lab) as c:
        real = c.execute("SELECT backup FROM jobs WHERE id = ?", (c_id,)).fetchone()[0]
        c.execute("UPDATE jobs SET backup = ? WHERE id = ?", (evil, c_id))
    check_refused(lab, c_id, h, "not a backup this scanner took", held)
    # A forged row counts as a newer write (refusing is the safe side): it goes, and the real row is put back.
    with db(lab) as c:
        c.execute("UPDATE jobs SET backup = ? WHERE id = ?", (real, c_id))
        c.execute("DELETE FROM jobs WHERE id = ?", (forged,))
    (out, _), _r = rollback(lab, c_id, h)
    check(out == "restored", "the untouched sealed fix rolls back: %s" % out)
    check(lab.net_getvalue(h)[0] in ("REG_MULTI_SZ", "absent"), "%s: previous value back" % h)


def api_login(lab):
    info = lab.info
    host, port = info["http_listen"].rsplit(":", 1)
    api = Client(host, int(port))
    for _ in range(300):
        try:
            if api.request("GET", "/healthz").status == 200:
                break
        except OSError:
            time.sleep(0.1)
    r = api.request("POST", "/api/v1/login", {"user": info["operator"]["user"],
                                              "password": info["operator"]["password"]})
    check(r.status == 200, "operator login")
    return api, Session(r)


def wait_jobs(lab, ids, d, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and d.poll() is None:
        if all(job(lab, i)["state"] in ("done", "failed") for i in ids):
            return True
        time.sleep(0.1)
    return False


def start_server(lab):
    """dpfleet-server on the lab's server.conf (killed with the lab); returns (client, operator session)."""
    with open(os.path.join(lab.tmp, "server.log"), "wb") as out:
        lab.spawn([server_binary(), "-d", "-f", os.path.join(lab.dir, "server.conf")], stdout=out, stderr=out)
    return api_login(lab)


def forge_missing(lab, host):
    """A newest observation saying `host` is missing, written as dpfleet-server's DB access could write it."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with db(lab) as c:
        hid = c.execute("SELECT id FROM hosts WHERE fqdn = ?", (host,)).fetchone()[0]
        oid = c.execute("INSERT INTO observations (scan_id, host_id, at, state, reason, affected) VALUES "
                        "((SELECT max(id) FROM scans), ?, ?, 'missing', 'forged', 1)", (hid, now)).lastrowid
        c.execute("UPDATE hosts SET last_obs_id = ? WHERE id = ?", (oid, hid))


def part_f(lab, api, op):
    h, valueless = "dp01.ps1.lab.test", "dp12.ss1.lab.test"
    check(last_state(lab, h)[0] == "healthy", "(f) %s is healthy before the forgery" % h)
    before = lab.net_getvalue(h)
    check(before == ("REG_MULTI_SZ", lab.site_value(h)), "(f) %s holds its site's value (%s)" % (h, before))
    forge_missing(lab, h)
    forge_missing(lab, valueless)
    # A dry run (cancelled before any scanner runs): dp02..dp04 are really affected, dp12's site has no value.
    r = api.request("POST", "/api/v1/fixes", {"all_affected": True, "dry_run": True}, session=op)
    body = r.json()
    left = [{"site": "SS1", "why": "absent", "hosts": 1}]
    hosts = sorted(j["host"] for j in body.get("jobs", []))
    check(r.status == 202 and hosts == sorted(KEEP[:4]) and body["left_out"] == left,
          "(f) all_affected takes %s, not %s, and names SS1 as left out (%d %s)" % (h, valueless, r.status, body))
    for j in body.get("jobs", []):
        check(api.request("POST", "/api/v1/jobs/%d/cancel" % j["id"], session=op).status == 200,
              "(f) dry run job %d cancelled" % j["id"])
    with db(lab) as c:
        n0 = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
    r = api.request("POST", "/api/v1/fixes", {"all_affected": True, "site": "SS1"}, session=op)
    check(r.status == 409 and r.json().get("left_out") == left and "SS1 (absent, 1 host)" in r.json()["error"],
          "(f) all_affected of SS1 alone: 409 naming SS1 and why (%d %s)" % (r.status, r.json()))
    r = scanner(lab, "fix", "--all-affected", "--site", "SS1")
    check(r.returncode == 1 and "SS1 (absent, 1 host)" in r.stderr and "nothing queued" in r.stderr,
          "(f) fix --all-affected --site SS1: exit 1, nothing queued, SS1 named (%d)" % r.returncode)
    with db(lab) as c:
        check(c.execute("SELECT count(*) FROM jobs").fetchone()[0] == n0, "(f) nothing queued for SS1")
    r = api.request("POST", "/api/v1/fixes", {"hosts": [h]}, session=op)
    check(r.status == 202, "(f) fix of %s queued through the API (%d)" % (h, r.status))
    queued = r.json()["jobs"][0]["id"] if r.status == 202 else 0
    d, dout = start_daemon(lab)
    done = wait_jobs(lab, [queued], d)
    stop_daemon(d, dout)
    j = job(lab, queued)
    check(done and j["outcome"] == "already_correct" and j["backup"] is None,
          "(f) the scanner re-read %s: already_correct, no backup (%s %s)" % (h, j["outcome"], j["error"]))
    check(lab.net_getvalue(h) == before, "(f) %s: net rpc registry getvalue shows the value unchanged" % h)
    part_g(lab, h, j["expected_sha256"], before)


def part_g(lab, h, approved, before):
    evil = ("EVIL\0\0").encode("utf-16-le").hex()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with db(lab) as c:      # a queued fix row carrying a backup the scanner never took
        forged = c.execute("INSERT INTO jobs (kind, host, requested_by, requested_at, expected_sha256, backup, "
                           "backup_type) VALUES ('fix', ?, 'mallory', ?, ?, ?, 7)", (h, now, approved, evil)).lastrowid
    d, dout = start_daemon(lab)
    done = wait_jobs(lab, [forged], d)
    stop_daemon(d, dout)
    j = job(lab, forged)
    check(done and not j["seal"] and j["backup"] == evil,
          "(g) a fix row with a planted backup is not sealed (%s %s)" % (j["outcome"], j["seal"]))
    check(lab.net_getvalue(h) == before, "(g) %s unchanged by it" % h)
    check_refused(lab, forged, h, "not a backup this scanner took", before)


def part_cd(lab, api, op):
    with db(lab) as c:
        n0 = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
    for h in ("dp12.ss1.lab.test", "dp08.ps2.lab.test"):
        r = api.request("POST", "/api/v1/fixes", {"hosts": [h]}, session=op)
        check(r.status == 409 and h in r.json().get("error", ""), "(c) %s: 409 naming it (%d %s)" % (
            h, r.status, r.json()))
    with db(lab) as c:
        check(c.execute("SELECT count(*) FROM jobs").fetchone()[0] == n0, "(c) nothing queued")
    h = "dp04.ps1.lab.test"
    before = lab.net_getvalue(h)
    r = api.request("POST", "/api/v1/fixes", {"hosts": [h]}, session=op)
    check(r.status == 202, "(d) fix of %s queued (%d)" % (h, r.status))
    queued = r.json()["jobs"][0]["id"] if r.status == 202 else 0
    set_site_value(lab, NEW_VALUE, NEWER_VALUE)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with db(lab) as c:      # a row the attacker wrote: no approved hash
        bare = c.execute("INSERT INTO jobs (kind, host, requested_by, requested_at) VALUES ('fix', ?, 'mallory', "
                         "?)", (h, now)).lastrowid
    d, dout = start_daemon(lab)
    done = wait_jobs(lab, [queued, bare], d)
    stop_daemon(d, dout)
    check(done, "(d) the daemon finished both jobs")
    for jid, text in ((queued, "changed since the operator approved it"), (bare, "no approved value")):
        j = job(lab, jid)
        check(j["outcome"] == "refused" and text in (j["error"] or "") and j["backup"] is None,
              "(d) job %d refused: %s (%s %s)" % (jid, text, j["outcome"], j["error"]))
    r = api.request("GET", "/api/v1/jobs/%d" % queued, session=op)
    check(r.status == 200 and r.json()["outcome"] == "refused" and "approved" in r.json()["error"],
          "(d) the API shows the refusal and its reason")
    check(lab.net_getvalue(h) == before, "(d) %s unchanged" % h)


def part_e(lab):
    h = "dp04.ps1.lab.test"
    check(scanner(lab, "--once").returncode == 0, "rescan with the site's newer value")
    e = fix_one(lab, h)
    held = lab.net_getvalue(h)
    c = sitedb(lab)
    n = c.execute("DELETE FROM v_DistributionPointInfo WHERE lower(ServerName) = ?", (h,)).rowcount
    n += c.execute("DELETE FROM v_SystemResourceList WHERE lower(ServerName) = ?", (h,)).rowcount
    c.close()
    check(n >= 2, "(e) %s removed from the site DB (%d rows)" % (h, n))
    check_refused(lab, e, h, "host not in the site DB's inventory", held)


@test("rollbacks and fixes the scanner refuses: newer write, forged backup, no or stale approval, not in "
      "the inventory; a forged observation ends already_correct; a planted backup is never sealed")
def main():
    with Lab(scenario(), BASE, "fix-guard") as lab:
        check(scanner(lab, "--once").returncode == 0, "--once exit 0")
        api, op = start_server(lab)
        part_f(lab, api, op)
        part_a(lab)
        part_b(lab)
        part_cd(lab, api, op)
        part_e(lab)


if __name__ == "__main__":
    sys.exit(checks.run())
