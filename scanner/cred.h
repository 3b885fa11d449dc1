/*
 * cred.h — one credential set as a worker uses it (dpfleet.conf(5): [smb] and [credentials NAME]).
 *
 * The parent picks a set per host (credset.c) and names it in each request by its index; the worker builds
 * this struct for the request from the set's configuration and the secret it read at start-up.  The password
 * lives only in the worker's memory (worker.c zeroes it on exit); a keytab set carries the ticket cache the
 * parent keeps fresh (krb.c) instead.  Plain data, no functions.
 */
#ifndef DPFLEET_CRED_H
#define DPFLEET_CRED_H

#include <limits.h>

#include "config.h"

#define PASSWORD_MAX	1024	/* a password file's first line, NUL included (config_read_secret) */

/* cred.h — one credential set as a worker uses it (dpfleet.conf(5): [smb] and [credentials NAME]). */
enum cred_auth { CRED_AUTH_NEGOTIATE, CRED_AUTH_KERBEROS, CRED_AUTH_NTLM };
struct cred {
	char		 name[CONFIG_STR];	/* "smb" for [smb] itself, else NAME of [credentials NAME] */
	enum cred_auth	 auth;			/* [smb] auth, shared by every set */
	char		 domain[CONFIG_STR];
	char		 user[CONFIG_STR];
	char		 principal[CONFIG_STR];	/* keytab sets: the principal in the keytab */
	char		 password[PASSWORD_MAX];	/* "" for a keytab set */
	char		 ccache[PATH_MAX];	/* "FILE:..." the parent keeps fresh (krb.c) for keytab sets, else "" */
};

#endif
