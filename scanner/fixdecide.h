/*
 * fixdecide.h — what a fix or rollback job does next, decided from facts alone: what the job and the site
 * say (struct fixdecide_job) and what the worker read or wrote (struct msg_fix_res).  No I/O: fixrun.c
 * gathers the facts and carries the decision out (store, log, worker pool).  The steps and outcomes are
 * drawn in fixrun.c's header.  Every job row may have been written by whoever can write the state DB
 * (dpfleet-server, or an attacker holding its access): the facts are what the scanner itself checked.
 */
#ifndef DPFLEET_FIXDECIDE_H
#define DPFLEET_FIXDECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* What the scanner found about the fix job a rollback names (fixrun.c checks it against the state DB). */
enum fixdecide_fix {
	FIXDECIDE_FIX_OK,		/* a done fix, outcome written, same host, its seal verifies */
	FIXDECIDE_FIX_MISSING,		/* no such job */
	FIXDECIDE_FIX_NOT_WRITTEN,	/* not a fix in state done with outcome written */
	FIXDECIDE_FIX_OTHER_HOST,	/* the fix wrote another host than the rollback names */
	FIXDECIDE_FIX_UNSEALED,		/* no seal, or one that does not verify (scanner/fixseal.h) */
};

/* The facts about one job when a reply arrives.  Strings are never NULL ("" = none). */
struct fixdecide_job {
	int		 rollback;	/* kind rollback, else fix */
	int		 has_backup;	/* a backup is stored: an earlier attempt may have written */
	int		 attempts;	/* how many times the job was claimed (1 = this run only) */
	int		 dry_run;
	int		 host_known;	/* this run's site-DB inventory lists the host (live) */
	const char	*cloud;		/* its cloud kind (a words_cloud word: never fixed), or NULL */
	/* fix */
	const char	*job_expected;	/* the hash the operator approved at queue time, or "" */
	int		 site_state;	/* enum fleet_expected, from this run's site-DB read */
	const char	*expected;	/* the site's hash, or "" */
	size_t		 nelems;	/* its elements */
	/* rollback: the fix job and its backup */
	int64_t		 fix_id;
	int		 fix_check;	/* enum fixdecide_fix */
	const char	*fix_after;	/* the hash of what the fix left on the host (sealed), or "" */
	int64_t		 newer_write;	/* a newer done job with a write on the host, or 0 */
	const char	*restore_err;	/* why the backup cannot be restored (does not decode), or "" */
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
	FIXDECIDE_READ,		/* (fixdecide_start) go on: read the host's value, step 1 */
};

struct fixdecide {
	enum fixdecide_action	 action;
	const char		*outcome;	/* FINISH: "written", "refused", ... (lib/store_jobs.h) */
	const char		*before;	/* FINISH: hashes to record, pointing into the facts or reply, or NULL */
	const char		*after;
	const char		*error;		/* FINISH: text to record, or NULL; may point to buf */
	int			 log_unknown;	/* REREAD after a write the worker could not tell the fate of */
	char			 buf[1300];
};

/*
 * Before any contact with the host: finish (refused: the host is not in the inventory or is a cloud DP or CMG,
 * the fix has no usable approval, the rollback's fix or backup does not qualify), or read.
 */
void	 fixdecide_start(const struct fixdecide_job *j, struct fixdecide *d);

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
