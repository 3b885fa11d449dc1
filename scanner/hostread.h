/*
 * hostread.h — everything a scan reads from one host, on one connection of dpfleet's own SMB2 client (smb2.h):
 * the IssuingCertificateList value over winreg (rpcpipe.h, rrp.h), the SMSPXE logs from the first placement
 * that has them (smblog.h's order and rules, smblog_find_pxe), their newest history copy, and the site
 * server's CertMgr logs.  Each share is tree-connected once per connection; the CREATEs of a placement's two
 * files go out together, then their READs (tests/bench/README.md, "Protocol minimum").  Called by the
 * scanner's worker (worker.c) for scan requests; fixes keep Samba's stack (rpc.c).
 */
#ifndef DPFLEET_HOSTREAD_H
#define DPFLEET_HOSTREAD_H

#include <stddef.h>

#include "cred.h"
#include "rpc.h"
#include "rrp.h"
#include "smblog.h"

struct hostread;

/*
 * Connect and authenticate (smb2_connect; same arguments and failure words).  0 and *out (free with
 * hostread_close); -1 with err, *why, *phase and *unsupported (the server needs what the client does not do:
 * the caller may read the host with Samba's stack instead).
 */
int	 hostread_open(struct hostread **out, const char *addr, const char *fqdn, const struct cred *cr,
	    int timeout_s, char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase, int *unsupported);

/*
 * The value HKLM\SOFTWARE\Microsoft\SMS\Security\IssuingCertificateList (rrp_read_value, no CloseKey: the
 * connection is dropped after).  0 when the server answered (*r filled; release with rrp_read_free, also on
 * -1); -1 with err and *why (rpc_unavailable when the pipe is missing, rpc_timeout, protocol, ...).  After a
 * failure in which the connection broke, the log reads below fail too.
 */
int	 hostread_registry(struct hostread *h, struct rrp_read *r, char *err, size_t errlen, enum rpc_fail *why);

/* smblog_fetch_pxe / smblog_fetch_pxe_history / smblog_fetch_certmgr over this connection: same contracts. */
int	 hostread_pxe(struct hostread *h, const char *site_code, int is_mp, size_t tail, struct smblog_pxe *out,
	    enum smblog_status *st, char *err, size_t errlen);
int	 hostread_pxe_history(struct hostread *h, size_t tail, struct smblog_pxe *out, enum smblog_status *st,
	    char *err, size_t errlen);
int	 hostread_certmgr(struct hostread *h, const char *site_code, size_t tail, struct smblog_certmgr *out,
	    enum smblog_status *st, char *err, size_t errlen);

/* Drop the connection (nothing sent or waited for) and free.  NULL is a no-op. */
void	 hostread_close(struct hostread *h);

#endif
