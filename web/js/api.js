// api.js — the dashboard's only door to dpfleet-server's JSON API (doc/dpfleet-server.8, API).
// Who calls it: every page module.  What it assumes: the session cookie (HttpOnly) is sent by the browser;
// the CSRF token and the user's name and role come from the login answer and are kept in sessionStorage so
// that a reload keeps working.  Every non-GET request carries X-CSRF-Token.  A 401 anywhere ends the local
// session and sends the user to the sign-in page.

const KEY = 'dpfleet.session';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && typeof s.user === 'string' && typeof s.role === 'string' && typeof s.csrf_token === 'string')
      return s;
  } catch (e) { /* corrupt entry: treated as signed out */ }
  return null;
}

export function setSession(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

// Roles are ordered: viewer < operator < admin.
export function can(role) {
  const order = { viewer: 0, operator: 1, admin: 2 };
  const s = session();
  return !!s && (order[s.role] ?? -1) >= order[role];
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

async function request(method, path, body, retried) {
  const headers = { Accept: 'application/json' };
  const s = session();
  if (method !== 'GET' && s) headers['X-CSRF-Token'] = s.csrf_token;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'The server does not answer (' + e.message + ')');
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    const msg = (data && typeof data.error === 'string') ? data.error : (res.status + ' ' + res.statusText);
    // A stale CSRF token (signed in again in another tab): take the session's current one, retry once.
    if (res.status === 403 && method !== 'GET' && !retried && /CSRF/i.test(msg) && await refreshSession())
      return request(method, path, body, true);
    if (res.status === 401 && path !== '/api/v1/login') {
      setSession(null);
      onUnauthorized('Your session has ended: please sign in again.');
    }
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

// GET /api/v1/me: the signed-in user, role and CSRF token of the cookie's session.  true if refreshed.
export async function refreshSession() {
  try {
    const me = await request('GET', '/api/v1/me', undefined, true);
    if (me && typeof me.csrf_token === 'string' && typeof me.role === 'string') {
      setSession({ user: me.user, role: me.role, csrf_token: me.csrf_token });
      return true;
    }
  } catch (e) { /* 401 is handled by request() */ }
  return false;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body === undefined ? {} : body),
};

// "a=1&b=2" from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
