// pages/jobs_live.js — a live list of fix/rollback jobs, polled by id (GET /api/v1/jobs?ids=, at most
// IDS_PER_GET a request, only the jobs that have not ended) until every job in it has ended (done, failed,
// cancelled), however many jobs the run or the whole list holds.  Used by the hosts page after "Fix selected"
// and by the host page after a rollback.  Returns {el, stop}; the caller calls stop() when its page goes away.

import { api } from '../api.js';
import { h, clear, jobBadge, fmtTime, table } from '../dom.js';
import { OUTCOME_TEXT } from '../words.js';

export const ENDED = ['done', 'failed', 'cancelled'];
const IDS_PER_GET = 200;          // the server's cap for ?ids=

export function jobList(r) {
  return Array.isArray(r) ? r : (r && Array.isArray(r.jobs) ? r.jobs : []);
}

export function liveJobs(title, queued, onAllEnded) {
  const ids = new Set(queued.map((j) => Number(j.id)));
  const byId = new Map(queued.map((j) => [Number(j.id), { state: 'queued', ...j }]));
  const status = h('p', { class: 'live-status', role: 'status', 'aria-live': 'polite', id: 'live-status' });
  const body = h('div');
  const el = h('section', { class: 'live-jobs', id: 'live-jobs', 'aria-labelledby': 'live-h' },
    h('h2', { id: 'live-h' }, title), status, body);
  let timer = null;
  let stopped = false;

  function draw() {
    const list = [...byId.values()].sort((a, b) => a.id - b.id);
    const ended = list.filter((j) => ENDED.includes(j.state)).length;
    const tally = {};
    for (const j of list) if (j.outcome) tally[j.outcome] = (tally[j.outcome] || 0) + 1;
    status.textContent = ended + ' of ' + list.length + ' jobs ended' +
      (Object.keys(tally).length ? ': ' + Object.entries(tally).map(([k, v]) => v + ' ' + k).join(', ') : '') +
      (ended === list.length ? '.' : ' — updating…');
    clear(body).appendChild(table(null, ['Job', 'Host', 'Kind', 'State / outcome', 'Finished', 'Detail'],
      list.map((j) => h('tr', { dataset: { job: String(j.id), state: j.state || '', outcome: j.outcome || '' } },
        h('td', { class: 'num' }, '#' + j.id),
        h('td', null, h('a', { href: '#/hosts/' + encodeURIComponent(j.host) }, j.host)),
        h('td', null, (j.kind || 'fix') + (j.dry_run ? ' (dry run)' : '')),
        h('td', null, jobBadge(j)),
        h('td', null, fmtTime(j.finished_at)),
        h('td', null, j.error || (j.outcome ? OUTCOME_TEXT[j.outcome] || '' : ''))))));
    return ended === list.length;
  }

  async function poll() {
    if (stopped) return;
    try {
      const open = [...byId.values()].filter((j) => !ENDED.includes(j.state)).map((j) => Number(j.id));
      for (let i = 0; i < open.length && !stopped; i += IDS_PER_GET) {
        const got = jobList(await api.get('/api/v1/jobs?ids=' + open.slice(i, i + IDS_PER_GET).join(',')));
        for (const j of got) if (ids.has(Number(j.id))) byId.set(Number(j.id), j);
      }
    } catch (e) {
      if (e.status === 401) return;
      status.textContent = 'Could not refresh the jobs: ' + e.message;
    }
    if (stopped) return;
    if (draw()) {
      if (onAllEnded) onAllEnded([...byId.values()]);
      return;
    }
    timer = setTimeout(poll, 1000);
  }

  draw();
  timer = setTimeout(poll, 300);
  return { el, stop: () => { stopped = true; clearTimeout(timer); } };
}
