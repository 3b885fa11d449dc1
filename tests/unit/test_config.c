/*
 * test_config.c — lib/config.c: a good file of each kind, every kind of error reported with its line
 * number (all of them in one pass), required keys, defaults, and the secrecy check of credential files
 * (mode, owner, symbolic link, FIFO) and the secret's first-line bounds; [sitedb] auth against user and
 * password_file.
 * Files are written into a private temp dir that is removed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char dir[] = "/tmp/dpfleet-test-config-XXXXXX";

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[4][512];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *fp;

	snprintf(p, 512, "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL) {
		perror(p);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(p, mode);
	return p;
}

static void
test_good_scanner(void)
{
	struct config c;
	char errs[4096], conf[2048];
	const char *path;

	write_file("pw", "secret\n", 0600);
	snprintf(conf, sizeof(conf),
	    "# scanner\n[store]\npath = /var/lib/dpfleet/state.db\n\n"
	    "[sitedb]\nhost = sql01.corp.test\nport = 14330\ndatabase = CM_PS1\nuser = reader\n"
	    "password_file = %s/pw\ntds_version = 7.1\nencryption = require\nlogin_timeout = 5\n"
	    "query_timeout = 7\n\n"
	    "[smb]\ndomain = CORP\nuser = svc_dpfleet\npassword_file = %s/pw\ntimeout = 3\n"
	    "concurrency = 8\n\n[scan]\ninterval = 600\nlog_tail_bytes = 65536\n", dir, dir);
	path = write_file("scanner.conf", conf, 0644);
	CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == 0);
	CHECK_STR(errs, "");
	CHECK_STR(c.store.path, "/var/lib/dpfleet/state.db");
	CHECK_STR(c.sitedb.host, "sql01.corp.test");
	CHECK(c.sitedb.port == 14330);
	CHECK_STR(c.sitedb.tds_version, "7.1");
	CHECK(c.sitedb.encryption == CONFIG_ENC_REQUIRE);
	CHECK(c.sitedb.login_timeout == 5 && c.sitedb.query_timeout == 7);
	CHECK_STR(c.smb.domain, "CORP");
	CHECK(c.smb.timeout == 3 && c.smb.concurrency == 8);
	CHECK(c.smb.host_map[0] == '\0');
	CHECK(c.smb.retries == 2 && c.smb.retry_backoff == 1);	/* defaults */
	CHECK(c.smb.client == CONFIG_CLIENT_DPFLEET);		/* default */
	CHECK(c.scan.interval == 600 && c.scan.log_tail_bytes == 65536);
	CHECK(c.fix.concurrency == 4 && c.fix.max_per_run == 500);	/* defaults */
	CHECK(config_check_files(&c, errs, sizeof(errs)) == 0);
}

static void
test_defaults_server(void)
{
	struct config c;
	char errs[4096];
	const char *path;

	path = write_file("server.conf", "[store]\npath = /tmp/s.db\n", 0644);
	CHECK(config_load(path, CONFIG_SERVER, &c, errs, sizeof(errs)) == 0);
	CHECK_STR(c.http.listen, "127.0.0.1:8080");
	CHECK(c.http.session_ttl == 28800);
	CHECK(c.http.max_connections == 512 && c.http.max_connections_per_ip == 64);
	CHECK(c.http.connection_timeout == 15 && c.http.login_queue == 16 && c.http.login_rate == 20);
	CHECK(c.http.login_threads == 0 && strstr(c.http.tls_priorities, "-VERS-ALL") != NULL);
	CHECK(c.http.tls_cert[0] == '\0');
	CHECK(strstr(c.http.web_root, "/web") != NULL);
}

static void
test_errors(void)
{
	struct config c;
	char errs[4096], want[512];
	const char *path;

	path = write_file("bad.conf",
	    "[store]\n"				/* 1 */
	    "path = relative/state.db\n"	/* 2: not absolute */
	    "[sitedb]\n"			/* 3 */
	    "host = sql\n"			/* 4 */
	    "port = 70000\n"			/* 5: out of range */
	    "colour = blue\n"			/* 6: unknown key */
	    "encryption = maybe\n"		/* 7: bad enum */
	    "tds_version = 8.0\n"		/* 8: bad version */
	    "this line has no equals\n"		/* 9: syntax */
	    "[http]\n"				/* 10: server-only section in a scanner file */
	    "listen = x\n"			/* 11: no second error for it */
	    "[smb]\n"				/* 12 */
	    "timeout = ten\n"			/* 13: not an integer */
	    "timeout = 5\n"			/* 14: twice */
	    "client = smbclient\n",		/* 15: bad enum */
	    0644);
	CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) > 0);
#define HAS(line, text) do { snprintf(want, sizeof(want), "%s:%d: %s", path, line, text); \
	CHECK(strstr(errs, want) != NULL); } while (0)
	HAS(2, "[store] path: \"relative/state.db\" is not an absolute path");
	HAS(5, "[sitedb] port: \"70000\" is not an integer in 1..65535");
	HAS(6, "unknown key \"colour\" in [sitedb]");
	HAS(7, "[sitedb] encryption: \"maybe\" is not one of off, request, require");
	HAS(8, "[sitedb] tds_version: \"8.0\" is not one of 7.0, 7.1, 7.2, 7.3, 7.4");
	HAS(9, "expected \"key = value\"");
	HAS(10, "unknown section [http]");
	snprintf(want, sizeof(want), "%s:11:", path);
	CHECK(strstr(errs, want) == NULL);
	HAS(13, "[smb] timeout: \"ten\" is not an integer in 1..600");
	HAS(14, "[smb] timeout: set twice");
	HAS(15, "[smb] client: \"smbclient\" is not one of dpfleet, samba");
	/* required keys are reported without a line */
	snprintf(want, sizeof(want), "%s: missing required key \"database\" in [sitedb]", path);
	CHECK(strstr(errs, want) != NULL);
	snprintf(want, sizeof(want), "%s: missing required key \"password_file\" in [smb]", path);
	CHECK(strstr(errs, want) != NULL);

	path = write_file("tls.conf", "[store]\npath = /tmp/s.db\n[http]\ntls_cert = /tmp/c.pem\n"
	    "listen = 127.0.0.1\n", 0644);
	CHECK(config_load(path, CONFIG_SERVER, &c, errs, sizeof(errs)) == 2);
	CHECK(strstr(errs, "tls_cert and tls_key must be set together") != NULL);
	HAS(5, "[http] listen: \"127.0.0.1\" is not ADDRESS:PORT");

	CHECK(config_load("/nonexistent/dpfleet.conf", CONFIG_SERVER, &c, errs, sizeof(errs)) == -1);
	CHECK(strstr(errs, "No such file") != NULL);
}

/*
 * Section headers are judged by the reader: an unknown section with no key is an error at its line too
 * (Debian's inih never calls the handler for it), and one with keys is reported once.  A key before any
 * section is an error.  Lines hold at most inih's buffer less the newline and NUL (198 bytes).
 */
static void
test_sections_and_lines(void)
{
	struct config c;
	char errs[4096], want[512], text[1024], longpath[256];
	const char *path;
	int n;

	path = write_file("sect.conf",
	    "early = 1\n"			/* 1: outside any section */
	    "[store]\n"				/* 2 */
	    "path = /tmp/s.db\n"		/* 3 */
	    "[bogus]\n"				/* 4: no keys */
	    "[scan]\n"				/* 5 */
	    "interval = 60\n"			/* 6 */
	    "[ scan ]\n"			/* 7: inih keeps the spaces: unknown */
	    "[other]\n"				/* 8: two keys, one error */
	    "a = 1\n"				/* 9 */
	    "b = 2\n"				/* 10 */
	    "[last]\n",				/* 11: no keys, at the end */
	    0644);
	n = config_load(path, CONFIG_SERVER, &c, errs, sizeof(errs));
	HAS(1, "\"early\" outside any [section]");
	HAS(4, "unknown section [bogus]");
	HAS(5, "unknown section [scan]");	/* scanner-only in a server file */
	HAS(7, "unknown section [ scan ]");
	HAS(8, "unknown section [other]");
	HAS(11, "unknown section [last]");
	CHECK(n == 6);
	CHECK(strstr(errs, ":6:") == NULL && strstr(errs, ":9:") == NULL && strstr(errs, ":10:") == NULL);

	/* 198 bytes is the longest line inih takes (its 200-byte buffer holds the newline and a NUL) */
	memset(longpath, 'p', sizeof(longpath));
	snprintf(text, sizeof(text), "[store]\npath = /%.*s\n[http]\nweb_root = /%.*s\n",
	    198 - 8, longpath, 199 - 12, longpath);
	path = write_file("long.conf", text, 0644);
	n = config_load(path, CONFIG_SERVER, &c, errs, sizeof(errs));
	CHECK(n == 1);
	CHECK(strlen(c.store.path) == 198 - 7);
	HAS(4, "line longer than 198 bytes");
	CHECK(strstr(c.http.web_root, "pppp") == NULL);	/* the long line set nothing */
}

/* [scan] log_tail_bytes: 4096..CONFIG_LOG_TAIL_MAX (8 MiB, what the worker reads at most); 0 is refused. */
static void
test_log_tail(void)
{
	static const struct { const char *v; long want; } cases[] = {
		{ "4096", 4096 }, { "8388608", 8388608 }, { "0", -1 }, { "4095", -1 }, { "8388609", -1 },
		{ "67108864", -1 },
	};
	struct config c;
	char errs[1024], text[256], want[128];
	const char *path;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[store]\npath = /tmp/s.db\n[scan]\nlog_tail_bytes = %s\n",
		    cases[i].v);
		path = write_file("tail.conf", text, 0644);
		config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs));
		snprintf(want, sizeof(want), ":4: [scan] log_tail_bytes: \"%s\" is not an integer in "
		    "4096..8388608\n", cases[i].v);
		if (cases[i].want == -1) {
			CHECK(strstr(errs, want) != NULL);
			CHECK(c.scan.log_tail_bytes == 4194304);
		} else {
			CHECK(strstr(errs, "log_tail_bytes") == NULL);
			CHECK(c.scan.log_tail_bytes == cases[i].want);
		}
	}
}

static void
test_secrecy(void)
{
	struct config c;
	char err[512], buf[64], conf[1024], big[80], text[128], link[600], fifo[600], open_pw[512];
	const char *path;

	CHECK(config_check_secrecy(write_file("ok.pw", "x\n", 0600), err, sizeof(err)) == 0);
	snprintf(open_pw, sizeof(open_pw), "%s", write_file("open.pw", "hunter2\n", 0640));
	CHECK(config_check_secrecy(open_pw, err, sizeof(err)) == -1);
	CHECK(strstr(err, "group or others have access (mode 640)") != NULL);
	CHECK(config_check_secrecy(write_file("world.pw", "x\n", 0604), err, sizeof(err)) == -1);
	CHECK(config_check_secrecy(dir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK(config_read_secret(open_pw, buf, sizeof(buf), err, sizeof(err)) == -1);
	CHECK(buf[0] == '\0');
	CHECK(config_read_secret(write_file("crlf.pw", "s3cr3t\r\nignored\n", 0600), buf, sizeof(buf), err,
	    sizeof(err)) == 0);
	CHECK_STR(buf, "s3cr3t");
	CHECK(config_read_secret(write_file("empty.pw", "\n", 0600), buf, sizeof(buf), err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "empty secret") != NULL);

	/* the longest secret buf holds (63 bytes), one byte more, and no newline at all */
	memset(big, 'k', sizeof(big));
	snprintf(text, sizeof(text), "%.*s\nrest\n", 63, big);
	CHECK(config_read_secret(write_file("fits.pw", text, 0600), buf, sizeof(buf), err, sizeof(err)) == 0);
	CHECK(strlen(buf) == 63);
	snprintf(text, sizeof(text), "%.*s\n", 64, big);
	CHECK(config_read_secret(write_file("long.pw", text, 0600), buf, sizeof(buf), err, sizeof(err)) == -1);
	CHECK(strstr(err, "secret too long") != NULL && buf[0] == '\0');
	CHECK(config_read_secret(write_file("nonl.pw", "abc", 0600), buf, sizeof(buf), err, sizeof(err)) == 0);
	CHECK_STR(buf, "abc");

	/* a symbolic link is refused, even to a good file: the file checked is the file read */
	snprintf(link, sizeof(link), "%s/link.pw", dir);
	CHECK(symlink(write_file("target.pw", "s3cr3t\n", 0600), link) == 0);
	CHECK(config_check_secrecy(link, err, sizeof(err)) == -1);
	CHECK(strstr(err, "link.pw: a symbolic link") != NULL);
	CHECK(config_read_secret(link, buf, sizeof(buf), err, sizeof(err)) == -1);
	CHECK(buf[0] == '\0' && strstr(err, "a symbolic link") != NULL);

	/* a FIFO is refused without blocking on it */
	snprintf(fifo, sizeof(fifo), "%s/fifo.pw", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(config_read_secret(fifo, buf, sizeof(buf), err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);

	/* a file owned by another user (uid 65534) is refused; needs root to chown (the test suite's user) */
	path = write_file("other.pw", "s3cr3t\n", 0600);
	if (geteuid() == 0) {
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(config_check_secrecy(path, err, sizeof(err)) == -1);
		CHECK(strstr(err, "owned by uid 65534, not by the running user (uid 0)") != NULL);
		CHECK(config_read_secret(path, buf, sizeof(buf), err, sizeof(err)) == -1);
		CHECK(buf[0] == '\0' && strstr(err, "owned by uid 65534") != NULL);
	} else
		printf("config: not root: ownership refusal not tested\n");

	/* config_check_files names every credential file that fails */
	snprintf(conf, sizeof(conf), "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\nuser = u\n"
	    "password_file = %s\n[smb]\nuser = u\npassword_file = %s/missing.pw\n", open_pw, dir);
	path = write_file("sec.conf", conf, 0644);
	CHECK(config_load(path, CONFIG_SCANNER, &c, err, sizeof(err)) == 0);
	err[0] = '\0';
	CHECK(config_check_files(&c, err, sizeof(err)) == 2);
	CHECK(strstr(err, "open.pw: group or others") != NULL);
	CHECK(strstr(err, "missing.pw: No such file") != NULL);
}

/* [smb] retries 0..10 and retry_backoff 0..60 (seconds): both ends accepted, one past each refused. */
static void
test_retries(void)
{
	static const struct { const char *key, *value; int ok, want; } cases[] = {
		{ "retries", "0", 1, 0 }, { "retries", "10", 1, 10 }, { "retries", "11", 0, 0 },
		{ "retries", "-1", 0, 0 }, { "retries", "two", 0, 0 },
		{ "retry_backoff", "0", 1, 0 }, { "retry_backoff", "60", 1, 60 }, { "retry_backoff", "61", 0, 0 },
		{ "retry_backoff", "-1", 0, 0 }, { "retry_backoff", "1.5", 0, 0 },
	};
	struct config c;
	char errs[4096], conf[1024], want[256];
	const char *path;
	size_t i;

	write_file("pw", "secret\n", 0600);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\n"
		    "user = u\npassword_file = %s/pw\n[smb]\nuser = u\npassword_file = %s/pw\n%s = %s\n",
		    dir, dir, cases[i].key, cases[i].value);
		path = write_file("retries.conf", conf, 0644);
		CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == (cases[i].ok ? 0 : 1));
		if (cases[i].ok) {
			CHECK((strcmp(cases[i].key, "retries") == 0 ? c.smb.retries : c.smb.retry_backoff) ==
			    cases[i].want);
			continue;
		}
		snprintf(want, sizeof(want), "%s:11: [smb] %s: \"%s\" is not an integer in 0..%d", path,
		    cases[i].key, cases[i].value, strcmp(cases[i].key, "retries") == 0 ? 10 : 60);
		CHECK(strstr(errs, want) != NULL);
	}
	/* The server does not know them. */
	path = write_file("srv-retries.conf", "[store]\npath = /tmp/s.db\n[smb]\nretries = 2\n", 0644);
	CHECK(config_load(path, CONFIG_SERVER, &c, errs, sizeof(errs)) > 0);
}

/*
 * [sitedb] TLS: require with ca_file "system" by default; ca_file is "system" or an absolute path freetds.conf
 * can carry; -n (config_check_files) checks it is readable, with require only.
 */
static void
test_sitedb_tls(void)
{
	static const struct { const char *enc, *ca; int errors, files; } cases[] = {
		{ NULL, NULL, 0, 0 }, { "require", "system", 0, 0 }, { "require", "%s/pw", 0, 0 },
		{ "require", "%s/missing.pem", 0, 1 }, { "request", "%s/missing.pem", 0, 0 },
		{ "require", "ca.pem", 1, 0 }, { "require", "/etc/a#b.pem", 1, 0 }, { "require", "/a b.pem", 1, 0 },
		{ "off", NULL, 0, 0 },
	};
	struct config c;
	char errs[4096], conf[1024], ca[512], line[600];
	const char *path;
	size_t i;

	write_file("pw", "secret\n", 0600);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		line[0] = '\0';
		if (cases[i].ca != NULL) {
			snprintf(ca, sizeof(ca), cases[i].ca, dir);
			snprintf(line, sizeof(line), "ca_file = %s\n", ca);
		}
		snprintf(conf, sizeof(conf), "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\n"
		    "user = u\npassword_file = %s/pw\n%s%s%s%s[smb]\nuser = u\npassword_file = %s/pw\n", dir,
		    cases[i].enc != NULL ? "encryption = " : "", cases[i].enc != NULL ? cases[i].enc : "",
		    cases[i].enc != NULL ? "\n" : "", line, dir);
		path = write_file("tls.conf", conf, 0644);
		CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == cases[i].errors);
		if (cases[i].errors == 0)
			CHECK(config_check_files(&c, errs, sizeof(errs)) == cases[i].files);
		if (cases[i].enc == NULL)
			CHECK(c.sitedb.encryption == CONFIG_ENC_REQUIRE && strcmp(c.sitedb.ca_file, "system") == 0);
	}
	path = write_file("tls-name.conf", "[store]\npath = /tmp/s.db\n[sitedb]\nhost = 10.0.0.5\n"
	    "database = d\nuser = u\npassword_file = /x\ntls_name = sql01.corp.test\n[smb]\nuser = u\n"
	    "password_file = /x\n", 0644);
	CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == 0);
	CHECK_STR(c.sitedb.tls_name, "sql01.corp.test");
}

/* [sitedb] auth: sql (default), ntlm with DOMAIN\\name, kerberos without user and secret but with [smb] keytab. */
static void
test_sitedb_auth(void)
{
	static const struct { const char *lines; const char *smb; int errors; const char *want; } cases[] = {
		{ "user = u\npassword_file = /x\n", "", 0, NULL },
		{ "auth = sql\nuser = CORP\\u\npassword_file = /x\n", "", 1, "is a Windows account: set auth = ntlm" },
		{ "auth = ntlm\nuser = CORP\\svc_sql\npassword_file = /x\n", "", 0, NULL },
		{ "auth = ntlm\nuser = svc_sql\npassword_file = /x\n", "", 1, "is not DOMAIN\\name" },
		{ "auth = ntlm\nuser = \\svc\npassword_file = /x\n", "", 1, "is not DOMAIN\\name" },
		{ "auth = ntlm\nuser = CORP\\svc\n", "", 1, "missing required key \"password_file\" in [sitedb]" },
		{ "auth = kerberos\n", "keytab = /k\nprincipal = svc@CORP.TEST\n", 0, NULL },
		{ "auth = kerberos\nuser = u\n", "keytab = /k\nprincipal = svc@CORP.TEST\n", 1, "remove user" },
		{ "auth = kerberos\n", "password_file = /x\n", 1, "needs [smb] keytab" },
		{ "auth = gssapi\nuser = u\npassword_file = /x\n", "", 1, "is not one of sql, ntlm, kerberos" },
		{ "", "", 2, "missing required key \"user\" in [sitedb]" },
	};
	struct config c;
	char errs[4096], conf[1024];
	const char *path;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\n%s"
		    "[smb]\nuser = u\n%s", cases[i].lines, cases[i].smb[0] != '\0' ? cases[i].smb :
		    "password_file = /x\n");
		path = write_file("auth.conf", conf, 0644);
		CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == cases[i].errors);
		if (cases[i].want != NULL && strstr(errs, cases[i].want) == NULL)
			fprintf(stderr, "case %zu: %s", i, errs);
		CHECK(cases[i].want == NULL || strstr(errs, cases[i].want) != NULL);
	}
	path = write_file("auth.conf", "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\n"
	    "auth = ntlm\nuser = CORP\\svc_sql\npassword_file = /x\n[smb]\nuser = u\npassword_file = /x\n", 0644);
	CHECK(config_load(path, CONFIG_SCANNER, &c, errs, sizeof(errs)) == 0);
	CHECK(c.sitedb.auth == CONFIG_SQLAUTH_NTLM);
	CHECK_STR(c.sitedb.user, "CORP\\svc_sql");
}

int
main(void)
{
	char cmd[600];
	int rc;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_good_scanner();
	test_defaults_server();
	test_errors();
	test_sections_and_lines();
	test_log_tail();
	test_secrecy();
	test_retries();
	test_sitedb_tls();
	test_sitedb_auth();
	rc = check_done("config");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
