/*
 * fixdecide.h — what a fix or rollback job does next, decided from facts alone: what the job and the site
 * say (struct fixdecide_job) and what the worker read or wrote (struct msg_fix_res).  No I/O: fixrun.c
 * gathers the facts and carries the decision out (store, log, worker pool).  The steps and outcomes are
 * drawn in fixrun.c's header.
 */
#ifndef DPFLEET_FIXDECIDE_H
#define DPFLEET_FIXDECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* The facts about one job when a reply arrives.  Strings are never NULL ("" = none). */
struct fixdecide_job {
	int		 rollback;	/* kind rollback, else fix */
	int		 has_backup;	/* a backup is stored: an earlier attempt may have written */
	int		 attempts;	/* how many times the job was claimed (1 = this run only) */
	int		 dry_run;
	const char	*job_expected;	/* the hash committed with the backup, or "" */
	/* fix: the site's value from this run's site-DB read */
	int		 host_known;	/* the fresh fleet lists the host */
	int		 site_state;	/* enum fleet_expected */
	const char	*expected;	/* the site's hash, or "" */
	size_t		 nelems;	/* its elements */
	/* rollback: the fix job's backup */
	const char	*restore_err;	/* why there is nothing to restore, or "" */
	int		 restore_absent;	/* the backup says "absent": delete */
	const uint8_t	*restore;
	size_t		 restore_len;
	uint32_t	 restore_type;
	/* the host's value before the job changed it, from the last read (fixrun.c keeps it across rounds) */
	int		 has_before;
	const char	*before;
};

enum fixdecide_action {
	FIXDECIDE_FINISH,	/* end the job with outcome, before, after and error */
	FIXDECIDE_WRITE,	/* take the backup (unless one is stored), then write */
	FIXDECIDE_REREAD,	/* a write's fate is unknown: read again in the next round */
};

struct fixdecide {
	enum fixdecide_action	 action;
	const char		*outcome;	/* FINISH: "written", "refused", ... (lib/store_jobs.h) */
	const char		*before;	/* FINISH: hashes to record, pointing into the facts or reply, or NULL */
	const char		*after;
	const char		*error;		/* FINISH: text to record, or NULL; may point to buf */
	int			 expected_from_job;	/* record job_expected as the value written (the site changed since) */
	int			 log_unknown;	/* REREAD after a write the worker could not tell the fate of */
	char			 buf[1300];
};

/* The reply to a READ (step 1): finish, or write. */
void	 fixdecide_read(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d);

/* The reply to a WRITE, RESTORE or DELETE (step 3, the value read back): finish, or re-read. */
void	 fixdecide_write(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d);

/*
 * Finish as unreachable with reason (a lib/reason.h word, or a sched.h status) and detail (NULL = none); the
 * error says so when an earlier attempt may have written.
 */
void	 fixdecide_unreachable(const struct fixdecide_job *j, const char *reason, const char *detail,
	    struct fixdecide *d);

/* 1 when m read the site's value (fix), or the backup (rollback), else 0. */
int	 fixdecide_holds_target(const struct fixdecide_job *j, const struct msg_fix_res *m);

#endif
