// words.js — a host's verdict said the way a ConfigMgr admin says it (issue 6's pinned states and the
// scanner's unreachable reasons), the PXE/CertMgr evidence summary, and job outcomes in plain words.
// Pure functions; used by the host list (title text) and the host detail page.

export const KEY = 'HKLM\\SOFTWARE\\Microsoft\\SMS\\Security';
const VALUE = 'IssuingCertificateList';

const UNREACHABLE = {
  refused: 'Connection to port 445 (SMB) was refused: the Server service is stopped or a firewall rejects SMB',
  timeout: 'No answer on port 445 (SMB) within the timeout: the host is down or a firewall drops SMB',
  deadline: 'The host did not finish within its scan deadline: SMB or the Remote Registry call stalled',
  logon_failure: 'Logon failure: the scan account\'s user name, domain or password was rejected by the host',
  no_route: 'No route to the host: its name does not resolve or the network cannot reach it',
  worker_died: 'The scan worker for this host died mid-scan: the host was not judged',
  werror: 'The Remote Registry call failed with an unexpected Windows error',
  pipe: 'The winreg named pipe could not be opened: Remote Registry is stopped or disabled',
  other: 'SMB or the winreg pipe failed (bind refused, pipe absent, ...): check that Remote Registry runs on the host',
  protocol: 'The host answered with something the scanner could not decode (SMB/RPC protocol error)',
  error: 'The scan of this host failed with an unclassified error: see the scanner\'s log',
  access_denied: 'The host refused the scan account (access denied on the SMB session)',
};

// siteExpected: 'present' | 'absent' | 'ambiguous' | undefined (the host's site, from the summary)
export function verdictText(state, reason, siteExpected) {
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
  case 'unreachable': {
    const base = UNREACHABLE[r] || (r ? `Unreachable (${r})` : 'Unreachable');
    return UNREACHABLE[r] ? `${base} (${r})` : base;
  }
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
