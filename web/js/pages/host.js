// pages/host.js — one host: its verdict in an admin's words (for an unreachable host the reason's meaning and
// next step as the API sends them from lib/reason.h) with the scanner's note on the value, how many attempts it
// took, the value hashes (host vs site DB, compared only when the host's value was read), the PXE log
// evidence formatted like CMTrace (time, component, type coloured) and CertMgr.log evidence, the verdict
// history, and its fix jobs with a rollback button for operators; the credential set each read and each job
// used (cred_set).
// Data: GET /api/v1/hosts/{fqdn}, GET /api/v1/summary (the site's expected value), GET /api/v1/jobs?host=;
// POST /api/v1/rollbacks {job}.

import { api, can, query } from '../api.js';
import { h, clear, fmtTime, stateBadge, cloudBadge, cloudParts, hashEl, jobBadge, table, flash, confirmDialog } from '../dom.js';
import { verdictText, attemptsText, OUTCOME_TEXT, EXPECTED_TEXT } from '../words.js';
import { liveJobs, jobList } from './jobs_live.js';

const TYPE = { 1: 'Info', 2: 'Warning', 3: 'Error' };

function evidenceOf(host) {
  return (host.evidence || []).map((e) => (typeof e === 'string' ? { line: e } : e));
}

// A raw log record → {text, thread}: the CCM form <![LOG[text]LOG]!><time=.. thread="N" ..> and the
// site-server form "text  $$<COMPONENT><date time><thread=N (0xHEX)>" lose their trailers, as CMTrace shows them.
export function parseRecord(line) {
  const raw = String(line || '');
  let m = /^\s*<!\[LOG\[([\s\S]*?)\]LOG\]!>(<[^>]*>)?\s*$/.exec(raw);
  if (m) {
    const th = /\bthread="(\d+)"/.exec(m[2] || '');
    return { text: m[1], thread: th ? th[1] : '' };
  }
  m = /^([\s\S]*?)\s*\$\$<[^>]*><[^>]*><thread=(\d+)[^>]*>\s*$/.exec(raw);
  if (m) return { text: m[1], thread: m[2] };
  return { text: raw, thread: '' };
}

// CMTrace's columns: Log Text, Component, Date/Time, Thread, with warnings yellow and errors red.
function cmtrace(id, caption, lines) {
  if (!lines.length) return h('p', { class: 'muted', id: id + '-none' }, 'No ' + caption + ' lines recorded.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'cmtrace', id },
    h('caption', null, [caption].concat([...new Set(lines.map((e) => e.file).filter(Boolean))].join(', ') || [])
      .join(' — ')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Log text'), h('th', { scope: 'col' }, 'Component'),
      h('th', { scope: 'col' }, 'Date/Time'), h('th', { scope: 'col' }, 'Thread'), h('th', { scope: 'col' }, 'Type'))),
    h('tbody', null, lines.map((e) => {
      const t = Number(e.type) || 0;
      const r = parseRecord(e.line);
      return h('tr', { class: 'log-type-' + t, dataset: { type: String(t) } },
        h('td', { class: 'logtext', title: e.line || '' }, h('pre', null, r.text)),
        h('td', null, e.component || ''),
        h('td', { class: 'nowrap' }, fmtTime(e.at)),
        h('td', { class: 'num' }, r.thread),
        h('td', null, h('span', { class: 'logtype t' + t }, TYPE[t] || '—')));
    }))));
}

function hashCompare(hostHash, siteHash) {
  if (hostHash && siteHash) return hostHash === siteHash ? 'identical' : 'different';
  if (siteHash) return 'different: the host holds no value';
  if (hostHash) return 'no site value to compare with';
  return '—';
}

// Why there is no host value to compare when the API says value_read is not true (doc/dpfleet-server.8).
const NOT_READ = {
  unreachable: 'not read: the host did not answer',
  denied: 'not read: access denied',
  no_key: 'none: the key does not exist',
};

// The value rows: the host's and the site DB's hashes, and their comparison only when the host's value was
// read (unreachable, denied, no_key and unscanned hosts have nothing to compare).
function hashFacts(host, siteHash, siteExpected) {
  const siteRow = [h('dt', null, 'Site DB value (SHA-256)'), h('dd', { id: 'site-hash' }, hashEl(siteHash),
    ' ', h('span', { class: 'muted' }, EXPECTED_TEXT[siteExpected] || ''))];
  if (host.value_read !== true)
    return [h('dt', null, 'Host value'), h('dd', { id: 'host-hash', class: 'muted' },
      host.state ? NOT_READ[host.state] || 'not read' : 'not scanned yet')].concat(siteRow);
  return [h('dt', null, 'Host value (SHA-256)'), h('dd', { id: 'host-hash' }, hashEl(host.value_sha256))]
    .concat(siteRow, [h('dt', null, 'Hashes'), h('dd', { id: 'hash-compare' }, hashCompare(host.value_sha256, siteHash))]);
}

// Text with `backquoted` commands (lib/reason.h's next steps) as <code> spans.
function withCode(text) {
  return String(text).split('`').map((part, i) => (i % 2 ? h('code', null, part) : part));
}

export async function render(main, params, fqdn, current) {
  const [host, sum, jr] = await Promise.all([
    api.get('/api/v1/hosts/' + encodeURIComponent(fqdn)),
    api.get('/api/v1/summary'),
    api.get('/api/v1/jobs' + query({ host: fqdn, limit: 1000 })),
  ]);
  if (!current()) return null;
  const site = (sum.sites || []).find((s) => s.code === host.site) || {};
  const jobs = jobList(jr).filter((j) => String(j.host).toLowerCase() === host.fqdn.toLowerCase())
    .sort((a, b) => b.id - a.id);
  let live = null;

  main.appendChild(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/hosts' }, 'Hosts'), ' / ',
    h('span', { 'aria-current': 'page' }, host.fqdn)));
  main.appendChild(h('h1', { class: 'fqdn' }, host.fqdn));

  const verdict = verdictText(host.state, host.reason, site.expected_value, host.reason_meaning);
  main.appendChild(h('section', { class: 'verdict card st-border-' + (host.state || 'none'), id: 'verdict',
    'aria-labelledby': 'verdict-h' },
  h('h2', { id: 'verdict-h' }, 'Verdict ', host.cloud ? cloudBadge(host) : stateBadge(host.state),
    host.affected ? h('span', { class: 'badge danger' }, 'affected') : null),
  // A cloud DP or CMG is never scanned nor fixed: the one-line reason stands where a verdict would.
  h('p', { class: 'verdict-text', id: 'verdict-text' }, host.cloud ? cloudParts(host)[1] : verdict),
  // What else the scanner saw in the value (observations.note, migration 0004), as a text node like every API string.
  host.note ? h('p', { class: 'verdict-note', id: 'verdict-note' }, h('strong', null, 'Note: '), host.note) : null,
  host.reason_next_step ? h('p', { class: 'next-step', id: 'next-step' }, h('strong', null, 'Next step: '),
    withCode(host.reason_next_step)) : null,
  h('dl', { class: 'facts' },
    h('dt', null, 'Site'), h('dd', null, host.site + (site.name ? ' — ' + site.name : '')),
    h('dt', null, 'Roles'), h('dd', null, (host.roles || []).join(', ').toUpperCase() || '—'),
    h('dt', null, 'PXE'), h('dd', null, host.pxe ? 'enabled' : 'no'),
    h('dt', null, 'Last scanned'), h('dd', null, fmtTime(host.last_scanned)),
    h('dt', null, 'Attempts'), h('dd', { id: 'attempts', dataset: { attempts: String(host.attempts ?? '') } },
      // A host no credential set matches was never contacted (lib/reason.h no_credentials).
      host.reason === 'no_credentials' ? 'Not contacted' : attemptsText(host.state, host.attempts)),
    // The credential set of the last read (dpfleet.conf(5) [credentials NAME]; "smb" is [smb] itself).
    h('dt', null, 'Credentials'), h('dd', { id: 'cred-set' }, host.cred_set || '—'),
    hashFacts(host, host.expected_sha256 || host.site_expected_sha256, site.expected_value))));

  // Oldest first, as a log reads (the sort is stable for equal times).
  const ev = evidenceOf(host).map((e, i) => [e, i]).sort((x, y) =>
    String(x[0].at || '').localeCompare(String(y[0].at || '')) || x[1] - y[1]).map((x) => x[0]);
  const pxe = ev.filter((e) => (e.source || 'smspxe') === 'smspxe');
  const cm = ev.filter((e) => e.source === 'certmgr');
  const pxeSummary = [];
  if (host.pxe_cert_errors) pxeSummary.push(host.pxe_cert_errors + ' "Failed to create certificate store" (0x80092002) records' +
    (host.pxe_last_error ? ', last at ' + fmtTime(host.pxe_last_error) : '') + ': PXE cannot reach the MP (KB 4469580)');
  if (host.pxe_expired_cert) pxeSummary.push('PXEClientKey certificate expired (800B0101, KB 4511618)');
  main.appendChild(h('section', { 'aria-labelledby': 'pxe-h' }, h('h2', { id: 'pxe-h' }, 'SMSPXE.log evidence'),
    pxeSummary.length ? h('ul', { class: 'evidence-summary', id: 'pxe-summary' }, pxeSummary.map((s) => h('li', null, s)))
      : h('p', { class: 'muted' }, 'No certificate errors in the PXE log tail.'),
    cmtrace('pxe-log', 'SMSPXE.log', pxe)));
  main.appendChild(h('section', { 'aria-labelledby': 'cm-h' }, h('h2', { id: 'cm-h' }, 'CertMgr.log evidence'),
    host.certmgr_denied ? h('p', { class: 'warn-text', id: 'certmgr-summary' },
      'The site server\'s CertMgr.log says it cannot copy the Security registry key from this host (0x80070005): ' +
      'the site server\'s computer account is not a local administrator here, or Remote Registry is stopped.')
      : h('p', { class: 'muted' }, 'CertMgr.log does not name this host.'),
    cmtrace('certmgr-log', 'CertMgr.log', cm)));

  const hist = host.history || [];
  main.appendChild(h('section', { 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, 'History'),
    hist.length ? table(null, ['Scan', 'Time', 'State', 'Attempts', 'Credentials'], hist.map((x) => h('tr', null,
      h('td', { class: 'num' }, '#' + x.scan_id), h('td', null, fmtTime(x.at)), h('td', null, stateBadge(x.state),
        x.state === 'unreachable' && x.reason ? h('span', { class: 'muted' }, ' ' + x.reason) : null),
      h('td', { class: 'num' }, x.attempts == null ? '' : String(x.attempts)), h('td', null, x.cred_set || ''))), 'history')
      : h('p', { class: 'muted' }, 'No scan has seen this host yet.')));

  const operator = can('operator');
  const liveBox = h('div', { id: 'live-box' });
  const jobRows = jobs.map((j) => {
    let btn = null;
    if (operator && j.kind === 'fix' && j.outcome === 'written') {
      btn = h('button', { type: 'button', class: 'rollback', dataset: { job: String(j.id) } }, 'Roll back');
      btn.addEventListener('click', async () => {
        const yes = await confirmDialog('rollback-dialog', 'Roll back job #' + j.id + '?',
          'Restores on ' + host.fqdn + ' the IssuingCertificateList value it held before job #' + j.id +
          ' (deletes the value if it was absent). The scanner re-reads the host first.', 'Roll back', true);
        btn.focus();
        if (!yes) return;
        btn.disabled = true;
        try {
          const r = await api.post('/api/v1/rollbacks', { job: j.id });
          const queued = r && r.id ? [{ id: r.id, host: host.fqdn }] : [];
          flash('Rollback of job #' + j.id + ' queued.');
          if (live) live.stop();
          live = liveJobs('Rollback', queued.length ? queued : [], () => {});
          clear(liveBox).appendChild(live.el);
        } catch (e) {
          btn.disabled = false;
          if (e.status !== 401) flash('Rollback not queued: ' + e.message, 'error');
        }
      });
    }
    return h('tr', { dataset: { job: String(j.id) } },
      h('td', { class: 'num' }, '#' + j.id), h('td', null, jobBadge(j)), operator ? h('td', null, btn) : null,
      h('td', null, j.kind + (j.dry_run ? ' (dry run)' : '') + (j.rollback_of ? ' of #' + j.rollback_of : '')),
      h('td', null, j.requested_by || ''), h('td', { class: 'nowrap' }, fmtTime(j.requested_at)),
      h('td', { class: 'nowrap' }, hashEl(j.before_sha256), ' → ', hashEl(j.after_sha256)),
      h('td', { class: 'cred-set' }, j.cred_set || ''),
      h('td', { class: 'text' }, j.error || OUTCOME_TEXT[j.outcome] || ''));
  });
  main.appendChild(h('section', { 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Fix jobs'),
    jobs.length ? table(null, ['Job', 'Outcome', operator ? 'Action' : null, 'Kind', 'By', 'Requested',
      'Before → after', 'Credentials', 'Detail'].filter(Boolean), jobRows, 'jobs') : h('p', { class: 'muted' }, 'No job for this host.'),
    liveBox));
  return () => { if (live) live.stop(); };
}
