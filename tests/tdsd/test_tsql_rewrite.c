/*
 * test_tsql_rewrite.c — unit tests for tsql_rewrite(): each rewrite rule, what must stay untouched (strings,
 * comments, quoted identifiers), the refusals, and that the scanner's real queries come out as SQL that
 * SQLite prepares against configmgr.sql's schema.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tsql_rewrite.h"
#include "util.h"

static char *
rw(const char *in)
{
	static char	 buf[4096];
	char		*out = NULL, err[256];

	if (tsql_rewrite(in, &out, err, sizeof(err)) == -1)
		return NULL;
	util_strlcpy(buf, out, sizeof(buf));
	free(out);
	return buf;
}

static int
refused(const char *in)
{
	char *out = NULL, err[256];

	if (tsql_rewrite(in, &out, err, sizeof(err)) == 0) {
		free(out);
		return 0;
	}
	return out == NULL && err[0] != '\0';
}

static const char *schema_path(void);

int
main(void)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		*schema, err[256];
	size_t		 len;
	const char	*q[] = {
		"SELECT SiteCode, SiteName, Type, ReportingSiteCode, ServerName, InstallDir FROM v_Site WITH (NOLOCK)",
		"SELECT SD.SiteCode, SC.ComponentName, SCP.Name, SCP.Value1, SCP.Value2, SCP.Value3 FROM SC_Component SC "
		"JOIN SC_SiteDefinition SD ON SD.SiteNumber = SC.SiteNumber JOIN SC_Component_Property SCP ON "
		"SCP.ComponentID = SC.ID WHERE SCP.Name = N'IssuingCertificateList'",
		"SELECT TOP 1 [ServerName], ISNULL(IsPXE, 0) FROM [dbo].[v_DistributionPointInfo] (NOLOCK) "
		"WHERE SiteCode = N'x' ORDER BY ID",
		"SELECT ServerName, RoleName FROM v_SystemResourceList WITH (NOLOCK) WHERE RoleName IN "
		"(N'SMS Management Point', N'SMS Distribution Point')",
	};
	size_t		 i;

	CHECK_STR(rw("SELECT N'abc'"), "SELECT 'abc'");
	CHECK_STR(rw("SELECT n'a''b', N'' FROM t"), "SELECT 'a''b', '' FROM t");
	CHECK_STR(rw("SELECT VN'x'"), "SELECT VN'x'");		/* not a prefix: part of a word */
	CHECK_STR(rw("SELECT 'N''x' FROM t"), "SELECT 'N''x' FROM t");	/* inside a literal */
	CHECK_STR(rw("SELECT [a b], [x]]y], [q\"] FROM [t]"), "SELECT \"a b\", \"x]y\", \"q\"\"\" FROM \"t\"");
	CHECK_STR(rw("SELECT a FROM t WITH (NOLOCK) WHERE b = 1"), "SELECT a FROM t  WHERE b = 1");
	CHECK_STR(rw("SELECT a FROM t with(nolock, READPAST)"), "SELECT a FROM t ");
	CHECK_STR(rw("SELECT a FROM t (NOLOCK)"), "SELECT a FROM t ");
	CHECK_STR(rw("WITH x AS (SELECT 1) SELECT * FROM x"), "WITH x AS (SELECT 1) SELECT * FROM x");
	CHECK_STR(rw("SELECT a FROM t WITH (INDEX(1))"), "SELECT a FROM t WITH (INDEX(1))");	/* left for SQLite */
	CHECK_STR(rw("SELECT TOP 5 a FROM t ORDER BY a"), "SELECT a FROM t ORDER BY a\nLIMIT 5");
	CHECK_STR(rw("select top (10) a from t; SELECT TOP 2 b FROM u;"),
	    "select a from t\nLIMIT 10; SELECT b FROM u\nLIMIT 2;");
	CHECK_STR(rw("SELECT DISTINCT TOP 3 a FROM t -- note"), "SELECT DISTINCT a FROM t -- note\nLIMIT 3");
	CHECK_STR(rw("SELECT ISNULL(a, 0), LEN(b), GETDATE() FROM t"),
	    "SELECT IFNULL(a, 0), LENGTH(b), datetime('now') FROM t");
	CHECK_STR(rw("SELECT isnull FROM t"), "SELECT isnull FROM t");	/* a column, not the function */
	CHECK_STR(rw("/* TOP 1 [x] */ SELECT '[y]' -- N'z'"), "/* TOP 1 [x] */ SELECT '[y]' -- N'z'");
	CHECK_STR(rw(""), "");
	CHECK_STR(rw("SELECT * FROM dbo.v_Site, [dbo].[SC_Component]"), "SELECT * FROM v_Site, \"SC_Component\"");
	CHECK(refused("SELECT a FROM (SELECT TOP 1 a FROM t) x"));
	CHECK(refused("SELECT TOP 10 PERCENT a FROM t"));
	CHECK(refused("SELECT TOP 1 WITH TIES a FROM t ORDER BY a"));
	CHECK(refused("SELECT TOP @n a FROM t"));
	CHECK(refused("SELECT [unterminated FROM t"));

	/* The scanner's real queries prepare on the fixture schema once rewritten. */
	schema = util_read_file(schema_path(), 1 << 20, &len, err, sizeof(err));
	CHECK(schema != NULL);
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(schema && sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		const char *s = rw(q[i]);

		CHECK(s != NULL);
		if (s == NULL)
			continue;
		if (sqlite3_prepare_v2(db, s, -1, &st, NULL) != SQLITE_OK)
			fprintf(stderr, "query %zu: %s\n  %s\n", i, sqlite3_errmsg(db), s);
		CHECK(st != NULL);
		sqlite3_finalize(st);
		st = NULL;
	}
	sqlite3_close(db);
	free(schema);
	return check_done("test_tsql_rewrite");
}

static const char *
schema_path(void)
{
	static char	 path[4096];
	const char	*root = getenv("DPFLEET_SOURCE_ROOT");

	snprintf(path, sizeof(path), "%s/tests/tdsd/configmgr.sql", root ? root : ".");
	return path;
}
