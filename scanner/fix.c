/*
 * fix.c — the `fix` and `rollback` subcommands (see fix.h): queue the operator's jobs as `cli:<unix user>`,
 * wait for the job lock (a daemon or another command may be running jobs), finish the jobs a stopped
 * scanner left running, run ours (fixrun_jobs), print one line per job.  Called by main.c.  A job of ours
 * that did not start is cancelled, never left queued for a daemon to run later.  `fix --all-affected` takes
 * only hosts whose site has a usable value, names the sites it left out, and queues nothing (exit 1) when that
 * leaves none.  All job SQL is in lib/store_jobs.c.
 */
#include "fix.h"
#include "fixrun.h"
#include "log.h"
#include "parent.h"
#include "sitedb.h"
#include "store.h"
#include "store_jobs.h"
#include "util.h"
#include "words.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void
cli_user(char *who, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(who, len, "cli:%s", pw->pw_name);
	else
		snprintf(who, len, "cli:%u", (unsigned)getuid());
}

/* Wait for the job lock (another scanner may be running jobs).  0, 1 stopped by a signal, -1 error. */
static int
lock_wait(int lockfd, int sigfd)
{
	struct pollfd p = { sigfd, POLLIN, 0 };
	int logged = 0;

	for (;;) {
		if (flock(lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_warn("flock");
			return -1;
		}
		if (!logged++)
			log_info("another scanner is running jobs; waiting for it");
		if (poll(&p, 1, 200) > 0)
			return 1;
	}
}

/* Print one line per job and return the exit status. */
static int
cli_report(struct store *st, const int64_t *ids, size_t n)
{
	json_t *j;
	size_t i;
	int bad = 0, ok;
	char err[256];

	for (i = 0; i < n; i++) {
		const char *host = "?", *state = "?", *outcome = NULL, *error = NULL, *before, *after;

		if (store_jobs_get(st, ids[i], &j, err, sizeof(err)) != 1) {
			printf("job %lld: %s\n", (long long)ids[i], err);
			bad = 1;
			continue;
		}
		host = json_string_value(json_object_get(j, "host"));
		state = json_string_value(json_object_get(j, "state"));
		outcome = json_string_value(json_object_get(j, "outcome"));
		error = json_string_value(json_object_get(j, "error"));
		before = json_string_value(json_object_get(j, "before_sha256"));
		after = json_string_value(json_object_get(j, "after_sha256"));
		ok = words_outcome_good(outcome);
		bad |= !ok;
		printf("%-40s %-16s job=%lld before=%.12s after=%.12s%s%s\n", host ? host : "?",
		    outcome ? outcome : (state ? state : "?"), (long long)ids[i], before ? before : "-",
		    after ? after : "-", error ? " error=" : "", error ? error : "");
		json_decref(j);
	}
	fflush(stdout);
	return bad ? 2 : 0;
}

/* Queue-then-run core of both subcommands: ids are the caller's queued jobs. */
static int
cli_run(const struct config *conf, struct store *st, int sigfd, const int64_t *ids, size_t n, const char *who)
{
	struct store_job j;
	int64_t *resume = NULL, *mine = NULL;
	size_t nresume = 0, nmine = 0, i;
	int lockfd = -1, sitedb_ready = 0, rc = 2, status = 1, store_failed = 0;
	char err[1024] = "";

	/* rc stays 2 ("did not start") until fixrun_jobs has run. */
	if ((lockfd = fixrun_lock_open(conf, err, sizeof(err))) == -1 || lock_wait(lockfd, sigfd) != 0)
		goto done;
	if ((resume = calloc(FIXRUN_BATCH_MAX, sizeof(*resume))) == NULL ||
	    (mine = calloc(n + 1, sizeof(*mine))) == NULL) {
		util_err(err, sizeof(err), "out of memory");
		goto done;
	}
	if (store_jobs_ids(st, "running", resume, FIXRUN_BATCH_MAX, &nresume, err, sizeof(err)) == -1)
		goto done;
	if (nresume > 0)
		log_info("%zu job(s) left running by a scanner that stopped: finishing them first", nresume);
	/* Ours that nobody ran meanwhile (a daemon may have taken some while we waited for the lock). */
	for (i = 0; i < n; i++)
		if (store_jobs_load(st, ids[i], &j, err, sizeof(err)) == 1) {
			if (strcmp(j.state, "queued") == 0)
				mine[nmine++] = ids[i];
			store_job_free(&j);
		}
	err[0] = '\0';
	rc = fixrun_jobs(conf, st, sigfd, &sitedb_ready, resume, nresume, mine, nmine, &store_failed, err,
	    sizeof(err));
	if (rc == 1)
		log_warnx("stopped by a signal: unfinished jobs stay running and are finished at the next start");
done:
	if (rc == 2 || rc == -1)
		log_warnx("%s%s", err[0] ? err : "the run did not start", rc == 2 ? ": nothing was written" : "");
	/* Ours that did not start are cancelled, never left queued for someone else to run later. */
	for (i = 0; rc != 0 && i < n; i++)
		if (store_jobs_cancel(st, ids[i], who, err, sizeof(err)) == 0)
			log_info("job %lld cancelled: it did not start", (long long)ids[i]);
	if (rc != 2)
		status = cli_report(st, ids, n);
	if (rc != 0 || store_failed)
		status = 1;
	if (sitedb_ready)
		sitedb_global_exit();
	if (lockfd != -1)
		close(lockfd);	/* releases the lock */
	free(resume);
	free(mine);
	return status;
}

/* Name each site whose affected hosts --all-affected left out: it has no usable value to approve. */
static void
log_left_out(const struct store_fix_result *r)
{
	size_t i;

	for (i = 0; i < r->nskipped; i++)
		log_warnx("site %s (%s): %ld affected host%s left out: no usable IssuingCertificateList in the "
		    "site DB to approve", *r->skipped[i].site ? r->skipped[i].site : "(none)", r->skipped[i].why,
		    r->skipped[i].hosts, r->skipped[i].hosts == 1 ? "" : "s");
}

int
fix_cli(const struct config *conf, const struct fix_order *o)
{
	struct store *st = NULL;
	struct store_fix_order so;
	struct store_fix_result r;
	int64_t *ids = NULL;
	char who[300], err[1024];
	int sigfd = -1, rc, status = 1;
	long i;

	memset(&r, 0, sizeof(r));
	cli_user(who, sizeof(who));
	signal(SIGPIPE, SIG_IGN);
	if ((sigfd = parent_signals_open(err, sizeof(err))) == -1 ||
	    store_open(&st, conf->store.path, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	memset(&so, 0, sizeof(so));
	so.hosts = o->hosts;
	so.nhosts = o->nhosts;
	so.all_affected = o->all_affected;
	so.site = o->site;
	so.dry_run = o->dry_run;
	so.requested_by = who;
	so.max_count = conf->fix.max_per_run;
	so.confirm_count = o->confirm > 0 ? o->confirm : -1;
	rc = store_jobs_queue_fixes(st, &so, &r, err, sizeof(err));
	if (rc == STORE_JOBS_NOT_FOUND) {
		log_warnx("unknown or retired host %s: nothing queued", r.unknown);
		goto done;
	}
	if (rc == STORE_JOBS_TOO_MANY) {
		log_warnx("%ld hosts exceed [fix] max_per_run %d: nothing queued; repeat with --confirm %ld to fix "
		    "them all", r.count, conf->fix.max_per_run, r.count);
		goto done;
	}
	if (rc == STORE_JOBS_CONFLICT) {
		log_warnx("%s: nothing queued", err);
		goto done;
	}
	if (rc != 0) {
		log_warnx("store: %s", err);
		goto done;
	}
	log_left_out(&r);
	if (r.count == 0) {
		printf("no host to fix\n");
		status = 0;
		goto done;
	}
	if ((ids = calloc((size_t)r.count, sizeof(*ids))) == NULL)
		goto done;
	for (i = 0; i < r.count; i++)
		ids[i] = r.jobs[i].id;
	log_info("%ld fix job(s) queued%s", r.count, o->dry_run ? " (dry run)" : "");
	status = cli_run(conf, st, sigfd, ids, (size_t)r.count, who);
done:
	free(ids);
	store_fix_result_free(&r);
	store_close(st);
	if (sigfd != -1)
		close(sigfd);
	return status;
}

int
fix_cli_rollback(const struct config *conf, int64_t job)
{
	struct store *st = NULL;
	int64_t id;
	char who[300], err[1024];
	int sigfd = -1, rc, status = 1;

	cli_user(who, sizeof(who));
	signal(SIGPIPE, SIG_IGN);
	if ((sigfd = parent_signals_open(err, sizeof(err))) == -1 ||
	    store_open(&st, conf->store.path, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	rc = store_jobs_queue_rollback(st, job, who, &id, err, sizeof(err));
	if (rc == STORE_JOBS_NOT_FOUND)
		log_warnx("no job %lld", (long long)job);
	else if (rc == STORE_JOBS_CONFLICT)
		log_warnx("%s", err);
	else if (rc != 0)
		log_warnx("store: %s", err);
	else
		status = cli_run(conf, st, sigfd, &id, 1, who);
done:
	store_close(st);
	if (sigfd != -1)
		close(sigfd);
	return status;
}

