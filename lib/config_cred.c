/*
 * config_cred.c — the credential part of dpfleet.conf(5): [credentials NAME] sections and the rules that tie
 * them to [smb]'s own account.
 *
 * config.c's line reader calls config_cred_open() for every [credentials NAME] header (so a set is known, and
 * a duplicate reported with its line, even when its section holds no key), its inih handler calls
 * config_cred_key() for the keys of such a section, and config_load() calls config_cred_finish() once the
 * file is read.  Problems go back through config.c's error reporter with their line.  Lists (fqdn_suffix,
 * site_codes) are split on commas and blanks; suffixes are stored lowercase without a leading dot, site codes
 * uppercase, so scanner/credset.c compares them without normalising again.  Nothing here allocates.
 */
#include "config_int.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SECTION_PREFIX	"credentials "

enum ckey { CK_DOMAIN, CK_USER, CK_PASSWORD_FILE, CK_KEYTAB, CK_PRINCIPAL, CK_SUFFIX, CK_SITES };

static const char *const ckey_names[] = {
	"domain", "user", "password_file", "keytab", "principal", "fqdn_suffix", "site_codes",
};
#define NCKEYS	(sizeof(ckey_names) / sizeof(ckey_names[0]))

static void __attribute__((format(printf, 3, 4)))
report(const struct config_cred_report *r, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->err(r->arg, line, msg);
}

int
config_cred_is_section(const char *section)
{
	return strncmp(section, SECTION_PREFIX, strlen(SECTION_PREFIX)) == 0;
}

static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= CONFIG_CRED_NAME_MAX || strcmp(s, CONFIG_CRED_SMB) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

int
config_cred_open(struct config *conf, const char *section, int line, const struct config_cred_report *r)
{
	const char *name = section + strlen(SECTION_PREFIX);
	struct config_credset *cs;
	int i;

	if (!valid_name(name)) {
		report(r, line, "[%s]: NAME must be 1..%d characters of A-Z a-z 0-9 _ - . and not \"%s\"",
		    section, CONFIG_CRED_NAME_MAX - 1, CONFIG_CRED_SMB);
		return -1;
	}
	for (i = 0; i < conf->ncreds; i++)
		if (strcmp(conf->creds[i].name, name) == 0) {
			report(r, line, "[%s]: duplicate name (first at line %d)", section, conf->creds[i].line);
			return -1;
		}
	if (conf->ncreds >= CONFIG_CREDSETS_MAX) {
		report(r, line, "[%s]: more than %d [credentials] sections", section, CONFIG_CREDSETS_MAX);
		return -1;
	}
	cs = &conf->creds[conf->ncreds];
	memset(cs, 0, sizeof(*cs));
	util_strlcpy(cs->name, name, sizeof(cs->name));
	cs->line = line;
	return conf->ncreds++;
}

/* 1 if s is a DNS name of letters, digits, '-' and '.' with non-empty labels (a leading dot allowed). */
static int
valid_suffix(const char *s)
{
	size_t i, n;

	if (*s == '.')
		s++;
	n = strlen(s);
	if (n == 0 || n >= DPF_FQDN_MAX || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && (i == 0 || s[i - 1] == '.'))
			return 0;
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	}
	return 1;
}

static int
valid_site(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= DPF_SITE_CODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Split value on commas and blanks into set idx's suffix or site list (normalised), reporting bad entries. */
static void
set_list(struct config_credset *cs, enum ckey k, const char *value, int line, const struct config_cred_report *r)
{
	char buf[CONFIG_CRED_LIST_MAX * DPF_FQDN_MAX], *tok, *save = NULL;
	size_t i;

	if (strlen(value) >= sizeof(buf)) {
		report(r, line, "[credentials %s] %s: value too long", cs->name, ckey_names[k]);
		return;
	}
	util_strlcpy(buf, value, sizeof(buf));
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		int *n = k == CK_SUFFIX ? &cs->nsuffix : &cs->nsite;

		if (k == CK_SUFFIX ? !valid_suffix(tok) : !valid_site(tok)) {
			report(r, line, "[credentials %s] %s: \"%s\" is not a %s", cs->name, ckey_names[k], tok,
			    k == CK_SUFFIX ? "DNS suffix" : "site code (letters and digits)");
			continue;
		}
		if (*n >= CONFIG_CRED_LIST_MAX) {
			report(r, line, "[credentials %s] %s: more than %d entries", cs->name, ckey_names[k],
			    CONFIG_CRED_LIST_MAX);
			return;
		}
		if (k == CK_SUFFIX) {
			util_strlcpy(cs->suffix[*n], tok[0] == '.' ? tok + 1 : tok, sizeof(cs->suffix[*n]));
			for (i = 0; cs->suffix[*n][i] != '\0'; i++)
				cs->suffix[*n][i] = (char)tolower((unsigned char)cs->suffix[*n][i]);
		} else {
			util_strlcpy(cs->site[*n], tok, sizeof(cs->site[*n]));
			for (i = 0; cs->site[*n][i] != '\0'; i++)
				cs->site[*n][i] = (char)toupper((unsigned char)cs->site[*n][i]);
		}
		(*n)++;
	}
	if ((k == CK_SUFFIX ? cs->nsuffix : cs->nsite) == 0)
		report(r, line, "[credentials %s] %s: empty list", cs->name, ckey_names[k]);
}

int
config_cred_key(struct config *conf, int idx, const char *name, const char *value, int line,
    const struct config_cred_report *r)
{
	struct config_credset *cs;
	char *field = NULL;
	size_t k, size = 0;

	for (k = 0; k < NCKEYS; k++)
		if (strcmp(ckey_names[k], name) == 0)
			break;
	if (k == NCKEYS)
		return 0;
	if (idx < 0)
		return 1;	/* the header was refused and reported */
	cs = &conf->creds[idx];
	if (cs->seen & (1u << k)) {
		report(r, line, "[credentials %s] %s: set twice", cs->name, name);
		return 1;
	}
	cs->seen |= 1u << k;
	switch ((enum ckey)k) {
	case CK_DOMAIN: field = cs->domain; size = sizeof(cs->domain); break;
	case CK_USER: field = cs->user; size = sizeof(cs->user); break;
	case CK_PASSWORD_FILE: field = cs->password_file; size = sizeof(cs->password_file); break;
	case CK_KEYTAB: field = cs->keytab; size = sizeof(cs->keytab); break;
	case CK_PRINCIPAL: field = cs->principal; size = sizeof(cs->principal); break;
	case CK_SUFFIX:
	case CK_SITES:
		set_list(cs, (enum ckey)k, value, line, r);
		return 1;
	}
	if (strlen(value) >= size)
		report(r, line, "[credentials %s] %s: value longer than %zu bytes", cs->name, name, size - 1);
	else if ((k == CK_PASSWORD_FILE || k == CK_KEYTAB) && value[0] != '/')
		report(r, line, "[credentials %s] %s: \"%s\" is not an absolute path", cs->name, name, value);
	else
		util_strlcpy(field, value, size);
	return 1;
}

/*
 * The secret rules shared by [smb] and a set: exactly one of password_file and keytab, principal with keytab,
 * and no keytab under [smb] auth = ntlm (NTLM needs the password; every host of the set would fail).
 * what names the section in messages; a missing secret reads as a missing required key.
 */
static void
check_secret(const struct config *conf, const char *what, const char *pwfile, const char *keytab,
    const char *principal, int line, const struct config_cred_report *r)
{
	if (keytab[0] != '\0' && conf->smb.auth == CONFIG_AUTH_NTLM)
		report(r, line, "%s: a keytab needs [smb] auth = negotiate or kerberos (NTLM needs a password)",
		    what);
	if (pwfile[0] != '\0' && keytab[0] != '\0')
		report(r, line, "%s: password_file and keytab are exclusive", what);
	else if (pwfile[0] == '\0' && keytab[0] == '\0')
		report(r, line, "missing required key \"password_file\" in %s (or keytab)", what);
	if (keytab[0] != '\0' && principal[0] == '\0')
		report(r, line, "%s: keytab needs principal (the name in the keytab)", what);
	if (keytab[0] == '\0' && principal[0] != '\0')
		report(r, line, "%s: principal is only for a keytab", what);
}

/* A suffix or site code of set i also claimed by an earlier set: reported once, on set i's header line. */
static void
check_claims(const struct config *conf, int i, const struct config_cred_report *r)
{
	const struct config_credset *a = &conf->creds[i], *b;
	int j, x, y;

	for (j = 0; j <= i; j++) {
		b = &conf->creds[j];
		for (x = 0; x < a->nsuffix; x++)
			for (y = 0; y < (j == i ? x : b->nsuffix); y++)
				if (strcmp(a->suffix[x], b->suffix[y]) == 0)
					report(r, a->line, "[credentials %s] fqdn_suffix \"%s\" is already claimed by "
					    "[credentials %s] (line %d)", a->name, a->suffix[x], b->name, b->line);
		for (x = 0; x < a->nsite; x++)
			for (y = 0; y < (j == i ? x : b->nsite); y++)
				if (strcmp(a->site[x], b->site[y]) == 0)
					report(r, a->line, "[credentials %s] site code \"%s\" is already claimed by "
					    "[credentials %s] (line %d)", a->name, a->site[x], b->name, b->line);
	}
}

void
config_cred_finish(const struct config *conf, const struct config_cred_report *r)
{
	const struct config_credset *cs;
	char what[CONFIG_CRED_NAME_MAX + 16];
	int i;

	if (conf->kind != CONFIG_SCANNER)
		return;
	for (i = 0; i < conf->ncreds; i++) {
		cs = &conf->creds[i];
		snprintf(what, sizeof(what), "[credentials %s]", cs->name);
		if (cs->user[0] == '\0')
			report(r, cs->line, "missing required key \"user\" in %s", what);
		check_secret(conf, what, cs->password_file, cs->keytab, cs->principal, cs->line, r);
		if (cs->nsuffix == 0 && cs->nsite == 0)
			report(r, cs->line, "%s: names no fqdn_suffix and no site_codes: no host would use it", what);
		check_claims(conf, i, r);
	}
	/* [smb] is the whole configuration without sets, else the fallback set only when it has a user. */
	if (conf->smb.user[0] == '\0' && conf->ncreds == 0)
		report(r, 0, "missing required key \"user\" in [smb] (or a [credentials NAME] section)");
	if (conf->smb.user[0] != '\0' || conf->ncreds == 0)
		check_secret(conf, "[smb]", conf->smb.password_file, conf->smb.keytab, conf->smb.principal, 0, r);
	else if (conf->smb.password_file[0] != '\0' || conf->smb.keytab[0] != '\0')
		report(r, 0, "[smb]: password_file or keytab without user");
}
