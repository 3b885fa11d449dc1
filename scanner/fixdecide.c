/*
 * fixdecide.c — the decisions of a fix or rollback job (see fixdecide.h).  Called by fixrun.c once per
 * reply; pure: it reads the facts and fills the decision, nothing else.  Tested from a table of cases in
 * tests/unit/test_fix_decide.c.
 *
 * A READ of a fix job, in this order (the first that applies decides):
 *   unreachable → unreachable; the site's value already there → written (a backup exists: our earlier write
 *   landed) or already_correct; the value an interrupted attempt wrote while the site has changed since →
 *   written; host gone from the site DB, site value absent or ambiguous, site value changed since the job was
 *   queued → refused; Security key absent → refused, denied → access_denied, another WERROR → unreachable;
 *   value over MSG_VALUE_MAX → refused; dry run → would_write; else back up and write.
 * A READ of a rollback: unreachable; nothing to restore → refused; the key checks; the backup already there
 *   → restored; too large → refused; else back up and restore.
 * A WRITE's read-back: accepted and verified → written/restored; accepted but the read-back unreachable, or
 *   the transport failed mid-write and the value is not there → re-read; accepted and another value →
 *   verify_failed; denied → access_denied; key absent → refused; WERROR or no connection → unreachable.
 */
#include "fixdecide.h"
#include "store_fleet.h"

#include <stdio.h>
#include <string.h>

#define KEY_ABSENT_TEXT	"HKLM\\SOFTWARE\\Microsoft\\SMS\\Security is absent: not a healthy ConfigMgr host"
#define TOO_LARGE_TEXT	"the current value is over 1 MiB and cannot be backed up"

static void
finish(struct fixdecide *d, const char *outcome, const char *before, const char *after, const char *error)
{
	d->action = FIXDECIDE_FINISH;
	d->outcome = outcome;
	d->before = before;
	d->after = after;
	d->error = error;
}

static const char *
before_if_any(const struct fixdecide_job *j)
{
	return j->has_before ? j->before : NULL;
}

/* The read facts of a reply as a text for an error message. */
static void
reg_text(const struct msg_fix_res *m, char *buf, size_t len)
{
	switch (m->reg) {
	case MSG_REG_VALUE: snprintf(buf, len, "value type %u, %u bytes", m->value_type, m->raw_len); break;
	case MSG_REG_VALUE_ABSENT: snprintf(buf, len, "value absent"); break;
	case MSG_REG_KEY_ABSENT: snprintf(buf, len, "key absent"); break;
	case MSG_REG_DENIED: snprintf(buf, len, "access denied"); break;
	case MSG_REG_FAILED: snprintf(buf, len, "WERROR %u", m->werr); break;
	default: snprintf(buf, len, "unreachable (%s)", m->reason); break;
	}
}

void
fixdecide_unreachable(const struct fixdecide_job *j, const char *reason, const char *detail, struct fixdecide *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->buf, sizeof(d->buf), "%s%s%s%s", reason, detail && detail[0] ? ": " : "", detail ? detail : "",
	    j->has_backup ? " (a write may have landed earlier; backup kept)" : "");
	finish(d, "unreachable", before_if_any(j), NULL, d->buf);
}

static int
value_is_expected(const struct fixdecide_job *j, const struct msg_fix_res *m)
{
	return j->site_state == FLEET_EXPECTED_PRESENT && m->reg == MSG_REG_VALUE && m->decoded &&
	    m->value_type == 7 && strcmp(m->sha256, j->expected) == 0;
}

static int
value_is_backup(const struct fixdecide_job *j, const struct msg_fix_res *m)
{
	if (j->restore_absent)
		return m->reg == MSG_REG_VALUE_ABSENT;
	return m->reg == MSG_REG_VALUE && !m->too_large && m->value_type == j->restore_type &&
	    m->raw_len == j->restore_len && (m->raw_len == 0 || memcmp(m->raw, j->restore, m->raw_len) == 0);
}

int
fixdecide_holds_target(const struct fixdecide_job *j, const struct msg_fix_res *m)
{
	return j->rollback ? value_is_backup(j, m) : value_is_expected(j, m);
}

/* A read that found no Security key, or could not read it, ends the job (fix and rollback alike): 1, else 0. */
static int
key_unusable(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	char txt[128];

	switch (m->reg) {
	case MSG_REG_KEY_ABSENT:
		finish(d, "refused", NULL, NULL, KEY_ABSENT_TEXT);
		return 1;
	case MSG_REG_DENIED:
		finish(d, "access_denied", NULL, NULL, "reading the Security key: access denied (0x80070005)");
		return 1;
	case MSG_REG_FAILED:
		reg_text(m, txt, sizeof(txt));
		fixdecide_unreachable(j, "werror", txt, d);
		return 1;
	default:
		return 0;
	}
}

/* A fix job's read: the value already written, by us now or by an interrupted attempt.  1 decided, else 0. */
static int
read_fix_written(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	if (value_is_expected(j, m)) {
		if (j->has_backup)
			finish(d, "written", NULL, m->sha256, j->attempts > 1 ?
			    "finished after an interrupted attempt: the host holds the value written" : NULL);
		else
			finish(d, "already_correct", m->sha256, m->sha256, NULL);
		return 1;
	}
	if (j->has_backup && j->job_expected[0] != '\0' && m->reg == MSG_REG_VALUE && m->decoded &&
	    m->value_type == 7 && strcmp(m->sha256, j->job_expected) == 0) {
		/* An interrupted attempt wrote the value the site held then; the site has changed since. */
		finish(d, "written", NULL, m->sha256, "finished after an interrupted attempt: the host holds the "
		    "value written then, and the site's value has changed since (queue a new fix)");
		d->expected_from_job = 1;
		return 1;
	}
	return 0;
}

/* A fix job's read: what the site DB says forbids the write.  1 decided, else 0. */
static int
read_fix_site(const struct fixdecide_job *j, struct fixdecide *d)
{
	if (!j->host_known) {
		finish(d, "refused", j->before, NULL, "the host is no longer in the site DB");
		return 1;
	}
	if (j->site_state != FLEET_EXPECTED_PRESENT || j->nelems == 0) {
		finish(d, "refused", j->before, NULL, j->site_state == FLEET_EXPECTED_AMBIGUOUS ?
		    "the site's IssuingCertificateList is ambiguous (several distinct Value1 rows)" :
		    "the site has no IssuingCertificateList value in the site DB");
		return 1;
	}
	if (j->job_expected[0] != '\0' && strcmp(j->job_expected, j->expected) != 0) {
		finish(d, "refused", j->before, NULL, "the site's value changed since the job was queued");
		return 1;
	}
	return 0;
}

static void
read_fix(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	if (m->reg == MSG_REG_UNREACHABLE)
		fixdecide_unreachable(j, m->reason, m->detail, d);
	else if (read_fix_written(j, m, d) || read_fix_site(j, d) || key_unusable(j, m, d))
		;
	else if (m->too_large)
		finish(d, "refused", NULL, NULL, TOO_LARGE_TEXT);
	else if (j->dry_run)
		finish(d, "would_write", j->before, j->expected, NULL);
	else
		d->action = FIXDECIDE_WRITE;
}

static void
read_rollback(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	if (m->reg == MSG_REG_UNREACHABLE)
		fixdecide_unreachable(j, m->reason, m->detail, d);
	else if (j->restore_err[0] != '\0')
		finish(d, "refused", j->before, NULL, j->restore_err);
	else if (key_unusable(j, m, d))
		;
	else if (value_is_backup(j, m))
		finish(d, "restored", j->before, j->before, j->has_backup ?
		    "finished after an interrupted attempt: the host holds the backup" : NULL);
	else if (m->too_large)
		finish(d, "refused", NULL, NULL, TOO_LARGE_TEXT);
	else
		d->action = FIXDECIDE_WRITE;
}

void
fixdecide_read(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	memset(d, 0, sizeof(*d));
	if (j->rollback)
		read_rollback(j, m, d);
	else
		read_fix(j, m, d);
}

void
fixdecide_write(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	int ok = fixdecide_holds_target(j, m);
	const char *after = m->decoded ? m->sha256 : NULL;
	const char *good = j->rollback ? "restored" : "written";
	char txt[128];

	memset(d, 0, sizeof(*d));
	switch (m->write) {
	case MSG_WRITE_OK:
		if (ok)
			finish(d, good, before_if_any(j), after, NULL);
		else if (m->reg == MSG_REG_UNREACHABLE)
			d->action = FIXDECIDE_REREAD;	/* written but not verified yet */
		else {
			reg_text(m, txt, sizeof(txt));
			snprintf(d->buf, sizeof(d->buf), "read back after the write: %s%s", txt,
			    m->decoded ? ", not the value written" : "");
			finish(d, "verify_failed", before_if_any(j), after, d->buf);
		}
		return;
	case MSG_WRITE_DENIED:
		finish(d, "access_denied", before_if_any(j), NULL,
		    "writing the value: access denied (0x80070005; the scan account is not a local administrator)");
		return;
	case MSG_WRITE_KEY_ABSENT:
		finish(d, "refused", NULL, NULL, KEY_ABSENT_TEXT);
		return;
	case MSG_WRITE_FAILED:
		fixdecide_unreachable(j, "werror", m->detail, d);
		return;
	case MSG_WRITE_UNREACHABLE:
		fixdecide_unreachable(j, m->reason, m->detail, d);
		return;
	case MSG_WRITE_UNKNOWN:
	default:
		if (ok)
			finish(d, good, before_if_any(j), after, NULL);
		else {
			d->action = FIXDECIDE_REREAD;
			d->log_unknown = 1;
		}
		return;
	}
}
