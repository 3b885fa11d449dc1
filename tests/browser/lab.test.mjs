// lab.test.mjs — the whole operator flow of the dashboard (dpfleet-server(8)): in Chromium on the lab's small
// scenario with both daemons.  The lab (tests/lab/dpfleet-lab, base address 127.84.0.0) is scanned once with
// `dpfleet-scanner --once`, then dpfleet-server and the scanner daemon run; the operator from lab.json
// signs in (the sign-in page shows no navigation), sees the counts per state the scenario implies, the pages
// of the hosts it could not read (reason meaning and next step from lib/reason.h, attempts, no hash
// comparison), filters to affected, downloads affected.csv and checks its rows, fixes all affected with the
// button, watches the jobs reach `written`, sees the overview
// turn healthy and affected.csv empty, and fixes.csv holds the proof; a viewer (created with `user add`)
// sees no fix controls and gets 403 from the API anyway.  Screenshots of each page at 1280×800 and 390×844
// go to $DPFLEET_BUILD_ROOT/screenshots/lab-*.png.  Any console or page error fails the test.
// It skips only when Chromium or playwright-core is not installed or it does not run as root (the lab's smbd
// hosts need root), and not even then under CI or DPFLEET_REQUIRE_BROWSER=1.  Anything else missing (a binary,
// the lab's operator, a scanner mode) or a scanner daemon that exits is a failure, and both daemons must end
// cleanly on SIGTERM.
// Everything started here (lab, daemons, browsers, temp dirs) is stopped in finally blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  SOURCE_ROOT, BUILD_ROOT, missingBrowserPrereq, skipOrFail, findServer, findScanner, launch, watchErrors, shot, userAdd,
  startDaemon, stopChecked, waitHttp, parseCsv, signIn, download, shellShown,
} from './browser.mjs';

const LAB = path.join(SOURCE_ROOT, 'tests', 'lab', 'dpfleet-lab');
const SCENARIO = path.join(SOURCE_ROOT, 'tests', 'lab', 'scenarios', 'small.json');
const BASE_ADDR = '127.84.0.0';
const STATES = ['healthy', 'missing', 'empty', 'mismatch', 'no_key', 'denied', 'unreachable', 'unknown'];
const AFFECTED = ['missing', 'empty', 'mismatch'];
const CSV_HEADER = 'fqdn,site,roles,pxe,state,reason,value_sha256,expected_sha256,pxe_cert_errors,pxe_last_error,' +
  'certmgr_denied,last_scanned,last_fix_outcome,last_fix_at,attempts,reason_meaning,reason_next_step,cloud,not_scanned,cred_set,note';
const VIEWER_PW = 'Viewer-lab-pass-1';
const ADMIN_PW = 'Admin-lab-pass-1';
const WAIT_JOBS_MS = 300000;       // a bound so a missing executor fails instead of hanging, not a speed assertion

// The verdict the scanner must give each host (dpfleet-scanner(8), Verdicts), from the lab's own description of it.
function expectedState(e, site) {
  if (!e.reachable) return 'unreachable';
  if (e.registry === 'denied') return 'denied';
  if (e.registry === 'no_key') return 'no_key';
  if (!site || site.value_state !== 'ok') return 'unknown';
  return { ok: 'healthy', missing: 'missing', empty: 'empty', mismatch: 'mismatch' }[e.registry];
}

// What the scanner's usage says it can do (its usage lists every mode).
function scannerModes(scanner) {
  const r = spawnSync(scanner, ['--dpfleet-browser-test-probe'], { encoding: 'utf8', timeout: 20000 });
  const usage = (r.stderr || '') + (r.stdout || '');
  return { once: /--once\b/.test(usage), fix: /\bfix\b/.test(usage), usage: usage.trim() };
}

function run(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 600000, env: process.env, ...opts });
  return { ok: r.status === 0, status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

async function tileCounts(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#tiles [data-state]')]
    .map((a) => [a.dataset.state, Number(a.dataset.count)])));
}

// For a failure message: every host whose verdict differs from the scenario's, with the scanner's reason.
async function verdictDiff(page, base, want) {
  const r = await page.context().request.get(base + '/api/v1/hosts?limit=1000');
  const hosts = (await r.json()).hosts || [];
  const bad = hosts.filter((x) => want[x.fqdn] !== x.state)
    .map((x) => `${x.fqdn}: ${x.state}${x.reason ? ' (' + x.reason + ')' : ''}, scenario says ${want[x.fqdn]}`);
  return bad.length ? ' — ' + bad.join('; ') : '';
}

async function shots(page, base, name, route, sel) {
  for (const [w, hgt] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width: w, height: hgt });
    await page.goto(base + '/' + route);
    await page.waitForSelector(sel);
    await shot(page, `lab-${name}-${w}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('dashboard on the lab: sign in, counts, filter, CSV, fix all affected, viewer', { timeout: 900000 }, async (t) => {
  const why = missingBrowserPrereq() ||
    (process.getuid && process.getuid() !== 0 ? 'the lab needs root (smbd)' : null);
  if (why && skipOrFail(t, why)) return;
  const server = findServer();
  const scanner = findScanner();
  assert.ok(server, 'dpfleet-server is not built');
  assert.ok(scanner, 'dpfleet-scanner is not built');
  assert.ok(fs.existsSync(path.join(BUILD_ROOT, 'tests', 'tdsd', 'dpfleet-tdsd')), 'dpfleet-tdsd is not built');
  assert.ok(fs.existsSync(LAB), 'tests/lab/dpfleet-lab is missing');
  const modes = scannerModes(scanner);
  assert.ok(modes.once, 'dpfleet-scanner has no --once: ' + modes.usage);
  assert.ok(modes.fix, 'dpfleet-scanner has no fix mode: ' + modes.usage);

  const dir = fs.mkdtempSync('/tmp/dpfleet-blab-');
  fs.rmSync(dir, { recursive: true });         // dpfleet-lab creates it
  const env = { ...process.env, DPFLEET_BUILD_ROOT: BUILD_ROOT, DPFLEET_SOURCE_ROOT: SOURCE_ROOT };
  let labUp = false;
  const daemons = [];
  const browsers = [];
  const errors = [];
  try {
    const up = run([LAB, 'up', SCENARIO, '--dir', dir, '--base-addr', BASE_ADDR], { env });
    labUp = true;                                // down is idempotent: always run it
    assert.ok(up.ok, 'dpfleet-lab up: ' + up.out.slice(-2000));
    const lab = JSON.parse(fs.readFileSync(path.join(dir, 'lab.json'), 'utf8'));
    assert.ok(lab.operator, 'the lab did not create the operator (dpfleet-server user add)');
    const conf = path.join(dir, 'server.conf');
    for (const [n, role, pw] of [['viewer', 'viewer', VIEWER_PW], ['admin', 'admin', ADMIN_PW]]) {
      const r = userAdd(server, conf, n, role, pw);
      assert.ok(r.ok, `user add ${n}: ${r.out}`);
    }
    const want = {};
    for (const [fqdn, e] of Object.entries(lab.expect)) want[fqdn] = expectedState(e, lab.expect_sites[e.site]);
    const counts = Object.fromEntries(STATES.map((s) => [s, Object.values(want).filter((x) => x === s).length]));
    const affected = Object.keys(want).filter((f) => AFFECTED.includes(want[f])).sort();

    const once = run([scanner, '-f', path.join(dir, 'scanner.conf'), '--once'], { env });
    assert.ok(once.ok, 'dpfleet-scanner --once: ' + once.out.slice(-2000));

    const srv = startDaemon(server, ['-d', '-f', conf], path.join(dir, 'server.log'));
    daemons.push(srv);
    srv.log = path.join(dir, 'server.log');
    srv.name = 'dpfleet-server';
    const base = 'http://' + lab.http_listen;
    const down = await waitHttp(base + '/healthz', srv);
    assert.equal(down, null, 'dpfleet-server: ' + down + ' ' + fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-1000));

    // The scanner daemon: scans on schedule and on request, and runs fix jobs (dpfleet-scanner(8)).  It must stay up: an
    // exit in its first two seconds (a crash, a refused config) fails the test here with its log.
    const sd = startDaemon(scanner, ['-d', '-f', path.join(dir, 'scanner.conf')], path.join(dir, 'scanner.log'));
    daemons.push(sd);
    sd.log = path.join(dir, 'scanner.log');
    sd.name = 'dpfleet-scanner';
    await Promise.race([sd.done, new Promise((r) => setTimeout(r, 2000))]);
    if (sd.exited()) {
      const { code, sig } = await sd.done;
      assert.fail(`dpfleet-scanner daemon exited at once (${sig || 'exit ' + code}): ` +
        fs.readFileSync(path.join(dir, 'scanner.log'), 'utf8').slice(-1000));
    }

    const b = await launch({ width: 1280, height: 800 });
    browsers.push(b);
    watchErrors(b.context, errors);
    const page = await b.context.newPage();

    await t.test('operator signs in and sees the counts per state', async () => {
      await page.goto(base + '/');
      await page.waitForSelector('#login-form');
      assert.deepEqual(await shellShown(page), [], 'the sign-in page shows no navigation and no Sign out');
      await shot(page, 'lab-login-1280');
      await signIn(page, base, lab.operator.user, lab.operator.password, '#tiles');
      const got = await tileCounts(page);
      const diff = await verdictDiff(page, base, want);
      for (const s of STATES) assert.equal(got[s], counts[s], 'hosts ' + s + diff);
      assert.equal(got.affected, affected.length);
      await page.waitForSelector('#chart canvas, #chart-empty');
      await shots(page, base, 'overview', '#/', '#tiles');
    });

    await t.test('hosts not read: the reason\'s meaning and next step, attempts, no hash comparison', async () => {
      const reasons = Object.fromEntries((await (await page.context().request.get(base + '/api/v1/reasons')).json())
        .reasons.map((r) => [r.word, r]));
      const notRead = Object.keys(want).filter((f) => ['unreachable', 'denied', 'no_key'].includes(want[f])).sort();
      assert.ok(notRead.some((f) => want[f] === 'unreachable'), 'the scenario has an unreachable host');
      for (const fqdn of notRead) {
        const x = await (await page.context().request.get(base + '/api/v1/hosts/' + fqdn)).json();
        const r = x.state === 'unreachable' ? reasons[x.reason] : undefined;
        assert.deepEqual([x.reason_meaning, x.reason_next_step], [r ? r.meaning : null, r ? r.next_step : null],
          fqdn + ': the texts of lib/reason.h for ' + x.reason);
        await page.goto(base + '/#/hosts/' + fqdn);
        await page.waitForSelector('#verdict');
        if (r) {
          assert.equal(await page.textContent('#verdict-text'), `${r.meaning} (${x.reason})`, fqdn);
          assert.equal(await page.textContent('#next-step'), 'Next step: ' + r.next_step.replaceAll('`', ''), fqdn);
        } else
          assert.equal(await page.locator('#next-step').count(), 0, fqdn + ': no next step');
        assert.ok(x.attempts >= 1, fqdn + ' attempts ' + x.attempts);
        assert.equal(await page.getAttribute('#attempts', 'data-attempts'), String(x.attempts), fqdn);
        assert.equal(await page.locator('#hash-compare').count(), 0, fqdn + ': no hash comparison');
        assert.equal(x.value_sha256, null, fqdn + ': no host hash');
      }
      await shot(page, 'lab-host-not-read-1280');
    });

    await t.test('filter to affected and download affected.csv', async () => {
      await page.goto(base + '/#/hosts');
      await page.waitForSelector('#hosts-count');
      await page.selectOption('#f-affected', 'true');
      await page.waitForFunction((n) => document.querySelector('#hosts-count')?.textContent === `1–${n} of ${n} hosts`,
        affected.length);
      const rows = await page.locator('table.hosts tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.fqdn));
      assert.deepEqual(rows.sort(), affected);
      await shots(page, base, 'hosts-affected', '#/hosts?affected=true', '#hosts-count');
      const csv = parseCsv(await download(page, '#export-affected'));
      assert.equal(csv[0].join(','), CSV_HEADER);
      const body = csv.slice(1);
      assert.deepEqual(body.map((r) => r[0]).sort(), affected);
      for (const r of body) {
        const e = lab.expect[r[0]];
        assert.equal(r[1], e.site);
        assert.equal(r[2], e.roles.join(';'));
        assert.equal(r[3], e.pxe ? 'true' : 'false');
        assert.equal(r[4], want[r[0]]);
        assert.match(r[7], /^[0-9a-f]{64}$/, 'expected_sha256');
        assert.match(r[11], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'last_scanned');
      }
      const dp02 = affected.find((f) => lab.expect[f].pxe_cert_errors > 0);
      if (dp02) {
        await shots(page, base, 'host', '#/hosts/' + dp02, '#verdict');
        assert.match(await page.textContent('#verdict-text'), /IssuingCertificateList|HKLM/);
        assert.ok(await page.locator('#pxe-log tr.log-type-3').count() > 0, 'PXE error lines in CMTrace colours');
        // The table's caption names every file its lines come from (SMSPXE.lo_ and SMSPXE.log here).
        const files = await page.evaluate(async (f) => {
          const r = await fetch('/api/v1/hosts/' + encodeURIComponent(f), { credentials: 'same-origin' });
          return [...new Set((await r.json()).evidence.filter((e) => e.source === 'smspxe').map((e) => e.file))];
        }, dp02);
        const caption = await page.textContent('#pxe-log caption');
        assert.ok(files.length > 0, 'the host has SMSPXE evidence');
        for (const f of files) assert.ok(caption.includes(f), 'caption "' + caption + '" names ' + f);
      }
      const denied = Object.keys(want).find((f) => want[f] === 'denied');
      await page.goto(base + '/#/hosts/' + denied);
      await page.waitForSelector('#verdict');
      assert.match(await page.textContent('#verdict-text'), /denied \(0x80070005\)/);
    });

    await t.test('viewer: no fix controls, 403 from the API', async () => {
      const vb = await launch({ width: 1280, height: 800 });
      browsers.push(vb);
      watchErrors(vb.context, errors);
      const vp = await vb.context.newPage();
      await signIn(vp, base, 'viewer', VIEWER_PW, '#tiles');
      assert.equal(await vp.locator('#scan-now').count(), 0);
      await vp.goto(base + '/#/hosts?affected=true');
      await vp.waitForSelector('#hosts-count');
      assert.equal(await vp.locator('#fix-toolbar, #fix-selected, table.hosts input[type=checkbox]').count(), 0);
      await shot(vp, 'lab-viewer-hosts-1280');
      const csrf = await vp.evaluate(() => JSON.parse(sessionStorage.getItem('dpfleet.session')).csrf_token);
      const r = await vp.context().request.post(base + '/api/v1/fixes',
        { headers: { 'X-CSRF-Token': csrf }, data: { all_affected: true } });
      assert.equal(r.status(), 403);
      await vb.close();
    });

    await t.test('Scan now reaches the scanner daemon', async () => {
      await page.goto(base + '/#/');
      await page.waitForSelector('#scan-now');
      const before = Number(/#(\d+)/.exec(await page.textContent('#last-scan'))[1]);
      await page.click('#scan-now');
      await page.waitForFunction(() => /Scan request #\d+ queued/.test(document.querySelector('#scan-pending')?.textContent || ''));
      // The page redraws itself once no request waits; the new scan's id is then the last one.
      await page.waitForFunction((n) => {
        const m = /Last scan #(\d+)/.exec(document.querySelector('#last-scan')?.textContent || '');
        return m && Number(m[1]) > n && !/running/.test(document.querySelector('#last-scan').textContent);
      }, before, { timeout: WAIT_JOBS_MS });
      const got = await tileCounts(page);
      const diff = await verdictDiff(page, base, want);
      for (const s of STATES) assert.equal(got[s], counts[s], 'hosts ' + s + ' after the requested scan' + diff);
      await page.waitForSelector('#chart canvas');
      await shots(page, base, 'overview-rescanned', '#/', '#chart canvas');
    });

    await t.test('fix all affected with the button; jobs reach written; overview turns healthy', async () => {
      // "Select all affected" → "Fix selected" → the dialog (count, sites, dry run) → the live job list.
      // Returns [[host, state, outcome]...] once every queued job has ended.
      const sites = [...new Set(affected.map((f) => lab.expect[f].site))].sort().join(', ');
      async function fixAll(dryRun, name) {
        await page.goto(base + '/#/hosts?affected=true');
        await page.waitForSelector('#fix-toolbar');
        const before = await page.locator('#live-jobs tr[data-job]').evaluateAll((trs) => trs.map((tr) => tr.dataset.job));
        await page.click('#select-affected');
        await page.click('#fix-selected');
        await page.waitForSelector('#fix-dialog[open]');
        assert.equal(await page.textContent('#fix-count'), String(affected.length));
        assert.equal(await page.textContent('#fix-sites'), sites);
        if (dryRun) await page.check('#fix-dry-run');
        await shot(page, `lab-${name}-dialog-1280`);
        await page.click('#fix-confirm');
        await page.waitForFunction((old) => {
          const rows = [...document.querySelectorAll('#live-jobs tr[data-job]')];
          return rows.length && rows.every((tr) => !old.includes(tr.dataset.job)) &&
            /jobs ended[.:]/.test(document.querySelector('#live-status')?.textContent || '') &&
            !/updating/.test(document.querySelector('#live-status').textContent);
        }, before, { timeout: WAIT_JOBS_MS });
        await shot(page, `lab-${name}-done-1280`);
        return page.locator('#live-jobs tr[data-job]').evaluateAll((trs) =>
          trs.map((tr) => [tr.querySelector('a').textContent, tr.dataset.state, tr.dataset.outcome]));
      }
      const dry = await fixAll(true, 'dry-run');
      assert.deepEqual(dry.map((j) => j[0]).sort(), affected);
      for (const j of dry) assert.deepEqual(j.slice(1), ['done', 'would_write'], j[0]);
      const still = await (await page.context().request.get(base + '/api/v1/hosts?affected=true')).json();
      assert.equal(still.total, affected.length, 'a dry run changes nothing');
      const jobs = await fixAll(false, 'fix');
      assert.deepEqual(jobs.map((j) => j[0]).sort(), affected);
      for (const j of jobs) assert.deepEqual(j.slice(1), ['done', 'written'], j[0]);
      // After a written job the scanner rescans the host (dpfleet-scanner(8), "Jobs and crashes"): wait for the
      // overview to say so.
      const until = Date.now() + WAIT_JOBS_MS;
      let got = null;
      for (;;) {
        await page.goto(base + '/#/jobs');
        await page.waitForSelector('#jobs-body');
        await page.goto(base + '/#/');
        await page.waitForSelector('#tiles');
        got = await tileCounts(page);
        if (got.affected === 0 || Date.now() > until) break;
        await page.waitForTimeout(1000);
      }
      assert.equal(got.affected, 0, 'no affected host left');
      assert.equal(got.healthy, counts.healthy + affected.length);
      await shots(page, base, 'overview-healthy', '#/', '#tiles');
      await shots(page, base, 'hosts-after-fix', '#/hosts?affected=true', '#no-hosts');
      // The fixed host: healthy, its written job listed with a rollback button for the operator.
      await shots(page, base, 'host-fixed', '#/hosts/' + affected[0], '#verdict');
      assert.match(await page.textContent('#verdict-text'), /matches the value in the site database/);
      assert.equal(await page.locator('button.rollback').count(), 1);
      await shots(page, base, 'jobs', '#/jobs', '#jobs-body');
      const after = parseCsv(await download(page, '#export-affected'));
      assert.equal(after[0].join(','), CSV_HEADER);
      assert.equal(after.slice(1).filter((r) => r.length > 1).length, 0, 'affected.csv is empty after the fix');
      const proof = parseCsv(await download(page, '#export-fixes'));
      const hi = proof[0].indexOf('host'), oi = proof[0].indexOf('outcome');
      assert.ok(hi >= 0 && oi >= 0, 'fixes.csv header ' + proof[0].join(','));
      assert.deepEqual(proof.slice(1).filter((r) => r[oi] === 'written').map((r) => r[hi]).sort(), affected);
      assert.deepEqual(proof.slice(1).filter((r) => r[oi] === 'would_write').map((r) => r[hi]).sort(), affected);

      // Roll one fix back from its host page: the job ends `restored`.
      await page.goto(base + '/#/hosts/' + affected[0]);
      await page.waitForSelector('button.rollback');
      await page.click('button.rollback');
      await page.waitForSelector('#rollback-dialog[open]');
      await page.click('#rollback-dialog-ok');
      await page.waitForFunction(() => {
        const tr = document.querySelector('#live-jobs tr[data-job]');
        return tr && ['done', 'failed', 'cancelled'].includes(tr.dataset.state);
      }, null, { timeout: WAIT_JOBS_MS });
      assert.deepEqual(await page.locator('#live-jobs tr[data-job]').evaluateAll((trs) =>
        trs.map((tr) => [tr.dataset.state, tr.dataset.outcome])), [['done', 'restored']]);
      await shot(page, 'lab-rollback-done-1280');
    });

    await t.test('admin pages', async () => {
      const ab = await launch({ width: 1280, height: 800 });
      browsers.push(ab);
      watchErrors(ab.context, errors);
      const ap = await ab.context.newPage();
      await signIn(ap, base, 'admin', ADMIN_PW, '#tiles');
      await shots(ap, base, 'audit', '#/audit', '#audit-count');
      await shots(ap, base, 'jobs-admin', '#/jobs', '#jobs-body');
      await ab.close();
    });

    assert.deepEqual(errors, [], 'no console or page errors');
    for (const b2 of browsers) await b2.close();
    const ends = [];
    while (daemons.length) {
      const d = daemons.pop();
      ends.push(await stopChecked(d, d.log, d.name));
    }
    assert.deepEqual(ends.filter(Boolean), [], 'daemons end cleanly on SIGTERM');
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    for (const d of daemons.reverse()) await d.stop().catch(() => {});
    if (labUp) {
      const r = run([LAB, 'down', '--dir', dir], { env });
      if (!r.ok) console.error('dpfleet-lab down: ' + r.out);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
