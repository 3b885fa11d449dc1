/*
 * test_fix_decide.c — scanner/fixdecide.c from a table: each row is the facts of one job (fix or rollback,
 * backup taken or not, the site's value, the approved value, dry run, the fix job a rollback names, ...), one
 * reply of the worker (what it read, what its write did) or none (the decision before contact) and the
 * decision expected (finish with an outcome and error text, read, write, or re-read), with the hashes the job
 * records.  The rows marked "guard" are what a forged or stale job row must never get past
 * (dpfleet-scanner(8), "Jobs").
 */
#include "check.h"
#include "fixdecide.h"
#include "rrp.h"
#include "store_fleet.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define HA	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"	/* the site's value */
#define HB	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"	/* the host's before */
#define HO	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"	/* another approved value */

/*
 * Facts: a fix job for a host in the inventory, site value HA (2 elements) approved as HA, before HB; a
 * rollback of fix job 7, sealed, which left HA on the host and whose backup is 4 bytes of REG_MULTI_SZ.
 * Flags change one fact each.
 */
enum {
	F_ROLLBACK = 1 << 0, F_BACKUP = 1 << 1, F_ATTEMPT2 = 1 << 2, F_DRY = 1 << 3, F_JOBEXP_OLD = 1 << 4,
	F_JOBEXP_NONE = 1 << 5, F_HOST_GONE = 1 << 6, F_AMBIG = 1 << 7, F_NO_SITE = 1 << 8, F_NO_BEFORE = 1 << 9,
	F_RESTORE_ERR = 1 << 10, F_RESTORE_ABSENT = 1 << 11, F_FIX_MISSING = 1 << 12, F_FIX_NOT_WRITTEN = 1 << 13,
	F_FIX_OTHER_HOST = 1 << 14, F_UNSEALED = 1 << 15, F_NEWER = 1 << 16, F_CLOUD = 1 << 17,
};

/* Which decision a row asks for. */
enum { READ_REPLY, WRITE_REPLY, START };

/* The reply's value: none, the raw bytes of the backup (RAW_BACKUP) or other bytes (RAW_OTHER). */
enum { RAW_NONE, RAW_BACKUP, RAW_OTHER };

struct row {
	const char		*name;
	int			 step;		/* READ_REPLY, WRITE_REPLY (the read-back), START (no reply) */
	unsigned		 f;
	uint32_t		 reg, wr;	/* reply: enum msg_reg, enum msg_write */
	const char		*sha;		/* decoded value's hash, NULL = not decoded */
	int			 raw;
	int			 too_large;
	enum fixdecide_action	 action;
	const char		*outcome;	/* FINISH */
	const char		*error;		/* a substring of the error; NULL = no error */
	const char		*before, *after;
	int			 flag;		/* log_unknown (re-read) */
};

#define V	MSG_REG_VALUE
#define VA	MSG_REG_VALUE_ABSENT
#define UN	MSG_REG_UNREACHABLE
#define FIN	FIXDECIDE_FINISH
#define WR	FIXDECIDE_WRITE
#define RR	FIXDECIDE_REREAD
#define RD	FIXDECIDE_READ
#define RB	F_ROLLBACK

static const struct row rows[] = {
	/* fix, before contact */
	{ "start", START, 0, 0, 0, NULL, 0, 0, RD, NULL, NULL, NULL, NULL, 0 },
	{ "guard: start, a cloud management gateway", START, F_CLOUD | F_BACKUP, 0, 0, NULL, 0, 0, FIN, "refused",
	    "cloud — not scanned: cloud management gateway", NULL, NULL, 0 },
	{ "guard: start, rollback on a cloud host", START, F_CLOUD | RB, 0, 0, NULL, 0, 0, FIN, "refused",
	    "cloud — not scanned", NULL, NULL, 0 },
	{ "guard: start, host not in the inventory", START, F_HOST_GONE, 0, 0, NULL, 0, 0, FIN, "refused",
	    "host not in the site DB's inventory", HB, NULL, 0 },
	{ "guard: start, resumed, host not in the inventory", START, F_HOST_GONE | F_BACKUP, 0, 0, NULL, 0, 0, FIN,
	    "refused", "inventory (a write may have landed earlier; backup kept)", HB, NULL, 0 },
	{ "guard: start, no approved value", START, F_JOBEXP_NONE, 0, 0, NULL, 0, 0, FIN, "refused",
	    "no approved value", HB, NULL, 0 },
	{ "guard: start, approved value not the site's", START, F_JOBEXP_OLD, 0, 0, NULL, 0, 0, FIN, "refused",
	    "changed since the operator approved it (approved cccccccccccc, site now aaaaaaaaaaaa)", HB, NULL, 0 },
	{ "guard: start, site value absent", START, F_NO_SITE, 0, 0, NULL, 0, 0, FIN, "refused",
	    "no IssuingCertificateList", HB, NULL, 0 },
	{ "guard: start, site ambiguous", START, F_AMBIG, 0, 0, NULL, 0, 0, FIN, "refused", "ambiguous", HB, NULL,
	    0 },
	{ "start, dry run without approval", START, F_DRY | F_JOBEXP_NONE, 0, 0, NULL, 0, 0, RD, NULL, NULL, NULL,
	    NULL, 0 },
	{ "guard: start, dry run, approval not the site's", START, F_DRY | F_JOBEXP_OLD, 0, 0, NULL, 0, 0, FIN,
	    "refused", "changed since", HB, NULL, 0 },
	{ "start, resumed, approval not the site's: the read decides", START, F_BACKUP | F_JOBEXP_OLD, 0, 0, NULL,
	    0, 0, RD, NULL, NULL, NULL, NULL, 0 },
	/* fix, step 1: the READ */
	{ "unreachable", READ_REPLY, 0, UN, 0, NULL, 0, 0, FIN, "unreachable", "rpc_unavailable: pipe closed", HB,
	    NULL, 0 },
	{ "unreachable, backup kept", READ_REPLY, F_BACKUP, UN, 0, NULL, 0, 0, FIN, "unreachable", "backup kept",
	    HB, NULL, 0 },
	{ "already correct", READ_REPLY, 0, V, 0, HA, 0, 0, FIN, "already_correct", NULL, HA, HA, 0 },
	{ "own write landed", READ_REPLY, F_BACKUP, V, 0, HA, 0, 0, FIN, "written", NULL, NULL, HA, 0 },
	{ "own write landed, resumed", READ_REPLY, F_BACKUP | F_ATTEMPT2, V, 0, HA, 0, 0, FIN, "written",
	    "interrupted attempt", NULL, HA, 0 },
	{ "own write landed, site changed since", READ_REPLY, F_BACKUP | F_JOBEXP_OLD, V, 0, HO, 0, 0, FIN,
	    "written", "queue a new fix", NULL, HO, 0 },
	{ "guard: approved value there, site changed, no backup", READ_REPLY, F_JOBEXP_OLD, V, 0, HO, 0, 0, FIN,
	    "refused", "changed since", HB, NULL, 0 },
	{ "guard: site value there, approval differs", READ_REPLY, F_JOBEXP_OLD, V, 0, HA, 0, 0, FIN, "refused",
	    "changed since", HB, NULL, 0 },
	{ "guard: resumed, approval differs, not written", READ_REPLY, F_BACKUP | F_JOBEXP_OLD, V, 0, HB, 0, 0,
	    FIN, "refused", "changed since the operator approved it (approved cccccccccccc, site now aaaaaaaaaaaa): "
	    "queue a new fix (a write may have landed earlier; backup kept)", HB, NULL, 0 },
	{ "guard: no approved value", READ_REPLY, F_JOBEXP_NONE, V, 0, HB, 0, 0, FIN, "refused",
	    "no approved value", HB, NULL, 0 },
	{ "guard: host not in the inventory", READ_REPLY, F_HOST_GONE, V, 0, HB, 0, 0, FIN, "refused",
	    "host not in the site DB's inventory", HB, NULL, 0 },
	{ "site ambiguous", READ_REPLY, F_AMBIG, V, 0, HB, 0, 0, FIN, "refused", "ambiguous", HB, NULL, 0 },
	{ "site value absent", READ_REPLY, F_NO_SITE, VA, 0, NULL, 0, 0, FIN, "refused",
	    "no IssuingCertificateList", HB, NULL, 0 },
	{ "key absent", READ_REPLY, 0, MSG_REG_KEY_ABSENT, 0, NULL, 0, 0, FIN, "refused",
	    "not a healthy ConfigMgr host", NULL, NULL, 0 },
	{ "read denied", READ_REPLY, 0, MSG_REG_DENIED, 0, NULL, 0, 0, FIN, "access_denied", "0x80070005", NULL,
	    NULL, 0 },
	{ "read werror", READ_REPLY, 0, MSG_REG_FAILED, 0, NULL, 0, 0, FIN, "unreachable", "werror: WERROR 1", HB,
	    NULL, 0 },
	{ "too large", READ_REPLY, 0, V, 0, NULL, RAW_OTHER, 1, FIN, "refused", "over 1 MiB", NULL, NULL, 0 },
	{ "dry run", READ_REPLY, F_DRY, V, 0, HB, 0, 0, FIN, "would_write", NULL, HB, HA, 0 },
	{ "dry run without approval", READ_REPLY, F_DRY | F_JOBEXP_NONE, V, 0, HB, 0, 0, FIN, "would_write", NULL,
	    HB, HA, 0 },
	{ "write", READ_REPLY, 0, V, 0, HB, 0, 0, WR, NULL, NULL, NULL, NULL, 0 },
	{ "write over an absent value", READ_REPLY, F_NO_BEFORE, VA, 0, NULL, 0, 0, WR, NULL, NULL, NULL, NULL, 0 },
	{ "resumed, not written yet", READ_REPLY, F_BACKUP, V, 0, HB, 0, 0, WR, NULL, NULL, NULL, NULL, 0 },
	/* fix, step 3: the write's read-back */
	{ "written", WRITE_REPLY, 0, V, MSG_WRITE_OK, HA, 0, 0, FIN, "written", NULL, HB, HA, 0 },
	{ "written, no before", WRITE_REPLY, F_NO_BEFORE, V, MSG_WRITE_OK, HA, 0, 0, FIN, "written", NULL, NULL,
	    HA, 0 },
	{ "accepted, read-back lost", WRITE_REPLY, 0, UN, MSG_WRITE_OK, NULL, 0, 0, RR, NULL, NULL, NULL, NULL, 0 },
	{ "accepted, other value", WRITE_REPLY, 0, V, MSG_WRITE_OK, HB, 0, 0, FIN, "verify_failed",
	    "not the value written", HB, HB, 0 },
	{ "write denied", WRITE_REPLY, 0, V, MSG_WRITE_DENIED, HB, 0, 0, FIN, "access_denied",
	    "not a local administrator", HB, NULL, 0 },
	{ "write key absent", WRITE_REPLY, 0, MSG_REG_KEY_ABSENT, MSG_WRITE_KEY_ABSENT, NULL, 0, 0, FIN, "refused",
	    "Security is absent", NULL, NULL, 0 },
	{ "write werror", WRITE_REPLY, 0, V, MSG_WRITE_FAILED, HB, 0, 0, FIN, "unreachable", "werror: pipe closed",
	    HB, NULL, 0 },
	{ "write unreachable", WRITE_REPLY, F_BACKUP, UN, MSG_WRITE_UNREACHABLE, NULL, 0, 0, FIN, "unreachable",
	    "a write may have landed", HB, NULL, 0 },
	{ "write fate unknown, landed", WRITE_REPLY, 0, V, MSG_WRITE_UNKNOWN, HA, 0, 0, FIN, "written", NULL, HB,
	    HA, 0 },
	{ "write fate unknown, not there", WRITE_REPLY, 0, V, MSG_WRITE_UNKNOWN, HB, 0, 0, RR, NULL, NULL, NULL,
	    NULL, 1 },
	/* rollback, before contact */
	{ "rb start", START, RB, 0, 0, NULL, 0, 0, RD, NULL, NULL, NULL, NULL, 0 },
	{ "guard: rb host not in the inventory", START, RB | F_HOST_GONE, 0, 0, NULL, 0, 0, FIN, "refused",
	    "host not in the site DB's inventory", HB, NULL, 0 },
	{ "guard: rb fix job missing", START, RB | F_FIX_MISSING, 0, 0, NULL, 0, 0, FIN, "refused",
	    "fix job 7 not found", HB, NULL, 0 },
	{ "guard: rb fix job not written", START, RB | F_FIX_NOT_WRITTEN, 0, 0, NULL, 0, 0, FIN, "refused",
	    "job 7 is not a done fix with outcome written", HB, NULL, 0 },
	{ "guard: rb fix job of another host", START, RB | F_FIX_OTHER_HOST, 0, 0, NULL, 0, 0, FIN, "refused",
	    "fix job 7 wrote another host", HB, NULL, 0 },
	{ "guard: rb backup not sealed by the scanner", START, RB | F_UNSEALED, 0, 0, NULL, 0, 0, FIN, "refused",
	    "not a backup this scanner took", HB, NULL, 0 },
	{ "rb backup does not decode", START, RB | F_RESTORE_ERR, 0, 0, NULL, 0, 0, FIN, "refused",
	    "does not decode", HB, NULL, 0 },
	{ "guard: rb newer write", START, RB | F_NEWER, 0, 0, NULL, 0, 0, FIN, "refused",
	    "job 9 wrote to the host after fix job 7", HB, NULL, 0 },
	/* rollback, the READ */
	{ "rb unreachable", READ_REPLY, RB, UN, 0, NULL, 0, 0, FIN, "unreachable", "rpc_unavailable", HB, NULL, 0 },
	{ "guard: rb unsealed, at the read too", READ_REPLY, RB | F_UNSEALED, V, 0, HA, RAW_OTHER, 0, FIN,
	    "refused", "seal", HB, NULL, 0 },
	{ "rb key absent", READ_REPLY, RB, MSG_REG_KEY_ABSENT, 0, NULL, 0, 0, FIN, "refused", "Security is absent",
	    NULL, NULL, 0 },
	{ "rb restore: the host holds the fix's value", READ_REPLY, RB, V, 0, HA, RAW_OTHER, 0, WR, NULL, NULL,
	    NULL, NULL, 0 },
	{ "rb resumed, not restored yet", READ_REPLY, RB | F_BACKUP, V, 0, HA, RAW_OTHER, 0, WR, NULL, NULL, NULL,
	    NULL, 0 },
	{ "guard: rb host changed since the fix", READ_REPLY, RB, V, 0, HO, RAW_OTHER, 0, FIN, "refused",
	    "no longer holds the value fix job 7 wrote (aaaaaaaaaaaa; read: value type 7, 4 bytes, hash cccccccccccc)",
	    HB, NULL, 0 },
	{ "guard: rb value absent now", READ_REPLY, RB, VA, 0, NULL, 0, 0, FIN, "refused", "value absent", HB,
	    NULL, 0 },
	{ "rb backup already there, not ours", READ_REPLY, RB, V, 0, HB, RAW_BACKUP, 0, FIN, "refused",
	    "no longer holds", HB, NULL, 0 },
	{ "rb already restored, resumed", READ_REPLY, RB | F_BACKUP, V, 0, HB, RAW_BACKUP, 0, FIN, "restored",
	    "holds the backup", HB, HB, 0 },
	{ "rb absent, resumed", READ_REPLY, RB | F_BACKUP | F_RESTORE_ABSENT, VA, 0, NULL, 0, 0, FIN, "restored",
	    "holds the backup", HB, HB, 0 },
	{ "rb too large", READ_REPLY, RB, V, 0, NULL, RAW_OTHER, 1, FIN, "refused", "no longer holds", HB, NULL, 0 },
	/* rollback, the read-back */
	{ "rb restored", WRITE_REPLY, RB, V, MSG_WRITE_OK, HB, RAW_BACKUP, 0, FIN, "restored", NULL, HB, HB, 0 },
	{ "rb deleted", WRITE_REPLY, RB | F_RESTORE_ABSENT, VA, MSG_WRITE_OK, NULL, 0, 0, FIN, "restored", NULL, HB,
	    NULL, 0 },
	{ "rb other bytes", WRITE_REPLY, RB, V, MSG_WRITE_OK, HA, RAW_OTHER, 0, FIN, "verify_failed",
	    "value type 7, 4 bytes, not the value written", HB, HA, 0 },
};

static const uint8_t backup_raw[] = { 0x41, 0x00, 0x00, 0x00 };
static const uint8_t other_raw[] = { 0x42, 0x00, 0x00, 0x00 };

static void
facts(const struct row *r, struct fixdecide_job *j)
{
	memset(j, 0, sizeof(*j));
	j->rollback = (r->f & F_ROLLBACK) != 0;
	j->has_backup = (r->f & F_BACKUP) != 0;
	j->attempts = r->f & F_ATTEMPT2 ? 2 : 1;
	j->dry_run = (r->f & F_DRY) != 0;
	j->job_expected = r->f & F_JOBEXP_OLD ? HO : r->f & F_JOBEXP_NONE ? "" : HA;
	j->host_known = !(r->f & F_HOST_GONE);
	j->cloud = r->f & F_CLOUD ? "cmg" : NULL;
	j->site_state = r->f & F_AMBIG ? FLEET_EXPECTED_AMBIGUOUS : r->f & F_NO_SITE ? FLEET_EXPECTED_ABSENT :
	    FLEET_EXPECTED_PRESENT;
	j->expected = j->site_state == FLEET_EXPECTED_PRESENT ? HA : "";
	j->nelems = j->site_state == FLEET_EXPECTED_PRESENT ? 2 : 0;
	j->fix_id = 7;
	j->fix_check = r->f & F_FIX_MISSING ? FIXDECIDE_FIX_MISSING : r->f & F_FIX_NOT_WRITTEN ?
	    FIXDECIDE_FIX_NOT_WRITTEN : r->f & F_FIX_OTHER_HOST ? FIXDECIDE_FIX_OTHER_HOST : r->f & F_UNSEALED ?
	    FIXDECIDE_FIX_UNSEALED : FIXDECIDE_FIX_OK;
	j->fix_after = HA;
	j->newer_write = r->f & F_NEWER ? 9 : 0;
	j->restore_err = r->f & F_RESTORE_ERR ? "fix job 7: the backup does not decode" : "";
	j->restore_absent = (r->f & F_RESTORE_ABSENT) != 0;
	j->restore = backup_raw;
	j->restore_len = sizeof(backup_raw);
	j->restore_type = 7;
	j->has_before = !(r->f & F_NO_BEFORE);
	j->before = j->has_before ? HB : "";
}

static void
reply(const struct row *r, struct msg_fix_res *m)
{
	memset(m, 0, sizeof(*m));
	m->reg = r->reg;
	m->write = r->wr;
	m->reason = r->reg == UN ? "rpc_unavailable" : "";
	m->detail = r->reg == UN || r->wr == MSG_WRITE_FAILED ? "pipe closed" : "";
	m->werr = r->reg == MSG_REG_FAILED ? 1 : 0;
	m->value_type = r->reg == V ? 7 : 0;
	m->too_large = (uint32_t)r->too_large;
	m->decoded = r->sha != NULL;
	m->sha256 = (char *)(r->sha != NULL ? r->sha : "");
	m->raw = (uint8_t *)(r->raw == RAW_BACKUP ? backup_raw : r->raw == RAW_OTHER ? other_raw : NULL);
	m->raw_len = r->raw != RAW_NONE ? 4 : 0;
}

static int
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void
check_row(const struct row *r)
{
	struct fixdecide_job j;
	struct msg_fix_res m;
	struct fixdecide d;
	int ok;

	facts(r, &j);
	reply(r, &m);
	if (r->step == START)
		fixdecide_start(&j, &d);
	else if (r->step == WRITE_REPLY)
		fixdecide_write(&j, &m, &d);
	else
		fixdecide_read(&j, &m, &d);
	ok = d.action == r->action;
	if (ok && r->action == FIXDECIDE_FINISH)
		ok = same(d.outcome, r->outcome) && same(d.before, r->before) && same(d.after, r->after) &&
		    (r->error == NULL ? d.error == NULL : d.error != NULL && strstr(d.error, r->error) != NULL);
	if (ok && r->action == FIXDECIDE_REREAD)
		ok = d.log_unknown == r->flag;
	if (!ok)
		fprintf(stderr, "row '%s': action %d outcome %s error %s before %.8s after %.8s log_unknown %d\n",
		    r->name, (int)d.action, d.outcome ? d.outcome : "-", d.error ? d.error : "-",
		    d.before ? d.before : "-", d.after ? d.after : "-", d.log_unknown);
	CHECK(ok);
}

/*
 * The bytes a host may hold for the site's list ["A", "B"]: a fix reads them as the worker does
 * (rrp_multisz_read, then util_multisz_sha256 of the strings a Windows reader sees, scanner/worker.c) and must
 * never write a host whose only difference is the encoding (Microsoft Learn, "Registry value types").
 */
static const struct enc_row {
	const char	*name;
	uint32_t	 type;
	size_t		 len;
	const char	*bytes;
	const char	*outcome;	/* NULL: write */
} enc_rows[] = {
	{ "canonical", 7, 10, "A\0\0\0B\0\0\0\0\0", "already_correct" },
	{ "single final NUL", 7, 8, "A\0\0\0B\0\0\0", "already_correct" },
	{ "no final NUL", 7, 6, "A\0\0\0B\0", "already_correct" },
	{ "extra NUL", 7, 12, "A\0\0\0B\0\0\0\0\0\0\0", "already_correct" },
	{ "trailing empty string", 7, 14, "A\0\0\0B\0\0\0\0\0\0\0\0\0", "already_correct" },
	{ "B after an empty string: Windows reads [A]", 7, 12, "A\0\0\0\0\0B\0\0\0\0\0", NULL },
	{ "another list", 7, 10, "A\0\0\0C\0\0\0\0\0", NULL },
	{ "REG_SZ", 1, 10, "A\0\0\0B\0\0\0\0\0", NULL },
	{ "REG_BINARY", 3, 10, "A\0\0\0B\0\0\0\0\0", NULL },
};

static void
test_encodings(void)
{
	static const char *site[] = { "A", "B" };
	char exp[UTIL_SHA256_HEX], sha[UTIL_SHA256_HEX], err[128];
	static const struct row base = { "base", 0, 0, 0, 0, NULL, 0, 0, FIN, NULL, NULL, NULL, NULL, 0 };
	size_t i;

	util_multisz_sha256(site, 2, exp);
	for (i = 0; i < sizeof(enc_rows) / sizeof(enc_rows[0]); i++) {
		const struct enc_row *e = &enc_rows[i];
		struct fixdecide_job j;
		struct msg_fix_res m;
		struct fixdecide d;
		enum rrp_multisz_enc enc;
		char **el = NULL;
		size_t ne = 0;
		int ok;

		facts(&base, &j);
		j.expected = j.job_expected = exp;
		memset(&m, 0, sizeof(m));
		m.reg = MSG_REG_VALUE;
		m.reason = m.detail = "";
		m.value_type = e->type;
		m.raw = (uint8_t *)e->bytes;
		m.raw_len = (uint32_t)e->len;
		m.sha256 = "";
		if (e->type == 7 && rrp_multisz_read((const uint8_t *)e->bytes, e->len, &el, &ne, &enc, err,
		    sizeof(err)) == 0) {
			util_multisz_sha256((const char *const *)el, ne, sha);
			m.decoded = 1;
			m.sha256 = sha;
		}
		util_strv_free(el, ne);
		fixdecide_read(&j, &m, &d);
		ok = e->outcome != NULL ? d.action == FIXDECIDE_FINISH && same(d.outcome, e->outcome) :
		    d.action == FIXDECIDE_WRITE;
		if (!ok)
			fprintf(stderr, "encoding '%s': action %d outcome %s\n", e->name, (int)d.action,
			    d.outcome ? d.outcome : "-");
		CHECK(ok);
	}
}

/* The unreachable text used for worker deaths and deadlines. */
static void
test_unreachable(void)
{
	struct fixdecide_job j;
	struct fixdecide d;
	static const struct row base = { "base", 0, F_BACKUP, 0, 0, NULL, 0, 0, FIN, NULL, NULL, NULL, NULL, 0 };

	facts(&base, &j);
	fixdecide_unreachable(&j, "deadline", NULL, &d);
	CHECK(d.action == FIXDECIDE_FINISH);
	CHECK_STR(d.outcome, "unreachable");
	CHECK_STR(d.error, "deadline (a write may have landed earlier; backup kept)");
	CHECK_STR(d.before, HB);
	j.has_backup = 0;
	fixdecide_unreachable(&j, "protocol", "short message", &d);
	CHECK_STR(d.error, "protocol: short message");
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	test_unreachable();
	test_encodings();
	return check_done("test_fix_decide");
}
