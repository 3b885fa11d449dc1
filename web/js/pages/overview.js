// pages/overview.js — the morning view: one tile per verdict state (affected states in red when non-zero),
// the per-site table with the site DB's expected value (present / absent / ambiguous), the last scan, "Scan now"
// for operators, and a uPlot chart of affected and unreachable hosts over the last 50 scans.
// Data: GET /api/v1/summary (its last_scan is the newest finished full scan), GET /api/v1/scans?limit=200 (the
// chart keeps the newest 50 finished full scans: the rescans a fix triggers cover a few hosts only and would
// read as a drop; a running scan is named next to the last one); POST /api/v1/scans queues a scan.

import uPlot from '../../vendor/uPlot.esm.js';
import { api, can } from '../api.js';
import { h, fmtTime, fmtAge, STATES, STATE_LABEL, AFFECTED, table, flash, errorBox } from '../dom.js';
import { EXPECTED_TEXT } from '../words.js';

export function exportLinks() {
  return h('p', { class: 'exports' },
    h('a', { href: '/api/v1/report/affected.csv', download: 'affected.csv', id: 'export-affected', class: 'button' },
      'Export affected (CSV)'),
    ' ',
    h('a', { href: '/api/v1/report/hosts.csv', download: 'hosts.csv', id: 'export-hosts', class: 'button' },
      'Export all hosts (CSV)'),
    ' ',
    h('a', { href: '/api/v1/report/fixes.csv', download: 'fixes.csv', id: 'export-fixes', class: 'button' },
      'Export fix proof (CSV)'));
}

function tile(label, n, state, danger) {
  const href = state === 'affected' ? '#/hosts?affected=true' : '#/hosts?state=' + state;
  return h('li', null,
    h('a', { class: 'tile' + (danger ? ' danger' : '') + (n === 0 ? ' zero' : ''), href,
      id: 'tile-' + state, dataset: { state, count: String(n) } },
    h('span', { class: 'count' }, String(n)), h('span', { class: 'label' }, label)));
}

function chart(box, scans) {
  const rows = scans.filter((s) => s.started_at && !Number.isNaN(Date.parse(s.started_at)))
    .map((s) => [Date.parse(s.started_at) / 1000, Number(s.affected) || 0, Number(s.unreachable) || 0])
    .sort((a, b) => a[0] - b[0]);
  if (rows.length < 2) {
    box.appendChild(h('p', { class: 'muted', id: 'chart-empty' },
      rows.length ? 'One scan so far: the trend appears after the second scan.' : 'No scans yet.'));
    return null;
  }
  const data = [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])];
  const width = () => Math.max(260, Math.min(box.clientWidth || 600, 1100));
  const opts = {
    width: width(), height: 220,
    title: 'Affected and unreachable hosts, last ' + rows.length + ' full scans',
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
    series: [
      {},
      { label: 'Affected', stroke: '#c62828', width: 2, fill: 'rgba(198,40,40,0.08)' },
      { label: 'Unreachable', stroke: '#6d4c41', width: 2, dash: [6, 4] },
    ],
    axes: [{}, { label: 'hosts' }],
  };
  const u = new uPlot(opts, data, box);
  const onResize = () => u.setSize({ width: width(), height: 220 });
  window.addEventListener('resize', onResize);
  return () => { window.removeEventListener('resize', onResize); u.destroy(); };
}

export async function render(main, params, arg, current) {
  const [sum, scans] = await Promise.all([api.get('/api/v1/summary'), api.get('/api/v1/scans?limit=200')]);
  if (!current()) return null;
  const counts = sum.counts || {};
  const scanList = Array.isArray(scans) ? scans : (scans && scans.scans) || [];
  const fullScans = scanList.filter((x) => x.trigger !== 'fix' && x.state === 'done' && x.finished_at).slice(0, 50);
  const running = scanList.find((x) => x.state === 'running');
  const last = sum.last_scan;
  const pending = (scans && scans.pending_requests) || [];

  const head = h('div', { class: 'page-head' },
    h('h1', null, 'Overview'),
    h('p', { class: 'last-scan', id: 'last-scan' }, last
      ? ['Last scan #' + last.id + ': ', h('time', { datetime: last.finished_at || last.started_at },
        fmtTime(last.finished_at || last.started_at)), ' (' + fmtAge(last.finished_at || last.started_at) + ', ' +
        (last.hosts ?? '?') + ' hosts)',
      running ? ' — scan #' + running.id + ' running' : '']
      : (running ? 'Scan #' + running.id + ' running: no scan has finished yet.' : 'No scan has run yet.')));
  main.appendChild(head);

  // While scan requests wait or run, watch them and redraw the page when the last one has finished.
  let watchTimer = null;
  let watching = false;
  function watchScans() {
    if (watching) return;
    watching = true;
    const tick = async () => {
      try {
        const r = await api.get('/api/v1/scans?limit=1');
        if (!current()) return;
        if (!(r.pending_requests || []).length) {
          window.dispatchEvent(new HashChangeEvent('hashchange'));
          return;
        }
      } catch (e) {
        if (e.status === 401 || !current()) return;
      }
      watchTimer = setTimeout(tick, 2000);
    };
    watchTimer = setTimeout(tick, 2000);
  }
  if (pending.length) watchScans();

  if (can('operator')) {
    const btn = h('button', { type: 'button', class: 'primary', id: 'scan-now' }, 'Scan now');
    const note = h('span', { class: 'muted', id: 'scan-pending' },
      pending.length ? pending.length + ' scan request(s) waiting' : '');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const r = await api.post('/api/v1/scans', {});
        flash('Scan request #' + r.scan_request + ' queued: the scanner picks it up within a second.');
        note.textContent = 'Scan request #' + r.scan_request + ' queued';
        watchScans();
      } catch (e) {
        if (e.status !== 401) flash('Scan not queued: ' + e.message, 'error');
      } finally {
        btn.disabled = false;
      }
    });
    head.appendChild(h('p', { class: 'actions' }, btn, ' ', note));
  }

  const affected = Number(sum.affected ?? AFFECTED.reduce((n, s) => n + (counts[s] || 0), 0));
  main.appendChild(h('section', { 'aria-labelledby': 'tiles-h' },
    h('h2', { id: 'tiles-h', class: 'sr-only' }, 'Hosts per state'),
    h('ul', { class: 'tiles', id: 'tiles' },
      tile('Affected', affected, 'affected', affected > 0),
      STATES.map((s) => tile(STATE_LABEL[s], Number(counts[s] || 0), s,
        AFFECTED.includes(s) && Number(counts[s] || 0) > 0)),
      sum.unscanned ? h('li', null, h('span', { class: 'tile zero', id: 'tile-unscanned' },
        h('span', { class: 'count' }, String(sum.unscanned)), h('span', { class: 'label' }, 'Not scanned'))) : null,
      // Cloud DPs and CMGs: listed, never scanned (lib/words.h), counted apart from the states and unscanned.
      sum.cloud ? h('li', null, h('span', { class: 'tile zero', id: 'tile-cloud',
        title: 'Cloud distribution points and cloud management gateways: Azure services, nothing to check or fix' },
        h('span', { class: 'count' }, String(sum.cloud)), h('span', { class: 'label' }, 'Cloud — not scanned'))) : null)));

  const sites = sum.sites || [];
  main.appendChild(h('section', { 'aria-labelledby': 'sites-h' },
    h('h2', { id: 'sites-h' }, 'Sites'),
    table(null, ['Site', 'Expected value', 'Hosts', 'Affected', 'Unreachable', 'Unknown', 'Name', 'Type'],
      sites.map((s) => {
        const c = s.counts || {};
        const total = Object.values(c).reduce((a, b) => a + (Number(b) || 0), 0);
        const aff = AFFECTED.reduce((n, k) => n + (Number(c[k]) || 0), 0);
        return h('tr', { dataset: { site: s.code } },
          h('th', { scope: 'row' }, h('a', { href: '#/hosts?site=' + encodeURIComponent(s.code) }, s.code)),
          h('td', null, h('span', { class: 'badge exp-' + s.expected_value, dataset: { expected: s.expected_value } },
            EXPECTED_TEXT[s.expected_value] || s.expected_value || '?')),
          h('td', { class: 'num' }, String(total)),
          h('td', { class: 'num' + (aff ? ' danger-text' : '') }, String(aff)),
          h('td', { class: 'num' }, String(c.unreachable || 0)),
          h('td', { class: 'num' }, String(c.unknown || 0)),
          h('td', null, s.name || ''),
          h('td', null, s.type || ''));
      }), 'sites')));

  const box = h('div', { class: 'chart', id: 'chart' });
  main.appendChild(h('section', { 'aria-labelledby': 'chart-h' },
    h('h2', { id: 'chart-h' }, 'Trend'), box));
  main.appendChild(exportLinks());
  let destroy = null;
  try {
    destroy = chart(box, fullScans);
  } catch (e) {
    box.appendChild(errorBox(e));
  }
  return () => { clearTimeout(watchTimer); if (destroy) destroy(); };
}
