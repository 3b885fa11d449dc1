#!/usr/bin/env python3
# scan_demo_fleet.py — the fleet `tools/dpfleet demo` shows (tools/demo.py generate_args: 60 hosts, 3 sites, its
# seed), brought up and scanned once on a quiet machine and once with a busy loop pinned on one core for the
# whole run (lab up, scan, checks), as a shared build machine is.  Both runs must give every host exactly the
# verdict the lab's lab.json `expect` implies (scan_lib.expected_verdict): the unreachable hosts are exactly
# the ones the scenario makes so (network down or black hole, Remote Registry disabled, binds answered after
# the scanner's timeout), with the reason the lab names; a trigger-started Remote Registry is read on a later
# attempt (`attempts` >= the lab's min_attempts); a healthy host that answered on first contact took one
# attempt.  The lab and the busy loop are always stopped (scan_lib.Lab's finally).

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, "tools"))
import demo  # noqa: E402

BASE = "127.85.0.0"
ck = L.check


def scenario(path):
    r = subprocess.run([sys.executable, L.LAB] + demo.generate_args(), capture_output=True, text=True,
                       timeout=60, check=True)
    with open(path, "w") as f:
        f.write(r.stdout)
    return json.loads(r.stdout)


def check_run(lab, label):
    rc, out, err, wall = L.run_once(lab.conf)
    ck(rc == 0, "%s: scanner --once exits 0: %s" % (label, err[-800:]))
    scan = L.last_scan(lab.conf)
    obs, _ = L.observations(lab.conf, scan["id"])
    info = lab.info
    ck(set(obs) == set(info["expect"]), "%s: one observation per host (%d of %d)"
       % (label, len(obs), len(info["expect"])))
    want_unreach = set()
    for fq, e in sorted(info["expect"].items()):
        st, reasons = L.expected_verdict(info, fq)
        if st == "unreachable":
            want_unreach.add(fq)
        o = obs.get(fq)
        got = (o["state"], o["reason"], o["attempts"]) if o is not None else None
        ck(o is not None and o["state"] == st and o["reason"] in reasons,
           "%s: %s read as %s, the lab expects %s/%s" % (label, fq, got, st, sorted(map(str, reasons))))
        if o is not None and st != "unreachable":
            ck(o["attempts"] >= e.get("min_attempts", 1), "%s: %s took %d attempt(s), at least %d expected"
               % (label, fq, o["attempts"], e.get("min_attempts", 1)))
            if e.get("remote_registry", "running") == "running" and e.get("network") == "ok":
                ck(o["attempts"] == 1, "%s: %s (service running) read on the first attempt, took %d"
                   % (label, fq, o["attempts"]))
    got_unreach = {fq for fq, o in obs.items() if o["state"] == "unreachable"}
    ck(got_unreach == want_unreach, "%s: unreachable hosts are exactly the expected %d (got %d; extra %s, "
       "missing %s)" % (label, len(want_unreach), len(got_unreach), sorted(got_unreach - want_unreach),
                        sorted(want_unreach - got_unreach)))
    kinds = {}
    for e in info["expect"].values():
        k = e.get("remote_registry", "running")
        kinds[k] = kinds.get(k, 0) + 1
    print("%s: %d hosts (%s), %d unreachable as expected, scan %.1f s" % (
        label, len(obs), ", ".join("%s %d" % kv for kv in sorted(kinds.items())), len(got_unreach), wall),
        flush=True)
    return kinds


def one_run(label, busy_core):
    """Generate the demo fleet, bring it up and scan it; with busy_core, `taskset -c 1 sh -c 'while :; do :;
    done'` runs from before `up` until after the checks.  Returns the Remote Registry kinds counted."""
    tmp = tempfile.mkdtemp(prefix="dpf-demo-fleet-sc-")
    path = os.path.join(tmp, "scenario.json")
    busy = None
    try:
        scenario(path)
        if busy_core:
            busy = subprocess.Popen(["taskset", "-c", "1", "sh", "-c", "while :; do :; done"])
        with L.Lab(path, BASE, "demo-fleet") as lab:
            return check_run(lab, label)
    finally:
        L.kill_quietly(busy)
        os.unlink(path) if os.path.exists(path) else None
        os.rmdir(tmp)


@test('the demo fleet scanned quiet and with a busy core: every verdict as lab.json implies')
def main():
    kinds = one_run("quiet", False)
    ck(kinds.get("trigger_start", 0) > 0 and kinds.get("disabled", 0) > 0,
       "the demo fleet has trigger-started and disabled Remote Registry hosts (%s)" % kinds)
    one_run("busy core 1", True)


if __name__ == "__main__":
    sys.exit(checks.run())
