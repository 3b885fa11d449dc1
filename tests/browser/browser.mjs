// browser.mjs — shared helpers of the browser suite: Debian's Chromium through playwright-core (headless,
// fresh temp profile, closed in every path), a console/page-error watch that makes a test fail on any error,
// screenshots under $DPFLEET_BUILD_ROOT/screenshots/, free ports, dpfleet-server start/stop, a small fetch
// client for the API, and the one rule for skipping (skipOrFail).  Who calls it: dashboard.test.mjs and
// lab.test.mjs.  What it assumes: node 20, playwright-core in the top-level node_modules, /usr/bin/chromium.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

export const SOURCE_ROOT = process.env.DPFLEET_SOURCE_ROOT ||
  path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const BUILD_ROOT = process.env.DPFLEET_BUILD_ROOT || path.join(SOURCE_ROOT, 'build');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function loadPlaywright() {
  const req = createRequire(path.join(SOURCE_ROOT, 'package.json'));
  try {
    return req('playwright-core');
  } catch (e) {
    return null;
  }
}

// Whether a missing browser or root must fail the test instead of skipping it: in CI (CI set) or when
// DPFLEET_REQUIRE_BROWSER=1.
export function skipIsFailure() {
  return Boolean(process.env.CI) || process.env.DPFLEET_REQUIRE_BROWSER === '1';
}

// The only skips the suite knows: Chromium or playwright-core not installed, or not root (the lab).  t.skip(why)
// and true, or (skipIsFailure()) an assertion failure.  Anything else missing or broken is a failure anyway.
export function skipOrFail(t, why) {
  if (skipIsFailure()) assert.fail(why + ' (CI or DPFLEET_REQUIRE_BROWSER=1: a skip is a failure)');
  t.skip(why);
  return true;
}

// Why the browser suite cannot run here, or null.
export function missingBrowserPrereq() {
  if (!loadPlaywright()) return 'playwright-core is not installed in ' + SOURCE_ROOT + '/node_modules (run npm ci)';
  if (!fs.existsSync(CHROMIUM)) return CHROMIUM + ' is missing (apt-get install chromium)';
  if (!fs.existsSync(path.join(SOURCE_ROOT, 'web', 'vendor', 'uPlot.esm.js')))
    return 'web/vendor/uPlot.esm.js is missing (run tools/vendor-web)';
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function mkTemp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function screenshotDir() {
  const d = path.join(BUILD_ROOT, 'screenshots');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

// Chromium with a fresh profile.  Returns {context, close}; close() is safe to call twice.
export async function launch(viewport = { width: 1280, height: 800 }) {
  const { chromium } = loadPlaywright();
  const profile = mkTemp('dpfleet-chromium-');
  let context = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, acceptDownloads: true,
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      try { await context.close(); } finally { fs.rmSync(profile, { recursive: true, force: true }); }
    },
  };
}

// Every console error and page error of every page of the context goes into errors[]; allow(msg) may
// excuse an error the test provoked on purpose (a 401 from a wrong password).
export function watchErrors(context, errors, allow = () => false) {
  const hook = (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const loc = m.location() || {};
      const e = { text: m.text(), url: loc.url || '' };
      if (!allow(e)) errors.push('console error: ' + e.text + (e.url ? ' (' + e.url + ')' : ''));
    });
    page.on('pageerror', (err) => errors.push('page error: ' + (err.stack || err.message)));
  };
  context.pages().forEach(hook);
  context.on('page', hook);
}

export async function shot(page, name) {
  const file = path.join(screenshotDir(), name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export function findServer() {
  const p = process.env.DPFLEET_SERVER || path.join(BUILD_ROOT, 'server', 'dpfleet-server');
  return fs.existsSync(p) ? p : null;
}

export function findScanner() {
  const p = process.env.DPFLEET_SCANNER || path.join(BUILD_ROOT, 'scanner', 'dpfleet-scanner');
  return fs.existsSync(p) ? p : null;
}

// `dpfleet-server -f CONF user add NAME --role ROLE` with the password on stdin (twice, as on a tty).
// Returns {ok, out}.
export function userAdd(server, conf, name, role, password) {
  const r = spawnSync(server, ['-f', conf, 'user', 'add', name, '--role', role], {
    input: password + '\n' + password + '\n', encoding: 'utf8', timeout: 60000,
  });
  return { ok: r.status === 0, out: ((r.stderr || '') + (r.stdout || '')).trim() || ('exit ' + r.status) };
}

// A child process started in the foreground with its output captured to a file; stop() kills it (SIGTERM,
// then SIGKILL) and waits.
export function startDaemon(argv0, args, logFile) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(argv0, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = false;
  const done = new Promise((resolve) => child.on('exit', (code, sig) => { exited = true; resolve({ code, sig }); }));
  child.on('error', () => {});
  return {
    child,
    done,
    exited: () => exited,
    async stop() {
      if (exited) return done;
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
      const r = await done;
      clearTimeout(t);
      return r;
    },
  };
}

// Poll url until it answers 200, the daemon exits, or `tries` attempts (100 ms apart) pass.  Returns null
// when up, else the reason.
export async function waitHttp(url, daemon, tries = 100) {
  for (let i = 0; i < tries; i++) {
    if (daemon && daemon.exited()) return 'the daemon exited';
    try {
      const r = await fetch(url);
      if (r.status === 200) return null;
    } catch (e) { /* not yet listening */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'no answer from ' + url;
}

// A minimal API client with its own cookie jar, for checks outside the browser.
export class Client {
  constructor(base) { this.base = base; this.cookie = ''; this.csrf = ''; }
  async req(method, p, body) {
    const headers = { Accept: 'application/json' };
    if (this.cookie) headers.Cookie = this.cookie;
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers.Origin = new URL(this.base).origin;  // as a browser sends (dpfleet-server(8))
    const r = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const sc = r.headers.get('set-cookie');
    if (sc) { const m = /dpfleet_session=[^;]*/.exec(sc); if (m) this.cookie = m[0]; }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    return { status: r.status, json, text, headers: r.headers };
  }
  async login(user, password) {
    const r = await this.req('POST', '/api/v1/login', { user, password });
    if (r.status === 200 && r.json) this.csrf = r.json.csrf_token;
    return r;
  }
}

// RFC 4180 CSV → array of rows (arrays of strings).
// The sign-in form filled and submitted; with waitSel, also waits for that selector (the page after sign-in).
export async function signIn(page, base, user, password, waitSel = null) {
  await page.goto(base + '/#/login');
  await page.waitForSelector('#login-form');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  if (waitSel) await page.waitForSelector(waitSel);
}

// What of the page shell (the header, its navigation, Sign out) is shown, by id or tag and text: [] while
// nobody is signed in.  An element is shown when it has a layout box (display: none has none).
export async function shellShown(page) {
  return page.evaluate(() => [...document.querySelectorAll('#top, #top nav, #top a, #logout, a, button')]
    .filter((e) => e.getClientRects().length > 0 && (e.closest('#top') || /sign out/i.test(e.textContent)))
    .map((e) => e.id || e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 40)));
}

// Clicks selector and returns the text of the download it starts.
export async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return fs.readFileSync(await dl.path(), 'utf8');
}

export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// Stop a daemon and say what was wrong with its end: it had already ended before this SIGTERM (however), killed
// by a signal other than our SIGTERM, a nonzero exit, or a sanitizer report in its log.  null when it ended
// cleanly.
export async function stopChecked(daemon, logFile, name) {
  const early = daemon.exited();
  const r = await daemon.stop();
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  const san = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)[^\n]*/.exec(log);
  if (san) return name + ': sanitizer report: ' + san[0];
  if (early) return name + ': ended before it was stopped (' + (r.sig || 'exit ' + r.code) + '): ' + log.slice(-500);
  if (r.sig && r.sig !== 'SIGTERM') return name + ': killed by ' + r.sig + ': ' + log.slice(-500);
  if (r.code) return name + ': exit ' + r.code + ': ' + log.slice(-500);
  return null;
}
