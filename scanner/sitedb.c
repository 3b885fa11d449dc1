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
 * The fleet's queries and their row decoding are in sitedb_fleet.c; the two files share struct sitedb through
 * sitedb_int.h, which nothing else includes.
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
#include <unistd.h>

#include "hostmap.h"
#include "krb.h"
#include "log.h"
#include "sitedb.h"
#include "sitedb_int.h"
#include "util.h"
#include "words.h"

#define SITEDB_SERVER_NAME	"dpfleet-sitedb"

static _Thread_local struct sitedb *opening;	/* see the top comment: dbopen() only */

static struct sitedb *
ctx_of(DBPROCESS *dbproc)
{
	struct sitedb *db = NULL;

	if (dbproc != NULL)
		db = (struct sitedb *)dbgetuserdata(dbproc);
	return db != NULL ? db : opening;
}

void
sitedb_reset_errors(struct sitedb *db)
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
int
sitedb_classify(struct sitedb *db, const char *what, enum sitedb_error *cls, char *err, size_t errlen)
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

	sitedb_reset_errors(db);
	db->in_login = 1;
	opening = db;
	db->dbproc = dbopen(login, SITEDB_SERVER_NAME);
	opening = NULL;
	dbloginfree(login);			/* FreeTDS wipes the password it holds */
	login = NULL;
	if (db->dbproc == NULL) {
		sitedb_classify(db, "login", cls, err, errlen);
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
