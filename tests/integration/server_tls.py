#!/usr/bin/env python3
"""dpfleet-server over HTTPS (GnuTLS through libmicrohttpd) with a throw-away self-signed certificate:
sign-in sets a Secure cookie, the API and static files answer over TLS, plain HTTP gets no page, -n checks
the TLS key's secrecy.  Prints 'N passed, N failed'."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_harness import Server, serving  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import check, eq  # noqa: E402


def main():
    srv = Server(tls=True)
    with serving(srv):
        srv.add_user('oper', 'operator', 'operator-password-1')
        with open(os.path.join(srv.web, 'index.html'), 'w') as f:
            f.write('<!doctype html><title>tls</title>')

        def t_check():
            r = srv.cli('-n')
            eq((r.returncode, r.stdout), (0, b'configuration OK\n'), '-n ok')
            key = [ln.split('=', 1)[1].strip() for ln in open(srv.conf) if ln.startswith('tls_key')][0]
            os.chmod(key, 0o644)
            try:
                r = srv.cli('-n')
                check(r.returncode == 1 and key.encode() in r.stderr, r.stderr)
            finally:
                os.chmod(key, 0o600)
        checks.run_one('-n accepts the TLS config and refuses a group/other-readable key', t_check)

        srv.start()

        def t_https():
            eq(srv.request('GET', '/healthz').status, 200, 'healthz over TLS')
            r = srv.request('POST', '/api/v1/login', {'user': 'oper', 'password': 'operator-password-1'})
            eq(r.status, 200, 'login')
            c = r.header('Set-Cookie')
            check('; Secure' in c and 'HttpOnly' in c and 'SameSite=Strict' in c, c)
            tok = c.split(';')[0].split('=', 1)[1]
            csrf = r.json()['csrf_token']
            h = {'Cookie': 'dpfleet_session=' + tok}
            eq(srv.request('GET', '/api/v1/summary', headers=h).status, 200, 'summary')
            eq(srv.request('POST', '/api/v1/scans', headers=dict(h, **{'X-CSRF-Token': csrf})).status, 202,
               'scan')
            r = srv.request('GET', '/')
            eq(r.status, 200, 'static over TLS')
            check(b'tls' in r.body, 'body')
        checks.run_one('HTTPS: login sets a Secure cookie, API and static files', t_https)

        def t_plain():
            with socket.create_connection(('127.0.0.1', srv.port), timeout=30) as s:
                s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
                try:
                    ans = s.recv(4096)
                except OSError:
                    ans = b''
            check(not ans.startswith(b'HTTP/1.1 200'), ans[:60])
            eq(srv.request('GET', '/healthz').status, 200, 'still up')
        checks.run_one('plain HTTP on the TLS port gets no page; server stays up', t_plain)

        def t_stop():
            eq(srv.stop(), 0, 'SIGTERM')
        checks.run_one('SIGTERM stops cleanly', t_stop)
    return checks.finish()


if __name__ == '__main__':
    sys.exit(main())
