/*
 * smblog_int.h — what smblog.c (URLs, tail reads, listings, purge, close) shares with smblog_auth.c (the
 * context: smblog_open, and how a credential set authenticates it).  Nothing outside scanner/smblog*.c
 * includes it; it needs libsmbclient.h and smblog.h first.
 */
#ifndef DPFLEET_SMBLOG_INT_H
#define DPFLEET_SMBLOG_INT_H

#include <limits.h>

#include "cred.h"

#define CRED_MAX	256
#define SMBLOG_PARKED_MAX 8	/* files a host's reads leave open until smblog_purge (more: closed at once) */

struct smblog {
	SMBCCTX	*ctx;
	int	 timeout_ms;	/* per response, as given to smblog_open */
	char	 domain[CRED_MAX];
	char	 user[CRED_MAX];	/* as handed to libsmbclient: user, user@REALM or a keytab's principal */
	char	 password[PASSWORD_MAX];	/* "" for a keytab set */
	char	 ccache[PATH_MAX];	/* a keytab set's ticket cache (cred.h), else "" */
	enum cred_auth auth;		/* the set's auth mode (smblog_name_for) */
	char	 peer[SMBLOG_HOST_MAX];	/* the address read from since the last purge, "" if none */
	SMBCFILE *parked[SMBLOG_PARKED_MAX];	/* files read, closed by smblog_purge once the connection is down */
	int	 nparked;
};

/*
 * libsmbclient's check of a cached connection before its reuse (smbc_setFunctionCheckServer), set by
 * smblog_open; smblog.c says why it sends nothing.  Always 0 (alive).
 */
int	 smblog_check_server(SMBCCTX *c, SMBCSRV *srv);

#endif
