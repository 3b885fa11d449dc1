/*
 * reason.c — the table behind reason.h.  Pure data and two lookups; no state.  Who uses it: the scanner
 * (scanner/worker.c classifies a failure into one of these words, scanner/scan.c retries the transient
 * ones), the server (server/api_fleet.c and the CSV/JSON exports add the meaning and the next step) and the
 * dashboard (it receives the table from the API and never keeps a copy of its own).  A new word is added
 * here and in doc/dpfleet-scanner.8, nowhere else.
 *
 * Transient means the same attempt may well succeed a second later: Windows' Remote Registry service is
 * trigger-started and stops when idle, so the first \pipe\winreg open after it stopped fails and starts it
 * (see doc/FIELD-NOTES.md, "Remote Registry"); a connection reset or a stall after the TCP connect is also
 * commonly a busy peer.  A refused or unanswered TCP connect, a logon failure or a missing route is not
 * retried: another try would cost the host's deadline again and tell nothing new.
 */
#include "reason.h"

#include <string.h>

static const struct reason table[] = {
	{ "refused", 0,
	  "Connection to port 445 (SMB) was refused: nothing listens there.",
	  "Check that the host is up and that the Server service runs; check firewalls between the scanner and "
	  "the host for TCP 445." },
	{ "timeout", 0,
	  "No TCP answer on port 445 (SMB) within the timeout: the host is down or a firewall drops SMB.",
	  "Check that the host is up and reachable from the scanner on TCP 445." },
	{ "smb_timeout", 1,
	  "TCP 445 answered but the SMB negotiate, session setup or tree connect stalled.",
	  "The host's Server service is overloaded or hung: check the host's load and its System event log; "
	  "the scanner retried it." },
	{ "rpc_unavailable", 1,
	  "SMB answered but the winreg pipe could not be opened: the Remote Registry service is stopped or "
	  "disabled.",
	  "On the host run `sc config RemoteRegistry start= auto` and `sc start RemoteRegistry` (or set the "
	  "service to Automatic by Group Policy); check that no hardening policy disables it." },
	{ "rpc_timeout", 1,
	  "The winreg pipe opened but the RPC bind or a registry call stalled.",
	  "The Remote Registry service is hung or the host is overloaded: restart Remote Registry on the host "
	  "(`sc stop RemoteRegistry` then `sc start RemoteRegistry`)." },
	{ "logon_failure", 0,
	  "The host rejected the scan account: wrong user name, domain or password, or the account is "
	  "disabled, locked or expired.",
	  "Check [smb] domain, user and password_file in the scanner's configuration and the account in the "
	  "domain." },
	{ "kerberos", 0,
	  "Kerberos authentication failed: the scanner's ticket is missing or expired, the keytab lacks the "
	  "principal, the KDC refused or could not be reached, or it has no service principal cifs/<fqdn> for "
	  "the host (the detail names the principal).",
	  "Check the keytab and principal (dpfleet-scanner -n), that the KDC is reachable and the clocks agree, "
	  "and that the host's computer account carries the SPN cifs/<fqdn>. Seen with auth = kerberos or a "
	  "keytab set: with auth = negotiate a password set falls back to NTLM." },
	{ "access_denied", 0,
	  "The host refused the scan account on the SMB session or the winreg pipe.",
	  "Make the scan account a member of the host's local Administrators group." },
	{ "no_route", 0,
	  "The host's name does not resolve or the network cannot reach it.",
	  "Check DNS (or [smb] host_map) and routing from the scanner to the host." },
	{ "no_credentials", 0,
	  "No credential set of the scanner's configuration matches the host (by site code or FQDN suffix) and "
	  "[smb] has no user of its own: the scanner did not contact it.",
	  "Add the host's site code or DNS suffix to a [credentials NAME] section, or give [smb] a user and "
	  "password_file as the fallback; `dpfleet-scanner -n` prints which set each host would use." },
	{ "deadline", 0,
	  "The host did not finish within its scan deadline: the scanner stopped waiting.",
	  "Check the host's load and the network path; raise [scan] host_deadline if the link is slow." },
	{ "worker_died", 0,
	  "The scanner's worker process died while reading this host: the host was not judged.",
	  "See the scanner's log for the worker's exit; the next scan tries again." },
	{ "werror", 0,
	  "A Remote Registry call failed with an unexpected Windows error.",
	  "See the host's detail for the error code and the scanner's log." },
	{ "protocol", 0,
	  "The host answered with something the scanner could not decode (SMB or RPC protocol error).",
	  "See the scanner's log; report it with the host's Windows version." },
	{ "error", 0,
	  "The scan of this host failed with an unclassified error.",
	  "See the scanner's log for the detail." },
};

_Static_assert(sizeof(table) / sizeof(table[0]) == REASON_NWORDS, "REASON_NWORDS is the table's length");

const struct reason *
reason_lookup(const char *word)
{
	size_t i;

	if (word == NULL)
		return NULL;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].word, word) == 0)
			return &table[i];
	return NULL;
}

const struct reason *
reason_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
