#!/usr/bin/env python3
"""observations.note (migrations/0004_observation_note.sql) through dpfleet-server's API against a real server
on a free port (dpfleet-server(8), API): the host list and the host page carry the newest observation's note
(null when it has none or the host was never scanned), each history entry its own, and hosts.csv,
affected.csv and their JSON twins end with a note column, the CSV quoted by RFC 4180 and with a text cell that
starts like a formula prefixed with ' (server/api_fleet.c, csv_field).

Seeds two scans of a small PS1 fleet with sqlite3 through tests/integration/server_harness.py (the scanner's
notes of doc/dpfleet-scanner.8, "Verdicts", plus notes that need quoting or neutralising and one that is not
UTF-8), signs in a viewer made with the real CLI and reads every shape over HTTP.  Prints 'ok - ...' per test
and 'N passed, N failed'.
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_harness import Server, serving  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import check, eq, require, test  # noqa: E402

PW = 'viewer-password-1'
HOST_HEADER = ('fqdn,site,roles,pxe,state,reason,value_sha256,expected_sha256,pxe_cert_errors,'
               'pxe_last_error,certmgr_denied,last_scanned,last_fix_outcome,last_fix_at,attempts,reason_meaning,'
               'reason_next_step,cloud,not_scanned,cred_set,note')
CANON = 'non-canonical REG_MULTI_SZ encoding (single final NUL)'
REGSZ = 'value type REG_SZ (1), not REG_MULTI_SZ'
BINARY = 'value type REG_BINARY (3), not REG_MULTI_SZ'
QUOTED = 'has, a comma and a "quote"\r\nand a new line'
FORMULA = '=HYPERLINK("http://x.test","y")'
MINUS = '-2+3'
# fqdn -> (state, note in scan 1, note in scan 2); None as the state: never scanned.  A note given as bytes is
# stored as TEXT that is not UTF-8; the API shows its invalid bytes as '?' (lib/store_query.h, store_json_text).
HOSTS = {
    'canon.ps1.lab': ('healthy', None, CANON),
    'regsz.ps1.lab': ('mismatch', BINARY, REGSZ),
    'plain.ps1.lab': ('mismatch', None, None),
    'older.ps1.lab': ('healthy', CANON, None),
    'quoted.ps1.lab': ('missing', None, QUOTED),
    'formula.ps1.lab': ('mismatch', None, FORMULA),
    'minus.ps1.lab': ('empty', None, MINUS),
    'badutf.ps1.lab': ('mismatch', None, b'value \xff type'),
    'new.ps1.lab': (None, None, None),
}
AFFECTED = ('missing', 'empty', 'mismatch')


def shown(note):
    """A seeded note as the API shows it."""
    return note.decode('utf-8', 'replace').replace('\ufffd', '?') if isinstance(note, bytes) else note


def cell(note):
    """What a CSV reader gets from the note column: '' for null, a leading ' for a formula-like text."""
    note = shown(note)
    if note is None:
        return ''
    return "'" + note if note[:1] in ('=', '+', '-', '@', '\t', '\r') else note


def seed(srv):
    srv.sql("INSERT INTO sites (code, name, type, expected_state, expected_value, expected_sha256, first_seen, "
            "last_seen) VALUES ('PS1', 'Primary one', 'primary', 'present', 'CERT', ?, "
            "'2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')", ('e' * 64,))
    for scan, at in ((1, '2026-01-01T06:00:00Z'), (2, '2026-01-02T06:00:00Z')):
        srv.sql("INSERT INTO scans (id, trigger, started_at, finished_at, state, hosts) "
                "VALUES (?, 'schedule', ?, ?, 'done', ?)", (scan, at, at, len(HOSTS)))
    for i, (fqdn, (state, note1, note2)) in enumerate(sorted(HOSTS.items()), start=1):
        srv.sql("INSERT INTO hosts (id, fqdn, site, is_dp, pxe, first_seen, last_seen) VALUES "
                "(?, ?, 'PS1', 1, 1, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')", (i, fqdn))
        if state is None:
            continue
        for scan, note in ((1, note1), (2, note2)):
            # CAST keeps a bytes note TEXT (python's sqlite3 would bind it as a BLOB).
            srv.sql("INSERT INTO observations (id, scan_id, host_id, at, state, affected, value_sha256, "
                    "expected_sha256, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))",
                    (scan * 100 + i, scan, i, '2026-01-0%dT06:00:01Z' % scan, state, int(state in AFFECTED),
                     'a' * 64 if state != 'missing' else None, 'e' * 64, note))
        srv.sql("UPDATE hosts SET last_obs_id = ? WHERE id = ?", (200 + i, i))


def get_json(c, path):
    r = c.srv.request('GET', path, session=c.session)
    require(r.status == 200, '%s: %r' % (path, r))
    return r.json()


class Ctx:
    def __init__(self, srv):
        self.srv = srv
        self.session = None


@test('sign in as a viewer', fatal=True)
def t_login(c):
    c.session = c.srv.login('view', PW)


@test('GET /api/v1/hosts: note of the newest observation, null without one and for a host never scanned')
def t_list(c):
    hosts = {h['fqdn']: h for h in get_json(c, '/api/v1/hosts?limit=1000')['hosts']}
    eq(sorted(hosts), sorted(HOSTS), 'every host listed')
    for fqdn, (_, _, note) in HOSTS.items():
        check('note' in hosts[fqdn], fqdn + ': the list shape has note')
        eq(hosts[fqdn].get('note'), shown(note), fqdn + ' note')
    eq(hosts['badutf.ps1.lab']['note'], 'value ? type', 'invalid UTF-8 shown as ?')


@test('GET /api/v1/hosts/{fqdn}: the note, and each history entry its own (newest first)')
def t_detail(c):
    for fqdn, (state, note1, note2) in HOSTS.items():
        h = get_json(c, '/api/v1/hosts/' + fqdn)
        eq(h.get('note'), shown(note2), fqdn + ' note')
        hist = h.get('history', [])
        if state is None:
            eq(hist, [], fqdn + ': no history')
            continue
        eq([(x['scan_id'], x.get('note', 'absent')) for x in hist], [(2, shown(note2)), (1, shown(note1))],
           fqdn + ' history notes')
    h = get_json(c, '/api/v1/hosts/older.ps1.lab')
    eq((h['note'], h['history'][1]['note']), (None, CANON), 'an older note stays in the history only')


def csv_rows(c, name):
    r = c.srv.request('GET', '/api/v1/report/' + name, session=c.session)
    require(r.status == 200, '%s: %r' % (name, r))
    text = r.body.decode()
    eq(text.split('\r\n')[0], HOST_HEADER, name + ' header: note last')
    rows = list(csv.reader(io.StringIO(text, newline='')))
    check(all(len(x) == len(rows[0]) for x in rows), name + ': every row has every column')
    return text, [dict(zip(rows[0], x)) for x in rows[1:]]


@test('hosts.csv and affected.csv: a note column at the end, RFC 4180 quoting and formula cells neutralised')
def t_csv(c):
    for name, want in (('hosts.csv', sorted(HOSTS)),
                       ('affected.csv', sorted(f for f, v in HOSTS.items() if v[0] in AFFECTED))):
        text, rows = csv_rows(c, name)
        eq(sorted(x['fqdn'] for x in rows), want, name + ' rows')
        for x in rows:
            eq(x['note'], cell(HOSTS[x['fqdn']][2]), '%s %s note cell' % (name, x['fqdn']))
        check('"has, a comma and a ""quote""\r\nand a new line"\r\n' in text, name + ': quoted note, doubled quotes')
        check('"\'=HYPERLINK(""http://x.test"",""y"")"\r\n' in text, name + ': formula note prefixed inside quotes')
        check(",'-2+3\r\n" in text, name + ': formula-like note prefixed, unquoted')
        if name == 'hosts.csv':
            check(',%s\r\n' % CANON in text, name + ': a plain note as it is')


@test('hosts.json and affected.json: note is the last field, as stored (no CSV neutralising)')
def t_json(c):
    for name, affected_only in (('hosts.json', False), ('affected.json', True)):
        rows = get_json(c, '/api/v1/report/' + name)
        want = sorted(f for f, v in HOSTS.items() if not affected_only or v[0] in AFFECTED)
        eq(sorted(x['fqdn'] for x in rows), want, name + ' rows')
        for x in rows:
            eq(list(x)[-1], 'note', '%s %s: note last' % (name, x['fqdn']))
            eq(sorted(x), sorted(HOST_HEADER.split(',')), '%s %s: the CSV fields' % (name, x['fqdn']))
            eq(x['note'], shown(HOSTS[x['fqdn']][2]), '%s %s note' % (name, x['fqdn']))


def main():
    srv = Server()
    with serving(srv):
        srv.add_user('view', 'viewer', PW)      # creates and migrates the store before seeding
        seed(srv)
        srv.start()
        checks.run_all(Ctx(srv))
    return checks.finish()


if __name__ == '__main__':
    sys.exit(main())
