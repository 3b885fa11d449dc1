#!/usr/bin/env python3
# lab_relay.py — the lab's WAN relay (tests/lab/README.md, "WAN relay"; tests/lab/dpfleet_lab/relay.py) with
# real clients, on a lab at 127.94.0.0 whose hosts and site server sit behind it.
#
#   host        network                             checked
#   dp-wan      wan, rtt 40 ms, PXE log with errors  a bare TCP connect + close = 1 connection, 0 round trips;
#                                                    one SMB2 NEGOTIATE = 1 connection, 1 round trip, its reply
#                                                    no earlier than 2 x rtt after the accept (handshake + trip)
#                                                    by the relay's own clock; scanned healthy with the right
#                                                    PXE counts through the relay
#   dp-jit      wan, rtt 20 ms, jitter 30 ms         an 8 MiB file read by smbclient arrives byte for byte
#                                                    (order kept under jitter, back-pressure past 1 MiB queued)
#   dp-lossN    wan, rtt 40 ms, loss 0.3             a name whose first connection draws a reset and whose next
#                                                    ones do not (relay.loss_draws): the scanner sees the reset
#                                                    as a transient failure, retries and reads it healthy
#   mp-wan      wan, rtt 40 ms                       healthy
#   dp-lan      ok (no relay)                        healthy; the relay never counts it
#   cm-p01      site server, wan rtt 40 (site_servers) its CertMgr.log is read through the relay
# Before the lab: bad wan keys (rtt_ms missing or out of range, loss > 1, relay keys without network wan, a site
# server network other than ok|wan) are refused by `up` with the reason and nothing is left.
# After the scan: every wan host's counters non-zero and consistent (round trips >= 1 per connection that sent
# anything, no connection left active, every counted round trip >= rtt).  `down` leaves no relay and nothing
# listening on 127.94.x.x:445.  Timing is asserted only on the relay's own timestamps, never on the scanner's
# wall time.  The lab is always taken down (scan_lib.Lab, finally), even when a check fails.

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, "tests", "lab"))
from dpfleet_lab.common import listening_on, pid_alive  # noqa: E402
from dpfleet_lab.relay import loss_draws, relay_stats  # noqa: E402

BASE = "127.94.0.0"
RTT = 40
LOSS = 0.3
BIG = 8 << 20
ck = L.check
VALUE = "CERT-LAB-P01\\0CERT-LAB-P01-B"


def loss_host():
    """The first dp-lossN whose first connection is reset and whose next five are not."""
    for n in range(1000):
        fqdn = "dp-loss%d.p01.lab.test" % n
        d = loss_draws(fqdn, 6)
        if d[0] < LOSS and all(x >= LOSS for x in d[1:]):
            return fqdn
    raise RuntimeError("no dp-lossN name fits")


LOSSY = loss_host()


def host(name, **kw):
    h = {"fqdn": name if "." in name else "%s.p01.lab.test" % name, "site": "P01", "roles": ["dp"], "pxe": False,
         "registry": "ok"}
    h.update(kw)
    return h


SCENARIO = {
    "comment": "lab_relay.py: hosts behind the WAN relay",
    "sites": [{"code": "P01", "type": "primary", "server": "cm-p01.lab.test", "issuing_certificate_list": VALUE}],
    "site_servers": {"network": "wan", "rtt_ms": RTT},
    "hosts": [
        host("dp-wan", pxe=True, smspxe_log="cert_errors", network="wan", rtt_ms=RTT),
        host("dp-jit", network="wan", rtt_ms=20, jitter_ms=30),
        host(LOSSY, network="wan", rtt_ms=RTT, loss=LOSS),
        host("mp-wan", roles=["mp"], network="wan", rtt_ms=RTT),
        host("dp-lan"),
    ],
}


def fq(name):
    return "%s.p01.lab.test" % name


def settled(d, timeout=20):
    """The relay's counters once no connection is active (the last EOFs travel rtt/2 each way)."""
    end = time.monotonic() + timeout
    while True:
        st = relay_stats(d)
        if all(v["active"] == 0 for v in st.values()) or time.monotonic() > end:
            return st
        time.sleep(0.1)


def delta(a, b, fqdn, key):
    return b[fqdn][key] - a[fqdn][key]


def smb2_negotiate():
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, b"\0" * 16)
    body = struct.pack("<HHHHI16sQ", 36, 1, 1, 0, 0, b"dpfleet-lab-test", 0) + struct.pack("<H", 0x0202)
    pkt = hdr + body
    return struct.pack(">I", len(pkt)) + pkt


def negotiate(addr):
    """One SMB2 NEGOTIATE on a fresh connection; the reply's protocol id (b'\\xfeSMB' when smbd answered)."""
    with socket.create_connection((addr, 445), timeout=10) as s:
        s.sendall(smb2_negotiate())
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                return None
            head += chunk
        n = struct.unpack(">I", head)[0]
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        return body[:4]


BAD = [   # (what is changed in a copy of SCENARIO's dp-wan host or top level, the refusal's words)
    ({"rtt_ms": None}, "rtt_ms must be an integer"),
    ({"rtt_ms": 20000}, "rtt_ms must be an integer 0..10000"),
    ({"loss": 1.5}, "loss must be a number 0..1"),
    ({"network": "ok"}, "rtt_ms, jitter_ms and loss need network wan"),
    ({"site_servers": {"network": "slow"}}, "site_servers: network must be ok or wan"),
]


def refused(lab_tmp):
    for change, words in BAD:
        sc = json.loads(json.dumps(SCENARIO))
        if "site_servers" in change:
            sc.update(change)
        else:
            h = sc["hosts"][0]
            h.update(change)
            for k in [k for k, v in h.items() if v is None]:
                del h[k]
        path = os.path.join(lab_tmp, "bad.json")
        with open(path, "w") as f:
            json.dump(sc, f)
        d = os.path.join(lab_tmp, "bad")
        r = subprocess.run([sys.executable, L.LAB, "up", path, "--dir", d, "--base-addr", BASE],
                           capture_output=True, text=True, timeout=60)
        ck(r.returncode == 1 and words in r.stderr and not os.path.exists(d),
           "%s refused with %r (exit %d: %s)" % (change, words, r.returncode, r.stderr.strip()[-200:]))


@test("bare connect and one negotiate: connections, round trips and the latency the relay adds", fatal=True)
def counts(lab):
    d, addr = lab.dir, lab.info["hosts"][fq("dp-wan")]
    s0 = settled(d)
    ck(set(s0) == {fq("dp-wan"), fq("dp-jit"), LOSSY, fq("mp-wan"), "cm-p01.lab.test"},
       "the relay serves exactly the wan instances, the site server included: %s" % sorted(s0))
    ck(all(v["round_trips"] == 0 and v["resets"] == 0 for v in s0.values()),
       "nothing counted before any client (up's readiness binds go to the real address)")
    socket.create_connection((addr, 445), timeout=10).close()
    s1 = settled(d)
    checks.eq((delta(s0, s1, fq("dp-wan"), "connections"), delta(s0, s1, fq("dp-wan"), "round_trips")), (1, 0),
                "a bare TCP connect + close: (connections, round trips)")
    ck(negotiate(addr) == b"\xfeSMB", "smbd answers an SMB2 NEGOTIATE through the relay")
    s2 = settled(d)
    checks.eq((delta(s1, s2, fq("dp-wan"), "connections"), delta(s1, s2, fq("dp-wan"), "round_trips")), (1, 1),
                "one SMB2 NEGOTIATE: (connections, round trips)")
    fr, rt = s2[fq("dp-wan")]["first_reply_ms"], s2[fq("dp-wan")]["rt_ms"]
    ck(fr[0] is not None and fr[0] >= 2 * RTT,
       "the negotiate's reply is written %s ms after the accept: >= 2 x rtt (handshake + round trip)" % fr[0])
    ck(rt[0] is not None and rt[0] >= RTT, "a round trip takes >= rtt on the relay's clock (%s ms)" % rt[0])
    others = [k for k in s2 if k != fq("dp-wan")]
    ck(all(s2[k]["connections"] == s0[k]["connections"] for k in others), "no other host counted anything")


@test("jitter keeps order: an 8 MiB file arrives byte for byte")
def big_file(lab):
    i = lab.info
    root = os.path.join(lab.dir, "h", "%03d" % 1)       # instances in scenario order: dp-jit is the second
    data = os.urandom(BIG)
    path = os.path.join(root, "shares", "windows", "big.bin")
    with open(path, "wb") as f:
        f.write(data)
    out = os.path.join(lab.tmp, "big.out")
    auth = os.path.join(lab.tmp, "auth")
    fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("username = %s\npassword = %s\ndomain = %s\n" % (i["smb_user"], i["smb_password"], i["smb_domain"]))
    r = subprocess.run(["smbclient", "//%s/ADMIN$" % i["hosts"][fq("dp-jit")], "-A", auth, "-c",
                        "get big.bin %s" % out],
                       capture_output=True, text=True, timeout=300)
    ck(r.returncode == 0, "smbclient get through the relay: %s" % (r.stderr or r.stdout)[-300:])
    try:
        with open(out, "rb") as f:
            got = f.read()
    except OSError:
        got = b""
    ck(len(got) == BIG and hashlib.sha256(got).digest() == hashlib.sha256(data).digest(),
       "the file read through a jittered relay is the file (%d of %d bytes)" % (len(got), BIG))
    st = settled(lab.dir)
    ck(st[fq("dp-jit")]["bytes_down"] >= BIG, "the relay counted the file's bytes toward the client")


@test("a scan through the relay: verdicts, a reset retried, counters consistent")
def scan(lab):
    d = lab.dir
    conf = L.write_conf(lab.conf, os.path.join(lab.tmp, "relay.conf"),
                        smb={"retries": 2, "retry_backoff": 1, "concurrency": 4})
    s0 = settled(d)
    rc, out, err, _ = L.run_once(conf)
    ck(rc == 0, "scanner --once exits 0: %s" % err[-800:])
    s1 = settled(d)
    obs, _ = L.observations(conf, L.last_scan(conf)["id"])
    for fqdn in lab.info["expect"]:
        o = obs.get(fqdn)
        state, reasons = L.expected_verdict(lab.info, fqdn)
        ck(o is not None and o["state"] == state and o["reason"] in reasons,
           "%s read as %s/%s, expected %s/%s" % (fqdn, o and o["state"], o and o["reason"], state, reasons))
    e = lab.info["expect"][fq("dp-wan")]
    o = obs.get(fq("dp-wan"))
    ck(o is not None and o["pxe_cert_errors"] == e["pxe_cert_errors"] and e["pxe_cert_errors"] > 0,
       "dp-wan's SMSPXE log read through the relay: %s errors, expected %d"
       % (o and o["pxe_cert_errors"], e["pxe_cert_errors"]))
    lossy = obs.get(LOSSY)
    ck(delta(s0, s1, LOSSY, "resets") >= 1, "the relay reset a connection of %s" % LOSSY)
    ck(lossy is not None and lossy["attempts"] >= 2,
       "%s was retried (attempts %s)" % (LOSSY, lossy and lossy["attempts"]))
    retried = [ln for ln in err.splitlines() if LOSSY in ln and "retrying" in ln]
    ck(retried, "the scanner's log says it retries %s after the reset" % LOSSY)
    for fqdn in s1:
        conns, rts = delta(s0, s1, fqdn, "connections"), delta(s0, s1, fqdn, "round_trips")
        ck(conns >= 1 and rts >= conns, "%s: %d connections, %d round trips (>= 1 per connection)" % (fqdn, conns, rts))
        ck(s1[fqdn]["active"] == 0, "%s: no connection left open after the scan" % fqdn)
        ck(delta(s0, s1, fqdn, "bytes_up") > 0 and delta(s0, s1, fqdn, "bytes_down") > 0, "%s: bytes both ways" % fqdn)
        rtt = lab.info["wan"][fqdn]["rtt_ms"]
        ck(s1[fqdn]["rt_ms"][0] is not None and s1[fqdn]["rt_ms"][0] >= rtt,
           "%s: the shortest round trip %s ms >= rtt %d ms" % (fqdn, s1[fqdn]["rt_ms"][0], rtt))
    ck(delta(s0, s1, fq("dp-wan"), "resets") == 0, "no reset on a host without loss")
    print("relay counts of the scan: %s" % ", ".join("%s %d conn %d rt" % (
        k.split(".")[0], delta(s0, s1, k, "connections"), delta(s0, s1, k, "round_trips")) for k in sorted(s1)),
        flush=True)


@test("down stops the relay and frees every address")
def down(lab):
    pid = lab.info["pids"].get("relay")
    ck(pid, "lab.json names the relay's pid")
    r = subprocess.run([sys.executable, L.LAB, "down", "--dir", lab.dir], capture_output=True, text=True, timeout=300)
    ck(r.returncode == 0, "dpfleet-lab down: %s" % r.stderr[-300:])
    ck(pid and not pid_alive(pid), "down stopped the relay (pid %s; a zombie awaiting its reaper counts as "
       "stopped)" % pid)
    bound = sorted(a for a in listening_on(445) if a.startswith("127.94."))
    ck(not bound, "nothing listens on 127.94.x.x:445 after down: %s" % bound)


def main():
    tmp = tempfile.mkdtemp(prefix="dpf-relay-bad-", dir="/tmp")
    try:
        checks.run_one("bad wan keys are refused before anything starts", refused, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with L.Lab(SCENARIO, BASE, "lab-relay") as lab:    # down again on the way out (idempotent), even on failure
        return checks.run(lab)


if __name__ == "__main__":
    sys.exit(main())
