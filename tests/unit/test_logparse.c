/*
 * test_logparse.c — unit tests for scanner/logparse.c against the sample logs in tests/unit/data/logs
 * (written to look like real SMSPXE.log / CertMgr.log tails: CRLF, multi-line records, a record cut at the
 * start, UTF-16LE) and against generated edge cases (huge records, record and input caps).
 * Exact counts and times are asserted so a parsing regression fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "logparse.h"
#include "util.h"

static char *
load(const char *name, size_t *len)
{
	const char *root = getenv("DPFLEET_SOURCE_ROOT");
	char path[1024], err[256];
	char *b;

	snprintf(path, sizeof(path), "%s/tests/unit/data/logs/%s", root ? root : ".", name);
	if ((b = util_read_file(path, 1 << 20, len, err, sizeof(err))) == NULL) {
		fprintf(stderr, "load %s: %s\n", path, err);
		exit(1);
	}
	return b;
}

static struct logparse_pxe *
pxe_new(void)
{
	struct logparse_pxe *p = malloc(sizeof(*p));

	if (p == NULL)
		exit(1);
	logparse_pxe_init(p);
	return p;
}

static void
test_kb_sequence(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_kb4469580.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 15);
	CHECK(p->stats.malformed == 0);
	CHECK(p->stats.bad_time == 0);
	CHECK(p->stats.utf16 == 0);
	/* the cut record before the first marker: its text plus CRLF */
	CHECK(p->stats.skipped_bytes == 149);
	CHECK(p->cert_errors == 8);
	CHECK(p->mp_init_failures == 2);
	CHECK(p->expired_cert == 0);
	CHECK(p->last_error_ok == 1);
	CHECK_STR(p->last_error_iso, "2019-06-03T17:15:02Z");	/* 12:15:02 local, bias +300 */
	CHECK(p->last_error == 1559582102);
	CHECK(p->evidence.n == 10);
	if (p->evidence.n == 10) {
		const struct logparse_evidence *e = p->evidence.ev;

		CHECK(e[0].kind == LOGPARSE_K_CERT_ERROR);
		CHECK_STR(e[0].message, "PXE::MP_ReportStatus failed; 0x80092002");
		CHECK_STR(e[0].iso, "2019-06-03T17:15:02Z");
		CHECK(e[0].type == 3);
		CHECK(e[0].thread == 6004);
		CHECK_STR(e[0].component, "SMSPXE");
		CHECK_STR(e[3].message, "Failed to create certificate store from encoded certificate..  An error "
		    "occurred during encode or decode operation. (Error: 80092002; Source: Windows)");
		CHECK_STR(e[3].raw, "<![LOG[Failed to create certificate store from encoded certificate..\n An error "
		    "occurred during encode or decode operation. (Error: 80092002; Source: Windows)]LOG]!><time="
		    "\"12:15:02.010+300\" date=\"06-03-2019\" component=\"SMSPXE\" context=\"\" type=\"3\" "
		    "thread=\"6004\" file=\"ccmcert.cpp:1703\">");
		CHECK_STR(e[4].iso, "2019-06-03T16:45:37Z");	/* the first burst, 11:45:37.599+300 */
		CHECK_STR(e[4].message, "PXE::MP_ReportStatus failed; 0x80092002");
		CHECK_STR(e[7].message, "Failed to create certificate store from encoded certificate..  An error "
		    "occurred during encode or decode operation. (Error: 80092002; Source: Windows)");
		CHECK(e[8].kind == LOGPARSE_K_MP_INIT);
		CHECK_STR(e[8].iso, "2019-06-03T17:15:02Z");
		CHECK(e[9].kind == LOGPARSE_K_MP_INIT);
		CHECK_STR(e[9].iso, "2019-06-03T16:45:37Z");
	}

	/* as a whole file (F_WHOLE) the leading fragment is still not a record: no marker */
	logparse_pxe_init(p);
	CHECK(logparse_smspxe(b, len, LOGPARSE_F_WHOLE, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 15);

	/* a tail that starts in the middle of the first cert-error record drops that record only */
	{
		const char *cut = strstr(b, "encode or decode operation");

		logparse_pxe_init(p);
		CHECK(cut != NULL);
		CHECK(logparse_smspxe(cut, len - (size_t)(cut - b), 0, p, err, sizeof(err)) == 0);
		CHECK(p->stats.records == 12);
		CHECK(p->cert_errors == 7);
	}

	/* accumulating .lo_ then .log: counts add, evidence stays capped at 20 and sorted */
	logparse_pxe_init(p);
	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->cert_errors == 24);
	CHECK(p->evidence.n == 20);
	CHECK(p->evidence.ev[18].kind == LOGPARSE_K_CERT_ERROR);
	CHECK(p->evidence.ev[19].kind == LOGPARSE_K_MP_INIT);	/* 24 cert errors leave MP-init its newest */
	CHECK(p->evidence.ev[19].seq == 43);	/* the last feed's second MP-init: 15*2 + 13 */
	CHECK(p->evidence.ev[0].seq == 42);	/* the last feed's ReportStatus: 15*2 + 12 */
	free(b);
	free(p);
}

static void
test_expired(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_expired.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 3);
	CHECK(p->cert_errors == 0);	/* 0x800920021 and A80092002 are not the code */
	CHECK(p->expired_cert == 2);
	CHECK(p->last_expired == 1594796401);	/* 09:00:01 local, bias -120 → 07:00:01Z */
	CHECK(p->evidence.n == 2);
	CHECK(p->evidence.ev[0].kind == LOGPARSE_K_EXPIRED_CERT);
	CHECK_STR(p->evidence.ev[0].iso, "2020-07-15T07:00:01Z");
	CHECK(p->evidence.ev[0].thread == 3344);
	free(b);
	free(p);
}

struct collect {
	int	 n;
	char	 msg[4][128];
	char	 iso[4][LOGPARSE_ISO_LEN];
};

static int
collect_cb(const struct logparse_record *r, void *arg)
{
	struct collect *c = arg;

	if (c->n < 4) {
		util_strlcpy(c->msg[c->n], r->message, sizeof(c->msg[0]));
		memcpy(c->iso[c->n], r->iso, LOGPARSE_ISO_LEN);
	}
	c->n++;
	return 0;
}

static void
test_utf16(void)
{
	struct logparse_pxe *p = pxe_new();
	struct logparse_stats st;
	struct collect c;
	char err[256];
	size_t len;
	char *b = load("smspxe_utf16.log", &len);

	CHECK(logparse_smspxe(b, len, LOGPARSE_F_WHOLE, p, err, sizeof(err)) == 0);
	CHECK(p->stats.utf16 == 1);
	CHECK(p->stats.records == 2);
	CHECK(p->cert_errors == 1);
	CHECK_STR(p->last_error_iso, "2021-12-01T09:00:05Z");	/* 10:00:05 local, bias -60 */

	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	CHECK(logparse_each(b, len, 0, 0, collect_cb, &c, &st, err, sizeof(err)) == 0);
	CHECK(c.n == 2);
	CHECK_STR(c.msg[0], "Gr\xc3\xb6\xc3\x9f" "e der Startabbilder wird gepr\xc3\xbc" "ft");

	/* valid UTF-8 is kept; a UTF-8 encoded C1 control (U+0085) is replaced */
	{
		static const char u8[] = "<![LOG[Gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac x\xc2\x85y]LOG]!><time=\"10:00:00.000-60\" "
		    "date=\"12-01-2021\" component=\"SMSPXE\" context=\"\" type=\"1\" thread=\"1\" file=\"a:1\">";

		memset(&c, 0, sizeof(c));
		CHECK(logparse_each(u8, sizeof(u8) - 1, 0, 0, collect_cb, &c, NULL, err, sizeof(err)) == 0);
		CHECK(c.n == 1);
		CHECK_STR(c.msg[0], "Gr\xc3\xb6\xc3\x9f" "e \xe2\x82\xac x?y");
		CHECK_STR(c.iso[0], "2021-12-01T09:00:00Z");	/* bias -60: UTC+1 */
	}

	/* a tail read landing on an odd byte: no BOM, detected by the NUL parity, first (cut) record skipped */
	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	CHECK(logparse_each(b + 101, len - 101, 0, 0, collect_cb, &c, &st, err, sizeof(err)) == 0);
	CHECK(st.utf16 == 1);
	CHECK(c.n == 1);
	CHECK_STR(c.msg[0], "PXE::MP_GetList failed; 0x80092002");
	free(b);
	free(p);
}

static void
test_bad(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_bad.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 6);
	CHECK(p->stats.torn == 1);	/* "no trailer at all": cut by the next record */
	CHECK(p->stats.malformed == 1);	/* the unterminated last record */
	CHECK(p->stats.bad_time == 4);
	CHECK(p->stats.local_time == 1);
	CHECK(p->cert_errors == 6);
	/* "missing bias" has no UTC time: the newest is 02-29-2020 23:30+300 = 03-01 04:30Z */
	CHECK_STR(p->last_error_iso, "2020-03-01T04:30:00Z");
	CHECK(p->evidence.n == 6);
	CHECK_STR(p->evidence.ev[0].message, "leap year ok 80092002");
	CHECK_STR(p->evidence.ev[0].iso, "2020-03-01T04:30:00Z");
	CHECK(p->evidence.ev[0].local_time == 0);
	/* unknown times sort last, later records first */
	CHECK_STR(p->evidence.ev[1].message, "no trailer at all 80092002");
	CHECK(p->evidence.ev[1].torn == 1);
	CHECK_STR(p->evidence.ev[2].message, "missing bias 80092002");
	CHECK(p->evidence.ev[2].time_ok == 0);
	CHECK(p->evidence.ev[2].local_time == 1);
	CHECK_STR(p->evidence.ev[2].local, "2020-03-01T08:00:00");
	CHECK_STR(p->evidence.ev[2].iso, "");
	CHECK(p->evidence.ev[3].time_ok == 0);
	CHECK(p->evidence.ev[3].local_time == 0);
	CHECK_STR(p->evidence.ev[3].iso, "");
	CHECK_STR(p->evidence.ev[3].message, "not a leap year 80092002");
	CHECK_STR(p->evidence.ev[5].message, "bad month 80092002");
	free(b);
	free(p);
}

/* (a) 22 cert errors after the expired-certificate and MP-init lines: each kind keeps its newest line. */
static void
test_crowded(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len, i, nk[5] = { 0 };
	char *b = load("smspxe_crowded.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->cert_errors == 22);
	CHECK(p->expired_cert == 2);
	CHECK(p->mp_init_failures == 1);
	CHECK(p->evidence.n == 20);
	for (i = 0; i < p->evidence.n; i++)
		if (p->evidence.ev[i].kind > 0 && p->evidence.ev[i].kind < 5)
			nk[p->evidence.ev[i].kind]++;
	CHECK(nk[LOGPARSE_K_CERT_ERROR] == 18);
	CHECK(nk[LOGPARSE_K_EXPIRED_CERT] == 1);
	CHECK(nk[LOGPARSE_K_MP_INIT] == 1);
	CHECK(p->evidence.ev[0].kind == LOGPARSE_K_CERT_ERROR);
	CHECK_STR(p->evidence.ev[0].iso, "2019-06-03T14:21:00Z");	/* the newest cert error */
	CHECK_STR(p->evidence.ev[17].iso, "2019-06-03T14:04:00Z");
	CHECK(p->evidence.ev[18].kind == LOGPARSE_K_EXPIRED_CERT);
	CHECK_STR(p->evidence.ev[18].message, "PXE::MP_GetList failed; 0x800B0101");	/* the newer of two */
	CHECK(p->evidence.ev[19].kind == LOGPARSE_K_MP_INIT);

	/* fed again: still one line each (the newer feed's), still sorted */
	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->evidence.n == 20);
	CHECK(p->evidence.ev[18].kind == LOGPARSE_K_EXPIRED_CERT);
	CHECK(p->evidence.ev[18].seq == 25 + 1);
	CHECK(p->evidence.ev[19].kind == LOGPARSE_K_MP_INIT);
	CHECK(p->evidence.ev[19].seq == 25 + 2);
	free(b);
	free(p);
}

/* (b) "PXE Provider failed to initialize MP connection." with 80092002 on its next line counts as both. */
static void
test_mp_init_cause(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_mp_init.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 3);
	CHECK(p->cert_errors == 3);
	CHECK(p->mp_init_failures == 1);
	CHECK_STR(p->last_error_iso, "2019-06-03T16:45:37Z");
	CHECK(p->evidence.n == 3);
	CHECK(p->evidence.ev[2].kind == LOGPARSE_K_MP_INIT);
	CHECK_STR(p->evidence.ev[2].message, "PXE Provider failed to initialize MP connection.  Unknown error "
	    "(Error: 80092002; Source: Unknown)");
	free(b);
	free(p);
}

/* (c) "Certificate [...] has expired." is expired-certificate evidence; "has not expired" is not. */
static void
test_cert_has_expired(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_cert_expired.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 2);
	CHECK(p->expired_cert == 1);
	CHECK(p->cert_errors == 0);
	CHECK(p->last_expired == 1707546600);	/* 07:30 local, bias -60 → 06:30Z */
	CHECK(p->evidence.n == 1);
	CHECK(p->evidence.ev[0].kind == LOGPARSE_K_EXPIRED_CERT);
	CHECK_STR(p->evidence.ev[0].iso, "2024-02-10T06:30:00Z");
	free(b);
	free(p);
}

/* (d) a time without a bias: local time, zone unknown: no UTC time, the local text kept. */
static void
test_local_time(void)
{
	struct logparse_pxe *p = pxe_new();
	char err[256];
	size_t len;
	char *b = load("smspxe_local_time.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 2);
	CHECK(p->stats.local_time == 1);
	CHECK(p->stats.bad_time == 0);
	CHECK(p->cert_errors == 2);
	CHECK_STR(p->last_error_iso, "2024-03-15T13:05:09Z");	/* only the record with "+0" */
	CHECK(p->evidence.n == 2);
	CHECK_STR(p->evidence.ev[0].iso, "2024-03-15T13:05:09Z");
	CHECK(p->evidence.ev[0].local_time == 0);
	CHECK_STR(p->evidence.ev[0].local, "");
	CHECK(p->evidence.ev[1].time_ok == 0);
	CHECK(p->evidence.ev[1].local_time == 1);
	CHECK_STR(p->evidence.ev[1].iso, "");
	CHECK_STR(p->evidence.ev[1].local, "2024-03-15T14:05:09");
	CHECK(strstr(p->evidence.ev[1].raw, "time=\"14:05:09.123\" date=\"03-15-2024\"") != NULL);
	free(b);
	free(p);
}

/* (e) torn writes: the intact part of a record cut by the next "<![LOG[" is kept. */
static void
test_torn(void)
{
	struct logparse_pxe *p = pxe_new();
	struct logparse_stats st;
	struct collect c;
	char err[256];
	size_t len;
	char *b = load("smspxe_torn.log", &len);

	CHECK(logparse_smspxe(b, len, 0, p, err, sizeof(err)) == 0);
	CHECK(p->stats.records == 7);
	CHECK(p->stats.torn == 3);
	CHECK(p->stats.malformed == 1);	/* the last record, cut by the end of the read */
	CHECK(p->stats.bad_time == 2);	/* torn inside or before its time */
	CHECK(p->cert_errors == 5);
	CHECK(p->mp_init_failures == 1);
	CHECK(p->expired_cert == 0);	/* "Failed to validate PXEClientKey certi" is cut before the phrase */
	CHECK(p->evidence.n == 5);
	/* cut after its date: message and time intact */
	CHECK_STR(p->evidence.ev[1].message, "PXE::MP_GetList failed; 0x80092002");
	CHECK_STR(p->evidence.ev[1].iso, "2019-06-03T15:00:00Z");
	CHECK(p->evidence.ev[1].torn == 1);
	CHECK(p->evidence.ev[1].thread == 0);
	CHECK_STR(p->evidence.ev[1].raw, "<![LOG[PXE::MP_GetList failed; 0x80092002]LOG]!><time=\"10:00:00.500+300\" "
	    "date=\"06-03-2019\" compo");
	CHECK(p->evidence.ev[0].torn == 0);	/* the record after it, whole */
	CHECK_STR(p->evidence.ev[0].iso, "2019-06-03T15:00:01Z");
	/* cut inside its time: message kept, time unknown (sorts last) */
	CHECK_STR(p->evidence.ev[3].message, "PXE::MP_ReportStatus failed; 0x80092002");
	CHECK(p->evidence.ev[3].time_ok == 0);
	CHECK(p->evidence.ev[3].torn == 1);
	CHECK(p->evidence.ev[4].kind == LOGPARSE_K_MP_INIT);

	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	CHECK(logparse_each(b, len, 0, 0, collect_cb, &c, &st, err, sizeof(err)) == 0);
	CHECK(c.n == 7);
	CHECK(st.torn == 3);
	free(b);
	free(p);
}

static void
test_huge_and_caps(void)
{
	struct logparse_pxe *p = pxe_new();
	struct logparse_stats st;
	struct collect c;
	const char *tr = "]LOG]!><time=\"01:02:03.000+0\" date=\"01-02-2024\" component=\"SMSPXE\" context=\"\" "
	    "type=\"3\" thread=\"1\" file=\"x.cpp:1\">\r\n";
	size_t n = 200000, i, o = 0, big = 9u * 1024 * 1024;
	char err[256], *b;

	/* one 200 KB record with control bytes and invalid UTF-8 */
	b = malloc(n + 1024);
	CHECK(b != NULL);
	o = (size_t)sprintf(b, "<![LOG[0x80092002 ");
	for (i = 0; i < n; i++)
		b[o++] = i % 1000 == 0 ? '\x01' : i % 777 == 0 ? '\xe9' : i % 555 == 0 ? '\x80' : 'A';
	o += (size_t)sprintf(b + o, "%s", tr);
	CHECK(logparse_smspxe(b, o, 0, p, err, sizeof(err)) == 0);
	CHECK(p->cert_errors == 1);
	CHECK_STR(p->last_error_iso, "2024-01-02T01:02:03Z");
	CHECK(p->evidence.n == 1);
	CHECK(strlen(p->evidence.ev[0].message) <= LOGPARSE_MSG_MAX - 1);
	CHECK(strlen(p->evidence.ev[0].message) >= LOGPARSE_MSG_MAX - 4);
	CHECK(strncmp(p->evidence.ev[0].message, "0x80092002 ?AAA", 15) == 0);
	CHECK(strstr(p->evidence.ev[0].message, "A\xc3\xa9" "A") != NULL);	/* cp1252 é → UTF-8 */
	CHECK(strstr(p->evidence.ev[0].message, "A\xe2\x82\xac" "A") != NULL);	/* cp1252 0x80 → € */
	CHECK(strstr(p->evidence.ev[0].raw, " [...] ]LOG]!><time=\"01:02:03.000+0\"") != NULL);
	CHECK(strlen(p->evidence.ev[0].raw) < LOGPARSE_RAW_MAX);
	free(b);

	/* record cap: 200005 minimal records */
	n = LOGPARSE_MAX_RECORDS + 5;
	b = malloc(n * 16);
	CHECK(b != NULL);
	for (i = 0; i < n; i++)
		memcpy(b + i * 16, "<![LOG[]LOG]!><>", 16);
	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	CHECK(logparse_each(b, n * 16, 0, 0, collect_cb, &c, &st, err, sizeof(err)) == 0);
	CHECK(c.n == LOGPARSE_MAX_RECORDS);
	CHECK(st.records == LOGPARSE_MAX_RECORDS);
	CHECK(st.truncated == 1);
	CHECK(st.bad_time == LOGPARSE_MAX_RECORDS);
	free(b);

	/* input cap: 9 MiB of filler, one record at the very end */
	b = malloc(big);
	CHECK(b != NULL);
	memset(b, 'x', big);
	o = strlen("<![LOG[PXE::MP_GetList failed; 0x80092002") + strlen(tr);
	memcpy(b + big - o, "<![LOG[PXE::MP_GetList failed; 0x80092002", o - strlen(tr));
	memcpy(b + big - strlen(tr), tr, strlen(tr));
	logparse_pxe_init(p);
	CHECK(logparse_smspxe(b, big, LOGPARSE_F_WHOLE, p, err, sizeof(err)) == 0);
	CHECK(p->stats.truncated == 1);
	CHECK(p->stats.records == 1);
	CHECK(p->cert_errors == 1);
	CHECK(p->stats.skipped_bytes == big - o);
	free(b);

	/* empty and NULL inputs */
	logparse_pxe_init(p);
	CHECK(logparse_smspxe("", 0, 0, p, err, sizeof(err)) == 0);
	CHECK(logparse_smspxe(NULL, 0, 0, p, err, sizeof(err)) == 0);
	CHECK(logparse_smspxe(NULL, 5, 0, p, err, sizeof(err)) == -1);
	CHECK(p->stats.records == 0);
	free(p);
}

struct denied {
	int	 n;
	char	 fqdn[8][LOGPARSE_FQDN_MAX];
};

static int
denied_cb(const char *fqdn, const struct logparse_record *r, void *arg)
{
	struct denied *d = arg;

	(void)r;
	if (d->n < 8)
		util_strlcpy(d->fqdn[d->n], fqdn, sizeof(d->fqdn[0]));
	d->n++;
	return 0;
}

static void
test_certmgr(void)
{
	struct logparse_certmgr_hit *h = malloc(sizeof(*h));
	struct logparse_stats st;
	struct denied d;
	char err[256];
	size_t len;
	char *b = load("certmgr.log", &len);

	CHECK(h != NULL);
	memset(&d, 0, sizeof(d));
	memset(&st, 0, sizeof(st));
	CHECK(logparse_certmgr(b, len, 0, denied_cb, &d, &st, err, sizeof(err)) == 0);
	CHECK(st.records == 10);	/* 11 lines, the first one cut */
	CHECK(st.malformed == 0);
	CHECK(d.n == 5);
	CHECK_STR(d.fqdn[0], "dp1.contoso.com");
	CHECK_STR(d.fqdn[1], "dp1.contoso.com");
	CHECK_STR(d.fqdn[2], "dp3");
	CHECK_STR(d.fqdn[4], "dp1.contoso.com");

	memset(&st, 0, sizeof(st));
	CHECK(logparse_certmgr(b, len, LOGPARSE_F_WHOLE, denied_cb, &d, &st, err, sizeof(err)) == 0);
	CHECK(st.records == 11);

	CHECK(logparse_certmgr_host(b, len, 0, "DP1.CONTOSO.COM", h, err, sizeof(err)) == 0);
	CHECK(h->count == 4);
	CHECK(h->last_ok == 1);
	CHECK_STR(h->last_iso, "2023-09-18T01:26:15Z");	/* 18:26:15 local, bias +420 */
	CHECK(h->evidence.n == 4);
	CHECK_STR(h->evidence.ev[0].message, "Failed to get the copy of Security registry key on server "
	    "dp1.contoso.com (0x80070005)");
	CHECK_STR(h->evidence.ev[0].component, "SMS_CERTIFICATE_MANAGER");
	CHECK(h->evidence.ev[0].thread == 7064);
	CHECK(h->evidence.ev[0].type == 0);
	CHECK_STR(h->evidence.ev[0].raw, "Failed to get the copy of Security registry key on server "
	    "dp1.contoso.com (0x80070005)  $$<SMS_CERTIFICATE_MANAGER><09-17-2023 18:26:15.700+420>"
	    "<thread=7064 (0x1B98)>");
	CHECK_STR(h->evidence.ev[3].iso, "2023-09-18T00:26:15Z");

	CHECK(logparse_certmgr_host(b, len, 0, "dp3.contoso.com", h, err, sizeof(err)) == 0);
	CHECK(h->count == 1);
	CHECK_STR(h->last_iso, "2023-09-18T00:26:17Z");
	CHECK(logparse_certmgr_host(b, len, 0, "dp2.contoso.com", h, err, sizeof(err)) == 0);
	CHECK(h->count == 0);
	CHECK(h->last_ok == 0);
	CHECK(logparse_certmgr_host(b, len, 0, "dp11.contoso.com", h, err, sizeof(err)) == 0);
	CHECK(h->count == 0);	/* 0x80004005 is not access denied */

	CHECK(logparse_host_match("dp1.contoso.com", "DP1.contoso.com.") == 1);
	CHECK(logparse_host_match("dp1", "dp1.contoso.com") == 1);
	CHECK(logparse_host_match("dp1", "dp11.contoso.com") == 0);
	CHECK(logparse_host_match("dp1.contoso.com", "dp1") == 0);
	CHECK(logparse_host_match("dp1.fabrikam.com", "dp1.contoso.com") == 0);
	free(b);
	free(h);
}

int
main(void)
{
	test_kb_sequence();
	test_expired();
	test_utf16();
	test_bad();
	test_crowded();
	test_mp_init_cause();
	test_cert_has_expired();
	test_local_time();
	test_torn();
	test_huge_and_caps();
	test_certmgr();
	return check_done("test_logparse");
}
