/*
 * sitedb.c — the scanner's read-only client of the ConfigMgr site database, over FreeTDS DB-Library.
 *
 * Called by the inventory mode (scanner/inventory.c) and parent.c (scans, fix jobs): sitedb_global_init() once
 * per process, then sitedb_open(), sitedb_read_fleet(), sitedb_close().  It issues SELECT statements only (the
 * scan account needs db_datareader and nothing else, doc/FIELD-NOTES.md, "Site database and FreeTDS").  The
 * whole fleet is read into a struct store_fleet before the caller writes anything, so a failure half way leaves
 * the state DB alone.
 *
 * Connection (doc/FIELD-NOTES.md, "Site database and FreeTDS"): TDS 7.x from scanner.conf tds_version (7.4
 * default), client charset UTF-8 (else NVARCHAR arrives as iso_1), application name "dpfleet-scanner".
 * Encryption can only be chosen in a freetds.conf, so sitedb_open() writes a private one (a [global] section
 * with `encryption = ...` and a [dpfleet-sitedb] section with host, port (or `instance`: FreeTDS then asks SQL
 * Browser on UDP 1434 for the port, MS-SQLR 2.2), encryption and, for require, `ca file` and
 * `check certificate hostname = yes`) into a fresh mode-0700 directory, points FREETDSCONF at it for the
 * life of the connection and removes both at close.  The password comes from the secrecy-checked
 * password_file, is wiped as soon as dbopen() returns and never reaches a log line.
 *
 * Login ([sitedb] auth, make_login; dpfleet.conf(5) lists the freetds.conf lines of each): sql sends user and
 * password in LOGIN7; ntlm sends user DOMAIN\name, for which FreeTDS puts an NTLM NEGOTIATE in LOGIN7's SSPI
 * field and answers the server's challenge with NTLMv2 (`use ntlmv2 = yes`, `use lanman = no`); kerberos
 * sends an empty user, for which FreeTDS logs in with GSSAPI from the default ticket cache (`enable gssapi
 * delegation = off`: the server never gets a forwardable ticket), so use_ticket points KRB5CCNAME at the
 * cache krb.c keeps for [smb]'s keytab for the life of the connection, as FREETDSCONF is (env_push).
 *
 * TLS (doc/FIELD-NOTES.md, "Site database and FreeTDS"): FreeTDS 1.3 checks the server's certificate only
 * when `ca file` is set, and then checks it against the name in `host` (its src/tds/tls.c); a server that
 * offers no TLS fails a require login.  So require always writes `ca file` ([sitedb] ca_file, default the
 * system trust store) and the host-name check; request and off are opt-outs that sitedb_open() logs with
 * their risk every time it connects: a man in the middle could read the login and forge Value1, which fixes
 * then write to every host.  [sitedb] tls_name needs FreeTDS's `certificate hostname` (1.5 and later): on an
 * older library it is refused rather than silently ignored.
 *
 * Errors: DB-Library's error and message handlers are process-wide (installed once by
 * sitedb_global_init); they write what happened into the struct sitedb of the connection, found with
 * dbgetuserdata().  The one gap is dbopen(): DB-Library creates the DBPROCESS inside dbopen() and offers no
 * way to attach user data before it returns, so during that single call the handlers find the context
 * through `opening`, a thread-local pointer set just before dbopen() and cleared just after.  It is the only
 * file-scope mutable state here and it never outlives one dbopen() call.  SYBETIME during dbopen() returns
 * INT_CANCEL (INT_TIMEOUT there would retry forever); during a query the first SYBETIME returns INT_TIMEOUT
 * (DB-Library sends an attention and the batch fails with the timeout recorded), a second one INT_CANCEL
 * (the server did not even acknowledge the attention: give up the connection).  After the fact, classify()
 * turns the recorded errors into one message line and a class: unreachable, login failed (18456, or
 * 18452 untrusted domain: Windows logins only), timeout, missing table (208), dropped connection, other.
 *
 * Every value from the server is bounds-checked against dbdatlen() and a hard cap before it is copied;
 * identifiers that do not fit are an error, display names are cut at a UTF-8 boundary.
 * Length: over 600 lines because the connection (private freetds.conf, login, timeouts) and the checked
 * column readers are used only by the fleet's queries here; together they are this module's one job, reading
 * the fleet, behind a four-function sitedb.h.
 *
 * Length: over 600 lines because it is the whole client of one peer: the private freetds.conf, the
 * process-wide DB-Library handlers, the queries and their row decoding share the connection state that stays
 * private to this file; split, that state would have to be exported.
 */
#include <sybfront.h>
#include <sybdb.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hostmap.h"
#include "krb.h"
#include "log.h"
#include "sitedb.h"
#include "util.h"
#include "words.h"

#define SITEDB_SERVER_NAME	"dpfleet-sitedb"
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

static _Thread_local struct sitedb *opening;	/* see the top comment: dbopen() only */

static struct sitedb *
ctx_of(DBPROCESS *dbproc)
{
	struct sitedb *db = NULL;

	if (dbproc != NULL)
		db = (struct sitedb *)dbgetuserdata(dbproc);
	return db != NULL ? db : opening;
}

static void
reset_errors(struct sitedb *db)
{
	db->timeouts = 0;
	db->dberr = db->oserr = 0;
	db->dberrstr[0] = '\0';
	db->conn_err = db->conn_oserr = 0;
	db->eof = 0;
	db->msgno = 0;
	db->msgtext[0] = '\0';
	db->login_msgno = 0;
}

static int
err_handler(DBPROCESS *dbproc, int severity, int dberr, int oserr, char *dberrstr, char *oserrstr)
{
	struct sitedb *db = ctx_of(dbproc);

	(void)severity;
	(void)oserrstr;
	if (db == NULL)
		return INT_CANCEL;
	switch (dberr) {
	case SYBETIME:
		db->timeouts++;
		if (db->in_login || db->timeouts > 1)
			return INT_CANCEL;
		return INT_TIMEOUT;
	case SYBECONN:
	case SYBEUHST:
		db->conn_err = dberr;
		if (oserr > 0 && db->conn_oserr == 0)
			db->conn_oserr = oserr;
		break;
	case SYBESEOF:
	case SYBEREAD:
	case SYBEWRIT:
		db->eof = 1;
		break;
	default:
		break;
	}
	if (db->dberr == 0) {
		db->dberr = dberr;
		db->oserr = oserr > 0 ? oserr : 0;
		util_strlcpy(db->dberrstr, dberrstr != NULL ? dberrstr : "", sizeof(db->dberrstr));
	}
	return INT_CANCEL;
}

static int
msg_handler(DBPROCESS *dbproc, DBINT msgno, int msgstate, int severity, char *msgtext, char *srvname,
    char *procname, int line)
{
	struct sitedb *db = ctx_of(dbproc);

	(void)msgstate;
	(void)srvname;
	(void)procname;
	(void)line;
	if (db == NULL || severity <= 10)	/* 5701/5703 and other informational messages */
		return 0;
	if (msgno == 18456 || msgno == 18452)
		db->login_msgno = msgno;
	if (db->msgno == 0) {
		db->msgno = msgno;
		util_strlcpy(db->msgtext, msgtext != NULL ? msgtext : "", sizeof(db->msgtext));
	}
	return 0;
}

int
sitedb_global_init(int login_timeout, int query_timeout, char *err, size_t errlen)
{
	if (login_timeout <= 0 || query_timeout <= 0)
		return util_err(err, errlen, "site DB timeouts must be positive");
	if (dbinit() == FAIL)
		return util_err(err, errlen, "FreeTDS dbinit() failed");
	dberrhandle(err_handler);
	dbmsghandle(msg_handler);
	if (dbsetlogintime(login_timeout) == FAIL || dbsettime(query_timeout) == FAIL) {
		dbexit();
		return util_err(err, errlen, "FreeTDS refused the site DB timeouts");
	}
	return 0;
}

void
sitedb_global_exit(void)
{
	dbexit();
}

static const char *
cls_name(enum sitedb_error e)
{
	switch (e) {
	case SITEDB_ERR_UNREACHABLE:	return "unreachable";
	case SITEDB_ERR_LOGIN:		return "login failed";
	case SITEDB_ERR_TIMEOUT:	return "timeout";
	case SITEDB_ERR_MISSING_TABLE:	return "missing table";
	case SITEDB_ERR_DROPPED:	return "connection dropped";
	case SITEDB_ERR_TLS:		return "certificate or TLS refused";
	default:			return "error";
	}
}

/*
 * Turn what the handlers recorded into one message and a class.  what names the step ("login", "reading
 * v_Site").  Always returns -1.
 */
static int
classify(struct sitedb *db, const char *what, enum sitedb_error *cls, char *err, size_t errlen)
{
	enum sitedb_error c;
	char why[2 * SITEDB_MSG_MAX + 256];

	if (db->login_msgno == 18456) {
		c = SITEDB_ERR_LOGIN;
		snprintf(why, sizeof(why), "login failed for user '%s' (server error 18456)", db->user);
	} else if (db->login_msgno == 18452) {
		/* "Login failed. The login is from an untrusted domain and cannot be used with Windows
		 * authentication." (Microsoft Learn, MSSQLSERVER_18452): the server takes Windows logins only,
		 * or the DOMAIN\user account's domain is not one it trusts. */
		c = SITEDB_ERR_LOGIN;
		snprintf(why, sizeof(why), "login refused for user '%s' (server error 18452, untrusted domain): %s",
		    db->user, db->auth == CONFIG_SQLAUTH_SQL ? "the server accepts only Windows logins (set "
		    "[sitedb] auth = ntlm with user = DOMAIN\\name, or auth = kerberos; or switch the server to "
		    "SQL Server and Windows Authentication mode)" : "the server does not trust this Windows "
		    "account's domain (use an account of the server's domain or of one it trusts)");
	} else if (db->msgno == 208) {
		c = SITEDB_ERR_MISSING_TABLE;
		snprintf(why, sizeof(why), "%s: %s (server error 208)", what, db->msgtext);
	} else if (db->timeouts > 0) {
		c = SITEDB_ERR_TIMEOUT;
		if (db->in_login)
			snprintf(why, sizeof(why), "login timed out after %d s", db->login_timeout);
		else
			snprintf(why, sizeof(why), "%s: query timed out after %d s", what, db->query_timeout);
	} else if (db->in_login && db->conn_err != 0 && !db->eof) {
		c = SITEDB_ERR_UNREACHABLE;
		if (db->instance[0] != '\0' && db->conn_oserr == 0 && db->conn_err != SYBEUHST)
			/* FreeTDS asks SQL Browser (UDP 1434, MS-SQLR 2.2.2 CLNT_UCAST_INST) for the port and
			 * reports a silent or ignorant Browser as a plain connection failure. */
			snprintf(why, sizeof(why), "cannot connect: SQL Browser (UDP 1434) gave no TCP port for "
			    "instance '%s' (Browser stopped or blocked, instance unknown or not on TCP), or that "
			    "port refused: %s", db->instance, db->dberrstr);
		else
			snprintf(why, sizeof(why), "cannot connect: %s",
			    db->conn_oserr > 0 ? strerror(db->conn_oserr) :
			    db->conn_err == SYBEUHST ? "unknown host" : db->dberrstr);
	} else if (db->eof) {
		c = SITEDB_ERR_DROPPED;
		snprintf(why, sizeof(why), "%s: the server closed the connection (reply cut short)", what);
	} else if (db->in_login && db->auth == CONFIG_SQLAUTH_KERBEROS && db->msgno == 0) {
		/* FreeTDS's GSSAPI failures reach DB-Library only as a failed connection (src/tds/gssapi.c). */
		c = SITEDB_ERR_LOGIN;
		snprintf(why, sizeof(why), "no Kerberos login for %s: no service ticket for %s could be got or "
		    "used (SPN not registered to the SQL Server's account, KDC unreachable, clocks apart, or host "
		    "not the name in the SPN)%s: %s", db->user, db->spn, db->enc_require ? ", or the TLS check "
		    "failed" : "", db->dberrstr);
	} else if (db->in_login && db->enc_require && db->msgno == 0) {
		c = SITEDB_ERR_TLS;
		snprintf(why, sizeof(why), "no verified TLS session (encryption = require in [sitedb]): the "
		    "server offers no TLS, or its certificate is not trusted (not signed by a CA in %s%s, or "
		    "expired) or does not name '%s'; nothing was sent or read: %s",
		    strcmp(db->ca_file, "system") == 0 ? "the system trust store" : "ca_file ",
		    strcmp(db->ca_file, "system") == 0 ? "" : db->ca_file, db->tls_name, db->dberrstr);
	} else if (db->msgno != 0) {
		c = SITEDB_ERR_QUERY;
		snprintf(why, sizeof(why), "%s: server error %d: %s", what, db->msgno, db->msgtext);
	} else if (db->dberr != 0) {
		c = SITEDB_ERR_QUERY;
		snprintf(why, sizeof(why), "%s: %s", what, db->dberrstr);
	} else {
		c = SITEDB_ERR_QUERY;
		snprintf(why, sizeof(why), "%s failed", what);
	}
	if (cls != NULL)
		*cls = c;
	return util_err(err, errlen, "site DB %s: %s: %s", db->where, cls_name(c), why);
}

/*
 * Host names we are willing to write into freetds.conf: letters, digits, '.', '-', '_', ':' (IPv6), short
 * enough for its 255-byte lines (lib/config.c, valid_cafile).
 */
static int
host_ok(const char *h)
{
	size_t i;

	if (h[0] == '\0' || strlen(h) > 200)
		return 0;
	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-' || h[i] == '_' || h[i] == ':'))
			return 0;
	return 1;
}

/*
 * A SQL Server instance name as freetds.conf may carry it: 1..16 letters, digits, '_' or '$', not starting
 * with '$' (Microsoft Learn, "Instance configuration": names are at most 16 characters).
 */
static int
instance_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '$' || strlen(s) > 16)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '$'))
			return 0;
	return 1;
}

static int
tds_version(const char *s, BYTE *out)
{
	static const struct { const char *name; BYTE v; } map[] = {
		{ "7.0", DBVERSION_70 }, { "7.1", DBVERSION_71 }, { "7.2", DBVERSION_72 },
		{ "7.3", DBVERSION_73 }, { "7.4", DBVERSION_74 },
	};
	size_t i;

	if (s[0] == '\0') {
		*out = DBVERSION_74;
		return 0;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].name) == 0) {
			*out = map[i].v;
			return 0;
		}
	return -1;
}

static const char *
enc_name(enum config_encryption e)
{
	switch (e) {
	case CONFIG_ENC_OFF:		return "off";
	case CONFIG_ENC_REQUIRE:	return "require";
	case CONFIG_ENC_REQUEST:	break;
	}
	return "request";
}

/*
 * The freetds.conf(5) lines of [sitedb] auth (dpfleet.conf(5) lists them): ntlm pins NTLMv2 and refuses LM
 * (FreeTDS picks NTLM itself for a DOMAIN\\user login); kerberos never delegates the scanner's ticket to
 * the server (FreeTDS uses GSSAPI for an empty user, SPN MSSQLSvc/<host>:<port>); sql adds nothing.
 */
static const char *
auth_text(enum config_sqlauth a)
{
	switch (a) {
	case CONFIG_SQLAUTH_NTLM:	return "\tuse ntlmv2 = yes\n\tuse lanman = no\n";
	case CONFIG_SQLAUTH_KERBEROS:	return "\tenable gssapi delegation = off\n";
	case CONFIG_SQLAUTH_SQL:	break;
	}
	return "";
}

/*
 * The private freetds.conf (freetds.conf(5)): the section dbopen() names, and for require the CA file and
 * the host-name check (FreeTDS verifies nothing without `ca file`), plus `certificate hostname` when
 * tls_name is set (sitedb_open checked the library knows it).  addr: where to connect instead of host, with
 * the SPN written out (kerberos_addr), or "".  Its length, or -1 when it does not fit.
 */
static int
conf_text(const struct config *conf, const char *addr, char *text, size_t size)
{
	const char *enc = enc_name(conf->sitedb.encryption);
	int n, m = 0;

	n = snprintf(text, size,
	    "# written by dpfleet-scanner for one site DB connection; removed when it closes\n"
	    "[global]\n"
	    "\tencryption = %s\n"
	    "[%s]\n"
	    "\thost = %s\n"
	    "\tencryption = %s\n",
	    enc, SITEDB_SERVER_NAME, addr[0] != '\0' ? addr : conf->sitedb.host, enc);
	if (n < 0 || (size_t)n >= size)
		return -1;
	/* Connecting to a mapped address: the SPN still names the server (kerberos_addr). */
	if (addr[0] != '\0') {
		m = snprintf(text + n, size - (size_t)n, "\tspn = MSSQLSvc/%s:%d\n", conf->sitedb.host,
		    conf->sitedb.port);
		if (m < 0 || (size_t)m >= size - (size_t)n)
			return -1;
		n += m;
	}
	/* A named instance: FreeTDS asks SQL Browser for its port (freetds.conf(5), "instance"). */
	if (conf->sitedb.instance[0] != '\0')
		m = snprintf(text + n, size - (size_t)n, "\tinstance = %s\n", conf->sitedb.instance);
	else
		m = snprintf(text + n, size - (size_t)n, "\tport = %d\n", conf->sitedb.port);
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -1;
	n += m;
	m = 0;
	if (conf->sitedb.encryption == CONFIG_ENC_REQUIRE)
		m = snprintf(text + n, size - (size_t)n,
		    "\tca file = %s\n"
		    "\tcheck certificate hostname = yes\n"
		    "%s%s%s",
		    conf->sitedb.ca_file, conf->sitedb.tls_name[0] != '\0' ? "\tcertificate hostname = " : "",
		    conf->sitedb.tls_name, conf->sitedb.tls_name[0] != '\0' ? "\n" : "");
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -1;
	n += m;
	m = snprintf(text + n, size - (size_t)n, "%s", auth_text(conf->sitedb.auth));
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -1;
	return n + m;
}

/* Set name to value, keeping what it was in *sv for env_pop.  0, or -1 with err. */
static int
env_push(struct env_saved *sv, const char *name, const char *value, char *err, size_t errlen)
{
	const char *old = getenv(name);

	if (old != NULL && (sv->old = strdup(old)) == NULL)
		return util_err(err, errlen, "out of memory");
	sv->pushed = 1;
	if (setenv(name, value, 1) == -1)
		return util_err(err, errlen, "setenv %s: %s", name, strerror(errno));
	return 0;
}

/* Put name back as env_push found it (nothing when it was not pushed) and free what *sv holds. */
static void
env_pop(struct env_saved *sv, const char *name)
{
	if (sv->pushed) {
		if (sv->old != NULL)
			setenv(name, sv->old, 1);
		else
			unsetenv(name);
	}
	free(sv->old);
	sv->old = NULL;
	sv->pushed = 0;
}

/*
 * auth = kerberos with [sitedb] host in [smb] host_map: the mapped address into addr (HOSTMAP_ADDR_MAX bytes),
 * where freetds.conf then sends FreeTDS, with `spn = MSSQLSvc/<host>:<port>`: FreeTDS would otherwise ask for
 * a ticket to the address.  addr is "" otherwise (FreeTDS resolves host and builds the same SPN itself).
 * Not with instance (the port is the Browser's).  0, or -1 with err.
 */
static int
kerberos_addr(const struct config *conf, char addr[HOSTMAP_ADDR_MAX], char *err, size_t errlen)
{
	struct hostmap	*hm;
	const char	*a;
	char		 why[1024];

	addr[0] = '\0';
	if (conf->sitedb.auth != CONFIG_SQLAUTH_KERBEROS || conf->smb.host_map[0] == '\0')
		return 0;
	if (hostmap_load(&hm, conf->smb.host_map, why, sizeof(why)) == -1)
		return util_err(err, errlen, "site DB: host_map: %s", why);
	if ((a = hostmap_lookup(hm, conf->sitedb.host)) != NULL)
		util_strlcpy(addr, a, HOSTMAP_ADDR_MAX);
	hostmap_free(hm);
	if (addr[0] != '\0' && conf->sitedb.instance[0] != '\0')
		return util_err(err, errlen, "site DB: host %s is in host_map: with auth = kerberos set its port, "
		    "not instance (the SPN names the port)", conf->sitedb.host);
	return 0;
}

/* Create the private dir and freetds.conf, and point FREETDSCONF at it.  0 or -1 with err. */
static int
write_conf(struct sitedb *db, const struct config *conf, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char text[1024], addr[HOSTMAP_ADDR_MAX];
	int fd, n;
	ssize_t w;

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(db->dir, sizeof(db->dir), "%s/dpfleet-tds.XXXXXX", tmp) >= sizeof(db->dir))
		return util_err(err, errlen, "TMPDIR too long");
	if (mkdtemp(db->dir) == NULL) {			/* mode 0700 */
		util_err(err, errlen, "%s: %s", db->dir, strerror(errno));
		db->dir[0] = '\0';
		return -1;
	}
	if ((size_t)snprintf(db->conf_path, sizeof(db->conf_path), "%s/freetds.conf", db->dir) >=
	    sizeof(db->conf_path))
		return util_err(err, errlen, "TMPDIR too long");
	if (kerberos_addr(conf, addr, err, errlen) == -1)
		return -1;
	if ((n = conf_text(conf, addr, text, sizeof(text))) == -1)
		return util_err(err, errlen, "freetds.conf too long");
	if ((fd = open(db->conf_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return util_err(err, errlen, "%s: %s", db->conf_path, strerror(errno));
	w = write(fd, text, (size_t)n);
	if (close(fd) == -1 || w != n)
		return util_err(err, errlen, "%s: write failed", db->conf_path);
	return env_push(&db->freetdsconf, "FREETDSCONF", db->conf_path, err, errlen);
}

/*
 * auth = kerberos: the ticket cache krb.c keeps for [smb]'s keytab (krb_ccache_name of set "smb"), got now
 * when no one got it yet (krb_ensure: a one-shot --inventory; the daemon keeps it fresh), checked to hold a
 * TGT of [smb] principal that outlives the login, and named in KRB5CCNAME for the life of the connection:
 * FreeTDS's GSSAPI login takes the default cache.  0, or -1 with err naming the principal.
 */
static int
use_ticket(struct sitedb *db, const struct config *conf, char *err, size_t errlen)
{
	char cc[PATH_MAX + 16], why[1024];

	if (krb_ccache_name(conf->store.path, CONFIG_CRED_SMB, cc, sizeof(cc), why, sizeof(why)) == -1)
		return util_err(err, errlen, "site DB: %s", why);
	(void)krb_ensure(conf);			/* failures logged with the KDC's word */
	if (krb_check_ccache(cc, conf->smb.principal, NULL, why, sizeof(why)) == -1)
		return util_err(err, errlen, "site DB %s: login failed: no usable Kerberos ticket: %s", db->where,
		    why);
	return env_push(&db->krb5ccname, "KRB5CCNAME", cc, err, errlen);
}

void
sitedb_close(struct sitedb *db)
{
	if (db == NULL)
		return;
	if (db->dbproc != NULL)
		dbclose(db->dbproc);
	env_pop(&db->freetdsconf, "FREETDSCONF");
	env_pop(&db->krb5ccname, "KRB5CCNAME");
	if (db->conf_path[0] != '\0')
		unlink(db->conf_path);
	if (db->dir[0] != '\0')
		rmdir(db->dir);
	free(db->valbuf);
	free(db);
}

/* 1 if the FreeTDS in use is at least major.minor (dbversion() reads "freetds v1.3.17"). */
static int
freetds_at_least(int major, int minor)
{
	const char *v = dbversion();
	int ma, mi;

	if (v == NULL || (v = strchr(v, 'v')) == NULL || sscanf(v + 1, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * The TLS settings before anything is written or sent: tls_name usable, ca_file readable (for require), and
 * the opt-outs logged with what they risk.  0, or -1 with err.
 */
static int
check_tls(const struct config *conf, char *err, size_t errlen)
{
	int fd;

	if (conf->sitedb.encryption == CONFIG_ENC_OFF)
		log_warnx("[sitedb] encryption = off: the site DB login and every answer cross the network in "
		    "plain text; a man in the middle can read the password and forge the IssuingCertificateList "
		    "that fixes write to every host (set encryption = require and ca_file)");
	else if (conf->sitedb.encryption == CONFIG_ENC_REQUEST)
		log_warnx("[sitedb] encryption = request: no certificate check, and plain text whenever the "
		    "server (or a man in the middle) offers no TLS; he can read the login and forge the "
		    "IssuingCertificateList that fixes write to every host (set encryption = require and ca_file)");
	if (conf->sitedb.encryption != CONFIG_ENC_REQUIRE)
		return 0;
	if (conf->sitedb.tls_name[0] != '\0') {
		if (!host_ok(conf->sitedb.tls_name))
			return util_err(err, errlen, "site DB: bad tls_name '%s'", conf->sitedb.tls_name);
		if (!freetds_at_least(1, 5))
			return util_err(err, errlen, "site DB: tls_name needs FreeTDS 1.5 or later (its "
			    "\"certificate hostname\"); this is %s, which checks the certificate against host: "
			    "set host to the name the certificate carries, or give the certificate an IP address "
			    "subjectAltName for host %s", dbversion(), conf->sitedb.host);
	}
	if (strcmp(conf->sitedb.ca_file, "system") == 0)
		return 0;
	if ((fd = open(conf->sitedb.ca_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return util_err(err, errlen, "site DB ca_file %s: %s", conf->sitedb.ca_file, strerror(errno));
	close(fd);
	return 0;
}

/* What sitedb_open() needs of [sitedb] before it allocates anything; *ver is the TDS version.  0, or -1 with err. */
static int
check_conf(const struct config *conf, BYTE *ver, char *err, size_t errlen)
{
	if (tds_version(conf->sitedb.tds_version, ver) == -1)
		return util_err(err, errlen, "site DB: tds_version %s not supported (7.0 to 7.4)",
		    conf->sitedb.tds_version);
	if (strchr(conf->sitedb.host, '\\') != NULL)
		return util_err(err, errlen, "site DB: host '%s' names an instance: write the server in host "
		    "and the instance in [sitedb] instance", conf->sitedb.host);
	if (!host_ok(conf->sitedb.host))
		return util_err(err, errlen, "site DB: bad host name '%s'", conf->sitedb.host);
	if (conf->sitedb.instance[0] != '\0' && !instance_ok(conf->sitedb.instance))
		return util_err(err, errlen, "site DB: bad instance name '%s' (1 to 16 letters, digits, '_', "
		    "'$')", conf->sitedb.instance);
	if (conf->sitedb.port <= 0 || conf->sitedb.port > 65535)
		return util_err(err, errlen, "site DB: bad port %d", conf->sitedb.port);
	return check_tls(conf, err, errlen);
}

/*
 * The LOGINREC of [sitedb] auth: sql and ntlm carry user (DOMAIN\\name: FreeTDS then answers the server's
 * NTLM challenge with NTLMv2) and the password_file's secret, wiped here once FreeTDS holds its copy;
 * kerberos an empty user and no password (FreeTDS's GSSAPI login with the ticket cache).  NULL with err.
 */
static LOGINREC *
make_login(const struct config *conf, BYTE ver, char *err, size_t errlen)
{
	LOGINREC	*login;
	char		 pw[CONFIG_STR], why[PATH_MAX + 128];

	pw[0] = '\0';
	if (conf->sitedb.auth != CONFIG_SQLAUTH_KERBEROS &&
	    config_read_secret(conf->sitedb.password_file, pw, sizeof(pw), why, sizeof(why)) == -1) {
		util_err(err, errlen, "site DB password_file: %s", why);
		return NULL;
	}
	if ((login = dblogin()) == NULL) {
		explicit_bzero(pw, sizeof(pw));
		util_err(err, errlen, "out of memory");
		return NULL;
	}
	if (conf->sitedb.auth != CONFIG_SQLAUTH_KERBEROS) {
		DBSETLUSER(login, conf->sitedb.user);
		DBSETLPWD(login, pw);
	}
	explicit_bzero(pw, sizeof(pw));
	DBSETLAPP(login, "dpfleet-scanner");
	DBSETLCHARSET(login, "UTF-8");
	DBSETLVERSION(login, ver);
	if (conf->sitedb.database[0] != '\0')
		DBSETLDBNAME(login, conf->sitedb.database);
	return login;
}

/* What messages name: the server (host:port or host\\instance), the account, and for kerberos the SPN. */
static void
describe(struct sitedb *db, const struct config *conf)
{
	const char *host = conf->sitedb.host, *instance = conf->sitedb.instance;
	int port = conf->sitedb.port;

	if (instance[0] != '\0')
		snprintf(db->where, sizeof(db->where), "%s\\%s", host, instance);
	else
		snprintf(db->where, sizeof(db->where), "%s:%d", host, port);
	util_strlcpy(db->instance, instance, sizeof(db->instance));
	db->auth = conf->sitedb.auth;
	if (db->auth != CONFIG_SQLAUTH_KERBEROS) {
		util_strlcpy(db->user, conf->sitedb.user, sizeof(db->user));
		return;
	}
	util_strlcpy(db->user, conf->smb.principal, sizeof(db->user));
	if (instance[0] != '\0')
		snprintf(db->spn, sizeof(db->spn), "MSSQLSvc/%s:<the port SQL Browser gives>", host);
	else
		snprintf(db->spn, sizeof(db->spn), "MSSQLSvc/%s:%d", host, port);
}

int
sitedb_open(struct sitedb **out, const struct config *conf, enum sitedb_error *cls, char *err,
    size_t errlen)
{
	struct sitedb *db;
	LOGINREC *login = NULL;
	BYTE ver;

	*out = NULL;
	if (cls != NULL)
		*cls = SITEDB_ERR_CONFIG;
	if (check_conf(conf, &ver, err, errlen) == -1)
		return -1;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return util_err(err, errlen, "out of memory");
	if ((db->valbuf = malloc(FLEET_VALUE_MAX)) == NULL) {
		free(db);
		return util_err(err, errlen, "out of memory");
	}
	describe(db, conf);
	db->login_timeout = conf->sitedb.login_timeout;
	db->query_timeout = conf->sitedb.query_timeout;
	db->enc_require = conf->sitedb.encryption == CONFIG_ENC_REQUIRE;
	util_strlcpy(db->ca_file, conf->sitedb.ca_file, sizeof(db->ca_file));
	util_strlcpy(db->tls_name, conf->sitedb.tls_name[0] != '\0' ? conf->sitedb.tls_name : conf->sitedb.host,
	    sizeof(db->tls_name));

	if (write_conf(db, conf, err, errlen) == -1)
		goto fail;
	if (db->auth == CONFIG_SQLAUTH_KERBEROS && use_ticket(db, conf, err, errlen) == -1) {
		if (cls != NULL)
			*cls = SITEDB_ERR_LOGIN;
		goto fail;
	}
	if ((login = make_login(conf, ver, err, errlen)) == NULL)
		goto fail;

	reset_errors(db);
	db->in_login = 1;
	opening = db;
	db->dbproc = dbopen(login, SITEDB_SERVER_NAME);
	opening = NULL;
	dbloginfree(login);			/* FreeTDS wipes the password it holds */
	login = NULL;
	if (db->dbproc == NULL) {
		classify(db, "login", cls, err, errlen);
		goto fail;
	}
	db->in_login = 0;
	dbsetuserdata(db->dbproc, (BYTE *)db);
	log_debug("site DB %s: logged in as %s (%s)", db->where, db->user,
	    db->auth == CONFIG_SQLAUTH_SQL ? "SQL login" : db->auth == CONFIG_SQLAUTH_NTLM ? "Windows, NTLMv2" :
	    "Windows, Kerberos");
	*out = db;
	if (cls != NULL)
		*cls = SITEDB_OK;
	return 0;
fail:
	sitedb_close(db);
	return -1;
}

/* Column access: every copy checked against dbdatlen() and a cap. */

static int
is_char_type(int t)
{
	/* dbcoltype() reports NCHAR/NVARCHAR as SYBCHAR/SYBVARCHAR once converted to the client charset. */
	return t == SYBCHAR || t == SYBVARCHAR || t == SYBTEXT || t == SYBNVARCHAR || t == SYBNTEXT;
}

/* Length of the longest prefix of s[0..len) that is at most max bytes and ends on a UTF-8 boundary. */
static size_t
utf8_cut(const unsigned char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && (s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/*
 * Copy text column col into buf (cap bytes incl. NUL); NULL reads as "".  A value that does not fit is an
 * error unless cut is set (then it is cut at a UTF-8 boundary).  0 or -1 with err.
 */
static int
col_text(struct sitedb *db, int col, char *buf, size_t cap, int cut, const char *what, char *err,
    size_t errlen)
{
	BYTE *p;
	DBINT len;
	size_t n;

	buf[0] = '\0';
	p = dbdata(db->dbproc, col);
	len = dbdatlen(db->dbproc, col);
	if (p == NULL || len <= 0)
		return 0;
	if (!is_char_type(dbcoltype(db->dbproc, col)))
		return util_err(err, errlen, "site DB %s: %s: not a text column (type %d)", db->where, what,
		    dbcoltype(db->dbproc, col));
	n = (size_t)len;
	if (n >= cap) {
		if (!cut)
			return util_err(err, errlen, "site DB %s: %s: value longer than %zu bytes", db->where,
			    what, cap - 1);
		n = utf8_cut(p, n, cap - 1);
	}
	if (memchr(p, '\0', n) != NULL)
		return util_err(err, errlen, "site DB %s: %s: value holds a NUL byte", db->where, what);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* Integer or bit column col into *v; NULL reads as dflt.  0 or -1 with err. */
static int
col_int(struct sitedb *db, int col, long long dflt, long long *v, const char *what, char *err,
    size_t errlen)
{
	BYTE *p;
	DBINT len;
	int t;

	*v = dflt;
	p = dbdata(db->dbproc, col);
	len = dbdatlen(db->dbproc, col);
	if (p == NULL || len <= 0)
		return 0;
	t = dbcoltype(db->dbproc, col);
	if (t == SYBBIT || t == SYBBITN || t == SYBINT1) {
		if (len != 1)
			goto bad;
		*v = *(const uint8_t *)p;
	} else if (t == SYBINT2 && len == 2) {
		int16_t x;
		memcpy(&x, p, 2);
		*v = x;
	} else if ((t == SYBINT4 || t == SYBINTN) && len == 4) {
		int32_t x;
		memcpy(&x, p, 4);
		*v = x;
	} else if ((t == SYBINT8 || t == SYBINTN) && len == 8) {
		int64_t x;
		memcpy(&x, p, 8);
		*v = x;
	} else
		goto bad;
	return 0;
bad:
	return util_err(err, errlen, "site DB %s: %s: not an integer column (type %d, %d bytes)", db->where,
	    what, t, (int)len);
}

/* Per-row callback of run_query: 0 to go on, -1 with err to stop (a data error, not a connection one). */
typedef int (*row_fn)(struct sitedb *db, void *arg, char *err, size_t errlen);

/*
 * Run one SELECT (sql) expecting ncols columns, calling fn for every row, then drain any further results.
 * what names the step in messages.  0, or -1 with one line in err and the class in *cls.
 */
static int
run_query(struct sitedb *db, const char *sql, int ncols, const char *what, row_fn fn, void *arg,
    enum sitedb_error *cls, char *err, size_t errlen)
{
	RETCODE rc;
	long rows = 0;
	int64_t t0 = util_mono_ms();

	reset_errors(db);
	if (dbcmd(db->dbproc, sql) == FAIL || dbsqlexec(db->dbproc) == FAIL)
		return classify(db, what, cls, err, errlen);
	if ((rc = dbresults(db->dbproc)) != SUCCEED || db->msgno != 0)
		return classify(db, what, cls, err, errlen);
	if (dbnumcols(db->dbproc) != ncols) {
		if (cls != NULL)
			*cls = SITEDB_ERR_QUERY;
		dbcancel(db->dbproc);
		return util_err(err, errlen, "site DB %s: %s: expected %d columns, got %d", db->where, what,
		    ncols, dbnumcols(db->dbproc));
	}
	while ((rc = dbnextrow(db->dbproc)) != NO_MORE_ROWS) {
		if (rc != REG_ROW)
			return classify(db, what, cls, err, errlen);
		if (++rows > SITEDB_MAX_ROWS) {
			if (cls != NULL)
				*cls = SITEDB_ERR_QUERY;
			dbcancel(db->dbproc);
			return util_err(err, errlen, "site DB %s: %s: more than %ld rows", db->where, what,
			    SITEDB_MAX_ROWS);
		}
		if (fn(db, arg, err, errlen) == -1) {
			if (cls != NULL)
				*cls = SITEDB_ERR_QUERY;
			dbcancel(db->dbproc);
			return -1;
		}
	}
	while ((rc = dbresults(db->dbproc)) == SUCCEED)
		while (dbnextrow(db->dbproc) != NO_MORE_ROWS)
			;
	if (rc == FAIL || db->msgno != 0 || db->eof || db->timeouts > 0)
		return classify(db, what, cls, err, errlen);
	log_debug("site DB %s: %s: %ld rows in %lld ms", db->where, what, rows,
	    (long long)(util_mono_ms() - t0));
	return 0;
}

static const char SQL_SITES[] =
	"SELECT SiteCode, SiteName, Type, ReportingSiteCode, ServerName, InstallDir FROM v_Site";
/* The KB 4469580 join (doc/FIELD-NOTES.md, "The fault"); ComponentName is deliberately not used. */
static const char SQL_VALUES[] =
	"SELECT SD.SiteCode, SCP.Value1 FROM SC_Component SC"
	" JOIN SC_SiteDefinition SD ON SD.SiteNumber = SC.SiteNumber"
	" JOIN SC_Component_Property SCP ON SCP.ComponentID = SC.ID"
	" WHERE SCP.Name = N'IssuingCertificateList'";
/*
 * v_DistributionPointInfo: the columns Microsoft Learn documents ("v_DistributionPointInfo": ServerName,
 * SiteCode, IsPXE, IsActive, IsPullDP, ...), then the optional ones (dp_optional below).  A view without one
 * of them answers error 207 naming it; read_dps drops that column and asks again.
 */
#define SQL_DPS_DOC	"SELECT ServerName, SiteCode, IsPXE, IsActive, IsPullDP"
#define SQL_DPS_FROM	" FROM v_DistributionPointInfo"
#define SQL_DPS_MAX	256
#define DP_NDOC		5			/* columns of SQL_DPS_DOC */
/*
 * The optional columns, in query order after the documented ones.  SccmPXE: site DBs carry it but the
 * published view does not list it; without it, SccmPXE reads as IsPXE and IsActive (PXE enabled on a DP that
 * is active).  Region and ServiceType: Microsoft Learn, "SMS_DistributionPointInfo server WMI class", gives
 * them as "the Azure region in which the cloud-based distribution point resides" and "for cloud-based
 * distribution points only"; the view is not published column by column, so either may be missing.
 */
enum { DP_SCCMPXE, DP_REGION, DP_SERVICETYPE, DP_NOPT };
static const char *const dp_optional[DP_NOPT] = { "SccmPXE", "Region", "ServiceType" };
static const char SQL_MPS[] =
	"SELECT ServerName, SiteCode FROM v_SystemResourceList WHERE RoleName = N'SMS Management Point'";

static const char *
site_type(long long t)
{
	switch (t) {
	case 4:	return "cas";
	case 2:	return "primary";
	case 1:	return "secondary";
	}
	return "unknown";
}

/* A site code: 1..15 letters or digits. */
static int
code_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i > 0;
}

/* A host name usable for SMB: letters, digits, '.', '-', '_', not starting with '.' or '-'. */
static int
fqdn_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static int
row_site(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct store_fleet *f = arg;
	struct fleet_site s;
	long long type;

	memset(&s, 0, sizeof(s));
	if (col_text(db, 1, s.code, sizeof(s.code), 0, "v_Site.SiteCode", err, errlen) == -1 ||
	    col_text(db, 2, s.name, sizeof(s.name), 1, "v_Site.SiteName", err, errlen) == -1 ||
	    col_int(db, 3, 0, &type, "v_Site.Type", err, errlen) == -1 ||
	    col_text(db, 4, s.parent, sizeof(s.parent), 0, "v_Site.ReportingSiteCode", err, errlen) == -1 ||
	    col_text(db, 5, s.server, sizeof(s.server), 0, "v_Site.ServerName", err, errlen) == -1 ||
	    col_text(db, 6, s.install_dir, sizeof(s.install_dir), 0, "v_Site.InstallDir", err, errlen) == -1)
		return -1;
	if (!code_ok(s.code))
		return util_err(err, errlen, "site DB %s: v_Site: bad site code '%s'", db->where, s.code);
	if (s.parent[0] != '\0' && !code_ok(s.parent))
		return util_err(err, errlen, "site DB %s: v_Site: site %s: bad parent code '%s'", db->where,
		    s.code, s.parent);
	s.type = site_type(type);
	if (store_fleet_add_site(f, &s, err, errlen) == NULL)
		return -1;
	return 0;
}

static int
row_value(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct store_fleet *f = arg;
	struct fleet_site *s;
	char code[FLEET_CODE_MAX];

	if (col_text(db, 1, code, sizeof(code), 0, "SC_SiteDefinition.SiteCode", err, errlen) == -1 ||
	    col_text(db, 2, db->valbuf, FLEET_VALUE_MAX, 0, "SC_Component_Property.Value1", err,
	    errlen) == -1)
		return -1;
	if ((s = store_fleet_site(f, code)) == NULL) {
		log_warnx("site DB %s: IssuingCertificateList for site '%s' that v_Site does not list: ignored",
		    db->where, code);
		return 0;
	}
	return store_fleet_site_value(s, db->valbuf, err, errlen);
}

/* Find or add the host named in column 1 (site in column 2); NULL + err, or NULL with *skip set. */
static struct fleet_host *
row_host(struct sitedb *db, struct store_fleet *f, const char *table, int *skip, char *err, size_t errlen)
{
	struct fleet_host h, *hp;
	char what[64];

	*skip = 0;
	memset(&h, 0, sizeof(h));
	snprintf(what, sizeof(what), "%s.ServerName", table);
	if (col_text(db, 1, h.fqdn, sizeof(h.fqdn), 0, what, err, errlen) == -1)
		return NULL;
	snprintf(what, sizeof(what), "%s.SiteCode", table);
	if (col_text(db, 2, h.site, sizeof(h.site), 0, what, err, errlen) == -1)
		return NULL;
	if (!fqdn_ok(h.fqdn) || !code_ok(h.site)) {
		log_warnx("site DB %s: %s: skipping row with server '%s', site '%s'", db->where, table,
		    h.fqdn, h.site);
		*skip = 1;
		return NULL;
	}
	if ((hp = store_fleet_host(f, h.fqdn)) != NULL) {
		if (strcmp(hp->site, h.site) != 0)
			log_warnx("site DB %s: %s: %s listed under site %s and %s; keeping %s", db->where,
			    table, h.fqdn, hp->site, h.site, hp->site);
		return hp;
	}
	return store_fleet_add_host(f, &h, err, errlen);
}

/* row_dp's argument: the fleet, and the column number of each optional column in the query (0 = absent). */
struct dp_rows {
	struct store_fleet	*f;
	int			 col[DP_NOPT];
};

/*
 * An optional cloud marker column (Region, ServiceType): text, or an integer (Microsoft Learn's class gives
 * both types for each).  Into buf: the text, or "" for NULL, an empty text or the integer 0 (unset), or the
 * integer in decimal.  0 or -1 with err.
 */
static int
col_marker(struct sitedb *db, int col, char *buf, size_t cap, const char *what, char *err, size_t errlen)
{
	long long v;

	buf[0] = '\0';
	if (col == 0 || dbdata(db->dbproc, col) == NULL || dbdatlen(db->dbproc, col) <= 0)
		return 0;
	if (is_char_type(dbcoltype(db->dbproc, col)))
		return col_text(db, col, buf, cap, 1, what, err, errlen);
	if (col_int(db, col, 0, &v, what, err, errlen) == -1)
		return -1;
	if (v != 0)
		snprintf(buf, cap, "%lld", v);
	return 0;
}

/* 1 when name (ASCII, any case) ends with suffix preceded by a label. */
static int
ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcasecmp(name + n - m, suffix) == 0;
}

/*
 * The cloud kind (a words_cloud word) of a host named fqdn whose DP row carries region and service_type (""
 * when unset or not in the view), or NULL for an on-premises host.  doc/FIELD-NOTES.md, "Cloud distribution
 * points and cloud management gateways": Region and ServiceType are set for cloud DPs only; an Azure cloud
 * service is named <name>.cloudapp.net (<name>.usgovcloudapp.net in US Government), a CMG on a virtual
 * machine scale set <name>.<region>.cloudapp.azure.com (a CMG only: the cloud DP is a classic cloud service).
 * SMS_AzureService documents ServiceType CloudDistributionPoint for a cloud DP; CloudProxyService, the value
 * administrators' scripts select CMGs by, reads as a CMG; any other value as a cloud DP.
 */
static const char *
cloud_kind(const char *fqdn, const char *region, const char *service_type)
{
	int azure_name = ends_with(fqdn, ".cloudapp.net") || ends_with(fqdn, ".usgovcloudapp.net");
	int vmss_name = ends_with(fqdn, ".cloudapp.azure.com");

	if (vmss_name || strcasecmp(service_type, "CloudProxyService") == 0)
		return words_cloud[1];		/* cmg */
	if (azure_name || region[0] != '\0' || service_type[0] != '\0')
		return words_cloud[0];		/* cloud_dp */
	return NULL;
}

static int
row_dp(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct dp_rows *r = arg;
	struct fleet_host *h;
	long long pxe, sccm_pxe, active, pull;
	char region[FLEET_NAME_MAX], stype[FLEET_NAME_MAX];
	const char *cloud;
	int skip;

	if (col_int(db, 3, 0, &pxe, "v_DistributionPointInfo.IsPXE", err, errlen) == -1 ||
	    col_int(db, 4, 1, &active, "v_DistributionPointInfo.IsActive", err, errlen) == -1 ||
	    col_int(db, 5, 0, &pull, "v_DistributionPointInfo.IsPullDP", err, errlen) == -1 ||
	    col_marker(db, r->col[DP_REGION], region, sizeof(region), "v_DistributionPointInfo.Region", err,
	    errlen) == -1 ||
	    col_marker(db, r->col[DP_SERVICETYPE], stype, sizeof(stype), "v_DistributionPointInfo.ServiceType",
	    err, errlen) == -1)
		return -1;
	if (r->col[DP_SCCMPXE] == 0)
		sccm_pxe = pxe != 0 && active != 0;
	else if (col_int(db, r->col[DP_SCCMPXE], 0, &sccm_pxe, "v_DistributionPointInfo.SccmPXE", err,
	    errlen) == -1)
		return -1;
	if ((h = row_host(db, r->f, "v_DistributionPointInfo", &skip, err, errlen)) == NULL)
		return skip ? 0 : -1;
	if ((cloud = cloud_kind(h->fqdn, region, stype)) != NULL && h->cloud != words_cloud[1])
		h->cloud = cloud;	/* listed twice: cmg wins, then cloud_dp */
	if (h->is_dp) {			/* listed twice: merge */
		h->pxe |= pxe != 0;
		h->sccm_pxe |= sccm_pxe != 0;
		h->is_active |= active != 0;
		h->is_pull_dp |= pull != 0;
	} else {
		h->is_dp = 1;
		h->pxe = pxe != 0;
		h->sccm_pxe = sccm_pxe != 0;
		h->is_active = active != 0;
		h->is_pull_dp = pull != 0;
	}
	return 0;
}

/*
 * A management point row of a host in an Azure cloud-service domain is a cloud management gateway (cloud_kind;
 * doc/FIELD-NOTES.md, "Cloud distribution points and cloud management gateways").
 */
static int
row_mp(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct fleet_host *h;
	int skip;

	if ((h = row_host(db, arg, "v_SystemResourceList", &skip, err, errlen)) == NULL)
		return skip ? 0 : -1;
	if (!h->is_dp)
		h->is_active = 1;
	h->is_mp = 1;
	if (h->cloud == NULL && cloud_kind(h->fqdn, "", "") != NULL)
		h->cloud = words_cloud[1];
	return 0;
}

/* The DP query asking for the optional columns r->col marks present (non-zero), numbering them as it goes. */
static void
dp_query(struct dp_rows *r, char *sql, size_t size, int *ncols)
{
	size_t i, len;

	len = (size_t)snprintf(sql, size, "%s", SQL_DPS_DOC);
	*ncols = DP_NDOC;
	for (i = 0; i < DP_NOPT; i++) {
		if (r->col[i] == 0)
			continue;
		r->col[i] = ++*ncols;
		len += (size_t)snprintf(sql + len, size - len, ", %s", dp_optional[i]);
	}
	snprintf(sql + len, size - len, "%s", SQL_DPS_FROM);
}

/* The optional column a 207 (invalid column name) names, or -1 for any other failure. */
static int
dp_missing_column(const struct sitedb *db, const struct dp_rows *r)
{
	char quoted[64];
	size_t i;

	if (db->msgno != 207 || db->eof || db->timeouts > 0)
		return -1;
	for (i = 0; i < DP_NOPT; i++) {
		snprintf(quoted, sizeof(quoted), "'%s'", dp_optional[i]);
		if (r->col[i] != 0 && strstr(db->msgtext, quoted) != NULL)
			return (int)i;
	}
	return -1;
}

/*
 * The DPs, with every optional column the view has: a view without one answers error 207 (invalid column
 * name) before any row, and the query is asked again without it, at most once per optional column.  Any
 * other 207 (a documented column missing) fails and is reported.
 */
static int
read_dps(struct sitedb *db, struct store_fleet *f, enum sitedb_error *cls, char *err, size_t errlen)
{
	struct dp_rows r = { f, { 1, 1, 1 } };
	const char *what = "reading v_DistributionPointInfo";
	char sql[SQL_DPS_MAX];
	int ncols, k, tries;

	for (tries = 0; tries <= DP_NOPT; tries++) {
		dp_query(&r, sql, sizeof(sql), &ncols);
		if (run_query(db, sql, ncols, what, row_dp, &r, cls, err, errlen) == 0)
			return 0;
		if ((k = dp_missing_column(db, &r)) < 0)
			return -1;
		dbcancel(db->dbproc);	/* the failed batch leaves nothing to read; make sure of it */
		if (k == DP_SCCMPXE)
			log_info("site DB %s: v_DistributionPointInfo has no SccmPXE column (it is not in "
			    "Microsoft's published view): SccmPXE taken as IsPXE and IsActive", db->where);
		else
			log_info("site DB %s: v_DistributionPointInfo has no %s column: cloud DPs and CMGs are "
			    "recognised without it (by name and the other column)", db->where, dp_optional[k]);
		r.col[k] = 0;
		if (cls != NULL)
			*cls = SITEDB_ERR_QUERY;
	}
	return -1;
}

int
sitedb_read_fleet(struct sitedb *db, struct store_fleet **out, enum sitedb_error *cls, char *err,
    size_t errlen)
{
	struct store_fleet *f;

	*out = NULL;
	if (cls != NULL)
		*cls = SITEDB_ERR_QUERY;
	if ((f = store_fleet_new()) == NULL)
		return util_err(err, errlen, "out of memory");
	/* Sites first: the other queries attach to them.  DPs before MPs so a DP's site wins. */
	if (run_query(db, SQL_SITES, 6, "reading v_Site", row_site, f, cls, err, errlen) == -1)
		goto fail;
	/* A site DB always lists its own site: an empty v_Site means we are not reading what we think we
	 * are (wrong database, no rights on the view), and storing it would retire the whole fleet. */
	if (f->nsites == 0) {
		util_err(err, errlen, "site DB %s: v_Site returned no site: wrong database or no read "
		    "permission on the views; the stored fleet is left as it was", db->where);
		goto fail;
	}
	if (run_query(db, SQL_VALUES, 2, "reading IssuingCertificateList", row_value, f, cls, err,
	    errlen) == -1 ||
	    read_dps(db, f, cls, err, errlen) == -1 ||
	    run_query(db, SQL_MPS, 2, "reading v_SystemResourceList", row_mp, f, cls, err, errlen) == -1)
		goto fail;
	store_fleet_sort(f);
	if (cls != NULL)
		*cls = SITEDB_OK;
	*out = f;
	return 0;
fail:
	store_fleet_free(f);
	return -1;
}
