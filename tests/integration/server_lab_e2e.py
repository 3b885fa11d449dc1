#!/usr/bin/env python3
"""dpfleet-server(8)'s API end to end on the lab's small scenario (tests/lab/scenarios/small.json):
scan once with dpfleet-scanner, run dpfleet-server and the scanner daemon, then as the lab's operator:
login -> summary (counts per state as the scenario implies) -> POST /api/v1/fixes {"all_affected": true}
-> every job done/written -> the rescans turn the summary healthy -> affected.csv holds only its header and
fixes.csv the proof.  A viewer gets 403 on the same POST.  Waits are polls with a generous bound (a missing
executor fails instead of hanging), not speed assertions.  Everything runs in the lab's temp dir and is
stopped (lab down, daemons) in finally blocks via fix_lib.Lab.
"""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fix_lib import Lab, SCANNER, SRC, scanner  # noqa: E402
from server_harness import Client, Session, server_binary  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import check, eq  # noqa: E402

BASE = "127.88.0.0"
STATES = ['healthy', 'missing', 'empty', 'mismatch', 'no_key', 'denied', 'unreachable', 'unknown']
AFFECTED_HEADER = ('fqdn,site,roles,pxe,state,reason,value_sha256,expected_sha256,pxe_cert_errors,'
                   'pxe_last_error,certmgr_denied,last_scanned,last_fix_outcome,last_fix_at,attempts,reason_meaning,'
                   'reason_next_step,cloud,not_scanned,cred_set,note')
WAIT_S = 300


def expected_state(e, site):
    """The verdict the scanner must give a host, from the lab's own description (dpfleet-scanner(8), Verdicts)."""
    if not e['reachable']:
        return 'unreachable'
    if e['registry'] in ('denied', 'no_key'):
        return e['registry']
    if not site or site['value_state'] != 'ok':
        return 'unknown'
    return {'ok': 'healthy', 'missing': 'missing', 'empty': 'empty', 'mismatch': 'mismatch'}[e['registry']]


def main():
    with open(os.path.join(SRC, 'tests', 'lab', 'scenarios', 'small.json')) as f:
        scen = json.load(f)
    procs = []
    try:
        with Lab(scen, BASE, 'srv-e2e') as lab:
            info = lab.info
            check(info.get('operator'), 'the lab created the operator')
            want = {fq: expected_state(e, info['expect_sites'][e['site']]) for fq, e in info['expect'].items()}
            affected = sorted(fq for fq, s in want.items() if s in ('missing', 'empty', 'mismatch'))
            sconf = os.path.join(lab.dir, 'server.conf')
            r = scanner(lab, '--once')
            eq(r.returncode, 0, 'dpfleet-scanner --once')
            logs = {}
            for name, argv in (('server', [server_binary(), '-d', '-v', '-f', sconf]),
                               ('scanner', [SCANNER, '-d', '-f', lab.conf])):
                logs[name] = os.path.join(lab.tmp, name + '.log')
                with open(logs[name], 'wb') as out:
                    procs.append(lab.spawn(argv, stdout=out, stderr=out))
            host, port = info['http_listen'].rsplit(':', 1)
            api = Client(host, int(port))
            for _ in range(300):
                try:
                    if api.request('GET', '/healthz').status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            r = api.request('POST', '/api/v1/login', {'user': info['operator']['user'],
                                                      'password': info['operator']['password']})
            eq(r.status, 200, 'operator login')
            op = Session(r)

            def t_summary():
                j = api.request('GET', '/api/v1/summary', session=op).json()
                eq(j['counts'], {s: sum(1 for v in want.values() if v == s) for s in STATES}, 'counts per state')
                eq(j['affected'], len(affected), 'affected')
                check(len(affected) > 0, 'the scenario has affected hosts')
                rows = list(csv.reader(io.StringIO(api.request('GET', '/api/v1/report/affected.csv',
                                                               session=op).body.decode(), newline='')))
                eq(','.join(rows[0]), AFFECTED_HEADER, 'csv header')
                eq(sorted(x[0] for x in rows[1:]), affected, 'affected.csv rows before')
            checks.run_one('login -> summary: counts per state as the scenario implies; affected.csv lists them',
                           t_summary)

            def t_viewer():
                pw = 'viewer-e2e-password'
                rr = subprocess.run([server_binary(), '-f', sconf, 'user', 'add', 'viewer', '--role',
                                                   'viewer'], input=(pw + '\n').encode(), capture_output=True)
                eq(rr.returncode, 0, rr.stderr)
                v = Session(api.request('POST', '/api/v1/login', {'user': 'viewer', 'password': pw}))
                eq(api.request('POST', '/api/v1/fixes', {'all_affected': True}, session=v).status, 403, 'viewer')
            checks.run_one('a viewer gets 403 on POST /api/v1/fixes', t_viewer)

            def t_fix():
                r = api.request('POST', '/api/v1/fixes', {'all_affected': True}, session=op)
                eq(r.status, 202, 'fix all affected')
                jobs = {j['id']: j['host'] for j in r.json()['jobs']}
                eq(sorted(jobs.values()), affected, 'one job per affected host')
                until = time.monotonic() + WAIT_S
                while True:
                    got = {j['id']: j for j in api.request('GET', '/api/v1/jobs?limit=1000', session=op).json()['jobs']
                           if j['id'] in jobs}
                    if all(j['state'] in ('done', 'failed', 'cancelled') for j in got.values()) and len(got) == len(jobs):
                        break
                    check(time.monotonic() < until, 'jobs still not ended after %d s: %s' % (WAIT_S, got))
                    time.sleep(1)
                for jid, j in got.items():
                    eq((j['state'], j['outcome']), ('done', 'written'), jobs[jid])
                    check(j['before_sha256'] != j['after_sha256'], 'hashes differ for ' + jobs[jid])
                # The scanner rescans each written host; the summary turns healthy.
                while True:
                    s = api.request('GET', '/api/v1/summary', session=op).json()
                    if s['affected'] == 0:
                        break
                    check(time.monotonic() < until, 'still affected after %d s: %s' % (WAIT_S, s['counts']))
                    time.sleep(1)
                eq(s['counts']['healthy'], sum(1 for v in want.values() if v == 'healthy') + len(affected), 'healthy')
                text = api.request('GET', '/api/v1/report/affected.csv', session=op).body.decode()
                eq(text, AFFECTED_HEADER + '\r\n', 'affected.csv empty')
                rows = list(csv.DictReader(io.StringIO(api.request('GET', '/api/v1/report/fixes.csv',
                                                                   session=op).body.decode(), newline='')))
                proof = {x['host']: x for x in rows if x['outcome'] == 'written'}
                eq(sorted(proof), affected, 'fixes.csv proof rows')
                check(all(x['requested_by'] == info['operator']['user'] and x['after_sha256'] for x in proof.values()),
                      'proof fields')
            checks.run_one('fix all affected via the API -> jobs done/written -> summary healthy -> affected.csv empty',
                           t_fix)

            srv = procs[0]
            srv.send_signal(signal.SIGTERM)
            eq(srv.wait(timeout=30), 0, 'server SIGTERM')
            procs[1].send_signal(signal.SIGTERM)
            try:
                procs[1].wait(timeout=60)
            except Exception:
                pass
            if checks.nfailed():
                for name, p in logs.items():
                    with open(p, 'rb') as f:
                        print('--- %s log ---\n%s' % (name, f.read().decode(errors='replace')[-3000:]))
    except Exception:
        checks.exception('exception outside a test')
    return checks.finish()


if __name__ == '__main__':
    sys.exit(main())
