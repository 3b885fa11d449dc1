/*
 * config.h — dpfleet.conf(5): the INI files of dpfleet-scanner and dpfleet-server, parsed with inih into a
 * typed struct.  Unknown sections or keys, bad values and missing required keys are errors reported with
 * "file:line: reason", all of them, never only the first.
 */
#ifndef DPFLEET_CONFIG_H
#define DPFLEET_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "consts.h"

enum config_kind { CONFIG_SCANNER, CONFIG_SERVER };
enum config_encryption { CONFIG_ENC_OFF, CONFIG_ENC_REQUEST, CONFIG_ENC_REQUIRE };
/* [smb] auth; the same order as scanner/cred.h's enum cred_auth. */
enum config_auth { CONFIG_AUTH_NEGOTIATE, CONFIG_AUTH_KERBEROS, CONFIG_AUTH_NTLM };
/* [smb] client: the scan reads with dpfleet's own SMB2 client (scanner/smb2.h) or with Samba's libraries. */
enum config_client { CONFIG_CLIENT_DPFLEET, CONFIG_CLIENT_SAMBA };
/* [sitedb] auth: a SQL login, DOMAIN\user over NTLMv2, or the scanner's Kerberos ticket (GSSAPI). */
enum config_sqlauth { CONFIG_SQLAUTH_SQL, CONFIG_SQLAUTH_NTLM, CONFIG_SQLAUTH_KERBEROS };

#define CONFIG_STR	256
#define CONFIG_CAFILE_MAX	200	/* [sitedb] ca_file: fits one freetds.conf line (lib/config.c) */
#define CONFIG_LOG_TAIL_MIN	4096	/* [scan] log_tail_bytes ... */
#define CONFIG_LOG_TAIL_MAX	(8L * 1024 * 1024)	/* ... and the most of a log a worker reads */
/* [http] tls_priorities' default: TLS 1.2 and 1.3 only, forward-secret (ECDHE) AEAD suites only. */
#define CONFIG_TLS_PRIORITIES	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-DHE-RSA:-DHE-DSS:" \
	"-AES-128-CBC:-AES-256-CBC:-CAMELLIA-128-CBC:-CAMELLIA-256-CBC:-3DES-CBC:-ARCFOUR-128"

/*
 * Credential sets (dpfleet.conf(5), [credentials NAME]): at most CONFIG_CREDSETS_MAX sections, a NAME of
 * [A-Za-z0-9_.-] shorter than CONFIG_CRED_NAME_MAX bytes; each fqdn_suffix and site_codes list holds at
 * most CONFIG_CRED_LIST_MAX entries.  Suffixes are kept lowercase without a leading dot, site codes
 * uppercase.
 */
#define CONFIG_CREDSETS_MAX	16
#define CONFIG_CRED_NAME_MAX	32
#define CONFIG_CRED_LIST_MAX	16
#define CONFIG_CRED_SMB		"smb"	/* the name of [smb] as the fallback set (never a [credentials] name) */

struct config_credset {
	char	 name[CONFIG_CRED_NAME_MAX];
	int	 line;				/* of its [credentials NAME] header */
	unsigned seen;				/* parse bookkeeping: keys already set (config_cred.c) */
	char	 domain[CONFIG_STR];
	char	 user[CONFIG_STR];
	char	 password_file[PATH_MAX];	/* exactly one of password_file and keytab */
	char	 keytab[PATH_MAX];
	char	 principal[CONFIG_STR];		/* the keytab's principal; with keytab only */
	char	 suffix[CONFIG_CRED_LIST_MAX][DPF_FQDN_MAX];
	int	 nsuffix;
	char	 site[CONFIG_CRED_LIST_MAX][DPF_SITE_CODE_MAX];
	int	 nsite;
};

struct config {
	enum config_kind kind;
	char	 file[PATH_MAX];
	struct {
		char	 path[PATH_MAX];
	} store;
	struct {				/* scanner only */
		char	 host[CONFIG_STR];
		int	 port;			/* 1433 */
		char	 instance[CONFIG_STR];	/* optional named instance: port from SQL Browser (MS-SQLR) */
		char	 database[CONFIG_STR];
		enum config_sqlauth auth;	/* sql */
		char	 user[CONFIG_STR];	/* sql: a login; ntlm: DOMAIN\name; kerberos: "" */
		char	 password_file[PATH_MAX];	/* "" with kerberos */
		char	 tds_version[8];	/* "7.4" */
		enum config_encryption encryption;	/* require; off and request are logged opt-outs */
		char	 ca_file[CONFIG_CAFILE_MAX + 1];	/* "system" or a PEM file of CAs */
		char	 tls_name[CONFIG_STR];	/* optional: the name the certificate must carry */
		int	 login_timeout;		/* 10 s */
		int	 query_timeout;		/* 30 s */
	} sitedb;
	struct {				/* scanner only */
		enum config_auth auth;		/* negotiate */
		enum config_client client;	/* dpfleet */
		char	 domain[CONFIG_STR];
		char	 user[CONFIG_STR];	/* "" only when [credentials] sets exist: no fallback set */
		char	 password_file[PATH_MAX];	/* exactly one of password_file and keytab with a user */
		char	 keytab[PATH_MAX];
		char	 principal[CONFIG_STR];	/* the keytab's principal; with keytab only */
		int	 timeout;		/* 10 s per network step */
		int	 concurrency;		/* 128 workers */
		int	 retries;		/* 2 more attempts after a transient failure (lib/reason.h) */
		int	 retry_backoff;		/* 1 s before the first retry, doubling after each */
		char	 host_map[PATH_MAX];	/* optional */
	} smb;
	struct config_credset creds[CONFIG_CREDSETS_MAX];	/* scanner only: [credentials NAME] in file order */
	int	 ncreds;
	struct {				/* scanner only */
		int	 interval;		/* 3600 s */
		long	 log_tail_bytes;	/* 4 MiB; CONFIG_LOG_TAIL_MIN..CONFIG_LOG_TAIL_MAX */
		int	 host_deadline;		/* s; 0 = smb.timeout x network steps */
	} scan;
	struct {				/* both: the server enforces max_per_run when queueing */
		int	 concurrency;		/* 4 writes at once (scanner) */
		int	 max_per_run;		/* 500 jobs per request */
	} fix;
	struct {				/* server only */
		char	 listen[CONFIG_STR];	/* 127.0.0.1:8080 */
		char	 tls_cert[PATH_MAX];
		char	 tls_key[PATH_MAX];
		char	 web_root[PATH_MAX];
		int	 session_ttl;		/* 28800 s */
		int	 max_connections;	/* 512 open connections in all */
		int	 max_connections_per_ip;	/* 64 per client address; 0 = no per-address limit */
		int	 connection_timeout;	/* 15 s without a byte read or written */
		char	 tls_priorities[CONFIG_STR];	/* GnuTLS priority string (CONFIG_TLS_PRIORITIES) */
		int	 login_threads;		/* argon2id threads; 0 = half the CPUs, 1..4 */
		int	 login_queue;		/* 16 sign-ins waiting for a hashing thread, then 503 */
		int	 login_rate;		/* 20 sign-in attempts a minute per client address; 0 = off */
	} http;
};

/*
 * Parse path as a file of the given kind into *conf (defaults first, then the file).
 * Returns the number of errors (0 = valid), or -1 if the file cannot be read.  Every error is appended to
 * errs as one "file:line: reason\n" line (truncated if errs is too small).  *conf is always initialised.
 */
int	 config_load(const char *path, enum config_kind kind, struct config *conf, char *errs, size_t errlen);

/*
 * Refuse a credentials file that is a symbolic link, not a regular file, not readable, not owned by the
 * running user, or readable or writable by group or others (relayd's check_file_secrecy).  The checks are
 * made on the opened file.  0 if fine, -1 with the reason in err.
 */
int	 config_check_secrecy(const char *path, char *err, size_t errlen);

/*
 * Check the secrecy of every credential file conf names (the password files and keytabs of [sitedb], [smb] and
 * every [credentials] set; the TLS key).  Returns the number of problems, each appended to errs as a line.
 */
int	 config_check_files(const struct config *conf, char *errs, size_t errlen);

/*
 * Read a secret (first line, trailing CR/LF removed) into buf (size > 0), opening path once: the
 * config_check_secrecy checks are made on that descriptor and the secret is read from it, so a file
 * swapped between check and read is never read.  0 on success; -1 with the reason in err (buf is zeroed).
 * The caller explicit_bzero()s buf after use.
 */
int	 config_read_secret(const char *path, char *buf, size_t size, char *err, size_t errlen);

#endif
