/*
 * krb.c — the scanner's ticket caches (see krb.h), on the MIT krb5 API (krb5_get_init_creds_keytab(3),
 * krb5_cc_*(3), krb5_kt_*(3)).  The parent calls krb_open and krb_refresh when a mode starts (parent.c) and
 * krb_refresh again from the daemon loop (daemon.c), which is cheap when nothing is due; main.c's `-n` calls
 * krb_check_config; a worker calls krb_check_ccache before it connects with a keytab set (rpc.c, hostread.c).
 *
 * Life of one set's cache, <store>.krb/<set>.ccache:
 *
 *   none --krb_refresh: keytab → KDC ok--> fresh (due at start + 3/4 lifetime, or end - KRB_MARGIN_S if sooner)
 *    ^  \--KDC refuses / keytab lacks the principal--> failed (logged; retried after KRB_RETRY_S; workers
 *    |                                                 then report "kerberos" naming the principal)
 *   fresh --due: krb_refresh gets a new TGT into <set>.ccache.<pid>.new, rename(2) over the old--> fresh
 *
 * Renewal is a new AS exchange from the keytab rather than a TGS renewal (RFC 4120 2.3): it works whatever
 * the KDC's renewable lifetime, and the keytab is there anyway.  Samba in the workers reads the cache by name
 * at every connect, so a renamed cache is picked up by the next host.  Samba is linked with its own Heimdal;
 * both read and write the same FILE cache format (version 4).  No state outside struct krb.
 */
#include "krb.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KRB_SETS_MAX	(CONFIG_CREDSETS_MAX + 1)	/* [smb] and each [credentials] set */
#define KRB_FILE	"FILE:"

struct krb_set {
	char		 name[CONFIG_STR];	/* "smb" or the [credentials] NAME */
	char		 keytab[PATH_MAX];
	char		 principal[CONFIG_STR];
	char		 path[PATH_MAX];	/* the cache file, without "FILE:" */
	time_t		 due;			/* 0: no ticket yet */
	time_t		 retry_at;		/* after a failure: not before */
	time_t		 end;			/* the ticket's end time, 0 if none */
};

struct krb {
	krb5_context	 ctx;
	int		 n;
	struct krb_set	 set[KRB_SETS_MAX];
};

static void	krb_load(struct krb *, struct krb_set *, time_t);

/*
 * Our words for the failures an operator meets (krb5 error codes: MIT's krb5.h / RFC 4120 7.5.9).  krb5's own
 * message is added when it has one: in a process that also holds Samba's Heimdal, both libraries register
 * error tables with com_err and MIT's text may come out as "Unknown error".
 */
static const struct { krb5_error_code code; const char *text; } krb_words[] = {
	{ KRB5_FCC_NOFILE,			"no ticket cache" },
	{ KRB5_CC_NOTFOUND,			"no ticket in the cache" },
	{ KRB5_CC_END,				"no ticket in the cache" },
	{ KRB5_KT_NOTFOUND,			"the keytab has no key for this principal" },
	{ ENOENT,				"no such keytab file" },
	{ KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN,	"the KDC does not know this principal" },
	{ KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN,	"the KDC does not know the service principal" },
	{ KRB5KDC_ERR_PREAUTH_FAILED,		"the KDC refused the key (wrong key version or password)" },
	{ KRB5KRB_AP_ERR_BAD_INTEGRITY,		"the KDC refused the key (wrong key version or password)" },
	{ KRB5KDC_ERR_CLIENT_REVOKED,		"the account is disabled or locked" },
	{ KRB5KDC_ERR_KEY_EXP,			"the account's password has expired" },
	{ KRB5_KDC_UNREACH,			"no KDC of the realm answers" },
	{ KRB5_REALM_UNKNOWN,			"the realm is not in krb5.conf" },
	{ KRB5_REALM_CANT_RESOLVE,		"the realm's KDC cannot be found" },
	{ KRB5KRB_AP_ERR_SKEW,			"the clocks of the scanner and the KDC differ too much" },
	{ KRB5_KDCREP_SKEW,			"the clocks of the scanner and the KDC differ too much" },
	{ KRB5KRB_AP_ERR_TKT_EXPIRED,		"the ticket has expired" },
};

/* err = "what: our word (krb5 error N: krb5's message)". */
static int
krb_fail(krb5_context ctx, krb5_error_code code, char *err, size_t errlen, const char *what)
{
	const char	*m = ctx != NULL ? krb5_get_error_message(ctx, code) : NULL, *w = NULL;
	size_t		 i;

	for (i = 0; i < sizeof(krb_words) / sizeof(krb_words[0]) && w == NULL; i++)
		if (krb_words[i].code == code)
			w = krb_words[i].text;
	util_err(err, errlen, "%s: %s (krb5 error %ld%s%s)", what, w != NULL ? w : "Kerberos error", (long)code,
	    m != NULL && strncmp(m, "Unknown error", 13) != 0 ? ": " : "",
	    m != NULL && strncmp(m, "Unknown error", 13) != 0 ? m : "");
	if (m != NULL)
		krb5_free_error_message(ctx, m);
	return -1;
}

int
krb_ccache_name(const char *store, const char *set, char *out, size_t size, char *err, size_t errlen)
{
	int n = snprintf(out, size, KRB_FILE "%s.krb/%s.ccache", store, set);

	if (n < 0 || (size_t)n >= size || strchr(set, '/') != NULL)
		return util_err(err, errlen, "ticket cache name for set %s too long or bad", set);
	return 0;
}

/* <store>.krb: create it 0700 if absent; refuse a link, a non-directory, another owner, group/other bits. */
static int
krb_dir(const char *store, char *err, size_t errlen)
{
	char		dir[PATH_MAX];
	struct stat	sb;
	int		n = snprintf(dir, sizeof(dir), "%s.krb", store);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return util_err(err, errlen, "ticket cache directory name too long");
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return util_err(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	if (lstat(dir, &sb) == -1)
		return util_err(err, errlen, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077) != 0)
		return util_err(err, errlen, "%s: not a directory of ours with mode 0700", dir);
	return 0;
}

/* Add one keytab set.  0, or -1 with err. */
static int
krb_add(struct krb *k, const struct config *conf, const char *name, const char *keytab, const char *principal,
    char *err, size_t errlen)
{
	struct krb_set	*s;
	char		 cc[PATH_MAX + 8];

	if (k->n >= KRB_SETS_MAX)
		return util_err(err, errlen, "too many keytab sets");
	s = &k->set[k->n];
	memset(s, 0, sizeof(*s));
	if (krb_ccache_name(conf->store.path, name, cc, sizeof(cc), err, errlen) == -1 ||
	    strlen(cc) - strlen(KRB_FILE) >= sizeof(s->path) - 32)	/* room for ".<pid>.new" */
		return util_err(err, errlen, "ticket cache name for set %s too long", name);
	util_strlcpy(s->name, name, sizeof(s->name));
	util_strlcpy(s->keytab, keytab, sizeof(s->keytab));
	util_strlcpy(s->principal, principal, sizeof(s->principal));
	util_strlcpy(s->path, cc + strlen(KRB_FILE), sizeof(s->path));
	k->n++;
	return 0;
}

int
krb_open(struct krb **out, const struct config *conf, char *err, size_t errlen)
{
	struct krb	*k;
	krb5_error_code	 code;
	int		 i;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return util_err(err, errlen, "out of memory");
	if (conf->smb.keytab[0] != '\0' &&
	    krb_add(k, conf, CONFIG_CRED_SMB, conf->smb.keytab, conf->smb.principal, err, errlen) == -1)
		goto fail;
	for (i = 0; i < conf->ncreds; i++)
		if (conf->creds[i].keytab[0] != '\0' && krb_add(k, conf, conf->creds[i].name,
		    conf->creds[i].keytab, conf->creds[i].principal, err, errlen) == -1)
			goto fail;
	if (k->n > 0) {
		if (krb_dir(conf->store.path, err, errlen) == -1)
			goto fail;
		if ((code = krb5_init_context(&k->ctx)) != 0) {
			util_err(err, errlen, "krb5_init_context: error %ld (krb5.conf: KRB5_CONFIG)", (long)code);
			goto fail;
		}
		for (i = 0; i < k->n; i++)
			krb_load(k, &k->set[i], time(NULL));
	}
	*out = k;
	return 0;
fail:
	krb_close(k);
	return -1;
}

/* Write creds for p into path.<pid>.new, then rename it over path.  0, or -1 with err. */
static int
krb_store(krb5_context ctx, krb5_principal p, krb5_creds *creds, const char *path, char *err, size_t errlen)
{
	char		tmp[PATH_MAX], name[PATH_MAX + 8];
	krb5_ccache	cc = NULL;
	krb5_error_code	code;

	/* One name per process: a fix command and the daemon may renew at the same moment. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.new", path, (long)getpid());
	snprintf(name, sizeof(name), KRB_FILE "%s", tmp);
	(void)unlink(tmp);
	if ((code = krb5_cc_resolve(ctx, name, &cc)) != 0 || (code = krb5_cc_initialize(ctx, cc, p)) != 0 ||
	    (code = krb5_cc_store_cred(ctx, cc, creds)) != 0) {
		if (cc != NULL)
			krb5_cc_close(ctx, cc);
		(void)unlink(tmp);
		return krb_fail(ctx, code, err, errlen, tmp);
	}
	krb5_cc_close(ctx, cc);
	if (rename(tmp, path) == -1) {
		util_err(err, errlen, "rename %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* When a ticket valid from start to end is got again: at 3/4 of its lifetime, or KRB_MARGIN_S before its end if
 * sooner, never sooner than KRB_RETRY_S from now (a lifetime under the margin). */
static time_t
krb_due(time_t start, time_t end, time_t now)
{
	time_t due = start + (end > start ? end - start : 0) * 3 / 4;

	if (due > end - KRB_MARGIN_S)
		due = end - KRB_MARGIN_S;
	return due < now + KRB_RETRY_S ? now + KRB_RETRY_S : due;
}

/* A ticket already in s's cache (another scanner process got it, or this one before a restart): when it is
 * due again, so a start does not ask the KDC for a ticket it has.  s->due stays 0 when there is none. */
static void
krb_load(struct krb *k, struct krb_set *s, time_t now)
{
	krb5_ccache	cc = NULL;
	krb5_principal	p = NULL;
	krb5_creds	mc, c;
	krb5_data	*realm;
	char		name[PATH_MAX + 8];
	time_t		start;

	snprintf(name, sizeof(name), KRB_FILE "%s", s->path);
	memset(&mc, 0, sizeof(mc));
	if (krb5_parse_name(k->ctx, s->principal, &p) != 0 || krb5_cc_resolve(k->ctx, name, &cc) != 0)
		goto done;
	realm = krb5_princ_realm(k->ctx, p);
	mc.client = p;
	if (krb5_build_principal_ext(k->ctx, &mc.server, realm->length, realm->data, KRB5_TGS_NAME_SIZE,
	    KRB5_TGS_NAME, realm->length, realm->data, 0) != 0)
		goto done;
	if (krb5_cc_retrieve_cred(k->ctx, cc, 0, &mc, &c) == 0) {
		start = c.times.starttime != 0 ? c.times.starttime : c.times.authtime;
		if (c.times.endtime - now > KRB_MARGIN_S && start <= now) {
			s->end = c.times.endtime;
			s->due = krb_due(start, s->end, now);
		}
		krb5_free_cred_contents(k->ctx, &c);
	}
done:
	if (mc.server != NULL)
		krb5_free_principal(k->ctx, mc.server);
	if (cc != NULL)
		krb5_cc_close(k->ctx, cc);
	if (p != NULL)
		krb5_free_principal(k->ctx, p);
}

/* One AS exchange for s from its keytab into its cache.  0 with s->due and s->end set, or -1 with err. */
static int
krb_get(struct krb *k, struct krb_set *s, time_t now, char *err, size_t errlen)
{
	krb5_principal		 p = NULL;
	krb5_keytab		 kt = NULL;
	krb5_get_init_creds_opt	*opt = NULL;
	krb5_creds		 creds;
	krb5_error_code		 code;
	char			 ktname[PATH_MAX + 8], what[CONFIG_STR * 2 + PATH_MAX + 64];
	time_t			 start, life;
	int			 rc = -1, have = 0;

	memset(&creds, 0, sizeof(creds));
	snprintf(ktname, sizeof(ktname), "FILE:%s", s->keytab);
	snprintf(what, sizeof(what), "no ticket for %s (set %s) from keytab %s", s->principal, s->name,
	    s->keytab);
	if ((code = krb5_parse_name(k->ctx, s->principal, &p)) != 0 ||
	    (code = krb5_kt_resolve(k->ctx, ktname, &kt)) != 0 ||
	    (code = krb5_get_init_creds_opt_alloc(k->ctx, &opt)) != 0 ||
	    (code = krb5_get_init_creds_keytab(k->ctx, &creds, p, kt, 0, NULL, opt)) != 0) {
		krb_fail(k->ctx, code, err, errlen, what);
		goto done;
	}
	have = 1;
	if (krb_store(k->ctx, p, &creds, s->path, err, errlen) == -1)
		goto done;
	start = creds.times.starttime != 0 ? creds.times.starttime : creds.times.authtime;
	if (start == 0 || start > now)
		start = now;
	s->end = creds.times.endtime;
	life = s->end > start ? s->end - start : 0;
	s->due = krb_due(start, s->end, now);
	log_info("kerberos: ticket for %s (set %s) from keytab %s, lifetime %ld s, next at +%ld s", s->principal,
	    s->name, s->keytab, (long)life, (long)(s->due - now));
	rc = 0;
done:
	if (have)
		krb5_free_cred_contents(k->ctx, &creds);
	if (opt != NULL)
		krb5_get_init_creds_opt_free(k->ctx, opt);
	if (kt != NULL)
		krb5_kt_close(k->ctx, kt);
	if (p != NULL)
		krb5_free_principal(k->ctx, p);
	return rc;
}

int
krb_refresh(struct krb *k, time_t now, char *err, size_t errlen)
{
	struct krb_set	*s;
	int		 i, failed = 0;

	for (i = 0; k != NULL && i < k->n; i++) {
		s = &k->set[i];
		if ((s->due != 0 && now < s->due) || now < s->retry_at)
			continue;
		if (krb_get(k, s, now, err, errlen) == -1) {
			failed++;
			s->retry_at = now + KRB_RETRY_S;
			log_warnx("kerberos: %s; %s", err, s->end > now ? "the current ticket stays in use" :
			    "hosts of this set are unreachable (kerberos) until a ticket is got");
		}
	}
	return failed;
}

int
krb_count(const struct krb *k)
{
	return k != NULL ? k->n : 0;
}

void
krb_close(struct krb *k)
{
	if (k == NULL)
		return;
	if (k->ctx != NULL)
		krb5_free_context(k->ctx);
	free(k);
}

int
krb_check_keytab(const char *keytab, const char *principal, char *err, size_t errlen)
{
	krb5_context		ctx = NULL;
	krb5_principal		p = NULL;
	krb5_keytab		kt = NULL;
	krb5_keytab_entry	e;
	krb5_error_code		code;
	char			ktname[PATH_MAX + 8], what[CONFIG_STR + PATH_MAX + 32];
	int			rc = -1;

	snprintf(ktname, sizeof(ktname), "FILE:%s", keytab);
	snprintf(what, sizeof(what), "keytab %s has no key for %s", keytab, principal);
	if ((code = krb5_init_context(&ctx)) != 0)
		return util_err(err, errlen, "krb5_init_context: error %ld", (long)code);
	if ((code = krb5_parse_name(ctx, principal, &p)) != 0 ||
	    (code = krb5_kt_resolve(ctx, ktname, &kt)) != 0 ||
	    (code = krb5_kt_get_entry(ctx, kt, p, 0, 0, &e)) != 0) {
		krb_fail(ctx, code, err, errlen, what);
		goto done;
	}
	krb5_free_keytab_entry_contents(ctx, &e);
	rc = 0;
done:
	if (kt != NULL)
		krb5_kt_close(ctx, kt);
	if (p != NULL)
		krb5_free_principal(ctx, p);
	krb5_free_context(ctx);
	return rc;
}

int
krb_check_config(const struct config *conf, char *errs, size_t errlen)
{
	char	err[1024];
	size_t	o;
	int	i, bad = 0;

	for (i = -1; i < conf->ncreds; i++) {
		const char *kt = i < 0 ? conf->smb.keytab : conf->creds[i].keytab;
		const char *pr = i < 0 ? conf->smb.principal : conf->creds[i].principal;

		if (kt[0] == '\0' || krb_check_keytab(kt, pr, err, sizeof(err)) == 0)
			continue;
		bad++;
		o = strlen(errs);
		if (o < errlen)
			snprintf(errs + o, errlen - o, "%s: [%s%s]: %s\n", conf->file, i < 0 ? "smb" : "credentials ",
			    i < 0 ? "" : conf->creds[i].name, err);
	}
	return bad;
}

/* The TGT krbtgt/REALM@REALM of p's realm in cc: 0 with *end, or a krb5 error code. */
static krb5_error_code
krb_tgt_end(krb5_context ctx, krb5_ccache cc, krb5_principal p, time_t *end)
{
	krb5_creds	mc, c;
	krb5_data	*realm = krb5_princ_realm(ctx, p);
	krb5_error_code	code;

	memset(&mc, 0, sizeof(mc));
	mc.client = p;
	if ((code = krb5_build_principal_ext(ctx, &mc.server, realm->length, realm->data, KRB5_TGS_NAME_SIZE,
	    KRB5_TGS_NAME, realm->length, realm->data, 0)) != 0)
		return code;
	code = krb5_cc_retrieve_cred(ctx, cc, 0, &mc, &c);
	krb5_free_principal(ctx, mc.server);
	if (code != 0)
		return code;
	*end = c.times.endtime;
	krb5_free_cred_contents(ctx, &c);
	return 0;
}

int
krb_check_ccache(const char *ccache, const char *principal, long *left, char *err, size_t errlen)
{
	krb5_context	ctx = NULL;
	krb5_ccache	cc = NULL;
	krb5_principal	p = NULL, cp = NULL;
	krb5_error_code	code;
	time_t		end = 0, now = time(NULL);
	char		what[CONFIG_STR + PATH_MAX + 64];
	int		rc = -1;

	if (left != NULL)
		*left = 0;
	snprintf(what, sizeof(what), "no usable ticket for %s in %s", principal, ccache);
	if ((code = krb5_init_context(&ctx)) != 0)
		return util_err(err, errlen, "%s: krb5_init_context error %ld", what, (long)code);
	if ((code = krb5_parse_name(ctx, principal, &p)) != 0 || (code = krb5_cc_resolve(ctx, ccache, &cc)) != 0 ||
	    (code = krb5_cc_get_principal(ctx, cc, &cp)) != 0) {
		krb_fail(ctx, code, err, errlen, what);
		goto done;
	}
	if (!krb5_principal_compare(ctx, p, cp)) {
		util_err(err, errlen, "%s: the cache holds another principal", what);
		goto done;
	}
	if ((code = krb_tgt_end(ctx, cc, p, &end)) != 0) {
		krb_fail(ctx, code, err, errlen, what);
		goto done;
	}
	if (left != NULL)
		*left = end > now ? (long)(end - now) : 0;
	if (end - now < KRB_SAMBA_MIN_S) {
		char iso[UTIL_ISO_LEN];

		util_iso_time(end, iso);
		util_err(err, errlen, "%s: the ticket %s at %s (the scanner could not get a new one from the "
		    "keytab: see its log)", what, end <= now ? "expired" : "expires", iso);
		goto done;
	}
	rc = 0;
done:
	if (cp != NULL)
		krb5_free_principal(ctx, cp);
	if (p != NULL)
		krb5_free_principal(ctx, p);
	if (cc != NULL)
		krb5_cc_close(ctx, cc);
	krb5_free_context(ctx);
	return rc;
}

int
krb_ensure(const struct config *conf)
{
	struct krb	*k = NULL;
	char		 err[1024];
	int		 failed;

	if (krb_open(&k, conf, err, sizeof(err)) == -1) {
		log_warnx("kerberos: %s", err);
		return 1;
	}
	failed = krb_refresh(k, time(NULL), err, sizeof(err));
	krb_close(k);
	return failed;
}
