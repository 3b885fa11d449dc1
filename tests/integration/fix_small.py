#!/usr/bin/env python3
# fix_small.py — dpfleet-scanner fix and rollback (dpfleet-scanner(8)) on the small lab
# (tests/lab/scenarios/small.json plus two hosts:
# dp13.ps1.lab.test: value missing, site value present, scan account NOT a local administrator — the small
# scenario's only non-admin host sits at the ambiguous site, where the fix must refuse before any write — and
# mp14.ps1.lab.test, a management point only, value mismatched: MPs are fixed like DPs).
#
# Checks, each against readers that share no code with the scanner (net rpc registry getvalue over the network,
# `net registry export` of the host's own registry.tdb for exact bytes):
#   dry run: would_write for every writable affected host, nothing changed anywhere;
#   fix --all-affected: missing/empty/mismatch hosts end written and healthy (rescan trigger 'fix') holding
#     exactly the site's value; the non-admin host ends access_denied, unchanged; exit 2;
#   explicit fix of denied / no_key / ambiguous site / no site value / down hosts: access_denied, refused,
#     refused, refused, unreachable, nothing changed;
#   a second pass on the written hosts: all already_correct, no backup taken (zero writes), exit 0;
#   rollback of every written job: restored, exact previous bytes (absent included), a second rollback refused;
#   audit: one job.queue by cli:<user>, job.start per attempt, exactly one job.end with the hashes, per job.
import json
import os
import pwd
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fix_lib import (SRC, Lab, check, check_audit, db, last_state, multisz_hex,  # noqa: E402
                     outcomes, scanner, start_daemon, stop_daemon)
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

BASE = "127.82.0.0"
WHO = "cli:" + pwd.getpwuid(os.getuid()).pw_name


def scenario():
    with open(os.path.join(SRC, "tests", "lab", "scenarios", "small.json")) as f:
        sc = json.load(f)
    extra = dict(sc["hosts"][1])
    extra.update(fqdn="dp13.ps1.lab.test", registry="missing", scan_account_admin=False, smspxe_log="none",
                 pxe=False)
    sc["hosts"].append(extra)
    mp = dict(extra)
    mp.update(fqdn="mp14.ps1.lab.test", roles=["mp"], registry="mismatch", scan_account_admin=True)
    sc["hosts"].append(mp)
    return sc


@test('dry run, fix --all-affected, refused and denied fixes, rollbacks on the small lab')
def main():
    with Lab(scenario(), BASE, "fix-small") as lab:
        hosts = sorted(lab.info["expect"])
        ex = lab.info["expect"]
        writable = [h for h in hosts if lab.writable_affected(h) and ex[h]["admin"]]
        nonadmin = [h for h in hosts if lab.writable_affected(h) and not ex[h]["admin"]]
        check(len(writable) == 4 and "mp14.ps1.lab.test" in writable and nonadmin == ["dp13.ps1.lab.test"],
              "lab: 4 writable affected hosts (one an MP only) and one non-admin (%s, %s)" % (writable, nonadmin))
        r = scanner(lab, "--once")
        check(r.returncode == 0, "--once exit 0")
        reachable = [h for h in hosts if ex[h]["network"] in ("ok", "slow")]
        before = {h: lab.reg_export(h) for h in reachable}
        net_before = {h: lab.net_getvalue(h) for h in reachable}
        check(all(v != "noconf" for v in before.values()), "every reachable host's registry is found")

        # -- dry run ------------------------------------------------------------------------------------------
        r = scanner(lab, "fix", "--all-affected", "--dry-run")
        o = outcomes(r.stdout)
        check(r.returncode == 0, "dry run exit 0 (got %d)" % r.returncode)
        check(sorted(o) == sorted(writable + nonadmin), "dry run covers the affected hosts: %s" % sorted(o))
        check(all(v[0] == "would_write" for v in o.values()), "dry run: would_write for each: %s" % o)
        check({h: lab.reg_export(h) for h in reachable} == before, "dry run changed no byte on any host")
        check({h: lab.net_getvalue(h) for h in reachable} == net_before,
              "dry run: net rpc registry getvalue sees the same values")
        with db(lab) as c:
            n = c.execute("SELECT count(*) FROM jobs WHERE dry_run = 1 AND backup IS NOT NULL").fetchone()[0]
        check(n == 0, "dry run took no backup")
        dry_ids = [v[1] for v in o.values()]

        # -- fix all affected ---------------------------------------------------------------------------------
        # The small scenario's CertMgr denials name no writable affected host (dp06: registry denied, dp08:
        # ambiguous site), so one is given a denial in the state DB: the rescan after its write reads no
        # CertMgr.log and must carry certmgr_denied, its time and its certmgr evidence line over.
        denied_host, denied_at = writable[0], "2026-01-02T03:04:05Z"
        denied_line = "<![LOG[test denial of %s]LOG]!>" % denied_host
        with db(lab) as c:
            oid = c.execute("SELECT last_obs_id FROM hosts WHERE fqdn = ?", (denied_host,)).fetchone()[0]
            c.execute("UPDATE observations SET certmgr_denied = 1, certmgr_denied_at = ? WHERE id = ?",
                      (denied_at, oid))
            c.execute("INSERT INTO evidence (observation_id, source, file, at, component, line) "
                      "VALUES (?, 'certmgr', 'SMS_PS1/Logs/CertMgr.log', ?, 'SMS_CERTIFICATE_MANAGER', ?)",
                      (oid, denied_at, denied_line))
        r = scanner(lab, "fix", "--all-affected")
        o = outcomes(r.stdout)
        check(r.returncode == 2, "fix --all-affected exits 2 (one host access_denied), got %d" % r.returncode)
        check(sorted(o) == sorted(writable + nonadmin), "fix --all-affected took exactly the affected hosts: %s"
              % sorted(o))
        fix_ids = {h: v[1] for h, v in o.items()}
        for h in writable:
            check(o.get(h, ("?",))[0] == "written", "%s: written (%s)" % (h, o.get(h)))
            t, elems = lab.net_getvalue(h)
            check(t == "REG_MULTI_SZ" and elems == lab.site_value(h),
                  "%s: net rpc registry getvalue shows exactly the site's value (%s %s)" % (h, t, elems))
            check(lab.reg_export(h) == (7, multisz_hex(lab.site_value(h))), "%s: exact REG_MULTI_SZ bytes" % h)
            check(last_state(lab, h) == ("healthy", "fix"), "%s: rescanned healthy: %s" % (h, last_state(lab, h)))
        for h in nonadmin:
            check(o.get(h, ("?",))[0] == "access_denied", "%s: access_denied (%s)" % (h, o.get(h)))
            check(lab.reg_export(h) == before[h], "%s: unchanged" % h)
        with db(lab) as c:
            for h in writable:
                ob = c.execute("SELECT o.id, o.certmgr_denied, o.certmgr_denied_at FROM hosts h JOIN observations o "
                               "ON o.id = h.last_obs_id WHERE h.fqdn = ?", (h,)).fetchone()
                ev = [tuple(e) for e in c.execute("SELECT file, at, line FROM evidence WHERE observation_id = ? "
                                                  "AND source = 'certmgr'", (ob["id"],))]
                if h == denied_host:
                    check(ob["id"] != oid and ob["certmgr_denied"] == 1 and ob["certmgr_denied_at"] == denied_at,
                          "%s: the rescan keeps certmgr_denied and its time (%s)" % (h, tuple(ob)))
                    check(ev == [("SMS_PS1/Logs/CertMgr.log", denied_at, denied_line)],
                          "%s: the rescan keeps the certmgr evidence line (%s)" % (h, ev))
                else:
                    check(ob["certmgr_denied"] == 0 and ob["certmgr_denied_at"] is None and ev == [],
                          "%s: no CertMgr denial invented by the rescan (%s %s)" % (h, tuple(ob), ev))
                j = c.execute("SELECT * FROM jobs WHERE id = ?", (fix_ids[h],)).fetchone()
                b = before[h]
                want = "absent" if b == "absent" else b[1]
                check(j["backup"] == want and (j["backup_type"] == (None if b == "absent" else b[0])),
                      "%s: backup is the exact previous value (%s/%s)" % (h, j["backup"], j["backup_type"]))
                check(j["state"] == "done" and j["attempts"] == 1 and j["after_sha256"] == j["expected_sha256"],
                      "%s: job done, one attempt, after = expected" % h)

        # -- hosts the fix must not touch ---------------------------------------------------------------------
        others = {"dp06.ps1.lab.test": "access_denied", "dp05.ps1.lab.test": "refused",
                  "dp08.ps2.lab.test": "refused", "dp12.ss1.lab.test": "refused",
                  "dp09.ps1.lab.test": "unreachable", "dp13.ps1.lab.test": "access_denied"}
        r = scanner(lab, "fix", *sorted(others))
        o = outcomes(r.stdout)
        check(r.returncode == 2, "fix of untouchable hosts exits 2")
        for h, want in others.items():
            check(o.get(h, ("?",))[0] == want, "%s: %s (%s)" % (h, want, o.get(h)))
            if h in before:
                check(lab.reg_export(h) == before[h], "%s: unchanged" % h)
        check("not a healthy ConfigMgr host" in r.stdout, "no_key refusal says so")
        other_ids = [v[1] for v in o.values()]

        # -- second pass: already correct, zero writes -------------------------------------------------------
        snap = {h: lab.reg_export(h) for h in writable}
        r = scanner(lab, "fix", *writable)
        o = outcomes(r.stdout)
        check(r.returncode == 0, "second pass exit 0")
        check(all(o.get(h, ("?",))[0] == "already_correct" for h in writable), "second pass all already_correct")
        with db(lab) as c:
            n = c.execute("SELECT count(*) FROM jobs WHERE id IN (%s) AND backup IS NOT NULL" %
                          ",".join(str(v[1]) for v in o.values())).fetchone()[0]
        check(n == 0, "second pass took no backup (no write was prepared)")
        check({h: lab.reg_export(h) for h in writable} == snap, "second pass changed nothing")
        second_ids = [v[1] for v in o.values()]

        # -- rollback -----------------------------------------------------------------------------------------
        rb_ids = []
        for h in writable:
            r = scanner(lab, "rollback", str(fix_ids[h]))
            o = outcomes(r.stdout)
            check(r.returncode == 0 and o.get(h, ("?",))[0] == "restored", "%s: rollback restored" % h)
            check(lab.reg_export(h) == before[h], "%s: exact previous bytes back (%s)" % (h, before[h]))
            rb_ids += [v[1] for v in o.values()]
        r = scanner(lab, "rollback", str(fix_ids[writable[0]]))
        check(r.returncode == 1 and "already has rollback job" in r.stderr, "a second rollback is refused")
        r = scanner(lab, "rollback", str(fix_ids["dp13.ps1.lab.test"]))
        check(r.returncode == 1, "rollback of a job that did not write is refused")
        r = scanner(lab, "fix")
        check(r.returncode == 1 and "usage" in r.stderr, "fix without hosts is a usage error")

        # -- [fix] max_per_run and --confirm, --site -----------------------------------------------------------
        capped = os.path.join(lab.tmp, "capped.conf")
        with open(lab.conf) as f, open(capped, "w") as g:
            g.write(f.read() + "\n[fix]\nmax_per_run = 2\n")
        with db(lab) as c:
            njobs = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
        r = scanner(lab, "-f", capped, "fix", "--all-affected", "--dry-run")
        with db(lab) as c:
            check(c.execute("SELECT count(*) FROM jobs").fetchone()[0] == njobs, "over max_per_run: nothing queued")
        m = __import__("re").search(r"--confirm (\d+)", r.stderr)
        check(r.returncode == 1 and m is not None, "over max_per_run: exit 1 naming --confirm N")
        if m:
            r = scanner(lab, "-f", capped, "fix", "--all-affected", "--dry-run", "--confirm", m.group(1))
            o = outcomes(r.stdout)
            check(r.returncode == 0 and len(o) == int(m.group(1)) > 2 and
                  all(v[0] == "would_write" for v in o.values()), "--confirm N runs all N: %s" % o)
            dry_ids += [v[1] for v in o.values()]
        r = scanner(lab, "fix", "--all-affected", "--site", "SS1", "--dry-run")
        check(r.returncode == 0 and "no host to fix" in r.stdout, "--site SS1: no affected host there")

        # -- no fresh site-DB read, no write: the run does not start and its jobs are cancelled ---------------
        nodb = os.path.join(lab.tmp, "nodb.conf")
        with open(lab.conf) as f, open(nodb, "w") as g:
            g.write(f.read().replace("port = 1433", "port = 9"))
        r = scanner(lab, "-f", nodb, "fix", writable[0])
        with db(lab) as c:
            j = c.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
        check(r.returncode == 1 and j["host"] == writable[0] and j["state"] == "cancelled" and j["backup"] is None,
              "site DB down: exit 1, the job cancelled, no backup (%d %s)" % (r.returncode, tuple(j)))
        check(lab.reg_export(writable[0]) == before[writable[0]], "site DB down: host unchanged")

        check_audit(lab, dry_ids + list(fix_ids.values()) + other_ids + second_ids + rb_ids, WHO)

        # -- the daemon runs a job queued by someone else (as dpfleet-server queues one) --------------------
        # A write whose rescan was lost (as if the scanner died right after it): the host's newest observation
        # is made older than its last written/restored job.  The daemon rescans it at start, with no job queued.
        lost = writable[1]
        with db(lab) as c:
            old_obs = c.execute("SELECT last_obs_id FROM hosts WHERE fqdn = ?", (lost,)).fetchone()[0]
            c.execute("UPDATE observations SET at = '2000-01-01T00:00:00Z' WHERE id = ?", (old_obs,))
        d, dout = start_daemon(lab)     # no scheduled scan: jobs only
        t0 = time.monotonic()
        new_obs = old_obs
        while time.monotonic() - t0 < 60 and d.poll() is None and new_obs == old_obs:
            with db(lab) as c:
                new_obs = c.execute("SELECT last_obs_id FROM hosts WHERE fqdn = ?", (lost,)).fetchone()[0]
            time.sleep(0.05)
        check(new_obs != old_obs and last_state(lab, lost)[1] == "fix",
              "%s: the daemon rescanned a write whose rescan was lost, at start (%s)" % (lost, last_state(lab, lost)))
        h = writable[0]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with db(lab) as c:
            cur = c.execute("INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at) VALUES "
                            "('fix', ?, 1, 'alice', ?)", (h, now))
            api_id = cur.lastrowid
            c.execute("INSERT INTO audit (at, who, action, target, outcome, detail) VALUES (?, 'alice', "
                      "'job.queue', ?, 'queued', ?)", (now, h, json.dumps({"job": api_id})))
        t0 = time.monotonic()
        state = None
        while time.monotonic() - t0 < 60 and d.poll() is None:
            with db(lab) as c:
                state = c.execute("SELECT state, outcome FROM jobs WHERE id = ?", (api_id,)).fetchone()
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.05)
        print("daemon picked up and finished the queued job in %.2f s" % (time.monotonic() - t0), flush=True)
        rc = stop_daemon(d, dout)
        check(rc == 0, "daemon stopped on SIGTERM with 0 (%s)" % rc)
        check(state is not None and tuple(state) == ("done", "would_write"),
              "daemon ran the queued dry-run job: %r" % ((tuple(state) if state else None),))
        check(lab.reg_export(h) == before[h], "%s: the dry run by the daemon changed nothing" % h)
        check_audit(lab, [api_id], "alice")


if __name__ == "__main__":
    sys.exit(checks.run())
