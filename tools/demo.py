#!/usr/bin/env python3
"""tools/demo.py — what `tools/dpfleet demo` runs once everything is built.

Generates a lab of about 60 hosts over 3 sites (tests/lab/dpfleet-lab generate), brings it up (real smbd per
host, dpfleet-tdsd as the site DB, which also lists a cloud DP and a CMG: shown, never scanned; DPs co-hosted
with a management point and one on a site server, their SMSPXE.log where Windows writes it; a small
Kerberos-only site KR1 whose hosts are members of a Samba AD DC's realm and refuse NTLM), scans it once
so the dashboard has data, starts dpfleet-scanner (daemon) and dpfleet-server, prints the dashboard URL and the
operator login, and waits for Ctrl-C.  On Ctrl-C, SIGTERM, or any failure it stops everything it started
(daemons first, then `dpfleet-lab down`).
Python 3 standard library only."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, 'tests', 'lab', 'dpfleet-lab')


def say(msg):
    print('dpfleet: ' + msg, file=sys.stderr, flush=True)


def generate_args(sites=3, hosts=60, kerberos=False):
    """The demo fleet's `dpfleet-lab generate` arguments (tests/integration/scan_demo_fleet.py scans the same
    fleet and checks every verdict against the lab's expect).  kerberos: plus site KR1, a Samba AD DC's realm
    whose site server and two DPs refuse NTLM (the demo has it; lab_kdc and scan_kerberos test that shape)."""
    return ['generate', '--sites', str(sites), '--hosts', str(hosts), '--seed', '4469580', '--broken', '0.3'] + \
        (['--kerberos-site'] if kerberos else [])


def first_scan_summary(labdir):
    """'N hosts, K unreachable (the lab expects E), C cloud (not scanned)' from the state DB and lab.json after
    the first scan; the generated fleet lists a cloud DP and a CMG, which the scanner never contacts."""
    import sqlite3
    with open(os.path.join(labdir, 'lab.json')) as f:
        expect = json.load(f)['expect']
    want = sum(1 for e in expect.values() if e.get('unreachable_reason'))
    c = sqlite3.connect(os.path.join(labdir, 'state.db'))
    try:
        rows = c.execute('SELECT o.state, count(*) FROM observations o WHERE o.scan_id = '
                         '(SELECT max(id) FROM scans) GROUP BY o.state').fetchall()
        cloud = c.execute('SELECT count(*) FROM hosts WHERE cloud IS NOT NULL AND retired_at IS NULL').fetchone()[0]
    finally:
        c.close()
    by = dict(rows)
    return '%d hosts, %d unreachable (the lab expects %d), %d cloud (not scanned)' % (
        sum(by.values()), by.get('unreachable', 0), want, cloud)


def wait_http(url, seconds):
    import urllib.request
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build-demo')
    ap.add_argument('--base-addr', default='127.90.0.0')
    ap.add_argument('--hosts', type=int, default=60)
    ap.add_argument('--sites', type=int, default=3)
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    scanner = os.path.join(build, 'scanner', 'dpfleet-scanner')
    server = os.path.join(build, 'server', 'dpfleet-server')
    env = dict(os.environ, DPFLEET_BUILD_ROOT=build, DPFLEET_SOURCE_ROOT=ROOT,
               DPFLEET_TDSD=os.path.join(build, 'tests', 'tdsd', 'dpfleet-tdsd'), DPFLEET_SERVER=server)

    work = tempfile.mkdtemp(prefix='dpfleet-demo-')
    os.chmod(work, 0o711)  # smbd's helpers run as the lab's scan user and must reach the lab dir
    labdir = os.path.join(work, 'lab')
    procs = []
    lab_up = False
    stop = {'now': False}

    def on_signal(signum, frame):
        stop['now'] = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        scenario = os.path.join(work, 'scenario.json')
        with open(scenario, 'w') as f:
            subprocess.run([sys.executable, LAB] + generate_args(args.sites, args.hosts, kerberos=True),
                           stdout=f, check=True, env=env)
        say('starting the lab (%d hosts, %d sites) in %s' % (args.hosts, args.sites, labdir))
        subprocess.run([sys.executable, LAB, 'up', scenario, '--dir', labdir, '--base-addr', args.base_addr],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        lab_up = True
        with open(os.path.join(labdir, 'lab.json')) as f:
            lab = json.load(f)
        senv = env
        if lab.get('kerberos', {}).get('realms'):       # the scanner's KDC and realms: the lab's krb5.conf
            env['KRB5_CONFIG'] = lab['kerberos']['krb5_conf']
            # Log reads name a Kerberos host by its FQDN (dpfleet-scanner(8), Kerberos): the scanner resolves
            # the lab's names through nss_wrapper's hosts file, as a real scanner would through DNS.
            senv = dict(env, LD_PRELOAD='libnss_wrapper.so', NSS_WRAPPER_DISABLE_DEEPBIND='1',
                        NSS_WRAPPER_HOSTS=lab['kerberos']['env']['NSS_WRAPPER_HOSTS'],
                        NSS_WRAPPER_MAX_HOSTENTS=lab['kerberos']['env']['NSS_WRAPPER_MAX_HOSTENTS'])
        sconf = os.path.join(labdir, 'scanner.conf')
        vconf = os.path.join(labdir, 'server.conf')
        say('first scan (dpfleet-scanner --once)')
        subprocess.run([scanner, '-f', sconf, '--once'], check=True, env=senv)
        say('first scan: ' + first_scan_summary(labdir))
        procs.append(subprocess.Popen([server, '-d', '-f', vconf], env=env))
        procs.append(subprocess.Popen([scanner, '-d', '-f', sconf], env=senv))
        listen = '127.0.0.1:8080'
        with open(vconf) as f:
            for line in f:
                k, _, v = line.partition('=')
                if k.strip() == 'listen':
                    listen = v.strip()
        url = 'http://%s/' % listen
        if not wait_http(url + 'healthz', 20):
            raise RuntimeError('dpfleet-server did not answer on ' + url)
        op = lab.get('operator') or {}
        print('\n  dashboard: %s\n  operator:  %s / %s\n\n  Ctrl-C stops the demo and everything it started.\n'
              % (url, op.get('user', '?'), op.get('password', '?')), flush=True)
        while not stop['now']:
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError('%s exited with %d' % (p.args[0], p.returncode))
            time.sleep(0.5)
        return 0
    except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
        say('demo failed: %s' % e)
        return 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if lab_up or os.path.isdir(labdir):
            subprocess.run([sys.executable, LAB, 'down', '--dir', labdir], env=env)
        subprocess.run(['rm', '-rf', work])
        say('stopped')


if __name__ == '__main__':
    sys.exit(main())
