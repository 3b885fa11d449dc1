#!/usr/bin/env python3
# scan_small.py — dpfleet-scanner against the lab's small scenario (dpfleet-scanner(8): Verdicts, REASONS).
#
# Brings up tests/lab/scenarios/small.json on 127.80.0.0, runs `dpfleet-scanner --once` and checks that every
# host gets exactly the state (and reason) and the evidence the scenario implies: registry states healthy /
# missing / empty / mismatch / no_key / denied, unknown for the ambiguous and value-less sites, unreachable
# for the down (refused) and black-hole (timeout or deadline) hosts, SMSPXE counts and last error time, the
# expired-certificate flag, certmgr_denied with its time, evidence lines (≤ 20), hosts.last_obs_id, the
# summary table, and that the SMB password shows up in no log, argv or DB file.  Then the daemon mode: a
# queued scan_requests row is picked up and finished, SIGTERM stops it cleanly.  No process or connection of
# the scanner may be left.  The lab is always taken down (finally).

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

BASE = "127.80.0.0"
SCENARIO = os.path.join(L.SRC, "tests", "lab", "scenarios", "small.json")
ck = L.check                    # a counted check (tests/lib/checks.py)


def run_once_watching(conf):
    """--once in the background, collecting the argv of every scanner process while it runs."""
    argvs = []
    t0 = time.monotonic()
    p = subprocess.Popen([L.SCANNER, "-f", conf, "-v", "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        import threading
        out = {}

        def drain(name, f):
            out[name] = f.read()
        ts = [threading.Thread(target=drain, args=(n, f)) for n, f in (("out", p.stdout), ("err", p.stderr))]
        for t in ts:
            t.start()
        while p.poll() is None:
            for pid in L.scanner_pids():
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        argvs.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass
            time.sleep(0.2)
        for t in ts:
            t.join()
        return p.returncode, out.get("out", ""), out.get("err", ""), time.monotonic() - t0, argvs
    finally:
        L.kill_quietly(p)


def check_scan(lab, conf, scan_id, label):
    info = lab.info
    obs, ev = L.observations(conf, scan_id)
    ck(set(obs) == set(info["expect"]), "%s: one observation per lab host (got %s)" % (label, sorted(obs)))
    for fq, e in sorted(info["expect"].items()):
        o = obs.get(fq)
        if o is None:
            continue
        state, reasons = L.expected_verdict(info, fq)
        ck(o["state"] == state, "%s: %s state %s, expected %s" % (label, fq, o["state"], state))
        ck(o["reason"] in reasons, "%s: %s reason %r, expected one of %s" % (label, fq, o["reason"], reasons))
        ck(o["affected"] == (1 if state in ("missing", "empty", "mismatch") else 0), "%s: %s affected" % (label, fq))
        ck(o["last_obs_id"] == o["id"], "%s: %s hosts.last_obs_id points at this observation" % (label, fq))
        reachable = e["reachable"]
        site = info["expect_sites"][e["site"]]
        # The value's hash: whatever the host holds (when the key was readable), None when absent.
        if reachable and e["registry"] not in ("denied", "no_key", "missing"):
            ck(o["value_sha256"] == L.multisz_sha(e["value"]), "%s: %s value_sha256" % (label, fq))
        else:
            ck(o["value_sha256"] is None, "%s: %s value_sha256 should be NULL" % (label, fq))
        if site["value_state"] == "ok":
            exp_sha = L.multisz_sha([x for x in site["value1"].split("\\0") if x])
            ck(o["expected_sha256"] == exp_sha, "%s: %s expected_sha256" % (label, fq))
        else:
            ck(o["expected_sha256"] is None, "%s: %s expected_sha256 should be NULL" % (label, fq))
        readable = reachable and e["pxe_log_readable"]
        want_err = e["pxe_cert_errors"] if readable else 0
        ck(o["pxe_cert_errors"] == want_err, "%s: %s pxe_cert_errors %d, expected %d"
           % (label, fq, o["pxe_cert_errors"], want_err))
        want_last = e["pxe_last_error"] if readable else None
        ck(o["pxe_last_error"] == want_last, "%s: %s pxe_last_error %r, expected %r"
           % (label, fq, o["pxe_last_error"], want_last))
        ck(o["pxe_expired_cert"] == (1 if readable and e["pxe_expired_cert"] else 0),
           "%s: %s pxe_expired_cert" % (label, fq))
        ck(o["certmgr_denied"] == (1 if e["certmgr_denied"] else 0), "%s: %s certmgr_denied" % (label, fq))
        ck((o["certmgr_denied_at"] is not None) == bool(e["certmgr_denied"]), "%s: %s certmgr_denied_at %r"
           % (label, fq, o["certmgr_denied_at"]))
        lines = ev.get(fq, [])
        ck(len(lines) <= 20, "%s: %s at most 20 evidence lines" % (label, fq))
        if want_err:
            ck(any(x["source"] == "smspxe" and "80092002" in x["line"] and x["at"] for x in lines),
               "%s: %s has an SMSPXE 80092002 evidence line with its time" % (label, fq))
            ck(any(x["file"] == e["pxe_log_path"] for x in lines), "%s: %s evidence names %s"
               % (label, fq, e["pxe_log_path"]))
        if readable and e["pxe_expired_cert"]:
            ck(any(x["source"] == "smspxe" and "800B0101" in x["line"].upper() for x in lines),
               "%s: %s has an 800B0101 evidence line" % (label, fq))
        if e["certmgr_denied"]:
            cm = [x for x in lines if x["source"] == "certmgr"]
            ck(len(cm) >= 1 and fq in cm[0]["line"].lower() and "0x80070005" in cm[0]["line"]
               and cm[0]["at"] == o["certmgr_denied_at"],
               "%s: %s has its CertMgr.log denial as evidence" % (label, fq))
        if not want_err and not e["certmgr_denied"] and not (readable and e["pxe_expired_cert"]):
            ck(len(lines) == 0, "%s: %s has no evidence lines (got %d)" % (label, fq, len(lines)))
    return obs


@test('--once on the small lab: every verdict, evidence, summary, no secret or leftover; daemon mode')
def main():
    with L.Lab(SCENARIO, BASE, "scan-small") as lab:
        info = lab.info
        password = info["smb_password"]
        work = os.path.dirname(lab.dir)
        conf = L.write_conf(lab.conf, os.path.join(work, "once.conf"), scan={"host_deadline": 40})

        # --- --once -------------------------------------------------------------------------------
        rc, out, err, wall, argvs = run_once_watching(conf)
        print("--once: exit %d in %.1f s" % (rc, wall))
        print(out)
        ck(rc == 0, "--once exits 0 (got %d): %s" % (rc, err[-1500:]))
        scan = L.last_scan(conf)
        ck(scan is not None and scan["state"] == "done" and scan["trigger"] == "cli", "scan row done, trigger cli")
        want_aff = sum(1 for fq in info["expect"] if L.expected_verdict(info, fq)[0] in ("missing", "empty",
                                                                                          "mismatch"))
        want_unr = sum(1 for fq in info["expect"] if L.expected_verdict(info, fq)[0] == "unreachable")
        ck(scan["hosts"] == len(info["expect"]) and scan["affected"] == want_aff and scan["unreachable"] == want_unr,
           "scan totals %d/%d/%d, expected %d/%d/%d" % (scan["hosts"], scan["affected"], scan["unreachable"],
                                                      len(info["expect"]), want_aff, want_unr))
        check_scan(lab, conf, scan["id"], "once")
        # The summary table: counts per state, per site, and the affected hosts listed.
        ck("affected hosts: %d" % want_aff in out, "summary names the affected count")
        for fq in info["expect"]:
            st = L.expected_verdict(info, fq)[0]
            if st in ("missing", "empty", "mismatch"):
                ck(any(ln.startswith(fq) and st in ln for ln in out.splitlines()), "summary lists %s" % fq)
        for code in info["expect_sites"]:
            if any(e["site"] == code for e in info["expect"].values()):
                ck(any(ln.startswith(code + " ") for ln in out.splitlines()), "summary has a row for site " + code)
        ck(len(argvs) > 0, "saw the scanner's processes while it ran")
        ck(not any(password in a for a in argvs), "password not in any scanner argv")
        store = L.store_path(conf)
        leaks = L.secret_leaks(password, [store, store + "-wal", store + "-shm"], {"stdout": out, "stderr": err})
        ck(not leaks, "SMB password found in %s" % leaks)
        ck(L.scanner_pids() == [], "no scanner process left after --once: %s" % L.scanner_pids())
        ck(L.client_connections("127.80.") == [], "no SMB connection left: %s" % L.client_connections("127.80."))

        # --- daemon mode: a queued request is scanned, SIGTERM stops it ------------------------------
        hm = L.write_host_map(os.path.join(work, "daemon.map"), info["hosts"],
                              {fq: "127.80.255.254" for fq, e in info["expect"].items() if e["network"] == "blackhole"})
        dconf = L.write_conf(conf, os.path.join(work, "daemon.conf"), scan={"interval": 0, "host_deadline": 40},
                             smb={"host_map": hm})
        derr = os.path.join(work, "daemon.err")
        with open(derr, "w") as ef:
            d = subprocess.Popen([L.SCANNER, "-d", "-v", "-f", dconf], stdout=subprocess.DEVNULL, stderr=ef)
        try:
            time.sleep(1.5)
            ck(d.poll() is None, "daemon is running")
            ck(len(L.children(d.pid)) == 16, "daemon runs [smb] concurrency = 16 workers (%d)"
               % len(L.children(d.pid)))
            with L.db(store) as c:
                c.execute("INSERT INTO scan_requests (requested_by, requested_at) VALUES ('test', "
                          "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")
                rid = c.execute("SELECT max(id) FROM scan_requests").fetchone()[0]
            end = time.monotonic() + 180
            row = None
            while time.monotonic() < end and d.poll() is None:
                with L.db(store) as c:
                    row = c.execute("SELECT * FROM scan_requests WHERE id = ?", (rid,)).fetchone()
                if row["state"] in ("done", "failed"):
                    break
                time.sleep(0.5)
            ck(row is not None and row["state"] == "done" and row["scan_id"] is not None and row["picked_at"],
               "queued scan request picked up and done: %s" % (dict(row) if row else None))
            if row is not None and row["scan_id"] is not None:
                with L.db(store) as c:
                    s = c.execute("SELECT * FROM scans WHERE id = ?", (row["scan_id"],)).fetchone()
                ck(s["trigger"] == "request" and s["state"] == "done", "request scan row: %s" % dict(s))
                obs, _ = L.observations(dconf, row["scan_id"])
                for fq, e in info["expect"].items():
                    st, reasons = L.expected_verdict(info, fq)
                    if e["network"] == "blackhole":
                        st, reasons = "unreachable", {"refused"}      # mapped to a dead address here
                    ck(fq in obs and obs[fq]["state"] == st and obs[fq]["reason"] in reasons,
                       "daemon scan: %s %s" % (fq, obs[fq]["state"] if fq in obs else "missing"))
            workers = L.children(d.pid)
            d.send_signal(signal.SIGTERM)
            try:
                drc = d.wait(timeout=20)
            except subprocess.TimeoutExpired:
                drc = None
            ck(drc == 0, "daemon exits 0 on SIGTERM (got %r)" % drc)
            time.sleep(0.2)
            ck(all(not os.path.exists("/proc/%d" % w) for w in workers), "daemon's workers are gone")
        finally:
            L.kill_quietly(d)
        with open(derr) as f:
            dlog = f.read()
        ck(" (request) done" in dlog, "daemon logs one line per finished scan")
        ck(password not in dlog, "SMB password not in the daemon's log")
        ck(L.scanner_pids() == [], "no scanner process left after the daemon: %s" % L.scanner_pids())
        ck(L.client_connections("127.80.") == [], "no SMB connection left after the daemon")

        # --- site DB down: the stored fleet is still scanned, the scan row says why, exit 1 ------------
        nodb = L.write_conf(dconf, os.path.join(work, "nodb.conf"), scan={"interval": None},
                            sitedb={"port": 9, "login_timeout": 2})
        rc, out, err, wall = L.run_once(nodb)
        scan = L.last_scan(nodb)
        ck(rc == 1, "--once exits 1 when the site DB is unreachable (got %d)" % rc)
        ck(scan["state"] == "done" and scan["hosts"] == len(info["expect"]) and
           (scan["error"] or "").startswith("inventory not refreshed"),
           "site DB down: stored fleet scanned, error kept: %s" % dict(scan))
        ck("affected hosts: %d" % want_aff in out, "site DB down: the summary is still printed")
        # --- state DB unusable: exit 1 before any work ---------------------------------------------
        bad = L.write_conf(dconf, os.path.join(work, "nostore.conf"), store={"path": os.path.join(work, "no",
                                                                                                "such", "x.db")})
        rc, out, err, wall = L.run_once(bad)
        ck(rc == 1 and "x.db" in err, "--once exits 1 when the state DB cannot be opened (got %d)" % rc)
        ck(L.scanner_pids() == [], "no scanner process left after the failed runs")


if __name__ == "__main__":
    sys.exit(checks.run())
