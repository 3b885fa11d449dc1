/*
 * rpc.h — one authenticated winreg pipe (DCE/RPC over SMB2/3 named pipe \winreg) to one host, on Samba's
 * public dcerpc library.  Carries raw request stubs (encoded by rrp.c) and returns raw response stubs.
 * Not thread-safe; one connection per worker process at a time is the intended use.
 */
#ifndef DPFLEET_RPC_H
#define DPFLEET_RPC_H

#include <stddef.h>
#include <stdint.h>

#define RPC_REPLY_MAX	(1024u * 1024u + 4096u)	/* cap on one response stub (same as RRP_REPLY_MAX) */

/* Why a connection failed; the scanner maps these to the `unreachable` verdict's reason. */
enum rpc_fail {
	RPC_FAIL_NONE = 0,
	RPC_FAIL_REFUSED,	/* nothing listens on 445 (TCP RST) */
	RPC_FAIL_TIMEOUT,	/* no answer in time */
	RPC_FAIL_LOGON,		/* bad user/password, account disabled/locked/expired */
	RPC_FAIL_NO_ROUTE,	/* host or network unreachable */
	RPC_FAIL_OTHER,		/* anything else (protocol, bind refused, pipe absent, ...) */
};
/* "refused", "timeout", "logon_failure", "no_route", "other" ("" for RPC_FAIL_NONE). */
const char	*rpc_fail_str(enum rpc_fail why);

struct rpc_conn;

/*
 * Connect to `addr` (an IPv4 literal — what host_map gives; names and IPv6 are untested) on port 445,
 * authenticate with NTLMSSP as domain\user (Kerberos is disabled: hosts are reached by address), open
 * \pipe\winreg and bind winreg v1.0 (DCE/RPC auth level none; the SMB session is signed).
 * `fqdn` (may be NULL) is the host's identity, sent as the binding's target hostname; `addr` is where to
 * connect.  The password is copied into Samba's credentials object (which zeroes it when freed); the
 * caller's buffer is never modified nor logged.  Protocols are pinned to SMB2_02..SMB3_11; the machine's
 * smb.conf is never read.  timeout_s (>= 1) bounds the whole connect phase (TCP, SMB negotiate, session
 * setup, tree connect, bind: past it the sockets opened by this attempt are shut down and *why is
 * RPC_FAIL_TIMEOUT), then each RPC request.  One attempt at a time per process.  The parent's host deadline
 * remains the last resort.  Returns 0 and *out (free with rpc_close); -1 with err and *why set, *out NULL.
 */
int		 rpc_connect(struct rpc_conn **out, const char *addr, const char *fqdn, const char *domain,
		    const char *user, const char *password, int timeout_s, char *err, size_t errlen,
		    enum rpc_fail *why);

/*
 * Send one request stub for opnum; on success *out is a malloc'd copy of the response stub (caller frees
 * with free()), at most RPC_REPLY_MAX bytes, and 0 is returned.  -1 with err on transport failure, DCE/RPC
 * fault or oversized reply; the connection should then be closed.
 */
int		 rpc_call(struct rpc_conn *c, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out,
		    size_t *outlen, char *err, size_t errlen);

/* rpc_call with a void * context, for struct rrp_io: { rpc_rrp_call, conn }. */
int		 rpc_rrp_call(void *conn, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out,
		    size_t *outlen, char *err, size_t errlen);

/* Close the pipe and the SMB session and free everything.  NULL is a no-op. */
void		 rpc_close(struct rpc_conn *c);

#endif
