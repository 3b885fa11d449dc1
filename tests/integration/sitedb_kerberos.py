#!/usr/bin/env python3
"""sitedb_kerberos — the scanner logs in to a Windows-only site DB with Kerberos ([sitedb] auth = kerberos).
A Samba AD DC (samba-tool domain provision; `samba -i -M single` serving only its KDC) on 127.98.0.2 issues
the tickets; dpfleet-tdsd on 127.98.0.3 accepts GSS-API Kerberos with the keytab of MSSQLSvc/sql.krb.test:PORT
(--kerberos-keytab, --kerberos-login, --windows-only); the scanner has [smb] keytab and principal of
svc_dpfleet@KRB.TEST and reaches sql.krb.test through [smb] host_map.  Every process gets a private
krb5.conf (KRB5_CONFIG); nothing in /etc is read or changed.

- the fleet is read; tdsd logged the Kerberos login of svc_dpfleet@KRB.TEST, the scanner's ticket cache
  <store>.krb/smb.ccache holds the ticket it got from its keytab;
- a principal tdsd does not accept: 18456 naming it, the stored fleet unchanged;
- a server name without an SPN in the KDC: a Kerberos error naming the SPN, nothing sent past PRELOGIN.
Skipped (exit 77) when not root or without samba-tool."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, DATABASE  # noqa: E402

DC_ADDR, SQL_ADDR = "127.98.0.2", "127.98.0.3"     # this test's lab base 127.98.0.0
REALM, WORKGROUP = "KRB.TEST", "KRB"
SQL_NAME = "sql.krb.test"
SCAN = "svc_dpfleet"
PRINCIPAL = "%s@%s" % (SCAN, REALM)


def sh(argv, env, what, timeout=300):
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (what, p.returncode, (p.stderr or p.stdout)[-600:]))
    return p.stdout


def port_open(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


class Kdc:
    """A realm's KDC: Samba AD DC provisioned in d/dc, only its kdc service running."""

    def __init__(self, d):
        self.root = os.path.join(d, "dc")
        self.krb5_conf = os.path.join(d, "krb5.conf")
        self.proc = None
        with open(self.krb5_conf, "w") as f:
            f.write("[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n"
                    "\trdns = false\n\tdns_canonicalize_hostname = false\n[realms]\n\t%s = {\n\t\tkdc = %s\n\t}\n"
                    % (REALM, REALM, DC_ADDR))
        self.env = dict(os.environ, KRB5_CONFIG=self.krb5_conf)
        self.env.pop("LD_PRELOAD", None)
        self.conf = os.path.join(self.root, "etc", "smb.conf")

    def provision(self):
        os.makedirs(self.root)
        empty = os.path.join(self.root, "empty.conf")
        open(empty, "w").close()
        sh(["samba-tool", "domain", "provision", "-s", empty, "--targetdir=" + self.root, "--realm=" + REALM,
            "--domain=" + WORKGROUP, "--server-role=dc", "--dns-backend=NONE", "--adminpass=Adm-pw_4469580!",
            "--host-name=dc1", "--host-ip=" + DC_ADDR], self.env, "samba-tool domain provision")
        for sub in ("pid", "ncalrpc", "winbindd", "log", "cache"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        r = self.root
        with open(self.conf, "w") as f:    # provision's smb.conf inherits /etc/samba's: replaced
            f.write("[global]\nnetbios name = DC1\nrealm = %s\nworkgroup = %s\n"
                    "server role = active directory domain controller\nserver services = kdc\n"
                    "dns update command = /bin/true\ninterfaces = %s/8\nbind interfaces only = yes\n"
                    "disable netbios = yes\nprivate dir = %s/private\nstate directory = %s/state\n"
                    "cache directory = %s/cache\nlock directory = %s\npid directory = %s/pid\n"
                    "ncalrpc dir = %s/ncalrpc\nbinddns dir = %s/bind-dns\nwinbindd socket directory = %s/winbindd\n"
                    "log file = %s/log/log.samba\n" % (REALM, WORKGROUP, DC_ADDR, r, r, r, r, r, r, r, r, r))

    def tool(self, *args):
        return sh(["samba-tool"] + list(args) + ["-s", self.conf], self.env, "samba-tool " + args[0])

    def keytab(self, principal, path):
        self.tool("domain", "exportkeytab", path, "--principal=" + principal)
        os.chmod(path, 0o600)
        return path

    def start(self):
        out = open(os.path.join(self.root, "log", "samba.out"), "wb")
        self.proc = subprocess.Popen(["samba", "-i", "-M", "single", "-s", self.conf], env=self.env, cwd=self.root,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + 120
        while not port_open(DC_ADDR, 88):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the KDC did not start (exit %s)" % self.proc.poll())
            time.sleep(0.2)

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None


def free_port_on(addr):
    s = socket.socket()
    try:
        s.bind((addr, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def start_tdsd(env, keytab, logins):
    env.stop_tdsd()
    args = ["--listen", "%s:%d" % (SQL_ADDR, env.port), "--db", env.sitedb_path, "--kerberos-keytab", keytab,
            "--windows-only", "--database", DATABASE, "-v"]
    for p in logins:
        args += ["--kerberos-login", p]
    if not env.launch_tdsd(args, env=dict(os.environ, KRB5_CONFIG=env.kdc.krb5_conf)):
        raise RuntimeError("dpfleet-tdsd did not start: %s" % env.tdsd_stderr())


def conf(env, name, host, keytab):
    path = os.path.join(env.dir, name)
    hosts_map = os.path.join(env.dir, "hosts.map")
    with open(hosts_map, "w") as f:
        f.write("%s %s\nnospn.krb.test %s\n" % (SQL_NAME, SQL_ADDR, SQL_ADDR))
    with open(path, "w") as f:
        f.write("[store]\npath = %s\n\n[sitedb]\nhost = %s\nport = %d\ndatabase = %s\nauth = kerberos\n"
                "encryption = off\nlogin_timeout = 10\nquery_timeout = 10\n\n[smb]\nuser = %s\nkeytab = %s\n"
                "principal = %s\nhost_map = %s\n" % (env.state_path, host, env.port, DATABASE, SCAN, keytab,
                                                    PRINCIPAL, hosts_map))
    return path


def tdsd_log(env):
    with open(env.tdsd_log, encoding="utf-8", errors="replace") as f:
        return f.read()


def main(t, env):
    env.kdc = Kdc(env.dir)
    try:
        body(t, env)
    finally:
        env.kdc.stop()


def body(t, env):
    kdc = env.kdc
    os.environ["KRB5_CONFIG"] = kdc.krb5_conf     # the scanner's (env.scanner passes os.environ on)
    env.port = free_port_on(SQL_ADDR)
    kdc.provision()
    kdc.tool("user", "add", SCAN, "Scan-pw_4469580!")
    kdc.tool("user", "add", "sqlsvc", "Sql-pw_4469580!x")
    spn = "MSSQLSvc/%s:%d" % (SQL_NAME, env.port)
    kdc.tool("spn", "add", spn, "sqlsvc")
    service_kt = kdc.keytab("%s@%s" % (spn, REALM), os.path.join(env.dir, "tdsd.keytab"))
    scan_kt = kdc.keytab(PRINCIPAL, os.path.join(env.dir, "scan.keytab"))
    kdc.start()
    start_tdsd(env, service_kt, [PRINCIPAL])

    # 1. The whole fleet over a Kerberos login.
    good = conf(env, "krb.conf", SQL_NAME, scan_kt)
    rc, out, err, _ = env.scanner(good)
    t.equal(rc, 0, "kerberos: inventory exits 0")
    t.check(err.startswith("kerberos: ticket for %s (set smb) from keytab " % PRINCIPAL) and err.count("\n") == 1,
            "kerberos: the only line on stderr says the scanner got its ticket from the keytab (%r)" % err)
    t.check("P01\tprimary" in out and "dp1.contoso.com" in out, "kerberos: the fleet was read")
    log = tdsd_log(env)
    t.check("login ok: user '%s' (Windows, Kerberos)" % PRINCIPAL in log,
            "kerberos: tdsd verified the ticket of %s (%r)" % (PRINCIPAL, log[-400:]))
    t.check(os.path.exists(env.state_path + ".krb/smb.ccache"), "kerberos: the scanner's own ticket cache")
    t.equal(env.leftovers, [], "kerberos: private freetds.conf removed")

    # 2. A principal the server does not accept: 18456 naming it, nothing lost.
    stored = env.stored()
    start_tdsd(env, service_kt, ["someone_else@" + REALM])
    before = len(tdsd_log(env))
    rc, out, err, _ = env.scanner(good)
    t.check(rc == 1 and "18456" in err and PRINCIPAL in err, "not accepted: 18456 naming the principal (%r)"
            % err.strip())
    t.check("authenticated but is no --kerberos-login" in tdsd_log(env)[before:], "not accepted: tdsd said why")
    t.equal(env.stored(), stored, "not accepted: the stored fleet is unchanged")

    # 3. A name the KDC has no SPN for: the scanner names the SPN; the server saw no login.
    start_tdsd(env, service_kt, [PRINCIPAL])
    before = len(tdsd_log(env))
    rc, out, err, _ = env.scanner(conf(env, "nospn.conf", "nospn.krb.test", scan_kt))
    t.check(rc == 1 and "MSSQLSvc/nospn.krb.test:%d" % env.port in err and "Kerberos" in err,
            "no SPN: a Kerberos error naming the SPN (%r)" % err.strip())
    t.check("login ok" not in tdsd_log(env)[before:], "no SPN: no login reached tdsd")
    t.equal(env.stored(), stored, "no SPN: the stored fleet is unchanged")


if __name__ == "__main__":
    if os.geteuid() != 0 or shutil.which("samba-tool") is None or shutil.which("samba") is None:
        print("sitedb_kerberos: needs root, samba-tool and samba (Debian samba-ad-dc): skipped")
        sys.exit(77)
    run(main)
