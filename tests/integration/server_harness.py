"""Shared harness for dpfleet-server integration tests (tests/integration/server_*.py).

Starts a real dpfleet-server on a free loopback port with a temp-dir store, seeds the store with python's
sqlite3 (the same DB file the server uses, in WAL mode), and talks HTTP with http.client.  Everything it
starts is stopped and every temp dir removed in close(), which the tests call from a finally block.
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import checks  # noqa: E402  (tests/lib/checks.py: the counted checks the server tests use)


def server_binary():
    build = os.environ.get('DPFLEET_BUILD_ROOT')
    if not build:
        sys.exit('DPFLEET_BUILD_ROOT is not set (run through meson test)')
    return os.path.join(build, 'server', 'dpfleet-server')


def free_port():
    """A port the kernel just gave us on 127.0.0.1 (closed again, so the server can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return 'Response(%d, %r)' % (self.status, self.body[:300])


class Client:
    """HTTP(S) to a running dpfleet-server at host:port (TLS certificates are not verified)."""

    def __init__(self, host='127.0.0.1', port=None, tls=False):
        self.host = host
        self.port = port
        self.tls = tls

    def connection(self):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=60, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, body=None, headers=None, session=None):
        """One request on a fresh connection.  body: dict/list (sent as JSON), str or bytes."""
        h = dict(headers or {})
        if session is not None:
            h.update(session.headers(method))
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        if body is not None or method == 'POST':
            h.setdefault('Content-Type', 'application/json')
        if method == 'POST':    # what a browser sends; the server refuses a POST without it (dpfleet-server(8))
            h.setdefault('Origin', '%s://%s:%d' % ('https' if self.tls else 'http', self.host, self.port))
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def raw(self, data):
        """Send raw bytes (a hand-written request line) and return the raw answer."""
        with socket.create_connection((self.host, self.port), timeout=30) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b''.join(chunks)

    def login(self, user, password):
        r = self.request('POST', '/api/v1/login', {'user': user, 'password': password})
        if r.status != 200:
            raise RuntimeError('login %s: %r' % (user, r))
        return Session(r)


class Server(Client):
    def __init__(self, max_per_run=500, tls=False, extra_http=''):
        Client.__init__(self, tls=tls)
        self.dir = tempfile.mkdtemp(prefix='dpfleet-server-test-')
        self.db = os.path.join(self.dir, 'state.db')
        self.web = os.path.join(self.dir, 'web')
        self.conf = os.path.join(self.dir, 'server.conf')
        self.log = os.path.join(self.dir, 'server.log')
        self.port = None
        self.proc = None
        self.tls = tls
        os.mkdir(self.web)
        http_extra = extra_http
        if tls:
            cert = os.path.join(self.dir, 'cert.pem')
            key = os.path.join(self.dir, 'key.pem')
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                            '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'],
                           check=True, capture_output=True)
            os.chmod(key, 0o600)
            http_extra += 'tls_cert = %s\ntls_key = %s\n' % (cert, key)
        self.http_extra = http_extra
        self.max_per_run = max_per_run
        self.write_conf()

    def write_conf(self):
        if self.port is None:
            self.port = free_port()
        with open(self.conf, 'w') as f:
            f.write('[store]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\nweb_root = %s\n%s'
                    '[fix]\nmax_per_run = %d\n' % (self.db, self.port, self.web, self.http_extra,
                                                    self.max_per_run))

    def cli(self, *args, stdin=''):
        return subprocess.run([server_binary(), '-f', self.conf] + list(args), input=stdin.encode(),
                              capture_output=True, timeout=120)

    def add_user(self, name, role, password):
        r = self.cli('user', 'add', name, '--role', role, stdin=password + '\n')
        if r.returncode != 0:
            raise RuntimeError('user add %s: %s' % (name, r.stderr.decode()))

    def sql(self, query, params=()):
        """One statement (bound parameters) on a separate connection, committed; returns the rows."""
        con = sqlite3.connect(self.db, timeout=30)
        try:
            rows = con.execute(query, params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def sql_script(self, script):
        con = sqlite3.connect(self.db, timeout=30)
        try:
            con.executescript(script)
        finally:
            con.close()

    def start(self, verbose=True):
        """Start and wait until /healthz answers (bounded: the server is up in well under a second)."""
        logf = open(self.log, 'ab')
        args = [server_binary(), '-d', '-f', self.conf] + (['-v'] if verbose else [])
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf)
        logf.close()
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError('server exited with %d:\n%s' % (self.proc.returncode, self.logtext()))
            try:
                if self.request('GET', '/healthz').status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError('server did not answer /healthz:\n' + self.logtext())

    def stop(self):
        """SIGTERM and wait; returns the exit code (0 = graceful)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logtext(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

class Session:
    def __init__(self, login_response):
        cookie = login_response.header('Set-Cookie')
        self.set_cookie = cookie
        self.token = cookie.split(';')[0].split('=', 1)[1]
        body = login_response.json()
        self.csrf = body['csrf_token']
        self.user = body['user']
        self.role = body['role']

    def headers(self, method):
        h = {'Cookie': 'dpfleet_session=' + self.token}
        if method == 'POST':
            h['X-CSRF-Token'] = self.csrf
        return h


def lab_login(info, tries=300):
    """Wait for the dpfleet-server a lab test started on info["http_listen"] (lab.json) to answer /healthz, then
    sign in as the lab's operator.  Returns (Client, login Response); raises RuntimeError if it never answers."""
    host, port = info["http_listen"].rsplit(":", 1)
    api = Client(host, int(port))
    for _ in range(tries):
        try:
            if api.request("GET", "/healthz").status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError("dpfleet-server on %s never answered /healthz" % info["http_listen"])
    r = api.request("POST", "/api/v1/login", {"user": info["operator"]["user"],
                                              "password": info["operator"]["password"]})
    return api, r


@contextlib.contextmanager
def serving(srv):
    """`with serving(srv):` around a test's body: an exception escaping it is one more failed check (traceback
    printed), the server log's tail is printed when any check failed, and srv is closed in every path."""
    try:
        yield
    except Exception:
        checks.exception('exception outside a test')
    finally:
        if checks.nfailed():
            print('--- server log ---\n' + srv.logtext()[-4000:])
        srv.close()
