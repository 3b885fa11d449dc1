/*
 * test_credset.c — credential sets (dpfleet.conf(5), "Credential sets"): lib/config_cred.c's parsing of
 * [credentials NAME] sections and [smb]'s credential rules (every bad combination reported with its line; -n's
 * secrecy checks of every set's files),
 * and scanner/credset.c's choice per host as a table: site code first, then the longest FQDN suffix on a
 * label boundary, then [smb] with a user, else none.  Files are written into a private temp dir removed at
 * the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "config.h"
#include "credset.h"

static char dir[] = "/tmp/dpfleet-test-credset-XXXXXX";

/* Load "[store][sitedb] ... " + body as a scanner file; returns config_load's count, errs filled. */
static int
load(const char *body, struct config *c, char *errs, size_t errlen, char *path, size_t pathlen)
{
	char text[8192];
	FILE *fp;

	snprintf(path, pathlen, "%s/c.conf", dir);
	snprintf(text, sizeof(text), "[store]\npath = /tmp/s.db\n[sitedb]\nhost = h\ndatabase = d\nuser = u\n"
	    "password_file = %s/pw\n%s", dir, body);	/* the body starts on line 8 */
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
	return config_load(path, CONFIG_SCANNER, c, errs, errlen);
}

#define PW	"password_file = /etc/dpfleet/x.pw\n"

static const char good[] =
    "[smb]\nauth = kerberos\ndomain = CORP\nuser = svc\n" PW			/* 8..12 */
    "[credentials forest-b]\ndomain = FORESTB\nuser = scan_b\n" PW		/* 13..16 */
    "fqdn_suffix = .b.example, LAB.B.example\n"				/* 17 */
    "[credentials dmz]\ndomain = DMZ\nuser = scan_dmz\n"			/* 18..20 */
    "keytab = /etc/dpfleet/dmz.keytab\nprincipal = scan_dmz@DMZ.EXAMPLE\n"	/* 21..22 */
    "site_codes = p02 S03\nfqdn_suffix = dmz.example\n"			/* 23..24 */
    "[credentials corp-x]\nuser = x\n" PW "fqdn_suffix = x.corp.example\n";	/* 25..28 */

static void
test_parse_good(void)
{
	struct config c;
	char errs[4096], path[512];

	CHECK(load(good, &c, errs, sizeof(errs), path, sizeof(path)) == 0);
	CHECK_STR(errs, "");
	CHECK(c.smb.auth == CONFIG_AUTH_KERBEROS);
	CHECK(c.ncreds == 3);
	CHECK_STR(c.creds[0].name, "forest-b");
	CHECK(c.creds[0].line == 13);
	CHECK(c.creds[0].nsuffix == 2);
	CHECK_STR(c.creds[0].suffix[0], "b.example");
	CHECK_STR(c.creds[0].suffix[1], "lab.b.example");
	CHECK_STR(c.creds[1].keytab, "/etc/dpfleet/dmz.keytab");
	CHECK_STR(c.creds[1].principal, "scan_dmz@DMZ.EXAMPLE");
	CHECK(c.creds[1].nsite == 2);
	CHECK_STR(c.creds[1].site[0], "P02");
	CHECK_STR(c.creds[1].site[1], "S03");
	CHECK(c.creds[1].password_file[0] == '\0');
	/* sets without [smb]'s account: [smb] holds only the shared settings */
	CHECK(load("[smb]\ntimeout = 3\n[credentials a]\nuser = u\n" PW "site_codes = P01\n", &c, errs,
	    sizeof(errs), path, sizeof(path)) == 0);
	CHECK_STR(errs, "");
	CHECK(c.smb.auth == CONFIG_AUTH_NEGOTIATE);	/* default */
}

/* Every bad combination, each with its line, in one pass. */
static void
test_parse_errors(void)
{
	struct config c;
	char errs[8192], path[512], want[1200];

	CHECK(load(
	    "[smb]\nauth = basic\n"					/* 8, 9: bad auth */
	    "[credentials a]\nuser = u\n" PW "keytab = /k\n"		/* 10..13: both secrets, no principal */
	    "site_codes = P01\ncolour = red\n"				/* 14, 15: unknown key */
	    "[credentials b]\nuser = u\nsite_codes = p01\n"		/* 16..18: no secret; P01 claimed twice */
	    "[credentials a]\nuser = v\n"				/* 19, 20: duplicate name */
	    "[credentials c]\nuser = u\n" PW				/* 21..23: selects nothing */
	    "[credentials d]\nuser = u\n" PW "fqdn_suffix = x..y, ok.example\n"	/* 24..27: bad suffix */
	    "fqdn_suffix = b.example\n"					/* 28: set twice */
	    "[credentials e]\npassword_file = rel.pw\nprincipal = p\nfqdn_suffix = .OK.example\n"	/* 29..32 */
	    "[credentials smb]\n"					/* 33: reserved name */
	    "[credentials bad/name]\n",					/* 34 */
	    &c, errs, sizeof(errs), path, sizeof(path)) > 0);
#define HAS(line, text) do { snprintf(want, sizeof(want), "%s:%d: %s", path, line, text); \
	CHECK(strstr(errs, want) != NULL); } while (0)
	HAS(9, "[smb] auth: \"basic\" is not one of negotiate, kerberos, ntlm");
	HAS(10, "[credentials a]: password_file and keytab are exclusive");
	HAS(10, "[credentials a]: keytab needs principal");
	HAS(15, "unknown key \"colour\" in [credentials a]");
	HAS(16, "missing required key \"password_file\" in [credentials b] (or keytab)");
	HAS(16, "[credentials b] site code \"P01\" is already claimed by [credentials a] (line 10)");
	HAS(19, "[credentials a]: duplicate name (first at line 10)");
	HAS(21, "[credentials c]: names no fqdn_suffix and no site_codes");
	HAS(27, "[credentials d] fqdn_suffix: \"x..y\" is not a DNS suffix");
	HAS(28, "[credentials d] fqdn_suffix: set twice");
	HAS(29, "missing required key \"user\" in [credentials e]");
	HAS(29, "[credentials e]: principal is only for a keytab");
	HAS(29, "[credentials e] fqdn_suffix \"ok.example\" is already claimed by [credentials d] (line 24)");
	HAS(30, "[credentials e] password_file: \"rel.pw\" is not an absolute path");
	HAS(33, "[credentials smb]: NAME must be");
	HAS(34, "[credentials bad/name]: NAME must be");
	/* [smb] without user and no set; a secret without user beside sets */
	CHECK(load("[smb]\ntimeout = 3\n", &c, errs, sizeof(errs), path, sizeof(path)) == 2);
	CHECK(strstr(errs, "missing required key \"user\" in [smb]") != NULL);
	CHECK(strstr(errs, "missing required key \"password_file\" in [smb]") != NULL);
	CHECK(load("[smb]\n" PW "[credentials a]\nuser = u\n" PW "site_codes = P01\n", &c, errs, sizeof(errs),
	    path, sizeof(path)) == 1);
	CHECK(strstr(errs, "[smb]: password_file or keytab without user") != NULL);
	/* a keytab set under auth = ntlm: refused (NTLM needs a password); the same set under negotiate is fine */
	CHECK(load("[smb]\nauth = ntlm\n[credentials k]\nuser = u\nkeytab = /k\nprincipal = u@R\nsite_codes = P01\n",
	    &c, errs, sizeof(errs), path, sizeof(path)) == 1);
	HAS(10, "[credentials k]: a keytab needs [smb] auth = negotiate or kerberos");
	CHECK(load("[smb]\nauth = negotiate\n[credentials k]\nuser = u\nkeytab = /k\nprincipal = u@R\n"
	    "site_codes = P01\n", &c, errs, sizeof(errs), path, sizeof(path)) == 0);
}

/* Too many sets: the limit is CONFIG_CREDSETS_MAX, reported on the first header past it. */
static void
test_parse_limit(void)
{
	struct config c;
	char body[8192], errs[4096], path[512], want[600];
	size_t used = 0;
	int i;

	used += (size_t)snprintf(body, sizeof(body), "[smb]\n");
	for (i = 0; i <= CONFIG_CREDSETS_MAX; i++)
		used += (size_t)snprintf(body + used, sizeof(body) - used,
		    "[credentials s%d]\nuser = u\n" PW "site_codes = S%d\n", i, i);
	CHECK(load(body, &c, errs, sizeof(errs), path, sizeof(path)) == 1);
	CHECK(c.ncreds == CONFIG_CREDSETS_MAX);
	snprintf(want, sizeof(want), "%s:%d: [credentials s%d]: more than %d [credentials] sections", path,
	    9 + 4 * CONFIG_CREDSETS_MAX, CONFIG_CREDSETS_MAX, CONFIG_CREDSETS_MAX);
	CHECK(strstr(errs, want) != NULL);
}

/* -n's file checks reach every set: a password file or keytab open to others is refused by its path. */
static void
test_secrecy(void)
{
	struct config c;
	char body[4096], errs[4096], path[512], f[4][200];
	const char *mode_name[4] = { "pw", "open.pw", "kt", "open.kt" };
	int i;

	for (i = 0; i < 4; i++) {
		FILE *fp;

		snprintf(f[i], sizeof(f[i]), "%s/%s", dir, mode_name[i]);
		if ((fp = fopen(f[i], "w")) == NULL) {
			perror(f[i]);
			exit(1);
		}
		fputs("secret\n", fp);
		fclose(fp);
		chmod(f[i], i % 2 ? 0644 : 0600);
	}
	snprintf(body, sizeof(body), "[smb]\n"
	    "[credentials a]\nuser = u\npassword_file = %s\nsite_codes = P01\n"
	    "[credentials b]\nuser = u\npassword_file = %s\nsite_codes = P02\n"
	    "[credentials c]\nuser = u\nkeytab = %s\nprincipal = u@R\nsite_codes = P03\n"
	    "[credentials d]\nuser = u\nkeytab = %s\nprincipal = u@R\nsite_codes = P04\n", f[0], f[1], f[2], f[3]);
	CHECK(load(body, &c, errs, sizeof(errs), path, sizeof(path)) == 0);
	errs[0] = '\0';
	CHECK(config_check_files(&c, errs, sizeof(errs)) == 2);	/* the two open to others; [sitedb]'s is pw */
	CHECK(strstr(errs, f[1]) != NULL && strstr(errs, f[3]) != NULL);
	CHECK(strstr(errs, "open.pw: group or others have access") != NULL);
	snprintf(body, sizeof(body), "%s: ", f[0]);
	CHECK(strstr(errs, body) == NULL);
}

/* The choice per host, as a table over the good file (forest-b = 1, dmz = 2, corp-x = 3). */
static void
test_pick(void)
{
	static const struct {
		const char	*fqdn, *site, *want;
	} cases[] = {
		{ "dp1.b.example", "P01", "forest-b" },		/* suffix */
		{ "DP1.B.EXAMPLE.", "P01", "forest-b" },	/* case and trailing dot */
		{ "dp1.lab.b.example", "", "forest-b" },	/* both suffixes of one set */
		{ "b.example", NULL, "forest-b" },		/* the suffix itself */
		{ "dp1.xb.example", "P01", "smb" },		/* not on a label boundary */
		{ "dp1.b.example.org", "P01", "smb" },		/* suffix in the middle */
		{ "dp1.b.example", "p02", "dmz" },		/* site code wins over the suffix */
		{ "dp9.corp.example", "S03", "dmz" },
		{ "dp1.dmz.example", "P01", "dmz" },
		{ "dp1.x.corp.example", "P01", "corp-x" },
		{ "dp1.y.corp.example", "P01", "smb" },		/* [smb] has a user: the fallback */
		{ "", "", "smb" },
	};
	struct config c;
	char errs[4096], path[512];
	size_t i;
	int idx;

	CHECK(load(good, &c, errs, sizeof(errs), path, sizeof(path)) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		idx = credset_pick(&c, cases[i].fqdn, cases[i].site);
		if (credset_name(&c, idx) == NULL || strcmp(credset_name(&c, idx), cases[i].want) != 0)
			fprintf(stderr, "case %zu: %s/%s got %s\n", i, cases[i].fqdn,
			    cases[i].site ? cases[i].site : "(null)", credset_name(&c, idx));
		CHECK_STR(credset_name(&c, idx), cases[i].want);
		CHECK(credset_valid(&c, idx));
	}
	CHECK(credset_pick(&c, "dp1.x.corp.example", NULL) == 3);
	CHECK(credset_name(&c, 4) == NULL && !credset_valid(&c, 4) && !credset_valid(&c, CREDSET_NONE));

	/* the longest suffix wins whichever set comes first; no [smb] user: none */
	CHECK(load("[smb]\n[credentials short]\nuser = u\n" PW "fqdn_suffix = example\n"
	    "[credentials long]\nuser = u\n" PW "fqdn_suffix = deep.corp.example\n", &c, errs, sizeof(errs),
	    path, sizeof(path)) == 0);
	CHECK_STR(credset_name(&c, credset_pick(&c, "dp1.deep.corp.example", "P01")), "long");
	CHECK_STR(credset_name(&c, credset_pick(&c, "dp1.corp.example", "P01")), "short");
	CHECK(credset_pick(&c, "dp1.corp.test", "P01") == CREDSET_NONE);
	CHECK(credset_name(&c, CREDSET_NONE) == NULL);
	CHECK(!credset_valid(&c, CREDSET_SMB));
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
	test_parse_good();
	test_parse_errors();
	test_parse_limit();
	test_secrecy();
	test_pick();
	rc = check_done("credset");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
