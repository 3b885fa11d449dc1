/*
 * test_rpc_classify.c — scanner/rpc.c's classification table: (NTSTATUS, phase) → lib/reason.h word, and
 * whether lib/reason.h then calls it transient (the scanner retries exactly those).  The NTSTATUS values are
 * taken from Samba's own public headers (core/ntstatus_gen.h), so a wrong constant in rpc.c fails here too.
 * Every word rpc_fail_str can give must be in lib/reason.h's table, and every word of that table must be
 * listed in doc/dpfleet-scanner.8's REASONS section (as ".It Cm word", with "Pq transient" exactly for the
 * transient ones).  rpc_cred_realm picks the Kerberos realm of a password set.  No network.
 */
#include "check.h"
#include "reason.h"
#include "rpc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Samba's public headers define static inline stubs with unused parameters. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <core/ntstatus.h>
#pragma GCC diagnostic pop

#define V(st)	((uint32_t)NT_STATUS_V(st))

struct row {
	const char	*name;
	uint32_t	 code;
	enum rpc_phase	 phase;
	const char	*word;
	int		 transient;
};

static void
check_row(const struct row *r)
{
	const char *word = rpc_fail_str(rpc_classify(r->code, r->phase));
	const struct reason *re = reason_lookup(word);

	if (strcmp(word, r->word) != 0 || re == NULL || re->transient != r->transient)
		fprintf(stderr, "%s in the %s phase: got %s (transient %d), want %s (transient %d)\n", r->name,
		    rpc_phase_str(r->phase), word, re ? re->transient : -1, r->word, r->transient);
	CHECK_STR(word, r->word);
	CHECK(re != NULL && re->transient == r->transient);
}

/* doc/dpfleet-scanner.8 (under DPFLEET_SOURCE_ROOT) lists every lib/reason.h word in REASONS. */
static void
check_man_page(void)
{
	const struct reason *t;
	const char *root = getenv("DPFLEET_SOURCE_ROOT");
	char path[4096], line[512], want[128];
	size_t n, i;
	FILE *fp;
	int found;

	snprintf(path, sizeof(path), "%s/doc/dpfleet-scanner.8", root ? root : ".");
	CHECK((fp = fopen(path, "r")) != NULL);
	if (fp == NULL)
		return;
	t = reason_table(&n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), ".It Cm %s%s\n", t[i].word, t[i].transient ? " Pq transient" : "");
		rewind(fp);
		for (found = 0; !found && fgets(line, sizeof(line), fp) != NULL;)
			found = strcmp(line, want) == 0;
		if (!found)
			fprintf(stderr, "%s: no line \"%.*s\"\n", path, (int)strlen(want) - 1, want);
		CHECK(found);
	}
	fclose(fp);
}

/* rpc_cred_realm: the principal's realm, else a DNS domain upper-cased, else none. */
static void
check_realm(void)
{
	struct cred cr;
	char realm[16];

	memset(&cr, 0, sizeof(cr));
	snprintf(cr.domain, sizeof(cr.domain), "lab.test");
	CHECK(rpc_cred_realm(&cr, realm, sizeof(realm)) == 0);
	CHECK_STR(realm, "LAB.TEST");
	snprintf(cr.principal, sizeof(cr.principal), "svc@Other.Realm");
	CHECK(rpc_cred_realm(&cr, realm, sizeof(realm)) == 0);
	CHECK_STR(realm, "OTHER.REALM");
	cr.principal[0] = '\0';
	snprintf(cr.domain, sizeof(cr.domain), "LAB");
	CHECK(rpc_cred_realm(&cr, realm, sizeof(realm)) == -1);
	CHECK_STR(realm, "");
	snprintf(cr.domain, sizeof(cr.domain), "a.very.long.dns.domain");
	CHECK(rpc_cred_realm(&cr, realm, sizeof(realm)) == -1);	/* does not fit */
	CHECK_STR(realm, "");
	/* rpc_cred_auth: a negotiate password set without a realm is NTLM; kerberos stays kerberos */
	snprintf(cr.domain, sizeof(cr.domain), "LAB");
	cr.auth = CRED_AUTH_NEGOTIATE;
	CHECK(rpc_cred_auth(&cr) == CRED_AUTH_NTLM);
	cr.auth = CRED_AUTH_KERBEROS;
	CHECK(rpc_cred_auth(&cr) == CRED_AUTH_KERBEROS);
	snprintf(cr.domain, sizeof(cr.domain), "lab.test");
	cr.auth = CRED_AUTH_NEGOTIATE;
	CHECK(rpc_cred_auth(&cr) == CRED_AUTH_NEGOTIATE);
	snprintf(cr.domain, sizeof(cr.domain), "LAB");
	snprintf(cr.ccache, sizeof(cr.ccache), "FILE:/nonexistent");
	CHECK(rpc_cred_auth(&cr) == CRED_AUTH_NEGOTIATE);	/* a keytab set: its principal's realm */
}

int
main(void)
{
	const struct row rows[] = {
		/* stalls: the phase's word; only a silent TCP connect is final */
		{ "IO_TIMEOUT", V(NT_STATUS_IO_TIMEOUT), RPC_PHASE_TCP, "timeout", 0 },
		{ "IO_TIMEOUT", V(NT_STATUS_IO_TIMEOUT), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "IO_TIMEOUT", V(NT_STATUS_IO_TIMEOUT), RPC_PHASE_PIPE, "rpc_timeout", 1 },
		{ "IO_TIMEOUT", V(NT_STATUS_IO_TIMEOUT), RPC_PHASE_BIND, "rpc_timeout", 1 },
		{ "IO_TIMEOUT", V(NT_STATUS_IO_TIMEOUT), RPC_PHASE_CALL, "rpc_timeout", 1 },
		/* the pipe's server end is missing or starting: Remote Registry stopped or disabled */
		{ "PIPE_NOT_AVAILABLE", V(NT_STATUS_PIPE_NOT_AVAILABLE), RPC_PHASE_PIPE, "rpc_unavailable", 1 },
		{ "OBJECT_NAME_NOT_FOUND", V(NT_STATUS_OBJECT_NAME_NOT_FOUND), RPC_PHASE_PIPE, "rpc_unavailable", 1 },
		{ "PIPE_BUSY", V(NT_STATUS_PIPE_BUSY), RPC_PHASE_PIPE, "rpc_unavailable", 1 },
		{ "INSTANCE_NOT_AVAILABLE", V(NT_STATUS_INSTANCE_NOT_AVAILABLE), RPC_PHASE_PIPE, "rpc_unavailable",
		  1 },
		/* smbd without samba-dcerpcd answers the CREATE with CONNECTION_REFUSED (rpc_smbd_test) */
		{ "CONNECTION_REFUSED", V(NT_STATUS_CONNECTION_REFUSED), RPC_PHASE_PIPE, "rpc_unavailable", 1 },
		{ "CONNECTION_REFUSED", V(NT_STATUS_CONNECTION_REFUSED), RPC_PHASE_TCP, "refused", 0 },
		{ "PORT_CONNECTION_REFUSED", V(NT_STATUS_PORT_CONNECTION_REFUSED), RPC_PHASE_TCP, "refused", 0 },
		/* resets and disconnects after the TCP connect: the phase's word, transient */
		{ "CONNECTION_RESET", V(NT_STATUS_CONNECTION_RESET), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "CONNECTION_DISCONNECTED", V(NT_STATUS_CONNECTION_DISCONNECTED), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "END_OF_FILE", V(NT_STATUS_END_OF_FILE), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "CONNECTION_RESET", V(NT_STATUS_CONNECTION_RESET), RPC_PHASE_PIPE, "rpc_unavailable", 1 },
		{ "CONNECTION_DISCONNECTED", V(NT_STATUS_CONNECTION_DISCONNECTED), RPC_PHASE_BIND, "rpc_timeout", 1 },
		{ "PIPE_DISCONNECTED", V(NT_STATUS_PIPE_DISCONNECTED), RPC_PHASE_CALL, "rpc_timeout", 1 },
		{ "PIPE_BROKEN", V(NT_STATUS_PIPE_BROKEN), RPC_PHASE_BIND, "rpc_timeout", 1 },
		{ "CONNECTION_ABORTED", V(NT_STATUS_CONNECTION_ABORTED), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "INSUFFICIENT_RESOURCES", V(NT_STATUS_INSUFFICIENT_RESOURCES), RPC_PHASE_SMB, "smb_timeout", 1 },
		{ "REQUEST_NOT_ACCEPTED", V(NT_STATUS_REQUEST_NOT_ACCEPTED), RPC_PHASE_SMB, "smb_timeout", 1 },
		/* permanent in any phase */
		{ "LOGON_FAILURE", V(NT_STATUS_LOGON_FAILURE), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "WRONG_PASSWORD", V(NT_STATUS_WRONG_PASSWORD), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "ACCOUNT_LOCKED_OUT", V(NT_STATUS_ACCOUNT_LOCKED_OUT), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "ACCOUNT_DISABLED", V(NT_STATUS_ACCOUNT_DISABLED), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "PASSWORD_EXPIRED", V(NT_STATUS_PASSWORD_EXPIRED), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "NTLM_BLOCKED", V(NT_STATUS_NTLM_BLOCKED), RPC_PHASE_SMB, "logon_failure", 0 },
		{ "ACCESS_DENIED", V(NT_STATUS_ACCESS_DENIED), RPC_PHASE_SMB, "access_denied", 0 },
		{ "ACCESS_DENIED", V(NT_STATUS_ACCESS_DENIED), RPC_PHASE_PIPE, "access_denied", 0 },
		{ "NETWORK_ACCESS_DENIED", V(NT_STATUS_NETWORK_ACCESS_DENIED), RPC_PHASE_SMB, "access_denied", 0 },
		{ "HOST_UNREACHABLE", V(NT_STATUS_HOST_UNREACHABLE), RPC_PHASE_TCP, "no_route", 0 },
		{ "NETWORK_UNREACHABLE", V(NT_STATUS_NETWORK_UNREACHABLE), RPC_PHASE_TCP, "no_route", 0 },
		{ "INVALID_NETWORK_RESPONSE", V(NT_STATUS_INVALID_NETWORK_RESPONSE), RPC_PHASE_SMB, "protocol", 0 },
		{ "NOT_SUPPORTED", V(NT_STATUS_NOT_SUPPORTED), RPC_PHASE_SMB, "protocol", 0 },
		{ "RPC_PROTOCOL_ERROR", V(NT_STATUS_RPC_PROTOCOL_ERROR), RPC_PHASE_BIND, "protocol", 0 },
		{ "RPC_PROCNUM_OUT_OF_RANGE", V(NT_STATUS_RPC_PROCNUM_OUT_OF_RANGE), RPC_PHASE_CALL, "protocol", 0 },
		/* Kerberos failures that are not a bad password (Samba's krb5_to_nt_status) */
		{ "NO_LOGON_SERVERS", V(NT_STATUS_NO_LOGON_SERVERS), RPC_PHASE_SMB, "kerberos", 0 },
		{ "TIME_DIFFERENCE_AT_DC", V(NT_STATUS_TIME_DIFFERENCE_AT_DC), RPC_PHASE_SMB, "kerberos", 0 },
		{ "INVALID_COMPUTER_NAME", V(NT_STATUS_INVALID_COMPUTER_NAME), RPC_PHASE_SMB, "kerberos", 0 },
		{ "INVALID_ACCOUNT_NAME", V(NT_STATUS_INVALID_ACCOUNT_NAME), RPC_PHASE_SMB, "kerberos", 0 },
		{ "DOMAIN_CONTROLLER_NOT_FOUND", V(NT_STATUS_DOMAIN_CONTROLLER_NOT_FOUND), RPC_PHASE_SMB, "kerberos",
		  0 },
		{ "NO_SUCH_DOMAIN", V(NT_STATUS_NO_SUCH_DOMAIN), RPC_PHASE_SMB, "kerberos", 0 },
		/* unknown: "error"; in the tcp phase rpc_connect probes TCP instead (Samba's NO_MEMORY = refused) */
		{ "NO_MEMORY", V(NT_STATUS_NO_MEMORY), RPC_PHASE_TCP, "error", 0 },
		{ "UNSUCCESSFUL", V(NT_STATUS_UNSUCCESSFUL), RPC_PHASE_SMB, "error", 0 },
		{ "CONNECTION_RESET", V(NT_STATUS_CONNECTION_RESET), RPC_PHASE_TCP, "error", 0 },
	};
	enum rpc_fail f;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	/* every word rpc.c can give is in the one table; NONE is the empty word */
	CHECK_STR(rpc_fail_str(RPC_FAIL_NONE), "");
	for (f = RPC_FAIL_REFUSED; f <= RPC_FAIL_OTHER; f++)
		CHECK(reason_lookup(rpc_fail_str(f)) != NULL);
	CHECK_STR(rpc_fail_str((enum rpc_fail)99), "error");
	CHECK_STR(rpc_phase_str(RPC_PHASE_BIND), "bind");
	check_man_page();
	check_realm();
	return check_done("rpc_classify");
}
