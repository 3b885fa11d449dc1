/*
 * config.c — parse dpfleet.conf(5) files with inih into struct config.
 *
 * Called by both daemons' main() (and by -n).  The parser is table-driven: keys[] names every key, its
 * section, which daemon accepts it, its type and where it lands in struct config.  inih does not report
 * line numbers to handlers, so the file is fed through ini_parse_stream() with a reader that counts lines;
 * the same reader flags lines inih would reject (no '=' outside a section header, longer than inih's line
 * buffer) and section headers naming an unknown section, so every error is reported with its line, not
 * just the first.  The reader, not the handler, judges section headers because Debian's libinih (r55) is
 * built without INI_CALL_HANDLER_ON_NEW_SECTION: the handler never sees a section that holds no key.
 * [credentials NAME] sections and [smb]'s credential rules are config_cred.c's (lib/config_int.h).
 * Required keys are checked after the whole file is read.  The struct is plain data owned by the caller;
 * nothing here allocates.
 */
#include "config.h"
#include "config_int.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

enum key_type { K_STR, K_PATH, K_INT, K_PORT, K_TDSVER, K_ENC, K_LISTEN, K_CAFILE, K_AUTH, K_SQLAUTH, K_CLIENT };

#define SCANNER	1
#define SERVER	2
#define CONFIG_SECTION_MAX	50	/* inih's MAX_SECTION: a longer name reaches the handler cut to 49 */

struct key {
	const char	*section;
	const char	*name;
	int		 kinds;		/* SCANNER | SERVER */
	enum key_type	 type;
	int		 required;
	size_t		 off;
	size_t		 size;		/* for strings */
	long		 min, max;	/* for integers */
};

#define S(f)	offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define I(f)	offsetof(struct config, f), sizeof(int)

static const struct key keys[] = {
	{ "store",  "path",           SCANNER | SERVER, K_PATH,   1, S(store.path), 0, 0 },
	{ "sitedb", "host",           SCANNER, K_STR,    1, S(sitedb.host), 0, 0 },
	{ "sitedb", "port",           SCANNER, K_PORT,   0, I(sitedb.port), 1, 65535 },
	{ "sitedb", "instance",       SCANNER, K_STR,    0, S(sitedb.instance), 0, 0 },
	{ "sitedb", "database",       SCANNER, K_STR,    1, S(sitedb.database), 0, 0 },
	{ "sitedb", "auth",           SCANNER, K_SQLAUTH, 0, I(sitedb.auth), 0, 0 },
	{ "sitedb", "user",           SCANNER, K_STR,    0, S(sitedb.user), 0, 0 },	/* sitedb_auth_check */
	{ "sitedb", "password_file",  SCANNER, K_PATH,   0, S(sitedb.password_file), 0, 0 },
	{ "sitedb", "tds_version",    SCANNER, K_TDSVER, 0, S(sitedb.tds_version), 0, 0 },
	{ "sitedb", "encryption",     SCANNER, K_ENC,    0, I(sitedb.encryption), 0, 0 },
	{ "sitedb", "ca_file",        SCANNER, K_CAFILE, 0, S(sitedb.ca_file), 0, 0 },
	{ "sitedb", "tls_name",       SCANNER, K_STR,    0, S(sitedb.tls_name), 0, 0 },
	{ "sitedb", "login_timeout",  SCANNER, K_INT,    0, I(sitedb.login_timeout), 1, 600 },
	{ "sitedb", "query_timeout",  SCANNER, K_INT,    0, I(sitedb.query_timeout), 1, 3600 },
	{ "smb",    "auth",           SCANNER, K_AUTH,   0, I(smb.auth), 0, 0 },
	{ "smb",    "client",         SCANNER, K_CLIENT, 0, I(smb.client), 0, 0 },
	{ "smb",    "domain",         SCANNER, K_STR,    0, S(smb.domain), 0, 0 },
	/* user and a secret: required unless [credentials] sets exist (config_cred_finish) */
	{ "smb",    "user",           SCANNER, K_STR,    0, S(smb.user), 0, 0 },
	{ "smb",    "password_file",  SCANNER, K_PATH,   0, S(smb.password_file), 0, 0 },
	{ "smb",    "keytab",         SCANNER, K_PATH,   0, S(smb.keytab), 0, 0 },
	{ "smb",    "principal",      SCANNER, K_STR,    0, S(smb.principal), 0, 0 },
	{ "smb",    "timeout",        SCANNER, K_INT,    0, I(smb.timeout), 1, 600 },
	{ "smb",    "concurrency",    SCANNER, K_INT,    0, I(smb.concurrency), 1, 256 },
	{ "smb",    "retries",        SCANNER, K_INT,    0, I(smb.retries), 0, 10 },
	{ "smb",    "retry_backoff",  SCANNER, K_INT,    0, I(smb.retry_backoff), 0, 60 },
	{ "smb",    "host_map",       SCANNER, K_PATH,   0, S(smb.host_map), 0, 0 },
	{ "scan",   "interval",       SCANNER, K_INT,    0, I(scan.interval), 0, 31 * 86400 },
	{ "scan",   "log_tail_bytes", SCANNER, K_INT,    0, offsetof(struct config, scan.log_tail_bytes),
	    sizeof(long), CONFIG_LOG_TAIL_MIN, CONFIG_LOG_TAIL_MAX },
	{ "scan",   "host_deadline",  SCANNER, K_INT,    0, I(scan.host_deadline), 0, 3600 },
	{ "fix",    "concurrency",    SCANNER, K_INT,    0, I(fix.concurrency), 1, 64 },
	{ "fix",    "max_per_run",    SCANNER | SERVER, K_INT, 0, I(fix.max_per_run), 1, 1000000 },
	{ "http",   "listen",         SERVER,  K_LISTEN, 0, S(http.listen), 0, 0 },
	{ "http",   "tls_cert",       SERVER,  K_PATH,   0, S(http.tls_cert), 0, 0 },
	{ "http",   "tls_key",        SERVER,  K_PATH,   0, S(http.tls_key), 0, 0 },
	{ "http",   "web_root",       SERVER,  K_PATH,   0, S(http.web_root), 0, 0 },
	{ "http",   "session_ttl",    SERVER,  K_INT,    0, I(http.session_ttl), 60, 30 * 86400 },
	{ "http",   "max_connections", SERVER, K_INT,    0, I(http.max_connections), 16, 65536 },
	{ "http",   "max_connections_per_ip", SERVER, K_INT, 0, I(http.max_connections_per_ip), 0, 65536 },
	{ "http",   "connection_timeout", SERVER, K_INT, 0, I(http.connection_timeout), 1, 3600 },
	{ "http",   "tls_priorities", SERVER,  K_STR,    0, S(http.tls_priorities), 0, 0 },
	{ "http",   "login_threads",  SERVER,  K_INT,    0, I(http.login_threads), 0, 4 },
	{ "http",   "login_queue",    SERVER,  K_INT,    0, I(http.login_queue), 1, 1024 },
	{ "http",   "login_rate",     SERVER,  K_INT,    0, I(http.login_rate), 0, 100000 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* The index of [section] name in keys[] (it is there: only called with literal names). */
static size_t
key_index(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			break;
	return i < NKEYS ? i : 0;
}

struct parse {
	struct config	*conf;
	const char	*path;
	FILE		*fp;
	int		 line;
	int		 errors;
	char		*errs;
	size_t		 errlen;
	unsigned char	 seen[NKEYS];
	int		 cred;		/* the [credentials NAME] set being read, -1 if refused */
	char		 badsect[CONFIG_SECTION_MAX];	/* last unknown section reported (inih's name) */
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parse *p, int line, const char *fmt, ...)
{
	char msg[512];
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->errs == NULL || p->errlen == 0)
		return;
	used = strlen(p->errs);
	if (line > 0)
		snprintf(p->errs + used, p->errlen - used, "%s:%d: %s\n", p->path, line, msg);
	else
		snprintf(p->errs + used, p->errlen - used, "%s: %s\n", p->path, msg);
}

static int
kind_bit(enum config_kind k)
{
	return k == CONFIG_SCANNER ? SCANNER : SERVER;
}

static int
section_known(struct parse *p, const char *section)
{
	size_t i;

	if (p->conf->kind == CONFIG_SCANNER && config_cred_is_section(section))
		return 1;
	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && (keys[i].kinds & kind_bit(p->conf->kind)))
			return 1;
	return 0;
}

static int
parse_long(const char *v, long *out)
{
	char *end;

	if (*v == '\0' || isspace((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtol(v, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

static int
valid_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	long port;

	if (colon == NULL || colon == v)
		return 0;
	if (parse_long(colon + 1, &port) == -1 || port < 1 || port > 65535)
		return 0;
	return 1;
}

/*
 * [sitedb] ca_file is written into FreeTDS's freetds.conf, whose reader keeps 255 bytes of a line, cuts a
 * value at '#' or ';' and folds spaces (FreeTDS source src/tds/config.c, tds_read_conf_section): "system"
 * (the system trust store) or an absolute path that survives that unchanged.
 */
static int
valid_cafile(const char *v)
{
	size_t i;

	if (strcmp(v, "system") == 0)
		return 1;
	if (v[0] != '/' || strlen(v) > CONFIG_CAFILE_MAX)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == '#' || v[i] == ';' || v[i] == 0x7f)
			return 0;
	return 1;
}

/* The words of each enum key, in the enum's order (config.h). */
static const char *const ENC_WORDS[] = { "off", "request", "require" };
static const char *const AUTH_WORDS[] = { "negotiate", "kerberos", "ntlm" };
static const char *const SQLAUTH_WORDS[] = { "sql", "ntlm", "kerberos" };
static const char *const CLIENT_WORDS[] = { "dpfleet", "samba" };

/* Store the index of value in words[0..n) into the int at field, or report every allowed word. */
static void
set_word(struct parse *p, const struct key *k, char *field, const char *value, const char *const *words,
    size_t n)
{
	char list[128];
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (strcmp(value, words[i]) == 0) {
			*(int *)(void *)field = (int)i;
			return;
		}
	list[0] = '\0';
	for (i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", words[i]);
	perr(p, p->line, "[%s] %s: \"%s\" is not one of %s", k->section, k->name, value, list);
}

static void
set_key(struct parse *p, const struct key *k, const char *value)
{
	char *field = (char *)p->conf + k->off;
	long n;

	switch (k->type) {
	case K_STR:
	case K_PATH:
		if (strlen(value) >= k->size) {
			perr(p, p->line, "[%s] %s: value longer than %zu bytes", k->section, k->name, k->size - 1);
			return;
		}
		if (k->type == K_PATH && *value != '\0' && *value != '/') {
			perr(p, p->line, "[%s] %s: \"%s\" is not an absolute path", k->section, k->name, value);
			return;
		}
		util_strlcpy(field, value, k->size);
		break;
	case K_INT:
	case K_PORT:
		if (parse_long(value, &n) == -1 || n < k->min || n > k->max) {
			perr(p, p->line, "[%s] %s: \"%s\" is not an integer in %ld..%ld", k->section, k->name,
			    value, k->min, k->max);
			return;
		}
		if (k->size == sizeof(long))
			*(long *)(void *)field = n;
		else
			*(int *)(void *)field = (int)n;
		break;
	case K_TDSVER:
		if (strcmp(value, "7.0") && strcmp(value, "7.1") && strcmp(value, "7.2") &&
		    strcmp(value, "7.3") && strcmp(value, "7.4")) {
			perr(p, p->line, "[%s] %s: \"%s\" is not one of 7.0, 7.1, 7.2, 7.3, 7.4", k->section,
			    k->name, value);
			return;
		}
		util_strlcpy(field, value, k->size);
		break;
	case K_ENC:
		set_word(p, k, field, value, ENC_WORDS, sizeof(ENC_WORDS) / sizeof(ENC_WORDS[0]));
		break;
	case K_AUTH:
		set_word(p, k, field, value, AUTH_WORDS, sizeof(AUTH_WORDS) / sizeof(AUTH_WORDS[0]));
		break;
	case K_SQLAUTH:
		set_word(p, k, field, value, SQLAUTH_WORDS, sizeof(SQLAUTH_WORDS) / sizeof(SQLAUTH_WORDS[0]));
		break;
	case K_CLIENT:
		set_word(p, k, field, value, CLIENT_WORDS, sizeof(CLIENT_WORDS) / sizeof(CLIENT_WORDS[0]));
		break;
	case K_CAFILE:
		if (!valid_cafile(value)) {
			perr(p, p->line, "[%s] %s: \"%s\" is not \"system\" or an absolute path of at most %d "
			    "bytes without spaces, '#' or ';'", k->section, k->name, value, CONFIG_CAFILE_MAX);
			return;
		}
		util_strlcpy(field, value, k->size);
		break;
	case K_LISTEN:
		if (strlen(value) >= k->size || !valid_listen(value)) {
			perr(p, p->line, "[%s] %s: \"%s\" is not ADDRESS:PORT", k->section, k->name, value);
			return;
		}
		util_strlcpy(field, value, k->size);
		break;
	}
}

/* config_cred.c's reporter: the same "file:line: reason" lines as perr. */
static void
cred_err(void *arg, int line, const char *msg)
{
	perr(arg, line, "%s", msg);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	size_t i;

	if (name == NULL)		/* section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (section[0] == '\0') {
		perr(p, p->line, "\"%s\" outside any [section]", name);
		return 1;
	}
	if (!section_known(p, section)) {	/* once per section: reader() reported its header */
		if (strcmp(section, p->badsect) != 0) {
			perr(p, p->line, "unknown section [%s]", section);
			util_strlcpy(p->badsect, section, sizeof(p->badsect));
		}
		return 1;
	}
	if (p->conf->kind == CONFIG_SCANNER && config_cred_is_section(section)) {
		struct config_cred_report r = { cred_err, p };

		if (!config_cred_key(p->conf, p->cred, name, value, p->line, &r))
			perr(p, p->line, "unknown key \"%s\" in [%s]", name, section);
		return 1;
	}
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0 ||
		    !(k->kinds & kind_bit(p->conf->kind)))
			continue;
		if (p->seen[i])
			perr(p, p->line, "[%s] %s: set twice", section, name);
		p->seen[i] = 1;
		set_key(p, k, value);
		return 1;
	}
	perr(p, p->line, "unknown key \"%s\" in [%s]", name, section);
	return 1;
}

/*
 * inih reader: one physical line per call.  Counts lines for handler() and reports lines inih would
 * reject: not blank, not a comment, not a [section], and without '=' or ':'.
 */
static char *
reader(char *buf, int size, void *user)
{
	struct parse *p = user;
	const char *s;
	size_t len;

	if (fgets(buf, size, p->fp) == NULL)
		return NULL;
	p->line++;
	len = strlen(buf);
	if (len == (size_t)size - 1 && buf[len - 1] != '\n' && !feof(p->fp)) {
		int c;

		perr(p, p->line, "line longer than %d bytes", size - 2);
		while ((c = fgetc(p->fp)) != EOF && c != '\n')
			;
		buf[0] = '\0';
		return buf;
	}
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	if (*s == '\0' || *s == '#' || *s == ';')
		return buf;
	if (*s == '[') {
		char name[CONFIG_SECTION_MAX];
		const char *end;

		if ((end = strchr(s, ']')) == NULL) {
			perr(p, p->line, "section header without ']'");
			buf[0] = '\0';
			return buf;
		}
		/* inih's name: the bytes between the brackets, cut as inih cuts it */
		snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
		if (p->conf->kind == CONFIG_SCANNER && config_cred_is_section(name)) {
			struct config_cred_report r = { cred_err, p };

			p->cred = config_cred_open(p->conf, name, p->line, &r);
		}
		if (section_known(p, name))
			p->badsect[0] = '\0';
		else {
			perr(p, p->line, "unknown section [%s]", name);
			util_strlcpy(p->badsect, name, sizeof(p->badsect));
		}
		return buf;
	}
	if (strpbrk(s, "=:") == NULL) {
		perr(p, p->line, "expected \"key = value\"");
		buf[0] = '\0';
	}
	return buf;
}

static void
defaults(struct config *c, enum config_kind kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->sitedb.port = 1433;
	util_strlcpy(c->sitedb.tds_version, "7.4", sizeof(c->sitedb.tds_version));
	c->sitedb.encryption = CONFIG_ENC_REQUIRE;
	util_strlcpy(c->sitedb.ca_file, "system", sizeof(c->sitedb.ca_file));
	c->sitedb.login_timeout = 10;
	c->sitedb.query_timeout = 30;
	c->smb.timeout = 10;
	c->smb.concurrency = 128;	/* dpfleet.conf(5): why */
	c->smb.retries = 2;
	c->smb.retry_backoff = 1;
	c->scan.interval = 3600;
	c->scan.log_tail_bytes = 4194304;
	c->fix.concurrency = 4;
	c->fix.max_per_run = 500;
	util_strlcpy(c->http.listen, "127.0.0.1:8080", sizeof(c->http.listen));
	util_strlcpy(c->http.web_root, DPFLEET_DATADIR "/web", sizeof(c->http.web_root));
	c->http.session_ttl = 28800;
	c->http.max_connections = 512;
	c->http.max_connections_per_ip = 64;
	c->http.connection_timeout = 15;
	util_strlcpy(c->http.tls_priorities, CONFIG_TLS_PRIORITIES, sizeof(c->http.tls_priorities));
	c->http.login_threads = 0;
	c->http.login_queue = 16;
	c->http.login_rate = 20;
}

/*
 * [sitedb] auth against user and password_file (dpfleet.conf(5)): sql and ntlm need both, ntlm a user
 * DOMAIN\name, sql one without a backslash (FreeTDS would silently log in with NTLM); kerberos neither of
 * them (an empty user is FreeTDS's GSSAPI login) but [smb] keytab, whose ticket the scanner keeps.
 */
static void
sitedb_auth_check(struct parse *p)
{
	const struct config *c = p->conf;
	const char *user = c->sitedb.user, *bs = strchr(user, '\\');
	int has_user = p->seen[key_index("sitedb", "user")], has_pw = p->seen[key_index("sitedb", "password_file")];

	if (c->sitedb.auth == CONFIG_SQLAUTH_KERBEROS) {
		if (has_user || has_pw)
			perr(p, 0, "[sitedb] auth = kerberos logs in with the scanner's Kerberos ticket: remove user "
			    "and password_file");
		if (c->smb.keytab[0] == '\0')
			perr(p, 0, "[sitedb] auth = kerberos needs [smb] keytab and principal (the ticket cache the "
			    "scanner keeps fresh)");
		return;
	}
	if (!has_user)
		perr(p, 0, "missing required key \"user\" in [sitedb]");
	if (!has_pw)
		perr(p, 0, "missing required key \"password_file\" in [sitedb]");
	if (!has_user)
		return;
	if (c->sitedb.auth == CONFIG_SQLAUTH_NTLM &&
	    (bs == NULL || bs == user || bs[1] == '\0' || strchr(bs + 1, '\\') != NULL))
		perr(p, 0, "[sitedb] auth = ntlm: user \"%s\" is not DOMAIN\\name", user);
	if (c->sitedb.auth == CONFIG_SQLAUTH_SQL && bs != NULL)
		perr(p, 0, "[sitedb] user \"%s\" is a Windows account: set auth = ntlm (with auth = sql FreeTDS "
		    "would log in with NTLM unasked)", user);
}

int
config_load(const char *path, enum config_kind kind, struct config *conf, char *errs, size_t errlen)
{
	struct parse p;
	size_t i;

	defaults(conf, kind);
	util_strlcpy(conf->file, path, sizeof(conf->file));
	if (errs != NULL && errlen > 0)
		errs[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.path = path;
	p.errs = errs;
	p.errlen = errlen;
	p.cred = -1;
	if ((p.fp = fopen(path, "r")) == NULL) {
		perr(&p, 0, "%s", strerror(errno));
		return -1;
	}
	ini_parse_stream(reader, &p, handler, &p);
	fclose(p.fp);

	for (i = 0; i < NKEYS; i++)
		if (keys[i].required && (keys[i].kinds & kind_bit(kind)) && !p.seen[i])
			perr(&p, 0, "missing required key \"%s\" in [%s]", keys[i].name, keys[i].section);
	if (kind == CONFIG_SCANNER) {
		struct config_cred_report r = { cred_err, &p };

		config_cred_finish(conf, &r);
	}
	if (kind == CONFIG_SCANNER)
		sitedb_auth_check(&p);
	if (kind == CONFIG_SCANNER && conf->sitedb.instance[0] != '\0' && p.seen[key_index("sitedb", "port")])
		perr(&p, 0, "[sitedb] port and instance are exclusive: SQL Browser gives a named instance's port");
	if (kind == CONFIG_SERVER && (conf->http.tls_cert[0] == '\0') != (conf->http.tls_key[0] == '\0'))
		perr(&p, 0, "[http] tls_cert and tls_key must be set together");
	return p.errors;
}

/*
 * Open path read-only as a credentials file: a symbolic link as the last component is refused (O_NOFOLLOW),
 * a FIFO does not block (O_NONBLOCK), and the ownership and mode checks are made on the opened file
 * (fstat), so the file checked is the file read.  Returns the fd (the caller closes it), or -1 with the
 * reason in err.
 */
static int
secret_open(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			return util_err(err, errlen, "%s: a symbolic link: name the file itself", path);
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) == -1)
		util_err(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		util_err(err, errlen, "%s: not a regular file", path);
	else if (sb.st_uid != geteuid())
		util_err(err, errlen, "%s: owned by uid %u, not by the running user (uid %u)", path,
		    (unsigned)sb.st_uid, (unsigned)geteuid());
	else if (sb.st_mode & (S_IRWXG | S_IRWXO))
		util_err(err, errlen, "%s: group or others have access (mode %03o): chmod 600 it",
		    path, (unsigned)(sb.st_mode & 0777));
	else
		return fd;
	close(fd);
	return -1;
}

int
config_check_secrecy(const char *path, char *err, size_t errlen)
{
	int fd;

	if ((fd = secret_open(path, err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}

static void
append(char *errs, size_t errlen, const char *line)
{
	size_t used;

	if (errs == NULL || errlen == 0)
		return;
	used = strlen(errs);
	snprintf(errs + used, errlen - used, "%s\n", line);
}

/* 1 if path opens for reading as a regular file; else 0 with "path: reason" in why. */
static int
readable_file(const char *path, char *why, size_t whylen)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

int
config_check_files(const struct config *conf, char *errs, size_t errlen)
{
	const char *files[3 + 2 * CONFIG_CREDSETS_MAX];
	char why[PATH_MAX + 128];
	int n = 0, bad = 0, i;

	if (conf->kind == CONFIG_SCANNER) {
		files[n++] = conf->sitedb.password_file;
		files[n++] = conf->smb.password_file;
		files[n++] = conf->smb.keytab;
		for (i = 0; i < conf->ncreds; i++) {
			files[n++] = conf->creds[i].password_file;
			files[n++] = conf->creds[i].keytab;
		}
	} else if (conf->http.tls_key[0] != '\0')
		files[n++] = conf->http.tls_key;
	for (i = 0; i < n; i++) {
		if (files[i][0] == '\0')
			continue;
		if (config_check_secrecy(files[i], why, sizeof(why)) == -1) {
			append(errs, errlen, why);
			bad++;
		}
	}
	if (conf->kind == CONFIG_SCANNER && conf->smb.host_map[0] != '\0' &&
	    access(conf->smb.host_map, R_OK) == -1) {
		snprintf(why, sizeof(why), "%s: %s", conf->smb.host_map, strerror(errno));
		append(errs, errlen, why);
		bad++;
	}
	if (conf->kind == CONFIG_SCANNER && conf->sitedb.encryption == CONFIG_ENC_REQUIRE &&
	    strcmp(conf->sitedb.ca_file, "system") != 0 && !readable_file(conf->sitedb.ca_file, why, sizeof(why))) {
		append(errs, errlen, why);
		bad++;
	}
	if (conf->kind == CONFIG_SERVER && conf->http.tls_cert[0] != '\0' &&
	    access(conf->http.tls_cert, R_OK) == -1) {
		snprintf(why, sizeof(why), "%s: %s", conf->http.tls_cert, strerror(errno));
		append(errs, errlen, why);
		bad++;
	}
	return bad;
}

int
config_read_secret(const char *path, char *buf, size_t size, char *err, size_t errlen)
{
	char *data;
	size_t off = 0, len;
	ssize_t r;
	int fd, rc = -1;

	assert(size > 0);
	memset(buf, 0, size);
	if ((fd = secret_open(path, err, errlen)) == -1)
		return -1;
	/* The first line and one byte more than fits: enough to tell "too long" from "fits". */
	if ((data = calloc(1, size + 1)) == NULL) {
		util_err(err, errlen, "%s: out of memory", path);
		goto done;
	}
	while (off < size && memchr(data, '\n', off) == NULL) {
		if ((r = read(fd, data + off, size - off)) == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			util_err(err, errlen, "%s: %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	len = strcspn(data, "\r\n");
	if (len == 0 || len >= size) {
		util_err(err, errlen, "%s: %s", path, len == 0 ? "empty secret" : "secret too long");
		goto done;
	}
	memcpy(buf, data, len);
	rc = 0;
done:
	if (data != NULL) {
		explicit_bzero(data, size + 1);
		free(data);
	}
	close(fd);
	return rc;
}
