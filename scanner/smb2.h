/*
 * smb2.h — dpfleet's own SMB2/3 client for a scan's reads: one TCP connection and one signed session per host
 * carry the winreg pipe (IPC$) and every log read (ADMIN$, SMS_DP$, C$, SMS_<code>), requests that need
 * nothing from each other sent together, closes never waited for (tests/bench/README.md, "Protocol minimum",
 * is the plan it follows; MS-SMB2 is the specification).  Fixes still go through Samba's libraries (rpc.c).
 *
 * Dialects 2.0.2, 2.1, 3.0, 3.0.2 and 3.1.1 (preauthentication integrity SHA-512); signing is required on
 * every connection (HMAC-SHA256 for 2.x, AES-128-CMAC for 3.x, keys from SP800-108 in counter mode, MS-SMB2
 * 3.1.4.2) and every response after session setup must carry a valid signature.  A server that requires
 * encryption is refused with RPC_FAIL_PROTOCOL and *unsupported set, so the caller may use Samba's stack.
 * Authentication is smbauth.h's (SPNEGO: Kerberos through MIT GSSAPI, or NTLMv2 of our own).
 *
 * Not thread-safe: one connection per worker process at a time.  Every byte from the server is bounds-checked
 * before use; a response larger than the negotiated sizes (capped at SMB2_MSG_MAX) breaks the connection.
 */
#ifndef DPFLEET_SMB2_H
#define DPFLEET_SMB2_H

#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "rpc.h"

#define SMB2_MSG_MAX	(8u * 1024u * 1024u + 65536u)	/* cap on one message from the server (READ of 8 MiB) */
#define SMB2_BATCH_MAX	8				/* files in one smb2_read_tails call */

/* NTSTATUS values (MS-ERREF 2.3.1) the callers look at. */
#define SMB2_ST_OK			0x00000000u
#define SMB2_ST_NO_MORE_FILES		0x80000006u
#define SMB2_ST_BUFFER_OVERFLOW		0x80000005u
#define SMB2_ST_END_OF_FILE		0xC0000011u
#define SMB2_ST_ACCESS_DENIED		0xC0000022u
#define SMB2_ST_OBJECT_NAME_INVALID	0xC0000033u
#define SMB2_ST_OBJECT_NAME_NOT_FOUND	0xC0000034u
#define SMB2_ST_OBJECT_PATH_NOT_FOUND	0xC000003Au
#define SMB2_ST_BAD_NETWORK_NAME	0xC00000CCu
#define SMB2_ST_NO_SUCH_FILE		0xC000000Fu
#define SMB2_ST_NOT_A_DIRECTORY		0xC0000103u
#define SMB2_ST_PIPE_NOT_AVAILABLE	0xC00000ACu

struct smb2_conn;

struct smb2_fid {
	uint8_t	 b[16];		/* FileId: Persistent then Volatile (MS-SMB2 2.2.14.1) */
};

/*
 * TCP to addr:445 (an IPv4 or IPv6 literal; a name is resolved with getaddrinfo), NEGOTIATE, SESSION_SETUP
 * as credential set cr (smbauth.h; fqdn names the host for Kerberos: cifs/<fqdn>, may be NULL, then NTLM
 * only).  timeout_s (>= 1) bounds the TCP connect and then each wait for a response (the clock restarts at
 * every response).  Returns 0 and *out (free with smb2_close); -1 with err, *why (rpc.h words: refused,
 * timeout, no_route in RPC_PHASE_TCP; smb_timeout, logon_failure, access_denied, kerberos, protocol in
 * RPC_PHASE_SMB) and *phase set, *out NULL.  *unsupported (may be NULL) is set to 1 when the server wants
 * what this client does not do (encryption: SMB2_SESSION_FLAG_ENCRYPT_DATA, or STATUS_ACCESS_DENIED on
 * SESSION_SETUP, which is how a server that rejects unencrypted access answers a client that offered no
 * encryption; no common dialect, no common authentication), else 0.
 */
int	 smb2_connect(struct smb2_conn **out, const char *addr, const char *fqdn, const struct cred *cr,
	    int timeout_s, char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase, int *unsupported);

/*
 * The calls below return 0 when the server answered (its NTSTATUS in *status, which may be an error such as
 * SMB2_ST_BAD_NETWORK_NAME or SMB2_ST_ACCESS_DENIED: outputs are only meaningful when it is SMB2_ST_OK) and -1
 * with err when the connection failed (timeout, reset, bad signature, malformed response); after -1 the
 * connection is dead: every later call fails at once, and smb2_stalled says whether it was a stall or reset
 * (1) or a protocol violation (0).  Paths are UTF-8 relative to the share, '/' or '\\' as separators.
 */

/* TREE_CONNECT \\<server>\share; *tid for later calls. */
int	 smb2_tree_connect(struct smb2_conn *c, const char *share, uint32_t *tid, uint32_t *status,
	    char *err, size_t errlen);

/* One file of a smb2_read_tails batch: path in, the rest out. */
struct smb2_file {
	const char	*path;
	uint32_t	 status;	/* CREATE's NTSTATUS, or the READ's when the CREATE succeeded and it failed */
	uint64_t	 size;		/* EndofFile from the CREATE response */
	uint8_t		*data;		/* malloc'd, NUL-terminated: the last min(tail, size) bytes; NULL unless
					   status is SMB2_ST_OK (then non-NULL even for an empty file) */
	size_t		 len;
};

/*
 * The tails of n (1..SMB2_BATCH_MAX) files on tree tid: every CREATE (read access, sharing read|write|delete:
 * ConfigMgr holds its logs open) sent together, then the READs of every opened file sent together (each
 * file's tail from offset max(0, size - tail), in pieces of the negotiated MaxReadSize), then CLOSEs held to
 * leave with the next requests (never waited for; dropped with the connection when none follow).  tail: 1..8 MiB.  0 when the server answered every request (per file status; the caller
 * frees each data with free(), also on -1, where data not read is NULL); -1 as above.
 */
int	 smb2_read_tails(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, size_t tail,
	    char *err, size_t errlen);

/*
 * A directory listing that rides a smb2_read_tails_dir batch: dir, pattern, max, cb and arg as smb2_list takes
 * them (in); status and listed (out).
 */
struct smb2_dirlist {
	const char	*dir;
	const char	*pattern;
	size_t		 max;
	int		(*cb)(const char *name, void *arg);
	void		*arg;
	uint32_t	 status;	/* the directory CREATE's NTSTATUS, or a QUERY_DIRECTORY's failure */
	int		 listed;	/* 1 when the names were passed to cb */
};

/*
 * smb2_read_tails, and the listing of dl (NULL: none) in the same flights: the directory's CREATE goes with
 * the files' CREATEs and, when a file of the batch opened, its first two QUERY_DIRECTORYs go with the READs,
 * so a listing whose names fit one answer costs no round trip of its own.  No file opened: not listed
 * (dl->listed 0).  Same returns as smb2_read_tails.
 */
int	 smb2_read_tails_dir(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, size_t tail,
	    struct smb2_dirlist *dl, char *err, size_t errlen);

/*
 * The names in directory dir of tree tid that match pattern (the server's wildcard match: '*' and '?'), each
 * passed to cb (return 0 to go on, 1 to stop), at most max names.  CREATE of the directory, two
 * QUERY_DIRECTORYs (FileNamesInformation) together, more until SMB2_ST_NO_MORE_FILES, CLOSE held as above.  *status: the CREATE's (a missing
 * directory: SMB2_ST_OBJECT_NAME_NOT_FOUND or SMB2_ST_OBJECT_PATH_NOT_FOUND) or SMB2_ST_OK.
 */
int	 smb2_list(struct smb2_conn *c, uint32_t tid, const char *dir, const char *pattern, size_t max,
	    int (*cb)(const char *name, void *arg), void *arg, uint32_t *status, char *err, size_t errlen);

/* CREATE of named pipe `name` ("winreg") on tree tid (IPC$), read/write. */
int	 smb2_pipe_open(struct smb2_conn *c, uint32_t tid, const char *name, struct smb2_fid *fid,
	    uint32_t *status, char *err, size_t errlen);

/*
 * One IOCTL FSCTL_PIPE_TRANSCEIVE (MS-SMB2 2.2.31, 3.3.5.15.3): write in (inlen <= 65536), read the answer
 * (at most maxout bytes) in the same request.  The answer goes to *out (malloc'd, caller frees; *outlen).
 * *status SMB2_ST_BUFFER_OVERFLOW means more of the answer waits: read it with smb2_pipe_read.
 */
int	 smb2_pipe_transceive(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, const uint8_t *in,
	    size_t inlen, size_t maxout, uint8_t **out, size_t *outlen, uint32_t *status, char *err, size_t errlen);

/* One READ of at most max bytes from the pipe (the rest of a transceive's answer); same ownership. */
int	 smb2_pipe_read(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, size_t max, uint8_t **out,
	    size_t *outlen, uint32_t *status, char *err, size_t errlen);

/* After a -1: 1 when the connection stalled or was reset, 0 for a protocol violation or local failure. */
int	 smb2_stalled(const struct smb2_conn *c);

/* The dialect in use (0x0202, 0x0210, 0x0300, 0x0302, 0x0311) and the mechanism ("kerberos", "ntlm"). */
uint16_t	 smb2_dialect(const struct smb2_conn *c);
const char	*smb2_mech(const struct smb2_conn *c);

/*
 * Drop the connection: the socket is shut down and closed, nothing is sent or waited for (the server closes
 * the session's trees and files with the connection); wipes the keys.  NULL is a no-op.
 */
void	 smb2_close(struct smb2_conn *c);

#endif
