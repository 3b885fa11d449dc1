/*
 * rpc.h — one authenticated winreg pipe (DCE/RPC over SMB2/3 named pipe \winreg) to one host, on Samba's
 * public dcerpc library.  Carries raw request stubs (encoded by rrp.c) and returns raw response stubs.
 * Not thread-safe; one connection per worker process at a time is the intended use.
 */
#ifndef DPFLEET_RPC_H
#define DPFLEET_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "cred.h"

#define RPC_REPLY_MAX	(1024u * 1024u + 4096u)	/* cap on one response stub (same as RRP_REPLY_MAX) */

/*
 * Why a connection or a call failed: each value is one word of lib/reason.h (rpc_fail_str gives it), so the
 * scanner stores what rpc.c saw without a mapping of its own.
 */
enum rpc_fail {
	RPC_FAIL_NONE = 0,
	RPC_FAIL_REFUSED,		/* "refused": TCP 445 answered with RST */
	RPC_FAIL_TIMEOUT,		/* "timeout": no TCP answer on 445 in time */
	RPC_FAIL_SMB_TIMEOUT,		/* "smb_timeout": TCP up, SMB negotiate/session setup/tree connect stalled
					   or the connection broke there */
	RPC_FAIL_RPC_UNAVAILABLE,	/* "rpc_unavailable": CREATE of \winreg failed (no pipe server, busy, ...) */
	RPC_FAIL_RPC_TIMEOUT,		/* "rpc_timeout": pipe open, bind or a registry call stalled or broke */
	RPC_FAIL_LOGON,			/* "logon_failure": bad user/password, account disabled/locked/expired */
	RPC_FAIL_ACCESS_DENIED,		/* "access_denied": session, IPC$ or the pipe refused the account */
	RPC_FAIL_NO_ROUTE,		/* "no_route": host or network unreachable */
	RPC_FAIL_PROTOCOL,		/* "protocol": an answer we cannot use (negotiate, bind, RPC fault) */
	RPC_FAIL_KERBEROS,		/* "kerberos": no usable ticket, KDC refused or unreachable, no SPN */
	RPC_FAIL_OTHER,			/* "error": anything else */
};
/* The lib/reason.h word ("" for RPC_FAIL_NONE, "error" for RPC_FAIL_OTHER and unknown values). */
const char	*rpc_fail_str(enum rpc_fail why);

/*
 * How far a connection got.  rpc_connect tracks it while Samba's connect runs (see rpc.c) and gives each phase
 * its own timeout_s; a failure is judged by the phase it happened in.
 */
enum rpc_phase {
	RPC_PHASE_TCP = 0,	/* TCP connect to port 445 */
	RPC_PHASE_SMB,		/* TCP up: SMB2 negotiate, session setup, tree connect to IPC$ */
	RPC_PHASE_PIPE,		/* IPC$ connected: CREATE of the named pipe \winreg (MS-SMB2 3.2.4.3) */
	RPC_PHASE_BIND,		/* pipe open: DCE/RPC bind to winreg v1.0 */
	RPC_PHASE_CALL,		/* bound: registry calls */
};
/* "tcp", "smb", "pipe", "bind", "call". */
const char	*rpc_phase_str(enum rpc_phase ph);

/*
 * The classification table: an NTSTATUS (its 32-bit value, MS-ERREF 2.3.1) seen in phase.  NT_STATUS_IO_TIMEOUT
 * (also what a fired phase timeout counts as) is the phase's stall word; resets and disconnects are the phase's
 * word too (smb_timeout, rpc_unavailable while the pipe opens, rpc_timeout later); logon and access errors
 * keep their word in any phase.  In RPC_PHASE_TCP an unknown status (Samba reports a refused connect as
 * NT_STATUS_NO_MEMORY) gives RPC_FAIL_OTHER: rpc_connect then asks TCP itself.  Pure; never fails.
 */
enum rpc_fail	 rpc_classify(uint32_t ntstatus, enum rpc_phase phase);

struct rpc_conn;

/*
 * Connect to `addr` (what host_map or the inventory gives: an IPv4 or IPv6 literal, or a name) on port 445 as
 * `fqdn` (the host's identity: the binding's target hostname, so a Kerberos service ticket is asked for
 * cifs/<fqdn>; may be NULL, then addr, and Kerberos is impossible), authenticate with the credential set cr
 * (cred.h: auth negotiate = Kerberos first, NTLMSSP when Samba cannot get a ticket; kerberos = never NTLM;
 * ntlm = NTLMSSP only; a keytab set uses the ticket cache cr->ccache), open \pipe\winreg and bind winreg v1.0
 * (DCE/RPC auth level none; the SMB session must be signed: client signing = required).  The password is
 * copied into Samba's credentials object (which zeroes it when freed); cr is never modified nor logged.
 * Protocols are pinned to SMB2_02..SMB3_11; the machine's smb.conf is never read (krb5.conf is: KRB5_CONFIG
 * names another).  timeout_s (>= 1) bounds each phase of the connect (TCP, SMB, pipe open, bind: the clock
 * restarts when a phase is reached; past it the sockets opened by this attempt are shut down and the phase's
 * stall word is the reason), then each RPC request.  One attempt at a time per process.  The parent's host
 * deadline remains the last resort.  Returns 0 and *out (free with rpc_close); -1 with err, *why and *phase
 * (where it failed; phase may be NULL) set, *out NULL.
 */
int		 rpc_connect(struct rpc_conn **out, const char *addr, const char *fqdn, const struct cred *cr,
		    int timeout_s, char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase);

/*
 * The Kerberos realm a password set authenticates in: the part after '@' of cr->principal, else cr->domain
 * upper-cased when it holds a dot (a DNS domain), else "".  0 with realm written, -1 when there is none or
 * it does not fit (realm then "").  Pure.
 */
int		 rpc_cred_realm(const struct cred *cr, char *realm, size_t size);

/*
 * The mode a connection with cr really uses: cr->auth, except that a negotiate password set without a realm
 * (rpc_cred_realm) is ntlm: Samba would ask a KDC of a realm named after a NetBIOS domain, which costs a
 * lookup per connection and cannot succeed.  Pure.
 */
enum cred_auth	 rpc_cred_auth(const struct cred *cr);

/*
 * Send one request stub for opnum; on success *out is a malloc'd copy of the response stub (caller frees
 * with free()), at most RPC_REPLY_MAX bytes, and 0 is returned.  -1 with err on transport failure, DCE/RPC
 * fault or oversized reply (rpc_last_fail then says why); the connection should then be closed.
 */
int		 rpc_call(struct rpc_conn *c, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out,
		    size_t *outlen, char *err, size_t errlen);

/* rpc_call with a void * context, for struct rrp_io: { rpc_rrp_call, conn }. */
int		 rpc_rrp_call(void *conn, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out,
		    size_t *outlen, char *err, size_t errlen);

/* Why the last rpc_call on c failed: RPC_FAIL_RPC_TIMEOUT for a stall or a broken pipe, RPC_FAIL_PROTOCOL for a
 * fault or an oversized reply, RPC_FAIL_NONE when it did not fail. */
enum rpc_fail	 rpc_last_fail(const struct rpc_conn *c);

/*
 * Drop the connection and free everything: the socket is shut down first, so no CLOSE or logoff is sent or
 * waited for (the server releases the pipe and its handles with the connection; rpc.c, rpc_close).  The process
 * must ignore SIGPIPE.  NULL is a no-op.
 */
void		 rpc_close(struct rpc_conn *c);

#endif
