/*
 * cred.h — one credential set as a worker uses it (dpfleet.conf(5): [smb] and [credentials NAME]).
 * Plain data, filled by the parent before the workers fork (the password by the worker itself, from its
 * password_file); rpc.c and smblog.c authenticate with it.  The worker explicit_bzero()s password.
 */
#ifndef DPFLEET_CRED_H
#define DPFLEET_CRED_H

#include <limits.h>

#include "config.h"

#ifndef PASSWORD_MAX
#define PASSWORD_MAX	1024	/* a password in bytes, NUL included */
#endif

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
