/*
 * sitedb_int.h — what sitedb.c (the connection: private freetds.conf, login, DB-Library's handlers) and
 * sitedb_fleet.c (the fleet's queries and their checked row decoding) share; nothing else includes it.
 */
#ifndef DPFLEET_SITEDB_INT_H
#define DPFLEET_SITEDB_INT_H

#include <sybfront.h>
#include <sybdb.h>

#include <limits.h>

#include "config.h"
#include "sitedb.h"

#define SITEDB_MSG_MAX		512
#define SITEDB_MAX_ROWS		1000000L	/* per query */

/* An environment variable as it was before env_push set it, for env_pop. */
struct env_saved {
	int	 pushed;
	char	*old;		/* NULL: was unset */
};

struct sitedb {
	DBPROCESS	*dbproc;
	char		 dir[PATH_MAX];		/* private dir holding freetds.conf; "" when none */
	char		 conf_path[PATH_MAX];
	struct env_saved freetdsconf;		/* FREETDSCONF before we set it */
	struct env_saved krb5ccname;		/* KRB5CCNAME before we set it (auth = kerberos) */
	char		 where[2 * CONFIG_STR + 16];	/* "host:port" or "host\\instance" for messages */
	char		 instance[CONFIG_STR];	/* [sitedb] instance, "" for none (for messages) */
	char		 user[CONFIG_STR];	/* login, DOMAIN\\name or Kerberos principal, for messages */
	enum config_sqlauth auth;
	char		 spn[CONFIG_STR + 64];	/* auth = kerberos: the service principal, for messages */
	int		 login_timeout, query_timeout;
	int		 enc_require;		/* encryption = require (explains a bare login failure) */
	char		 ca_file[CONFIG_CAFILE_MAX + 1];	/* for messages */
	char		 tls_name[CONFIG_STR];	/* the name the certificate must carry, for messages */

	/* What the handlers saw during the current operation (reset by reset_errors). */
	int		 in_login;
	int		 timeouts;		/* SYBETIME count */
	int		 dberr, oserr;		/* first library error (not SYBETIME) */
	char		 dberrstr[SITEDB_MSG_MAX];
	int		 conn_err, conn_oserr;	/* SYBECONN / unknown host seen, with its errno */
	int		 eof;			/* SYBESEOF / SYBEREAD / SYBEWRIT seen */
	int		 msgno;			/* first server error (severity > 10) */
	char		 msgtext[SITEDB_MSG_MAX];
	int		 login_msgno;		/* 18456 or 18452 seen */

	char		*valbuf;		/* FLEET_VALUE_MAX bytes for Value1 */
};

/* Forget what the handlers recorded: called before each operation on db. */
void	 sitedb_reset_errors(struct sitedb *db);

/*
 * Turn what the handlers recorded into one message (into err) and a class (into *cls when not NULL).
 * what names the step ("login", "reading v_Site").  Always returns -1.
 */
int	 sitedb_classify(struct sitedb *db, const char *what, enum sitedb_error *cls, char *err, size_t errlen);

/* The fleet's queries (sitedb_fleet.c) need the connection's DB-Library handle and error state. */

#endif
