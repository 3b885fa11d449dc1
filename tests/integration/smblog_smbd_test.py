#!/usr/bin/env python3
"""smblog_smbd_test.py — scanner/smblog.c (+ logparse.c) against a real smbd (suite 'integration').

Starts one isolated smbd on 127.89.0.1 and on an IPv6 loopback address of its own (tests/lab/dpfleet_lab/ipv6.py:
fd00:7f59::1, or ::1 under the lab's lock), every path in a temp dir, users through libnss-wrapper, smbpasswd,
with shares SMS_DP$ (sms/logs/SMSPXE.log, 3 MB, and SMSPXE.lo_), ADMIN$ (CCM/Logs), C$ (SMS_CCM/Logs and
Program Files/SMS_CCM/Logs), SMS_PS1 (Logs: CertMgr.log, CertMgr.lo_, SMSPXE.log) and LOCKED$ (no access for our
user), then drives the smblog_smbd_test C program (argv[1]): tail of a big file (exactly its last N bytes
arrive), tail larger than the file, absent file, absent share, unreadable file and share (access_denied), wrong
password (logon_failure), nothing listening on 127.89.0.2 (refused), a listener that accepts TCP and never speaks
SMB (smb_timeout: the words are lib/reason.h's), the SMSPXE placements in their order (site server's Logs,
SMS_CCM\Logs at both paths, CCM\Logs, SMS_DP$; doc/FIELD-NOTES.md §6) with a denied placement passed over, the
newest history copy picked by its name's timestamp, the site server's CertMgr.log and CertMgr.lo_, a tail over
IPv6 (the address becomes its ipv6-literal.net name), and that no connection to port 445 is left open after a
purge.
smbd, samba-dcerpcd and rpcd_* are stopped by their pid files (and by our unique config path as a fallback)
in a finally block, and the temp dir is removed, even when a check fails.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from smbd_harness import Smbd, check, parse, port_open  # noqa: E402
from dpfleet_lab import ipv6  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by smbd_harness)
from checks import test  # noqa: E402

DRIVER = sys.argv[1]
SRC = os.environ.get("DPFLEET_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(SRC, "tests", "unit", "data", "logs")
ADDR = "127.89.0.1"
REFUSED_ADDR = "127.89.0.2"
STALL_ADDR = "127.89.0.3"  # accepts TCP, never answers the SMB negotiate
USER, USER_PW = "logreader", "L0g-reader!"
TAIL = 262144


def ccm(msg, t, d, typ):
    return ('<![LOG[%s]LOG]!><time="%s" date="%s" component="SMSPXE" context="" type="%d" thread="6004" '
            'file="smspxe.cpp:1">' % (msg, t, d, typ))


class LogSmbd(Smbd):
    """The log host: logreader, shares SMS_DP$, ADMIN$, C$, SMS_PS1 and LOCKED$ (valid users = nobody); it
    listens on ADDR and on addr6."""

    def __init__(self, root, addr6):
        shares = "".join("[%s]\n  path = %s\n  read only = yes\n%s" % (name, os.path.join(root, d), extra)
                         for name, d, extra in (("SMS_DP$", "dp", ""), ("ADMIN$", "admin", ""), ("C$", "c", ""),
                                                ("SMS_PS1", "ps1", ""),
                                                ("LOCKED$", "locked", "  valid users = nobody\n")))
        super().__init__(root, ADDR, "DPLOGS", "%s:x:20101:20101::/nonexistent:/bin/false\n" % USER,
                         "logreaders:x:20101:%s\n" % USER,
                         ("dp/sms/logs", "admin/CCM/Logs", "c/SMS_CCM/Logs", "c/Program Files/SMS_CCM/Logs",
                          "ps1/Logs", "locked"), shares)
        conf = open(self.conf).read().replace("interfaces = %s/8" % ADDR, "interfaces = %s/8 %s/128" % (ADDR, addr6))
        with open(self.conf, "w") as f:
            f.write(conf)

    def setup(self):
        self.add_user(USER, USER_PW)


SUPP = None  # merged LeakSanitizer suppressions: tests/lsan.supp + smblog_smbd_test.supp


def merge_suppressions(root):
    global SUPP
    SUPP = os.path.join(root, "lsan.supp")
    with open(SUPP, "w") as out:
        for p in (os.path.join(SRC, "tests", "lsan.supp"), os.path.join(os.path.dirname(__file__),
                                                                        "smblog_smbd_test.supp")):
            if os.path.exists(p):
                out.write(open(p).read() + "\n")


def drive(*args, pw=USER_PW, addr=ADDR, timeout_ms=15000):
    """Run the driver: ADDR USER args...; SMBLOG_TEST_NAME is never set here (names need a resolver)."""
    env = dict(os.environ, SMBLOG_TEST_PASSWORD=pw, SMBLOG_TEST_TIMEOUT_MS=str(timeout_ms))
    if SUPP:
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % SUPP
        # Samba's libraries lack frame pointers: the slow unwinder is needed to see the suppressed frames
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1") + ":fast_unwind_on_malloc=0"
    # the subprocess timeout only guards against a hang; nothing asserts on durations
    r = subprocess.run([DRIVER, addr, USER] + [str(a) for a in args], env=env, capture_output=True, text=True,
                       timeout=60)
    print("  %s -> exit %d: %s %s" % (" ".join(str(a) for a in args), r.returncode, r.stdout.strip(),
                                      r.stderr.strip()[-300:]), flush=True)
    return r.returncode, parse(r.stdout)


def write_logs(root):
    """A 3 MB SMSPXE.log ending with the KB 4469580 sequence, an older .lo_, ADMIN$ and CertMgr copies."""
    kb = open(os.path.join(DATA, "smspxe_kb4469580.log"), "rb").read()
    filler = []
    i = 0
    size = 0
    while size < 3 * 1024 * 1024:
        r = ccm("Looking for bootImage PS100004 (%d)" % i, "10:%02d:%02d.%03d+300" % (i // 3600 % 60, i // 60 % 60,
                i % 1000), "06-03-2019", 1)
        filler.append(r)
        size += len(r) + 2
        i += 1
    big = ("\r\n".join(filler) + "\r\n").encode() + kb
    with open(os.path.join(root, "dp/sms/logs/SMSPXE.log"), "wb") as f:
        f.write(big)
    lo = "\r\n".join([ccm("PXE::MP_GetList failed; 0x80092002", "09:00:00.000+300", "06-02-2019", 3),
                      ccm("PXE::MP_LookupDevice failed; 0x80092002", "09:00:01.000+300", "06-02-2019", 3),
                      ""]).encode()
    with open(os.path.join(root, "dp/sms/logs/SMSPXE.lo_"), "wb") as f:
        f.write(lo)
    shutil.copy(os.path.join(DATA, "certmgr.log"), os.path.join(root, "ps1/Logs/CertMgr.log"))
    shutil.copy(os.path.join(DATA, "certmgr.log"), os.path.join(root, "ps1/Logs/CertMgr.lo_"))
    secret = os.path.join(root, "dp/sms/logs/secret.log")
    with open(secret, "wb") as f:
        f.write(b"nope\r\n")
    os.chmod(secret, 0)
    return big, lo


def place(root, rel, text=None, src=None):
    """Put an SMSPXE log at root/rel (a copy of src, or text)."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if src is not None:
        shutil.copy(src, path)
    else:
        with open(path, "w") as f:
            f.write(text)


def pxe_checks(root, out, lo):
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("status") == "ok" and d.get("share") == "SMS_DP$" and d.get("place") == "dp",
          "pxe: found on SMS_DP$ (C$ and ADMIN$ have none)")
    check(d.get("log") == str(TAIL) and d.get("lo_") == str(len(lo)), "pxe: .log tail and whole .lo_")
    check(d.get("hist") == "-", "pxe: no history copy yet")
    check(d.get("cert_errors") == "10" and d.get("last_error") == "2019-06-03T17:15:02Z",
          "pxe: 8 + 2 cert errors, newest 2019-06-03T17:15:02Z")
    check(d.get("smb_sockets") == "0", "pxe: no connection left open")

    # a figure, not an assertion: 20 fetches (4 KiB tails of .log and .lo_, the history listing, purge)
    os.environ["SMBLOG_TEST_REPEAT"] = "20"
    try:
        rc, d = drive("pxe", 4096, out)
    finally:
        del os.environ["SMBLOG_TEST_REPEAT"]
    check(rc == 0 and d.get("status") == "ok", "pxe: 20 fetches in one context")
    print("figure: 20 SMSPXE fetches (5 placements looked at, 2 tail reads, history listing, purge) in %s ms"
          % d.get("ms"), flush=True)

    logs = "dp/sms/logs/"
    expired = os.path.join(DATA, "smspxe_expired.log")
    for name in ("SMSPXE-20190601-090000.log", "SMSPXE-20190602-120000.lo_", "smspxe-2019060-120000.log",
                 "SMSPXE-20190602-11000x.log", "SMSPXE.txt"):
        place(root, logs + name, text="decoy\r\n")
    place(root, logs + "smspxe-20190602-120000.log", src=expired)
    rc, d = drive("pxe", TAIL, out)
    got = open(os.path.join(out, "HIST"), "rb").read() if rc == 0 else b""
    check(rc == 0 and d.get("hist") == "smspxe-20190602-120000.log" and got == open(expired, "rb").read(),
          "history: the newest by the name's timestamp, .log before .lo_ of the same second, the entry's own "
          "spelling, malformed names skipped (hist=%s)" % d.get("hist"))

    place(root, "admin/CCM/Logs/SMSPXE.log", src=expired)
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("place") == "client" and d.get("share") == "ADMIN$" and d.get("lo_") == "-1",
          "pxe: the client's CCM\\Logs comes before SMS_DP$")
    place(root, "c/Program Files/SMS_CCM/Logs/SMSPXE.lo_", src=expired)
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("place") == "client", "pxe: a folder with only SMSPXE.lo_ is no placement")
    place(root, "c/Program Files/SMS_CCM/Logs/SMSPXE.log", src=expired)
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("place") == "mp_program_files" and d.get("share") == "C$" and d.get("lo_") != "-1",
          "pxe: an MP's Program Files\\SMS_CCM\\Logs (.log and .lo_) before CCM\\Logs")
    os.environ["SMBLOG_TEST_NOT_MP"] = "1"
    try:
        rc, d = drive("pxe", TAIL, out)
    finally:
        del os.environ["SMBLOG_TEST_NOT_MP"]
    check(rc == 0 and d.get("place") == "client", "pxe: a host that is no MP: SMS_CCM is not looked at")
    place(root, "c/SMS_CCM/Logs/SMSPXE.log", src=expired)
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("place") == "mp" and d.get("share") == "C$", "pxe: C$ SMS_CCM\\Logs before them")
    place(root, "ps1/Logs/SMSPXE.log", src=expired)
    rc, d = drive("pxe", TAIL, out, "PS1")
    check(rc == 0 and d.get("place") == "site_server" and d.get("share") == "SMS_PS1",
          "pxe: on its site's server, the site's Logs folder first")
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("place") == "mp", "pxe: without the site code the site's Logs are not looked at")

    os.chmod(os.path.join(root, "c/SMS_CCM"), 0)
    try:
        rc, d = drive("pxe", TAIL, out)
        check(rc == 0 and d.get("place") == "mp_program_files",
              "pxe: a denied placement is passed over when a later one has the log")
        os.rename(os.path.join(root, "c/Program Files"), os.path.join(root, "c/Program Files.off"))
        os.rename(os.path.join(root, "admin/CCM"), os.path.join(root, "admin/CCM.off"))
        os.rename(os.path.join(root, "dp/sms"), os.path.join(root, "dp/sms.off"))
        rc, d = drive("pxe", TAIL, out)
        check(rc == 1 and d.get("status") == "access_denied", "pxe: denied and found nowhere else → access_denied")
    finally:
        os.chmod(os.path.join(root, "c/SMS_CCM"), 0o755)
    os.rename(os.path.join(root, "c/SMS_CCM"), os.path.join(root, "c/SMS_CCM.off"))
    rc, d = drive("pxe", TAIL, out)
    check(rc == 0 and d.get("status") == "not_found" and d.get("share") == "-", "pxe: nowhere → not_found")
    rc, d = drive("pxe", TAIL, out, pw="wrong")
    check(rc == 1 and d.get("status") == "logon_failure", "pxe: wrong password → logon_failure")


def certmgr_checks():
    rc, d = drive("certmgr", "PS1", TAIL, "DP1.contoso.com")
    check(rc == 0 and d.get("status") == "ok" and d.get("log") != "-1" and d.get("lo_") != "-1"
          and d.get("denied") == "8" and d.get("last") == "2023-09-18T01:26:15Z",
          "certmgr: SMS_PS1 Logs/CertMgr.log and CertMgr.lo_ name dp1 4 times each")
    check(d.get("smb_sockets") == "0", "certmgr: no connection left open")
    rc, d = drive("certmgr", "XYZ", TAIL, "dp1.contoso.com")
    check(rc == 0 and d.get("status") == "not_found", "certmgr: no SMS_XYZ share → not_found")


def ipv6_checks(addr6, out):
    rc, d = drive("tail", "SMS_PS1", "Logs/CertMgr.log", TAIL, os.path.join(out, "v6"), addr=addr6)
    check(rc == 0 and d.get("status") == "ok" and d.get("len") != "0",
          "IPv6 %s: a tail read (smb://%s.ipv6-literal.net/...)" % (addr6, addr6.replace(":", "-")))
    check(d.get("smb_sockets") == "0", "IPv6: no connection left open")
    rc, d = drive("tail", "SMS_PS1", "Logs/CertMgr.log", TAIL, os.path.join(out, "v6"), addr="[%s]" % addr6)
    check(rc == 1 and d.get("status") == "error", "IPv6: a bracketed address is refused, not taken for a port")


@test('log tails over SMB against a private smbd: tail, pxe, certmgr, failures')
def main():
    for a in (ADDR, REFUSED_ADDR, STALL_ADDR):
        if port_open(a):
            check(False, "something already listens on %s:445; refusing to run" % a)
            return
    root = tempfile.mkdtemp(prefix="smblog_smbd_")
    os.chmod(root, 0o755)  # smbd reads the shares as our test user
    smbd = None
    try:
        addr6 = ipv6.claim(root, "127.89.0.0", 0)
        smbd = LogSmbd(root, addr6)
        merge_suppressions(root)
        big, lo = write_logs(root)
        smbd.setup()
        smbd.start()
        out = os.path.join(root, "out")
        os.makedirs(out)

        rc, d = drive("tail", "SMS_DP$", "sms/logs/SMSPXE.log", TAIL, os.path.join(out, "tail"))
        got = open(os.path.join(out, "tail"), "rb").read() if rc == 0 else b""
        check(rc == 0 and d.get("status") == "ok", "tail of SMS_DP$ sms/logs/SMSPXE.log is ok")
        check(d.get("len") == str(TAIL) and d.get("size") == str(len(big)),
              "only %d bytes of the %d-byte file arrive" % (TAIL, len(big)))
        check(got == big[-TAIL:], "the bytes are exactly the file's last %d" % TAIL)
        check(d.get("smb_sockets") == "0", "no connection to :445 left after smblog_purge")

        rc, d = drive("tail", "SMS_DP$", "/sms/logs/SMSPXE.lo_", TAIL, os.path.join(out, "lo"))
        got = open(os.path.join(out, "lo"), "rb").read() if rc == 0 else b""
        check(rc == 0 and d.get("len") == str(len(lo)) and got == lo, "tail longer than the file: whole file")

        rc, d = drive("tail", "SMS_DP$", "sms/logs/NoSuch.log", TAIL, os.path.join(out, "x"))
        check(rc == 0 and d.get("status") == "not_found" and d.get("len") == "0", "absent file → not_found, rc 0")

        rc, d = drive("tail", "NOPE$", "sms/logs/SMSPXE.log", TAIL, os.path.join(out, "x"))
        check(rc == 0 and d.get("status") == "not_found", "absent share → not_found, rc 0")

        rc, d = drive("tail", "SMS_DP$", "sms/logs/secret.log", TAIL, os.path.join(out, "x"))
        check(rc == 1 and d.get("status") == "access_denied", "unreadable file → access_denied")

        rc, d = drive("tail", "LOCKED$", "x.log", TAIL, os.path.join(out, "x"))
        check(rc == 1 and d.get("status") == "access_denied", "share the user may not use → access_denied")

        rc, d = drive("tail", "SMS_DP$", "sms/logs/SMSPXE.log", TAIL, os.path.join(out, "x"), pw="wrong")
        check(rc == 1 and d.get("status") == "logon_failure", "wrong password → logon_failure")

        rc, d = drive("tail", "SMS_DP$", "sms/logs/SMSPXE.log", TAIL, os.path.join(out, "x"), addr=REFUSED_ADDR)
        check(rc == 1 and d.get("status") == "refused", "nothing listening → refused (ms=%s)" % d.get("ms"))

        stall = socket.socket()
        stall.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        stall.bind((STALL_ADDR, 445))
        stall.listen(8)
        try:
            rc, d = drive("tail", "SMS_DP$", "sms/logs/SMSPXE.log", TAIL, os.path.join(out, "x"), addr=STALL_ADDR,
                          timeout_ms=1500)
        finally:
            stall.close()
        check(rc == 1 and d.get("status") == "smb_timeout",
              "server that accepts TCP and never answers SMB → smb_timeout (smbc_setTimeout 1500 ms, took ms=%s)"
              % d.get("ms"))

        rc, d = drive("tail", "SMS_DP$", "sms/logs/SMSPXE.log", 9 * 1024 * 1024, os.path.join(out, "x"))
        check(rc == 1 and d.get("status") == "error", "tail above SMBLOG_TAIL_MAX is refused")

        pxe_checks(root, out, lo)
        certmgr_checks()
        ipv6_checks(addr6, out)
    except Exception as e:  # noqa: BLE001 — any setup error is a test failure
        check(False, "exception: %r" % e)
    finally:
        if smbd is not None:
            smbd.stop()
        ipv6.release(root)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(checks.run())
