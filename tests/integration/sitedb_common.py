"""sitedb_common.py — shared harness of the sitedb_* integration tests (python3 stdlib only).

A SiteDbEnv owns one temp dir holding: a ConfigMgr SQLite DB built from tests/tdsd/configmgr.sql plus a
fixture file from tests/integration/data/, a dpfleet-tdsd serving it on a free 127.0.0.1 port, the fault
file it re-reads per connection, 0600 password files, a scanner.conf and the scanner's state DB.  close()
stops tdsd and removes everything; use it in a finally.  run(test, ...) is each test's main: test(t, env)
on a fresh SiteDbEnv with a Failures t (tests/lib/checks.py's counted checks), then the read-only rule
checked on tdsd's log: tdsd runs with -v, which logs every batch as "batch VERB: SQL", and every batch the
scanner sent must be a SELECT.
"""
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import checks  # noqa: E402  (tests/lib/checks.py)

SRC = os.environ.get("DPFLEET_SOURCE_ROOT",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("DPFLEET_BUILD_ROOT", os.path.join(SRC, "build"))
SCANNER = os.path.join(BUILD, "scanner", "dpfleet-scanner")
TDSD = os.path.join(BUILD, "tests", "tdsd", "dpfleet-tdsd")
SCHEMA = os.path.join(SRC, "tests", "tdsd", "configmgr.sql")
DATA = os.path.join(SRC, "tests", "integration", "data")

USER = "dpfleet_reader"
PASSWORD = "Rd-pw_4469580!"
DATABASE = "CM_P01"
OPTOUT_WARNING = re.compile(r"^\[sitedb\] encryption = (off|request): ")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (chosen by the kernel)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def multisz_sha256(value1):
    """The project's hash of a value (lib/util.h): Value1 split on the two characters '\\0', empty
    elements dropped, SHA-256 over each element in UTF-8 followed by one NUL byte."""
    h = hashlib.sha256()
    for e in value1.split("\\0"):
        if e:
            h.update(e.encode("utf-8") + b"\0")
    return h.hexdigest()


class SiteDbEnv:
    def __init__(self, fixture="sitedb_fleet.sql", login_timeout=3, query_timeout=3):
        self.dir = tempfile.mkdtemp(prefix="dpfleet-sitedb-test.")
        self.proc = None
        self.port = None
        self.login_timeout = login_timeout
        self.query_timeout = query_timeout
        self.sitedb_path = os.path.join(self.dir, "configmgr.sqlite")
        self.state_path = os.path.join(self.dir, "state.db")
        self.faults_path = os.path.join(self.dir, "faults.json")
        self.tdsd_log = os.path.join(self.dir, "tdsd.log")
        self.tmp = os.path.join(self.dir, "tmp")   # the scanner's TMPDIR: its private freetds.conf dir
        os.mkdir(self.tmp, 0o700)
        db = sqlite3.connect(self.sitedb_path)
        with open(SCHEMA, encoding="utf-8") as f:
            db.executescript(f.read())
        with open(os.path.join(DATA, fixture), encoding="utf-8") as f:
            db.executescript(f.read())
        db.commit()
        db.close()
        self.set_faults({})
        self.pw_good = self._secret("pw-good", PASSWORD)
        self.pw_bad = self._secret("pw-bad", "not-the-password")

    def _secret(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        return path

    def set_faults(self, faults):
        tmp = self.faults_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(faults, f)
        os.replace(tmp, self.faults_path)

    def sitedb_exec(self, sql):
        """Change the site DB under the running tdsd (it reads the file per batch)."""
        db = sqlite3.connect(self.sitedb_path)
        db.executescript(sql)
        db.commit()
        db.close()

    def launch_tdsd(self, argv, timeout=10, env=None):
        """Run dpfleet-tdsd with argv (its flags, without the program) and wait up to timeout s for it to print
        ready.  True once it did; else it is stopped (its stderr stays in tdsd_log) and False is returned, so a
        caller can try another port or address."""
        log = open(self.tdsd_log, "ab")
        self.proc = subprocess.Popen([TDSD] + list(argv), stdout=subprocess.PIPE, stderr=log,
                                     stdin=subprocess.DEVNULL, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        buf = b""
        while b"ready" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop_tdsd()
                return False
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
        return True

    def start_tdsd(self, timeout=10, args=()):
        """Start dpfleet-tdsd on a new free port; args are extra flags (--tls-cert ... for TLS)."""
        self.port = free_port()
        if not self.launch_tdsd(["--listen", "127.0.0.1:%d" % self.port, "--db", self.sitedb_path,
                                 "--login", "%s:%s" % (USER, PASSWORD), "--database", DATABASE,
                                 "--faults", self.faults_path, "-v"] + list(args), timeout):
            raise RuntimeError("dpfleet-tdsd did not print ready: %s" % self.tdsd_stderr())

    def batch_verbs(self):
        """The first word of every batch tdsd received (its -v log: "batch VERB: SQL"), in order."""
        try:
            with open(self.tdsd_log, encoding="utf-8", errors="replace") as f:
                return re.findall(r"^batch (\S+): ", f.read(), re.M)
        except OSError:
            return []

    def tdsd_stderr(self):
        try:
            with open(self.tdsd_log, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def write_conf(self, name="scanner.conf", port=None, password_file=None, login_timeout=None,
                   query_timeout=None, tds_version="7.4", encryption="request"):
        path = os.path.join(self.dir, name)
        text = """[store]
path = {state}

[sitedb]
host = 127.0.0.1
port = {port}
database = {database}
user = {user}
password_file = {pw}
tds_version = {tdsver}
encryption = {enc}
login_timeout = {lt}
query_timeout = {qt}

[smb]
user = svc_dpfleet
password_file = {pw}
""".format(state=self.state_path, port=port if port is not None else self.port, database=DATABASE,
           user=USER, pw=password_file or self.pw_good, tdsver=tds_version, enc=encryption,
           lt=login_timeout or self.login_timeout, qt=query_timeout or self.query_timeout)
        with open(path, "w") as f:
            f.write(text)
        return path

    def scanner(self, conf, *args, timeout=60):
        """Run dpfleet-scanner -f conf --inventory ARGS with TMPDIR = self.tmp; returns (rc, stdout, stderr,
        seconds).  Afterwards self.leftovers lists what it left in TMPDIR (must be nothing).  The warning
        an `encryption = off` or `request` opt-out logs at every connection is taken out of stderr into
        self.optout_warnings (sitedb_tls checks it), so the other checks see only what the run adds."""
        env = dict(os.environ, TMPDIR=self.tmp)
        env.pop("FREETDSCONF", None)
        t0 = time.monotonic()
        p = subprocess.run([SCANNER, "-f", conf, "--inventory"] + list(args), capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        dt = time.monotonic() - t0
        self.leftovers = os.listdir(self.tmp)
        err = p.stderr.decode("utf-8").splitlines(True)
        self.optout_warnings = [line for line in err if OPTOUT_WARNING.match(line)]
        err = "".join(line for line in err if not OPTOUT_WARNING.match(line))
        return p.returncode, p.stdout.decode("utf-8"), err, dt

    def stored(self):
        """Every row of the state DB's sites and hosts tables, as sorted tuples (None if no DB yet)."""
        if not os.path.exists(self.state_path):
            return None
        db = sqlite3.connect(self.state_path)
        try:
            sites = db.execute("SELECT * FROM sites ORDER BY code").fetchall()
            hosts = db.execute("SELECT * FROM hosts ORDER BY fqdn COLLATE NOCASE").fetchall()
        finally:
            db.close()
        return sites, hosts

    def stop_tdsd(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def close(self):
        try:
            self.stop_tdsd()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Failures:
    """The `t` every sitedb test takes: check() and equal() are tests/lib/checks.py's counted checks."""

    def check(self, cond, what):
        return checks.check(cond, what)

    def equal(self, got, want, what):
        ok = checks.check(got == want, what)
        if not ok:
            print("     got:  %r\n     want: %r" % (got, want))
        return ok


def run(test, **env_args):
    """test(t, env) on SiteDbEnv(**env_args) as the named test the script's docstring opens with, then the
    read-only check on every batch tdsd logged (when the test started tdsd) as a second one; tdsd's stderr
    printed when a check failed, env closed even on failure, then exit with checks.finish()'s code."""
    t = Failures()
    env = SiteDbEnv(**env_args)
    doc = (sys.modules[test.__module__].__doc__ or test.__module__).strip().split("\n")[0]
    try:
        checks.run_one(doc, test, t, env)
        if os.path.exists(env.tdsd_log):
            checks.run_one("read-only: every batch the scanner sent is a SELECT", check_read_only, t, env)
    finally:
        if checks.nfailed():
            print("--- tdsd stderr ---\n%s" % env.tdsd_stderr())
        env.close()
    sys.exit(checks.finish())


def check_read_only(t, env):
    verbs = env.batch_verbs()
    t.check(len(verbs) > 0, "read-only: tdsd logged the scanner's batches (%d)" % len(verbs))
    t.equal(sorted(set(verbs) - {"SELECT"}), [], "read-only: every batch the scanner sent is a SELECT")
