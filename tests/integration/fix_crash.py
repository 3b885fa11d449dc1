#!/usr/bin/env python3
# fix_crash.py — fix jobs run exactly once (dpfleet-scanner(8), "Jobs and crashes"): SIGKILL of the scanner
# during a 30-host fix, then restart.
#
# Lab: `dpfleet-lab generate --sites 2 --hosts 30 --seed 4469580 --broken 1.0`, then every host made writable
# and affected (missing / empty / mismatch in turn, scan account admin) and slow (every packet delayed
# SLOW_MS by the lab's proxy) so a run lasts long enough for the kill to land in the middle of it.
# The kill is not timed: the test watches the state DB and SIGKILLs the scanner once some jobs are done and at
# least one job has its backup committed but is not finished (the write may or may not have reached the host).
# Then the daemon is started (it finishes jobs left running before anything else) and stopped with SIGTERM
# when no job is queued or running.
# Checks: every job ends exactly once (done/written, one job.end audit row each, job.start rows = attempts, at
# least one job resumed), every backup is the host's exact previous value (registry.tdb export taken before
# the fix) and every before_sha256 the hash the scan before the fix saw (resumed jobs included), at most
# [fix] concurrency workers at once, every host holds exactly the site's value (net rpc registry getvalue) and is rescanned healthy,
# and the killed scanner left no worker behind.
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fix_lib import (LAB, SCANNER, Lab, check, check_audit, children, db, last_state,  # noqa: E402
                     scanner, start_daemon, stop_daemon, wait_gone)
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402
import json  # noqa: E402
import pwd  # noqa: E402

BASE = "127.83.0.0"
SLOW_MS = 60
FIX_CONCURRENCY = 3     # [fix] concurrency, below both the default (4) and [smb] concurrency (16)
WHO = "cli:" + pwd.getpwuid(os.getuid()).pw_name


def scenario():
    r = subprocess.run([sys.executable, LAB, "generate", "--sites", "2", "--hosts", "30", "--seed", "4469580",
                        "--broken", "1.0"], capture_output=True, text=True, timeout=60, check=True)
    sc = json.loads(r.stdout)
    # The 30 DPs and MPs only: not generate's cloud rows (never fixed) nor the site server it makes a DP (a
    # site server must answer at full speed, and this test slows every host).
    servers = {s["server"] for s in sc["sites"]}
    sc["hosts"] = [h for h in sc["hosts"] if "cloud" not in h and h["fqdn"] not in servers]
    kinds = ["missing", "empty", "mismatch"]
    for k, h in enumerate(sc["hosts"]):
        h["registry"] = kinds[k % 3]
        h["network"] = "slow"
        h["slow_ms"] = SLOW_MS
        h["scan_account_admin"] = True
        for k in ("remote_registry", "rpc_delay_ms", "remote_registry_idle_s"):   # every host's Remote
            h.pop(k, None)                                                        # Registry just runs here
        if h["smspxe_log"] != "none":
            h["smspxe_log"] = "cert_errors" if h["registry"] in ("missing", "empty") else "clean"
    for s in sc["sites"]:
        s.pop("extra_values", None)
        if s["issuing_certificate_list"] is None:
            s["issuing_certificate_list"] = "MIIBlabCrashTest;CN=Lab Issuing CA 09, DC=lab, DC=test;AB12"
    return sc


def jobs(lab):
    with db(lab) as c:
        return c.execute("SELECT * FROM jobs ORDER BY id").fetchall()


@test('SIGKILL during a 30-host fix, restart: every job exactly once, exact backups')
def main():
    with Lab(scenario(), BASE, "fix-crash") as lab:
        hosts = sorted(lab.info["expect"])
        check(len(hosts) == 30 and all(lab.writable_affected(h) for h in hosts), "30 writable affected hosts")
        with open(lab.conf, "a") as f:
            f.write("\n[fix]\nconcurrency = %d\n" % FIX_CONCURRENCY)
        r = scanner(lab, "--once")
        check(r.returncode == 0, "--once exit 0")
        before = {h: lab.reg_export(h) for h in hosts}
        with db(lab) as c:   # what the scan saw before the fix: each job's before_sha256 must say the same
            seen = {r[0]: r[1] for r in c.execute("SELECT h.fqdn, o.value_sha256 FROM hosts h JOIN observations o "
                                                  "ON o.id = h.last_obs_id")}

        # -- run and kill mid-run -----------------------------------------------------------------------------
        out = open(os.path.join(lab.tmp, "fix1.out"), "w")
        t0 = time.monotonic()
        p = lab.spawn([SCANNER, "-f", lab.conf, "fix", "--all-affected"], stdout=out, stderr=subprocess.STDOUT)
        killed = False
        mid_ids = []
        workers = []
        most = 0    # the most worker processes seen at once: [fix] concurrency bounds the writes in flight
        while p.poll() is None and time.monotonic() - t0 < 300:
            most = max(most, len(children(p.pid)))
            with db(lab) as c:
                done = c.execute("SELECT count(*) FROM jobs WHERE state IN ('done', 'failed')").fetchone()[0]
                mid = c.execute("SELECT count(*) FROM jobs WHERE state = 'running' AND backup IS NOT NULL"
                                ).fetchone()[0]
            if done >= 3 and mid >= 1:
                with db(lab) as c:
                    mid_ids = [r[0] for r in c.execute("SELECT id FROM jobs WHERE state = 'running' AND "
                                                       "backup IS NOT NULL")]
                workers = children(p.pid)
                p.send_signal(signal.SIGKILL)
                p.wait()
                killed = True
                break
            time.sleep(0.02)
        out.close()
        print("killed after %.1f s: %s" % (time.monotonic() - t0, killed), flush=True)
        check(killed, "the scanner was killed mid-run (some jobs done, one with its backup taken and unfinished)")
        check(len(workers) >= 1 and wait_gone(workers), "the killed scanner's workers died with it (%s)" % workers)
        check(1 <= most <= FIX_CONCURRENCY, "at most [fix] concurrency = %d workers at once (%d)" % (
            FIX_CONCURRENCY, most))
        js = jobs(lab)
        check(len(js) == 30, "30 jobs queued (%d)" % len(js))
        unfinished = [j["id"] for j in js if j["state"] in ("queued", "running")]
        check(len(unfinished) > 0, "jobs were left unfinished by the kill: %s" % unfinished)

        # -- restart: the daemon finishes them ----------------------------------------------------------------
        d, dout = start_daemon(lab)     # no scheduled scan: jobs only
        t1 = time.monotonic()
        while time.monotonic() - t1 < 300 and d.poll() is None:
            with db(lab) as c:
                left = c.execute("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()[0]
                # the rescan of the written hosts follows the jobs: wait for it too
                rescans = c.execute("SELECT count(*) FROM scans WHERE trigger = 'fix' AND state = 'done' AND "
                                    "hosts > 0").fetchone()[0]
                running = c.execute("SELECT count(*) FROM scans WHERE state = 'running'").fetchone()[0]
            if left == 0 and rescans >= 1 and running == 0:
                break
            time.sleep(0.2)
        rc = stop_daemon(d, dout)
        with open(os.path.join(lab.tmp, "daemon.out")) as f:
            print("daemon:\n" + f.read()[-4000:], flush=True)
        check(rc == 0, "daemon stopped cleanly on SIGTERM (%s)" % rc)

        # -- exactly once ---------------------------------------------------------------------------------
        js = jobs(lab)
        by_host = {}
        for j in js:
            by_host.setdefault(j["host"], []).append(j)
        check(sorted(by_host) == hosts and all(len(v) == 1 for v in by_host.values()), "one job per host")
        for j in js:
            h = j["host"]
            check(j["state"] == "done" and j["outcome"] == "written",
                  "job %d %s: done/written (%s/%s %s)" % (j["id"], h, j["state"], j["outcome"], j["error"]))
            b = before[h]
            want = ("absent", None) if b == "absent" else (b[1], b[0])
            check((j["backup"], j["backup_type"]) == want, "job %d %s: backup intact (%s/%s, want %s)" % (
                j["id"], h, (j["backup"] or "")[:24], j["backup_type"], str(want)[:40]))
            check(j["before_sha256"] == seen[h], "job %d %s: before_sha256 is what the host held (%s, scan saw %s)"
                  % (j["id"], h, j["before_sha256"], seen[h]))
            t, elems = lab.net_getvalue(h)
            check(t == "REG_MULTI_SZ" and elems == lab.site_value(h), "%s: holds exactly the site's value" % h)
            check(last_state(lab, h)[0] == "healthy", "%s: verdict healthy after the fix (%s)" % (
                h, last_state(lab, h)))
        resumed = [j["id"] for j in js if j["attempts"] > 1]
        check(len(resumed) >= 1, "at least one job was resumed after the kill: %s" % resumed)
        check(all(j["attempts"] <= 2 for j in js), "no job took more than two attempts")
        check(mid_ids and all(j["attempts"] == 2 for j in js if j["id"] in mid_ids),
              "the jobs killed between backup and finish were resumed (%s)" % mid_ids)
        check_audit(lab, [j["id"] for j in js], WHO)


if __name__ == "__main__":
    sys.exit(checks.run())
