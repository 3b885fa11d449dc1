#!/usr/bin/env python3
"""dpfleet-server JSON API against a real server on a free port (dpfleet-server(8), API; the lab run is
server_lab_e2e.py).

Seeds a small fleet into the state DB with sqlite3 (every state once or more, a retired host, an unscanned
host, a reason that needs CSV quoting, one unreachable host per word of lib/reason.h's table and one with a
word the table lacks, attempts above 1), creates one user per role with the real CLI, then exercises every
endpoint, role and error path over HTTP.  Prints 'ok - ...' per check and 'N passed, N failed'.
Argument: the reason_table helper (tests/integration/reason_table.c), which prints lib/reason.h's table
straight from the library; every reason text the API and the exports carry is checked against it.
Over 600 lines because its named tests share one seeded server and run in order: the jobs the fix and
rollback tests queue are what the report, metrics and audit tests count.
"""
import calendar
import csv
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_harness import Server, serving  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import check, eq, test  # noqa: E402

PW = {'admin': 'admin-password-1', 'oper': 'operator-password-1', 'view': 'viewer-password-1',
      'locky': 'locky-password-1', 'gone': 'gone-password-1'}
STATES = ['healthy', 'missing', 'empty', 'mismatch', 'no_key', 'denied', 'unreachable', 'unknown']
HOST_HEADER = ('fqdn,site,roles,pxe,state,reason,value_sha256,expected_sha256,pxe_cert_errors,'
               'pxe_last_error,certmgr_denied,last_scanned,last_fix_outcome,last_fix_at,attempts,reason_meaning,'
               'reason_next_step,cloud,not_scanned,cred_set,note')
FIXES_HEADER = 'id,host,kind,dry_run,requested_by,requested_at,finished_at,outcome,before_sha256,after_sha256,cred_set'
WEIRD_REASON = 'value has, a comma and a "quote"\nand a new line'

# fqdn, site, dp, mp, pxe, state in scan 1, state in scan 2 (None: not scanned), retired
HOSTS = [
    ('dp1.ps1.lab', 'PS1', 1, 0, 1, 'healthy', 'healthy', False),
    ('dp2.ps1.lab', 'PS1', 1, 0, 1, 'healthy', 'missing', False),
    ('dp3.ps1.lab', 'PS1', 1, 0, 0, 'empty', 'empty', False),
    ('mp1.ps1.lab', 'PS1', 0, 1, 0, 'mismatch', 'mismatch', False),
    ('dp4.ps1.lab', 'PS1', 1, 1, 0, 'no_key', 'no_key', False),
    ('dp5.ps1.lab', 'PS1', 1, 0, 1, 'denied', 'denied', False),
    ('dp6.ps1.lab', 'PS1', 1, 0, 0, 'unreachable', 'unreachable', False),
    ('dp1.ps2.lab', 'PS2', 1, 0, 1, 'unknown', 'unknown', False),
    ('dp2.ps2.lab', 'PS2', 1, 0, 0, 'missing', 'missing', False),
    ('dp1.ps3.lab', 'PS3', 1, 0, 0, 'unknown', 'unknown', False),
    ('weird.ps1.lab', 'PS1', 1, 0, 0, 'mismatch', 'mismatch', False),
    ('new.ps1.lab', 'PS1', 1, 0, 0, None, None, False),
    ('gone.ps1.lab', 'PS1', 1, 0, 0, 'missing', 'missing', True),
]
LIVE = [h for h in HOSTS if not h[7]]
AFFECTED = sorted(h[0] for h in LIVE if h[6] in ('missing', 'empty', 'mismatch'))
# What all_affected queues: affected hosts of sites with a usable value (PS1; PS2's value is absent).
FIXABLE = [h for h in AFFECTED if h.endswith('.ps1.lab')]
PS2_LEFT_OUT = [{'site': 'PS2', 'why': 'absent', 'hosts': 1}]
# The newest observation's reason word and attempts where they are not 'reason-<state>' and 1.  add_reason_hosts()
# adds one unreachable host per word of lib/reason.h's table; dp6.ps1.lab and ur-mystery.ps1.lab carry words
# the table lacks; mp1.ps1.lab is mismatch with a table word (no meaning: only unreachable has reasons).
REASON = {'weird.ps1.lab': WEIRD_REASON, 'ur-mystery.ps1.lab': 'no_such_reason_word', 'mp1.ps1.lab': 'timeout'}
ATTEMPTS = {'dp2.ps1.lab': 2, 'ur-mystery.ps1.lab': 3}
NOT_READ = ('unreachable', 'denied', 'no_key')


def reason_table():
    """lib/reason.h's table as the reason_table helper (argv[1]) prints it from the library itself."""
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, timeout=60).stdout
    table = json.loads(out.decode())
    # A cross-check that the helper prints the real table (two words as doc/dpfleet-scanner.8 lists them).
    words = {r['word']: r for r in table}
    check(words['rpc_unavailable']['transient'] and 'RemoteRegistry' in words['rpc_unavailable']['next_step'],
          'rpc_unavailable as lib/reason.c has it')
    check(not words['refused']['transient'] and '445' in words['refused']['meaning'], 'refused')
    return table


def add_reason_hosts(table):
    """One unreachable PS1 host per table word (ur-<word>.ps1.lab, 1..3 attempts) and ur-mystery.ps1.lab."""
    for i, r in enumerate(table):
        fqdn = 'ur-%s.ps1.lab' % r['word'].replace('_', '-')
        HOSTS.append((fqdn, 'PS1', 1, 0, 0, 'unreachable', 'unreachable', False))
        REASON[fqdn] = r['word']
        ATTEMPTS[fqdn] = 1 + i % 3
    HOSTS.append(('ur-mystery.ps1.lab', 'PS1', 1, 0, 0, 'unreachable', 'unreachable', False))
    LIVE[:] = [h for h in HOSTS if not h[7]]


def seed(srv):
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    earlier = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 3600))
    sql = ["BEGIN;"]
    sql.append("INSERT INTO sites (code, name, type, expected_state, expected_value, expected_sha256, "
               "first_seen, last_seen) VALUES ('PS1', 'Primary one', 'primary', 'present', 'CERT', '%s', "
               "'%s', '%s');" % ('e' * 64, earlier, now))
    sql.append("INSERT INTO sites (code, name, type, expected_state, first_seen, last_seen) VALUES "
               "('PS2', 'Secondary two', 'secondary', 'absent', '%s', '%s');" % (earlier, now))
    sql.append("INSERT INTO sites (code, name, type, expected_state, first_seen, last_seen) VALUES "
               "('PS3', 'Primary three', 'primary', 'ambiguous', '%s', '%s');" % (earlier, now))
    sql.append("INSERT INTO sites (code, name, type, expected_state, first_seen, last_seen, retired_at) "
               "VALUES ('OLD', 'Old', 'primary', 'present', '%s', '%s', '%s');" % (earlier, now, now))
    sql.append("INSERT INTO scans (id, trigger, started_at, finished_at, state, hosts, affected, unreachable, "
               "duration_ms) VALUES (1, 'schedule', '%s', '%s', 'done', 12, 4, 1, 900);" % (earlier, earlier))
    sql.append("INSERT INTO scans (id, trigger, started_at, finished_at, state, hosts, affected, unreachable, "
               "duration_ms) VALUES (2, 'request', '%s', '%s', 'done', 12, 5, 1, 1234);" % (now, now))
    for i, (fqdn, site, dp, mp, pxe, s1, s2, retired) in enumerate(HOSTS, start=1):
        sql.append("INSERT INTO hosts (id, fqdn, site, is_dp, is_mp, pxe, first_seen, last_seen, retired_at) "
                   "VALUES (%d, '%s', '%s', %d, %d, %d, '%s', '%s', %s);"
                   % (i, fqdn, site, dp, mp, pxe, earlier, now, "'%s'" % now if retired else 'NULL'))
        if s1 is None:
            continue
        for scan, st, at in ((1, s1, earlier), (2, s2, now)):
            oid = scan * 100 + i
            reason = REASON.get(fqdn, 'reason-%s' % st)
            attempts = ATTEMPTS.get(fqdn, 1) if scan == 2 else 1
            aff = 1 if st in ('missing', 'empty', 'mismatch') else 0
            value = "'%s'" % ('a' * 64) if st in ('healthy', 'mismatch') else 'NULL'
            pxe_err = 7 if fqdn == 'dp2.ps1.lab' else 0
            pxe_last = "'%s'" % now if pxe_err else 'NULL'
            denied = 1 if st == 'denied' else 0
            sql.append("INSERT INTO observations (id, scan_id, host_id, at, state, reason, affected, "
                       "value_sha256, expected_sha256, pxe_cert_errors, pxe_last_error, certmgr_denied, scan_ms, "
                       "attempts) VALUES (%d, %d, %d, '%s', '%s', '%s', %d, %s, '%s', %d, %s, %d, 25, %d);"
                       % (oid, scan, i, at, st, reason.replace("'", "''"), aff, value, 'e' * 64, pxe_err,
                          pxe_last, denied, attempts))
        sql.append("UPDATE hosts SET last_obs_id = %d WHERE id = %d;" % (200 + i, i))
    # Evidence for dp2.ps1.lab's newest observation (host id 2 -> observation 202).
    sql.append("INSERT INTO evidence (observation_id, source, file, at, component, type, line) VALUES "
               "(202, 'smspxe', 'SMS_DP$/sms/logs/SMSPXE.log', '%s', 'SMSPXE', 3, "
               "'Failed to create certificate store from encoded certificate. (Error: 80092002; Source: Windows)');"
               % now)
    sql.append("INSERT INTO evidence (observation_id, source, file, at, component, type, line) VALUES "
               "(202, 'certmgr', 'SMS_PS1/Logs/CertMgr.log', '%s', 'SMS_CERTIFICATE_MANAGER', NULL, "
               "'Cannot get copy of security registry key on server (dp2.ps1.lab) (0x80070005)');" % now)
    sql.append("COMMIT;")
    srv.sql_script('\n'.join(sql))


class Ctx:
    """What every test shares: the running server, the sessions S (name -> Session, made by t_login, renewed by
    t_disable_logout), lib/reason.h's table and its words."""

    def __init__(self, srv, table):
        self.srv = srv
        self.S = {}
        self.table = table
        self.words = {r['word']: r for r in table}


@test('user CLI: list, duplicate, short password, bad role, unknown user')
def t_cli(c):
    srv = c.srv
    r = srv.cli('user', 'list')
    eq(r.returncode, 0, 'user list exit')
    names = [line.split('\t')[0] for line in r.stdout.decode().splitlines()]
    eq(names, sorted(PW), 'user list')
    r = srv.cli('user', 'add', 'admin', '--role', 'viewer', stdin='whatever-password\n')
    check(r.returncode != 0 and b'already exists' in r.stderr, r.stderr)
    r = srv.cli('user', 'add', 'shorty', '--role', 'viewer', stdin='short\n')
    check(r.returncode != 0, 'short password accepted')
    r = srv.cli('user', 'add', 'x', '--role', 'root', stdin='whatever-password\n')
    eq(r.returncode, 2, 'bad role exit')
    r = srv.cli('user', 'passwd', 'nobody', stdin='whatever-password\n')
    check(r.returncode == 1 and b'no user' in r.stderr, r.stderr)


@test('healthz and metrics (no auth, Prometheus text)')
def t_health_metrics(c):
    srv = c.srv
    eq(srv.request('GET', '/healthz').status, 200, 'healthz')
    r = srv.request('GET', '/metrics')
    eq(r.status, 200, 'metrics')
    check(r.header('Content-Type').startswith('text/plain'), r.header('Content-Type'))
    text = r.body.decode()
    for name in ('dpfleet_hosts', 'dpfleet_affected_hosts', 'dpfleet_last_scan_age_seconds',
                 'dpfleet_last_scan_duration_seconds', 'dpfleet_jobs', 'dpfleet_http_requests_total'):
        check('# HELP %s ' % name in text and '# TYPE %s ' % name in text, 'no HELP/TYPE for ' + name)
    for st in STATES:
        check('dpfleet_hosts{state="%s"}' % st in text, 'no series for ' + st)
    check('dpfleet_hosts{state="missing"} 2\n' in text, 'missing count')
    check('dpfleet_affected_hosts 5\n' in text, 'affected count')
    check('dpfleet_last_scan_duration_seconds 1.234\n' in text, 'duration')
    check('dpfleet_http_requests_total{code="200"}' in text, 'http counter')


@test('healthz answers 503 while the state DB does not answer its query, 200 after')
def t_healthz_down(c):
    srv = c.srv
    # /healthz asks the state DB on every call (no cache): take away the table its query reads and every
    # worker thread answers 503 (one that has not opened the DB yet fails its migration check, the others
    # the query); put it back and it answers 200 again.
    srv.sql("ALTER TABLE schema_migrations RENAME TO schema_migrations_away")
    try:
        for _ in range(8):      # more calls than worker threads
            r = srv.request('GET', '/healthz')
            eq(r.status, 503, 'healthz without an answering DB')
            check('state DB' in r.json()['error'], r.json())
    finally:
        srv.sql("ALTER TABLE schema_migrations_away RENAME TO schema_migrations")
    for _ in range(8):
        eq(srv.request('GET', '/healthz').status, 200, 'healthz after the DB answers again')
    check('schema_migrations' in srv.logtext(), 'the failure is logged with the DB\'s reason')


@test('no session -> 401 everywhere')
def t_no_session(c):
    srv = c.srv
    for m, p in (('GET', '/api/v1/summary'), ('GET', '/api/v1/hosts'), ('GET', '/api/v1/hosts/dp1.ps1.lab'),
                 ('GET', '/api/v1/scans'), ('GET', '/api/v1/jobs'), ('GET', '/api/v1/report/affected.csv'),
                 ('GET', '/api/v1/audit'), ('POST', '/api/v1/fixes'), ('POST', '/api/v1/scans'),
                 ('GET', '/api/v1/me')):
        r = srv.request(m, p, body={} if m == 'POST' else None)
        eq(r.status, 401, '%s %s' % (m, p))
        check('error' in r.json(), 'error member')
    r = srv.request('GET', '/api/v1/summary', headers={'Cookie': 'dpfleet_session=' + 'ab' * 32})
    eq(r.status, 401, 'made-up token')
    r = srv.request('GET', '/api/v1/summary', headers={'Cookie': 'dpfleet_session=../../x'})
    eq(r.status, 401, 'malformed token')


@test('login: wrong password, unknown user, types, cookie attributes, token hash only, /me')
def t_login(c):
    srv, S = c.srv, c.S
    r = srv.request('POST', '/api/v1/login', {'user': 'oper', 'password': 'wrong-password'})
    eq(r.status, 401, 'wrong password')
    r = srv.request('POST', '/api/v1/login', {'user': 'nosuchuser', 'password': 'x'})
    eq(r.status, 401, 'unknown user')
    r = srv.request('POST', '/api/v1/login', {'user': 'oper', 'password': 12})
    eq(r.status, 422, 'password type')
    r = srv.request('POST', '/api/v1/login', '{"user": "oper", ')
    eq(r.status, 400, 'malformed login')
    for name in ('admin', 'oper', 'view'):
        S[name] = srv.login(name, PW[name])
    c = S['oper'].set_cookie
    for attr in ('HttpOnly', 'SameSite=Strict', 'Path=/'):
        check(attr in c, 'cookie lacks ' + attr)
    check('Secure' not in c, 'Secure without TLS')
    eq(len(S['oper'].token), 64, 'token length')
    eq(S['oper'].role, 'operator', 'role')
    row = srv.sql("SELECT token_hash FROM sessions WHERE token_hash = ?",
                  (__import__('hashlib').sha256(S['oper'].token.encode()).hexdigest(),))
    eq(len(row), 1, 'only the token hash is stored')
    eq(srv.sql("SELECT count(*) FROM sessions WHERE token_hash = ?", (S['oper'].token,))[0][0], 0,
       'raw token stored')
    r = srv.request('GET', '/api/v1/me', session=S['view'])
    eq(r.status, 200, 'me')
    eq(r.json()['role'], 'viewer', 'me role')
    eq(r.json()['csrf_token'], S['view'].csrf, 'me csrf')


@test('summary: every state key, counts, affected, last scan, sites')
def t_summary(c):
    srv, S = c.srv, c.S
    r = srv.request('GET', '/api/v1/summary', session=S['view'])
    eq(r.status, 200, 'status')
    j = r.json()
    eq(sorted(j['counts']), sorted(STATES), 'every state key')
    want = {s: 0 for s in STATES}
    for h in LIVE:
        if h[6]:
            want[h[6]] += 1
    eq(j['counts'], want, 'counts')
    eq(j['affected'], len(AFFECTED), 'affected')
    eq(j['last_scan']['id'], 2, 'last scan')
    for k in ('id', 'started_at', 'finished_at', 'hosts'):
        check(k in j['last_scan'], 'last_scan.' + k)
    sites = {s['code']: s for s in j['sites']}
    eq(sorted(sites), ['PS1', 'PS2', 'PS3'], 'live sites')
    eq(sites['PS1']['expected_value'], 'present', 'PS1')
    eq(sites['PS2']['expected_value'], 'absent', 'PS2')
    eq(sites['PS3']['expected_value'], 'ambiguous', 'PS3')
    eq(sites['PS2']['counts']['missing'], 1, 'PS2 missing')
    eq(sorted(sites['PS1']['counts']), sorted(STATES), 'site counts keys')
    eq(sites['PS1']['type'], 'primary', 'type')


def hosts(c, query, session=None):
    r = c.srv.request('GET', '/api/v1/hosts' + query, session=session or c.S['view'])
    return r


@test('hosts: fields, unscanned host, every filter, paging')
def t_hosts(c):
    r = hosts(c, '')
    eq(r.status, 200, 'status')
    j = r.json()
    eq(j['total'], len(LIVE), 'total excludes retired')
    names = [h['fqdn'] for h in j['hosts']]
    eq(names, sorted(h[0] for h in LIVE), 'default sort fqdn asc')
    h = next(x for x in j['hosts'] if x['fqdn'] == 'dp2.ps1.lab')
    for k in ('fqdn', 'site', 'roles', 'pxe', 'state', 'reason', 'affected', 'value_sha256',
              'pxe_cert_errors', 'pxe_last_error', 'pxe_expired_cert', 'certmgr_denied', 'last_scanned',
              'last_fix'):
        check(k in h, 'host field ' + k)
    eq(h['state'], 'missing', 'state')
    eq(h['affected'], True, 'affected')
    eq(h['pxe'], True, 'pxe')
    eq(h['roles'], ['dp'], 'roles')
    eq(h['pxe_cert_errors'], 7, 'pxe errors')
    both = next(x for x in j['hosts'] if x['fqdn'] == 'dp4.ps1.lab')
    eq(both['roles'], ['dp', 'mp'], 'both roles')
    new = next(x for x in j['hosts'] if x['fqdn'] == 'new.ps1.lab')
    eq((new['state'], new['last_scanned'], new['affected']), (None, None, False), 'unscanned host')
    eq([x['fqdn'] for x in hosts(c, '?affected=true').json()['hosts']], AFFECTED, 'affected=true')
    eq(hosts(c, '?affected=false').json()['total'], len(LIVE) - len(AFFECTED), 'affected=false')
    eq(hosts(c, '?state=missing').json()['total'], 2, 'state=missing')
    eq(hosts(c, '?state=unknown&site=PS3').json()['total'], 1, 'state+site')
    eq(hosts(c, '?site=PS2').json()['total'], 2, 'site')
    eq([x['fqdn'] for x in hosts(c, '?role=mp').json()['hosts']], ['dp4.ps1.lab', 'mp1.ps1.lab'], 'role=mp')
    eq(hosts(c, '?role=dp').json()['total'], len([h for h in LIVE if h[2]]), 'role=dp')
    eq(hosts(c, '?pxe=true').json()['total'], len([h for h in LIVE if h[4]]), 'pxe=true')
    eq(hosts(c, '?pxe=false').json()['total'], len([h for h in LIVE if not h[4]]), 'pxe=false')
    eq([x['fqdn'] for x in hosts(c, '?q=ps2').json()['hosts']], ['dp1.ps2.lab', 'dp2.ps2.lab'], 'q')
    eq(hosts(c, '?q=DP1.PS1').json()['total'], 1, 'q is case-insensitive')
    p1 = hosts(c, '?limit=5&offset=0').json()
    p2 = hosts(c, '?limit=5&offset=5').json()
    eq(len(p1['hosts']), 5, 'limit')
    eq(p1['total'], len(LIVE), 'total with paging')
    check(not set(x['fqdn'] for x in p1['hosts']) & set(x['fqdn'] for x in p2['hosts']), 'pages overlap')


@test('hosts: every sort key both ways')
def t_hosts_sort(c):
    for key in ('fqdn', 'site', 'state', 'last_scanned', 'pxe_cert_errors'):
        for order in ('asc', 'desc'):
            r = hosts(c, '?sort=%s&order=%s&limit=1000' % (key, order))
            eq(r.status, 200, key)
            vals = [x[key] for x in r.json()['hosts'] if x[key] is not None]
            eq(vals, sorted(vals, reverse=(order == 'desc')), 'sort %s %s' % (key, order))
    j = hosts(c, '?sort=pxe_cert_errors&order=desc').json()
    eq(j['hosts'][0]['fqdn'], 'dp2.ps1.lab', 'most PXE errors first')
    eq(j['hosts'][-1]['fqdn'], 'new.ps1.lab', 'unscanned last')


@test('hosts: bad parameters 400, SQL-ish strings bound (match nothing)')
def t_hosts_bad(c):
    for q, why in (('?sort=password', 'sort'), ('?sort=fqdn;DROP%20TABLE%20hosts', 'sort inj'),
                   ('?order=sideways', 'order'), ('?limit=1001', 'limit'), ('?limit=0', 'limit 0'),
                   ('?limit=abc', 'limit type'), ('?offset=-1', 'offset'), ('?pxe=yes', 'pxe'),
                   ('?affected=1', 'affected'), ('?role=site', 'role'), ('?state=broken', 'state'),
                   ("?state=healthy'%20OR%20'1'='1", 'state inj')):
        r = hosts(c, q)
        eq(r.status, 400, why)
        check(r.json()['error'], 'message')
    # SQL-ish text in free-text filters is bound, never concatenated: it simply matches nothing.
    for q in ("?q='%20OR%201=1%20--", "?site=PS1'%20OR%20'1'='1", '?q=%25', '?q=_', '?q=%5C',
              "?q=%22);DROP%20TABLE%20hosts;--", '?site=%00'):
        r = hosts(c, q)
        eq(r.status, 200, q)
        eq(r.json()['total'], 0, q)
    eq(hosts(c, '').json()['total'], len(LIVE), 'hosts table intact')


@test('host detail: history, evidence, 404')
def t_host(c):
    srv, S = c.srv, c.S
    r = srv.request('GET', '/api/v1/hosts/dp2.ps1.lab', session=S['view'])
    eq(r.status, 200, 'status')
    j = r.json()
    eq(j['state'], 'missing', 'state')
    eq([(x['scan_id'], x['state']) for x in j['history']], [(2, 'missing'), (1, 'healthy')], 'history')
    eq(len(j['evidence']), 2, 'evidence')
    check('80092002' in j['evidence'][0]['line'], 'evidence line')
    eq(j['evidence'][0]['component'], 'SMSPXE', 'component')
    eq(j['evidence'][0]['type'], 3, 'type')
    eq(j['site_expected'], 'present', 'site expected')
    r = srv.request('GET', '/api/v1/hosts/DP2.PS1.LAB', session=S['view'])
    eq(r.status, 200, 'case-insensitive fqdn')
    r = srv.request('GET', '/api/v1/hosts/nosuch.lab', session=S['view'])
    eq(r.status, 404, 'unknown host')
    check('nosuch.lab' in r.json()['error'], 'names the host')
    r = srv.request('GET', '/api/v1/hosts/new.ps1.lab', session=S['view'])
    eq((r.status, r.json()['state'], r.json()['history']), (200, None, []), 'unscanned')



def want_reason(c, fqdn, state):
    """(reason, reason_meaning, reason_next_step) the API must say: lib/reason.h's texts or nulls."""
    word = REASON.get(fqdn, 'reason-%s' % state)
    r = c.words.get(word) if state == 'unreachable' else None
    return (word, r['meaning'] if r else None, r['next_step'] if r else None)


@test('reasons: /api/v1/reasons = lib/reason.h; hosts and host carry its texts, attempts, value_read; '
      'no hashes for hosts not read')
def t_reasons(c):
    srv, S = c.srv, c.S
    r = srv.request('GET', '/api/v1/reasons', session=S['view'])
    eq(r.status, 200, 'reasons')
    eq(r.json(), {'reasons': c.table}, 'GET /api/v1/reasons = lib/reason.h as reason_table prints it')
    eq(srv.request('GET', '/api/v1/reasons').status, 401, 'reasons need a session')
    listed = {x['fqdn']: x for x in hosts(c, '?limit=1000').json()['hosts']}
    for fqdn, _, _, _, _, _, st, _ in LIVE:
        h = listed[fqdn]
        if st is None:
            eq((h['reason_meaning'], h['attempts'], h['value_read']), (None, None, None), fqdn)
            continue
        d = srv.request('GET', '/api/v1/hosts/' + fqdn, session=S['view']).json()
        for x, what in ((h, 'list'), (d, 'detail')):
            eq((x['reason'], x['reason_meaning'], x['reason_next_step']), want_reason(c, fqdn, st),
               '%s reason (%s)' % (fqdn, what))
            eq(x['attempts'], ATTEMPTS.get(fqdn, 1), '%s attempts (%s)' % (fqdn, what))
            eq(x['value_read'], st not in NOT_READ, '%s value_read (%s)' % (fqdn, what))
            if st in NOT_READ:
                eq(x['value_sha256'], None, '%s: no host hash when not read (%s)' % (fqdn, what))
        if st in NOT_READ:
            eq(d['expected_sha256'], None, fqdn + ': nothing was compared')
        else:
            eq(d['expected_sha256'], 'e' * 64, fqdn + ': compared with the site value')
        eq(d['history'][0]['attempts'], ATTEMPTS.get(fqdn, 1), fqdn + ' history attempts')
    # Every word of the table was served, and an unknown word comes alone.
    served = set(x['reason'] for x in listed.values() if x['reason_meaning'] is not None)
    eq(served, set(c.words), 'every word of lib/reason.h has a host with its texts')
    eq(listed['ur-mystery.ps1.lab']['reason'], 'no_such_reason_word', 'unknown word kept')
    eq(listed['mp1.ps1.lab']['reason_meaning'], None, 'a word on a host that was read has no meaning')


@test('scans: list newest first with affected/unreachable; POST queues a request')
def t_scans(c):
    srv, S = c.srv, c.S
    r = srv.request('GET', '/api/v1/scans', session=S['view'])
    eq(r.status, 200, 'status')
    j = r.json()
    eq([s['id'] for s in j['scans']], [2, 1], 'newest first')
    eq((j['scans'][0]['affected'], j['scans'][0]['unreachable']), (5, 1), 'chart figures')
    eq(srv.request('POST', '/api/v1/scans', session=S['view']).status, 403, 'viewer may not scan')
    r = srv.request('POST', '/api/v1/scans', session=S['oper'])
    eq(r.status, 202, 'operator scan')
    rid = r.json()['scan_request']
    rows = srv.sql("SELECT requested_by, state FROM scan_requests WHERE id = ?", (rid,))
    eq(rows, [('oper', 'queued')], 'scan request row')
    j = srv.request('GET', '/api/v1/scans', session=S['view']).json()
    eq([p['id'] for p in j['pending_requests']], [rid], 'pending request listed')


@test('last scan (summary, metrics): the newest done scan that is not a fix rescan')
def t_last_scan(c):
    srv, S = c.srv, c.S
    # Newer than the full scan 2: the rescan after a fix (trigger fix), a failed scan and a running one.
    # None of them is "the last scan" of the summary or of the metrics.
    srv.sql_script("INSERT INTO scans (id, trigger, started_at, finished_at, state, hosts, affected, "
                   "unreachable, duration_ms) VALUES (3, 'fix', '2000-01-01T00:00:00Z', "
                   "'2000-01-01T00:00:01Z', 'done', 1, 0, 0, 50);"
                   "INSERT INTO scans (id, trigger, started_at, finished_at, state, hosts, duration_ms, error) "
                   "VALUES (4, 'schedule', '2001-01-01T00:00:00Z', '2001-01-01T00:00:09Z', 'failed', 3, "
                   "9000, 'stopped');"
                   "INSERT INTO scans (id, trigger, started_at, state) VALUES (5, 'request', "
                   "'2002-01-01T00:00:00Z', 'running');")
    try:
        want = srv.sql("SELECT id, started_at, finished_at, hosts FROM scans WHERE id = 2")[0]
        j = srv.request('GET', '/api/v1/summary', session=S['view']).json()
        ls = j['last_scan']
        eq((ls['id'], ls['started_at'], ls['finished_at'], ls['hosts'], ls['state']), want + ('done',),
           'summary last_scan')
        text = srv.request('GET', '/metrics').body.decode()
        check('dpfleet_last_scan_duration_seconds 1.234\n' in text, 'duration of scan 2')
        age = float(next(x for x in text.splitlines()
                         if x.startswith('dpfleet_last_scan_age_seconds ')).split()[1])
        fin = calendar.timegm(time.strptime(want[2], '%Y-%m-%dT%H:%M:%SZ'))
        check(0 <= age and abs(age - (time.time() - fin)) < 120, 'age %r of scan 2' % age)
    finally:
        srv.sql("DELETE FROM scans WHERE id > 2")
    eq(srv.request('GET', '/api/v1/summary', session=S['view']).json()['last_scan']['id'], 2, 'after')


@test('roles and CSRF: viewer 403 on writes, missing/wrong CSRF 403, audit admin-only')
def t_csrf_roles(c):
    srv, S = c.srv, c.S
    body = {'hosts': ['dp2.ps1.lab']}
    r = srv.request('POST', '/api/v1/fixes', body, session=S['view'])
    eq(r.status, 403, 'viewer fixes')
    h = {'Cookie': 'dpfleet_session=' + S['oper'].token}
    eq(srv.request('POST', '/api/v1/fixes', body, headers=h).status, 403, 'missing CSRF')
    h2 = dict(h, **{'X-CSRF-Token': S['view'].csrf})
    eq(srv.request('POST', '/api/v1/fixes', body, headers=h2).status, 403, 'other session CSRF')
    h3 = dict(h, **{'X-CSRF-Token': S['oper'].csrf[:-1] + ('0' if S['oper'].csrf[-1] != '0' else '1')})
    eq(srv.request('POST', '/api/v1/fixes', body, headers=h3).status, 403, 'wrong CSRF')
    h4 = dict(h, **{'X-CSRF-Token': ''})
    eq(srv.request('POST', '/api/v1/fixes', body, headers=h4).status, 403, 'empty CSRF')
    eq(srv.request('POST', '/api/v1/scans', headers=h).status, 403, 'scan without CSRF')
    eq(srv.request('POST', '/api/v1/rollbacks', {'job': 1}, session=S['view']).status, 403, 'viewer rb')
    eq(srv.request('POST', '/api/v1/jobs/1/cancel', session=S['view']).status, 403, 'viewer cancel')
    eq(srv.request('GET', '/api/v1/audit', session=S['oper']).status, 403, 'operator audit')
    eq(srv.request('GET', '/api/v1/audit', session=S['view']).status, 403, 'viewer audit')
    eq(srv.sql("SELECT count(*) FROM jobs")[0][0], 0, 'nothing queued')


@test('bad bodies: malformed JSON 400 with message, wrong types 422')
def t_bad_bodies(c):
    srv, S = c.srv, c.S
    op = S['oper']
    for body, status, why in (('{"hosts": [', 400, 'malformed'), ('', 400, 'empty'),
                              ('{"hosts": ["a"], "hosts": ["b"]}', 400, 'duplicate key'),
                              ('[1, 2]', 422, 'array body'), ('"x"', 422, 'string body'),
                              ({'hosts': 'dp2.ps1.lab'}, 422, 'hosts string'),
                              ({'hosts': [1]}, 422, 'hosts of ints'), ({'hosts': []}, 422, 'empty hosts'),
                              ({'hosts': ['dp2.ps1.lab'], 'dry_run': 'yes'}, 422, 'dry_run'),
                              ({'hosts': ['dp2.ps1.lab'], 'confirm_count': '1'}, 422, 'confirm'),
                              ({'all_affected': 'true'}, 422, 'all_affected type'),
                              ({'all_affected': True, 'site': 5}, 422, 'site type'),
                              ({'all_affected': True, 'hosts': ['x']}, 422, 'both'),
                              ({}, 422, 'neither'), ({'hosts': ['x' * 300]}, 422, 'long name')):
        r = srv.request('POST', '/api/v1/fixes', body, session=op)
        eq(r.status, status, why)
        check(r.json()['error'], 'message')
    r = srv.request('POST', '/api/v1/fixes', '{"hosts": [', session=op)
    check('invalid JSON' in r.json()['error'], r.json()['error'])
    for body, why in (({'job': 'x'}, 'job string'), ({'job': 0}, 'job 0'), ({}, 'no job'),
                      ({'job': 1.5}, 'job float')):
        eq(srv.request('POST', '/api/v1/rollbacks', body, session=op).status, 422, why)
    eq(srv.request('POST', '/api/v1/login', '{"user": ').status, 400, 'login malformed')
    eq(srv.request('POST', '/api/v1/login', [1]).status, 422, 'login array')
    eq(srv.sql("SELECT count(*) FROM jobs")[0][0], 0, 'nothing queued')


@test('fixes: 404 names unknown host, one job per host, audit, max_per_run 409 + confirm_count, '
      'all_affected (+site) only of sites with a value, the others named; none left: 409')
def t_fixes(c):
    srv, S = c.srv, c.S
    op = S['oper']
    r = srv.request('POST', '/api/v1/fixes', {'hosts': ['dp2.ps1.lab', 'nosuch.example']}, session=op)
    eq(r.status, 404, 'unknown fqdn')
    check('nosuch.example' in r.json()['error'], 'names the host')
    eq(srv.sql("SELECT count(*) FROM jobs")[0][0], 0, 'all or nothing')
    r = srv.request('POST', '/api/v1/fixes', {'hosts': ['gone.ps1.lab']}, session=op)
    eq(r.status, 404, 'retired host')
    r = srv.request('POST', '/api/v1/fixes', {'hosts': ['dp2.ps1.lab', 'DP3.ps1.lab', 'dp2.ps1.lab'],
                                              'dry_run': True}, session=op)
    eq(r.status, 202, 'queued')
    jobs = r.json()['jobs']
    eq(sorted(j['host'] for j in jobs), ['dp2.ps1.lab', 'dp3.ps1.lab'], 'one job per host, canonical')
    rows = srv.sql("SELECT kind, dry_run, requested_by, state, expected_sha256 FROM jobs ORDER BY id")
    eq(rows, [('fix', 1, 'oper', 'queued', 'e' * 64)] * 2, 'job rows')
    audit = srv.sql("SELECT who, action, target FROM audit WHERE action = 'job.queue' ORDER BY id")
    eq(sorted(a[2] for a in audit), ['dp2.ps1.lab', 'dp3.ps1.lab'], 'audit rows')
    check(all(a[0] == 'oper' for a in audit), 'audit who')
    # max_per_run is 3 in this config; the 4 affected hosts of PS1 need a confirmation (PS2's is left out).
    r = srv.request('POST', '/api/v1/fixes', {'all_affected': True}, session=op)
    eq(r.status, 409, 'over max_per_run')
    eq((r.json()['count'], r.json()['left_out']), (len(FIXABLE), PS2_LEFT_OUT), 'count in 409, PS2 left out')
    r = srv.request('POST', '/api/v1/fixes', {'all_affected': True, 'confirm_count': len(FIXABLE) - 1},
                    session=op)
    eq(r.status, 409, 'wrong confirmation')
    r = srv.request('POST', '/api/v1/fixes', {'all_affected': True, 'confirm_count': len(FIXABLE)},
                    session=op)
    eq(r.status, 202, 'confirmed')
    eq(sorted(j['host'] for j in r.json()['jobs']), FIXABLE, 'all affected of sites with a value')
    eq(r.json()['left_out'], PS2_LEFT_OUT, 'the 202 names the site left out and why')
    n = srv.sql("SELECT count(*) FROM jobs")[0][0]
    r = srv.request('POST', '/api/v1/fixes', {'all_affected': True, 'site': 'PS2'}, session=op)
    eq(r.status, 409, 'one site without a value: nothing to queue')
    eq(r.json()['left_out'], PS2_LEFT_OUT, 'the 409 names the site and why')
    check('PS2 (absent, 1 host)' in r.json()['error'], r.json()['error'])
    eq(srv.sql("SELECT count(*) FROM jobs")[0][0], n, 'nothing queued for PS2')
    r = srv.request('POST', '/api/v1/fixes', {'all_affected': True, 'site': 'NONE'}, session=op)
    eq((r.status, r.json()['jobs'], r.json()['left_out']), (202, [], []), 'no affected host in site')


@test('jobs: list, filters, get, cancel queued only (409), 404')
def t_jobs(c):
    srv, S = c.srv, c.S
    v = S['view']
    r = srv.request('GET', '/api/v1/jobs', session=v)
    eq(r.status, 200, 'list')
    j = r.json()
    total = srv.sql("SELECT count(*) FROM jobs")[0][0]
    eq(j['total'], total, 'total')
    ids = [x['id'] for x in j['jobs']]
    eq(ids, sorted(ids, reverse=True), 'newest first')
    eq(srv.request('GET', '/api/v1/jobs?host=dp2.ps1.lab', session=v).json()['total'], 2, 'host filter')
    eq(srv.request('GET', '/api/v1/jobs?state=done', session=v).json()['total'], 0, 'state filter')
    eq(srv.request('GET', '/api/v1/jobs?state=bogus', session=v).status, 400, 'bad state')
    first = ids[-1]
    r = srv.request('GET', '/api/v1/jobs/%d' % first, session=v)
    eq((r.status, r.json()['id'], r.json()['kind'], r.json()['dry_run']), (200, first, 'fix', True), 'get')
    eq(srv.request('GET', '/api/v1/jobs/999999', session=v).status, 404, 'unknown job')
    eq(srv.request('GET', '/api/v1/jobs/abc', session=v).status, 404, 'bad job id')
    op = S['oper']
    r = srv.request('POST', '/api/v1/jobs/%d/cancel' % first, session=op)
    eq((r.status, r.json()['state']), (200, 'cancelled'), 'cancel')
    eq(srv.request('POST', '/api/v1/jobs/%d/cancel' % first, session=op).status, 409, 'cancel twice')
    srv.sql("UPDATE jobs SET state = 'running' WHERE id = %d" % ids[0])
    r = srv.request('POST', '/api/v1/jobs/%d/cancel' % ids[0], session=op)
    eq(r.status, 409, 'cancel running')
    check('running' in r.json()['error'], r.json()['error'])
    eq(srv.request('POST', '/api/v1/jobs/999999/cancel', session=op).status, 404, 'cancel unknown')
    eq(srv.sql("SELECT count(*) FROM audit WHERE action = 'job.cancel'")[0][0], 1, 'cancel audited')


@test('jobs?ids=: the named jobs (at most 200), bad lists 400, found behind 1000 newer jobs')
def t_jobs_ids(c):
    srv, S = c.srv, c.S
    v = S['view']
    ids = [x[0] for x in srv.sql("SELECT id FROM jobs ORDER BY id")]
    check(len(ids) >= 3, 'jobs to pick from')
    r = srv.request('GET', '/api/v1/jobs?ids=%d,%d,%d,%d,999999' % (ids[0], ids[-1], ids[1], ids[0]), session=v)
    eq(r.status, 200, 'ids')
    j = r.json()
    eq([x['id'] for x in j['jobs']], sorted({ids[0], ids[1], ids[-1]}, reverse=True),
       'the named jobs, newest first, once each, unknown left out')
    eq(j['total'], 3, 'total')
    eq(j['jobs'][0], srv.request('GET', '/api/v1/jobs/%d' % ids[-1], session=v).json(), 'same job object')
    for q, why in (('', 'empty'), ('0', 'zero'), ('-1', 'negative'), ('1,,2', 'empty item'), ('1,', 'trailing'),
                   (',1', 'leading'), ('abc', 'word'), ('1.5', 'float'), ('01', 'leading zero'),
                   ('1%20', 'space'), ("1;DROP%20TABLE%20jobs", 'SQL-ish'), ('1' * 19, '19 digits'),
                   (','.join(str(i) for i in range(1, 202)), '201 ids'), ('1&state=done', 'with state'),
                   ('1&host=dp1.ps1.lab', 'with host'), ('1&limit=5', 'with limit'), ('1&offset=0', 'with offset')):
        r = srv.request('GET', '/api/v1/jobs?ids=' + q, session=v)
        eq(r.status, 400, 'ids: ' + why)
        check(r.json()['error'], 'message')
    r = srv.request('GET', '/api/v1/jobs?ids=' + ','.join(str(i) for i in range(1, 201)), session=v)
    eq((r.status, r.json()['total']), (200, len([i for i in ids if i <= 200])), '200 ids')
    eq(srv.request('GET', '/api/v1/jobs?ids=1').status, 401, 'ids needs a session')
    # A run's jobs stay reachable behind more than 1000 newer jobs (the list's page cap).
    srv.sql_script("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) "
                   "INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at) "
                   "SELECT 'fix', 'dp1.ps1.lab', 1, 'bulk', '2026-01-01T00:00:00Z' FROM n;")
    try:
        newest = [x['id'] for x in srv.request('GET', '/api/v1/jobs?limit=1000', session=v).json()['jobs']]
        check(ids[0] not in newest, 'the first job is behind 1000 newer ones')
        r = srv.request('GET', '/api/v1/jobs?ids=%d' % ids[0], session=v)
        eq([x['id'] for x in r.json()['jobs']], [ids[0]], 'found by id')
    finally:
        srv.sql("DELETE FROM jobs WHERE requested_by = 'bulk'")


@test('rollbacks: only a done fix with outcome written (409 otherwise), once')
def t_rollbacks(c):
    srv, S = c.srv, c.S
    op = S['oper']
    jid = srv.sql("SELECT min(id) FROM jobs WHERE state = 'queued'")[0][0]
    r = srv.request('POST', '/api/v1/rollbacks', {'job': jid}, session=op)
    eq(r.status, 409, 'queued fix cannot be rolled back')
    srv.sql("UPDATE jobs SET state = 'done', outcome = 'written', dry_run = 0, before_sha256 = '%s', "
            "after_sha256 = '%s', finished_at = '2026-01-01T00:00:00Z' WHERE id = %d"
            % ('b' * 64, 'e' * 64, jid))
    r = srv.request('POST', '/api/v1/rollbacks', {'job': jid}, session=op)
    eq(r.status, 202, 'rollback written fix')
    rb = r.json()['id']
    eq(srv.sql("SELECT kind, rollback_of, state, requested_by FROM jobs WHERE id = ?", (rb,)),
       [('rollback', jid, 'queued', 'oper')], 'rollback row')
    eq(srv.request('POST', '/api/v1/rollbacks', {'job': jid}, session=op).status, 409, 'twice')
    eq(srv.request('POST', '/api/v1/rollbacks', {'job': rb}, session=op).status, 409, 'rollback of rb')
    eq(srv.request('POST', '/api/v1/rollbacks', {'job': 999999}, session=op).status, 404, 'unknown')


@test('reports: affected.csv (exact header, RFC 4180), affected.json, fixes.csv, fixes.json')
def t_reports(c):
    srv, S = c.srv, c.S
    v = S['view']
    # The last fix of a host is its newest fix or rollback, never a dry run (a dry run changes nothing).
    # dp2.ps1.lab: its fix from "all affected" ends already_correct, then a newer dry run ends would_write;
    # dp1.ps1.lab has a dry run only; dp3.ps1.lab's newest real job is the queued rollback.
    fix = srv.sql("SELECT id FROM jobs WHERE host = 'dp2.ps1.lab' AND dry_run = 0")
    eq(len(fix), 1, 'one real fix of dp2.ps1.lab')
    fix = fix[0][0]
    srv.sql("UPDATE jobs SET state = 'done', outcome = 'already_correct', "
            "finished_at = '2026-01-02T00:00:00Z' WHERE id = ?", (fix,))
    dry = {}
    for host in ('dp2.ps1.lab', 'dp1.ps1.lab'):
        r = srv.request('POST', '/api/v1/fixes', {'hosts': [host], 'dry_run': True}, session=S['oper'])
        eq(r.status, 202, 'dry run of ' + host)
        dry[host] = r.json()['jobs'][0]['id']
        srv.sql("UPDATE jobs SET state = 'done', outcome = 'would_write', "
                "finished_at = '2026-01-03T00:00:00Z' WHERE id = ?", (dry[host],))
    check(dry['dp2.ps1.lab'] > fix, 'the dry run is the newest job of dp2.ps1.lab')
    rb, rb_at = srv.sql("SELECT id, requested_at FROM jobs WHERE host = 'dp3.ps1.lab' "
                        "AND kind = 'rollback'")[0]
    listed = {x['fqdn']: x for x in hosts(c, '?limit=1000').json()['hosts']}
    detail = srv.request('GET', '/api/v1/hosts/dp2.ps1.lab', session=v).json()
    for h, what in ((listed['dp2.ps1.lab'], 'list'), (detail, 'detail')):
        lf = h['last_fix']
        eq((lf['id'], lf['kind'], lf['state'], lf['outcome'], lf['finished_at']),
           (fix, 'fix', 'done', 'already_correct', '2026-01-02T00:00:00Z'), 'last_fix of dp2 (%s)' % what)
    eq(listed['dp1.ps1.lab']['last_fix'], None, 'a dry run alone is no last fix')
    lf = listed['dp3.ps1.lab']['last_fix']
    eq((lf['id'], lf['kind'], lf['state'], lf['outcome']), (rb, 'rollback', 'queued', None),
       'a rollback is a last fix')
    r = srv.request('GET', '/api/v1/report/affected.csv', session=v)
    eq(r.status, 200, 'status')
    check(r.header('Content-Type').startswith('text/csv'), r.header('Content-Type'))
    check(r.header('Content-Disposition').startswith('attachment'), 'attachment')
    text = r.body.decode()
    eq(text.split('\r\n')[0], HOST_HEADER, 'header row')
    rows = list(csv.DictReader(io.StringIO(text, newline='')))
    eq(sorted(x['fqdn'] for x in rows), AFFECTED, 'affected rows')
    weird = next(x for x in rows if x['fqdn'] == 'weird.ps1.lab')
    eq(weird['reason'], WEIRD_REASON, 'RFC 4180 quoting round trip')
    check('"value has, a comma and a ""quote""' in text, 'doubled quotes')
    dp2 = next(x for x in rows if x['fqdn'] == 'dp2.ps1.lab')
    eq((dp2['roles'], dp2['pxe'], dp2['certmgr_denied'], dp2['pxe_cert_errors']), ('dp', 'true', 'false', '7'),
       'row values')
    eq((dp2['last_fix_outcome'], dp2['last_fix_at']), ('already_correct', '2026-01-02T00:00:00Z'),
       'dp2 last fix in the CSV (not the newer dry run)')
    dp3 = next(x for x in rows if x['fqdn'] == 'dp3.ps1.lab')
    eq((dp3['last_fix_outcome'], dp3['last_fix_at']), ('', rb_at), 'dp3: the queued rollback')
    check(dp2['last_scanned'].endswith('Z'), 'ISO time')
    j = srv.request('GET', '/api/v1/report/affected.json', session=v)
    eq(j.status, 200, 'json')
    eq(sorted(x['fqdn'] for x in j.json()), AFFECTED, 'json rows')
    eq(sorted(j.json()[0]), sorted(HOST_HEADER.split(',')), 'json fields')
    jd = {x['fqdn']: x for x in j.json()}
    eq((jd['dp2.ps1.lab']['last_fix_outcome'], jd['dp2.ps1.lab']['last_fix_at']),
       ('already_correct', '2026-01-02T00:00:00Z'), 'dp2 last fix in the JSON')
    eq((jd['dp3.ps1.lab']['last_fix_outcome'], jd['dp3.ps1.lab']['last_fix_at']), (None, rb_at),
       'dp3 last fix in the JSON')
    eq(jd['dp2.ps1.lab']['attempts'], 2, 'attempts in the JSON')
    eq(dp2['attempts'], '2', 'attempts in the CSV')
    r = srv.request('GET', '/api/v1/report/fixes.csv', session=v)
    eq(r.status, 200, 'fixes')
    text = r.body.decode()
    eq(text.split('\r\n')[0], FIXES_HEADER, 'fixes header')
    rows = list(csv.DictReader(io.StringIO(text, newline='')))
    eq(len(rows), srv.sql("SELECT count(*) FROM jobs")[0][0], 'every job')
    written = [x for x in rows if x['outcome'] == 'written']
    eq(len(written), 1, 'written job')
    eq((written[0]['before_sha256'], written[0]['dry_run']), ('b' * 64, 'false'), 'proof fields')
    r = srv.request('GET', '/api/v1/report/fixes.json', session=v)
    eq(r.status, 200, 'fixes.json')
    check(r.header('Content-Type').startswith('application/json'), r.header('Content-Type'))
    check(r.header('Content-Disposition').startswith('attachment'), 'fixes.json attachment')
    fj = r.json()
    fields = FIXES_HEADER.split(',')
    check(isinstance(fj, list) and fj, 'fixes.json is a non-empty array')
    for x in fj:
        eq(sorted(x), sorted(fields), 'fixes.json fields')
    db = srv.sql("SELECT %s FROM jobs ORDER BY id" % FIXES_HEADER)
    eq([tuple(x[k] for k in fields) for x in fj],
       [row[:3] + (bool(row[3]),) + row[4:] for row in db], 'fixes.json rows = the jobs table, oldest first')
    eq([str(x['id']) for x in fj], [x['id'] for x in rows], 'fixes.json and fixes.csv: the same jobs')
    eq(srv.request('GET', '/api/v1/report/fixes.json').status, 401, 'fixes.json needs a session')


@test('hosts.csv/hosts.json: every live host, reason texts from lib/reason.h, attempts, no hashes when not read')
def t_hosts_report(c):
    srv, S = c.srv, c.S
    v = S['view']
    r = srv.request('GET', '/api/v1/report/hosts.csv', session=v)
    eq(r.status, 200, 'hosts.csv')
    check(r.header('Content-Type').startswith('text/csv'), r.header('Content-Type'))
    check('dpfleet-hosts.csv' in r.header('Content-Disposition'), r.header('Content-Disposition'))
    text = r.body.decode()
    eq(text.split('\r\n')[0], HOST_HEADER, 'header row')
    rows = list(csv.DictReader(io.StringIO(text, newline='')))
    eq(sorted(x['fqdn'] for x in rows), sorted(h[0] for h in LIVE), 'every live host')
    j = srv.request('GET', '/api/v1/report/hosts.json', session=v)
    eq(j.status, 200, 'hosts.json')
    check('dpfleet-hosts.json' in j.header('Content-Disposition'), j.header('Content-Disposition'))
    jd = {x['fqdn']: x for x in j.json()}
    eq(sorted(jd), sorted(h[0] for h in LIVE), 'hosts.json rows')
    for x in j.json():
        eq(sorted(x), sorted(HOST_HEADER.split(',')), 'hosts.json fields')
    for row in rows:
        fqdn = row['fqdn']
        st = jd[fqdn]['state']
        if st is None:
            eq((row['state'], row['attempts'], row['reason_meaning']), ('', '', ''), fqdn + ' unscanned')
            continue
        word, meaning, step = want_reason(c, fqdn, st)
        eq((row['reason'], row['reason_meaning'], row['reason_next_step']), (word, meaning or '', step or ''),
           fqdn + ' CSV reason texts = lib/reason.h (RFC 4180 round trip)')
        eq((jd[fqdn]['reason'], jd[fqdn]['reason_meaning'], jd[fqdn]['reason_next_step']),
           (word, meaning, step), fqdn + ' JSON reason texts')
        eq((row['attempts'], jd[fqdn]['attempts']), (str(ATTEMPTS.get(fqdn, 1)), ATTEMPTS.get(fqdn, 1)),
           fqdn + ' attempts')
        if st in NOT_READ:
            eq((row['value_sha256'], row['expected_sha256']), ('', ''), fqdn + ': no hashes in the CSV')
            eq((jd[fqdn]['value_sha256'], jd[fqdn]['expected_sha256']), (None, None), fqdn + ' JSON hashes')
        else:
            eq(row['expected_sha256'], 'e' * 64, fqdn + ' compared with the site value')
    # The table's texts hold commas: quoted in the CSV, never split.
    check(any(',' in r['meaning'] for r in c.table), 'a meaning with a comma to quote')
    eq(srv.request('GET', '/api/v1/report/hosts.csv').status, 401, 'hosts.csv needs a session')


@test('metrics: hosts by state, affected, jobs by outcome and by state = the store')
def t_metrics_values(c):
    srv = c.srv
    # The figures themselves, against the seeded fleet and the jobs table as the tests above left it.
    series = {}
    for line in srv.request('GET', '/metrics').body.decode().splitlines():
        if line and not line.startswith('#'):
            name, value = line.rsplit(' ', 1)
            series[name] = value
    for st in STATES:
        eq(series.get('dpfleet_hosts{state="%s"}' % st), str(sum(1 for h in LIVE if h[6] == st)),
           'hosts ' + st)
    eq(series.get('dpfleet_unscanned_hosts'), '1', 'unscanned')
    eq(series.get('dpfleet_affected_hosts'), str(len(AFFECTED)), 'affected')
    outcomes = ('written', 'already_correct', 'would_write', 'refused', 'access_denied', 'unreachable',
                'verify_failed', 'restored')
    by_outcome = dict(srv.sql("SELECT outcome, count(*) FROM jobs WHERE outcome IS NOT NULL GROUP BY outcome"))
    check(len(by_outcome) >= 3, 'several outcomes to count: %r' % by_outcome)
    for o in outcomes:
        eq(series.get('dpfleet_jobs{outcome="%s"}' % o), str(by_outcome.get(o, 0)), 'jobs ' + o)
    by_state = dict(srv.sql("SELECT state, count(*) FROM jobs GROUP BY state"))
    check(len(by_state) >= 3, 'several job states to count: %r' % by_state)
    for st in ('queued', 'running', 'done', 'failed', 'cancelled'):
        eq(series.get('dpfleet_jobs_by_state{state="%s"}' % st), str(by_state.get(st, 0)), 'jobs ' + st)
    # Unreachable hosts by reason: every lib/reason.h word (0 included), words outside it as "other".
    by_reason = dict(srv.sql("SELECT o.reason, count(*) FROM hosts h JOIN observations o ON o.id = h.last_obs_id "
                             "WHERE h.retired_at IS NULL AND o.state = 'unreachable' GROUP BY o.reason"))
    words = [r['word'] for r in c.table]
    check(sum(by_reason.values()) >= 3, 'several unreachable reasons to count: %r' % by_reason)
    for w in words:
        eq(series.get('dpfleet_unreachable_hosts{reason="%s"}' % w), str(by_reason.get(w, 0)), 'unreachable ' + w)
    other = sum(n for w, n in by_reason.items() if w not in words)
    eq(series.get('dpfleet_unreachable_hosts{reason="other"}'), str(other) if other else None, 'unreachable other')


@test('audit and users (admin only): logins, failures, queue, cancel, scan request, CLI')
def t_audit(c):
    srv, S = c.srv, c.S
    r = srv.request('GET', '/api/v1/audit?limit=1000', session=S['admin'])
    eq(r.status, 200, 'status')
    j = r.json()
    actions = [a['action'] for a in j['audit']]
    for a in ('login', 'job.queue', 'job.cancel', 'scan.request', 'user.add'):
        check(a in actions, 'audit lacks ' + a)
    outcomes = set(a['outcome'] for a in j['audit'] if a['action'] == 'login')
    check({'ok', 'failed', 'unknown_user'} <= outcomes, outcomes)
    q = next(a for a in j['audit'] if a['action'] == 'job.queue')
    check(isinstance(q['detail'], dict) and 'job' in q['detail'], q)
    eq(srv.request('GET', '/api/v1/audit?limit=5000', session=S['admin']).status, 400, 'limit')
    r = srv.request('GET', '/api/v1/users', session=S['admin'])
    eq(r.status, 200, 'users')
    eq(sorted(u['name'] for u in r.json()['users']), sorted(PW), 'user list')
    check(all(set(u) >= {'name', 'role', 'disabled', 'locked', 'created_at'} for u in r.json()['users']),
          'user fields')
    eq(srv.request('GET', '/api/v1/users', session=S['oper']).status, 403, 'operator users')


@test('a write by another process (the scanner) shows at once (no stale cache)')
def t_cache_sees_changes(c):
    srv, S = c.srv, c.S
    v = S['view']
    before = srv.request('GET', '/api/v1/summary', session=v).json()
    srv.request('GET', '/api/v1/summary', session=v)
    srv.sql("UPDATE observations SET state = 'healthy' WHERE id = (SELECT last_obs_id FROM hosts "
            "WHERE fqdn = 'dp3.ps1.lab')")
    for _ in range(4):      # every worker thread's cache
        after = srv.request('GET', '/api/v1/summary', session=v).json()
        eq(after['counts']['empty'], before['counts']['empty'] - 1, 'stale cache')
    srv.sql("UPDATE observations SET state = 'empty' WHERE id = (SELECT last_obs_id FROM hosts "
            "WHERE fqdn = 'dp3.ps1.lab')")
    eq(srv.request('GET', '/api/v1/summary', session=v).json()['counts'], before['counts'], 'restored')


@test('concurrent readers and writers on all worker threads while another process writes')
def t_concurrent(c):
    srv, S = c.srv, c.S
    # Readers and queue writers on every worker thread while another process writes the DB the way
    # the scanner does: every answer must be a success (busy waits, no 500), no stale counts after.
    import threading
    from concurrent.futures import ThreadPoolExecutor
    stop = threading.Event()

    def scanner():
        n = 0
        while not stop.is_set() and n < 400:
            srv.sql("UPDATE observations SET scan_ms = scan_ms + 1 WHERE id IN "
                    "(SELECT last_obs_id FROM hosts)")
            n += 1

    def client(i):
        out = []
        for k in range(25):
            if k % 5 == 4:
                r = srv.request('POST', '/api/v1/fixes', {'hosts': ['dp1.ps1.lab'], 'dry_run': True},
                                session=S['oper'])
            else:
                r = srv.request('GET', ('/api/v1/summary', '/api/v1/hosts?limit=5',
                                        '/api/v1/jobs?limit=5', '/api/v1/scans')[k % 4], session=S['view'])
            out.append(r.status)
        return out

    w = threading.Thread(target=scanner)
    w.start()
    try:
        with ThreadPoolExecutor(8) as ex:
            statuses = [st for res in ex.map(client, range(8)) for st in res]
    finally:
        stop.set()
        w.join()
    eq(sorted(set(statuses)), [200, 202], 'statuses under concurrent writes')
    eq(srv.request('GET', '/api/v1/summary', session=S['view']).json()['affected'], len(AFFECTED),
       'summary after')


@test('405 on wrong method, 404 on unknown endpoint')
def t_methods_paths(c):
    srv, S = c.srv, c.S
    eq(srv.request('GET', '/api/v1/fixes', session=S['oper']).status, 405, 'GET fixes')
    eq(srv.request('DELETE', '/api/v1/hosts', session=S['oper']).status, 405, 'DELETE hosts')
    eq(srv.request('GET', '/api/v1/nothing', session=S['oper']).status, 404, 'unknown endpoint')
    eq(srv.request('GET', '/api/v2/summary').status, 404, 'unknown version')


@test('body cap: 1 MiB (length or chunked) 413, 1 GiB refused unread, server stays up')
def t_body_cap(c):
    srv, S = c.srv, c.S
    big = b'{"hosts": ["' + b'a' * (1024 * 1024) + b'"]}'
    r = srv.request('POST', '/api/v1/fixes', big, session=S['oper'])
    eq(r.status, 413, '1 MiB body')
    check('error' in r.json(), 'message')
    ok = b'{"user": "x", "password": "' + b'p' * (60 * 1024) + b'"}'
    eq(srv.request('POST', '/api/v1/login', ok).status, 422, '60 KiB body is parsed (password too long)')
    r = srv.request('POST', '/api/v1/login', b'x' * (64 * 1024 + 1))
    eq(r.status, 413, '64 KiB + 1')
    # No Content-Length: chunked upload of 1 MiB.
    conn = srv.connection()
    try:
        conn.putrequest('POST', '/api/v1/login')
        conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        for _ in range(16):
            chunk = b'y' * 65536
            conn.send(b'%x\r\n%s\r\n' % (len(chunk), chunk))
        conn.send(b'0\r\n\r\n')
        eq(conn.getresponse().status, 413, 'chunked 1 MiB')
    finally:
        conn.close()
    # A declared 1 GiB body is refused before any of it is read.
    ans = srv.raw(b'POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n'
                  b'Expect: 100-continue\r\n\r\n')
    check(ans.startswith(b'HTTP/1.1 413'), ans[:60])
    eq(srv.request('GET', '/healthz').status, 200, 'still up')


@test('static files: index, types, ETag/304, security headers, no listing, no symlink escape')
def t_static(c):
    srv = c.srv
    with open(os.path.join(srv.web, 'index.html'), 'w') as f:
        f.write('<!doctype html><title>dpfleet</title>')
    os.mkdir(os.path.join(srv.web, 'js'))
    os.mkdir(os.path.join(srv.web, 'empty'))
    for name, data in (('js/app.js', 'export {};'), ('style.css', 'body{}'), ('logo.svg', '<svg/>'),
                       ('favicon.ico', 'ico'), ('data.json', '{}')):
        with open(os.path.join(srv.web, name), 'w') as f:
            f.write(data)
    outside = os.path.join(srv.dir, 'secret.txt')
    with open(outside, 'w') as f:
        f.write('SECRET')
    os.symlink(outside, os.path.join(srv.web, 'link.txt'))
    r = srv.request('GET', '/')
    eq(r.status, 200, 'index')
    check(r.header('Content-Type').startswith('text/html'), r.header('Content-Type'))
    check(b'dpfleet' in r.body, 'index body')
    for h, v in (('Content-Security-Policy', "default-src 'self'"), ('X-Content-Type-Options', 'nosniff'),
                 ('X-Frame-Options', 'DENY'), ('Referrer-Policy', 'no-referrer')):
        check((r.header(h) or '').startswith(v), '%s: %r' % (h, r.header(h)))
    etag = r.header('ETag')
    check(etag and etag.startswith('"'), 'etag')
    r2 = srv.request('GET', '/', headers={'If-None-Match': etag})
    eq((r2.status, r2.body), (304, b''), 'If-None-Match')
    eq(srv.request('GET', '/', headers={'If-None-Match': '"other"'}).status, 200, 'other etag')
    for path, ctype in (('/js/app.js', 'text/javascript'), ('/style.css', 'text/css'),
                        ('/logo.svg', 'image/svg+xml'), ('/favicon.ico', 'image/x-icon'),
                        ('/data.json', 'application/json'), ('/index.html', 'text/html')):
        r = srv.request('GET', path)
        eq(r.status, 200, path)
        check(r.header('Content-Type').startswith(ctype), '%s: %s' % (path, r.header('Content-Type')))
    eq(srv.request('GET', '/empty/').status, 404, 'no directory listing')
    eq(srv.request('GET', '/js').status, 404, 'directory without index')
    eq(srv.request('GET', '/nothing.html').status, 404, 'missing file')
    r = srv.request('GET', '/link.txt')
    eq(r.status, 404, 'symlink out of web_root')
    check(b'SECRET' not in r.body, 'leak')
    eq(srv.request('POST', '/index.html', {}).status, 405, 'POST static')


@test('path traversal (raw ../, %2e%2e, backslash, NUL) -> 400/404, server stays up')
def t_traversal(c):
    srv = c.srv
    for line in (b'GET /../../../../etc/passwd HTTP/1.1', b'GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1',
                 b'GET /%2E%2E/%2E%2E/etc/passwd HTTP/1.1', b'GET /..%2f..%2f..%2fetc%2fpasswd HTTP/1.1',
                 b'GET /js/../../secret.txt HTTP/1.1', b'GET /./index.html HTTP/1.1',
                 b'GET /..\\..\\etc\\passwd HTTP/1.1', b'GET /%00/etc/passwd HTTP/1.1',
                 b'GET //etc/passwd HTTP/1.1'):
        ans = srv.raw(line + b'\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
        status = int(ans.split(b' ', 2)[1]) if ans.startswith(b'HTTP/1.') else 0
        check(status in (400, 404), '%r -> %r' % (line, ans[:80]))
        check(b'root:' not in ans and b'SECRET' not in ans, 'leak for %r' % line)
    eq(srv.request('GET', '/healthz').status, 200, 'still up')


@test('back-off: after 3 failures the account waits (same 401), expiry via back-dated rows, a success clears it')
def t_lockout(c):
    # The attack side (timing, parallel attempts) is tests/integration/security_server.py.
    srv = c.srv
    for i in range(4):
        r = srv.request('POST', '/api/v1/login', {'user': 'locky', 'password': 'wrong-%d' % i})
        eq(r.status, 401, 'failure %d' % i)
    wrong = r.body
    r = srv.request('POST', '/api/v1/login', {'user': 'locky', 'password': PW['locky']})
    eq((r.status, r.body), (401, wrong), 'backed off even with the right password, the same answer')
    until = srv.sql("SELECT locked_until FROM users WHERE name = 'locky'")[0][0]
    check(until > time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'back-off in the future')
    eq(srv.sql("SELECT count(*) FROM audit WHERE action = 'login' AND who = 'locky' AND outcome = 'backoff'")
       [0][0], 1, 'back-off audited')
    r = srv.cli('user', 'list')
    check(b'locky\tviewer\tlocked' in r.stdout, r.stdout)
    # End the back-off without waiting: back-date it in the store.
    srv.sql("UPDATE users SET locked_until = '2000-01-01T00:00:00Z' WHERE name = 'locky'")
    r = srv.request('POST', '/api/v1/login', {'user': 'locky', 'password': PW['locky']})
    eq(r.status, 200, 'back-off over')
    eq(srv.sql("SELECT failed_logins FROM users WHERE name = 'locky'")[0][0], 0, 'a success clears the count')


@test('disable, passwd and logout end sessions')
def t_disable_logout(c):
    srv, S = c.srv, c.S
    g = srv.login('gone', PW['gone'])
    eq(srv.request('GET', '/api/v1/summary', session=g).status, 200, 'before')
    r = srv.cli('user', 'disable', 'gone')
    eq(r.returncode, 0, r.stderr)
    eq(srv.request('GET', '/api/v1/summary', session=g).status, 401, 'session ended')
    eq(srv.request('POST', '/api/v1/login', {'user': 'gone', 'password': PW['gone']}).status, 401,
       'disabled login')
    r = srv.cli('user', 'passwd', 'view', stdin='viewer-password-2\n')
    eq(r.returncode, 0, r.stderr)
    eq(srv.request('GET', '/api/v1/summary', session=S['view']).status, 401, 'passwd ends sessions')
    S['view'] = srv.login('view', 'viewer-password-2')
    h = {'Cookie': 'dpfleet_session=' + S['oper'].token}
    eq(srv.request('POST', '/api/v1/logout', headers=h).status, 403, 'logout needs CSRF')
    r = srv.request('POST', '/api/v1/logout', session=S['oper'])
    eq(r.status, 200, 'logout')
    check('Max-Age=0' in r.header('Set-Cookie'), 'cookie cleared')
    eq(srv.request('GET', '/api/v1/summary', session=S['oper']).status, 401, 'after logout')


@test('request log without secrets; SIGTERM stops cleanly (exit 0)')
def t_graceful(c):
    srv, S = c.srv, c.S
    eq(srv.request('GET', '/healthz').status, 200, 'up at the end')
    log = srv.logtext()
    check('GET /api/v1/summary 200' in log, 'request log line at -v')
    check(PW['oper'] not in log and S['admin'].token not in log, 'secrets in the log')
    eq(srv.stop(), 0, 'SIGTERM exit code')
    check('stopping' in srv.logtext(), 'stop logged')


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: server_api.py REASON_TABLE_HELPER')
    table = reason_table()
    add_reason_hosts(table)
    srv = Server(max_per_run=3)
    with serving(srv):
        # The store must exist (migrated) before seeding: the CLI opens it.
        for name, role in (('admin', 'admin'), ('oper', 'operator'), ('view', 'viewer'),
                           ('locky', 'viewer'), ('gone', 'operator')):
            srv.add_user(name, role, PW[name])
        seed(srv)
        srv.start()
        checks.run_all(Ctx(srv, table))
    return checks.finish()


if __name__ == '__main__':
    sys.exit(main())
