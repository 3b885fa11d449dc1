/*
 * smblog_smbd_test.c — the C driver smblog_smbd_test.py runs against a real smbd: one smblog call per run, the
 * outcome printed as one "key=value ..." line on stdout, fetched bytes written to files for the script to compare.
 * The password comes from the environment (SMBLOG_TEST_PASSWORD), never argv.
 *
 *   smblog_smbd_test ADDR USER tail SHARE PATH TAIL OUTFILE
 *   smblog_smbd_test ADDR USER pxe TAIL OUTDIR          (also parses the tails with logparse;
 *                                                        SMBLOG_TEST_REPEAT=N fetches N times, for a figure)
 *   smblog_smbd_test ADDR USER certmgr CODE TAIL FQDN   (also looks FQDN up with logparse_certmgr_host)
 *
 * Every line also reports smb_sockets=N: TCP connections to port 445 this process still holds after the call
 * (after smblog_purge for pxe/certmgr, so it must be 0 there), and ms=N, the call's duration (printed, not
 * asserted).  Exit 0 when the call returned 0, 1 when it returned -1, 2 on usage or local errors.
 */
#include <dirent.h>
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

/* pxe MAXBYTES OUTDIR: smblog_fetch_pxe (SMSPXE.log and .lo_ where they are), parsed; the exit code. */
static int
mode_pxe(struct smblog *sl, char *argv[], int64_t t0)
{
	enum smblog_status st = SMBLOG_ERROR;
	struct smblog_pxe px;
	struct logparse_pxe *lp = malloc(sizeof(*lp));
	const char *rep = getenv("SMBLOG_TEST_REPEAT");
	char err[512] = "", path[1024];
	long i, reps = rep ? atol(rep) : 1;
	int rc;

	/* SMBLOG_TEST_REPEAT=N: N-1 extra fetches first, to print a per-fetch figure (ms covers all N) */
	for (i = 1; i < reps; i++) {
		if (smblog_fetch_pxe(sl, argv[1], strtoul(argv[4], NULL, 10), &px, &st, err, sizeof(err)) != 0)
			break;
		smblog_pxe_free(&px);
	}
	rc = smblog_fetch_pxe(sl, argv[1], strtoul(argv[4], NULL, 10), &px, &st, err, sizeof(err));
	printf("rc=%d status=%s share=%s log=%zd lo_=%zd ms=%lld smb_sockets=%d", rc,
	    smblog_status_str(st), px.share ? px.share : "-", px.log ? (ssize_t)px.log_len : -1,
	    px.lo_ ? (ssize_t)px.lo__len : -1, (long long)(util_mono_ms() - t0), smb_sockets());
	if (lp != NULL) {
		logparse_pxe_init(lp);
		if (px.lo_ != NULL)
			logparse_smspxe(px.lo_, px.lo__len, 0, lp, err, sizeof(err));
		if (px.log != NULL)
			logparse_smspxe(px.log, px.log_len, 0, lp, err, sizeof(err));
		printf(" cert_errors=%d last_error=%s evidence=%zu", lp->cert_errors,
		    lp->last_error_iso[0] ? lp->last_error_iso : "-", lp->evidence.n);
	}
	printf(" err=\"%s\"\n", err);
	snprintf(path, sizeof(path), "%s/SMSPXE.log", argv[5]);
	if (px.log != NULL && write_file(path, px.log, px.log_len) != 0)
		rc = -2;
	snprintf(path, sizeof(path), "%s/SMSPXE.lo_", argv[5]);
	if (px.lo_ != NULL && write_file(path, px.lo_, px.lo__len) != 0)
		rc = -2;
	smblog_pxe_free(&px);
	free(lp);
	return rc == 0 ? 0 : rc == -1 ? 1 : 2;
}

int
main(int argc, char *argv[])
{
	struct smblog *sl = NULL;
	enum smblog_status st = SMBLOG_ERROR;
	const char *pw = getenv("SMBLOG_TEST_PASSWORD"), *tmo = getenv("SMBLOG_TEST_TIMEOUT_MS");
	char err[512] = "";
	int64_t t0;
	int rc, ex = 2;

	if (argc < 5 || pw == NULL) {
		fprintf(stderr, "usage: %s ADDR USER tail|pxe|certmgr ARGS (password in SMBLOG_TEST_PASSWORD)\n",
		    argv[0]);
		return 2;
	}
	if (smblog_open(&sl, "LAB", argv[2], pw, tmo ? atoi(tmo) : 5000, err, sizeof(err)) != 0) {
		fprintf(stderr, "smblog_open: %s\n", err);
		return 2;
	}
	t0 = util_mono_ms();
	if (strcmp(argv[3], "tail") == 0 && argc == 8) {
		char *b = NULL;
		size_t n = 0;
		uint64_t size = 0;

		rc = smblog_tail(sl, argv[1], argv[4], argv[5], strtoul(argv[6], NULL, 10), &b, &n, &size, &st,
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
	} else if (strcmp(argv[3], "pxe") == 0 && argc == 6) {
		ex = mode_pxe(sl, argv, t0);
	} else if (strcmp(argv[3], "certmgr") == 0 && argc == 7) {
		struct logparse_certmgr_hit *h = malloc(sizeof(*h));
		char *b = NULL;
		size_t n = 0;

		rc = smblog_fetch_certmgr(sl, argv[1], argv[4], strtoul(argv[5], NULL, 10), &b, &n, &st, err,
		    sizeof(err));
		printf("rc=%d status=%s len=%zu ms=%lld smb_sockets=%d", rc, smblog_status_str(st), n,
		    (long long)(util_mono_ms() - t0), smb_sockets());
		if (h != NULL && b != NULL && logparse_certmgr_host(b, n, 0, argv[6], h, err, sizeof(err)) == 0)
			printf(" denied=%d last=%s", h->count, h->last_iso[0] ? h->last_iso : "-");
		printf(" err=\"%s\"\n", err);
		free(b);
		free(h);
		ex = rc == 0 ? 0 : 1;
	} else
		fprintf(stderr, "bad mode or argument count\n");
	fflush(stdout);	/* before LeakSanitizer's atexit report can _exit */
	smblog_close(sl);
	return ex;
}
