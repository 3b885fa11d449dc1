#!/usr/bin/env python3
# scan_kerberos.py — dpfleet-scanner with Kerberos (dpfleet.conf(5) auth, keytab, principal; dpfleet-scanner(8)
# "Kerberos") on the lab's realm (tests/lab/scenarios/kdc.json at 127.97.0.0: KRB.LAB.TEST's Samba AD DC and its
# member hosts that refuse NTLM; PS1's NTLM host; CORP2's NTLM host and its own account).
#
# The scanner runs with the lab's krb5.conf (KRB5_CONFIG) and the lab's hosts file through nss_wrapper (a host's
# one connection goes to host_map's address naming the FQDN for the SPN; with [smb] client = samba,
# libsmbclient's log reads resolve the FQDN).
# Checked, each against what the scanner cannot make up:
#   -n: the lab's keytab holds its principal; a principal the keytab lacks is refused, named;
#   --once (auth negotiate): the Kerberos hosts are read with the keytab set (cred_set krb.lab.test), registry
#     and SMSPXE.log (its certificate errors as the lab wrote them), their log.smbd counts Kerberos sessions and
#     no NTLM attempt (addc.auth_counts), while the NTLM-only hosts are read with NTLM; the scanner's ticket
#     cache is <store>.krb/krb.lab.test.ccache, directory 0700, file 0600;
#   fix and rollback of the realm's missing host through the scanner's job path: written, the host's own
#     registry.tdb holds exactly the site's value (`net registry export`), then restored to absent;
#   [smb] auth = kerberos: no NTLM attempt reaches any host of the lab (every host's log.smbd), the Kerberos
#     hosts are still read, the NTLM-only hosts are unreachable with reason kerberos;
#   a keytab without the principal, and a ticket too short-lived to use (krb5.conf ticket_lifetime = 4m): the
#     realm's hosts are unreachable with reason kerberos and the scanner's output names the principal;
#   a daemon run of DPFLEET_KRB_RUN_S seconds (default 150) with tickets of 6 minutes, which Samba stops using
#     one minute after they were got (it wants 300 s left): the scanner gets new ones before that, and every
#     scan of the run reads the realm's hosts.
# The lab and every process started here are stopped, and the temp dir removed, even on failure (scan_lib.Lab).

import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fix_lib as F  # noqa: E402
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, "tests", "lab"))
from dpfleet_lab.addc import lab_auth_counts  # noqa: E402

BASE = "127.97.0.0"
SCENARIO = os.path.join(L.SRC, "tests", "lab", "scenarios", "kdc.json")
REALM = "KRB.LAB.TEST"
SET = "krb.lab.test"
KRB_DPS = ("dp01.krb.lab.test", "dp02.krb.lab.test")
NTLM_DPS = ("dp01.ps1.lab.test", "dp01.corp2.test")
MISSING = "dp02.krb.lab.test"
RUN_S = int(os.environ.get("DPFLEET_KRB_RUN_S", "150"))
ck = L.check


def krb5_conf(lab, lifetime=None):
    """The lab's krb5.conf, or a copy asking for tickets of `lifetime` (krb5.conf(5) ticket_lifetime)."""
    src = lab.info["kerberos"]["krb5_conf"]
    if lifetime is None:
        return src
    with open(src) as f:
        text = f.read()
    dst = os.path.join(lab.tmp, "krb5-%s.conf" % lifetime)
    with open(dst, "w") as f:
        f.write(text.replace("[libdefaults]\n", "[libdefaults]\n\tticket_lifetime = %s\n" % lifetime, 1))
    return dst


def conf(lab, name, store=None, **sections):
    """A copy of the lab's scanner.conf with overrides (scan_lib.write_conf), its own state DB when store."""
    if store:
        sections.setdefault("store", {})["path"] = os.path.join(lab.tmp, store)
    return L.write_conf(lab.conf, os.path.join(lab.tmp, name), **sections)


def credential_override(path, principal):
    """Rewrite the realm's set in path so it names principal (the keytab does not hold it)."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"^principal = .*@%s$" % re.escape(REALM), "principal = %s" % principal, text, flags=re.M)
    with open(path, "w") as f:
        f.write(text)


def scanner_env(lab, krb5=None):
    """The lab's krb5.conf, and its hosts file through nss_wrapper: libsmbclient resolves the FQDN a log read
    names (dpfleet-scanner(8), Kerberos).  NSS_WRAPPER_DISABLE_DEEPBIND and verify_asan_link_order let it load
    into the sanitizer build."""
    return dict(os.environ, KRB5_CONFIG=krb5 or krb5_conf(lab), LD_PRELOAD="libnss_wrapper.so",
                NSS_WRAPPER_HOSTS=lab.info["kerberos"]["env"]["NSS_WRAPPER_HOSTS"], NSS_WRAPPER_DISABLE_DEEPBIND="1",
                NSS_WRAPPER_MAX_HOSTENTS=lab.info["kerberos"]["env"]["NSS_WRAPPER_MAX_HOSTENTS"],
                ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":"))


def scanner(lab, cfg, *args, krb5=None, timeout=600):
    env = scanner_env(lab, krb5)
    r = subprocess.run([L.SCANNER, "-d", "-f", cfg] + list(args), capture_output=True, text=True, env=env,
                       timeout=timeout)
    print("$ dpfleet-scanner -f %s %s -> %d\n%s%s" % (os.path.basename(cfg), " ".join(args), r.returncode,
                                                     r.stdout[-2000:], r.stderr[-3000:]), flush=True)
    return r


def last_obs(store):
    """{fqdn: row} of the newest scan in the state DB at store."""
    with L.db(store) as c:
        sid = c.execute("SELECT max(id) FROM scans").fetchone()[0]
        rows = c.execute("SELECT h.fqdn, o.state, o.reason, o.cred_set, o.pxe_cert_errors FROM observations o "
                         "JOIN hosts h ON "
                         "h.id = o.host_id WHERE o.scan_id = ?", (sid,)).fetchall()
    return {r["fqdn"]: r for r in rows}


def ntlm_delta(before, after):
    return {fq: after[fq]["ntlm"] - before.get(fq, {"ntlm": 0})["ntlm"] for fq in after}


@test("-n: the keytab holds the realm's principal; a principal it lacks is refused and named")
def check_config(lab):
    r = scanner(lab, lab.conf, "-n")
    ck(r.returncode == 0 and "configuration OK" in r.stdout, "-n accepts the lab's keytab set (%d)" % r.returncode)
    bad = conf(lab, "nobody.conf")
    credential_override(bad, "nobody@" + REALM)
    r = scanner(lab, bad, "-n")
    ck(r.returncode == 1 and "nobody@" + REALM in r.stderr and "keytab" in r.stderr,
       "-n refuses a keytab without the principal, naming it (%d): %s" % (r.returncode, r.stderr[-300:]))


@test("--once, auth negotiate: the realm's hosts are read over Kerberos only, with the scanner's ticket cache",
      fatal=True)
def scan_negotiate(lab):
    c0 = lab_auth_counts(lab.info)
    r = scanner(lab, lab.conf, "--once")
    ck(r.returncode == 0, "--once exit 0")
    o = last_obs(lab.db)
    for fq in KRB_DPS:
        checks.eq((o[fq]["state"], o[fq]["cred_set"]), (L.expected_verdict(lab.info, fq)[0], SET),
                  "%s: state and credential set" % fq)
        checks.eq(o[fq]["pxe_cert_errors"], lab.info["expect"][fq]["pxe_cert_errors"],
                  "%s: SMSPXE.log read by name over Kerberos (certificate errors)" % fq)
        ck("%s: SMSPXE.log:" % fq not in r.stderr, "%s: no log read error" % fq)
    c1 = lab_auth_counts(lab.info)
    for fq in KRB_DPS:
        checks.eq(c1[fq]["ntlm"] - c0[fq]["ntlm"], 0, "%s: NTLM attempts during the scan" % fq)
        ck(c1[fq]["kerberos"] > c0[fq]["kerberos"], "%s: Kerberos sessions counted (%s -> %s)"
           % (fq, c0[fq], c1[fq]))
    for fq in NTLM_DPS:     # no realm for their sets (NetBIOS domains): negotiate is NTLM there, and it works
        checks.eq(o[fq]["state"], L.expected_verdict(lab.info, fq)[0], "%s: read with NTLM" % fq)
        ck(c1[fq]["ntlm_ok"] > c0[fq]["ntlm_ok"], "%s: NTLM logons counted (%s -> %s)" % (fq, c0[fq], c1[fq]))
    kdir = lab.db + ".krb"
    cc = os.path.join(kdir, SET + ".ccache")
    checks.require(os.path.exists(cc), "the ticket cache %s exists" % cc)
    checks.eq(stat.S_IMODE(os.stat(kdir).st_mode), 0o700, "mode of %s" % kdir)
    checks.eq(stat.S_IMODE(os.stat(cc).st_mode), 0o600, "mode of %s" % cc)
    k = subprocess.run(["klist", "-c", "FILE:" + cc], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, KRB5_CONFIG=krb5_conf(lab)))
    ck("svc_dpfleet@" + REALM in k.stdout and "krbtgt/%s@%s" % (REALM, REALM) in k.stdout,
       "klist shows the principal's TGT in the cache: %s" % k.stdout[-400:])


@test("fix and rollback of a Kerberos-only host through the scanner's job path")
def fix_rollback(lab):
    before = F.Lab.reg_export(lab, MISSING)
    checks.eq(before, "absent", "%s: the value is absent before the fix" % MISSING)
    c0 = lab_auth_counts(lab.info)
    r = scanner(lab, lab.conf, "fix", MISSING)
    o = F.outcomes(r.stdout)
    ck(r.returncode == 0 and o.get(MISSING, ("?",))[0] == "written", "%s: fix written (%s)" % (MISSING, o))
    want = F.Lab.site_value(lab, MISSING)
    checks.eq(F.Lab.reg_export(lab, MISSING), (7, F.multisz_hex(want)), "%s: the site's exact bytes" % MISSING)
    with F.db(lab) as c:
        j = c.execute("SELECT state, outcome, cred_set FROM jobs WHERE id = ?",
                      (o.get(MISSING, ("?", 0))[1],)).fetchone()
    checks.eq(tuple(j) if j else None, ("done", "written", SET), "the job row")
    r = scanner(lab, lab.conf, "rollback", str(o.get(MISSING, ("?", 0))[1]))
    rb = F.outcomes(r.stdout)
    ck(r.returncode == 0 and rb.get(MISSING, ("?",))[0] == "restored", "%s: rollback restored (%s)" % (MISSING, rb))
    checks.eq(F.Lab.reg_export(lab, MISSING), before, "%s: absent again" % MISSING)
    c1 = lab_auth_counts(lab.info)
    checks.eq(c1[MISSING]["ntlm"] - c0[MISSING]["ntlm"], 0, "%s: NTLM attempts during fix and rollback" % MISSING)


@test("[smb] auth = kerberos: no NTLM exchange reaches any host")
def kerberos_only(lab):
    cfg = conf(lab, "kerberos.conf", smb={"auth": "kerberos"})
    c0 = lab_auth_counts(lab.info)
    r = scanner(lab, cfg, "--once")
    c1 = lab_auth_counts(lab.info)
    checks.eq({fq: n for fq, n in ntlm_delta(c0, c1).items() if n}, {}, "hosts an NTLM attempt reached")
    ck(len(c1) >= len(KRB_DPS) + len(NTLM_DPS), "every host's log was counted: %s" % sorted(c1))
    o = last_obs(lab.db)
    for fq in KRB_DPS:
        ck(o[fq]["state"] != "unreachable", "%s: still read (%s)" % (fq, o[fq]["state"]))
        checks.eq(o[fq]["pxe_cert_errors"], lab.info["expect"][fq]["pxe_cert_errors"], "%s: log still read" % fq)
    for fq in NTLM_DPS:
        checks.eq((o[fq]["state"], o[fq]["reason"]), ("unreachable", "kerberos"), "%s: an NTLM-only host" % fq)
    ck(r.returncode == 0, "--once exit 0 (%d)" % r.returncode)


@test("a keytab without the principal, and a ticket too short to use: reason kerberos, the principal named")
def no_ticket(lab):
    cfg = conf(lab, "nobody-run.conf", store="nobody.db")
    credential_override(cfg, "nobody@" + REALM)
    r = scanner(lab, cfg, "--once")
    o = last_obs(os.path.join(lab.tmp, "nobody.db"))
    for fq in KRB_DPS:
        checks.eq((o[fq]["state"], o[fq]["reason"]), ("unreachable", "kerberos"), "%s: no ticket" % fq)
    ck(re.search(r"no ticket for nobody@%s .*keytab" % re.escape(REALM), r.stderr),
       "the parent's log names the principal and the keytab")
    ck(re.search(r"%s: .*no usable ticket for nobody@%s" % (re.escape(KRB_DPS[0]), re.escape(REALM)), r.stderr),
       "the host's detail names the principal")
    cfg = conf(lab, "short.conf", store="short.db")
    r = scanner(lab, cfg, "--once", krb5=krb5_conf(lab, "4m"))
    o = last_obs(os.path.join(lab.tmp, "short.db"))
    for fq in KRB_DPS:
        checks.eq((o[fq]["state"], o[fq]["reason"]), ("unreachable", "kerberos"), "%s: ticket too short" % fq)
    ck(re.search(r"no usable ticket for svc_dpfleet@%s .*the ticket expires at" % re.escape(REALM), r.stderr),
       "the detail says the ticket runs out and names the principal")


@test("a daemon run longer than its tickets can be used: renewed, every scan reads the realm's hosts")
def renewal(lab):
    cfg = conf(lab, "daemon.conf", store="daemon.db", scan={"interval": 15})
    out = open(os.path.join(lab.tmp, "daemon.out"), "w")
    d = lab.spawn([L.SCANNER, "-d", "-f", cfg], stdout=out, stderr=subprocess.STDOUT,
                  env=scanner_env(lab, krb5_conf(lab, "6m")))
    t0 = time.monotonic()
    while time.monotonic() - t0 < RUN_S and d.poll() is None:
        time.sleep(2)
    rc = F.stop_daemon(d, out)
    with open(os.path.join(lab.tmp, "daemon.out")) as f:
        text = f.read()
    print(text[-3000:])
    checks.eq(rc, 0, "daemon exit status")
    got = re.findall(r"kerberos: ticket for svc_dpfleet@%s \(set %s\)" % (re.escape(REALM), SET), text)
    ck(len(got) >= 1 + (RUN_S - 20) // 40, "tickets got: %d in %d s (one at start, then about every 30 s)"
       % (len(got), RUN_S))
    with L.db(os.path.join(lab.tmp, "daemon.db")) as c:
        rows = c.execute("SELECT s.id, h.fqdn, o.state, o.reason FROM scans s JOIN observations o ON o.scan_id = "
                         "s.id JOIN hosts h ON h.id = o.host_id WHERE h.fqdn IN (?, ?) ORDER BY s.id",
                         KRB_DPS).fetchall()
    scans = sorted({r["id"] for r in rows})
    ck(len(scans) >= RUN_S // 20, "%d scans in %d s" % (len(scans), RUN_S))
    bad = [tuple(r) for r in rows if r["state"] == "unreachable"]
    checks.eq(bad, [], "Kerberos hosts unreachable in some scan of the run")


def main():
    with F.Lab(SCENARIO, BASE, "scan-krb") as lab:
        return checks.run(lab)


if __name__ == "__main__":
    sys.exit(main())
