/*
 * fixdecide.c — the decisions of a fix or rollback job (see fixdecide.h).  Called by fixrun.c once per
 * reply; pure: it reads the facts and fills the decision, nothing else.  Tested from a table of cases in
 * tests/unit/test_fix_decide.c.
 *
 * Every job row is untrusted (dpfleet-scanner(8), "Jobs"): the operator's approval and the fix job a rollback
 * names are checked against what the scanner itself read and sealed, before any contact and again at the read.
 * Before contact (fixdecide_start), the first that applies decides:
 *   host not in this run's site-DB inventory → refused (every kind);
 *   fix without a backup (nothing written yet): site value absent or ambiguous, no approved hash (a dry run
 *   needs none: it writes nothing), approved hash not the site's value read now → refused;
 *   rollback: its fix job missing, not a done fix with outcome written, of another host, its seal not
 *   verifying (a backup the scanner did not take), its backup not decoding, a newer job that wrote to the
 *   host → refused;
 *   else read.
 * A READ of a fix job, in this order:
 *   unreachable → unreachable; a backup exists and the host holds the approved value → written (our earlier
 *   write landed, whatever the site says now); the checks before contact → refused; Security key absent →
 *   refused, denied → access_denied, another WERROR → unreachable; the site's value already there →
 *   already_correct; value over MSG_VALUE_MAX → refused; dry run → would_write; else back up and write the
 *   site's value (equal to the approved one).
 * A READ of a rollback: unreachable; the checks before contact; the key checks; the backup there and our own
 *   backup taken → restored (an interrupted attempt landed); the host holds the fix's after-value → back up
 *   and restore; anything else → refused (a later write changed it: restoring would undo that write).
 * A WRITE's read-back: accepted and verified → written/restored; accepted but the read-back unreachable, or
 *   the transport failed mid-write and the value is not there → re-read; accepted and another value →
 *   verify_failed; denied → access_denied; key absent → refused; WERROR or no connection → unreachable.
 */
#include "fixdecide.h"
#include "store_fleet.h"
#include "words.h"

#include <stdio.h>
#include <string.h>

#define KEY_ABSENT_TEXT	"HKLM\\SOFTWARE\\Microsoft\\SMS\\Security is absent: not a healthy ConfigMgr host"
#define TOO_LARGE_TEXT	"the current value is over 1 MiB and cannot be backed up"
#define NOT_IN_INVENTORY	"host not in the site DB's inventory"
#define BACKUP_KEPT	" (a write may have landed earlier; backup kept)"

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
	    j->has_backup ? BACKUP_KEPT : "");
	finish(d, "unreachable", before_if_any(j), NULL, d->buf);
}

/* m read a REG_MULTI_SZ whose strings hash to sha (not ""). */
static int
value_is(const struct msg_fix_res *m, const char *sha)
{
	return sha[0] != '\0' && m->reg == MSG_REG_VALUE && m->decoded && m->value_type == 7 &&
	    strcmp(m->sha256, sha) == 0;
}

static int
value_is_expected(const struct fixdecide_job *j, const struct msg_fix_res *m)
{
	return j->site_state == FLEET_EXPECTED_PRESENT && value_is(m, j->expected);
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

/* Refused with a text (in d->buf), noting a backup taken by an earlier attempt. */
static void
refuse(const struct fixdecide_job *j, struct fixdecide *d, const char *before, const char *text)
{
	snprintf(d->buf, sizeof(d->buf), "%s%s", text, j->has_backup ? BACKUP_KEPT : "");
	finish(d, "refused", before, NULL, d->buf);
}

/* A fix job: what the inventory, the site and the approval say forbids the write.  1 refused, else 0. */
static int
fix_refusal(const struct fixdecide_job *j, struct fixdecide *d)
{
	char txt[400];

	if (!j->host_known)
		refuse(j, d, before_if_any(j), NOT_IN_INVENTORY);
	else if (j->site_state != FLEET_EXPECTED_PRESENT || j->nelems == 0)
		refuse(j, d, before_if_any(j), j->site_state == FLEET_EXPECTED_AMBIGUOUS ?
		    "the site's IssuingCertificateList is ambiguous (several distinct Value1 rows)" :
		    "the site has no IssuingCertificateList value in the site DB");
	else if (j->job_expected[0] == '\0' && !j->dry_run)
		refuse(j, d, before_if_any(j), "no approved value: the job was queued while its site had no usable "
		    "IssuingCertificateList (queue a new fix)");
	else if (j->job_expected[0] != '\0' && strcmp(j->job_expected, j->expected) != 0) {
		snprintf(txt, sizeof(txt), "the site's value changed since the operator approved it (approved "
		    "%.12s, site now %.12s): queue a new fix", j->job_expected, j->expected);
		refuse(j, d, before_if_any(j), txt);
	} else
		return 0;
	return 1;
}

/* A rollback: what the inventory and the fix job named say forbids the restore.  1 refused, else 0. */
static int
rollback_refusal(const struct fixdecide_job *j, struct fixdecide *d)
{
	char txt[400];

	if (!j->host_known)
		snprintf(txt, sizeof(txt), NOT_IN_INVENTORY);
	else if (j->fix_check == FIXDECIDE_FIX_MISSING)
		snprintf(txt, sizeof(txt), "fix job %lld not found", (long long)j->fix_id);
	else if (j->fix_check == FIXDECIDE_FIX_NOT_WRITTEN)
		snprintf(txt, sizeof(txt), "job %lld is not a done fix with outcome written", (long long)j->fix_id);
	else if (j->fix_check == FIXDECIDE_FIX_OTHER_HOST)
		snprintf(txt, sizeof(txt), "fix job %lld wrote another host", (long long)j->fix_id);
	else if (j->fix_check != FIXDECIDE_FIX_OK)
		snprintf(txt, sizeof(txt), "fix job %lld: its backup does not carry the scanner's seal (not a "
		    "backup this scanner took)", (long long)j->fix_id);
	else if (j->restore_err[0] != '\0')
		snprintf(txt, sizeof(txt), "%s", j->restore_err);
	else if (j->newer_write != 0)
		snprintf(txt, sizeof(txt), "job %lld wrote to the host after fix job %lld: restoring the older "
		    "backup would undo it", (long long)j->newer_write, (long long)j->fix_id);
	else
		return 0;
	refuse(j, d, before_if_any(j), txt);
	return 1;
}

void
fixdecide_start(const struct fixdecide_job *j, struct fixdecide *d)
{
	const char *why;

	memset(d, 0, sizeof(*d));
	d->action = FIXDECIDE_READ;
	if (j->cloud != NULL && (why = words_cloud_reason(j->cloud)) != NULL) {
		snprintf(d->buf, sizeof(d->buf), "%s: %s", WORDS_CLOUD_SHOWN, why);
		finish(d, "refused", NULL, NULL, d->buf);	/* never contacted: nothing read, nothing kept */
	} else if (j->rollback)
		(void)rollback_refusal(j, d);
	else if (!j->host_known || !j->has_backup)
		(void)fix_refusal(j, d);	/* with a backup the read decides: a write may have landed */
}

/* A fix job's read: our earlier write landed (a backup and the approved value).  1 decided, else 0. */
static int
read_fix_written(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	if (!j->has_backup || !value_is(m, j->job_expected))
		return 0;
	if (strcmp(j->job_expected, j->expected) != 0 || j->site_state != FLEET_EXPECTED_PRESENT)
		finish(d, "written", NULL, m->sha256, "finished after an interrupted attempt: the host holds the "
		    "value written then, and the site's value has changed since (queue a new fix)");
	else
		finish(d, "written", NULL, m->sha256, j->attempts > 1 ?
		    "finished after an interrupted attempt: the host holds the value written" : NULL);
	return 1;
}

static void
read_fix(const struct fixdecide_job *j, const struct msg_fix_res *m, struct fixdecide *d)
{
	if (m->reg == MSG_REG_UNREACHABLE)
		fixdecide_unreachable(j, m->reason, m->detail, d);
	else if (read_fix_written(j, m, d) || fix_refusal(j, d) || key_unusable(j, m, d))
		;
	else if (value_is_expected(j, m))
		finish(d, "already_correct", m->sha256, m->sha256, NULL);
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
	char txt[128], buf[400];

	if (m->reg == MSG_REG_UNREACHABLE)
		fixdecide_unreachable(j, m->reason, m->detail, d);
	else if (rollback_refusal(j, d) || key_unusable(j, m, d))
		;
	else if (j->has_backup && value_is_backup(j, m))
		finish(d, "restored", j->before, j->before,
		    "finished after an interrupted attempt: the host holds the backup");
	else if (value_is(m, j->fix_after))
		d->action = FIXDECIDE_WRITE;
	else {
		reg_text(m, txt, sizeof(txt));
		snprintf(buf, sizeof(buf), "the host no longer holds the value fix job %lld wrote (%.12s; read: %s%s"
		    "%.12s): a later write changed it, restoring would undo that", (long long)j->fix_id, j->fix_after,
		    txt, m->decoded ? ", hash " : "", m->decoded ? m->sha256 : "");
		refuse(j, d, before_if_any(j), buf);
	}
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
