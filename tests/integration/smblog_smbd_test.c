/*
 * smblog_smbd_test.c — the C driver smblog_smbd_test.py runs against a real smbd: one smblog call per run, the
 * outcome printed as one "key=value ..." line on stdout, fetched bytes written to files for the script to compare.
 * The password comes from the environment (SMBLOG_TEST_PASSWORD), never argv.
 *
 *   smblog_smbd_test ADDR USER tail SHARE PATH TAIL OUTFILE
 *   smblog_smbd_test ADDR USER pxe TAIL OUTDIR [SITE]   (placements in order, SMS_<SITE> first when given,
 *                                                        then the newest history copy; SMBLOG_TEST_NOT_MP set:
 *                                                        not an MP, SMS_CCM not looked at; also parses the tails
 *                                                        with logparse; SMBLOG_TEST_REPEAT=N fetches N times,
 *                                                        for a figure)
 *   smblog_smbd_test ADDR USER dir SHARE DIR           (smblog_dir_exists)
 *   smblog_smbd_test ADDR USER certmgr CODE TAIL FQDN   (CertMgr.log and .lo_; looks FQDN up in both with
 *                                                        logparse_certmgr_host)
 * ADDR is an IPv4 or IPv6 address (smblog turns the latter into its ipv6-literal.net name); SMBLOG_TEST_NAME,
 * when set, is the name to connect by instead (struct smblog_host).
 *
 * Every line also reports smb_sockets=N: TCP connections to port 445 this process still holds after the call
 * (after smblog_purge for pxe/certmgr, so it must be 0 there), and ms=N, the call's duration (printed, not
 * asserted).  Exit 0 when the call returned 0, 1 when it returned -1, 2 on usage or local errors.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logparse.h"
#include "smblog.h"
#include "util.h"

/* Count this process's sockets that /proc/net/tcp{,6} shows ESTABLISHED to remote port 445. */
static int
smb_sockets(void)
{
	static const char *tabs[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned long inodes[256];
	size_t ni = 0, t;
	char path[300], link[64], line[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && ni < 256) {
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if ((l = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &inodes[ni]) == 1)
			ni++;
	}
	closedir(d);
	for (t = 0; t < 2; t++) {
		FILE *f = fopen(tabs[t], "r");

		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			char rem[64];
			unsigned st, port;
			unsigned long inode;
			size_t i;

			if (sscanf(line, "%*s %*s %63s %x %*s %*s %*s %*s %*s %lu", rem, &st, &inode) != 3)
				continue;
			if (strchr(rem, ':') == NULL || sscanf(strchr(rem, ':') + 1, "%x", &port) != 1)
				continue;
			if (port != 445 || st != 1)
				continue;
			for (i = 0; i < ni; i++)
				if (inodes[i] == inode)
					n++;
		}
		fclose(f);
	}
	return n;
}

static int
write_file(const char *path, const char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (n > 0 && fwrite(b, 1, n, f) != n)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Write px's buffers into dir (SMSPXE.log, SMSPXE.lo_, HIST).  0 or -1. */
static int
write_pxe(const struct smblog_pxe *px, const char *dir)
{
	char path[1024];
	int rc = 0;

	snprintf(path, sizeof(path), "%s/SMSPXE.log", dir);
	if (px->log != NULL && write_file(path, px->log, px->log_len) != 0)
		rc = -1;
	snprintf(path, sizeof(path), "%s/SMSPXE.lo_", dir);
	if (px->lo_ != NULL && write_file(path, px->lo_, px->lo__len) != 0)
		rc = -1;
	snprintf(path, sizeof(path), "%s/HIST", dir);
	if (px->hist != NULL && write_file(path, px->hist, px->hist_len) != 0)
		rc = -1;
	return rc;
}

/* One fetch: the placement, then the history copy next to it; purged after.  Returns smblog's rc. */
static int
fetch_pxe(struct smblog *sl, const struct smblog_host *h, const char *site, size_t tail, struct smblog_pxe *px,
    enum smblog_status *st, char *err, size_t errlen)
{
	enum smblog_status hst;
	int rc;

	rc = smblog_fetch_pxe(sl, h, site, getenv("SMBLOG_TEST_NOT_MP") == NULL, tail, px, st, err, errlen);
	if (rc == 0 && *st == SMBLOG_OK && smblog_fetch_pxe_history(sl, h, tail, px, &hst, err, errlen) != 0)
		rc = -1;
	smblog_purge(sl);
	return rc;
}

/* pxe MAXBYTES OUTDIR [SITE]: smblog_fetch_pxe (+ history), parsed; the exit code. */
static int
mode_pxe(struct smblog *sl, const struct smblog_host *h, int argc, char *argv[], int64_t t0)
{
	enum smblog_status st = SMBLOG_ERROR;
	struct smblog_pxe px;
	struct logparse_pxe *lp = malloc(sizeof(*lp));
	const char *rep = getenv("SMBLOG_TEST_REPEAT"), *site = argc > 6 ? argv[6] : NULL;
	size_t tail = strtoul(argv[4], NULL, 10);
	char err[512] = "";
	long i, reps = rep ? atol(rep) : 1;
	int rc;

	/* SMBLOG_TEST_REPEAT=N: N-1 extra fetches first, to print a per-fetch figure (ms covers all N) */
	for (i = 1; i < reps; i++) {
		if (fetch_pxe(sl, h, site, tail, &px, &st, err, sizeof(err)) != 0)
			break;
		smblog_pxe_free(&px);
	}
	rc = fetch_pxe(sl, h, site, tail, &px, &st, err, sizeof(err));
	printf("rc=%d status=%s place=%s share=%s dir=%s log=%zd lo_=%zd hist=%s hist_len=%zd ms=%lld "
	    "smb_sockets=%d", rc, smblog_status_str(st), px.share[0] ? smblog_place_str(px.place) : "-",
	    px.share[0] ? px.share : "-", px.dir ? px.dir : "-", px.log ? (ssize_t)px.log_len : -1,
	    px.lo_ ? (ssize_t)px.lo__len : -1, px.hist_name[0] ? px.hist_name : "-",
	    px.hist ? (ssize_t)px.hist_len : -1, (long long)(util_mono_ms() - t0), smb_sockets());
	if (lp != NULL) {
		logparse_pxe_init(lp);
		if (px.hist != NULL)
			logparse_smspxe(px.hist, px.hist_len, 0, lp, err, sizeof(err));
		if (px.lo_ != NULL)
			logparse_smspxe(px.lo_, px.lo__len, 0, lp, err, sizeof(err));
		if (px.log != NULL)
			logparse_smspxe(px.log, px.log_len, 0, lp, err, sizeof(err));
		printf(" cert_errors=%d last_error=%s evidence=%zu", lp->cert_errors,
		    lp->last_error_iso[0] ? lp->last_error_iso : "-", lp->evidence.n);
	}
	printf(" err=\"%s\"\n", err);
	if (write_pxe(&px, argv[5]) != 0)
		rc = -2;
	smblog_pxe_free(&px);
	free(lp);
	return rc == 0 ? 0 : rc == -1 ? 1 : 2;
}

/* certmgr CODE MAXBYTES FQDN: both CertMgr files; FQDN's denials counted over .lo_ then .log. */
static int
mode_certmgr(struct smblog *sl, const struct smblog_host *h, char *argv[], int64_t t0)
{
	struct logparse_certmgr_hit *hit = malloc(sizeof(*hit));
	struct smblog_certmgr cm;
	enum smblog_status st = SMBLOG_ERROR;
	char err[512] = "", last[64] = "-";
	int rc, denied = 0;

	rc = smblog_fetch_certmgr(sl, h, argv[4], strtoul(argv[5], NULL, 10), &cm, &st, err, sizeof(err));
	printf("rc=%d status=%s log=%zd lo_=%zd ms=%lld smb_sockets=%d", rc, smblog_status_str(st),
	    cm.log ? (ssize_t)cm.log_len : -1, cm.lo_ ? (ssize_t)cm.lo__len : -1, (long long)(util_mono_ms() - t0),
	    smb_sockets());
	if (hit != NULL && cm.lo_ != NULL && logparse_certmgr_host(cm.lo_, cm.lo__len, 0, argv[6], hit, err,
	    sizeof(err)) == 0) {
		denied += hit->count;
		if (hit->last_iso[0])
			snprintf(last, sizeof(last), "%s", hit->last_iso);
	}
	if (hit != NULL && cm.log != NULL && logparse_certmgr_host(cm.log, cm.log_len, 0, argv[6], hit, err,
	    sizeof(err)) == 0) {
		denied += hit->count;
		if (hit->last_iso[0])
			snprintf(last, sizeof(last), "%s", hit->last_iso);
	}
	if (cm.log != NULL || cm.lo_ != NULL)
		printf(" denied=%d last=%s", denied, last);
	printf(" err=\"%s\"\n", err);
	smblog_certmgr_free(&cm);
	free(hit);
	return rc == 0 ? 0 : 1;
}

/*
 * The credential set (scanner/cred.h): domain LAB (SMBLOG_TEST_DOMAIN), auth ntlm unless SMBLOG_TEST_AUTH says
 * negotiate or kerberos; SMBLOG_TEST_CCACHE and SMBLOG_TEST_PRINCIPAL make it a keytab set.
 */
static void
test_cred(struct cred *cr, const char *user, const char *pw)
{
	const char *a = getenv("SMBLOG_TEST_AUTH"), *v;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->name, sizeof(cr->name), "smb");
	cr->auth = a == NULL ? CRED_AUTH_NTLM : strcmp(a, "kerberos") == 0 ? CRED_AUTH_KERBEROS :
	    strcmp(a, "negotiate") == 0 ? CRED_AUTH_NEGOTIATE : CRED_AUTH_NTLM;
	snprintf(cr->domain, sizeof(cr->domain), "%s", (v = getenv("SMBLOG_TEST_DOMAIN")) ? v : "LAB");
	snprintf(cr->user, sizeof(cr->user), "%s", user);
	if ((v = getenv("SMBLOG_TEST_CCACHE")) != NULL) {
		snprintf(cr->ccache, sizeof(cr->ccache), "%s", v);
		snprintf(cr->principal, sizeof(cr->principal), "%s",
		    getenv("SMBLOG_TEST_PRINCIPAL") ? getenv("SMBLOG_TEST_PRINCIPAL") : "");
	} else
		snprintf(cr->password, sizeof(cr->password), "%s", pw);
}

int
main(int argc, char *argv[])
{
	struct smblog *sl = NULL;
	struct cred cr;
	enum smblog_status st = SMBLOG_ERROR;
	const char *pw = getenv("SMBLOG_TEST_PASSWORD"), *tmo = getenv("SMBLOG_TEST_TIMEOUT_MS");
	struct smblog_host host = { NULL, getenv("SMBLOG_TEST_NAME") };
	char err[512] = "";
	int64_t t0;
	int rc, ex = 2;

	if (argc < 5 || pw == NULL) {
		fprintf(stderr, "usage: %s ADDR USER tail|pxe|certmgr ARGS (password in SMBLOG_TEST_PASSWORD)\n",
		    argv[0]);
		return 2;
	}
	test_cred(&cr, argv[2], pw);
	signal(SIGPIPE, SIG_IGN);	/* smblog_purge shuts the connection down before libsmbclient's last writes */
	if (smblog_open(&sl, &cr, tmo ? atoi(tmo) : 5000, err, sizeof(err)) != 0) {
		fprintf(stderr, "smblog_open: %s\n", err);
		return 2;
	}
	host.addr = argv[1];
	t0 = util_mono_ms();
	if (strcmp(argv[3], "tail") == 0 && argc == 8) {
		char *b = NULL;
		size_t n = 0;
		uint64_t size = 0;

		rc = smblog_tail(sl, &host, argv[4], argv[5], strtoul(argv[6], NULL, 10), &b, &n, &size, &st,
		    err, sizeof(err));
		printf("rc=%d status=%s len=%zu size=%llu ms=%lld smb_sockets_before_purge=%d", rc,
		    smblog_status_str(st), n, (unsigned long long)size, (long long)(util_mono_ms() - t0),
		    smb_sockets());
		smblog_purge(sl);
		printf(" smb_sockets=%d err=\"%s\"\n", smb_sockets(), err);
		if (b != NULL && write_file(argv[7], b, n) != 0)
			rc = -2;
		free(b);
		ex = rc == 0 ? 0 : rc == -1 ? 1 : 2;
	} else if (strcmp(argv[3], "dir") == 0 && argc == 6) {
		rc = smblog_dir_exists(sl, &host, argv[4], argv[5], &st, err, sizeof(err));
		printf("rc=%d status=%s err=\"%s\"\n", rc, smblog_status_str(st), err);
		ex = rc == 0 ? 0 : 1;
	} else if (strcmp(argv[3], "pxe") == 0 && (argc == 6 || argc == 7)) {
		ex = mode_pxe(sl, &host, argc, argv, t0);
	} else if (strcmp(argv[3], "certmgr") == 0 && argc == 7) {
		ex = mode_certmgr(sl, &host, argv, t0);
	} else
		fprintf(stderr, "bad mode or argument count\n");
	fflush(stdout);	/* before LeakSanitizer's atexit report can _exit */
	smblog_close(sl);
	return ex;
}
