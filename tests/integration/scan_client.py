#!/usr/bin/env python3
# scan_client.py — the scanner's two SMB clients end to end (dpfleet.conf(5), [smb] client), by
# `dpfleet-scanner --once` on the lab of tests/lab/scenarios/client.json at 127.103.0.0:
#
#   dpenc01: a PXE DP whose smbd requires encryption (smb_encrypt required: `server smb encrypt = required`),
#     value missing, SMSPXE.log with certificate errors, named in the site's CertMgr.log;
#   dp02: an ordinary PXE DP (value present and the site's, clean SMSPXE.log in SMS_DP$); mp03: an MP;
#   every host and the site server behind the lab's WAN relay (rtt 1 ms), whose counters give each host's TCP
#   connections and round trips of one scan (tests/lab/README.md, "WAN relay").
#
# With the default client (dpfleet): every verdict, PXE count and CertMgr denial is what lab.json's expect says
# (derived from the files the lab wrote), the encrypted DP's included; the scanner's debug log (-v) says that
# host was read with Samba's libraries and no other; each ordinary host and the site server took ONE
# connection, the encrypted DP more than one (the refused own-client attempt, then Samba's).  With
# `[smb] client = samba`: the same verdicts, more connections on the ordinary DP than the default, one fewer on
# the encrypted DP (no own-client attempt).  `[smb] client =
# bogus`: `dpfleet-scanner -n` exits 1 naming the file and line.  Each host's NTLM sessions (its smbd log,
# addc.auth_counts) are printed beside the connections.  The lab is always taken down (scan_lib.Lab).
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan_lib import (Lab, SCANNER, SRC, check, expected_verdict, last_scan, observations, read_conf,  # noqa: E402
                      run_once, write_conf)
import checks  # noqa: E402  (tests/lib, on sys.path through scan_lib)
from checks import require, test  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from dpfleet_lab.addc import lab_auth_counts  # noqa: E402
from dpfleet_lab.relay import relay_stats  # noqa: E402

BASE = "127.103.0.0"
SCENARIO = os.path.join(SRC, "tests", "lab", "scenarios", "client.json")
FALLBACK = "reading it with Samba's libraries"      # worker_scan.c host_own / certmgr_fetch, log_debug


def scan(lab, conf, label):
    """One --once run with conf: (observations, evidence, stderr, per-host connections, round trips, NTLM
    sessions), the last three the differences of the relay's and the smbd logs' counters around the run."""
    s0, a0 = relay_stats(lab.dir), lab_auth_counts(lab.info)
    rc, out, err, wall = run_once(conf)
    s1, a1 = relay_stats(lab.dir), lab_auth_counts(lab.info)
    print(out[-1200:], flush=True)
    require(rc == 0, "%s: --once exits 0 (got %d; %s)" % (label, rc, err[-800:]))
    obs, ev = observations(conf, last_scan(conf)["id"])
    conns = {f: s1[f]["connections"] - s0[f]["connections"] for f in s1}
    rts = {f: s1[f]["round_trips"] - s0[f]["round_trips"] for f in s1}
    sess = {f: a1[f]["ntlm_ok"] - a0.get(f, {}).get("ntlm_ok", 0) for f in a1}
    for f in sorted(s1):
        print("figure: %s client: %s: %d connections, %d round trips, %d NTLM sessions (%.1f s scan)"
              % (label, f, conns[f], rts[f], sess.get(f, 0), wall), flush=True)
    check(all(s1[f]["active"] == 0 for f in s1), "%s: no connection left open at the relay (%s)"
          % (label, {f: s1[f]["active"] for f in s1}))
    return obs, ev, err, conns, rts, sess


def check_verdicts(lab, obs, ev, label):
    """Each host's state, PXE counts and CertMgr denial against lab.json's expect."""
    for fqdn in sorted(lab.info["expect"]):
        e, o = lab.info["expect"][fqdn], obs.get(fqdn)
        state, _ = expected_verdict(lab.info, fqdn)
        check(o is not None and o["state"] == state, "%s: %s: state %s (got %s)"
              % (label, fqdn, state, o and o["state"]))
        if o is None:
            continue
        check(o["pxe_cert_errors"] == e["pxe_cert_errors"], "%s: %s: %d SMSPXE certificate errors (got %d)"
              % (label, fqdn, e["pxe_cert_errors"], o["pxe_cert_errors"]))
        if e["pxe_cert_errors"]:
            check(o["pxe_last_error"] == e["pxe_last_error"], "%s: %s: newest certificate error %s (got %s)"
                  % (label, fqdn, e["pxe_last_error"], o["pxe_last_error"]))
            files = sorted({r["file"] for r in ev.get(fqdn, []) if r["source"] == "smspxe"})
            check(e["pxe_log_path"] in files, "%s: %s: evidence from %s (got %s)"
                  % (label, fqdn, e["pxe_log_path"], files))
        check(bool(o["certmgr_denied"]) == e["certmgr_denied"], "%s: %s: certmgr_denied %s (got %s)"
              % (label, fqdn, e["certmgr_denied"], o["certmgr_denied"]))


def samba_encrypted(lab, fqdn):
    """Encrypted SMB2 messages smbclient sends listing fqdn's SMS_DP$ (its real smbd, not the relay): Samba's
    client encrypts exactly when the server asks (smb.conf(5), "client smb encrypt" default if_required); its
    debug level 10 logs each one (libcli/smb/smb2_signing.c).  -1 when the listing fails."""
    env = dict(os.environ, PASSWD=lab.info["smb_password"])
    env.pop("LD_PRELOAD", None)
    r = subprocess.run(["smbclient", "--configfile=" + os.path.join(lab.dir, "client", "smb.conf"),
                        "//%s/SMS_DP$" % lab.info["real_addrs"][fqdn], "-U", "%s\\%s" % (lab.info["smb_domain"],
                                                                                          lab.info["smb_user"]),
                        "-d", "10", "-c", "ls sms"], env=env, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        print("smbclient %s: %s" % (fqdn, (r.stdout + r.stderr)[-500:]), flush=True)
        return -1
    return (r.stdout + r.stderr).count("smb2_signing_encrypt_pdu: Encrypted SMB2 message")


def check_lab(lab):
    """What the scenario promises: one DP requiring encryption, the others not, every host counted by the relay."""
    enc = sorted(f for f, e in lab.info["expect"].items() if e["smb_encrypt"] == "required")
    require(enc == ["dpenc01.ps1.lab.test"], "lab.json: dpenc01 alone requires encryption (got %s)" % enc)
    e = lab.info["expect"]["dpenc01.ps1.lab.test"]
    require(e["registry"] == "missing" and e["pxe_cert_errors"] > 0 and e["certmgr_denied"],
            "lab.json: the encrypted DP has its value missing, certificate errors and a CertMgr denial")
    d = lab.info["expect"]["dp02.ps1.lab.test"]
    require(d["registry"] == "ok" and d["pxe_log_path"] == "SMS_DP$/sms/logs/SMSPXE.log",
            "lab.json: dp02's value is the site's, its log in SMS_DP$")
    smbconf = os.path.join(os.path.dirname(lab.info["smbd_logs"]["dpenc01.ps1.lab.test"]), "smb.conf")
    with open(smbconf) as f:
        check("server smb encrypt = required" in f.read().splitlines(), "%s requires encryption" % smbconf)
    for fqdn, want in (("dpenc01.ps1.lab.test", True), ("dp02.ps1.lab.test", False)):
        n = samba_encrypted(lab, fqdn)
        check(n >= 0 and (n > 0) == want, "smbclient (independent of the scanner) %s %s: %d encrypted SMB2 messages"
              % ("encrypts to" if want else "does not encrypt to", fqdn, n))
    stats = relay_stats(lab.dir)
    require(set(stats) == set(lab.info["expect"]) | {"cm-ps1.lab.test"},
            "every host and the site server are behind the relay (got %s)" % sorted(stats))


@test("scan_client: the default client reads an encrypted DP through Samba's libraries, the others on one "
      "connection each; client = samba reads the same; client = bogus is refused")
def main():
    with Lab(SCENARIO, BASE, "client") as lab:
        check_lab(lab)
        enc, plain = "dpenc01.ps1.lab.test", ["dp02.ps1.lab.test", "mp03.ps1.lab.test", "cm-ps1.lab.test"]
        check(not any(k == "client" for k, _ in read_conf(lab.conf)["smb"]),
              "the lab's scanner.conf leaves [smb] client at its default")
        obs, ev, err, conns, _, _ = scan(lab, lab.conf, "dpfleet")
        check_verdicts(lab, obs, ev, "dpfleet")
        check("%s: " % enc in err and any(ln.startswith(enc + ": ") and FALLBACK in ln for ln in err.splitlines()),
              "dpfleet: the debug log says %s was read with Samba's libraries" % enc)
        check(not any(FALLBACK in ln and not ln.startswith(enc + ": ") for ln in err.splitlines()),
              "dpfleet: no other host was read with Samba's libraries")
        for f in plain:
            check(conns[f] == 1, "dpfleet: %s: one connection (got %d)" % (f, conns[f]))
        check(conns[enc] > 1, "dpfleet: %s: more than one connection (got %d)" % (enc, conns[enc]))

        samba = write_conf(lab.conf, os.path.join(lab.tmp, "samba.conf"), smb={"client": "samba"})
        obs2, ev2, err2, conns2, _, _ = scan(lab, samba, "samba")
        check_verdicts(lab, obs2, ev2, "samba")
        check({f: o["state"] for f, o in obs2.items()} == {f: o["state"] for f, o in obs.items()},
              "samba: the same verdicts as the default client")
        check(FALLBACK not in err2, "samba: no fallback (every host is read with Samba's libraries)")
        dp = "dp02.ps1.lab.test"
        check(conns2[dp] > conns[dp], "samba: %s: more connections than the default client (%d, default %d)"
              % (dp, conns2[dp], conns[dp]))
        # the default client's refused attempt, then the same reads as client = samba
        check(conns[enc] == conns2[enc] + 1, "%s: the default client's connections are samba's + 1 (%d, samba %d)"
              % (enc, conns[enc], conns2[enc]))

        bogus = write_conf(lab.conf, os.path.join(lab.tmp, "bogus.conf"), smb={"client": "bogus"})
        with open(bogus) as f:
            line = next(n for n, ln in enumerate(f, 1) if ln.strip() == "client = bogus")
        r = subprocess.run([SCANNER, "-f", bogus, "-n"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1, "client = bogus: -n exits 1 (got %d)" % r.returncode)
        check("%s:%d:" % (bogus, line) in r.stderr and "client" in r.stderr,
              "client = bogus: -n names %s:%d (got %r)" % (bogus, line, r.stderr[-300:]))


if __name__ == "__main__":
    sys.exit(checks.run())
