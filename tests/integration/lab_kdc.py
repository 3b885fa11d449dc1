#!/usr/bin/env python3
# lab_kdc.py — the lab's Kerberos realm and second domain (tests/lab/README.md, "Kerberos realms and second
# domains"; tests/lab/dpfleet_lab/addc.py) held against Samba's own clients, on a lab at 127.96.0.0 built from
# tests/lab/scenarios/kdc.json.
#
#   host                  what it is                          checked
#   dp01.krb.lab.test     member of KRB.LAB.TEST, value ok     `net rpc registry getvalue --use-kerberos=required`
#                                                            reads the site's value; the same call with NTLM
#                                                            (--use-kerberos=disabled) gets NT_STATUS_NTLM_BLOCKED;
#                                                            its log.smbd counts one NTLM attempt for that call and
#                                                            none for the Kerberos ones (auth_counts)
#   dp02.krb.lab.test     member, value missing              a write over Kerberos (setvalue) reads back
#   cm-kr1.krb.lab.test   the site server, member            answers over Kerberos, refuses NTLM
#   dp01.corp2.test       NTLM host of domain CORP2           CORP2\svc_corp2 reads; LAB's account gets
#                                                            NT_STATUS_LOGON_FAILURE
#   dp01.ps1.lab.test     the lab's ordinary NTLM host         LAB's account reads; CORP2's account is refused
# Also: the realm's keytab gets a ticket with kinit -k (the lab's krb5.conf, KRB5_CONFIG), and a client given that
# ticket cache reads over Kerberos; secrets are mode 0600; scanner.conf's [credentials] sections are what lab.json
# says and `dpfleet-scanner -n` accepts them; `dpfleet-lab status` shows the DC up; `down` leaves no samba, smbd,
# winbindd or samba-dcerpcd of the lab
# and nothing listening on its addresses.  The lab is always taken down (scan_lib.Lab, finally), even on failure.

import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, "tests", "lab"))
from dpfleet_lab.addc import auth_counts  # noqa: E402
from dpfleet_lab.common import lab_processes, listening_on, pid_alive  # noqa: E402

BASE = "127.96.0.0"
SCENARIO = os.path.join(L.SRC, "tests", "lab", "scenarios", "kdc.json")
KEY = r"HKLM\SOFTWARE\Microsoft\SMS\Security"
VALUE = "IssuingCertificateList"
REALM = "KRB.LAB.TEST"
KRB_HOSTS = ("dp01.krb.lab.test", "dp02.krb.lab.test", "cm-kr1.krb.lab.test")
ck = L.check


def net(lab, args, env=None, user=None):
    """`net -s <lab client conf> rpc registry ARGS` with the lab's Kerberos environment; (rc, stdout+stderr)."""
    e = dict(os.environ, **lab.info["kerberos"]["env"]) if env is None else env
    argv = ["net", "-s", os.path.join(lab.dir, "client", "smb.conf"), "rpc", "registry"] + args
    r = subprocess.run(argv + (["-U", user] if user else []), env=e, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout + r.stderr


def krb_user(lab):
    r = lab.info["kerberos"]["realms"][REALM]
    return "%s%%%s" % (r["principal"], r["password"])


def krb_read(lab, fqdn, what="getvalue"):
    args = [what, KEY] + ([VALUE] if what == "getvalue" else []) + ["-S", fqdn, "--use-kerberos=required"]
    return net(lab, args, user=krb_user(lab))


def ntlm_read(lab, fqdn, user, env=None):
    return net(lab, ["getvalue", KEY, VALUE, "-S", fqdn, "--use-kerberos=disabled"], env=env, user=user)


def log_of(lab, fqdn):
    return lab.info["smbd_logs"][fqdn]


@test("lab.json, scanner.conf and the secrets: what a Kerberos client is given", fatal=True)
def files(lab):
    i = lab.info
    r = i["kerberos"]["realms"].get(REALM)
    checks.require(r is not None, "lab.json kerberos.realms has %s: %s" % (REALM, sorted(i["kerberos"]["realms"])))
    checks.eq(sorted(r["hosts"]), sorted(KRB_HOSTS), "the realm's hosts")
    for p in (r["keytab"], r["password_file"], i["domains"]["CORP2"]["password_file"]):
        st = os.stat(p)
        checks.eq(stat.S_IMODE(st.st_mode), 0o600, "mode of %s" % p)
    with open(i["kerberos"]["krb5_conf"]) as f:
        k5 = f.read()
    for line in ("kdc = %s" % r["kdc"], "dns_lookup_kdc = false", "rdns = false", "dns_canonicalize_hostname = false"):
        ck(line in k5, "krb5.conf has %r" % line)
    with open(i["kerberos"]["env_file"]) as f:
        envf = f.read()
    for k in ("KRB5_CONFIG", "NSS_WRAPPER_HOSTS", "LD_PRELOAD"):
        ck(re.search(r"^export %s=" % k, envf, re.M), "krb.env exports %s" % k)
    with open(os.path.join(lab.dir, "scanner.conf")) as f:
        conf = f.read()
    sec = re.search(r"^\[credentials krb\.lab\.test\]\n((?:[^\[\n].*\n)+)", conf, re.M)
    ck(sec and "keytab = %s\n" % r["keytab"] in sec.group(1) and "principal = %s\n" % r["principal"] in sec.group(1)
       and "fqdn_suffix = krb.lab.test\n" in sec.group(1), "scanner.conf [credentials krb.lab.test]: %r"
       % (sec.group(1) if sec else None))
    sec = re.search(r"^\[credentials corp2\]\n((?:[^\[\n].*\n)+)", conf, re.M)
    ck(sec and "user = svc_corp2\n" in sec.group(1) and "site_codes = CR2\n" in sec.group(1),
       "scanner.conf [credentials corp2]: %r" % (sec.group(1) if sec else None))
    for fq in KRB_HOSTS[:2]:
        e = i["expect"][fq]
        checks.eq((e["auth"], e["realm"], e["credential_set"]), ("kerberos", REALM, "krb.lab.test"),
                  "expect of %s" % fq)
    checks.eq(i["expect"]["dp01.corp2.test"]["credential_set"], "corp2", "expect of dp01.corp2.test")
    p = subprocess.run([sys.executable, L.LAB, "status", "--dir", lab.dir], capture_output=True, text=True,
                       timeout=120)
    ck(p.returncode == 0 and re.search(r"^AD DC of %s: dc1\.krb\.lab\.test on %s pid [0-9]+ up$" % (
        re.escape(REALM), re.escape(r["kdc"])), p.stdout, re.M), "status: every host as expected and the DC up: %s"
       % (p.stdout[-600:] + p.stderr[-300:]))
    p = subprocess.run([L.SCANNER, "-f", os.path.join(lab.dir, "scanner.conf"), "-n"], capture_output=True,
                       text=True, timeout=60)
    ck(p.returncode == 0, "dpfleet-scanner -n accepts the lab's scanner.conf (%d): %s"
       % (p.returncode, (p.stderr or p.stdout)[-400:]))


@test("Kerberos hosts answer winreg over Kerberos and refuse NTLM; the NTLM counter sees exactly that")
def kerberos_only(lab):
    fq = KRB_HOSTS[0]
    value = lab.info["expect"][fq]["value"]
    c0 = auth_counts(log_of(lab, fq))
    rc, out = krb_read(lab, fq)
    ck(rc == 0 and value and value[0] in out, "%s: getvalue over Kerberos reads the site's value (%d): %s"
       % (fq, rc, out[-300:]))
    c1 = auth_counts(log_of(lab, fq))
    checks.eq((c1["ntlm_negotiate"] - c0["ntlm_negotiate"], c1["ntlm"] - c0["ntlm"]), (0, 0),
              "%s: (NTLMSSP NEGOTIATEs, NTLM authentications) counted for a Kerberos read" % fq)
    ck(c1["kerberos"] > c0["kerberos"], "%s: the Kerberos session is counted (%d -> %d)"
       % (fq, c0["kerberos"], c1["kerberos"]))
    r = lab.info["kerberos"]["realms"][REALM]
    rc, out = ntlm_read(lab, fq, "%s\\%s%%%s" % (r["domain"], r["user"], r["password"]))
    ck(rc != 0 and "NT_STATUS_NTLM_BLOCKED" in out, "%s: NTLM with the right password is refused with "
       "NT_STATUS_NTLM_BLOCKED (%d): %s" % (fq, rc, out[-300:]))
    c2 = auth_counts(log_of(lab, fq))
    ck(c2["ntlm"] - c1["ntlm"] >= 1 and c2["ntlm_negotiate"] - c1["ntlm_negotiate"] >= 1
       and c2["ntlm_ok"] == c0["ntlm_ok"] == 0,
       "%s: the NTLM attempt is counted and none succeeded: %s -> %s" % (fq, c1, c2))
    for other in KRB_HOSTS[1:]:
        rc, out = net(lab, ["enumerate", r"HKLM\SOFTWARE\Microsoft\SMS", "-S", other, "--use-kerberos=required"],
                      user=krb_user(lab))
        ck(rc == 0 and "InstallPath" in out, "%s: enumerate over Kerberos (%d): %s" % (other, rc, out[-300:]))
        rc, out = ntlm_read(lab, other, "%s\\%s%%%s" % (r["domain"], r["user"], r["password"]))
        ck(rc != 0 and "NT_STATUS_NTLM_BLOCKED" in out, "%s: NTLM refused (%d): %s" % (other, rc, out[-200:]))
    c = auth_counts(log_of(lab, "dp01.ps1.lab.test"))
    ck(c["ntlm"] >= 1 and c["ntlm_ok"] == c["ntlm"] and c["ntlm_negotiate"] >= c["ntlm"] and c["kerberos"] == 0,
       "the NTLM host dp01.ps1 saw only up's readiness binds, NTLM and accepted: %s" % c)


@test("a write over Kerberos reads back (the realm's scan account is admin on the members)")
def kerberos_write(lab):
    fq = KRB_HOSTS[1]
    rc, out = net(lab, ["setvalue", KEY, "LabKdcProbe", "sz", "written-over-kerberos", "-S", fq,
                        "--use-kerberos=required"], user=krb_user(lab))
    rc2, out2 = net(lab, ["getvalue", KEY, "LabKdcProbe", "-S", fq, "--use-kerberos=required"], user=krb_user(lab))
    ck(rc == 0 and rc2 == 0 and "written-over-kerberos" in out2, "%s: setvalue then getvalue (%d, %d): %s %s"
       % (fq, rc, rc2, out[-200:], out2[-200:]))


@test("the keytab gets a ticket (kinit -k) and a client given that ticket cache reads over Kerberos")
def keytab(lab):
    r = lab.info["kerberos"]["realms"][REALM]
    cc = "FILE:" + os.path.join(lab.tmp, "ccache")
    env = dict(os.environ, **lab.info["kerberos"]["env"])
    env["KRB5CCNAME"] = cc
    p = subprocess.run(["kinit", "-k", "-t", r["keytab"], r["principal"]], env=env, capture_output=True, text=True,
                       timeout=60)
    ck(p.returncode == 0, "kinit -k -t %s %s (%d): %s" % (r["keytab"], r["principal"], p.returncode, p.stderr[-300:]))
    rc, out = net(lab, ["getvalue", KEY, VALUE, "-S", KRB_HOSTS[0], "--use-kerberos=required",
                        "--use-krb5-ccache=" + cc], env=env)
    ck(rc == 0 and "REG_MULTI_SZ" in out, "getvalue with the keytab's ticket cache (%d): %s" % (rc, out[-300:]))


@test("a second domain: each host accepts only its own domain's account")
def second_domain(lab):
    i = lab.info
    dom = i["domains"]["CORP2"]
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    corp2 = "CORP2\\%s%%%s" % (dom["user"], dom["password"])
    lab_user = "%s\\%s%%%s" % (i["smb_domain"], i["smb_user"], i["smb_password"])
    for fq, good, bad in (("dp01.corp2.test", corp2, lab_user), ("dp01.ps1.lab.test", lab_user, corp2)):
        addr = i["hosts"][fq]
        c0 = auth_counts(log_of(lab, fq))
        rc, out = net(lab, ["getvalue", KEY, VALUE, "-I", addr], env=env, user=good)
        ck(rc == 0 and "REG_MULTI_SZ" in out, "%s: its own domain's account reads (%d): %s" % (fq, rc, out[-300:]))
        rc, out = net(lab, ["getvalue", KEY, VALUE, "-I", addr], env=env, user=bad)
        ck(rc != 0 and "NT_STATUS_LOGON_FAILURE" in out, "%s: the other domain's account gets "
           "NT_STATUS_LOGON_FAILURE (%d): %s" % (fq, rc, out[-300:]))
        c1 = auth_counts(log_of(lab, fq))
        checks.eq((c1["ntlm"] - c0["ntlm"], c1["ntlm_ok"] - c0["ntlm_ok"]), (2, 1),
                  "%s: (NTLM logons, successful) counted" % fq)
        # net's anonymous NTLMSSP sessions (logged at auth_audit 5, not here) are NEGOTIATEs without an Auth line
        ck(c1["ntlm_negotiate"] - c0["ntlm_negotiate"] >= 2, "%s: NTLMSSP NEGOTIATEs counted: %s -> %s"
           % (fq, c0, c1))


@test("down stops the DC, the members' smbd and winbindd, every samba-dcerpcd, and frees the addresses")
def down(lab):
    before = lab_processes(lab.dir)
    dc = lab.info["pids"]["dc"][REALM]
    ck(dc and dc in before, "the DC's samba (pid %s, its command line rewritten) is among the lab's processes" % dc)
    r = subprocess.run([sys.executable, L.LAB, "down", "--dir", lab.dir], capture_output=True, text=True, timeout=300)
    ck(r.returncode == 0, "down (%d): %s" % (r.returncode, r.stderr[-300:]))
    left = lab_processes(lab.dir)
    ck(not left, "no process of the lab left: %s" % sorted(left))
    ck(not pid_alive(dc), "the DC's samba (pid %s) is gone" % dc)
    for port in (445, 88, 389):
        busy = sorted(a for a in listening_on(port) if a.startswith("127.96."))
        ck(not busy, "nothing listens on 127.96.x.x:%d: %s" % (port, busy))


def main():
    with L.Lab(SCENARIO, BASE, "lab-kdc") as lab:   # down again on the way out (idempotent), even on failure
        return checks.run(lab)


if __name__ == "__main__":
    sys.exit(main())
