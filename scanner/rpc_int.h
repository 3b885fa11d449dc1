/*
 * rpc_int.h — what rpc.c shares with rpc_setup.c (options, credentials and binding of a winreg connection).
 * Nothing outside scanner/rpc*.c includes it; it needs talloc.h first.
 */
#ifndef DPFLEET_RPC_INT_H
#define DPFLEET_RPC_INT_H

#include <stddef.h>

#include "cred.h"

struct loadparm_context;
struct cli_credentials;
struct dcerpc_binding;

/*
 * The client options (smb.conf(5) names, at the command-line level of lp) and Samba's credentials object for cr
 * (after the options: cli_credentials_set_conf reads them).  0, or -1 with err; creds may then hold part of cr
 * (it is freed with the connection's memory).
 */
int		 rpc_conn_setup(struct loadparm_context *lp, struct cli_credentials *creds, const struct cred *cr,
		    char *err, size_t errlen);

/*
 * The ncacn_np binding to addr's \\pipe\\winreg naming fqdn (may be NULL) as the target hostname, allocated on
 * mem.  NULL with err.
 */
struct dcerpc_binding	*rpc_conn_binding(TALLOC_CTX *mem, const char *addr, const char *fqdn, char *err,
			    size_t errlen);

/*
 * Who authenticates, for error lines: the keytab's principal, else user@REALM when Kerberos may be used with a
 * realm, else DOMAIN\user.  Never the password.  Writes at most size bytes into who.
 */
void		 rpc_cred_who(const struct cred *cr, char *who, size_t size);

#endif
