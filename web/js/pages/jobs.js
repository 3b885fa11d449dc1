// pages/jobs.js — every fix and rollback job, newest first, filterable by state and host, refreshed every
// few seconds while any job is queued or running; operators may cancel a queued job.
// Data: GET /api/v1/jobs?state=&host=; POST /api/v1/jobs/{id}/cancel.

import { api, can, query } from '../api.js';
import { h, clear, fmtTime, hashEl, jobBadge, table, flash } from '../dom.js';
import { OUTCOME_TEXT } from '../words.js';
import { jobList, ENDED } from './jobs_live.js';
import { exportLinks } from './overview.js';

const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'];

export async function render(main, params, arg, current) {
  const f = { state: params.get('state') || '', host: params.get('host') || '' };
  const operator = can('operator');
  const body = h('div', { id: 'jobs-body' });
  const stateSel = h('select', { id: 'j-state', name: 'state' }, h('option', { value: '' }, 'Any state'),
    JOB_STATES.map((s) => h('option', { value: s, selected: s === f.state }, s)));
  const hostIn = h('input', { id: 'j-host', name: 'host', type: 'search', value: f.host, placeholder: 'exact FQDN' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    h('div', { class: 'field' }, h('label', { for: 'j-state' }, 'State'), stateSel),
    h('div', { class: 'field grow' }, h('label', { for: 'j-host' }, 'Host'), hostIn),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = '#/jobs' + query({ state: stateSel.value, host: hostIn.value.trim() });
  });
  stateSel.addEventListener('change', () => form.requestSubmit());
  main.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Jobs'), exportLinks()));
  main.appendChild(form);
  main.appendChild(body);

  let timer = null;
  let stopped = false;
  async function load() {
    const r = await api.get('/api/v1/jobs' + query({ ...f, limit: 500 }));
    const list = jobList(r).sort((a, b) => b.id - a.id);
    const total = Number((r && r.total) ?? list.length);
    if (stopped || !current()) return;
    clear(body);
    if (!list.length) {
      body.appendChild(h('p', { class: 'muted', id: 'no-jobs' }, 'No job matches.'));
    } else {
      body.appendChild(table((total > list.length ? 'Newest ' + list.length + ' of ' : '') + total + (total === 1 ? ' job' : ' jobs'),
        ['Job', 'Host', 'Outcome', operator ? 'Action' : null, 'Kind', 'By', 'Requested', 'Finished',
          'Before → after', 'Detail'].filter(Boolean), list.map((j) => {
        let btn = null;
        if (operator && j.state === 'queued') {
          btn = h('button', { type: 'button', class: 'cancel', dataset: { job: String(j.id) } }, 'Cancel');
          btn.addEventListener('click', async () => {
            btn.disabled = true;
            try {
              await api.post('/api/v1/jobs/' + encodeURIComponent(j.id) + '/cancel', {});
              flash('Job #' + j.id + ' cancelled.');
            } catch (e) {
              if (e.status !== 401) flash('Not cancelled: ' + e.message, 'error');
            }
            load().catch(() => {});
          });
        }
        return h('tr', { dataset: { job: String(j.id), state: j.state || '', outcome: j.outcome || '' } },
          h('td', { class: 'num' }, '#' + j.id),
          h('td', null, h('a', { href: '#/hosts/' + encodeURIComponent(j.host) }, j.host)),
          h('td', null, jobBadge(j)),
          operator ? h('td', null, btn) : null,
          h('td', null, (j.kind || '') + (j.dry_run ? ' (dry run)' : '') + (j.rollback_of ? ' of #' + j.rollback_of : '')),
          h('td', null, j.requested_by || ''),
          h('td', { class: 'nowrap' }, fmtTime(j.requested_at)),
          h('td', { class: 'nowrap' }, fmtTime(j.finished_at)),
          h('td', { class: 'nowrap' }, hashEl(j.before_sha256), ' → ', hashEl(j.after_sha256)),
          h('td', { class: 'text' }, j.error || OUTCOME_TEXT[j.outcome] || ''));
      }), 'jobs'));
    }
    clearTimeout(timer);
    if (list.some((j) => !ENDED.includes(j.state)))
      timer = setTimeout(() => load().catch(() => {}), 2000);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
