#!/usr/bin/env python3
# scan_logs.py — every ConfigMgr log where Windows writes it (doc/FIELD-NOTES.md §6, dpfleet-scanner(8) LOG FILES),
# read by `dpfleet-scanner --once` on the lab of tests/lab/scenarios/logs.json at 127.91.0.0:
#
#   a DP co-hosted with a management point (SMSPXE.log in C$\SMS_CCM\Logs, cohost mp), the same with a scan
#     account that is not local admin (C$ denied: the log is not read, the scanner says access_denied),
#   a DP on the site server (SMS_PS1\Logs\SMSPXE.log, cohost site_server, the expired-certificate log),
#   history copies (history_logs 3: the current SMSPXE.log is clean, the KB 4469580 errors are in the newest
#     SMSPXE-<yyyymmdd>-<hhmmss>.log),
#   a site whose denials are only in the rolled CertMgr.lo_ (certmgr_rolled),
#   an IPv6-only DP (ipv6: its own fd00:7f5b::/64 address on lo; the registry and the log are both read),
#   a plain DP for comparison.
# Each host's verdict, PXE counts and evidence files (what the host page shows as the path) are compared with
# lab.json's expect, which dpfleet-lab derives from the files it wrote, never from the scanner.  Also: the
# ::1 fallback lock of the lab's IPv6 addresses refuses a second lab with a clear error (ipv6.py, without ip).
# The lab is always taken down (scan_lib.Lab's finally), its IPv6 addresses with it.
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan_lib import Lab, SRC, check, expected_verdict, last_scan, observations, run_once  # noqa: E402
import checks  # noqa: E402  (tests/lib, on sys.path through scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from dpfleet_lab import ipv6  # noqa: E402

BASE = "127.91.0.0"
SCENARIO = os.path.join(SRC, "tests", "lab", "scenarios", "logs.json")


def pxe_files(ev):
    return sorted({r["file"] for r in ev if r["source"] == "smspxe"})


def check_host(lab, fqdn, o, ev, stderr):
    e = lab.info["expect"][fqdn]
    state, reasons = expected_verdict(lab.info, fqdn)
    check(o is not None and o["state"] == state, "%s: state %s (got %s)" % (fqdn, state, o and o["state"]))
    if o is None:
        return
    files = pxe_files(ev)
    if not e["pxe_log_readable"]:
        check(o["pxe_cert_errors"] == 0 and not files, "%s: %s unreadable: no PXE counts, no SMSPXE evidence"
              % (fqdn, e["pxe_log_path"]))
        check("%s: SMSPXE.log: access_denied" % fqdn in stderr,
              "%s: the scanner says the log was denied (C$ needs local admin)" % fqdn)
        return
    want = e["pxe_cert_errors"]
    check(o["pxe_cert_errors"] == want, "%s (%s): %d cert errors (got %d)" % (fqdn, e["pxe_placement"], want,
                                                                             o["pxe_cert_errors"]))
    check(bool(o["pxe_expired_cert"]) == e["pxe_expired_cert"], "%s: expired cert %s" % (fqdn, e["pxe_expired_cert"]))
    if want or e["pxe_expired_cert"]:
        check(o["pxe_last_error"] == e["pxe_last_error"] or not want,
              "%s: newest cert error %s (got %s)" % (fqdn, e["pxe_last_error"], o["pxe_last_error"]))
        if e["history_logs"]:
            check(files == [e["pxe_evidence_file"]], "%s: every evidence line names the history copy %s (got %s)"
                  % (fqdn, e["pxe_evidence_file"], files))
        else:
            check(e["pxe_log_path"] in files and all(f.rsplit("/", 1)[0] == e["pxe_log_path"].rsplit("/", 1)[0]
                                                     for f in files),
                  "%s: evidence from %s (and its .lo_), the placement Windows uses (got %s)"
                  % (fqdn, e["pxe_log_path"], files))
    else:
        check(not files, "%s: no SMSPXE evidence (clean log at %s)" % (fqdn, e["pxe_log_path"]))


def check_certmgr(lab, obs, ev):
    for code, s in lab.info["expect_sites"].items():
        for fqdn in s["certmgr_denied"]:
            cm = [r for r in ev.get(fqdn, []) if r["source"] == "certmgr"]
            check(obs[fqdn]["certmgr_denied"] and cm, "%s: denied by site %s's CertMgr" % (fqdn, code))
            check(cm and all(r["file"] == s["certmgr_log"] for r in cm),
                  "%s: the denial's evidence names %s (got %s)" % (fqdn, s["certmgr_log"],
                                                                  sorted({r["file"] for r in cm})))


def check_lock():
    """The ::1 fallback: a second holder is refused with a clear error; a stale lock (its DIR gone) is taken."""
    tmp = tempfile.mkdtemp(prefix="dpf-v6lock-")
    saved = ipv6.LOCK_PATH
    ipv6.LOCK_PATH = os.path.join(tmp, "lock")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        os.makedirs(a)
        os.makedirs(b)
        ipv6._take_lock(a)
        try:
            ipv6._take_lock(b)
            check(False, "IPv6 ::1 lock: a second lab is refused")
        except ipv6.Ipv6Error as e:
            check("::1 is held by the lab in %s" % a in str(e), "IPv6 ::1 lock: a second lab is refused: %s" % e)
        os.rmdir(a)
        ipv6._take_lock(b)
        check(open(ipv6.LOCK_PATH).read().strip() == b, "IPv6 ::1 lock: a stale lock (its lab gone) is taken over")
    finally:
        ipv6.LOCK_PATH = saved
        subprocess.run(["rm", "-rf", tmp])


@test("scan_logs: co-hosted DPs, history copies, CertMgr.lo_ and an IPv6 DP read where Windows writes them")
def main():
    check_lock()
    with Lab(SCENARIO, BASE, "logs") as lab:
        v6 = [f for f, e in lab.info["expect"].items() if e["ipv6"]]
        check(len(v6) == 1 and ":" in lab.info["hosts"][v6[0]], "the IPv6 host is mapped to an IPv6 address (%s)"
              % [lab.info["hosts"].get(f) for f in v6])
        rc, out, err, wall = run_once(lab.conf)
        print(out[-1500:], flush=True)
        check(rc == 0, "--once exits 0 (got %d; %s)" % (rc, err[-500:]))
        scan = last_scan(lab.conf)
        obs, ev = observations(lab.conf, scan["id"])
        for fqdn in sorted(lab.info["expect"]):
            check_host(lab, fqdn, obs.get(fqdn), ev.get(fqdn, []), err)
        check_certmgr(lab, obs, ev)
        print("figure: one scan of %d hosts in %.1f s" % (len(obs), wall), flush=True)
    check(not any(a in subprocess.run(["ip", "-6", "addr", "show", "dev", "lo"], capture_output=True,
                                      text=True).stdout for a in ("fd00:7f5b:",)),
          "the lab's IPv6 addresses are gone after down")


if __name__ == "__main__":
    sys.exit(checks.run())
