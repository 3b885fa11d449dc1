/*
 * test_krb.c — scanner/krb.c without a KDC: the ticket cache's name, the private directory's checks, `-n`'s
 * keytab check (a keytab written here with MIT krb5's own API holds one principal), a worker's check of a
 * cache (caches written here with a TGT of a chosen end time, another principal, none), and krb_refresh
 * against a realm whose KDC refuses at once (krb5.conf in the scratch directory, KRB5_CONFIG): the failure
 * names the principal and is not retried before KRB_RETRY_S.  Every file lives in a scratch directory removed
 * at the end.
 */
#include "check.h"
#include "krb.h"
#include "log.h"

#include <krb5.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REALM	"TEST.REALM"
#define PRINC	"svc@" REALM

static char dir[] = "/tmp/dpf-test-krb-XXXXXX";

/* A keytab at path holding one random AES key for PRINC. */
static void
make_keytab(krb5_context ctx, const char *path)
{
	krb5_keytab		kt;
	krb5_keytab_entry	e;
	char			name[512];

	memset(&e, 0, sizeof(e));
	snprintf(name, sizeof(name), "FILE:%s", path);
	CHECK(krb5_kt_resolve(ctx, name, &kt) == 0);
	CHECK(krb5_parse_name(ctx, PRINC, &e.principal) == 0);
	e.vno = 1;
	CHECK(krb5_c_make_random_key(ctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &e.key) == 0);
	CHECK(krb5_kt_add_entry(ctx, kt, &e) == 0);
	krb5_free_keyblock_contents(ctx, &e.key);
	krb5_free_principal(ctx, e.principal);
	krb5_kt_close(ctx, kt);
	CHECK(chmod(path, 0600) == 0);
}

/* A cache at name for client holding a TGT of REALM that ends at end (the ticket bytes are not a ticket). */
static void
make_cache(krb5_context ctx, const char *name, const char *client, time_t end)
{
	krb5_ccache	cc;
	krb5_creds	c;
	char		blob[] = "not a ticket";

	memset(&c, 0, sizeof(c));
	CHECK(krb5_parse_name(ctx, client, &c.client) == 0);
	CHECK(krb5_parse_name(ctx, "krbtgt/" REALM "@" REALM, &c.server) == 0);
	c.times.authtime = c.times.starttime = time(NULL) - 60;
	c.times.endtime = end;
	c.ticket.data = blob;
	c.ticket.length = sizeof(blob);
	CHECK(krb5_cc_resolve(ctx, name, &cc) == 0);
	CHECK(krb5_cc_initialize(ctx, cc, c.client) == 0);
	CHECK(krb5_cc_store_cred(ctx, cc, &c) == 0);
	krb5_cc_close(ctx, cc);
	krb5_free_principal(ctx, c.client);
	krb5_free_principal(ctx, c.server);
}

static void
test_names(void)
{
	char out[256], err[256];

	CHECK(krb_ccache_name("/var/lib/dpfleet/state.db", "smb", out, sizeof(out), err, sizeof(err)) == 0);
	CHECK_STR(out, "FILE:/var/lib/dpfleet/state.db.krb/smb.ccache");
	CHECK(krb_ccache_name("/s", "a/b", out, sizeof(out), err, sizeof(err)) == -1);
	CHECK(krb_ccache_name("/s", "smb", out, 8, err, sizeof(err)) == -1);
}

static void
test_keytab(krb5_context ctx)
{
	char kt[512], missing[512], err[1024];

	snprintf(kt, sizeof(kt), "%s/svc.keytab", dir);
	snprintf(missing, sizeof(missing), "%s/none.keytab", dir);
	make_keytab(ctx, kt);
	CHECK(krb_check_keytab(kt, PRINC, err, sizeof(err)) == 0);
	CHECK(krb_check_keytab(kt, "other@" REALM, err, sizeof(err)) == -1);
	CHECK(strstr(err, "other@" REALM) != NULL && strstr(err, "no key") != NULL);
	CHECK(krb_check_keytab(missing, PRINC, err, sizeof(err)) == -1);
	CHECK(strstr(err, PRINC) != NULL && strstr(err, missing) != NULL);
}

static void
test_ccache(krb5_context ctx)
{
	char name[512], err[1024];
	long left = -1;

	snprintf(name, sizeof(name), "FILE:%s/none.ccache", dir);
	CHECK(krb_check_ccache(name, PRINC, &left, err, sizeof(err)) == -1);
	CHECK(strstr(err, PRINC) != NULL && strstr(err, "no ticket cache") != NULL && left == 0);
	snprintf(name, sizeof(name), "FILE:%s/good.ccache", dir);
	make_cache(ctx, name, PRINC, time(NULL) + 3600);
	CHECK(krb_check_ccache(name, PRINC, &left, err, sizeof(err)) == 0);
	CHECK(left > 3500 && left <= 3600);
	CHECK(krb_check_ccache(name, "other@" REALM, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "other@" REALM) != NULL && strstr(err, "another principal") != NULL);
	snprintf(name, sizeof(name), "FILE:%s/short.ccache", dir);
	make_cache(ctx, name, PRINC, time(NULL) + KRB_SAMBA_MIN_S - 10);	/* Samba would not use it */
	CHECK(krb_check_ccache(name, PRINC, &left, err, sizeof(err)) == -1);
	CHECK(strstr(err, PRINC) != NULL && strstr(err, "expires at") != NULL && left > 0);
	snprintf(name, sizeof(name), "FILE:%s/old.ccache", dir);
	make_cache(ctx, name, PRINC, time(NULL) - 10);
	CHECK(krb_check_ccache(name, PRINC, &left, err, sizeof(err)) == -1);
	CHECK(strstr(err, "expired at") != NULL && left == 0);
}

/* A conf whose store is in the scratch directory, [smb] with a keytab, one [credentials] set with another. */
static void
conf_init(struct config *conf, const char *principal2)
{
	memset(conf, 0, sizeof(*conf));
	snprintf(conf->file, sizeof(conf->file), "scanner.conf");
	snprintf(conf->store.path, sizeof(conf->store.path), "%s/state.db", dir);
	snprintf(conf->smb.keytab, sizeof(conf->smb.keytab), "%s/svc.keytab", dir);
	snprintf(conf->smb.principal, sizeof(conf->smb.principal), "%s", PRINC);
	conf->ncreds = 1;
	snprintf(conf->creds[0].name, sizeof(conf->creds[0].name), "dmz");
	snprintf(conf->creds[0].keytab, sizeof(conf->creds[0].keytab), "%s/svc.keytab", dir);
	snprintf(conf->creds[0].principal, sizeof(conf->creds[0].principal), "%s", principal2);
}

static void
test_config(void)
{
	static struct config conf;
	char errs[2048] = "";

	conf_init(&conf, PRINC);
	CHECK(krb_check_config(&conf, errs, sizeof(errs)) == 0);
	conf_init(&conf, "nobody@" REALM);
	CHECK(krb_check_config(&conf, errs, sizeof(errs)) == 1);
	CHECK(strstr(errs, "[credentials dmz]") != NULL && strstr(errs, "nobody@" REALM) != NULL);
}

static void
test_open_refresh(void)
{
	static struct config conf;
	struct krb *k = NULL;
	struct stat sb;
	char kdir[512], err[1024], conffile[512];
	FILE *f;
	time_t now = time(NULL);

	/* A realm whose KDC is a closed UDP port on loopback: refused at once. */
	snprintf(conffile, sizeof(conffile), "%s/krb5.conf", dir);
	CHECK((f = fopen(conffile, "w")) != NULL);
	if (f != NULL) {
		fprintf(f, "[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_kdc = false\n[realms]\n\t%s = {\n"
		    "\t\tkdc = 127.0.0.1:9\n\t}\n", REALM, REALM);
		fclose(f);
	}
	setenv("KRB5_CONFIG", conffile, 1);
	conf_init(&conf, PRINC);
	snprintf(kdir, sizeof(kdir), "%s/state.db.krb", dir);
	CHECK(krb_open(&k, &conf, err, sizeof(err)) == 0);
	CHECK(krb_count(k) == 2);
	CHECK(lstat(kdir, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	CHECK(krb_refresh(k, now, err, sizeof(err)) == 2);
	CHECK(strstr(err, "no ticket for " PRINC) != NULL);
	CHECK(krb_refresh(k, now + 1, err, sizeof(err)) == 0);		/* backing off */
	CHECK(krb_refresh(k, now + KRB_RETRY_S, err, sizeof(err)) == 2);	/* tried again */
	krb_close(k);
	/* A directory open to others is refused. */
	CHECK(chmod(kdir, 0755) == 0);
	CHECK(krb_open(&k, &conf, err, sizeof(err)) == -1 && k == NULL);
	CHECK(strstr(err, "0700") != NULL);
	/* No keytab set: nothing to hold, no directory needed. */
	conf.smb.keytab[0] = '\0';
	conf.ncreds = 0;
	CHECK(krb_open(&k, &conf, err, sizeof(err)) == 0 && krb_count(k) == 0);
	CHECK(krb_refresh(k, now, err, sizeof(err)) == 0);
	krb_close(k);
}

int
main(void)
{
	krb5_context ctx;

	log_init(1, 0, "test_krb");
	if (check_tmpdir(dir) == NULL || krb5_init_context(&ctx) != 0)
		return 1;
	test_names();
	test_keytab(ctx);
	test_ccache(ctx);
	test_config();
	test_open_refresh();
	krb5_free_context(ctx);
	check_rmtree(dir);
	return check_done("krb");
}
