// pages/audit.js — the audit trail (admin only): who did what to which target, newest first, paged.
// Data: GET /api/v1/audit?limit=&offset= → {total, audit: [{id, at, who, action, target, outcome, detail}]}.

import { api, query } from '../api.js';
import { h, fmtTime, table } from '../dom.js';

const PAGE = 100;

function detailText(d) {
  if (d === null || d === undefined || d === '') return '';
  if (typeof d === 'string') return d;
  return JSON.stringify(d);
}

export async function render(main, params, arg, current) {
  const offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
  const r = await api.get('/api/v1/audit' + query({ limit: PAGE, offset }));
  if (!current()) return null;
  const list = (r && r.audit) || (Array.isArray(r) ? r : []);
  const total = Number((r && r.total) ?? list.length);
  main.appendChild(h('h1', null, 'Audit log'));
  main.appendChild(h('p', { class: 'count-line', id: 'audit-count' },
    `${total ? offset + 1 : 0}–${offset + list.length} of ${total} entries`));
  main.appendChild(table(null, ['Time', 'Who', 'Action', 'Target', 'Outcome', 'Detail'], list.map((a) => h('tr', null,
    h('td', { class: 'nowrap' }, fmtTime(a.at)), h('td', null, a.who || ''), h('td', null, h('code', null, a.action || '')),
    h('td', null, a.target || ''), h('td', null, a.outcome || ''),
    h('td', { class: 'detail' }, h('code', null, detailText(a.detail))))), 'audit'));
  const prev = h('button', { type: 'button', id: 'audit-prev', disabled: offset === 0 }, '← Newer');
  const next = h('button', { type: 'button', id: 'audit-next', disabled: offset + PAGE >= total }, 'Older →');
  prev.addEventListener('click', () => { location.hash = '#/audit' + query({ offset: Math.max(0, offset - PAGE) || '' }); });
  next.addEventListener('click', () => { location.hash = '#/audit' + query({ offset: offset + PAGE }); });
  main.appendChild(h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, ' ', next));
  return null;
}
