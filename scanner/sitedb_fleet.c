/*
 * sitedb_fleet.c — the fleet's queries over the site DB connection sitedb.c opened: sites (v_Site), each
 * site's IssuingCertificateList (SC_Component_Property joined through SC_Component to SC_SiteDefinition), DPs
 * (v_DistributionPointInfo: documented columns, optional ones dropped when the view answers error 207; cloud
 * DPs and CMGs recognised and marked) and MPs (v_SystemResourceList), decoded row by row into a
 * struct store_fleet.  Called through sitedb_read_fleet() (sitedb.h) by inventory.c and parent.c.
 *
 * Every value from the server is bounds-checked against dbdatlen() and a hard cap before it is copied;
 * identifiers that do not fit are an error, display names are cut at a UTF-8 boundary.  A query stops at
 * SITEDB_MAX_ROWS rows.  Errors are classified by sitedb.c's handlers (sitedb_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sitedb_int.h"
#include "util.h"
#include "words.h"

/* Column access: every copy checked against dbdatlen() and a cap. */

static int
is_char_type(int t)
{
	/* dbcoltype() reports NCHAR/NVARCHAR as SYBCHAR/SYBVARCHAR once converted to the client charset. */
	return t == SYBCHAR || t == SYBVARCHAR || t == SYBTEXT || t == SYBNVARCHAR || t == SYBNTEXT;
}

/* Length of the longest prefix of s[0..len) that is at most max bytes and ends on a UTF-8 boundary. */
static size_t
utf8_cut(const unsigned char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && (s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/*
 * Copy text column col into buf (cap bytes incl. NUL); NULL reads as "".  A value that does not fit is an
 * error unless cut is set (then it is cut at a UTF-8 boundary).  0 or -1 with err.
 */
static int
col_text(struct sitedb *db, int col, char *buf, size_t cap, int cut, const char *what, char *err,
    size_t errlen)
{
	BYTE *p;
	DBINT len;
	size_t n;

	buf[0] = '\0';
	p = dbdata(db->dbproc, col);
	len = dbdatlen(db->dbproc, col);
	if (p == NULL || len <= 0)
		return 0;
	if (!is_char_type(dbcoltype(db->dbproc, col)))
		return util_err(err, errlen, "site DB %s: %s: not a text column (type %d)", db->where, what,
		    dbcoltype(db->dbproc, col));
	n = (size_t)len;
	if (n >= cap) {
		if (!cut)
			return util_err(err, errlen, "site DB %s: %s: value longer than %zu bytes", db->where,
			    what, cap - 1);
		n = utf8_cut(p, n, cap - 1);
	}
	if (memchr(p, '\0', n) != NULL)
		return util_err(err, errlen, "site DB %s: %s: value holds a NUL byte", db->where, what);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* Integer or bit column col into *v; NULL reads as dflt.  0 or -1 with err. */
static int
col_int(struct sitedb *db, int col, long long dflt, long long *v, const char *what, char *err,
    size_t errlen)
{
	BYTE *p;
	DBINT len;
	int t;

	*v = dflt;
	p = dbdata(db->dbproc, col);
	len = dbdatlen(db->dbproc, col);
	if (p == NULL || len <= 0)
		return 0;
	t = dbcoltype(db->dbproc, col);
	if (t == SYBBIT || t == SYBBITN || t == SYBINT1) {
		if (len != 1)
			goto bad;
		*v = *(const uint8_t *)p;
	} else if (t == SYBINT2 && len == 2) {
		int16_t x;
		memcpy(&x, p, 2);
		*v = x;
	} else if ((t == SYBINT4 || t == SYBINTN) && len == 4) {
		int32_t x;
		memcpy(&x, p, 4);
		*v = x;
	} else if ((t == SYBINT8 || t == SYBINTN) && len == 8) {
		int64_t x;
		memcpy(&x, p, 8);
		*v = x;
	} else
		goto bad;
	return 0;
bad:
	return util_err(err, errlen, "site DB %s: %s: not an integer column (type %d, %d bytes)", db->where,
	    what, t, (int)len);
}

/* Per-row callback of run_query: 0 to go on, -1 with err to stop (a data error, not a connection one). */
typedef int (*row_fn)(struct sitedb *db, void *arg, char *err, size_t errlen);

/*
 * Run one SELECT (sql) expecting ncols columns, calling fn for every row, then drain any further results.
 * what names the step in messages.  0, or -1 with one line in err and the class in *cls.
 */
static int
run_query(struct sitedb *db, const char *sql, int ncols, const char *what, row_fn fn, void *arg,
    enum sitedb_error *cls, char *err, size_t errlen)
{
	RETCODE rc;
	long rows = 0;
	int64_t t0 = util_mono_ms();

	sitedb_reset_errors(db);
	if (dbcmd(db->dbproc, sql) == FAIL || dbsqlexec(db->dbproc) == FAIL)
		return sitedb_classify(db, what, cls, err, errlen);
	if ((rc = dbresults(db->dbproc)) != SUCCEED || db->msgno != 0)
		return sitedb_classify(db, what, cls, err, errlen);
	if (dbnumcols(db->dbproc) != ncols) {
		if (cls != NULL)
			*cls = SITEDB_ERR_QUERY;
		dbcancel(db->dbproc);
		return util_err(err, errlen, "site DB %s: %s: expected %d columns, got %d", db->where, what,
		    ncols, dbnumcols(db->dbproc));
	}
	while ((rc = dbnextrow(db->dbproc)) != NO_MORE_ROWS) {
		if (rc != REG_ROW)
			return sitedb_classify(db, what, cls, err, errlen);
		if (++rows > SITEDB_MAX_ROWS) {
			if (cls != NULL)
				*cls = SITEDB_ERR_QUERY;
			dbcancel(db->dbproc);
			return util_err(err, errlen, "site DB %s: %s: more than %ld rows", db->where, what,
			    SITEDB_MAX_ROWS);
		}
		if (fn(db, arg, err, errlen) == -1) {
			if (cls != NULL)
				*cls = SITEDB_ERR_QUERY;
			dbcancel(db->dbproc);
			return -1;
		}
	}
	while ((rc = dbresults(db->dbproc)) == SUCCEED)
		while (dbnextrow(db->dbproc) != NO_MORE_ROWS)
			;
	if (rc == FAIL || db->msgno != 0 || db->eof || db->timeouts > 0)
		return sitedb_classify(db, what, cls, err, errlen);
	log_debug("site DB %s: %s: %ld rows in %lld ms", db->where, what, rows,
	    (long long)(util_mono_ms() - t0));
	return 0;
}

static const char SQL_SITES[] =
	"SELECT SiteCode, SiteName, Type, ReportingSiteCode, ServerName, InstallDir FROM v_Site";
/* The KB 4469580 join (doc/FIELD-NOTES.md, "The fault"); ComponentName is deliberately not used. */
static const char SQL_VALUES[] =
	"SELECT SD.SiteCode, SCP.Value1 FROM SC_Component SC"
	" JOIN SC_SiteDefinition SD ON SD.SiteNumber = SC.SiteNumber"
	" JOIN SC_Component_Property SCP ON SCP.ComponentID = SC.ID"
	" WHERE SCP.Name = N'IssuingCertificateList'";
/*
 * v_DistributionPointInfo: the columns Microsoft Learn documents ("v_DistributionPointInfo": ServerName,
 * SiteCode, IsPXE, IsActive, IsPullDP, ...), then the optional ones (dp_optional below).  A view without one
 * of them answers error 207 naming it; read_dps drops that column and asks again.
 */
#define SQL_DPS_DOC	"SELECT ServerName, SiteCode, IsPXE, IsActive, IsPullDP"
#define SQL_DPS_FROM	" FROM v_DistributionPointInfo"
#define SQL_DPS_MAX	256
#define DP_NDOC		5			/* columns of SQL_DPS_DOC */
/*
 * The optional columns, in query order after the documented ones.  SccmPXE: site DBs carry it but the
 * published view does not list it; without it, SccmPXE reads as IsPXE and IsActive (PXE enabled on a DP that
 * is active).  Region and ServiceType: Microsoft Learn, "SMS_DistributionPointInfo server WMI class", gives
 * them as "the Azure region in which the cloud-based distribution point resides" and "for cloud-based
 * distribution points only"; the view is not published column by column, so either may be missing.
 */
enum { DP_SCCMPXE, DP_REGION, DP_SERVICETYPE, DP_NOPT };
static const char *const dp_optional[DP_NOPT] = { "SccmPXE", "Region", "ServiceType" };
static const char SQL_MPS[] =
	"SELECT ServerName, SiteCode FROM v_SystemResourceList WHERE RoleName = N'SMS Management Point'";

static const char *
site_type(long long t)
{
	switch (t) {
	case 4:	return "cas";
	case 2:	return "primary";
	case 1:	return "secondary";
	}
	return "unknown";
}

/* A site code: 1..15 letters or digits. */
static int
code_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i > 0;
}

/* A host name usable for SMB: letters, digits, '.', '-', '_', not starting with '.' or '-'. */
static int
fqdn_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static int
row_site(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct store_fleet *f = arg;
	struct fleet_site s;
	long long type;

	memset(&s, 0, sizeof(s));
	if (col_text(db, 1, s.code, sizeof(s.code), 0, "v_Site.SiteCode", err, errlen) == -1 ||
	    col_text(db, 2, s.name, sizeof(s.name), 1, "v_Site.SiteName", err, errlen) == -1 ||
	    col_int(db, 3, 0, &type, "v_Site.Type", err, errlen) == -1 ||
	    col_text(db, 4, s.parent, sizeof(s.parent), 0, "v_Site.ReportingSiteCode", err, errlen) == -1 ||
	    col_text(db, 5, s.server, sizeof(s.server), 0, "v_Site.ServerName", err, errlen) == -1 ||
	    col_text(db, 6, s.install_dir, sizeof(s.install_dir), 0, "v_Site.InstallDir", err, errlen) == -1)
		return -1;
	if (!code_ok(s.code))
		return util_err(err, errlen, "site DB %s: v_Site: bad site code '%s'", db->where, s.code);
	if (s.parent[0] != '\0' && !code_ok(s.parent))
		return util_err(err, errlen, "site DB %s: v_Site: site %s: bad parent code '%s'", db->where,
		    s.code, s.parent);
	s.type = site_type(type);
	if (store_fleet_add_site(f, &s, err, errlen) == NULL)
		return -1;
	return 0;
}

static int
row_value(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct store_fleet *f = arg;
	struct fleet_site *s;
	char code[FLEET_CODE_MAX];

	if (col_text(db, 1, code, sizeof(code), 0, "SC_SiteDefinition.SiteCode", err, errlen) == -1 ||
	    col_text(db, 2, db->valbuf, FLEET_VALUE_MAX, 0, "SC_Component_Property.Value1", err,
	    errlen) == -1)
		return -1;
	if ((s = store_fleet_site(f, code)) == NULL) {
		log_warnx("site DB %s: IssuingCertificateList for site '%s' that v_Site does not list: ignored",
		    db->where, code);
		return 0;
	}
	return store_fleet_site_value(s, db->valbuf, err, errlen);
}

/* Find or add the host named in column 1 (site in column 2); NULL + err, or NULL with *skip set. */
static struct fleet_host *
row_host(struct sitedb *db, struct store_fleet *f, const char *table, int *skip, char *err, size_t errlen)
{
	struct fleet_host h, *hp;
	char what[64];

	*skip = 0;
	memset(&h, 0, sizeof(h));
	snprintf(what, sizeof(what), "%s.ServerName", table);
	if (col_text(db, 1, h.fqdn, sizeof(h.fqdn), 0, what, err, errlen) == -1)
		return NULL;
	snprintf(what, sizeof(what), "%s.SiteCode", table);
	if (col_text(db, 2, h.site, sizeof(h.site), 0, what, err, errlen) == -1)
		return NULL;
	if (!fqdn_ok(h.fqdn) || !code_ok(h.site)) {
		log_warnx("site DB %s: %s: skipping row with server '%s', site '%s'", db->where, table,
		    h.fqdn, h.site);
		*skip = 1;
		return NULL;
	}
	if ((hp = store_fleet_host(f, h.fqdn)) != NULL) {
		if (strcmp(hp->site, h.site) != 0)
			log_warnx("site DB %s: %s: %s listed under site %s and %s; keeping %s", db->where,
			    table, h.fqdn, hp->site, h.site, hp->site);
		return hp;
	}
	return store_fleet_add_host(f, &h, err, errlen);
}

/* row_dp's argument: the fleet, and the column number of each optional column in the query (0 = absent). */
struct dp_rows {
	struct store_fleet	*f;
	int			 col[DP_NOPT];
};

/*
 * An optional cloud marker column (Region, ServiceType): text, or an integer (Microsoft Learn's class gives
 * both types for each).  Into buf: the text, or "" for NULL, an empty text or the integer 0 (unset), or the
 * integer in decimal.  0 or -1 with err.
 */
static int
col_marker(struct sitedb *db, int col, char *buf, size_t cap, const char *what, char *err, size_t errlen)
{
	long long v;

	buf[0] = '\0';
	if (col == 0 || dbdata(db->dbproc, col) == NULL || dbdatlen(db->dbproc, col) <= 0)
		return 0;
	if (is_char_type(dbcoltype(db->dbproc, col)))
		return col_text(db, col, buf, cap, 1, what, err, errlen);
	if (col_int(db, col, 0, &v, what, err, errlen) == -1)
		return -1;
	if (v != 0)
		snprintf(buf, cap, "%lld", v);
	return 0;
}

/* 1 when name (ASCII, any case) ends with suffix preceded by a label. */
static int
ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcasecmp(name + n - m, suffix) == 0;
}

/*
 * The cloud kind (a words_cloud word) of a host named fqdn whose DP row carries region and service_type (""
 * when unset or not in the view), or NULL for an on-premises host.  doc/FIELD-NOTES.md, "Cloud distribution
 * points and cloud management gateways": Region and ServiceType are set for cloud DPs only; an Azure cloud
 * service is named <name>.cloudapp.net (<name>.usgovcloudapp.net in US Government), a CMG on a virtual
 * machine scale set <name>.<region>.cloudapp.azure.com (a CMG only: the cloud DP is a classic cloud service).
 * SMS_AzureService documents ServiceType CloudDistributionPoint for a cloud DP; CloudProxyService, the value
 * administrators' scripts select CMGs by, reads as a CMG; any other value as a cloud DP.
 */
static const char *
cloud_kind(const char *fqdn, const char *region, const char *service_type)
{
	int azure_name = ends_with(fqdn, ".cloudapp.net") || ends_with(fqdn, ".usgovcloudapp.net");
	int vmss_name = ends_with(fqdn, ".cloudapp.azure.com");

	if (vmss_name || strcasecmp(service_type, "CloudProxyService") == 0)
		return words_cloud[1];		/* cmg */
	if (azure_name || region[0] != '\0' || service_type[0] != '\0')
		return words_cloud[0];		/* cloud_dp */
	return NULL;
}

static int
row_dp(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct dp_rows *r = arg;
	struct fleet_host *h;
	long long pxe, sccm_pxe, active, pull;
	char region[FLEET_NAME_MAX], stype[FLEET_NAME_MAX];
	const char *cloud;
	int skip;

	if (col_int(db, 3, 0, &pxe, "v_DistributionPointInfo.IsPXE", err, errlen) == -1 ||
	    col_int(db, 4, 1, &active, "v_DistributionPointInfo.IsActive", err, errlen) == -1 ||
	    col_int(db, 5, 0, &pull, "v_DistributionPointInfo.IsPullDP", err, errlen) == -1 ||
	    col_marker(db, r->col[DP_REGION], region, sizeof(region), "v_DistributionPointInfo.Region", err,
	    errlen) == -1 ||
	    col_marker(db, r->col[DP_SERVICETYPE], stype, sizeof(stype), "v_DistributionPointInfo.ServiceType",
	    err, errlen) == -1)
		return -1;
	if (r->col[DP_SCCMPXE] == 0)
		sccm_pxe = pxe != 0 && active != 0;
	else if (col_int(db, r->col[DP_SCCMPXE], 0, &sccm_pxe, "v_DistributionPointInfo.SccmPXE", err,
	    errlen) == -1)
		return -1;
	if ((h = row_host(db, r->f, "v_DistributionPointInfo", &skip, err, errlen)) == NULL)
		return skip ? 0 : -1;
	if ((cloud = cloud_kind(h->fqdn, region, stype)) != NULL && h->cloud != words_cloud[1])
		h->cloud = cloud;	/* listed twice: cmg wins, then cloud_dp */
	if (h->is_dp) {			/* listed twice: merge */
		h->pxe |= pxe != 0;
		h->sccm_pxe |= sccm_pxe != 0;
		h->is_active |= active != 0;
		h->is_pull_dp |= pull != 0;
	} else {
		h->is_dp = 1;
		h->pxe = pxe != 0;
		h->sccm_pxe = sccm_pxe != 0;
		h->is_active = active != 0;
		h->is_pull_dp = pull != 0;
	}
	return 0;
}

/*
 * A management point row of a host in an Azure cloud-service domain is a cloud management gateway (cloud_kind;
 * doc/FIELD-NOTES.md, "Cloud distribution points and cloud management gateways").
 */
static int
row_mp(struct sitedb *db, void *arg, char *err, size_t errlen)
{
	struct fleet_host *h;
	int skip;

	if ((h = row_host(db, arg, "v_SystemResourceList", &skip, err, errlen)) == NULL)
		return skip ? 0 : -1;
	if (!h->is_dp)
		h->is_active = 1;
	h->is_mp = 1;
	if (h->cloud == NULL && cloud_kind(h->fqdn, "", "") != NULL)
		h->cloud = words_cloud[1];
	return 0;
}

/* The DP query asking for the optional columns r->col marks present (non-zero), numbering them as it goes. */
static void
dp_query(struct dp_rows *r, char *sql, size_t size, int *ncols)
{
	size_t i, len;

	len = (size_t)snprintf(sql, size, "%s", SQL_DPS_DOC);
	*ncols = DP_NDOC;
	for (i = 0; i < DP_NOPT; i++) {
		if (r->col[i] == 0)
			continue;
		r->col[i] = ++*ncols;
		len += (size_t)snprintf(sql + len, size - len, ", %s", dp_optional[i]);
	}
	snprintf(sql + len, size - len, "%s", SQL_DPS_FROM);
}

/* The optional column a 207 (invalid column name) names, or -1 for any other failure. */
static int
dp_missing_column(const struct sitedb *db, const struct dp_rows *r)
{
	char quoted[64];
	size_t i;

	if (db->msgno != 207 || db->eof || db->timeouts > 0)
		return -1;
	for (i = 0; i < DP_NOPT; i++) {
		snprintf(quoted, sizeof(quoted), "'%s'", dp_optional[i]);
		if (r->col[i] != 0 && strstr(db->msgtext, quoted) != NULL)
			return (int)i;
	}
	return -1;
}

/*
 * The DPs, with every optional column the view has: a view without one answers error 207 (invalid column
 * name) before any row, and the query is asked again without it, at most once per optional column.  Any
 * other 207 (a documented column missing) fails and is reported.
 */
static int
read_dps(struct sitedb *db, struct store_fleet *f, enum sitedb_error *cls, char *err, size_t errlen)
{
	struct dp_rows r = { f, { 1, 1, 1 } };
	const char *what = "reading v_DistributionPointInfo";
	char sql[SQL_DPS_MAX];
	int ncols, k, tries;

	for (tries = 0; tries <= DP_NOPT; tries++) {
		dp_query(&r, sql, sizeof(sql), &ncols);
		if (run_query(db, sql, ncols, what, row_dp, &r, cls, err, errlen) == 0)
			return 0;
		if ((k = dp_missing_column(db, &r)) < 0)
			return -1;
		dbcancel(db->dbproc);	/* the failed batch leaves nothing to read; make sure of it */
		if (k == DP_SCCMPXE)
			log_info("site DB %s: v_DistributionPointInfo has no SccmPXE column (it is not in "
			    "Microsoft's published view): SccmPXE taken as IsPXE and IsActive", db->where);
		else
			log_info("site DB %s: v_DistributionPointInfo has no %s column: cloud DPs and CMGs are "
			    "recognised without it (by name and the other column)", db->where, dp_optional[k]);
		r.col[k] = 0;
		if (cls != NULL)
			*cls = SITEDB_ERR_QUERY;
	}
	return -1;
}

int
sitedb_read_fleet(struct sitedb *db, struct store_fleet **out, enum sitedb_error *cls, char *err,
    size_t errlen)
{
	struct store_fleet *f;

	*out = NULL;
	if (cls != NULL)
		*cls = SITEDB_ERR_QUERY;
	if ((f = store_fleet_new()) == NULL)
		return util_err(err, errlen, "out of memory");
	/* Sites first: the other queries attach to them.  DPs before MPs so a DP's site wins. */
	if (run_query(db, SQL_SITES, 6, "reading v_Site", row_site, f, cls, err, errlen) == -1)
		goto fail;
	/* A site DB always lists its own site: an empty v_Site means we are not reading what we think we
	 * are (wrong database, no rights on the view), and storing it would retire the whole fleet. */
	if (f->nsites == 0) {
		util_err(err, errlen, "site DB %s: v_Site returned no site: wrong database or no read "
		    "permission on the views; the stored fleet is left as it was", db->where);
		goto fail;
	}
	if (run_query(db, SQL_VALUES, 2, "reading IssuingCertificateList", row_value, f, cls, err,
	    errlen) == -1 ||
	    read_dps(db, f, cls, err, errlen) == -1 ||
	    run_query(db, SQL_MPS, 2, "reading v_SystemResourceList", row_mp, f, cls, err, errlen) == -1)
		goto fail;
	store_fleet_sort(f);
	if (cls != NULL)
		*cls = SITEDB_OK;
	*out = f;
	return 0;
fail:
	store_fleet_free(f);
	return -1;
}
