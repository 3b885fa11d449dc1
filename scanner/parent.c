/*
 * parent.c — opening and closing what the scanner parent holds during one mode (see parent.h), and the
 * site-DB read every mode that scans or fixes starts with.  Called by scan.c (`--once`), daemon.c and
 * fixrun.c.  Order matters: workers are forked before the state DB is opened, so no child inherits a SQLite
 * connection; signals are blocked before the workers exist, and sched.c unblocks them in each child.
 */
#include "parent.h"
#include "krb.h"
#include "log.h"
#include "sched.h"
#include "sitedb.h"
#include "store.h"
#include "store_fleet.h"
#include "store_scan.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define READY_MS	15000

int
parent_signals_open(char *err, size_t errlen)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return util_err(err, errlen, "sigprocmask: %s", strerror(errno));
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return util_err(err, errlen, "signalfd: %s", strerror(errno));
	return fd;
}

int
parent_signalled(int sigfd)
{
	struct signalfd_siginfo si;

	return read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

void
parent_close(struct parent *p)
{
	sched_free(p->pool, 2000);
	p->pool = NULL;
	store_close(p->st);
	p->st = NULL;
	krb_close(p->krb);
	p->krb = NULL;
	if (p->sitedb_ready)
		sitedb_global_exit();
	p->sitedb_ready = 0;
	if (p->sigfd != -1)
		close(p->sigfd);
	p->sigfd = -1;
}

int
parent_open(struct parent *p, const struct config *conf)
{
	char err[1024], now[UTIL_ISO_LEN];

	memset(p, 0, sizeof(*p));
	p->conf = conf;
	p->wc.conf = conf;
	signal(SIGPIPE, SIG_IGN);
	if ((p->sigfd = parent_signals_open(err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	/* Workers first: they are forked from a parent that holds no DB connection yet. */
	if (sched_new(&p->pool, conf->smb.concurrency, worker_main, &p->wc, READY_MS, err, sizeof(err)) == -1) {
		log_warnx("cannot start workers: %s", err);
		goto fail;
	}
	if (krb_open(&p->krb, conf, err, sizeof(err)) == -1) {
		log_warnx("kerberos: %s", err);
		goto fail;
	}
	(void)krb_refresh(p->krb, time(NULL), err, sizeof(err));	/* each failure logged */
	if (store_open(&p->st, conf->store.path, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto fail;
	}
	util_iso_now(now);
	if (store_scan_recover(p->st, now, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		goto fail;
	}
	return 0;
fail:
	parent_close(p);
	return -1;
}

int
parent_fleet_read(const struct config *conf, struct store *st, int *sitedb_ready, const char *prefix,
    struct store_fleet **out, struct store_fleet_stats *stats, char *err, size_t errlen)
{
	struct sitedb *db = NULL;
	struct store_fleet *f = NULL;
	char now[UTIL_ISO_LEN], why[512];
	int rc = -1;

	if (!*sitedb_ready) {
		if (sitedb_global_init(conf->sitedb.login_timeout, conf->sitedb.query_timeout, why,
		    sizeof(why)) == -1)
			return util_err(err, errlen, "site DB: %s", why);
		*sitedb_ready = 1;
	}
	if (sitedb_open(&db, conf, NULL, why, sizeof(why)) == -1 ||
	    sitedb_read_fleet(db, &f, NULL, why, sizeof(why)) == -1) {
		util_err(err, errlen, "%s%s", prefix, why);
		goto done;
	}
	util_iso_now(now);
	if (store_fleet_put(st, f, now, stats, why, sizeof(why)) == -1) {
		util_err(err, errlen, "store: %s", why);
		goto done;
	}
	rc = 0;
done:
	sitedb_close(db);
	if (rc == 0 && out != NULL)
		*out = f;
	else
		store_fleet_free(f);
	return rc;
}
