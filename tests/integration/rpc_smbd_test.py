#!/usr/bin/env python3
"""rpc_smbd_test.py — scanner/rpc.c + scanner/rrp.c against a real smbd (suite 'integration').

Starts one isolated smbd on 127.88.0.1 (every path in a temp dir, users through libnss-wrapper, registry seeded
with `net registry import`), then drives the rpc_smbd_test C program (argv[1]) through: read an existing
REG_MULTI_SZ, missing value, missing key, denied key, write + read back (also checked with Samba's own
`net rpc registry getvalue`), raw restore of the exact previous bytes, delete, write as a non-admin (denied),
and the connect failures with the reason word and the phase rpc.c saw (lib/reason.h): wrong password
(logon_failure, smb), nothing listening (refused, tcp), a TCP listener that never speaks SMB (smb_timeout, smb),
dropped SYNs (timeout, tcp), rpcd_winreg stopped (rpc_timeout, bind), no samba-dcerpcd and on-demand start
off (the CREATE of \winreg fails: rpc_unavailable, pipe), rpcd_winreg stopped after the connect (the read
fails with rpc_timeout).
smbd, samba-dcerpcd and rpcd_* are stopped by their pid files (and by our unique config path as a fallback)
in a finally block, and the temp dir is removed, even when a check fails.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smbd_harness import Smbd, check, open_cmdline, parse, port_open, syn_dropper, zombie  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by smbd_harness)
from checks import test  # noqa: E402

PROBE = sys.argv[1]
ADDR = "127.88.0.1"
REFUSED_ADDR = "127.88.0.2"
SILENT_ADDR = "127.88.0.3"     # accepts TCP, never answers SMB
BLACKHOLE_ADDR = "127.88.0.4"  # accept queue full: SYNs are dropped, connect() stays in SYN_SENT
KEY = r"SOFTWARE\Microsoft\SMS\Security"
DENIED_KEY = r"SOFTWARE\Microsoft\SMS\Denied"
VALUE = "IssuingCertificateList"
ADMIN, ADMIN_PW = "rrpadmin", "Adm1n-pw!"
USER, USER_PW = "rrpuser", "Us3r-pw!"


def multisz(*elems):
    return b"".join(e.encode("utf-16-le") + b"\0\0" for e in elems) + b"\0\0"


def reg_hex7(b):
    return "hex(7):" + ",".join("%02x" % x for x in b)


class RrpSmbd(Smbd):
    """The registry host: rrpadmin (in BUILTIN\\Administrators through rrpadmins) and rrpuser."""

    def __init__(self, root):
        super().__init__(root, ADDR, "DP1",
                         "%s:x:20001:20001::/nonexistent:/bin/false\n"
                         "%s:x:20002:20002::/nonexistent:/bin/false\n" % (ADMIN, USER),
                         "rrpadmins:x:20001:%s\nrrpusers:x:20002:%s\n" % (ADMIN, USER))

    def setup(self):
        for u, pw in ((ADMIN, ADMIN_PW), (USER, USER_PW)):
            self.add_user(u, pw)
        self.net("groupmap", "add", "sid=S-1-5-32-544", "unixgroup=rrpadmins", "type=builtin")
        reg = os.path.join(self.root, "seed.reg")
        with open(reg, "w") as f:
            f.write("Windows Registry Editor Version 5.00\r\n\r\n"
                    "[HKEY_LOCAL_MACHINE\\%s]\r\n\"%s\"=%s\r\n\"Other\"=\"x\"\r\n\r\n"
                    "[HKEY_LOCAL_MACHINE\\%s]\r\n\"%s\"=%s\r\n\r\n"
                    % (KEY, VALUE, reg_hex7(multisz("CERT-A-dp1")), DENIED_KEY, VALUE,
                       reg_hex7(multisz("CERT-D"))))
        self.net("registry", "import", reg)
        self.net("registry", "setsd_sddl", "HKLM\\" + DENIED_KEY, "O:SYG:SYD:P(A;;0x000f003f;;;SY)")


def probe(*args, user=ADMIN, pw=ADMIN_PW, addr=ADDR, timeout_s=5):
    env = dict(os.environ, RPC_SMBD_TIMEOUT=str(timeout_s))
    r = subprocess.run([PROBE, addr, user, pw] + list(args), capture_output=True, text=True, timeout=120, env=env)
    if r.returncode not in (0,):
        print("  probe %s exit %d: %s %s" % (args, r.returncode, r.stdout.strip(), r.stderr.strip()))
    return r.returncode, r.stdout.strip(), r.stderr


def no_dcerpcd(smbd):
    """Remote Registry disabled, as smbd shows it: no samba-dcerpcd and none started on demand, so the CREATE
    of \\winreg fails (smbd answers NT_STATUS_CONNECTION_REFUSED there) → rpc_unavailable in the pipe phase.
    Runs last: the smbd keeps this configuration."""
    with open(smbd.conf) as f:
        conf = f.read()
    with open(smbd.conf, "w") as f:
        f.write(conf.replace("[global]\n", "[global]\n  rpc start on demand helpers = no\n", 1))
    for pid in smbd.pids("samba-dcerpcd") + smbd.pids("rpcd_"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    smbd.run("smbcontrol", "--configfile=" + smbd.conf, "smbd", "reload-config")
    time.sleep(1)
    rc, out, _ = probe("connect", timeout_s=2)
    check(out.startswith("fail rpc_unavailable pipe "), "no pipe server → rpc_unavailable in the pipe phase: " + out)


@test('MS-RRP against a private smbd: read, write, delete, restore, access, connect failures')
def main():
    if port_open(ADDR):
        check(False, "something already listens on %s:445; refusing to start smbd there" % ADDR)
        return
    root = tempfile.mkdtemp(prefix="rpc_smbd_")
    os.chmod(root, 0o755)  # rpcd_winreg impersonates the client user and must traverse it
    smbd = RrpSmbd(root)
    try:
        smbd.setup()
        smbd.start()
        orig = multisz("CERT-A-dp1")

        rc, out, _ = probe("read", KEY, VALUE)
        d = parse(out)
        check(rc == 0 and d.get("status") == "ok" and d.get("type") == "7", "read existing value: " + out)
        check(d.get("hex") == orig.hex() and d.get("elems") == "CERT-A-dp1", "read returns exact bytes + list")

        rc, out, _ = probe("loop", "50", KEY, VALUE)
        check(rc == 0 and "ok=50" in out, "50 connect+read+close cycles in one process: " + out)

        rc, out, _ = probe("read", KEY, "NoSuchValue")
        check(rc == 0 and parse(out).get("status") == "value_absent" and parse(out).get("werr") == "2",
              "missing value → value_absent: " + out)

        rc, out, _ = probe("read", r"SOFTWARE\Microsoft\SMS\NoSuchKey", VALUE)
        check(rc == 0 and parse(out).get("status") == "key_absent", "missing key → key_absent: " + out)

        rc, out, _ = probe("read", DENIED_KEY, VALUE)
        check(rc == 0 and parse(out).get("status") == "access_denied" and parse(out).get("werr") == "5",
              "denied key → access_denied: " + out)

        rc, out, _ = probe("read", KEY, "Other")
        d = parse(out)
        check(rc == 0 and d.get("status") == "ok" and d.get("type") == "1" and "decode_err" in d,
              "REG_SZ value is read raw, not decoded as a list: " + out)

        rc, out, _ = probe("write", KEY, VALUE, "CERT-B-dp1", "Zweites élément €")
        check(rc == 0 and parse(out).get("status") == "ok", "admin write → ok: " + out)
        rc, out, _ = probe("read", KEY, VALUE)
        d = parse(out)
        new = multisz("CERT-B-dp1", "Zweites élément €")
        check(d.get("hex") == new.hex(), "read back the exact bytes written")
        check(out.endswith("elems=CERT-B-dp1|Zweites élément €"), "read back the list written: " + out)
        g = smbd.net("rpc", "registry", "getvalue", "HKLM\\" + KEY, VALUE, "-I", ADDR,
                     "-U", "%s%%%s" % (ADMIN, ADMIN_PW))
        check("REG_MULTI_SZ" in g and "CERT-B-dp1" in g and "Zweites élément €" in g,
              "net rpc registry getvalue sees the written list")

        big = ["CERT-%04d-%s" % (i, "x" * 40) for i in range(400)]
        rc, out, _ = probe("write", KEY, VALUE, *big)
        rc2, out2, _ = probe("read", KEY, VALUE)
        check(rc == 0 and parse(out2).get("hex") == multisz(*big).hex(),
              "a %d-byte list round-trips" % len(multisz(*big)))

        rc, out, _ = probe("writeraw", KEY, VALUE, "7", orig.hex())
        check(rc == 0 and parse(out).get("status") == "ok", "raw restore → ok: " + out)
        rc, out, _ = probe("read", KEY, VALUE)
        check(parse(out).get("hex") == orig.hex(), "raw restore brought back the exact previous bytes")

        rc, out, _ = probe("write", KEY, VALUE, "CERT-EVIL", user=USER, pw=USER_PW)
        check(rc == 0 and parse(out).get("status") == "access_denied", "non-admin write → access_denied: " + out)
        rc, out, _ = probe("read", KEY, VALUE, user=USER, pw=USER_PW)
        check(parse(out).get("hex") == orig.hex(), "non-admin can read, and the value is unchanged")

        rc, out, _ = probe("delete", KEY, VALUE)
        check(rc == 0 and parse(out).get("status") == "ok", "delete → ok: " + out)
        rc, out, _ = probe("read", KEY, VALUE)
        check(parse(out).get("status") == "value_absent", "after delete → value_absent: " + out)
        rc, out, _ = probe("delete", KEY, VALUE)
        check(parse(out).get("status") == "value_absent", "second delete → value_absent: " + out)

        rc, out, _ = probe("write", r"SOFTWARE\Microsoft\SMS\NoSuchKey", VALUE, "X")
        check(parse(out).get("status") == "key_absent", "write never creates the key: " + out)

        # A host that stalls after the connection is up: each request is bounded by the timeout.
        env = dict(os.environ, RPC_SMBD_TIMEOUT="2", RPC_SMBD_WAIT_STDIN="1")
        p = subprocess.Popen([PROBE, ADDR, ADMIN, ADMIN_PW, "read", KEY, VALUE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
        stopped = []
        try:
            first = p.stdout.readline().strip()
            stopped = smbd.pids("rpcd_winreg")
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            t0 = time.monotonic()
            out, _ = p.communicate("\n", timeout=60)
            check(first == "connected" and stopped and out.startswith("error rpc_timeout ") and "TIMEOUT" in out.upper(),
                  "stalled rpcd_winreg after connect → the read fails with a timeout: %s %s" % (first, out.strip()))
            print("  stalled read failed in %.2f s (timeout 2 s)" % (time.monotonic() - t0))
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
            if p.poll() is None:
                p.kill()
                p.wait()

        # rpcd_winreg stopped before the connect: smbd opens the pipe, the bind is never answered.
        stopped = smbd.pids("rpcd_winreg")
        try:
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            rc, out, _ = probe("connect", timeout_s=2)
            check(stopped and out.startswith("fail rpc_timeout bind "), "stalled rpcd_winreg → rpc_timeout in the bind "
                  "phase: " + out)
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)

        rc, out, _ = probe("connect", pw="wrong-password")
        check(out.startswith("fail logon_failure smb "), "wrong password → logon_failure in the smb phase: " + out)

        t0 = time.monotonic()
        rc, out, _ = probe("connect", addr=REFUSED_ADDR)
        check(out.startswith("fail refused tcp "), "nothing listening → refused in the tcp phase: " + out)
        print("  refused classified in %.2f s" % (time.monotonic() - t0))

        socks = []
        try:
            silent = socket.socket()
            silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            silent.bind((SILENT_ADDR, 445))
            silent.listen(8)
            socks.append(silent)
            socks += syn_dropper(BLACKHOLE_ADDR)  # the probe's SYN is dropped
            for addr, what, want in ((SILENT_ADDR, "silent SMB server", "smb_timeout smb"),
                                     (BLACKHOLE_ADDR, "dropped SYNs", "timeout tcp")):
                t0 = time.monotonic()
                rc, out, _ = probe("connect", addr=addr, timeout_s=2)
                check(out.startswith("fail %s " % want), "%s → %s: %s" % (what, want, out))
                print("  %s classified in %.2f s (timeout 2 s)" % (what, time.monotonic() - t0))
        finally:
            for s in socks:
                s.close()
        no_dcerpcd(smbd)
    except Exception as e:  # noqa: BLE001 — any setup error is a test failure, cleanup still runs
        check(False, "exception: %s" % e)
    finally:
        smbd.stop()
        left = [p for p in os.listdir("/proc") if p.isdigit() and not zombie(int(p))
                and smbd.conf.encode() in open_cmdline(p)]
        check(not left, "no smbd / samba-dcerpcd / rpcd_* left behind: %s" % left)
        if os.environ.get("RPC_SMBD_KEEP"):
            print("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(checks.run())
