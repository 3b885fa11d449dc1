#!/usr/bin/env python3
# seed.py — fill a dpfleet state DB (already created and migrated by dpfleet-server's `user add`) with a
# deterministic fleet for the server-only browser test: 4 sites (present, ambiguous, absent, present), 5000
# hosts: 130 in PS1/PS2/SS1 over every verdict state (all the affected ones in PS1) and 4870 more in PS3 that
# are never affected (so the host table is paged, sorted and filtered over thousands while the fix dialog
# and the CSV still count the PS1 ones), 3 finished full scans with observations and a newer rescan after a
# fix (trigger fix, which is not "the last scan"), evidence lines for the PXE and CertMgr logs, and a
# finished fix job.  Unreachable hosts carry reason words (some of lib/reason.h's, one it lacks) and 1..3
# attempts.  A few hosts' newest observations carry a note (migration 0004; NOTES); every observation and the
# fix job name a credential set (migration 0007; cred_set()).  Prints what the
# dashboard must show as JSON on stdout (counts per state, per site, the hosts used by the test, the fqdn
# order, the notes).  Who calls it: dashboard.test.mjs.  Python 3 standard library only.
import hashlib
import json
import sqlite3
import sys

STATES = ["healthy", "missing", "empty", "mismatch", "no_key", "denied", "unreachable", "unknown"]
AFFECTED = {"missing", "empty", "mismatch"}
# Unreachable hosts' reason words by n % 8: words of lib/reason.h's table and one it lacks (shown alone).
# dp007.ps1 (the host page test's unreachable host) gets logon_failure.
REASONS = ["refused", "timeout", "deadline", "rpc_unavailable", "smb_timeout", "access_denied", "not_in_the_table",
           "logon_failure"]
SCAN_TIMES = [("2026-11-23T06:00:00Z", "2026-11-23T06:00:09Z"), ("2026-11-24T06:00:00Z", "2026-11-24T06:00:08Z"),
              ("2026-11-25T06:00:00Z", "2026-11-25T06:00:07Z")]
HOSTS = 5000
# PS3's hosts by n % 10: mostly healthy, never affected.
PS3_STATES = ["healthy"] * 6 + ["no_key", "denied", "unreachable", "unknown"]
# observations.note of the newest observation by host number (doc/dpfleet-scanner.8, "Verdicts"): dp008.ps1 is
# healthy with a non-canonical encoding, dp011.ps1 and dp018.ps1 are mismatches of another type; dp018's note
# holds markup, which the host page must show as text.
NOTES = {8: "non-canonical REG_MULTI_SZ encoding (single final NUL)",
         11: "value type REG_SZ (1), not REG_MULTI_SZ",
         18: "value type REG_BINARY (3), not REG_MULTI_SZ <b>as text</b>"}
VALUE_PS1 = "MIIF4jCCBMqgAwIBAgITLwAAAAXy6sJ0zQtJXgAAAAAABTANBgkq_LabRootCA;CN=Lab Issuing CA 01, DC=lab, DC=test;2C6F0A51B3E4D9871F22"


def msz_sha256(elems):
    h = hashlib.sha256()
    for e in elems:
        h.update(e.encode("utf-8") + b"\0")
    return h.hexdigest()


def main():
    if len(sys.argv) != 2:
        print("usage: seed.py STATE.db", file=sys.stderr)
        sys.exit(2)
    db = sqlite3.connect(sys.argv[1])
    db.execute("PRAGMA foreign_keys = ON")
    c = db.cursor()
    now = "2026-11-22T00:00:00Z"
    exp_sha = msz_sha256([VALUE_PS1])
    sites = [("PS1", "Primary site 1", "primary", "CAS", "present", VALUE_PS1, exp_sha),
             ("PS2", "Primary site 2", "primary", "CAS", "ambiguous", None, None),
             ("SS1", "Secondary site 1", "secondary", "PS1", "absent", None, None),
             ("PS3", "Primary site 3", "primary", "CAS", "present", VALUE_PS1, exp_sha)]
    for code, name, typ, parent, es, ev, eh in sites:
        c.execute("INSERT INTO sites (code, name, type, parent, server, install_dir, expected_state, expected_value,"
                  " expected_sha256, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  (code, name, typ, parent, "cm-%s.lab.test" % code.lower(), "D:\\SMS", es, ev, eh, now, now))
    # Hosts: PS1 holds every state, PS2 and SS1 are unknown (nothing to compare) or unreachable.
    hosts = []
    for i in range(HOSTS):
        n = i + 1
        if i < 90:
            site, state = "PS1", STATES[i % 7]          # healthy..unreachable, 90 hosts
        elif i < 115:
            site, state = "PS2", ("unknown" if i % 5 else "unreachable")
        elif i < 130:
            site, state = "SS1", ("unknown" if i % 4 else "denied")
        else:
            site, state = "PS3", PS3_STATES[n % 10]
        # PS3 is dp1001.ps3 .. dp5870.ps3: after dp051.ps1 in fqdn order, so page 2 still starts there.
        fqdn = "dp%03d.%s.lab.test" % (n, site.lower()) if i < 130 else "dp%04d.ps3.lab.test" % (n + 870)
        is_mp = 1 if n % 10 == 0 and i < 130 else 0
        pxe = 1 if n % 3 != 0 else 0
        hosts.append({"fqdn": fqdn, "site": site, "state": state, "is_mp": is_mp, "pxe": pxe, "n": n})
        c.execute("INSERT INTO hosts (fqdn, site, is_dp, is_mp, pxe, sccm_pxe, first_seen, last_seen)"
                  " VALUES (?,?,?,?,?,?,?,?)", (fqdn, site, 1, is_mp, pxe, pxe, now, now))
        hosts[-1]["id"] = c.lastrowid
    for si, (st, fin) in enumerate(SCAN_TIMES):
        c.execute("INSERT INTO scans (trigger, started_at, finished_at, state, hosts, affected, unreachable, duration_ms)"
                  " VALUES ('schedule', ?, ?, 'done', ?, 0, 0, 7000)", (st, fin, len(hosts)))
        scan_id = c.lastrowid
        aff = unr = 0
        for h in hosts:
            # Older scans: a few more affected hosts (the trend goes down).
            state = h["state"]
            if si < 2 and state == "healthy" and h["n"] % (3 + si) == 0:
                state = "missing"
            affected = 1 if state in AFFECTED else 0
            aff += affected
            unr += state == "unreachable"
            reason = REASONS[h["n"] % 8] if state == "unreachable" else None
            # Contacts the verdict took (migration 0002): unreachable 1..3, a read host now and then 2.
            attempts = 1 + h["n"] % 3 if state == "unreachable" else 1 + (h["n"] % 5 == 0)
            vsha = {"healthy": exp_sha, "mismatch": msz_sha256(["some other CA"]), "empty": msz_sha256([])}.get(state)
            if h["site"] not in ("PS1", "PS3") and state == "unknown":
                vsha = msz_sha256(["value on %s" % h["fqdn"]])
            certerr = 3 + h["n"] % 4 if state in AFFECTED and h["pxe"] else 0
            c.execute("INSERT INTO observations (scan_id, host_id, at, state, reason, affected, value_sha256,"
                      " expected_sha256, pxe_cert_errors, pxe_last_error, pxe_expired_cert, certmgr_denied,"
                      " certmgr_denied_at, scan_ms, attempts, note, cred_set)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (scan_id, h["id"], st, state, reason, affected, vsha,
                       exp_sha if h["site"] in ("PS1", "PS3") else None,
                       certerr, "2026-11-20T09:14:0%dZ" % (h["n"] % 10) if certerr else None,
                       1 if h["n"] == 4 else 0, 1 if state == "denied" or h["n"] == 2 else 0,
                       "2026-11-20T10:00:00Z" if state == "denied" or h["n"] == 2 else None, 40 + h["n"], attempts,
                       NOTES.get(h["n"]) if si == len(SCAN_TIMES) - 1 and h["site"] == "PS1" else None,
                       cred_set(h)))
            obs = c.lastrowid
            h["obs"] = obs
            h["final"] = state
            c.execute("UPDATE hosts SET last_obs_id = ? WHERE id = ?", (obs, h["id"]))
        c.execute("UPDATE scans SET affected = ?, unreachable = ? WHERE id = ?", (aff, unr, scan_id))
    # The rescan of one host after a fix: newer than the last full scan, which it must not replace.
    c.execute("INSERT INTO scans (trigger, started_at, finished_at, state, hosts, affected, unreachable, duration_ms)"
              " VALUES ('fix', '2026-11-25T08:00:00Z', '2026-11-25T08:00:02Z', 'done', 1, 0, 0, 2000)")
    # Evidence on the newest observation of the detail host (dp002: missing, PXE).
    detail = next(h for h in hosts if h["n"] == 2)
    assert detail["final"] == "missing" and detail["pxe"]
    pxe_file = "SMS_DP$/sms/logs/SMSPXE.log"
    ev = [("smspxe", pxe_file, "2026-11-20T09:14:01Z", "SMSPXE", 1, "PXE Provider loaded."),
          ("smspxe", pxe_file, "2026-11-20T09:14:02Z", "SMSPXE", 3,
           "Failed to create certificate store from encoded certificate.. An error occurred during encode or decode "
           "operation. (Error: 80092002; Source: Windows)"),
          ("smspxe", pxe_file, "2026-11-20T09:14:02Z", "SMSPXE", 3, "PXE::MP_GetList failed; 0x80092002"),
          ("smspxe", pxe_file, "2026-11-20T09:14:03Z", "SMSPXE", 2, "PXE Provider failed to initialize MP connection.\r\n"
           "  Unspecified error (Error: 80004005; Source: Windows)"),
          ("certmgr", "SMS_PS1/Logs/CertMgr.log", "2026-11-20T10:00:00Z", "SMS_CERTIFICATE_MANAGER", None,
           "Cannot get copy of security registry key on server (dp002.ps1.lab.test) (0x80070005)  "
           "$$<SMS_CERTIFICATE_MANAGER><11-20-2026 10:00:00.000+000><thread=7064 (0x1B98)>"),
          ("smspxe", pxe_file, "2026-11-20T09:14:04Z", "SMSPXE", 3,
           '<![LOG[PXE::MP_LookupDevice failed; 0x80092002]LOG]!><time="09:14:04.125+000" date="11-20-2026" '
           'component="SMSPXE" context="" type="3" thread="6004" file="database.cpp:293">')]
    for e in ev:
        c.execute("INSERT INTO evidence (observation_id, source, file, at, component, type, line) VALUES (?,?,?,?,?,?,?)",
                  (detail["obs"],) + e)
    # One finished fix job on a healthy host, so rollback and fixes.csv have something.
    c.execute("INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at, started_at, finished_at, state,"
              " outcome, expected_sha256, before_sha256, after_sha256, backup, backup_type, attempts, cred_set)"
              " VALUES ('fix', 'dp001.ps1.lab.test', 0, 'operator', '2026-11-24T07:00:00Z', '2026-11-24T07:00:01Z',"
              " '2026-11-24T07:00:02Z', 'done', 'written', ?, NULL, ?, 'absent', NULL, 1, 'smb')", (exp_sha, exp_sha))
    db.commit()
    counts = {s: sum(1 for h in hosts if h["final"] == s) for s in STATES}
    per_site = {}
    for code, *_ in sites:
        per_site[code] = {s: sum(1 for h in hosts if h["final"] == s and h["site"] == code) for s in STATES}
    out = {
        "hosts": len(hosts), "counts": counts, "affected": sum(counts[s] for s in AFFECTED), "sites": per_site,
        "expected": {code: es for code, _, _, _, es, _, _ in sites},
        "detail": detail["fqdn"], "detail_cred_set": cred_set(detail), "expected_sha256": exp_sha,
        "pxe_hosts": sum(1 for h in hosts if h["pxe"]),
        "mp_hosts": sorted(h["fqdn"] for h in hosts if h["is_mp"]),
        "missing_ps1": sorted(h["fqdn"] for h in hosts if h["final"] == "missing" and h["site"] == "PS1"),
        "scans": len(SCAN_TIMES),
        "notes": {h["fqdn"]: NOTES[h["n"]] for h in hosts if h["n"] in NOTES and h["site"] == "PS1"},
        "by_fqdn": sorted(h["fqdn"] for h in hosts),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


def cred_set(h):
    """The credential set a host's reads used (migration 0007; dpfleet.conf(5), CREDENTIAL SETS): [smb] for PS1,
    a [credentials] set for the other sites."""
    return "smb" if h["site"] == "PS1" else "forest-b"


if __name__ == "__main__":
    main()
