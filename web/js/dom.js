// dom.js — small DOM helpers shared by the pages: element builder (no innerHTML anywhere, so nothing from the
// API is ever parsed as markup), formatting of times, hashes and states, and a flash message area.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ISO 8601 UTC "2026-11-25T12:00:00Z" → "2026-11-25 12:00:00 UTC"; null → "—".
export function fmtTime(iso) {
  if (!iso) return '—';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return m ? m[1] + ' ' + m[2] + ' UTC' : String(iso);
}

// "3 min ago" style age for an ISO time, or ''.
export function fmtAge(iso) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 0) return 'in the future';
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

// A hash shown short with the full value in its title and as text for copy.
export function hashEl(hex) {
  if (!hex) return h('span', { class: 'muted' }, '—');
  return h('code', { class: 'hash', title: hex }, hex.slice(0, 12) + '…' + hex.slice(-6));
}

export const STATES = ['healthy', 'missing', 'empty', 'mismatch', 'no_key', 'denied', 'unreachable', 'unknown'];
export const AFFECTED = ['missing', 'empty', 'mismatch'];

export const STATE_LABEL = {
  healthy: 'Healthy', missing: 'Missing', empty: 'Empty', mismatch: 'Mismatch', no_key: 'No key',
  denied: 'Denied', unreachable: 'Unreachable', unknown: 'Unknown',
};

export function stateBadge(state) {
  if (!state) return h('span', { class: 'badge st-none' }, 'not scanned');
  return h('span', { class: 'badge st-' + state, dataset: { state } }, STATE_LABEL[state] || state);
}

// A cloud DP or CMG (the API's "cloud" and "not_scanned", lib/words.h): never scanned nor fixed, so no verdict;
// the badge shows the API's words up to the first ': ', the rest is the one-line reason.
export function cloudParts(x) {
  const text = String(x.not_scanned || 'cloud — not scanned');
  const i = text.indexOf(': ');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 2)];
}

export function cloudBadge(x) {
  const [label, why] = cloudParts(x);
  return h('span', { class: 'badge st-cloud', dataset: { cloud: x.cloud || '' }, title: why }, label);
}

export function jobBadge(job) {
  const word = job.outcome || job.state || '?';
  return h('span', { class: 'badge job-' + word, dataset: { outcome: job.outcome || '', state: job.state || '' } },
    word);
}

let flashTimer = null;
export function flash(text, kind = 'info') {
  const box = document.getElementById('flash');
  clear(box);
  if (!text) return;
  box.appendChild(h('p', { class: 'flash ' + kind }, text));
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => clear(box), 8000);
}

// A table wrapped for horizontal scrolling on narrow screens.
export function table(caption, head, rows, cls) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: cls || '' },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, head.map((c) => (c instanceof Node ? c : h('th', { scope: 'col' }, c))))),
      h('tbody', null, rows)));
}

export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e && e.message ? e.message : String(e));
}

// A modal confirmation (native <dialog>: the page behind is inert, Escape cancels; Tab stays inside).
// Resolves true (confirmed) or false.
export function confirmDialog(id, title, text, okLabel, danger) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', id: id + '-ok' }, okLabel);
    const cancel = h('button', { type: 'button', id: id + '-cancel' }, 'Cancel');
    const dlg = h('dialog', { id, 'aria-labelledby': id + '-h', 'aria-describedby': id + '-d' },
      h('form', { method: 'dialog' }, h('h2', { id: id + '-h' }, title), h('p', { id: id + '-d' }, text),
        h('p', { class: 'actions' }, ok, ' ', cancel)));
    let result = false;
    ok.addEventListener('click', () => { result = true; });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    trapTab(dlg);
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// Keep Tab and Shift+Tab inside el (a modal dialog).
export function trapTab(el) {
  el.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Tab') return;
    const f = [...el.querySelectorAll('input, button, select, a[href]')].filter((x) => !x.disabled);
    if (!f.length) return;
    const first = f[0], last = f[f.length - 1];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  });
}
