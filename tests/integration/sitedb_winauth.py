#!/usr/bin/env python3
"""sitedb_winauth — the scanner logs in to a Windows-authentication-only site DB as DOMAIN\\user (NTLMv2).
`dpfleet-scanner --inventory` with [sitedb] auth = ntlm: FreeTDS's NTLMv2 against dpfleet-tdsd
--windows-login/--windows-only, which verifies the response against the login's known password (MS-NLMP
3.3.2), on 127.98.0.1.

- [sitedb] auth = ntlm, user = CONTOSO\\svc_cmread: the whole fleet is read; tdsd logged the Windows login
  (NTLMv2) and only SELECTs; the domain in lower case works too; inside TLS (encryption = require) as well,
  and with only LOGIN7 encrypted (request against --tls-mode login: the SSPI exchange follows in plain text).
- a wrong password: exit 1, one line naming the account and 18456, no password in it, tdsd logged the
  mismatch, the stored fleet unchanged.
- an account of a domain the server does not trust (FABRIKAM\\svc_cmread): 18452 and the domain hint.
- a SQL login (auth = sql) against the Windows-only server: 18456, tdsd logged "Windows authentication
  only"; the same login works once tdsd accepts SQL logins too.
- auth = kerberos when [smb]'s keytab gives no ticket: refused before anything is sent, naming the principal.
- on the wire (a raw TDS client): tdsd's CHALLENGE carries a random challenge per connection, the domain and
  a current MsvAvTimestamp; a malformed AUTHENTICATE gets 18456 and the connection closes, a batch in its
  place closes it unanswered, a Kerberos token without --kerberos-keytab gets 18452; tdsd lives on.
- `-n`: auth = sql with a DOMAIN\\name user and auth = ntlm without a domain are refused with a hint."""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, free_port, USER, PASSWORD, DATABASE, SCANNER  # noqa: E402
from sitedb_tls import make_ca, make_server  # noqa: E402

ADDR = "127.98.0.1"      # this test's lab base (tests/integration/meson.build)
DOMAIN = "CONTOSO"
WIN_USER = "svc_cmread"
WIN_PASSWORD = "Wn-pw_4469580!"


def tdsd_log(env):
    with open(env.tdsd_log, encoding="utf-8", errors="replace") as f:
        return f.read()


def start(env, extra=()):
    """dpfleet-tdsd on ADDR with the Windows login CONTOSO\\svc_cmread (and the SQL login, refused while
    --windows-only is in extra).  Retries another port when the one chosen was taken meanwhile."""
    env.stop_tdsd()
    for _ in range(10):
        env.port = free_port()
        if env.launch_tdsd(["--listen", "%s:%d" % (ADDR, env.port), "--db", env.sitedb_path,
                            "--login", "%s:%s" % (USER, PASSWORD),
                            "--windows-login", "%s\\%s:%s" % (DOMAIN, WIN_USER, env.win_pw_file),
                            "--database", DATABASE, "--faults", env.faults_path, "-v"] + list(extra)):
            return
    raise RuntimeError("dpfleet-tdsd did not start on %s: %s" % (ADDR, env.tdsd_stderr()))


def conf(env, name, auth, user, password_file, encryption="off", ca_file=None):
    """write_conf's scanner.conf on ADDR with [sitedb] auth and user replaced."""
    path = env.write_conf(name, password_file=password_file, encryption=encryption)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("host = 127.0.0.1\n", "host = %s\n" % ADDR)
    text = text.replace("user = %s\npassword_file" % USER, "auth = %s\nuser = %s\npassword_file" % (auth, user), 1)
    if ca_file:
        text = text.replace("encryption = %s\n" % encryption, "encryption = %s\nca_file = %s\n" % (encryption,
                                                                                                ca_file))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def reads(t, env, what, path, who):
    before = len(tdsd_log(env))
    rc, out, err, _ = env.scanner(path)
    t.equal((rc, err), (0, ""), "%s: inventory exits 0, nothing on stderr" % what)
    t.check(out.count("\n") > 5 and "P01\tprimary" in out and "dp1.contoso.com" in out,
            "%s: the fleet was read" % what)
    log = tdsd_log(env)[before:]
    t.check("login ok: user '%s' (Windows, NTLMv2)" % who in log,
            "%s: tdsd verified the NTLMv2 login of %s (%r)" % (what, who, log[-400:]))
    t.check(log.find("login ok") < log.find("batch SELECT"), "%s: the batches came after the login" % what)
    t.equal(env.leftovers, [], "%s: private freetds.conf removed" % what)


def refused(t, env, what, path, want, tdsd_says):
    """Exit 1, one line naming want, no secret in it; tdsd logged tdsd_says and ran no batch; nothing lost."""
    stored, before = env.stored(), len(tdsd_log(env))
    rc, out, err, _ = env.scanner(path)
    log = tdsd_log(env)[before:]
    t.check(rc == 1 and out == "" and len(err.splitlines()) == 1 and all(w in err for w in want),
            "%s: refused, exit 1, one line naming %s (%r)" % (what, want, err.strip()))
    t.check(WIN_PASSWORD not in err and PASSWORD not in err, "%s: no password in the message" % what)
    t.check(tdsd_says in log and "batch " not in log,
            "%s: tdsd logged '%s' and ran no batch (%r)" % (what, tdsd_says, log.strip()[-300:]))
    t.equal(env.stored(), stored, "%s: the stored fleet is unchanged" % what)
    t.equal(env.leftovers, [], "%s: private freetds.conf removed" % what)


def tds_packet(ptype, payload):
    return struct.pack(">BBHHBB", ptype, 1, len(payload) + 8, 0, 1, 0) + payload


def login7_integrated(token):
    """A TDS 7.4 LOGIN7 (MS-TDS 2.2.6.4) with fIntSecurity, every string empty and token in the SSPI field."""
    fixed = 94
    head = struct.pack("<IIIIII", fixed + len(token), 0x74000004, 4096, 0, 0, 0)
    head += bytes([0xE0, 0x83, 0, 0]) + struct.pack("<iI", 0, 0x409)
    head += struct.pack("<HH", fixed, 0) * 9 + bytes(6)          # HostName .. Database, ClientID
    head += struct.pack("<HH", fixed, len(token)) + struct.pack("<HHHHI", fixed, 0, fixed, 0, 0)
    assert len(head) == fixed
    return head + token


NEGOTIATE = (b"NTLMSSP\0" + struct.pack("<II", 1, 0x0008b201) + struct.pack("<HHI", 0, 0, 40) * 2 +
             bytes([5, 1, 0x28, 0x0a, 0, 0, 0, 0x0f]))


def read_reply(s):
    """One server message (packets up to EOM) as its payload; b"" when the server closed first."""
    data = b""
    while True:
        hdr = b""
        while len(hdr) < 8:
            chunk = s.recv(8 - len(hdr))
            if not chunk:
                return data
            hdr += chunk
        ptype, status, length = struct.unpack(">BBH", hdr[:4])
        body = b""
        while len(body) < length - 8:
            chunk = s.recv(length - 8 - len(body))
            if not chunk:
                return data + body
            body += chunk
        data += body
        if status & 1:
            return data


def raw_challenge(env):
    """LOGIN7 with our NEGOTIATE; returns (socket, the CHALLENGE_MESSAGE from the SSPI token)."""
    s = socket.create_connection((ADDR, env.port), timeout=10)
    s.sendall(tds_packet(0x10, login7_integrated(NEGOTIATE)))
    reply = read_reply(s)
    if len(reply) < 3 or reply[0] != 0xED or struct.unpack("<H", reply[1:3])[0] != len(reply) - 3:
        s.close()
        raise AssertionError("no SSPI token in %r" % reply[:40])
    return s, reply[3:]


def av_pairs(msg):
    """{AvId: value} of a CHALLENGE_MESSAGE's TargetInfo (MS-NLMP 2.2.2.1)."""
    length, _, off = struct.unpack("<HHI", msg[40:48])
    info, pairs, pos = msg[off:off + length], {}, 0
    while pos + 4 <= len(info):
        av_id, av_len = struct.unpack("<HH", info[pos:pos + 4])
        pairs[av_id] = info[pos + 4:pos + 4 + av_len]
        pos += 4 + av_len
        if av_id == 0:
            break
    return pairs


def wire(t, env):
    """The NTLM exchange on the wire: CHALLENGE contents, and what a broken client gets."""
    s1, c1 = raw_challenge(env)
    s2, c2 = raw_challenge(env)
    t.check(c1[:8] == b"NTLMSSP\0" and struct.unpack("<I", c1[8:12])[0] == 2, "wire: an NTLM CHALLENGE_MESSAGE")
    t.check(c1[24:32] != c2[24:32] and c1[24:32] != bytes(8), "wire: each connection its own random challenge")
    name_len, _, name_off = struct.unpack("<HHI", c1[12:20])
    t.equal(c1[name_off:name_off + name_len].decode("utf-16-le"), DOMAIN, "wire: TargetName is the domain")
    pairs = av_pairs(c1)
    t.equal(pairs.get(2, b"").decode("utf-16-le"), DOMAIN, "wire: MsvAvNbDomainName")
    ts = struct.unpack("<Q", pairs.get(7, bytes(8)))[0] / 1e7 - 11644473600
    t.check(abs(ts - time.time()) < 300, "wire: MsvAvTimestamp is now (%.0f s off)" % (ts - time.time()))
    t.check(0 in pairs, "wire: TargetInfo ends with MsvAvEOL")
    # A broken AUTHENTICATE: 18456, then the server closes.
    bad = b"NTLMSSP\0" + struct.pack("<I", 3) + bytes(8) + struct.pack("<HHI", 100, 100, 1000) + bytes(36)
    s1.sendall(tds_packet(0x11, bad))     # NtChallengeResponse points past the message's end
    reply = read_reply(s1)
    t.check(len(reply) > 7 and reply[0] == 0xAA and struct.unpack("<i", reply[3:7])[0] == 18456,
            "wire: a malformed AUTHENTICATE gets ERROR 18456 (%r)" % reply[:16])
    t.equal(read_reply(s1), b"", "wire: then the server closes the connection")
    s1.close()
    # A batch where the AUTHENTICATE belongs: closed without an answer.
    s2.sendall(tds_packet(0x01, "SELECT 1".encode("utf-16-le")))
    t.equal(read_reply(s2), b"", "wire: a batch instead of AUTHENTICATE: closed, no answer")
    s2.close()
    # A GSS token with no --kerberos-keytab: 18452.
    s = socket.create_connection((ADDR, env.port), timeout=10)
    s.sendall(tds_packet(0x10, login7_integrated(b"\x60\x82\x01\x00" + bytes(60))))
    reply = read_reply(s)
    s.close()
    t.check(len(reply) > 7 and reply[0] == 0xAA and struct.unpack("<i", reply[3:7])[0] == 18452,
            "wire: a Kerberos token without a keytab gets ERROR 18452 (%r)" % reply[:16])
    t.check(env.proc.poll() is None, "wire: tdsd lives on")


def check_n(path):
    p = subprocess.run([SCANNER, "-n", "-f", path], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr.decode("utf-8")


def main(t, env):
    env.win_pw_file = env._secret("pw-win", WIN_PASSWORD)
    win_bad = env._secret("pw-win-bad", "Wn-pw_4469581!")
    account = "%s\\%s" % (DOMAIN, WIN_USER)
    start(env, ["--windows-only"])

    # 1. DOMAIN\user over NTLMv2: the fleet is read (and stored).
    good = conf(env, "ntlm.conf", "ntlm", account, env.win_pw_file)
    reads(t, env, "ntlm", good, account)
    t.check(env.stored() is not None and len(env.stored()[1]) == 5, "ntlm: the fleet was stored (5 hosts)")
    reads(t, env, "ntlm, domain in lower case", conf(env, "lower.conf", "ntlm", "contoso\\" + WIN_USER,
                                                       env.win_pw_file), "contoso\\" + WIN_USER)

    # 2. A wrong password: 18456, nothing lost.
    refused(t, env, "wrong password", conf(env, "bad.conf", "ntlm", account, win_bad),
            ["login failed", "18456", account], "does not match its password")

    # 3. A domain the server does not trust: 18452.
    refused(t, env, "untrusted domain", conf(env, "fab.conf", "ntlm", "FABRIKAM\\" + WIN_USER, env.win_pw_file),
            ["login failed", "18452", "untrusted domain", "FABRIKAM\\" + WIN_USER, "does not trust"],
            "domain 'FABRIKAM' is not trusted")

    # 4. A SQL login against the Windows-only server: refused (18456); accepted once SQL logins are allowed.
    sql = conf(env, "sql.conf", "sql", USER, env.pw_good)
    refused(t, env, "SQL login, Windows-only", sql, ["login failed", "18456", USER],
            "Windows authentication only")
    start(env)   # a new port: the files are written again
    rc, out, err, _ = env.scanner(conf(env, "sql.conf", "sql", USER, env.pw_good))
    t.equal((rc, err), (0, ""), "SQL login, mixed mode: inventory exits 0")
    reads(t, env, "ntlm, mixed mode", conf(env, "ntlm.conf", "ntlm", account, env.win_pw_file), account)

    # 5. Inside TLS: the NTLM exchange travels encrypted (encryption = require, certificate checked).
    ca = make_ca(env.dir, "ca")
    start(env, ["--windows-only"] + make_server(env.dir, "tdsd", ca, "IP:%s" % ADDR))
    before = len(tdsd_log(env))
    reads(t, env, "ntlm over TLS", conf(env, "tls.conf", "ntlm", account, env.win_pw_file, "require", ca[1]),
          account)
    t.check("everything encrypted" in tdsd_log(env)[before:], "ntlm over TLS: tdsd logged an encrypted session")
    # With only LOGIN7 encrypted (request against --tls-mode login) the SSPI exchange follows in plain text.
    start(env, ["--windows-only", "--tls-mode", "login"] + make_server(env.dir, "tdsd2", ca, "IP:%s" % ADDR))
    before = len(tdsd_log(env))
    reads(t, env, "ntlm, LOGIN7 only encrypted", conf(env, "tls2.conf", "ntlm", account, env.win_pw_file,
                                                        "request"), account)
    t.check("LOGIN7 encrypted, then plain text" in tdsd_log(env)[before:],
            "ntlm, LOGIN7 only encrypted: tdsd logged it")

    # 6. auth = kerberos without a ticket: [smb]'s keytab gives none (no KDC for the realm); refused before
    #    anything is sent, naming the principal.
    keytab = env._secret("keytab", "")
    with open(os.path.join(env.dir, "krb5.conf"), "w") as f:
        f.write("[libdefaults]\n\tdefault_realm = LAB.TEST\n\tdns_lookup_kdc = false\n")
    os.environ["KRB5_CONFIG"] = os.path.join(env.dir, "krb5.conf")    # not the machine's /etc/krb5.conf
    path = conf(env, "krb.conf", "kerberos", "x", env.win_pw_file)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("user = x\npassword_file = %s\n" % env.win_pw_file, "", 1)
    text = text.replace("[smb]\nuser = svc_dpfleet\npassword_file = %s\n" % env.win_pw_file,
                        "[smb]\nuser = svc_dpfleet\nkeytab = %s\nprincipal = svc_dpfleet@LAB.TEST\n" % keytab)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    before = len(tdsd_log(env))
    rc, out, err, _ = env.scanner(path)
    t.check(rc == 1 and "no usable Kerberos ticket" in err and "svc_dpfleet@LAB.TEST" in err,
            "kerberos without a ticket: exit 1 naming the principal (%r)" % err.strip()[-300:])
    t.check("PRELOGIN" not in tdsd_log(env)[before:], "kerberos without a ticket: nothing sent to the server")
    t.equal(env.leftovers, [], "kerberos without a ticket: private freetds.conf removed")

    # 7. The exchange on the wire, and broken clients.
    start(env, ["--windows-only"])
    wire(t, env)

    # 8. -n refuses the two mistakes a Windows login invites.
    rc, err = check_n(conf(env, "n1.conf", "sql", account, env.win_pw_file))
    t.check(rc == 1 and "is a Windows account: set auth = ntlm" in err, "-n: auth = sql with DOMAIN\\name (%r)" % err)
    rc, err = check_n(conf(env, "n2.conf", "ntlm", WIN_USER, env.win_pw_file))
    t.check(rc == 1 and "is not DOMAIN\\name" in err, "-n: auth = ntlm without a domain (%r)" % err)
    rc, err = check_n(conf(env, "ntlm.conf", "ntlm", account, env.win_pw_file))
    t.equal((rc, err), (0, ""), "-n: the ntlm configuration is OK")


if __name__ == "__main__":
    run(main)
