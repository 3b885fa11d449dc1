#!/usr/bin/env python3
"""smbauth_kerberos.py — scanner/smbauth.c's Kerberos (MIT GSSAPI SPNEGO) in dpfleet's own SMB2 client (smb2.c)
against a real realm: the lab's Samba AD DC for KRB.LAB.TEST and one member host that refuses NTLM (dpfleet-lab
up on 127.102.0.0, tests/lab/README.md "Kerberos realms").

The driver (argv[1], smbauth_krb_test.c) connects to the member's address naming its FQDN and does a signed
TREE_CONNECT of IPC$ (so the session key GSSAPI gave is the one smbd signs with).  Checked against what the
member's log.smbd says (dpfleet_lab.addc.auth_counts), never against smbauth's own word alone:
  - a password set under auth = kerberos and auth = negotiate, and a keytab set (a ticket cache kinit filled from
    the realm's keytab): connected, mechanism kerberos, IPC$ tree connected; the member counts one Kerberos
    session each and no NTLM authentication;
  - a wrong password: reason kerberos, the principal and the KDC's reason in the error; an SPN the KDC does not
    know and no FQDN at all: reason kerberos; a keytab set whose ticket cache does not exist: reason kerberos;
  - auth = ntlm: logon_failure (the member refuses NTLM), which shows the successes above were Kerberos; under
    auth = negotiate an SPN the KDC does not know falls back to NTLM before anything was sent (one more NTLM
    attempt in the member's log, refused).
The lab is stopped and its temp dir removed even when a check fails (scan_lib.Lab).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scan_lib as L  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by scan_lib)
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, "tests", "lab"))
from dpfleet_lab.addc import auth_counts  # noqa: E402

DRIVER = sys.argv[1]
BASE = "127.102.0.0"
REALM = "KRB.LAB.TEST"
HOST = "dp01.krb.lab.test"
SCENARIO = {
    "comment": "smbauth_kerberos: one member of realm KRB.LAB.TEST that refuses NTLM",
    "sites": [{"code": "KR1", "name": "Kerberos-only site", "type": "primary", "parent": None,
               "server": "cm-kr1.krb.lab.test", "realm": REALM,
               "issuing_certificate_list": "MIIFpDCCA4ygAwIBAgIQKrbLab2Zq0nFkRealm1;CN=Krb Issuing CA 01, DC=krb, "
                                           "DC=lab, DC=test;4D2A66B0C1E3F5071932"}],
    "hosts": [{"fqdn": HOST, "site": "KR1", "roles": ["dp"], "pxe": True, "registry": "ok",
               "smspxe_log": "clean", "auth": "kerberos"}],
}
ck = L.check


def drive(lab, mode, fqdn=HOST, password=None, ccache=None, principal=None, user="svc_dpfleet",
          domain="krb.lab.test"):
    """One driver run: (exit code, {key: value}, stderr)."""
    env = dict(os.environ, KRB5_CONFIG=lab.info["kerberos"]["krb5_conf"])
    for k in ("SMBAUTH_TEST_PASSWORD", "SMBAUTH_TEST_CCACHE", "SMBAUTH_TEST_PRINCIPAL"):
        env.pop(k, None)
    if ccache:
        env["SMBAUTH_TEST_CCACHE"] = ccache
        env["SMBAUTH_TEST_PRINCIPAL"] = principal or ""
    else:
        env["SMBAUTH_TEST_PASSWORD"] = password if password is not None else realm(lab)["password"]
    r = subprocess.run([DRIVER, lab.info["hosts"][HOST], fqdn, mode, user, domain], env=env, capture_output=True,
                       text=True, timeout=120)
    print("  %s %s %s -> exit %d: %s %s" % (mode, fqdn, "ccache" if ccache else "password", r.returncode,
                                            r.stdout.strip(), r.stderr.strip()[-500:]), flush=True)
    return r.returncode, dict(t.split("=", 1) for t in r.stdout.split() if "=" in t), r.stderr


def realm(lab):
    return lab.info["kerberos"]["realms"][REALM]


def counts(lab):
    return auth_counts(lab.info["smbd_logs"][HOST])


def connected(rc, d, what):
    ck(rc == 0 and d.get("status") == "ok" and d.get("mech") == "kerberos" and d.get("tree") == "0x00000000",
       "%s: connected over Kerberos, IPC$ tree connected (signed)" % what)


@test("a password set under auth = kerberos: connected over Kerberos, one Kerberos session on the member",
      fatal=True)
def password_kerberos(lab):
    c0 = counts(lab)
    rc, d, _ = drive(lab, "kerberos")
    connected(rc, d, "kerberos, password")
    c1 = counts(lab)
    checks.eq(c1["kerberos"] - c0["kerberos"], 1, "Kerberos sessions the member logged")
    checks.eq(c1["ntlm"] - c0["ntlm"], 0, "NTLM authentications the member logged")


@test("a password set under auth = negotiate, and a keytab set (kinit's ticket cache): Kerberos")
def negotiate_and_keytab(lab):
    c0 = counts(lab)
    rc, d, _ = drive(lab, "negotiate")
    connected(rc, d, "negotiate, password")
    cc = "FILE:" + os.path.join(lab.tmp, "smbauth.ccache")
    r = subprocess.run(["kinit", "-k", "-t", realm(lab)["keytab"], "-c", cc, realm(lab)["principal"]],
                       env=dict(os.environ, KRB5_CONFIG=lab.info["kerberos"]["krb5_conf"]), capture_output=True,
                       text=True, timeout=60)
    ck(r.returncode == 0, "kinit from the realm's keytab (%d): %s" % (r.returncode, r.stderr.strip()))
    for mode in ("kerberos", "negotiate"):
        rc, d, _ = drive(lab, mode, ccache=cc, principal=realm(lab)["principal"])
        connected(rc, d, "%s, keytab set" % mode)
    c1 = counts(lab)
    checks.eq(c1["kerberos"] - c0["kerberos"], 3, "Kerberos sessions the member logged")
    checks.eq(c1["ntlm"] - c0["ntlm"], 0, "NTLM authentications the member logged")


@test("failures: wrong password, unknown SPN, no FQDN, no ticket cache → kerberos; ntlm → refused")
def failures(lab):
    c0 = counts(lab)
    rc, d, err = drive(lab, "kerberos", password="not-the-password")
    ck(rc == 1 and d.get("status") == "kerberos" and d.get("phase") == "smb",
       "wrong password → kerberos in phase smb")
    ck(realm(lab)["principal"] in err and "Preauthentication failed" in err,
       "the error names the principal and the KDC's reason")
    rc, d, err = drive(lab, "kerberos", fqdn="nohost.krb.lab.test")
    ck(rc == 1 and d.get("status") == "kerberos" and "cifs@nohost.krb.lab.test" in err,
       "an SPN the KDC does not know → kerberos, the SPN named")
    rc, d, _ = drive(lab, "kerberos", fqdn="-")
    ck(rc == 1 and d.get("status") == "kerberos", "no FQDN under kerberos → kerberos")
    rc, d, _ = drive(lab, "kerberos", ccache="FILE:" + os.path.join(lab.tmp, "absent.ccache"))
    ck(rc == 1 and d.get("status") == "kerberos", "a keytab set without its ticket cache → kerberos")
    c1 = counts(lab)
    checks.eq((c1["kerberos"] - c0["kerberos"], c1["ntlm"] - c0["ntlm"]), (0, 0),
              "nothing reached the member's authentication (Kerberos sessions, NTLM)")
    rc, d, _ = drive(lab, "ntlm", domain="KRB")
    ck(rc == 1 and d.get("status") == "logon_failure", "auth = ntlm → logon_failure (the member refuses NTLM)")
    rc, d, _ = drive(lab, "negotiate", fqdn="nohost.krb.lab.test", domain="krb.lab.test")
    ck(rc == 1 and d.get("status") == "logon_failure",
       "negotiate with an SPN the KDC does not know → NTLM, refused by the member")
    c2 = counts(lab)
    checks.eq((c2["ntlm"] - c1["ntlm"], c2["ntlm_ok"] - c1["ntlm_ok"]), (2, 0),
              "NTLM authentications the member logged and refused")


def main():
    with L.Lab(SCENARIO, BASE, "smbauth-krb") as lab:
        return checks.run(lab)


if __name__ == "__main__":
    sys.exit(main())
