// app.js — the dashboard's entry point: hash router, page shell (navigation, who is signed in, sign out) and
// the hand-over to one page module per route.  Routes: #/login, #/ (overview), #/hosts?filters,
// #/hosts/FQDN, #/jobs, #/audit (admin).  Each page's render(main, params) may return a cleanup function
// (stop polling, destroy the chart) that runs before the next route renders.

import { api, session, setSession, can, setUnauthorizedHandler, refreshSession } from './api.js';
import { clear, flash, errorBox } from './dom.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as hosts from './pages/hosts.js';
import * as host from './pages/host.js';
import * as jobs from './pages/jobs.js';
import * as audit from './pages/audit.js';

const main = document.getElementById('main');
let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const params = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  return { path, params };
}

function route(path) {
  if (path === '/login') return { page: login, nav: null };
  if (path === '/' || path === '') return { page: overview, nav: 'overview' };
  if (path === '/hosts') return { page: hosts, nav: 'hosts' };
  const m = /^\/hosts\/([^/]+)$/.exec(path);
  if (m) return { page: host, nav: 'hosts', arg: decodeURIComponent(m[1]) };
  if (path === '/jobs') return { page: jobs, nav: 'jobs' };
  if (path === '/audit') return { page: audit, nav: 'audit', role: 'admin' };
  return null;
}

function shell(nav) {
  const s = session();
  const top = document.getElementById('top');
  top.hidden = !s || !nav;
  if (!s) return;
  document.getElementById('who-name').textContent = s.user;
  document.getElementById('who-role').textContent = s.role;
  for (const li of top.querySelectorAll('[data-admin]')) li.hidden = !can('admin');
  for (const a of top.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) {
    try { cleanup(); } catch (e) { /* a page's cleanup must not block navigation */ }
    cleanup = null;
  }
  const { path, params } = parseHash();
  let r = route(path);
  if (r && r.page !== login && !session()) {
    location.replace('#/login?next=' + encodeURIComponent(location.hash.slice(1)));
    return;
  }
  if (r && r.page === login && session()) {
    location.replace('#/');
    return;
  }
  if (!r || r.page !== hosts) hosts.forget();
  shell(r ? r.nav : null);
  clear(main);
  if (!r) {
    main.appendChild(errorBox(new Error('No such page: ' + path)));
    return;
  }
  if (r.role && !can(r.role)) {
    main.appendChild(errorBox(new Error('This page needs the ' + r.role + ' role.')));
    return;
  }
  try {
    const c = await r.page.render(main, params, r.arg, () => seq === renderSeq);
    if (seq === renderSeq) cleanup = typeof c === 'function' ? c : null;
    else if (typeof c === 'function') c();
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e && e.status === 401) return;     // handled: back to sign-in
    main.appendChild(errorBox(e));
  }
}

setUnauthorizedHandler((msg) => {
  flash(msg, 'warn');
  if (!location.hash.startsWith('#/login')) location.hash = '#/login';
  else render();
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.post('/api/v1/logout');
  } catch (e) { /* signed out locally whatever the server says */ }
  setSession(null);
  flash('Signed out.');
  location.hash = '#/login';
});

// The skip link must not change the hash (that is the router's): move focus instead.
document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', render);
// After a reload, take the role and CSRF token from the server (they may have changed); then render.
(session() ? refreshSession() : Promise.resolve()).finally(render);
