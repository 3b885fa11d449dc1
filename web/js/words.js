// words.js — a host's verdict said the way a ConfigMgr admin says it (the pinned states of
// doc/dpfleet-server.8), the PXE/CertMgr evidence summary, and job outcomes in plain words.
// Pure functions; used by the host list (title text) and the host detail page.  The unreachable reason words'
// meanings are not kept here: the API sends them with each host (reason_meaning, reason_next_step, taken
// from lib/reason.h), so the dashboard says what the server, the exports and the scanner say.

export const KEY = 'HKLM\\SOFTWARE\\Microsoft\\SMS\\Security';
const VALUE = 'IssuingCertificateList';

// siteExpected: 'present' | 'absent' | 'ambiguous' | undefined (the host's site, from the summary);
// meaning: the host's reason_meaning from the API (lib/reason.h), null for a word the table lacks.
export function verdictText(state, reason, siteExpected, meaning) {
  const r = reason || '';
  switch (state) {
  case 'healthy':
    return `${VALUE} under ${KEY} matches the value in the site database`;
  case 'missing':
    return `${VALUE} missing under ${KEY}`;
  case 'empty':
    return `${VALUE} under ${KEY} exists but holds no certificate (empty REG_MULTI_SZ)`;
  case 'mismatch':
    return `${VALUE} under ${KEY} differs from the value in the site database`;
  case 'no_key':
    return `The key ${KEY} does not exist: this is not a healthy ConfigMgr site system, dpfleet will not create it`;
  case 'denied':
    return `Reading ${KEY} was denied (0x80070005): the scan account is not a local administrator or Remote Registry refuses it`;
  case 'unreachable':
    if (meaning) return `${meaning} (${r})`;
    return r ? `Unreachable (${r})` : 'Unreachable';
  case 'unknown':
    if (siteExpected === 'ambiguous' || /ambig/.test(r))
      return `The site database holds several different ${VALUE} values (ambiguous): nothing to compare against, dpfleet never fixes from it`;
    if (siteExpected === 'absent' || /absent/.test(r))
      return `The site database has no ${VALUE} for this site: nothing to compare against`;
    return `No expected ${VALUE} for this host's site: nothing to compare against`;
  case null: case undefined: case '':
    return 'Not scanned yet';
  default:
    return `State ${state}${r ? ' (' + r + ')' : ''}`;
  }
}

// The newest observation's attempts (doc/dpfleet-server.8): how many contacts the verdict took.
export function attemptsText(state, attempts) {
  const n = Number(attempts) || 0;
  if (!state || n < 1) return '—';
  if (state === 'unreachable') return n === 1 ? 'No answer on the only attempt' : `No answer in ${n} attempts`;
  return n === 1 ? 'Answered on the first attempt' : `Answered on attempt ${n}`;
}

export const OUTCOME_TEXT = {
  written: 'Value written and read back identical',
  already_correct: 'Already correct: nothing written',
  would_write: 'Dry run: would write the site value',
  refused: 'Refused: the site value is absent or ambiguous, or the key does not exist',
  access_denied: 'Access denied: the scan account cannot write the key (not a local administrator)',
  unreachable: 'Host unreachable: nothing written',
  verify_failed: 'Written but the read-back differs: check the host',
  restored: 'Previous value restored',
};

export const EXPECTED_TEXT = {
  present: 'present',
  absent: 'absent (no value in the site DB)',
  ambiguous: 'ambiguous (several values: never fixed)',
};
