// pages/hosts.js — the host table: server-side paging, sorting and filtering (state, site, role, PXE,
// affected, text search) kept in the URL hash so a filtered view can be bookmarked; operators select hosts
// (or "all affected") and "Fix selected" opens a confirmation dialog (count, sites, dry run) that queues
// POST /api/v1/fixes and then follows the jobs live.  Data: GET /api/v1/hosts, GET /api/v1/summary (sites).

import { api, can, query } from '../api.js';
import { h, clear, fmtTime, stateBadge, cloudBadge, cloudParts, STATES, STATE_LABEL, table, flash, errorBox, trapTab } from '../dom.js';
import { verdictText } from '../words.js';
import { liveJobs } from './jobs_live.js';
import { exportLinks } from './overview.js';

const PAGE = 50;
// The jobs of the last "Fix selected", kept while the user stays on the host list so that redrawing the table
// (filters, paging, the refresh after the jobs end) keeps the live list.  Dismissed with its button.
let lastFix = null;
const SORTS = { fqdn: 'Host', site: 'Site', state: 'State', pxe_cert_errors: 'PXE cert errors',
  last_scanned: 'Last scanned' };
const FILTERS = ['state', 'site', 'role', 'pxe', 'affected', 'q', 'sort', 'order', 'offset'];

function filtersFrom(params) {
  const f = {};
  for (const k of FILTERS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function go(f) {
  location.hash = '#/hosts' + query(f);
}

function select(id, label, value, options) {
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('select', { id, name: id.replace(/^f-/, '') },
      options.map(([v, text]) => h('option', { value: v, selected: v === (value || '') }, text))));
}

// The confirmation dialog.  Resolves {dryRun} or null (cancelled, Escape).
function confirmFix(count, sites, allAffected, warning, dryDefault) {
  return new Promise((resolve) => {
    const dry = h('input', { type: 'checkbox', id: 'fix-dry-run', name: 'dry_run', checked: !!dryDefault });
    const ok = h('button', { type: 'submit', class: 'danger', id: 'fix-confirm', value: 'ok' }, 'Queue fix');
    const cancel = h('button', { type: 'button', id: 'fix-cancel' }, 'Cancel');
    const dlg = h('dialog', { id: 'fix-dialog', 'aria-labelledby': 'fix-h', 'aria-describedby': 'fix-desc' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'fix-h' }, 'Fix ' + count + ' host' + (count === 1 ? '' : 's') + '?'),
        h('div', { id: 'fix-desc' },
          h('p', null, 'Writes the site database\'s IssuingCertificateList under HKLM\\SOFTWARE\\Microsoft\\SMS\\' +
            'Security on ' + (allAffected ? 'every affected host' : 'the selected hosts') +
            '. Each host is re-read first, backed up, written and read back.'),
          h('p', null, h('strong', null, 'Hosts: '), h('span', { id: 'fix-count' }, String(count)),
            count > 100 ? h('span', { class: 'warn-text' }, ' — a large change: consider a dry run or one site first') : null),
          h('p', null, h('strong', null, 'Sites: '), h('span', { id: 'fix-sites' }, sites.join(', ') || '—')),
          warning ? h('p', { class: 'warn-text', id: 'fix-warning' }, warning) : null),
        h('div', { class: 'check' }, dry, h('label', { for: 'fix-dry-run' },
          'Dry run: read and compare only, write nothing')),
        h('p', { class: 'actions' }, ok, ' ', cancel)));
    let result = null;
    const label = () => { ok.textContent = dry.checked ? 'Queue dry run' : 'Queue fix'; };
    dry.addEventListener('change', label);
    label();
    ok.addEventListener('click', () => { result = { dryRun: dry.checked }; });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    // Keep Tab inside the dialog (showModal makes the page inert; this also keeps focus off the browser UI).
    trapTab(dlg);
    document.body.appendChild(dlg);
    dlg.showModal();
    dry.focus();
  });
}

export async function render(main, params, arg, current) {
  const f = filtersFrom(params);
  const offset = Math.max(0, parseInt(f.offset || '0', 10) || 0);
  const operator = can('operator');
  const apiParams = {
    state: f.state, site: f.site, role: f.role, pxe: f.pxe, affected: f.affected, q: f.q,
    sort: f.sort, order: f.order, limit: PAGE, offset,
  };
  const [res, sum] = await Promise.all([
    api.get('/api/v1/hosts' + query(apiParams)),
    api.get('/api/v1/summary'),
  ]);
  if (!current()) return null;
  const sites = (sum.sites || []).map((s) => s.code);
  const siteExpected = Object.fromEntries((sum.sites || []).map((s) => [s.code, s.expected_value]));
  let live = null;

  main.appendChild(h('div', { class: 'page-head' }, h('h1', null, 'Hosts'), exportLinks()));

  // Filters
  const q = h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q || '', placeholder: 'part of a name' });
  const form = h('form', { class: 'filters', id: 'filters', role: 'search', 'aria-label': 'Filter hosts' },
    select('f-state', 'State', f.state, [['', 'Any state'], ...STATES.map((s) => [s, STATE_LABEL[s]])]),
    select('f-affected', 'Affected', f.affected, [['', 'Any'], ['true', 'Affected only'], ['false', 'Not affected']]),
    select('f-site', 'Site', f.site, [['', 'Any site'], ...sites.map((s) => [s, s])]),
    select('f-role', 'Role', f.role, [['', 'Any role'], ['dp', 'Distribution point'], ['mp', 'Management point']]),
    select('f-pxe', 'PXE', f.pxe, [['', 'Any'], ['true', 'PXE enabled'], ['false', 'No PXE']]),
    h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, 'Search'), q),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary', id: 'f-apply' }, 'Apply'),
      ' ', h('button', { type: 'button', id: 'f-reset', onclick: () => go({}) }, 'Reset')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const nf = { sort: f.sort, order: f.order };
    for (const el of form.querySelectorAll('select, input')) if (el.value) nf[el.name] = el.value.trim();
    go(nf);
  });
  // Selects apply at once; the text box on Enter or Apply.
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', () => form.requestSubmit());
  main.appendChild(form);

  // Selection (operators)
  const selected = new Map();           // fqdn → site
  let allAffected = false;
  const selInfo = h('span', { id: 'selection', role: 'status', 'aria-live': 'polite' });
  const fixBtn = h('button', { type: 'button', class: 'danger', id: 'fix-selected', disabled: true }, 'Fix selected');
  const allBtn = h('button', { type: 'button', id: 'select-affected' },
    'Select all affected' + (f.site ? ' in ' + f.site : ''));
  const clearBtn = h('button', { type: 'button', id: 'select-none' }, 'Clear selection');
  const boxes = [];
  function updateSel() {
    fixBtn.disabled = !allAffected && selected.size === 0;
    selInfo.textContent = allAffected ? 'All affected hosts' + (f.site ? ' in ' + f.site : '') + ' selected'
      : selected.size ? selected.size + ' selected' : 'Nothing selected';
    for (const b of boxes) b.checked = allAffected ? b.dataset.affected === '1' : selected.has(b.value);
  }
  allBtn.addEventListener('click', () => { allAffected = true; selected.clear(); updateSel(); });
  clearBtn.addEventListener('click', () => { allAffected = false; selected.clear(); updateSel(); });
  fixBtn.addEventListener('click', async () => {
    let count, siteList;
    try {
      if (allAffected) {
        // The count from the host list's total, the sites from the summary's per-site counts: neither is capped
        // by a page, however many hosts are affected.
        const [r, s] = await Promise.all([api.get('/api/v1/hosts' + query({ affected: 'true', site: f.site, limit: 1 })),
          api.get('/api/v1/summary')]);
        count = Number(r.total || 0);
        siteList = (s.sites || []).filter((x) => Number(x.affected) > 0 && (!f.site || x.code === f.site))
          .map((x) => x.code).sort();
      } else {
        count = selected.size;
        siteList = [...new Set(selected.values())].sort();
      }
    } catch (e) {
      if (e.status !== 401) flash('Could not count the hosts: ' + e.message, 'error');
      return;
    }
    if (count === 0) {
      flash('No affected host to fix.', 'warn');
      return;
    }
    const c = await confirmFix(count, siteList, allAffected);
    fixBtn.focus();
    if (!c) return;
    const body = allAffected ? { all_affected: true, dry_run: c.dryRun } : { hosts: [...selected.keys()], dry_run: c.dryRun };
    if (allAffected && f.site) body.site = f.site;
    // The dialog showed this exact count and the operator confirmed it: that is what [fix] max_per_run asks for
    // (doc/dpfleet.conf.5, [fix] max_per_run).  If the count changed meanwhile the server answers 409 and the operator confirms again.
    body.confirm_count = count;
    try {
      let r;
      try {
        r = await api.post('/api/v1/fixes', body);
      } catch (e) {
        // More hosts than [fix] max_per_run and not the count confirmed (it changed): confirm the new one.
        if (e.status !== 409 || !e.body || typeof e.body.count !== 'number') throw e;
        const again = await confirmFix(e.body.count, siteList, allAffected,
          'The number of hosts changed to ' + e.body.count + ', more than the ' + e.body.max_per_run +
          ' allowed per request ([fix] max_per_run) without confirmation. Queue them all?', c.dryRun);
        fixBtn.focus();
        if (!again) return;
        r = await api.post('/api/v1/fixes', { ...body, dry_run: again.dryRun, confirm_count: e.body.count });
      }
      const jobs = (r && r.jobs) || [];
      // all_affected leaves out the hosts of sites without a usable value (dpfleet-server(8), POST /api/v1/fixes).
      const left = ((r && r.left_out) || []).map((x) => (x.site || '(no site)') + ' (' + x.why + ', ' + x.hosts + ')');
      flash(jobs.length + ' fix job(s) queued' + (c.dryRun ? ' (dry run)' : '') + '.' +
        (left.length ? ' Left out, no usable site value: ' + left.join(', ') + '.' : ''), left.length ? 'warn' : undefined);
      allAffected = false;
      selected.clear();
      updateSel();
      lastFix = { title: c.dryRun ? 'Dry-run jobs' : 'Fix jobs', jobs, refreshed: false };
      showLive();
    } catch (e) {
      if (e.status !== 401) flash('Fix not queued: ' + e.message, 'error');
    }
  });
  if (operator)
    main.appendChild(h('div', { class: 'toolbar', id: 'fix-toolbar' }, allBtn, ' ', clearBtn, ' ', fixBtn, ' ', selInfo));

  // Table
  function sortHead(key) {
    const active = (f.sort || 'fqdn') === key;
    const desc = active && f.order === 'desc';
    const btn = h('button', { type: 'button', class: 'sort', dataset: { sort: key } }, SORTS[key],
      h('span', { 'aria-hidden': 'true' }, active ? (desc ? ' ▼' : ' ▲') : ''));
    btn.addEventListener('click', () => go({ ...f, sort: key, order: active && !desc ? 'desc' : 'asc', offset: undefined }));
    return h('th', { scope: 'col', 'aria-sort': active ? (desc ? 'descending' : 'ascending') : 'none' }, btn);
  }
  const head = [
    operator ? h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Select')) : null,
    sortHead('fqdn'), sortHead('state'), sortHead('site'), 'Roles', 'PXE', sortHead('pxe_cert_errors'),
    sortHead('last_scanned'), 'Last fix',
  ].filter((x) => x !== null);
  // The count line, the table and the pager, redrawn in place (also after the fix jobs end).
  const listBox = h('div', { id: 'list-box' });
  function drawList(res) {
    const total = Number(res.total || 0);
    const list = res.hosts || [];
    boxes.length = 0;
    const rows = list.map((x) => {
      let cb = null;
      if (operator && !x.cloud) {        // a cloud DP or CMG is never offered for a fix
        cb = h('input', { type: 'checkbox', value: x.fqdn, id: 'sel-' + x.fqdn, 'aria-label': 'Select ' + x.fqdn,
          dataset: { affected: x.affected ? '1' : '0' } });
        cb.addEventListener('change', () => {
          if (allAffected) {               // leaving "all affected": keep what is ticked on this page
            allAffected = false;
            for (const b of boxes) if (b.checked && b !== cb) selected.set(b.value, b.dataset.site);
          }
          if (cb.checked) selected.set(x.fqdn, x.site); else selected.delete(x.fqdn);
          updateSel();
        });
        cb.dataset.site = x.site;
        boxes.push(cb);
      }
      const lf = x.last_fix;
      return h('tr', { dataset: { fqdn: x.fqdn, state: x.state || '' }, class: x.affected ? 'affected' : '' },
        operator ? h('td', { class: 'sel' }, cb || '') : null,
        h('th', { scope: 'row' }, h('a', { href: '#/hosts/' + encodeURIComponent(x.fqdn) }, x.fqdn)),
        x.cloud ? h('td', { class: 'cloud', title: cloudParts(x)[1] }, cloudBadge(x),
          h('span', { class: 'muted cloud-why' }, ' ' + cloudParts(x)[1])) :
        h('td', { title: verdictText(x.state, x.reason, siteExpected[x.site], x.reason_meaning) }, stateBadge(x.state),
          x.state === 'unreachable' && x.reason ? h('span', { class: 'muted' }, ' ' + x.reason) : null),
        h('td', null, x.site),
        h('td', null, (x.roles || []).join(', ').toUpperCase()),
        h('td', null, x.pxe ? 'yes' : 'no'),
        h('td', { class: 'num' + (x.pxe_cert_errors ? ' danger-text' : '') }, String(x.pxe_cert_errors ?? 0)),
        h('td', null, fmtTime(x.last_scanned)),
        h('td', null, lf ? (typeof lf === 'object' ? (lf.outcome || lf.state || '') + ' ' + fmtTime(lf.finished_at || lf.at || lf.requested_at) : String(lf)) : '—'));
    });
    const from = total ? offset + 1 : 0;
    const to = Math.min(offset + list.length, total);
    clear(listBox);
    listBox.appendChild(h('p', { class: 'count-line', id: 'hosts-count' }, `${from}–${to} of ${total} hosts`));
    listBox.appendChild(list.length ? table(null, head, rows, 'hosts') : h('p', { class: 'muted', id: 'no-hosts' },
      'No host matches these filters.'));
    const prev = h('button', { type: 'button', id: 'page-prev', disabled: offset === 0 }, '← Previous');
    const next = h('button', { type: 'button', id: 'page-next', disabled: offset + PAGE >= total }, 'Next →');
    prev.addEventListener('click', () => go({ ...f, offset: Math.max(0, offset - PAGE) || undefined }));
    next.addEventListener('click', () => go({ ...f, offset: offset + PAGE }));
    listBox.appendChild(h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, ' ',
      h('span', null, 'Page ' + (Math.floor(offset / PAGE) + 1) + ' of ' + Math.max(1, Math.ceil(total / PAGE))), ' ', next));
    if (operator) updateSel();
  }
  main.appendChild(listBox);
  drawList(res);
  const liveBox = h('div', { id: 'live-box' });
  main.appendChild(liveBox);
  function showLive() {
    if (live) live.stop();
    live = null;
    clear(liveBox);
    if (!lastFix) return;
    const fix = lastFix;
    live = liveJobs(fix.title, fix.jobs, (ended) => {
      fix.jobs = ended;
      if (fix.refreshed || fix !== lastFix) return;
      fix.refreshed = true;
      // Written hosts are rescanned by the scanner: show the list again a moment later.
      refreshTimer = setTimeout(async () => {
        try {
          const r = await api.get('/api/v1/hosts' + query(apiParams));
          if (current()) drawList(r);
        } catch (e) { /* the next navigation shows it */ }
      }, 1500);
    });
    const dismiss = h('button', { type: 'button', id: 'live-dismiss' }, 'Dismiss');
    dismiss.addEventListener('click', () => { lastFix = null; showLive(); });
    live.el.appendChild(h('p', null, dismiss));
    liveBox.appendChild(live.el);
  }
  let refreshTimer = null;
  showLive();
  return () => { clearTimeout(refreshTimer); if (live) live.stop(); };
}

// Leaving the host list forgets the last fix's live list (app.js calls this for other routes).
export function forget() { lastFix = null; }

export { errorBox };
