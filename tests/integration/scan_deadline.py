#!/usr/bin/env python3
# scan_deadline.py — host deadlines and worker loss (dpfleet-scanner(8), "Contact and retries"), on a generated
# 40-host lab with 4 black-hole hosts (they accept TCP and never answer) and 2 slow hosts (1.5 s per exchange).
#
# 1. Healthy time, `[smb] timeout = 2` (deadline 2 s x 12 steps): the lab with the black holes and the slow
#    hosts mapped to a dead address (refused at once), scanned twice (the first warms the lab: samba-dcerpcd
#    starts on first contact); the second run's time is H.
# 2. Same timeout, black holes at their real address: the scan must end within H + one host deadline + 10 %
#    (the acceptance bound); the black holes get `unreachable` (`smb_timeout` when rpc.c's bound on the SMB
#    phase fires first — they accept TCP — and is retried within the deadline, else `deadline`), every other
#    host the state the lab implies; no scanner process or client SMB connection is left afterwards.
# 3. The parent's deadline itself, and worker loss: `[smb] timeout = 30` (so no client-side bound fires) and
#    `[scan] host_deadline = 8`; the black holes and slow host #2 must be cut at 8 s (`deadline`, workers
#    replaced); the worker holding slow host #1 is SIGKILLed mid-scan: only that host becomes
#    `unreachable`/`worker_died`; every other verdict is unchanged.
# Every host's Remote Registry runs plainly here (the generator's trigger_start, disabled and rpc_delay_ms
# hosts are scan_contact.py's subject: late binds would depend on this test's own timeouts).
# The lab is always taken down (finally); the generated scenario lives in the test's temp dir.

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

BASE = "127.81.0.0"
DEAD = "127.81.255.254"         # nothing listens there: refused at once
TIMEOUT = 2
STEPS = 12                      # scanner/worker.h WORKER_HOST_STEPS
DEADLINE_MS = TIMEOUT * STEPS * 1000
HOST_DEADLINE = 8               # part 3
SLOW_MS = 1500
ck = L.check                    # a counted check (tests/lib/checks.py)


def scenario(path):
    r = subprocess.run([sys.executable, L.LAB, "generate", "--sites", "2", "--hosts", "40", "--seed", "6",
                        "--broken", "0.2"], capture_output=True, text=True, timeout=60, check=True)
    sc = json.loads(r.stdout)
    sc["hosts"] = [h for h in sc["hosts"] if not h.get("cloud")]    # site-DB rows only: nothing to scan here
    for h in sc["hosts"]:
        if h["network"] == "slow":
            h["network"] = "ok"
            h.pop("slow_ms", None)
        h.pop("remote_registry", None)
        h.pop("rpc_delay_ms", None)
        h.pop("remote_registry_idle_s", None)
    holes = [h for h in sc["hosts"] if h["network"] == "blackhole"]
    slow = []
    for h in sorted((h for h in sc["hosts"] if h["network"] == "ok" and h["registry"] == "ok"),
                    key=lambda h: h["fqdn"]):
        if len(holes) < 4:
            h["network"] = "blackhole"
            holes.append(h)
        elif len(slow) < 2:
            h["network"] = "slow"
            h["slow_ms"] = SLOW_MS
            slow.append(h)
    with open(path, "w") as f:
        json.dump(sc, f, indent=1)
    return sorted(h["fqdn"] for h in holes), sorted(h["fqdn"] for h in slow)


def check_verdicts(info, obs, label, override=None):
    override = override or {}
    ck(set(obs) == set(info["expect"]), "%s: one observation per host" % label)
    for fq in info["expect"]:
        st, reasons = override.get(fq) or L.expected_verdict(info, fq)
        o = obs.get(fq)
        ck(o is not None and o["state"] == st and o["reason"] in reasons, "%s: %s %s/%s, expected %s/%s"
           % (label, fq, o["state"] if o else None, o["reason"] if o else None, st, reasons))


def leftovers(label):
    time.sleep(0.3)
    ck(L.scanner_pids() == [], "%s: no scanner process left (%s)" % (label, L.scanner_pids()))
    conns = L.client_connections("127.81.")
    ck(conns == [], "%s: no client SMB connection left (%s)" % (label, conns))


@test('host deadlines and worker loss on a 40-host lab with black holes and slow hosts')
def main():
    tmp = tempfile.mkdtemp(prefix="dpf-scan-deadline-sc-")
    path = os.path.join(tmp, "scenario.json")
    try:
        holes, slow = scenario(path)
        print("black holes: %s; slow: %s" % (", ".join(holes), ", ".join(slow)))
        with L.Lab(path, BASE, "scan-deadline") as lab:
            info = lab.info
            work = os.path.dirname(lab.dir)
            ck(sum(1 for e in info["expect"].values() if e["network"] == "blackhole") == 4, "lab has 4 black holes")
            ck(sum(1 for e in info["expect"].values() if e["network"] == "slow") == 2, "lab has 2 slow hosts")
            dead_map = L.write_host_map(os.path.join(work, "dead.map"), info["hosts"],
                                        {fq: DEAD for fq in holes + slow})
            holes_map = L.write_host_map(os.path.join(work, "holes.map"), info["hosts"], {fq: DEAD for fq in slow})
            healthy = L.write_conf(lab.conf, os.path.join(work, "healthy.conf"), smb={"timeout": TIMEOUT,
                                   "host_map": dead_map})
            real = L.write_conf(lab.conf, os.path.join(work, "real.conf"), smb={"timeout": TIMEOUT,
                                "host_map": holes_map})
            cut = L.write_conf(lab.conf, os.path.join(work, "cut.conf"), smb={"timeout": 30},
                               scan={"host_deadline": HOST_DEADLINE})
            dead = {fq: ("unreachable", {"refused"}) for fq in holes + slow}

            # 1. healthy time (warm-up run first)
            for k in ("warm-up", "healthy"):
                rc, out, err, wall = L.run_once(healthy)
                scan = L.last_scan(healthy)
                print("%s scan: exit %d, %d ms in the scan, %.2f s wall" % (k, rc, scan["duration_ms"], wall))
                ck(rc == 0, "%s run exits 0: %s" % (k, err[-800:]))
            obs, _ = L.observations(healthy, scan["id"])
            check_verdicts(info, obs, "healthy", dead)
            print("slowest hosts: " + ", ".join("%s %d ms" % (fq, o["scan_ms"]) for fq, o in
                                                 sorted(obs.items(), key=lambda x: -x[1]["scan_ms"])[:4]))
            h_ms, h_wall = scan["duration_ms"], wall

            # 2. with the black holes
            rc, out, err, wall = L.run_once(real)
            scan = L.last_scan(real)
            bound = (h_ms + DEADLINE_MS) * 1.1
            print("black-hole scan: %d ms in the scan (bound %.0f = (%d + %d) x 1.1), %.2f s wall (healthy %.2f s)"
                  % (scan["duration_ms"], bound, h_ms, DEADLINE_MS, wall, h_wall))
            ck(rc == 0, "black-hole run exits 0: %s" % err[-800:])
            ck(scan["duration_ms"] <= bound, "scan time %d ms within healthy + deadline + 10 %% (%.0f ms)"
               % (scan["duration_ms"], bound))
            ck(wall * 1000 <= (h_wall * 1000 + DEADLINE_MS) * 1.1, "process wall %.2f s within (%.2f + %.0f) x 1.1"
               % (wall, h_wall, DEADLINE_MS / 1000))
            obs, _ = L.observations(real, scan["id"])
            ov = {fq: ("unreachable", {"refused"}) for fq in slow}
            ov.update({fq: ("unreachable", {"smb_timeout", "deadline"}) for fq in holes})
            check_verdicts(info, obs, "black holes", ov)
            for fq in holes:
                ck(obs[fq]["scan_ms"] < DEADLINE_MS + 2000, "%s ended by its deadline at the latest (%d ms)"
                   % (fq, obs[fq]["scan_ms"]))
            leftovers("black-hole scan")

            # 3. the parent's deadline, and SIGKILL of the worker holding slow host #1
            victim = slow[0]
            addr = info["hosts"][victim]
            p = subprocess.Popen([L.SCANNER, "-f", cut, "-v", "--once"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            killed = None
            try:
                # Look for as long as the run lasts: how soon a worker reaches the host depends on the load.
                while killed is None and p.poll() is None:
                    kids = set(L.children(p.pid))
                    for pid in L.conn_pids(addr):
                        if pid in kids:
                            os.kill(pid, signal.SIGKILL)
                            killed = pid
                            break
                    time.sleep(0.05)
                out, err = p.communicate(timeout=300)
            finally:
                L.kill_quietly(p)
            ck(killed is not None, "found and killed the worker connected to %s (%s)" % (victim, addr))
            ck(p.returncode == 0, "run with a killed worker exits 0: %s" % err[-800:])
            scan = L.last_scan(cut)
            obs, _ = L.observations(cut, scan["id"])
            ov = {fq: ("unreachable", {"deadline"}) for fq in holes + slow[1:]}
            ov[victim] = ("unreachable", {"worker_died"})
            check_verdicts(info, obs, "killed worker", ov)
            for fq in holes + slow[1:]:
                ck(HOST_DEADLINE * 1000 <= obs[fq]["scan_ms"] < HOST_DEADLINE * 1000 + 1500,
                   "%s cut at its %d s deadline (%d ms)" % (fq, HOST_DEADLINE, obs[fq]["scan_ms"]))
            ck(err.count("overran its deadline") == len(holes) + len(slow) - 1,
               "%d workers replaced after their deadline" % (len(holes) + len(slow) - 1))
            ck(obs[victim]["scan_ms"] < HOST_DEADLINE * 1000, "the killed worker's host reported at once")
            print("killed worker %s on %s: scan %d ms" % (killed, victim, scan["duration_ms"]))
            leftovers("killed-worker scan")
    finally:
        os.unlink(path) if os.path.exists(path) else None
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(checks.run())
