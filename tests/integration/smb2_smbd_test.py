#!/usr/bin/env python3
"""smb2_smbd_test.py — scanner/smb2.c (dpfleet's own SMB2/3 client, with smbauth.c's NTLMv2) against a real smbd.

Starts one isolated smbd on 127.92.0.1 (tests/integration/smbd_harness.py: every path in a temp dir, users
through libnss-wrapper and smbpasswd, `server signing = mandatory`) with share DATA: big.log (3 MiB), small.log,
empty.log and logs/ (SMSPXE.log, SMSPXE.lo_, SMSPXE-20190602-120000.log, other.txt).  For each server max
protocol SMB2_02, SMB2_10, SMB3_00, SMB3_02 and SMB3_11 (smbd restarted with it) the smb2_smbd_test driver
(argv[1]) connects with NTLM on one connection and checks: the dialect; the 1 MiB tail of big.log byte for byte
(SHA-256), an absent file (OBJECT_NAME_NOT_FOUND), the empty file (ok, no data), the whole of a small file, all in
one batch; a listing with a pattern; the winreg pipe on IPC$ and one FSCTL_PIPE_TRANSCEIVE of a DCE/RPC bind
answered by a bind_ack (type 12).  Signing: smbd refuses unsigned requests under mandatory signing and the driver
verifies every response, so each run exercises HMAC-SHA256 (2.x) or AES-CMAC (3.x).  Then, on SMB3_11: wrong
password → logon_failure, an unknown user mapped to guest → logon_failure (no anonymous fallback), a share
with `server smb encrypt = required` (smbd denies the tree connect: this client offers no encryption), an absent
share (BAD_NETWORK_NAME) and directory, a listing capped at one name,
nothing listening on 127.92.0.2 → refused, a listener on 127.92.0.3 that never answers → smb_timeout, then
the same address with its accept queue full (SYNs dropped) → timeout in phase tcp.
smbd, samba-dcerpcd and rpcd_* are stopped and the temp dir removed in a finally block, even when a check fails.
"""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smbd_harness import Smbd, check, parse, port_open, syn_dropper  # noqa: E402
import checks  # noqa: E402  (tests/lib, put on sys.path by smbd_harness)
from checks import test  # noqa: E402

DRIVER = sys.argv[1]
ADDR = "127.92.0.1"
REFUSED_ADDR = "127.92.0.2"
STALL_ADDR = "127.92.0.3"  # accepts TCP, never answers the SMB negotiate
USER, USER_PW = "smb2reader", "Smb2-reader!"
TAIL = 1024 * 1024
DIALECTS = (("SMB2_02", "0x0202"), ("SMB2_10", "0x0210"), ("SMB3_00", "0x0300"), ("SMB3_02", "0x0302"),
            ("SMB3_11", "0x0311"))
NOT_FOUND = "0xc0000034"


class DataSmbd(Smbd):
    def __init__(self, root):
        super().__init__(root, ADDR, "SMB2HOST", "%s:x:20201:20201::/nonexistent:/bin/false\n" % USER,
                         "smb2readers:x:20201:%s\n" % USER, ("data/logs",),
                         "[DATA]\n  path = %s\n  read only = yes\n"
                         "[ENC]\n  path = %s\n  read only = yes\n  server smb encrypt = required\n"
                         % (os.path.join(root, "data"), os.path.join(root, "data")))
        self.base = open(self.conf).read()

    def setup(self):
        self.add_user(USER, USER_PW)

    def protocol(self, maxproto):
        """Rewrite smb.conf for server max protocol maxproto, signing mandatory."""
        with open(self.conf, "w") as f:
            f.write(self.base.replace("  server min protocol = SMB2_02\n",
                                      "  server min protocol = SMB2_02\n  server max protocol = %s\n"
                                      "  server signing = mandatory\n  map to guest = bad user\n" % maxproto, 1))


def drive(*ops, pw=USER_PW, addr=ADDR, timeout_s=5, user=USER):
    env = dict(os.environ, SMB2_TEST_PASSWORD=pw, SMB2_TEST_TIMEOUT=str(timeout_s))
    r = subprocess.run([DRIVER, addr, user] + list(ops), env=env, capture_output=True, text=True, timeout=60)
    print("  %s -> exit %d: %s %s" % (" ".join(ops), r.returncode, r.stdout.strip(), r.stderr.strip()[-400:]),
          flush=True)
    return r.returncode, parse(r.stdout)


def write_data(root):
    data = os.path.join(root, "data")
    big = bytes((i * 131 + (i >> 12)) & 0xff for i in range(3 * 1024 * 1024))
    small = b"line one\r\nline two\r\n"
    for name, content in (("big.log", big), ("small.log", small), ("empty.log", b""),
                          ("logs/SMSPXE.log", b"pxe\r\n"), ("logs/SMSPXE.lo_", b"old\r\n"),
                          ("logs/SMSPXE-20190602-120000.log", b"hist\r\n"), ("logs/other.txt", b"x")):
        with open(os.path.join(data, name), "wb") as f:
            f.write(content)
    return big, small


def sha(b):
    return hashlib.sha256(b).hexdigest()


def dialect_run(smbd, maxproto, want, big, small):
    smbd.stop()
    smbd.protocol(maxproto)
    smbd.start()
    rc, d = drive("tree:DATA", "tails:%d:big.log,/nope.log,empty.log,small.log" % TAIL,
                  "list:logs:SMSPXE*:100", "tree:IPC$", "bind:winreg")
    check(rc == 0 and d.get("status") == "ok" and d.get("dialect") == want and d.get("mech") == "ntlm",
          "%s: connected, signed, dialect %s (got %s)" % (maxproto, want, d.get("dialect")))
    check(d.get("tree_DATA") == "0x00000000", "%s: tree connect DATA" % maxproto)
    check(d.get("f0") == "0x00000000:%d:%d:%s" % (len(big), TAIL, sha(big[-TAIL:])),
          "%s: the last 1 MiB of the 3 MiB file, byte for byte" % maxproto)
    check((d.get("f1") or "").startswith(NOT_FOUND + ":"), "%s: absent file → OBJECT_NAME_NOT_FOUND" % maxproto)
    check(d.get("f2") == "0x00000000:0:0:%s" % sha(b""), "%s: empty file → ok, no bytes" % maxproto)
    check(d.get("f3") == "0x00000000:%d:%d:%s" % (len(small), len(small), sha(small)),
          "%s: tail larger than the file → the whole file" % maxproto)
    names = (d.get("list") or "").split(":", 1)
    check(names[0] == "0x00000000" and len(names) == 2 and sorted(names[1].split("/")) ==
          ["SMSPXE-20190602-120000.log", "SMSPXE.lo_", "SMSPXE.log"], "%s: listing logs\\SMSPXE*" % maxproto)
    check(d.get("tree_IPC$") == "0x00000000", "%s: tree connect IPC$" % maxproto)
    b = (d.get("bind") or "").split(":")
    check(len(b) == 3 and b[0] == "0x00000000" and b[1] == "12",
          "%s: winreg pipe, one transceive of a bind → bind_ack (%s)" % (maxproto, d.get("bind")))


def failure_runs():
    rc, d = drive("tree:DATA", pw="wrong")
    check(rc == 1 and d.get("status") == "logon_failure" and d.get("phase") == "smb",
          "wrong password → logon_failure in phase smb")
    rc, d = drive("tree:DATA", user="nosuchuser")
    check(rc == 1 and d.get("status") == "logon_failure",
          "unknown user under map to guest = bad user: the guest session is refused (no anonymous fallback)")
    rc, d = drive("tree:ENC", "tree:DATA")
    check(rc == 0 and d.get("tree_ENC") == "0xc0000022" and d.get("tree_DATA") == "0x00000000",
          "a share that requires encryption → ACCESS_DENIED to a client that cannot encrypt; the session lives on")
    rc, d = drive("tree:NOPE", "tree:DATA", "list:nodir:*:10")
    check(rc == 0 and d.get("tree_NOPE") == "0xc00000cc", "absent share → BAD_NETWORK_NAME, connection lives on")
    lst = d.get("list", "")
    check(lst.startswith(NOT_FOUND) or lst.startswith("0xc000003a"), "absent directory → not found")
    rc, d = drive("tree:DATA", "list:logs:*:1")
    check(rc == 0 and (d.get("list") or "").startswith("0x00000000:") and "/" not in d.get("list"),
          "listing capped at one name")
    rc, d = drive("tree:DATA", "list:.:*.log:100")
    check(rc == 0 and sorted((d.get("list") or ":").split(":", 1)[1].split("/")) ==
          ["big.log", "empty.log", "small.log"], "listing the share's root with *.log")
    rc, d = drive("tree:DATA", addr=REFUSED_ADDR)
    check(rc == 1 and d.get("status") == "refused" and d.get("phase") == "tcp", "nothing listening → refused")
    stall = socket.socket()
    stall.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    stall.bind((STALL_ADDR, 445))
    stall.listen(8)
    try:
        rc, d = drive("tree:DATA", addr=STALL_ADDR, timeout_s=1)
    finally:
        stall.close()
    check(rc == 1 and d.get("status") == "smb_timeout" and d.get("phase") == "smb",
          "a listener that never answers SMB → smb_timeout")
    socks = syn_dropper(STALL_ADDR)  # the same address, its accept queue full: the SYN is dropped
    try:
        rc, d = drive("tree:DATA", addr=STALL_ADDR, timeout_s=1)
    finally:
        for s in socks:
            s.close()
    check(rc == 1 and d.get("status") == "timeout" and d.get("phase") == "tcp", "dropped SYNs → timeout in phase tcp")


@test('dpfleet SMB2/3 client (smb2.c) against a private smbd: 2.0.2 to 3.1.1, signing, tails, listing, pipe')
def main():
    for a in (ADDR, REFUSED_ADDR, STALL_ADDR):
        if port_open(a):
            check(False, "something already listens on %s:445; refusing to run" % a)
            return
    root = tempfile.mkdtemp(prefix="smb2_smbd_")
    os.chmod(root, 0o755)
    smbd = None
    try:
        smbd = DataSmbd(root)
        big, small = write_data(root)
        smbd.setup()
        for maxproto, want in DIALECTS:
            dialect_run(smbd, maxproto, want, big, small)
        failure_runs()
    except Exception as e:  # noqa: BLE001 — any setup error is a test failure
        check(False, "exception: %r" % e)
    finally:
        if smbd is not None:
            smbd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(checks.run())
