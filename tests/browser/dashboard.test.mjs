// dashboard.test.mjs — the dashboard against a real dpfleet-server only (no lab, no scanner): a temp store
// created by `dpfleet-server user add`, filled by seed.py (5000 hosts, every state, 3 scans and a fix rescan,
// evidence), the server on a free 127.0.0.1 port, Debian's Chromium through playwright-core.  Checks sign-in
// (error and back-off messages), overview counts per state and per site, the last full scan, the trend chart,
// hosts paging/filter/sort/search (also over the thousands: totals, pages, order; no timing), the operator's
// fix dialog (cancelled: nothing is queued; then a dry run whose live job list follows its jobs to their end),
// host detail verdict words and CMTrace evidence (an unreachable host: lib/reason.h's meaning and next step as
// the API serves them, its attempts, no hash comparison; a host's note under the verdict as text, none
// without one; the credential set of the last read and of a job), hosts.csv (its note column), the sign-in
// page without navigation or
// Sign out (before sign-in and after Sign out), a viewer without fix controls who gets 403 from the API
// anyway, a reload keeping the session, and the 390-px layout.  Any console error or page error fails the test (except the 401s it provokes on purpose).
// Screenshots go to $DPFLEET_BUILD_ROOT/screenshots/server-*.png.  Skips with the reason only when Chromium or
// playwright-core is not installed (and not even then under CI or DPFLEET_REQUIRE_BROWSER=1); a missing server
// binary, a failing `user add` or a server that never answers fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  SOURCE_ROOT, missingBrowserPrereq, skipOrFail, findServer, freePort, mkTemp, launch, watchErrors, shot, userAdd,
  startDaemon, stopChecked, waitHttp, Client, parseCsv, signIn, download, shellShown,
} from './browser.mjs';

const PASSWORDS = { operator: 'Operator-pass-1', viewer: 'Viewer-pass-1', admin: 'Admin-pass-1', locky: 'Locky-pass-1' };
const STATES = ['healthy', 'missing', 'empty', 'mismatch', 'no_key', 'denied', 'unreachable', 'unknown'];

async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}

test('dashboard against dpfleet-server on a seeded store', { timeout: 300000 }, async (t) => {
  const why = missingBrowserPrereq();
  if (why && skipOrFail(t, why)) return;
  const server = findServer();
  assert.ok(server, 'dpfleet-server is not built (server/dpfleet-server in the build dir)');

  const dir = mkTemp('dpfleet-browser-');
  let daemon = null;
  let browser = null;
  const errors = [];
  let allowLogin401 = false;
  try {
    const port = await freePort();
    const conf = path.join(dir, 'server.conf');
    fs.writeFileSync(conf, ['[store]', 'path = ' + path.join(dir, 'state.db'), '', '[http]',
      'listen = 127.0.0.1:' + port, 'web_root = ' + path.join(SOURCE_ROOT, 'web'), 'session_ttl = 28800', ''].join('\n'));
    for (const [name, role] of [['operator', 'operator'], ['viewer', 'viewer'], ['admin', 'admin'], ['locky', 'viewer']]) {
      const r = userAdd(server, conf, name, role, PASSWORDS[name]);
      assert.ok(r.ok, `dpfleet-server user add ${name}: ${r.out.slice(0, 500)}`);
    }
    const seed = spawnSync('python3', [path.join(SOURCE_ROOT, 'tests', 'browser', 'seed.py'), path.join(dir, 'state.db')],
      { encoding: 'utf8' });
    assert.equal(seed.status, 0, 'seed.py failed: ' + seed.stderr);
    const exp = JSON.parse(seed.stdout);

    daemon = startDaemon(server, ['-d', '-f', conf], path.join(dir, 'server.log'));
    const base = 'http://127.0.0.1:' + port;
    const down = await waitHttp(base + '/healthz', daemon);
    assert.equal(down, null, 'dpfleet-server: ' + down + ': ' +
      fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-1000));
    assert.equal((await new Client(base).req('GET', '/api/v1/summary')).status, 401, 'the API asks for a session');

    browser = await launch({ width: 1280, height: 800 });
    watchErrors(browser.context, errors, (e) => allowLogin401 && /\/api\/v1\/login$/.test(e.url) &&
      /status of (401|403|423|429)/.test(e.text));
    const page = await browser.context.newPage();

    await t.test('sign-in shows errors and signs in', async () => {
      await page.goto(base + '/');
      await page.waitForSelector('#login-form');
      assert.deepEqual(await shellShown(page), [], 'the sign-in page shows no navigation and no Sign out');
      await shot(page, 'server-login-1280');
      allowLogin401 = true;
      await signIn(page, base, 'operator', 'wrong password');
      await page.waitForSelector('#login-error:not([hidden])');
      assert.match(await page.textContent('#login-error'), /sign-in failed|wrong|invalid/i);
      assert.deepEqual(await shellShown(page), [], 'no navigation after a failed sign-in either');
      allowLogin401 = false;
      await signIn(page, base, 'operator', PASSWORDS.operator, '#tiles');
      assert.equal(await page.textContent('#who-name'), 'operator');
    });

    await t.test('overview: counts per state, sites, chart, scan now', async () => {
      for (const s of STATES)
        assert.equal(await page.getAttribute('#tile-' + s, 'data-count'), String(exp.counts[s]), 'tile ' + s);
      assert.equal(await page.getAttribute('#tile-affected', 'data-count'), String(exp.affected));
      assert.match(await page.getAttribute('#tile-affected', 'class'), /danger/);
      assert.match(await page.getAttribute('#tile-missing', 'class'), /danger/);
      assert.doesNotMatch(await page.getAttribute('#tile-healthy', 'class'), /danger/);
      for (const [code, e] of Object.entries(exp.expected))
        assert.equal(await page.getAttribute(`tr[data-site="${code}"] [data-expected]`, 'data-expected'), e);
      assert.match(await page.textContent('#last-scan'), /2026-11-25 06:00:07 UTC/);
      await page.waitForSelector('#chart canvas');
      assert.ok(await page.isVisible('#scan-now'), 'operator sees Scan now');
      await page.click('#scan-now');
      await page.waitForFunction(() => /queued/.test(document.querySelector('#scan-pending').textContent));
      await shot(page, 'server-overview-1280');
    });

    await t.test('hosts: paging, filter, sort, search', async () => {
      await page.click('a[data-nav="hosts"]');
      await page.waitForSelector('#hosts-count');
      assert.equal(await page.textContent('#hosts-count'), `1–50 of ${exp.hosts} hosts`);
      assert.equal(await page.locator('table.hosts tbody tr').count(), 50);
      await page.click('#page-next');
      await page.waitForFunction(() => /^51–100 of/.test(document.querySelector('#hosts-count')?.textContent || ''));
      assert.equal(await page.locator('table.hosts tbody tr').first().getAttribute('data-fqdn'), 'dp051.ps1.lab.test');
      await page.selectOption('#f-state', 'missing');
      await page.waitForFunction((n) => document.querySelector('#hosts-count')?.textContent === `1–${n} of ${n} hosts`,
        exp.counts.missing);
      const rows = await page.locator('table.hosts tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.dataset.fqdn, tr.dataset.state]));
      assert.deepEqual(rows.map((r) => r[0]).sort(), exp.missing_ps1);
      assert.ok(rows.every((r) => r[1] === 'missing'));
      await page.goto(base + '/#/hosts?site=SS1&sort=fqdn&order=desc');
      await page.waitForFunction(() => /of \d+ hosts/.test(document.querySelector('#hosts-count')?.textContent || ''));
      const ss1 = await page.locator('table.hosts tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.fqdn));
      const n = STATES.reduce((a, s) => a + exp.sites.SS1[s], 0);
      assert.equal(ss1.length, n);
      assert.deepEqual(ss1, [...ss1].sort().reverse(), 'sorted by fqdn descending');
      assert.ok(ss1.every((f) => f.endsWith('.ss1.lab.test')));
      await page.fill('#f-q', 'dp12');
      await page.click('#f-apply');
      await page.waitForFunction(() => /q=dp12/.test(location.hash) && document.querySelector('#hosts-count'));
      const q = await page.locator('table.hosts tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.fqdn));
      assert.ok(q.length > 0 && q.every((f) => f.includes('dp12') && f.endsWith('.ss1.lab.test')), q.join(' '));
      // Role and PXE filters (selects apply at once).
      await page.goto(base + '/#/hosts');
      await page.waitForSelector('#f-role');
      await page.selectOption('#f-role', 'mp');
      await page.waitForFunction((n) => document.querySelector('#hosts-count')?.textContent === `1–${n} of ${n} hosts`,
        exp.mp_hosts.length);
      assert.deepEqual(await page.locator('table.hosts tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.fqdn)),
        exp.mp_hosts);
      await page.goto(base + '/#/hosts?pxe=false');
      await page.waitForFunction((n) => (document.querySelector('#hosts-count')?.textContent || '').endsWith(`of ${n} hosts`),
        exp.hosts - exp.pxe_hosts);
      assert.ok((await page.locator('table.hosts tbody td:nth-child(6)').allTextContents()).every((x) => x === 'no'));
      await page.goto(base + '/#/hosts?state=missing');
      await page.waitForSelector('#fix-toolbar');
      await shot(page, 'server-hosts-1280');
      // The fix dialog: count and sites shown, Escape cancels, nothing queued.
      // Keyboard only: focus the toolbar's first button, Enter, Tab to "Fix selected", Enter.
      await page.focus('#select-affected');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => !document.querySelector('#fix-selected').disabled);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fix-selected');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#fix-dialog[open]');
      assert.equal(await page.textContent('#fix-count'), String(exp.affected));
      assert.equal(await page.textContent('#fix-sites'), 'PS1');
      assert.ok(await page.evaluate(() => document.activeElement.id === 'fix-dry-run'), 'focus moves into the dialog');
      // Focus stays inside the dialog: Tab past the last button comes back to the first control.
      await page.focus('#fix-cancel');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fix-dry-run');
      await page.keyboard.press('Shift+Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'fix-cancel');
      await shot(page, 'server-fix-dialog-1280');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#fix-dialog', { state: 'detached' });
      assert.equal(await page.locator('#live-jobs').count(), 0, 'cancelled dialog queues nothing');
    });

    await t.test('hosts: thousands — totals, pages, sort order and filters over the whole fleet', async () => {
      const N = exp.hosts;
      const fq = exp.by_fqdn;                    // every fqdn in ascending order
      assert.ok(N >= 5000 && fq.length === N, 'seed.py made thousands of hosts');
      const rowsOf = () => page.locator('table.hosts tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({ fqdn: tr.dataset.fqdn, state: tr.dataset.state })));
      const countIs = (text) => page.waitForFunction((x) => document.querySelector('#hosts-count')?.textContent === x, text);
      const firstIs = (fqdn) => page.waitForFunction((x) =>
        document.querySelector('table.hosts tbody tr')?.dataset.fqdn === x, fqdn);
      const ascending = (a) => a.every((x, i) => i === 0 || a[i - 1] < x);

      // Pages 1, 2 and the last one of the whole list, in fqdn order.
      await page.goto(base + '/#/hosts');
      await countIs(`1–50 of ${N} hosts`);
      const p1 = (await rowsOf()).map((r) => r.fqdn);
      assert.deepEqual(p1, fq.slice(0, 50));
      await page.click('#page-next');
      await countIs(`51–100 of ${N} hosts`);
      const p2 = (await rowsOf()).map((r) => r.fqdn);
      assert.deepEqual(p2, fq.slice(50, 100));
      assert.ok(p2.every((f) => !p1.includes(f)), 'page 2 differs from page 1');
      const last = Math.floor((N - 1) / 50) * 50;
      await page.goto(base + '/#/hosts?offset=' + last);
      await countIs(`${last + 1}–${N} of ${N} hosts`);
      assert.deepEqual((await rowsOf()).map((r) => r.fqdn), fq.slice(last));
      assert.ok(await page.isDisabled('#page-next'), 'no page after the last');

      // Sorting with the column buttons: fqdn descending starts at the other end of the fleet.
      await page.goto(base + '/#/hosts');
      await countIs(`1–50 of ${N} hosts`);
      await page.click('button.sort[data-sort="fqdn"]');
      await firstIs(fq[N - 1]);
      assert.deepEqual((await rowsOf()).map((r) => r.fqdn), fq.slice(N - 50).reverse());
      assert.equal(await page.getAttribute('th[aria-sort="descending"] button', 'data-sort'), 'fqdn');
      assert.equal(await page.textContent('#hosts-count'), `1–50 of ${N} hosts`);
      // By state (by name, ascending; fqdn order within a state): "denied" comes first and fills page 1.
      await page.click('button.sort[data-sort="state"]');
      await page.waitForFunction(() => /sort=state/.test(location.hash) &&
        document.querySelector('th[aria-sort="ascending"] button')?.dataset.sort === 'state');
      await countIs(`1–50 of ${N} hosts`);
      const bs = await rowsOf();
      assert.ok(exp.counts.denied > 50 && bs.every((r) => r.state === 'denied'), 'page 1 is all denied');
      assert.ok(ascending(bs.map((r) => r.fqdn)), 'fqdn order within the state');

      // Filters over thousands: one state (many pages), then one site and state, then a search.
      const nu = exp.counts.unreachable;
      assert.ok(nu > 100, 'unreachable hosts fill several pages');
      await page.goto(base + '/#/hosts?state=unreachable');
      await countIs(`1–50 of ${nu} hosts`);
      const u1 = await rowsOf();
      await page.click('#page-next');
      await countIs(`51–100 of ${nu} hosts`);
      const u2 = await rowsOf();
      const u = [...u1, ...u2];
      assert.equal(u.length, 100);
      assert.ok(u.every((r) => r.state === 'unreachable'), 'only unreachable hosts');
      assert.ok(ascending(u.map((r) => r.fqdn)), 'page 2 continues page 1 in order, no host twice');
      await page.goto(base + '/#/hosts?site=PS3&state=healthy&sort=fqdn&order=desc');
      await countIs(`1–50 of ${exp.sites.PS3.healthy} hosts`);
      const ph = await rowsOf();
      assert.ok(ph.every((r) => r.state === 'healthy' && r.fqdn.endsWith('.ps3.lab.test')), 'PS3 healthy only');
      assert.ok(ascending(ph.map((r) => r.fqdn).reverse()), 'descending');
      const q = fq.filter((f) => f.includes('dp45'));
      await page.goto(base + '/#/hosts?q=dp45');
      await countIs(`1–50 of ${q.length} hosts`);
      assert.deepEqual((await rowsOf()).map((r) => r.fqdn), q.slice(0, 50));
    });

    await t.test('a dry run from the fix dialog: the live job list follows its own jobs to their end', async () => {
      await page.goto(base + '/#/hosts?affected=true');
      await page.waitForSelector('#fix-toolbar');
      await page.click('#select-affected');
      await page.click('#fix-selected');
      await page.waitForSelector('#fix-dialog[open]');
      assert.equal(await page.textContent('#fix-count'), String(exp.affected));
      await page.check('#fix-dry-run');
      await page.click('#fix-confirm');
      await page.waitForFunction((n) => document.querySelectorAll('#live-jobs tr[data-job]').length === n, exp.affected);
      assert.match(await page.textContent('#live-status'), new RegExp(`^0 of ${exp.affected} jobs ended`));
      // No scanner here: python3's sqlite3 (as in seed.py) plays it.  First 1001 newer jobs of another run are
      // queued, so this run is no longer among the newest 1000 of the job list; then this run's jobs end.
      const sql = (stmt) => {
        const r = spawnSync('python3', ['-c', 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=30)\n' +
          'c.execute(sys.argv[2])\nc.commit()\nprint(c.total_changes)\n', path.join(dir, 'state.db'), stmt],
        { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return Number(r.stdout);
      };
      assert.equal(sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) " +
        "INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at) " +
        "SELECT 'fix', 'dp1001.ps3.lab.test', 1, 'other-run', '2026-11-26T00:00:00Z' FROM n"), 1001);
      assert.equal(sql("UPDATE jobs SET state = 'done', outcome = 'would_write', started_at = requested_at, " +
        "finished_at = requested_at WHERE dry_run = 1 AND state = 'queued' AND requested_by = 'operator'"),
      exp.affected, 'the dry-run jobs in the store');
      await page.waitForFunction((n) => document.querySelector('#live-status')?.textContent ===
        `${n} of ${n} jobs ended: ${n} would_write.`, exp.affected);
      const rows = await page.locator('#live-jobs tr[data-job]').evaluateAll((trs) =>
        trs.map((tr) => [tr.dataset.state, tr.dataset.outcome]));
      assert.ok(rows.length === exp.affected && rows.every(([st, o]) => st === 'done' && o === 'would_write'),
        JSON.stringify(rows));
      assert.equal(sql("DELETE FROM jobs WHERE requested_by = 'other-run'"), 1001);
    });

    // An unreachable host's page says lib/reason.h's meaning and next step for its word (as GET /api/v1/reasons
    // serves them: server_api checks that table against the library), its attempts, and compares no hashes.
    // seed.py: dp007.ps1 logon_failure in 2 attempts, dp035.ps1 rpc_unavailable in 3, dp014.ps1 a word the
    // table lacks in 3.
    async function unreachableHostPage() {
      const rr = await page.context().request.get(base + '/api/v1/reasons');
      assert.equal(rr.status(), 200, 'GET /api/v1/reasons');
      const reasons = Object.fromEntries((await rr.json()).reasons.map((r) => [r.word, r]));
      assert.match(reasons.logon_failure.next_step, /password_file/, 'cross-check: the table is lib/reason.c\'s');
      for (const [fqdn, word, n] of [['dp007.ps1.lab.test', 'logon_failure', 2], ['dp035.ps1.lab.test', 'rpc_unavailable', 3],
        ['dp014.ps1.lab.test', 'not_in_the_table', 3]]) {
        await page.goto(base + '/#/hosts/' + fqdn);
        await page.waitForSelector('#verdict');
        const r = reasons[word];
        assert.equal(await page.textContent('#verdict-text'), r ? `${r.meaning} (${word})` : `Unreachable (${word})`, fqdn);
        if (r) assert.equal(await page.textContent('#next-step'), 'Next step: ' + r.next_step.replaceAll('`', ''), fqdn);
        else assert.equal(await page.locator('#next-step').count(), 0, fqdn + ': an unknown word alone, no next step');
        assert.equal(await page.textContent('#attempts'), `No answer in ${n} attempts`, fqdn);
        assert.equal(await page.getAttribute('#attempts', 'data-attempts'), String(n), fqdn);
        assert.equal(await page.locator('#hash-compare').count(), 0, fqdn + ': no hash comparison');
        assert.equal(await page.textContent('#host-hash'), 'not read: the host did not answer', fqdn);
        assert.doesNotMatch(await page.textContent('#verdict'), /different|identical/, fqdn);
        if (word === 'rpc_unavailable') {
          assert.equal(await page.textContent('#next-step code'), 'sc config RemoteRegistry start= auto');
          await shot(page, 'server-host-unreachable-1280');
        }
      }
    }

    // A host whose newest observation has a note (seed.py NOTES) shows it under the verdict, as text: the
    // markup in dp018.ps1's note is shown literally, never parsed.
    async function noteHostPages() {
      assert.equal(Object.keys(exp.notes).length, 3, 'seed.py gives three hosts a note');
      for (const [fqdn, note] of Object.entries(exp.notes)) {
        await page.goto(base + '/#/hosts/' + fqdn);
        await page.waitForFunction((f) => document.querySelector('h1.fqdn')?.textContent === f &&
          document.querySelector('#verdict'), fqdn);
        assert.equal(await page.textContent('#verdict-note'), 'Note: ' + note, fqdn);
        assert.equal(await page.locator('#verdict-note b').count(), 0, fqdn + ': the note is text, not markup');
        assert.equal(await page.locator('#verdict-text + #verdict-note').count(), 1, fqdn + ': under the verdict');
      }
    }

    await t.test('host detail: verdict words, hashes, CMTrace evidence, jobs', async () => {
      await page.goto(base + '/#/hosts/' + exp.detail);
      await page.waitForSelector('#verdict');
      assert.equal(await page.textContent('#verdict-text'),
        'IssuingCertificateList missing under HKLM\\SOFTWARE\\Microsoft\\SMS\\Security');
      assert.equal(await page.locator('#pxe-log tbody tr').count(), 5);
      assert.equal(await page.locator('#pxe-log tbody tr.log-type-3').count(), 3);
      // A raw CCM record shows its message and thread, like CMTrace.
      assert.equal(await page.textContent('#pxe-log tbody tr:last-child td.logtext'), 'PXE::MP_LookupDevice failed; 0x80092002');
      assert.equal(await page.textContent('#pxe-log tbody tr:last-child td:nth-child(4)'), '6004');
      assert.equal(await page.textContent('#certmgr-log tbody td.logtext'),
        'Cannot get copy of security registry key on server (dp002.ps1.lab.test) (0x80070005)');
      assert.equal(await page.locator('#pxe-log tbody tr.log-type-2').count(), 1);
      assert.match(await page.textContent('#pxe-log'), /80092002/);
      assert.match(await page.textContent('#pxe-log'), /SMSPXE/);
      assert.match(await page.textContent('#pxe-summary'), /0x80092002/);
      assert.match(await page.textContent('#certmgr-summary'), /cannot copy the Security registry key/);
      // A missing value was read (as absent): compared with the site's.
      assert.equal(await page.textContent('#hash-compare'), 'different: the host holds no value');
      assert.equal(await page.textContent('#attempts'), 'Answered on the first attempt');
      assert.equal(await page.textContent('#cred-set'), exp.detail_cred_set, 'the credential set of the last read');
      await shot(page, 'server-host-1280');
      await page.goto(base + '/#/hosts/dp001.ps1.lab.test');
      await page.waitForSelector('#verdict');
      assert.match(await page.textContent('#verdict-text'), /matches the value in the site database/);
      assert.equal(await page.locator('#verdict-note').count(), 0, 'dp001: no note, no note line');
      await noteHostPages();
      await page.goto(base + '/#/hosts/dp001.ps1.lab.test');
      await page.waitForSelector('#verdict');
      assert.equal(await page.textContent('#hash-compare'), 'identical');
      assert.equal(await page.textContent('#cred-set'), 'smb');
      assert.equal(await page.textContent('tr[data-job]:has(button.rollback) td.cred-set'), 'smb',
        'the job row names its credential set');
      assert.equal(await page.locator('button.rollback').count(), 1, 'operator sees rollback on a written job');
      // Rollback asks first; Escape cancels and nothing is queued.
      await page.click('button.rollback');
      await page.waitForSelector('#rollback-dialog[open]');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'rollback-dialog-cancel');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#rollback-dialog', { state: 'detached' });
      assert.equal(await page.locator('#live-jobs').count(), 0);
      await page.goto(base + '/#/hosts/dp006.ps1.lab.test');
      await page.waitForSelector('#verdict');
      assert.match(await page.textContent('#verdict-text'), /was denied \(0x80070005\): the scan account is not a local administrator/);
      assert.equal(await page.locator('#hash-compare').count(), 0, 'denied: the value was not read, nothing compared');
      assert.equal(await page.textContent('#host-hash'), 'not read: access denied');
      // Every other state in words (seed.py: dp00N.ps1 has state N-1 of the pinned list).
      for (const [n, re] of [[3, /exists but holds no certificate/], [4, /differs from the value in the site database/],
        [5, /does not exist: this is not a healthy ConfigMgr site system/]]) {
        await page.goto(base + '/#/hosts/dp00' + n + '.ps1.lab.test');
        await page.waitForSelector('#verdict');
        assert.match(await page.textContent('#verdict-text'), re, 'dp00' + n);
        assert.equal(await page.locator('#hash-compare').count(), n === 5 ? 0 : 1, 'hash comparison on dp00' + n);
      }
      assert.equal(await page.textContent('#host-hash'), 'none: the key does not exist');
      await unreachableHostPage();
      await page.goto(base + '/#/hosts/dp092.ps2.lab.test');
      await page.waitForSelector('#verdict');
      assert.match(await page.textContent('#verdict-text'), /several different IssuingCertificateList values \(ambiguous\)/);
    });

    await t.test('jobs page and reload keeps the session', async () => {
      await page.goto(base + '/#/jobs');
      await page.waitForSelector('#jobs-body table, #no-jobs');
      assert.ok(await page.locator('tr[data-job]').count() >= 1);
      await shot(page, 'server-jobs-1280');
      // Both exports download with the session cookie and hold the seeded rows.
      const aff = parseCsv(await download(page, '#export-affected'));
      const header = 'fqdn,site,roles,pxe,state,reason,value_sha256,expected_sha256,pxe_cert_errors,' +
        'pxe_last_error,certmgr_denied,last_scanned,last_fix_outcome,last_fix_at,attempts,reason_meaning,reason_next_step,cloud,not_scanned,cred_set,note';
      assert.equal(aff[0].join(','), header);
      assert.equal(aff.length - 1, exp.affected);
      assert.ok(aff.slice(1).every((r) => ['missing', 'empty', 'mismatch'].includes(r[4]) && r[1] === 'PS1'));
      const all = parseCsv(await download(page, '#export-hosts'));
      assert.equal(all[0].join(','), header);
      assert.equal(all.length - 1, exp.hosts, 'hosts.csv: every host');
      const col = (row, name) => row[header.split(',').indexOf(name)];
      const lf = all.find((r) => r[0] === 'dp007.ps1.lab.test');
      const api7 = await (await page.context().request.get(base + '/api/v1/hosts/dp007.ps1.lab.test')).json();
      assert.deepEqual([col(lf, 'reason'), col(lf, 'reason_meaning'), col(lf, 'reason_next_step'), col(lf, 'attempts')],
        [api7.reason, api7.reason_meaning, api7.reason_next_step, '2'], 'hosts.csv says what the host page says');
      assert.deepEqual(Object.fromEntries(all.slice(1).filter((r) => col(r, 'note') !== '').map((r) => [r[0], col(r, 'note')])),
        exp.notes, 'hosts.csv: the seeded notes in the last column, no other');
      assert.ok(all.slice(1).filter((r) => ['unreachable', 'denied', 'no_key'].includes(r[4]))
        .every((r) => col(r, 'value_sha256') === '' && col(r, 'expected_sha256') === ''), 'no hashes for hosts not read');
      const fx = parseCsv(await download(page, '#export-fixes'));
      for (const col of ['id', 'host', 'kind', 'dry_run', 'requested_by', 'requested_at', 'finished_at', 'outcome',
        'before_sha256', 'after_sha256'])
        assert.ok(fx[0].includes(col), 'fixes.csv column ' + col + ' in ' + fx[0].join(','));
      const row = fx.find((r) => r[fx[0].indexOf('host')] === 'dp001.ps1.lab.test');
      assert.ok(row && row[fx[0].indexOf('outcome')] === 'written', 'fixes.csv proves the seeded job');
      await page.reload();
      await page.waitForSelector('#jobs-body table');
      assert.equal(await page.textContent('#who-name'), 'operator');
      // A stale CSRF token (as after signing in again in another tab) is refreshed from /api/v1/me on reload.
      await page.evaluate(() => {
        const s = JSON.parse(sessionStorage.getItem('dpfleet.session'));
        s.csrf_token = '0'.repeat(64);
        sessionStorage.setItem('dpfleet.session', JSON.stringify(s));
      });
      await page.goto(base + '/#/');
      await page.reload();
      await page.waitForSelector('#scan-now');
      assert.notEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('dpfleet.session')).csrf_token), '0'.repeat(64));
      await page.click('#scan-now');
      await page.waitForFunction(() => /Scan request #\d+ queued/.test(document.querySelector('#scan-pending').textContent));
    });

    await t.test('390-px layout', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      for (const [route, sel, name] of [['#/', '#tiles', 'overview'], ['#/hosts', '#hosts-count', 'hosts'],
        ['#/hosts/' + exp.detail, '#verdict', 'host'], ['#/jobs', '#jobs-body', 'jobs']]) {
        await page.goto(base + '/' + route);
        await page.waitForSelector(sel);
        assert.ok(await noHorizontalScroll(page), name + ' fits 390 px without page-wide scrolling');
        await shot(page, 'server-' + name + '-390');
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    await t.test('viewer: no fix controls, API says 403', async () => {
      const vb = await launch({ width: 1280, height: 800 });
      try {
        watchErrors(vb.context, errors);
        const vp = await vb.context.newPage();
        await signIn(vp, base, 'viewer', PASSWORDS.viewer, '#tiles');
        assert.equal(await vp.locator('#scan-now').count(), 0);
        assert.ok(await vp.isHidden('[data-admin]'), 'no audit link for a viewer');
        await vp.goto(base + '/#/hosts?state=missing');
        await vp.waitForSelector('#hosts-count');
        assert.equal(await vp.locator('#fix-toolbar, #fix-selected, table.hosts input[type=checkbox]').count(), 0);
        await vp.goto(base + '/#/hosts/dp001.ps1.lab.test');
        await vp.waitForSelector('#verdict');
        assert.equal(await vp.locator('button.rollback').count(), 0);
        await shot(vp, 'server-viewer-hosts-1280');
        const csrf = await vp.evaluate(() => JSON.parse(sessionStorage.getItem('dpfleet.session')).csrf_token);
        const r = await vp.context().request.post(base + '/api/v1/fixes', {
          headers: { 'X-CSRF-Token': csrf }, data: { all_affected: true, dry_run: true } });
        assert.equal(r.status(), 403, 'viewer POST /api/v1/fixes');
        const r2 = await vp.context().request.post(base + '/api/v1/scans', { headers: { 'X-CSRF-Token': csrf }, data: {} });
        assert.equal(r2.status(), 403, 'viewer POST /api/v1/scans');
        // Signing out leads to the sign-in page, which shows no navigation and no Sign out.
        await vp.click('#logout');
        await vp.waitForSelector('#login-form');
        assert.deepEqual(await shellShown(vp), [], 'after Sign out');
        await vp.goto(base + '/#/hosts');
        await vp.waitForSelector('#login-form');
        assert.deepEqual(await shellShown(vp), [], 'a page asked for while signed out');
      } finally {
        await vb.close();
      }
    });

    await t.test('admin sees the audit log', async () => {
      const ab = await launch({ width: 1280, height: 800 });
      try {
        watchErrors(ab.context, errors);
        const ap = await ab.context.newPage();
        await signIn(ap, base, 'admin', PASSWORDS.admin, '#tiles');
        await ap.click('a[data-nav="audit"]');
        await ap.waitForSelector('#audit-count');
        assert.ok(await ap.locator('table.audit tbody tr').count() >= 1, 'audit has rows (logins, the scan request)');
        await shot(ap, 'server-audit-1280');
      } finally {
        await ab.close();
      }
    });

    await t.test('after 5 failed sign-ins the right password gets the same answer, which names the wait', async () => {
      const lb = await launch({ width: 1280, height: 800 });
      try {
        watchErrors(lb.context, errors, (e) => /\/api\/v1\/login$/.test(e.url) && /status of (401|403|423|429)/.test(e.text));
        const lp = await lb.context.newPage();
        for (let i = 0; i < 5; i++) {
          await signIn(lp, base, 'locky', 'bad-' + i);
          await lp.waitForSelector('#login-error:not([hidden])');
          await lp.evaluate(() => { document.querySelector('#login-error').hidden = true; });
        }
        await signIn(lp, base, 'locky', PASSWORDS.locky);
        await lp.waitForSelector('#login-error:not([hidden])');
        assert.match(await lp.textContent('#login-error'), /wrong user name or password.*must wait/i);
        await shot(lp, 'server-lockout-1280');
      } finally {
        await lb.close();
      }
    });

    assert.deepEqual(errors, [], 'no console or page errors');
    await browser.close();
    const d = daemon;
    daemon = null;
    assert.equal(await stopChecked(d, path.join(dir, 'server.log'), 'dpfleet-server'), null);
  } finally {
    if (browser) await browser.close();
    if (daemon) await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
