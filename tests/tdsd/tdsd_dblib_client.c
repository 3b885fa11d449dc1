/*
 * tdsd_dblib_client.c — a tiny FreeTDS DB-Library client used by the fixture's integration test
 * (tdsd_test.py) to check dpfleet-tdsd the way the scanner talks to it: DBVERSION_74, UTF-8 charset,
 * dbsetlogintime/dbsettime, and INT_TIMEOUT on a query timeout (the connection stays usable) / INT_CANCEL on
 * a login timeout.  Test code only.
 *
 * usage: tdsd_dblib_client HOST:PORT USER PASSWORD DATABASE LOGIN_TIMEOUT QUERY_TIMEOUT SQL [SQL...]
 * Each SQL runs as one batch on the same connection.  Output, one line each: "cols<TAB>name:type..." per
 * result set, "row<TAB>v1<TAB>v2..." (NULL as the word NULL), "msg<TAB>number<TAB>text" for server
 * messages of severity > 10, "timeout" when a batch timed out, "done<TAB>k" after batch k.  Exit status: 0
 * all batches ran (errors and timeouts included), 2 login failed, 3 connection lost, 1 usage/other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sybfront.h>
#include <sybdb.h>

struct state {
	int	 timed_out;
	int	 in_login;
};

/* DB-Library's handlers take no user pointer: this is the one piece of process state the handlers reach. */
static struct state *client_state;

static int
err_handler(DBPROCESS *dbproc, int severity, int dberr, int oserr, char *dberrstr, char *oserrstr)
{
	(void)dbproc; (void)severity; (void)oserr; (void)oserrstr;
	if (dberr == SYBETIME) {
		if (client_state->in_login)
			return INT_CANCEL;
		client_state->timed_out = 1;
		return INT_TIMEOUT;
	}
	fprintf(stderr, "dblib error %d: %s\n", dberr, dberrstr ? dberrstr : "");
	return INT_CANCEL;
}

static int
msg_handler(DBPROCESS *dbproc, DBINT msgno, int msgstate, int severity, char *msgtext, char *srvname,
    char *procname, int line)
{
	(void)dbproc; (void)msgstate; (void)srvname; (void)procname; (void)line;
	if (severity > 10)
		printf("msg\t%d\t%s\n", (int)msgno, msgtext);
	return 0;
}

static void
print_value(DBPROCESS *p, int c)
{
	BYTE	*d = dbdata(p, c);
	DBINT	 l = dbdatlen(p, c);
	int	 t = dbcoltype(p, c);
	char	 buf[8192];
	DBINT	 n;

	if (d == NULL) {
		fputs("NULL", stdout);
		return;
	}
	if (t == SYBCHAR || t == SYBVARCHAR || t == SYBTEXT) {
		fwrite(d, 1, (size_t)l, stdout);
		return;
	}
	if (t == SYBDATETIME) {
		DBDATEREC r;

		if (dbdatecrack(p, &r, (DBDATETIME *)d) == SUCCEED) {
			printf("%04d-%02d-%02d %02d:%02d:%02d", r.dateyear, r.datemonth + 1, r.datedmonth, r.datehour,
			    r.dateminute, r.datesecond);
			return;
		}
	}
	n = dbconvert(p, t, d, l, SYBCHAR, (BYTE *)buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	fputs(buf, stdout);
}

/* The result sets of the statement just executed: a "cols" line each, then a "row" line per row; -1 when the
 * connection is dead, else 0. */
static int
print_results(DBPROCESS *p)
{
	RETCODE	 rc;
	int	 c, ncols;

	while ((rc = dbresults(p)) != NO_MORE_RESULTS) {
		if (rc == FAIL) {
			if (DBDEAD(p))
				return -1;
			break;
		}
		ncols = dbnumcols(p);
		if (ncols > 0) {
			fputs("cols", stdout);
			for (c = 1; c <= ncols; c++)
				printf("\t%s:%s", dbcolname(p, c), dbprtype(dbcoltype(p, c)));
			putchar('\n');
		}
		while ((rc = dbnextrow(p)) != NO_MORE_ROWS) {
			if (rc == FAIL) {
				if (DBDEAD(p))
					return -1;
				break;
			}
			fputs("row", stdout);
			for (c = 1; c <= ncols; c++) {
				putchar('\t');
				print_value(p, c);
			}
			putchar('\n');
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct state	 st = { 0, 0 };
	LOGINREC	*login;
	DBPROCESS	*p;
	int		 i;

	if (argc < 8) {
		fprintf(stderr, "usage: %s HOST:PORT USER PASSWORD DATABASE LOGIN_TIMEOUT QUERY_TIMEOUT SQL...\n",
		    argv[0]);
		return 1;
	}
	client_state = &st;
	if (dbinit() == FAIL)
		return 1;
	dberrhandle(err_handler);
	dbmsghandle(msg_handler);
	dbsetlogintime(atoi(argv[5]));
	dbsettime(atoi(argv[6]));
	login = dblogin();
	DBSETLUSER(login, argv[2]);
	DBSETLPWD(login, argv[3]);
	DBSETLAPP(login, "tdsd_dblib_client");
	DBSETLCHARSET(login, "UTF-8");
	DBSETLVERSION(login, DBVERSION_74);
	DBSETLDBNAME(login, argv[4]);
	st.in_login = 1;
	p = dbopen(login, argv[1]);
	st.in_login = 0;
	dbloginfree(login);
	if (p == NULL) {
		printf("login failed\n");
		dbexit();
		return 2;
	}
	for (i = 7; i < argc; i++) {
		st.timed_out = 0;
		if (dbcmd(p, argv[i]) == FAIL)
			goto lost;
		if (dbsqlexec(p) == FAIL) {
			if (st.timed_out) {
				printf("timeout\n");
				printf("done\t%d\n", i - 6);
				continue;
			}
			if (DBDEAD(p))
				goto lost;
			printf("done\t%d\n", i - 6);
			continue;
		}
		if (print_results(p) == -1)
			goto lost;
		if (st.timed_out)
			printf("timeout\n");
		printf("done\t%d\n", i - 6);
		fflush(stdout);
	}
	dbclose(p);
	dbexit();
	return 0;
lost:
	printf("connection lost\n");
	dbexit();
	return 3;
}
