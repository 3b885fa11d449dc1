#!/usr/bin/env python3
# scan_contact.py — first contact as Windows gives it: one lab host per Remote Registry state, scanned with
# `[smb] timeout = 4`, `retries = 2`, `retry_backoff = 1`, four workers.
#
#   host          lab state                                   must read as
#   dp-run        remote_registry running                     healthy, attempts 1
#   dp-trig-ok    trigger_start (idle stop after IDLE_S)      healthy, attempts >= 2 (first open fails)
#   dp-trig-miss  trigger_start, value missing                missing (its real verdict), attempts >= 2
#   dp-off        disabled                                    unreachable/rpc_unavailable after 1 + retries
#   dp-late-ok    rpc_delay_ms 1500 (under the timeout)       healthy, attempts 1
#   dp-late       rpc_delay_ms 8000 (over it)                 unreachable/rpc_timeout after 1 + retries
#   dp-hole       network blackhole (TCP accepted, silence)   unreachable, one host deadline at most
#   dp-a..dp-d    running                                     healthy, attempts 1, reported before any host
#                                                             that waits on a stall or a backoff
# Then a second scan at once (the trigger-started services now run: attempts 1), and a third after the
# services' idle stop (the first open fails again: attempts >= 2).  The lab is always stopped (finally).

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

BASE = "127.86.0.0"
TIMEOUT = 4
RETRIES = 2
IDLE_S = 30                     # longer than the first scan, so the second finds the services running
DEAD = "127.86.255.254"         # nothing listens there: refused at once
STEPS = 12                      # scanner/worker.h WORKER_HOST_STEPS: the default host deadline is timeout x 12
ck = L.check

VALUE = "CERT-LAB-P01\\0CERT-LAB-P01-B"


def host(name, **kw):
    h = {"fqdn": "%s.p01.lab.test" % name, "site": "P01", "roles": ["dp"], "pxe": False, "registry": "ok"}
    h.update(kw)
    return h


SCENARIO = {
    "comment": "scan_contact.py: one host per Remote Registry state",
    "sites": [{"code": "P01", "type": "primary", "server": "cm-p01.lab.test", "issuing_certificate_list": VALUE}],
    "hosts": [
        host("dp-run"),
        host("dp-trig-ok", remote_registry="trigger_start", remote_registry_idle_s=IDLE_S),
        host("dp-trig-miss", registry="missing", remote_registry="trigger_start", remote_registry_idle_s=IDLE_S),
        host("dp-off", remote_registry="disabled"),
        host("dp-late-ok", rpc_delay_ms=1500),
        host("dp-late", rpc_delay_ms=8000),
        host("dp-hole", network="blackhole"),
        host("dp-a"), host("dp-b"), host("dp-c"), host("dp-d"),
    ],
}

WANT_FIRST = {
    "dp-run": ("healthy", None, 1, 1),
    "dp-trig-ok": ("healthy", None, 2, 1 + RETRIES),
    "dp-trig-miss": ("missing", None, 2, 1 + RETRIES),
    "dp-off": ("unreachable", "rpc_unavailable", 1 + RETRIES, 1 + RETRIES),
    "dp-late-ok": ("healthy", None, 1, 1),
    "dp-late": ("unreachable", "rpc_timeout", 1 + RETRIES, 1 + RETRIES),
    "dp-a": ("healthy", None, 1, 1), "dp-b": ("healthy", None, 1, 1),
    "dp-c": ("healthy", None, 1, 1), "dp-d": ("healthy", None, 1, 1),
}
HOLE_REASONS = {"smb_timeout", "timeout", "deadline"}


def fq(name):
    return "%s.p01.lab.test" % name


def scan(conf, label):
    rc, out, err, wall = L.run_once(conf)
    ck(rc == 0, "%s: scanner --once exits 0: %s" % (label, err[-800:]))
    s = L.last_scan(conf)
    obs, _ = L.observations(conf, s["id"])
    print("%s: %.1f s; %s" % (label, wall, ", ".join("%s %s/%s x%d" % (
        k.split(".")[0], o["state"], o["reason"], o["attempts"]) for k, o in sorted(obs.items()))), flush=True)
    return obs, err


def check_states(obs, want, label):
    for name, (state, reason, lo, hi) in want.items():
        o = obs.get(fq(name))
        got = (o["state"], o["reason"], o["attempts"]) if o is not None else None
        ck(o is not None and o["state"] == state and o["reason"] == reason and lo <= o["attempts"] <= hi,
           "%s: %s read as %s, expected %s/%s with %d..%d attempts" % (label, name, got, state, reason, lo, hi))


def check_first(obs, err, deadline_ms):
    check_states(obs, WANT_FIRST, "first scan")
    hole = obs.get(fq("dp-hole"))
    ck(hole is not None and hole["state"] == "unreachable" and hole["reason"] in HOLE_REASONS,
       "first scan: dp-hole unreachable with %s (%s)" % (sorted(HOLE_REASONS), hole and hole["reason"]))
    ck(hole is not None and hole["scan_ms"] <= deadline_ms + 2000,
       "dp-hole costs one host deadline at most (%s ms, deadline %d ms)" % (hole and hole["scan_ms"], deadline_ms))
    # Nobody waits for a stalled or retrying host: with four workers, every healthy running host's
    # observation is stored before any of the hosts that stalled or backed off.
    slow_ids = [obs[fq(n)]["id"] for n in ("dp-off", "dp-late", "dp-hole") if fq(n) in obs]
    for n in ("dp-run", "dp-a", "dp-b", "dp-c", "dp-d", "dp-late-ok"):
        o = obs.get(fq(n))
        ck(o is not None and slow_ids and o["id"] < min(slow_ids),
           "%s was reported before every stalled or retrying host" % n)
    ck("attempt" in err, "the scanner's log mentions attempts")


@test('first contact per Remote Registry state: verdicts, attempts, retries, deadlines')
def main():
    with L.Lab(SCENARIO, BASE, "scan-contact") as lab:
        work = os.path.dirname(lab.dir)
        conf = L.write_conf(lab.conf, os.path.join(work, "contact.conf"), smb={
            "timeout": TIMEOUT, "retries": RETRIES, "retry_backoff": 1, "concurrency": 4})
        for n in ("dp-trig-ok", "dp-off", "dp-late"):
            e = lab.info["expect"][fq(n)]
            ck(e.get("remote_registry", "running") in ("trigger_start", "disabled", "running"),
               "lab.json names %s's Remote Registry state" % n)
        obs, err = scan(conf, "first scan")
        check_first(obs, err, TIMEOUT * STEPS * 1000)

        # The later scans map the stalling hosts to a dead address, so they take a second or two.
        quick_map = L.write_host_map(os.path.join(work, "quick.map"), lab.info["hosts"],
                                     {fq(n): DEAD for n in ("dp-off", "dp-late", "dp-hole")})
        quick = L.write_conf(conf, os.path.join(work, "quick.conf"), smb={"host_map": quick_map})
        obs, _ = scan(quick, "second scan")
        check_states(obs, {"dp-trig-ok": ("healthy", None, 1, 1), "dp-trig-miss": ("missing", None, 1, 1)},
                     "second scan (services started by the first)")

        time.sleep(IDLE_S + 5)      # the trigger-started services stop when idle, as Windows' do
        obs, _ = scan(quick, "third scan")
        check_states(obs, {"dp-trig-ok": ("healthy", None, 2, 1 + RETRIES),
                           "dp-trig-miss": ("missing", None, 2, 1 + RETRIES)}, "third scan (after the idle stop)")


if __name__ == "__main__":
    sys.exit(checks.run())
