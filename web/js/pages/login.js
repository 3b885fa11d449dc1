// pages/login.js — sign-in form.  POST /api/v1/login {user, password} → {user, role, csrf_token}; the answer
// is kept in sessionStorage (api.js) and the user goes on to the page asked for (?next=).  Errors from the
// server (wrong password or a waiting account: one answer; too many sign-ins) are shown in an alert region.

import { api, setSession } from '../api.js';
import { h } from '../dom.js';

export function render(main, params) {
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error', hidden: true });
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const btn = h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, 'Sign in');
  const form = h('form', { class: 'login', id: 'login-form', novalidate: true },
    h('h1', null, 'dpfleet'),
    h('p', { class: 'muted' }, 'IssuingCertificateList health of your ConfigMgr distribution points'),
    h('div', { class: 'field' }, h('label', { for: 'login-user' }, 'User name'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), pass),
    err, btn);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (!user.value || !pass.value) {
      err.textContent = 'Enter your user name and password.';
      err.hidden = false;
      (user.value ? pass : user).focus();
      return;
    }
    btn.disabled = true;
    try {
      const r = await api.post('/api/v1/login', { user: user.value, password: pass.value });
      if (!r || typeof r.csrf_token !== 'string' || typeof r.role !== 'string')
        throw new Error('The server gave an unexpected sign-in answer.');
      setSession({ user: r.user || user.value, role: r.role, csrf_token: r.csrf_token });
      pass.value = '';
      const next = params.get('next');
      location.hash = next && next.startsWith('/') && !next.startsWith('/login') ? '#' + next : '#/';
    } catch (e) {
      let msg = e.message;
      // The server gives one answer for every refusal (dpfleet-server(8), SIGN-IN): say what it may mean.
      if (e.status === 401) msg = 'Sign-in failed: ' + (e.message && !/^401/.test(e.message) ? e.message : 'wrong user name or password') +
        '. After several failures an account must wait before it can sign in again (up to 15 minutes).';
      if (e.status === 429) msg = 'Too many sign-ins from this address: wait a minute. (' + e.message + ')';
      if (e.status === 503) msg = 'The server is busy checking other sign-ins: try again in a few seconds.';
      err.textContent = msg;
      err.hidden = false;
      pass.value = '';
      pass.focus();
    } finally {
      btn.disabled = false;
    }
  });
  main.appendChild(h('section', { class: 'login-wrap' }, form));
  user.focus();
}
