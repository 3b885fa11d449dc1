/*
 * logparse_classify.c — the KB 4469580 evidence in ConfigMgr log records (doc/FIELD-NOTES.md, "The fault"):
 * SMSPXE.log certificate errors, expired-certificate and MP-connection records, and CertMgr.log's access-denied
 * records naming a server, kept in capped evidence sets.  Walks the records with logparse_each (logparse.c);
 * pure, no I/O, no global state, fuzzed with it by tests/fuzz/fuzz_logparse.c.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "logparse.h"
#include "util.h"

/* ------------------------------------------------------------------ text helpers */

static const char *
ci_memmem(const char *h, size_t hn, const char *n, size_t nn)
{
	size_t i, j;

	if (nn == 0 || hn < nn)
		return NULL;
	for (i = 0; i + nn <= hn; i++) {
		for (j = 0; j < nn; j++)
			if (tolower((unsigned char)h[i + j]) != tolower((unsigned char)n[j]))
				break;
		if (j == nn)
			return h + i;
	}
	return NULL;
}

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Does h contain the hex code (e.g. "80092002") as a whole token ("0x80092002", "Error: 80092002;")? */
static int
has_code(const char *h, size_t hn, const char *code)
{
	size_t cn = strlen(code);
	const char *p = h, *q;

	while ((q = ci_memmem(p, hn - (size_t)(p - h), code, cn)) != NULL) {
		int before = q > h ? (unsigned char)q[-1] : ' ';
		int after = (size_t)(q - h) + cn < hn ? (unsigned char)q[cn] : ' ';

		if (!ishex(before) && !ishex(after))
			return 1;
		p = q + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ evidence sets */

/* a ranks before b: kind ascending, then known time before unknown, newer first, later seq first. */
static int
ev_before(int ak, int aok, time_t at, size_t as, const struct logparse_evidence *b)
{
	if (ak != b->kind)
		return ak < b->kind;
	if (aok != b->time_ok)
		return aok > b->time_ok;
	if (aok && at != b->time)
		return at > b->time;
	return as > b->seq;
}

#define KINDS	8	/* above the last enum logparse_kind */

/*
 * In a full set, which line goes when a record of kind would enter at pos: the lowest-ranked line, among the
 * set and the newcomer, whose kind keeps another line (so each kind keeps its newest).  Returns its index in
 * the set, or LOGPARSE_EVIDENCE_MAX when it is the newcomer itself.
 */
static size_t
evset_victim(const struct logparse_evset *set, int kind, size_t pos)
{
	size_t count[KINDS] = { 0 }, i;

	for (i = 0; i < set->n; i++)
		count[set->ev[i].kind]++;
	count[kind]++;
	for (i = set->n + 1; i-- > 0;) {	/* the set with the newcomer at pos, from its end */
		int k = i == pos ? kind : set->ev[i < pos ? i : i - 1].kind;

		if (count[k] > 1)
			return i == pos ? LOGPARSE_EVIDENCE_MAX : i < pos ? i : i - 1;
	}
	return LOGPARSE_EVIDENCE_MAX;	/* not reached: more lines than kinds */
}

static void
evset_add(struct logparse_evset *set, int kind, const struct logparse_record *r)
{
	struct logparse_evidence *e;
	size_t pos, v;

	if (kind <= 0 || kind >= KINDS)
		return;
	for (pos = 0; pos < set->n; pos++)
		if (ev_before(kind, r->time_ok, r->time, r->seq, &set->ev[pos]))
			break;
	if (set->n == LOGPARSE_EVIDENCE_MAX) {
		if ((v = evset_victim(set, kind, pos)) == LOGPARSE_EVIDENCE_MAX)
			return;
		memmove(&set->ev[v], &set->ev[v + 1], (set->n - v - 1) * sizeof(set->ev[0]));
		set->n--;
		if (v < pos)
			pos--;
	}
	memmove(&set->ev[pos + 1], &set->ev[pos], (set->n - pos) * sizeof(set->ev[0]));
	set->n++;
	e = &set->ev[pos];
	e->kind = kind;
	e->time_ok = r->time_ok;
	e->time = r->time;
	memcpy(e->iso, r->iso, sizeof(e->iso));
	e->local_time = r->local_time;
	memcpy(e->local, r->local, sizeof(e->local));
	e->torn = r->torn;
	e->type = r->type;
	e->thread = r->thread;
	e->seq = r->seq;
	util_strlcpy(e->component, r->component, sizeof(e->component));
	util_strlcpy(e->message, r->message, sizeof(e->message));
	util_strlcpy(e->raw, r->raw, sizeof(e->raw));
}

/* ------------------------------------------------------------------ SMSPXE */

void
logparse_pxe_init(struct logparse_pxe *out)
{
	memset(out, 0, sizeof(*out));
}

/*
 * An expired-certificate record (doc/FIELD-NOTES.md, "The fault"): 800B0101 (CERT_E_EXPIRED), "Failed to
 * validate PXEClientKey certificate", or "Certificate [...] has expired." (the certificate named between).
 */
static int
expired(const char *m, size_t n)
{
	const char *c;

	if (has_code(m, n, "800B0101") || ci_memmem(m, n, "Failed to validate PXEClientKey certificate", 43) != NULL)
		return 1;
	if ((c = ci_memmem(m, n, "Certificate", 11)) == NULL)
		return 0;
	return ci_memmem(c, n - (size_t)(c - m), " has expired", 12) != NULL;
}

/*
 * Classification looks at the sanitised message (capped at LOGPARSE_MSG_MAX): every code and phrase we look for
 * sits at the start of ConfigMgr's messages, well inside the cap.
 */
static int
pxe_cb(const struct logparse_record *r, void *arg)
{
	struct logparse_pxe *out = arg;
	const char *m = r->message;
	size_t n = r->message_len;

	int mp_init = ci_memmem(m, n, "PXE Provider failed to initialize MP connection", 47) != NULL;

	out->next_seq = r->seq + 1;
	if (mp_init)
		out->mp_init_failures++;
	if (has_code(m, n, "80092002")) {
		/*
		 * "PXE Provider failed to initialize MP connection." with the cause on its next line,
		 * "Unknown error (Error: 80092002; ...)", is one record: counted as both, shown once as MP-init.
		 */
		out->cert_errors++;
		if (r->time_ok && (!out->last_error_ok || r->time >= out->last_error)) {
			out->last_error_ok = 1;
			out->last_error = r->time;
			memcpy(out->last_error_iso, r->iso, sizeof(out->last_error_iso));
		}
		evset_add(&out->evidence, mp_init ? LOGPARSE_K_MP_INIT : LOGPARSE_K_CERT_ERROR, r);
	} else if (mp_init)
		evset_add(&out->evidence, LOGPARSE_K_MP_INIT, r);
	else if (expired(m, n)) {
		out->expired_cert++;
		if (r->time_ok && r->time > out->last_expired)
			out->last_expired = r->time;
		evset_add(&out->evidence, LOGPARSE_K_EXPIRED_CERT, r);
	}
	return 0;
}

int
logparse_smspxe(const char *buf, size_t len, unsigned flags, struct logparse_pxe *out, char *err, size_t errlen)
{
	if (out == NULL)
		return util_err(err, errlen, "logparse_smspxe: bad arguments");
	if (logparse_each(buf, len, flags, out->next_seq, pxe_cb, out, &out->stats, err, errlen) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ CertMgr */

struct certmgr_walk {
	logparse_denied_fn	 fn;
	void			*arg;
};

static int
fqdn_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* Extract the server name from a denied record into fqdn (lowercased); 0 found, -1 not a denied record. */
static int
denied_fqdn(const char *m, size_t n, char fqdn[LOGPARSE_FQDN_MAX])
{
	static const char a[] = "Cannot get copy of security registry key on server ";
	static const char b[] = "Failed to get the copy of Security registry key on server ";
	const char *p, *e = m + n;
	size_t k = 0;

	if (!has_code(m, n, "80070005"))
		return -1;
	if ((p = ci_memmem(m, n, a, sizeof(a) - 1)) != NULL)
		p += sizeof(a) - 1;
	else if ((p = ci_memmem(m, n, b, sizeof(b) - 1)) != NULL)
		p += sizeof(b) - 1;
	else
		return -1;
	while (p < e && (*p == ' ' || *p == '('))
		p++;
	while (p < e && fqdn_char((unsigned char)*p)) {
		if (k + 1 >= LOGPARSE_FQDN_MAX)
			return -1;
		fqdn[k++] = (char)tolower((unsigned char)*p++);
	}
	while (k > 0 && fqdn[k - 1] == '.')
		k--;
	fqdn[k] = '\0';
	return k > 0 ? 0 : -1;
}

static int
certmgr_cb(const struct logparse_record *r, void *arg)
{
	struct certmgr_walk *cw = arg;
	char fqdn[LOGPARSE_FQDN_MAX];

	if (denied_fqdn(r->message, r->message_len, fqdn) != 0)
		return 0;
	return cw->fn(fqdn, r, cw->arg);
}

int
logparse_certmgr(const char *buf, size_t len, unsigned flags, logparse_denied_fn fn, void *arg,
    struct logparse_stats *st, char *err, size_t errlen)
{
	struct certmgr_walk cw = { fn, arg };

	if (fn == NULL)
		return util_err(err, errlen, "logparse_certmgr: bad arguments");
	return logparse_each(buf, len, flags, 0, certmgr_cb, &cw, st, err, errlen);
}

int
logparse_host_match(const char *logged, const char *fqdn)
{
	size_t ln = strlen(logged), fn = strlen(fqdn);

	while (fn > 0 && fqdn[fn - 1] == '.')
		fn--;
	if (ln == 0 || fn == 0)
		return 0;
	if (ln == fn && strncasecmp(logged, fqdn, fn) == 0)
		return 1;
	/* short name logged, FQDN known */
	if (memchr(logged, '.', ln) == NULL && ln < fn && fqdn[ln] == '.' && strncasecmp(logged, fqdn, ln) == 0)
		return 1;
	return 0;
}

struct host_walk {
	const char			*fqdn;
	struct logparse_certmgr_hit	*out;
};

static int
host_cb(const char *fqdn, const struct logparse_record *r, void *arg)
{
	struct host_walk *hw = arg;

	if (!logparse_host_match(fqdn, hw->fqdn))
		return 0;
	hw->out->count++;
	if (r->time_ok && (!hw->out->last_ok || r->time >= hw->out->last)) {
		hw->out->last_ok = 1;
		hw->out->last = r->time;
		memcpy(hw->out->last_iso, r->iso, sizeof(hw->out->last_iso));
	}
	evset_add(&hw->out->evidence, LOGPARSE_K_CERTMGR_DENIED, r);
	return 0;
}

int
logparse_certmgr_host(const char *buf, size_t len, unsigned flags, const char *fqdn,
    struct logparse_certmgr_hit *out, char *err, size_t errlen)
{
	struct host_walk hw = { fqdn, out };

	if (out == NULL || fqdn == NULL)
		return util_err(err, errlen, "logparse_certmgr_host: bad arguments");
	memset(out, 0, sizeof(*out));
	if (logparse_certmgr(buf, len, flags, host_cb, &hw, &out->stats, err, errlen) < 0)
		return -1;
	return 0;
}
