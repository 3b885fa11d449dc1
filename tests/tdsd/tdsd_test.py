#!/usr/bin/env python3
"""tdsd_test.py — integration test for dpfleet-tdsd (suite 'integration').

Starts the fixture server on 127.0.0.1 and a random free port over a database built from configmgr.sql and
fixture_data.sql, then checks it against real FreeTDS clients:
  - tsql (TDS 7.1 and 7.4, private freetds.conf via FREETDSCONF) gets rows for the scanner's queries, an error
    message for a bad query, and is refused on a bad login or an unknown database;
  - a DB-Library client (tdsd_dblib_client, DBVERSION_74, UTF-8) gets every column type, non-ASCII text,
    NULLs and NVARCHAR(MAX); dbsettime() fires against query_delay_ms and the connection stays usable;
  - the fault file (rewritten while the server runs): login_reject, login_delay_ms beyond the login timeout,
    drop_after_bytes, truncate_reply_bytes scoped by match;
  - garbage, truncated and oversized packets: the server closes that connection itself within 2 s (only
    where EOF is the stimulus does the client half-close), answers nothing (or exactly the PRELOGIN reply
    before a bad LOGIN7), logs the matching parse error, and goes on serving others;
  - concurrent clients; SIGTERM stops the server and its children.
Every process and the temp dir are cleaned up in `finally`.  Usage: tdsd_test.py DPFLEET_TDSD DBLIB_CLIENT
"""
import json
import os
import random
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import checks  # noqa: E402  (tests/lib/checks.py: counted checks, named tests)
from checks import check, test  # noqa: E402


class Server:
    def __init__(self, binary, tmp, db, faults):
        self.binary, self.tmp, self.db, self.faults = binary, tmp, db, faults
        self.proc = None
        self.port = None
        self.log = os.path.join(tmp, "tdsd.log")

    def start(self):
        for _ in range(20):
            port = random.randint(20000, 60000)
            logf = open(self.log, "ab")
            proc = subprocess.Popen([self.binary, "--listen", "127.0.0.1:%d" % port, "--db", self.db,
                                     "--login", "dpfleet_reader:Pa55-wörd", "--database", "CM_PS1",
                                     "--faults", self.faults, "-v"],
                                    stdout=subprocess.PIPE, stderr=logf)
            logf.close()
            r, _, _ = select.select([proc.stdout], [], [], 10)
            line = proc.stdout.readline() if r else b""
            if line == b"ready\n":
                self.proc, self.port = proc, port
                return
            proc.wait(timeout=10)   # bind failed (port in use): try another
        raise RuntimeError("dpfleet-tdsd did not start; see " + self.log)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        rc = self.proc.returncode
        self.proc = None
        return rc


def set_faults(path, faults):
    with open(path + ".tmp", "w") as f:
        json.dump(faults, f)
    os.replace(path + ".tmp", path)


def tsql(tmp, srv, version, sql, user="dpfleet_reader", password="Pa55-wörd", database="CM_PS1"):
    conf = os.path.join(tmp, "freetds.conf")
    with open(conf, "w") as f:
        f.write("[global]\n\tclient charset = UTF-8\n\tencryption = off\n"
                "[fixture]\n\thost = 127.0.0.1\n\tport = %d\n" % srv.port)
    env = dict(os.environ, FREETDSCONF=conf, TDSVER=version, LC_ALL="C.UTF-8")
    p = subprocess.run(["tsql", "-S", "fixture", "-U", user, "-P", password, "-D", database],
                       input=(sql + "\ngo\nexit\n").encode(), env=env, capture_output=True, timeout=60)
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def client(tmp, srv, *sql, login_timeout=5, query_timeout=10, password="Pa55-wörd", database="CM_PS1"):
    conf = os.path.join(tmp, "dblib.conf")
    with open(conf, "w") as f:
        f.write("[global]\n\ttds version = 7.4\n\tencryption = off\n")
    env = dict(os.environ, FREETDSCONF=conf)
    p = subprocess.run([CLIENT, "127.0.0.1:%d" % srv.port, "dpfleet_reader", password, database,
                        str(login_timeout), str(query_timeout)] + list(sql),
                       env=env, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def raw(srv, data, half_close=False, limit=2.0):
    """Send data on a fresh connection and wait up to `limit` seconds for the SERVER to close it.  Only with
    half_close does the client shut down its sending side (the server then sees EOF: for the cases where EOF
    is the stimulus).  Returns (how, reply, seconds): how is "eof" (orderly close), "reset" (closed with our
    bytes unread) or "timeout" (still open after `limit`: the server did not close by itself)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=limit)
    got, how = b"", "timeout"
    t0 = time.monotonic()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server closed while we were still sending: read what it sent before
        if half_close:
            s.shutdown(socket.SHUT_WR)
        while True:
            left = limit - (time.monotonic() - t0)
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                how = "reset"
                break
            if not chunk:
                how = "eof"
                break
            got += chunk
    finally:
        s.close()
    return how, got, time.monotonic() - t0


def log_since(srv, offset, want, wait=1.0):
    """True once srv's log after byte offset holds want (a child writes it before closing: poll briefly)."""
    deadline = time.monotonic() + wait
    while True:
        with open(srv.log, "rb") as f:
            f.seek(offset)
            if want in f.read().decode("utf-8", "replace"):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def packet(ptype, payload, status=1):
    return struct.pack(">BBHHBB", ptype, status, len(payload) + 8, 0, 1, 0) + payload


def prelogin_payload():
    opts = [(0, b"\x0b\x00\x00\x00\x00\x00"), (1, b"\x02"), (0xff, b"")]
    table, data, off = b"", b"", 5 * 2 + 1
    for t, v in opts[:-1]:
        table += struct.pack(">BHH", t, off + len(data), len(v))
        data += v
    return table + b"\xff" + data


SCANNER_SITES = "SELECT SiteCode, SiteName, Type, ReportingSiteCode, ServerName, InstallDir FROM v_Site WITH (NOLOCK)"
SCANNER_KB = ("SELECT SD.SiteCode, SC.ComponentName, SCP.Name, SCP.Value1, SCP.Value2, SCP.Value3 FROM SC_Component SC "
              "JOIN SC_SiteDefinition SD ON SD.SiteNumber = SC.SiteNumber JOIN SC_Component_Property SCP ON "
              "SCP.ComponentID = SC.ID WHERE SCP.Name = N'IssuingCertificateList'")


@test('dpfleet-tdsd: tsql and DB-Library clients, timeouts, login and reply faults, malformed input, '
      'concurrency, SIGTERM')
def main():
    global CLIENT
    tdsd, CLIENT = sys.argv[1], sys.argv[2]
    src = os.environ.get("DPFLEET_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
    tmp = tempfile.mkdtemp(prefix="tdsd-test-")
    srv = None
    slow = None
    try:
        db = os.path.join(tmp, "sitedb.sqlite")
        con = sqlite3.connect(db)
        for name in ("configmgr.sql", "fixture_data.sql"):
            with open(os.path.join(src, "tests", "tdsd", name), encoding="utf-8") as f:
                con.executescript(f.read())
        con.close()
        faults = os.path.join(tmp, "faults.json")
        set_faults(faults, {})
        srv = Server(tdsd, tmp, db, faults)
        srv.start()

        # --- tsql, TDS 7.1 and 7.4 ---
        for ver in ("7.0", "7.1", "7.2", "7.3", "7.4"):
            out = tsql(tmp, srv, ver, SCANNER_SITES)
            check("Zentrale Köln" in out and "ss1.corp.example" in out and "(3 rows affected)" in out,
                  "tsql TDS %s: v_Site rows" % ver)
            out = tsql(tmp, srv, ver, SCANNER_KB)
            check("CN=Issuing CA 1\\0CN=Issuing CA 2" in out and "O=Contoso Ä" in out and "(2 rows affected)" in out,
                  "tsql TDS %s: the KB 4469580 join" % ver)
            out = tsql(tmp, srv, ver, "SELECT LENGTH(m) AS n, m FROM t_types WHERE m IS NOT NULL")
            check("5000\t" + "x" * 5000 + "\n" in out, "tsql TDS %s: 5000-character text (%s)" %
                  (ver, "NTEXT" if ver in ("7.0", "7.1") else "NVARCHAR(MAX)"))
            out = tsql(tmp, srv, ver, "SELECT * FROM v_NoSuchView")
            check("Msg 208" in out and "Invalid object name 'v_NoSuchView'" in out, "tsql TDS %s: bad table → 208" % ver)
            out = tsql(tmp, srv, ver, "SELEKT 1")
            check("Msg 102" in out, "tsql TDS %s: syntax error → 102" % ver)
        with open(srv.log, errors="replace") as f:
            log = f.read()
        check(all("TDS 0x%s " % v in log for v in ("70000000", "71000001", "72090002", "730b0003", "74000004")),
              "tsql really negotiated TDS 7.0, 7.1, 7.2, 7.3 and 7.4 (server log)")
        out = tsql(tmp, srv, "7.4", "SELECT 1", password="wrong")
        check("18456" in out and "Login failed for user 'dpfleet_reader'" in out, "tsql: bad password refused (18456)")
        out = tsql(tmp, srv, "7.4", "SELECT 1", database="CM_XYZ")
        check("4060" in out, "tsql: unknown database refused (4060)")

        # --- DB-Library: types, non-ASCII, NULLs, MAX, several statements, errors, writes ---
        rc, out = client(tmp, srv, "SELECT i, big, b, d, f, s FROM t_types ORDER BY rowid",
                         "SELECT LENGTH(m) AS n, m FROM t_types WHERE m IS NOT NULL",
                         SCANNER_SITES + "; SELECT TOP 1 [ServerName] FROM [dbo].[v_DistributionPointInfo] ORDER BY ID",
                         "SELECT * FROM nope", "DELETE FROM v_Site", "SELECT COUNT(*) AS n FROM v_Site",
                         "SET NOCOUNT ON\nSELECT 31 AS n", "USE CM_PS1; SELECT 32 AS n", "USE CM_XYZ")
        lines = out.splitlines()
        check(rc == 0, "dblib: session ran (rc %d)" % rc)
        check("cols\ti:int\tbig:bigint\tb:bit\td:datetime\tf:float\ts:char" in lines, "dblib: column types")
        check("row\t42\t5000000000\t1\t2024-02-29 12:34:56\t1.5\théllo € 😀" in lines, "dblib: values, non-ASCII")
        check("row\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL" in lines, "dblib: NULLs of every type")
        check("row\t-7\t1\t0\t1999-12-31 23:59:59\t-0.25\t" in lines, "dblib: negative, zero bit, empty string")
        check(any(l.startswith("row\t5000\t" + "x" * 4000) for l in lines), "dblib: NVARCHAR(MAX) value")
        check("row\tPS1\tPrimary Straße\t2\tCAS\tps1.corp.example\tE:\\SMS" in lines, "dblib: scanner's v_Site query")
        check("row\tdp1.corp.example" in lines, "dblib: second statement of a batch (TOP, [dbo].[x])")
        check("msg\t208\tInvalid object name 'nope'." in lines, "dblib: 208 for a missing table")
        check(any(l.startswith("msg\t3906\t") for l in lines), "dblib: a write is refused (3906)")
        check("row\t3" in lines and "done\t6" in lines, "dblib: connection usable after errors")
        check("row\t31" in lines, "dblib: a SET line is ignored, the next statement runs")
        check("row\t32" in lines, "dblib: USE of the database works")
        check(any(l.startswith("msg\t911\t") for l in lines), "dblib: USE of another database → 911")
        with open(srv.log, errors="replace") as f:
            log = f.read()
        # lib/log.c escapes control characters: a batch's own line breaks show as \n inside its one log line.
        check("\nbatch DELETE: DELETE FROM v_Site\n" in log and "\nbatch SET: SET NOCOUNT ON\\n" in log and
              "\nbatch SELECT: SELECT * FROM nope\n" in log,
              "-v logs every batch as 'batch VERB: SQL' (what the sitedb tests' read-only check reads)")

        # --- query timeout: dbsettime fires, ATTENTION answered, the connection stays usable ---
        set_faults(faults, {"query_delay_ms": 30000, "match": "slow_marker"})
        rc, out = client(tmp, srv, "SELECT 1 AS slow_marker", "SELECT 2 AS after", query_timeout=1)
        check(rc == 0 and "timeout" in out.splitlines() and "row\t2" in out.splitlines(),
              "dblib: query timeout against query_delay_ms, then the next batch works")

        # --- login faults ---
        set_faults(faults, {"login_reject": True})
        rc, out = client(tmp, srv, "SELECT 1")
        check(rc == 2, "fault login_reject: login refused")
        set_faults(faults, {"login_delay_ms": 5000})
        rc, out = client(tmp, srv, "SELECT 1", login_timeout=1)
        check(rc == 2, "fault login_delay_ms beyond the login timeout: login fails")
        # --- reply faults ---
        set_faults(faults, {"drop_after_bytes": 0})
        rc, out = client(tmp, srv, "SELECT 1")
        check(rc != 0, "fault drop_after_bytes=0: connection dropped")
        set_faults(faults, {"truncate_reply_bytes": 40, "match": "FROM t_types"})
        rc, out = client(tmp, srv, "SELECT 1 AS fine", "SELECT * FROM t_types")
        check(rc == 3 and "row\t1" in out.splitlines(), "fault truncate_reply_bytes with match: only that reply cut")
        set_faults(faults, {"no_such_fault": 1})
        rc, out = client(tmp, srv, "SELECT 1 AS x")
        check(rc == 0 and "row\t1" in out.splitlines(), "bad fault file: connection served without faults")
        set_faults(faults, {})

        # --- malformed input: the server itself closes that connection within 2 s, logs why, answers nothing
        # (or only the PRELOGIN reply before a bad LOGIN7), and goes on serving others ---
        how, pre, _ = raw(srv, packet(0x12, prelogin_payload()), half_close=True)
        check(how == "eof" and len(pre) == 8 + 35 and pre[:4] == b"\x04\x01\x00\x2b" and
              pre[8 + 5:8 + 10] == b"\x01\x00\x20\x00\x01" and pre[8 + 32] == 2,
              "PRELOGIN reply: one 43-byte packet saying ENCRYPT_NOT_SUP")
        rng = random.Random(4469580)   # fixed: the same garbage, so the same parse error, every run
        bad = [   # name, bytes, client half-closes (EOF is the stimulus), the log line, PRELOGIN reply first
            ("random PRELOGIN payload", packet(0x12, bytes(rng.getrandbits(8) for _ in range(4000))), False,
             "PRELOGIN: ", False),
            ("length below header", b"\x12\x01\x00\x04\x00\x00\x01\x00", False,
             "packet length 4 below header size", False),
            ("length over the cap", b"\x12\x01\xff\xff\x00\x00\x01\x00" + b"\x00" * 100, False,
             "packet length 65535 over 32768", False),
            ("truncated packet, then EOF", b"\x12\x01\x01\x00\x00\x00\x01\x00abc", True,
             "before login: truncated packet", False),
            ("PRELOGIN offsets out of bounds", packet(0x12, b"\x00\xff\xf0\x00\x06\xff"), False,
             "PRELOGIN: option 0 out of bounds", False),
            ("PRELOGIN without terminator", packet(0x12, b"\x03\x00\x00\x00\x00"), False,
             "PRELOGIN: no terminator", False),
            ("LOGIN7 garbage", packet(0x12, prelogin_payload()) + packet(0x10, b"\xff" * 200), False,
             "LOGIN7: Length 4294967295 does not match the 200 bytes received", True),
            ("LOGIN7 Length lies",
             packet(0x12, prelogin_payload()) + packet(0x10, struct.pack("<I", 5000) + b"\0" * 90), False,
             "LOGIN7: Length 5000 does not match the 94 bytes received", True),
            ("SQLBatch before login", packet(0x01, b"\x16\x00\x00\x00" + b"\x00" * 30), False,
             "expected LOGIN7, got packet type 0x01", False),
            ("endless non-EOM packets", b"".join(packet(0x12, b"\x00" * 32000, status=0) for _ in range(40)),
             False, "before login: message over 1048576 bytes", False),
            ("nothing, then EOF", b"", True, "before login: connection closed or timed out", False),
        ]
        for name, data, half, want, prelogin_first in bad:
            offset = os.path.getsize(srv.log)
            how, got, dt = raw(srv, data, half_close=half)
            check(how != "timeout", "garbage (%s): the server closed the connection (%s, %.2f s)" % (name, how, dt))
            reply = got[:4] == pre[:4] and got[8:] == pre[8:] if prelogin_first else got == b""
            check(reply, "garbage (%s): reply is %s (got %d bytes)"
                  % (name, "exactly the PRELOGIN reply" if prelogin_first else "empty", len(got)))
            check(log_since(srv, offset, want), "garbage (%s): tdsd logged %r" % (name, want))
            check(srv.alive(), "garbage (%s): the server lives on" % name)
        out = tsql(tmp, srv, "7.4", "SELECT COUNT(*) FROM v_Site")
        check(srv.alive() and "(1 row affected)" in out, "server still answers after garbage")

        # --- concurrent clients ---
        results = []

        def one():
            results.append(client(tmp, srv, SCANNER_KB))
        threads = [threading.Thread(target=one) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(len(results) == 12 and all(rc == 0 and out.count("\nrow\t") == 2 for rc, out in results),
              "12 concurrent DB-Library clients all get the KB rows")

        # --- SIGTERM with a connection open stops the server and its children ---
        set_faults(faults, {"query_delay_ms": 60000})
        conf = os.path.join(tmp, "dblib.conf")
        slow = subprocess.Popen([CLIENT, "127.0.0.1:%d" % srv.port, "dpfleet_reader", "Pa55-wörd", "CM_PS1", "5",
                                 "120", "SELECT 1"], env=dict(os.environ, FREETDSCONF=conf),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        kids = []
        for _ in range(200):   # until the child sits in the delayed query (its log line), at most 10 s
            with open(srv.log, errors="replace") as f:
                if "fault: query delay 60000 ms" in f.read():
                    kids = srv.children()
                    break
            select.select([], [], [], 0.05)
        check(len(kids) >= 1, "a child serves the open connection")
        rc = srv.stop()
        check(rc == 0, "SIGTERM: server exits 0")
        check(all(not os.path.exists("/proc/%d" % k) or open("/proc/%d/stat" % k).read().split()[2] == "Z"
                  for k in kids), "SIGTERM: children gone")
        out = slow.communicate(timeout=30)[0].decode()
        with open(srv.log, errors="replace") as f:
            log = f.read()
        check("AddressSanitizer" not in log and "runtime error" not in log and "LeakSanitizer" not in log,
              "no sanitizer report in the server's log")
        check(slow.returncode == 3,
              "the open client sees the connection lost (rc %d: %s)" % (slow.returncode, out.strip().replace("\n", " / ")))
    finally:
        if srv is not None:
            srv.stop()
        if slow is not None and slow.poll() is None:
            slow.kill()
            slow.wait()
        if checks.nfailed():
            try:
                with open(os.path.join(tmp, "tdsd.log"), errors="replace") as f:
                    sys.stderr.write(f.read()[-6000:])
            except OSError:
                pass
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(checks.run())
