#!/usr/bin/env python3
# scan_wide.py — `[smb] concurrency = 256` (dpfleet.conf(5), its maximum): the scanner daemon starts 256 workers,
# scans a small lab correctly with them, and stops every one (dpfleet-scanner(8), "Contact and retries";
# scanner/sched.c's pool).  On a 4-host lab (base 127.95.0.0): the daemon's first scan must end with every
# host's verdict the lab implies (scan_lib.expected_verdict, from the lab's own facts); right after it the
# daemon's children must be exactly 256 live dpfleet-scanner workers (the pool keeps them between runs), each
# with its own socket to the parent; SIGTERM must end the daemon with status 0 within 60 s and leave no worker
# and no client SMB connection behind.  Memory is printed (private pages of the parent and the workers, and the
# shared pages counted once, as tests/bench/scan-bench counts them), never asserted: figures belong to benchmarks.
# The lab and the daemon are always stopped (finally / the Lab context).

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

BASE = "127.95.0.0"
PREFIX = "127.95."
WORKERS = 256
ck = L.check

VALUE = "MIIFwideLabIssuing;CN=Lab Issuing CA 01, DC=lab, DC=test;2C6F0A51B3E4D9871F22"
SCENARIO = {
    "comment": "scan_wide: four hosts, one site; the point is the worker count, not the cases",
    "sites": [{"code": "PS1", "name": "Primary site 1", "type": "primary", "parent": None,
               "server": "cm-ps1.lab.test", "issuing_certificate_list": VALUE,
               "certmgr_denied": ["dp02.ps1.lab.test"]}],
    "hosts": [
        {"fqdn": "dp01.ps1.lab.test", "site": "PS1", "roles": ["dp"], "pxe": True, "registry": "ok",
         "smspxe_log": "clean"},
        {"fqdn": "dp02.ps1.lab.test", "site": "PS1", "roles": ["dp"], "pxe": True, "registry": "missing",
         "smspxe_log": "cert_errors"},
        {"fqdn": "dp03.ps1.lab.test", "site": "PS1", "roles": ["dp"], "registry": "mismatch"},
        {"fqdn": "mp01.ps1.lab.test", "site": "PS1", "roles": ["mp"], "registry": "ok"},
    ],
}


def private_kib(pid):
    """Private pages (Private_Clean + Private_Dirty of smaps_rollup), KiB; 0 when the process is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            return sum(int(ln.split()[1]) for ln in f if ln.startswith("Private_"))
    except OSError:
        return 0


def wait_first_scan(log_path, proc, timeout=600):
    """The daemon's log once its first scan ended ('scan N (...) done|failed'); None on exit or timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(log_path, errors="replace") as f:
            text = f.read()
        if re.search(r"scan \d+ \(\w+\) (done|failed)", text):
            return text
        if proc.poll() is not None:
            return None
        time.sleep(0.5)
    return None


def socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:"):
                out.add(t)
    except OSError:
        pass
    return out


@test("concurrency 256: 256 workers start, scan a small lab correctly, and all stop")
def main():
    with L.Lab(SCENARIO, BASE, "wide") as lab:
        conf = L.write_conf(lab.conf, os.path.join(lab.tmp, "wide.conf"), smb={"concurrency": WORKERS},
                            scan={"interval": 86400})
        log_path = os.path.join(lab.tmp, "scanner.log")
        with open(log_path, "w") as log:
            proc = lab.spawn([L.SCANNER, "-d", "-v", "-f", conf], stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        text = wait_first_scan(log_path, proc)
        checks.require(text is not None, "the daemon's first scan ended (log: %s)" % log_path)
        print("first scan ended %.1f s after start" % (time.monotonic() - t0), flush=True)

        kids = L.children(proc.pid)
        scanner_kids = [k for k in kids if k in set(L.scanner_pids())]
        ck(len(kids) == WORKERS and len(scanner_kids) == WORKERS,
           "the daemon holds %d live workers (children %d, of them dpfleet-scanner %d)" %
           (WORKERS, len(kids), len(scanner_kids)))
        ck(all(len(socket_inodes(k)) >= 1 for k in scanner_kids), "every worker holds its socket to the parent")
        ck(len(socket_inodes(proc.pid)) >= WORKERS, "the parent holds a socket per worker")

        scan = L.last_scan(conf)
        obs, _ = L.observations(conf, scan["id"])
        ck(scan["state"] == "done", "the scan is done (%s)" % scan["state"])
        for fq in (h["fqdn"] for h in SCENARIO["hosts"]):
            state, reasons = L.expected_verdict(lab.info, fq)
            got = obs.get(fq)
            ck(got is not None and got["state"] == state and (got["reason"] or None) in reasons,
               "%s: %s (got %s %s)" % (fq, state, got["state"] if got else None, got["reason"] if got else ""))
        ck(obs.get("dp02.ps1.lab.test") is not None and obs["dp02.ps1.lab.test"]["certmgr_denied"] == 1,
           "dp02's CertMgr denial is on its observation")
        ck((obs.get("dp02.ps1.lab.test") or {"pxe_cert_errors": 0})["pxe_cert_errors"] > 0,
           "dp02's SMSPXE.log errors were read")

        par = private_kib(proc.pid)
        wk = sorted(private_kib(k) for k in scanner_kids)
        if wk:
            print("memory: parent private %d KiB; workers private min/median/max %d/%d/%d KiB, sum %d KiB" %
                  (par, wk[0], wk[len(wk) // 2], wk[-1], sum(wk)), flush=True)

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            rc = None
        ck(rc == 0, "SIGTERM ends the daemon with status 0 within 60 s (%s)" % rc)
        time.sleep(0.5)
        left = [k for k in scanner_kids if os.path.exists("/proc/%d" % k)]
        ck(not left, "no worker is left after the daemon ended (%d left)" % len(left))
        conns = L.client_connections(PREFIX)
        ck(not conns, "no client SMB connection to the lab is left (%s)" % conns[:3])


if __name__ == "__main__":
    sys.exit(checks.run())
