/*
 * logparse.c — parses the two ConfigMgr log formats from a byte buffer (logparse_each); logparse_classify.c
 * classifies the KB 4469580 evidence in the records it hands out.
 * Called by the scanner worker on the tails smblog.c fetches (SMSPXE.log on a DP, CertMgr.log on the site
 * server); pure, no I/O, no global state, fuzzed by tests/fuzz/fuzz_logparse.c.
 *
 * Formats (doc/FIELD-NOTES.md, "ConfigMgr logs"):
 *   CCM:  <![LOG[message]LOG]!><time="11:45:37.596+300" date="06-03-2019" component="SMSPXE" context="" type="3"
 *         thread="6004" file="x.cpp:1703">        — the message may span lines: records are split on "<![LOG[".
 *   Site: message  $$<SMS_CERTIFICATE_MANAGER><09-17-2023 17:26:15.614+420><thread=7064 (0x1B98)>
 *         — the trailer ends a record; the message is everything since the previous trailer's line end.
 * Dates are MM-DD-YYYY (1- or 2-digit month/day accepted).  The number after the time is the Windows time-zone
 * bias in minutes (TIME_ZONE_INFORMATION.Bias): UTC = local + bias, so +300 is US Eastern (UTC-5) and zones
 * east of Greenwich are negative.  A record without a bias (some components write "HH:MM:SS.mmm" alone) has a
 * local time in an unknown zone: it keeps time_ok=0 (no UTC time is claimed) with local_time=1 and the local
 * text.  Invalid dates keep the record with time_ok=0.
 *
 * Torn writes: two processes appending to one log can interleave, so a record is cut mid-way and a new
 * "<![LOG[" follows.  The cut record's intact part is handed out (torn=1): its message up to "]LOG]!>" (or up
 * to the cut when that is missing) and the attributes complete before the cut; the next record is read whole.
 *
 * Assumptions: the buffer is usually the tail of a file, so without LOGPARSE_F_WHOLE the bytes before the first
 * complete record are skipped.  Only the last LOGPARSE_MAX_INPUT bytes and the first LOGPARSE_MAX_RECORDS
 * records are considered.  Text may be UTF-8, ANSI (bytes that are not valid UTF-8 are read as Windows-1252) or
 * UTF-16LE (BOM, or detected from its NUL pattern at either byte parity); every string handed out is valid UTF-8
 * and capped.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logparse.h"
#include "utf.h"
#include "util.h"

#define CCM_OPEN	"<![LOG["
#define CCM_CLOSE	"]LOG]!>"
#define SITE_MARK	"$$<"
#define TRAILER_MAX	1024	/* bytes of CCM attributes / site trailer we are willing to scan */
#define ATTR_MAX	256	/* one attribute value */

struct field {
	const char	*p;
	size_t		 n;
};

/* One record located in the input, before sanitising. */
struct span {
	struct field	 msg;		/* message bytes */
	struct field	 raw;		/* whole record bytes */
	struct field	 time, date, comp, type, thread;
};

/* ------------------------------------------------------------------ text helpers */

/* Windows-1252 byte (>= 0x80) as UTF-8 into out; returns its length.  Undefined code points become '?'. */
static size_t
cp1252(unsigned char c, unsigned char out[4])
{
	static const uint16_t hi[32] = {
		0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
		0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
		0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
		0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
	};
	uint32_t cp = c >= 0xa0 ? c : hi[c - 0x80];

	if (cp == 0) {
		out[0] = '?';
		return 1;
	}
	return utf8_put(cp, (char *)out);
}

/*
 * Copy src into dst (cap bytes incl. NUL) as valid UTF-8 with controls replaced.  keep_nl: '\n' kept (CR
 * dropped), otherwise CR/LF/TAB become one space each (runs collapse).  Never splits a character.  Returns the
 * output length; *trunc set when src did not fit.
 */
static size_t
sanitize(const char *src, size_t n, char *dst, size_t cap, int keep_nl, int *trunc)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, l;
	unsigned char tmp[4];

	*trunc = 0;
	if (cap == 0)
		return 0;
	while (i < n) {
		size_t outn;

		l = utf8_next(s + i, n - i, NULL);
		if (l == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			if (s[i] == '\r' && keep_nl) {
				i++;
				continue;
			}
			if (s[i] == '\n' && keep_nl)
				tmp[0] = '\n';
			else if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
				if (o > 0 && dst[o - 1] == ' ') {
					i++;
					continue;
				}
				tmp[0] = ' ';
			} else
				tmp[0] = '?';
			outn = 1;
		} else if (l == 0) {	/* ANSI byte: read as Windows-1252 */
			outn = cp1252(s[i], tmp);
			l = 1;
		} else if (l == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {	/* U+0080..U+009F: C1 controls */
			tmp[0] = '?';
			outn = 1;
		} else {
			memcpy(tmp, s + i, l);
			outn = l;
		}
		if (o + outn + 1 > cap) {
			*trunc = 1;
			break;
		}
		memcpy(dst + o, tmp, outn);
		o += outn;
		i += l;
	}
	dst[o] = '\0';
	return o;
}

static void
trim_field(struct field *f)
{
	while (f->n > 0 && isspace((unsigned char)f->p[0]))
		f->p++, f->n--;
	while (f->n > 0 && isspace((unsigned char)f->p[f->n - 1]))
		f->n--;
}

/* ------------------------------------------------------------------ encoding */

/*
 * If buf is UTF-16LE (BOM, or NUL bytes concentrated on one parity in the first 512 bytes), convert it to a
 * malloc'd UTF-8 buffer in *out (caller frees) and return 1; 0 if not UTF-16; -1 on allocation failure.
 */
static int
from_utf16(const char *buf, size_t len, char **out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t start = 0, i, n, o = 0, zeven = 0, zodd = 0, sample;
	char *d;

	if (len >= 2 && s[0] == 0xff && s[1] == 0xfe)
		start = 2;
	else {
		sample = len < 512 ? len : 512;
		if (sample < 16)
			return 0;
		for (i = 0; i < sample; i++)
			if (s[i] == 0)
				*(i % 2 ? &zodd : &zeven) += 1;
		if (zodd * 10 >= sample * 4 && zeven * 20 < sample)
			start = 0;
		else if (zeven * 10 >= sample * 4 && zodd * 20 < sample)
			start = 1;
		else
			return 0;
	}
	n = (len - start) / 2;
	if ((d = utf16le_to_utf8(s + start, n, UTF_LENIENT, &o, NULL, 0)) == NULL)
		return -1;
	*out = d;
	*outlen = o;
	return 1;
}

/* ------------------------------------------------------------------ time */

/* Bounded unsigned decimal: 1..maxd digits, value into *v; returns digits consumed or 0. */
static size_t
getnum(const char *p, size_t n, size_t maxd, long *v)
{
	size_t i = 0;

	*v = 0;
	while (i < n && i < maxd && p[i] >= '0' && p[i] <= '9')
		*v = *v * 10 + (p[i++] - '0');
	return (i < n && i == maxd && p[i] >= '0' && p[i] <= '9') ? 0 : i;
}

static int64_t
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

static int
leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * date "MM-DD-YYYY", time "HH:MM:SS[.fff][+-bias]" → UTC.  0 on success, 1 when valid but without a bias
 * (*t is then the local time read as if UTC, *bias 0), -1 invalid.
 */
static int
parse_when(struct field date, struct field tm, time_t *t, int *bias)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long mo, dd, yy, hh, mi, ss, b = 0, frac;
	const char *p;
	size_t n, k;
	int sign = 1, has_bias = 0;
	int64_t secs;

	p = date.p, n = date.n;
	if ((k = getnum(p, n, 2, &mo)) == 0 || k >= n || p[k] != '-')
		return -1;
	p += k + 1, n -= k + 1;
	if ((k = getnum(p, n, 2, &dd)) == 0 || k >= n || p[k] != '-')
		return -1;
	p += k + 1, n -= k + 1;
	if ((k = getnum(p, n, 4, &yy)) != 4 || k != n)
		return -1;
	if (mo < 1 || mo > 12 || yy < 1970 || dd < 1 || dd > mdays[mo - 1] + (mo == 2 && leap(yy)))
		return -1;

	p = tm.p, n = tm.n;
	if ((k = getnum(p, n, 2, &hh)) == 0 || k >= n || p[k] != ':')
		return -1;
	p += k + 1, n -= k + 1;
	if ((k = getnum(p, n, 2, &mi)) != 2 || k >= n || p[k] != ':')
		return -1;
	p += k + 1, n -= k + 1;
	if ((k = getnum(p, n, 2, &ss)) != 2)
		return -1;
	p += k, n -= k;
	if (n > 0 && *p == '.') {
		if ((k = getnum(p + 1, n - 1, 9, &frac)) == 0)
			return -1;
		p += k + 1, n -= k + 1;
	}
	if (n > 0) {
		if (*p != '+' && *p != '-')
			return -1;
		sign = *p == '-' ? -1 : 1;
		if ((k = getnum(p + 1, n - 1, 4, &b)) == 0 || k != n - 1)
			return -1;
		has_bias = 1;
	}
	if (hh > 23 || mi > 59 || ss > 60 || b > 1440)
		return -1;
	secs = days_from_civil(yy, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss + (int64_t)sign * b * 60;
	if (secs < 0 || (sizeof(time_t) < 8 && secs > INT32_MAX))
		return -1;
	*t = (time_t)secs;
	*bias = (int)(sign * b);
	return has_bias ? 0 : 1;
}

/* ------------------------------------------------------------------ record location */

/*
 * Parse the CCM attribute list starting at '<' (p..end); fills sp, returns bytes consumed through '>' or 0.
 * On 0 the attributes complete before the failure stay in sp (a torn record keeps them).
 */
static size_t
ccm_attrs(const char *p, size_t n, struct span *sp)
{
	size_t i = 0, lim = n < TRAILER_MAX ? n : TRAILER_MAX;

	if (lim == 0 || p[0] != '<')
		return 0;
	i = 1;
	for (;;) {
		size_t ns, nl, vs, vl;

		while (i < lim && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i >= lim)
			return 0;
		if (p[i] == '>')
			return i + 1;
		ns = i;
		while (i < lim && (isalnum((unsigned char)p[i]) || p[i] == '_'))
			i++;
		nl = i - ns;
		if (nl == 0 || i + 1 >= lim || p[i] != '=' || p[i + 1] != '"')
			return 0;
		i += 2;
		vs = i;
		while (i < lim && p[i] != '"' && i - vs < ATTR_MAX)
			i++;
		if (i >= lim || p[i] != '"')
			return 0;
		vl = i - vs;
		i++;
#define ATTR(name, f) if (nl == sizeof(name) - 1 && memcmp(p + ns, name, nl) == 0) { sp->f.p = p + vs; sp->f.n = vl; }
		ATTR("time", time) else ATTR("date", date) else ATTR("component", comp) else ATTR("type", type)
		else ATTR("thread", thread)
#undef ATTR
	}
}

/*
 * Parse a site trailer at p ("$$<comp><date time><thread=N (0xH)>"); fills sp, returns bytes consumed or 0.
 */
static size_t
site_trailer(const char *p, size_t n, struct span *sp)
{
	size_t i = 3, lim = n < TRAILER_MAX ? n : TRAILER_MAX, s;
	const char *sp_;

	if (lim < 3 || memcmp(p, SITE_MARK, 3) != 0)
		return 0;
	s = i;
	while (i < lim && p[i] != '>' && p[i] != '\n' && p[i] != '<')
		i++;
	if (i + 1 >= lim || p[i] != '>' || p[i + 1] != '<')
		return 0;
	sp->comp.p = p + s, sp->comp.n = i - s;
	i += 2;
	s = i;
	while (i < lim && p[i] != '>' && p[i] != '\n' && p[i] != '<')
		i++;
	if (i + 1 >= lim || p[i] != '>' || p[i + 1] != '<')
		return 0;
	if ((sp_ = memchr(p + s, ' ', i - s)) == NULL)
		return 0;
	sp->date.p = p + s, sp->date.n = (size_t)(sp_ - (p + s));
	sp->time.p = sp_ + 1, sp->time.n = (size_t)((p + i) - (sp_ + 1));
	i += 2;
	if (lim - i < 7 || memcmp(p + i, "thread=", 7) != 0)
		return 0;
	i += 7;
	s = i;
	while (i < lim && p[i] != '>' && p[i] != '\n' && p[i] != '<')
		i++;
	if (i >= lim || p[i] != '>')
		return 0;
	sp->thread.p = p + s, sp->thread.n = i - s;
	return i + 1;
}

/* ------------------------------------------------------------------ the walk */

struct walk {
	unsigned		 flags;
	size_t			 seq;
	logparse_record_fn	 fn;
	void			*arg;
	struct logparse_stats	*st;
	char			 msg[LOGPARSE_MSG_MAX];
	char			 raw[LOGPARSE_RAW_MAX];
};

/* Build raw text: whole record if it fits, else head of the message + " [...] " + its last trailer bytes. */
static size_t
build_raw(struct walk *w, const struct span *sp, const char *trailer, size_t tn)
{
	int trunc;
	size_t o;
	char tbuf[TRAILER_MAX + 32];

	o = sanitize(sp->raw.p, sp->raw.n, w->raw, sizeof(w->raw), 1, &trunc);
	if (!trunc || tn == 0 || tn > TRAILER_MAX + 16)
		return o;
	/* keep the trailer (time, component) visible */
	o = sanitize(trailer, tn, tbuf, sizeof(tbuf), 1, &trunc);
	if (o + 8 >= sizeof(w->raw))
		return strlen(w->raw);
	{
		size_t headcap = sizeof(w->raw) - o - 7, h;

		h = sanitize(sp->raw.p, sp->raw.n, w->raw, headcap, 1, &trunc);
		memcpy(w->raw + h, " [...] ", 7);
		memcpy(w->raw + h + 7, tbuf, o + 1);
		return h + 7 + o;
	}
}

/* Hand one record to the callback (torn: cut by the next record, see the top).  0, 1 record cap, 2 stopped. */
static int
emit(struct walk *w, struct span *sp, const char *trailer, size_t tn, int torn)
{
	struct logparse_record r;
	int trunc;
	long v;
	size_t k;

	if (w->st->records >= LOGPARSE_MAX_RECORDS) {
		w->st->truncated = 1;
		return 1;	/* internal stop, not the callback's */
	}
	memset(&r, 0, sizeof(r));
	r.seq = w->seq++;
	r.torn = torn;
	w->st->records++;
	w->st->torn += torn != 0;
	switch (parse_when(sp->date, sp->time, &r.time, &r.bias)) {
	case 0:
		r.time_ok = 1;
		util_iso_time(r.time, r.iso);
		break;
	case 1:	/* no bias: keep the local text, claim no UTC time */
		r.local_time = 1;
		util_iso_time(r.time, r.local);
		r.local[strlen(r.local) - 1] = '\0';	/* drop the 'Z' */
		r.time = 0;
		w->st->local_time++;
		break;
	default:
		r.time = 0;
		r.bias = 0;
		w->st->bad_time++;
		break;
	}
	sanitize(sp->comp.p, sp->comp.n, r.component, sizeof(r.component), 0, &trunc);
	if (sp->type.n == 1 && sp->type.p[0] >= '0' && sp->type.p[0] <= '3')
		r.type = sp->type.p[0] - '0';
	if ((k = getnum(sp->thread.p, sp->thread.n, 10, &v)) > 0)
		r.thread = (unsigned long)v;
	trim_field(&sp->msg);
	r.message_len = sanitize(sp->msg.p, sp->msg.n, w->msg, sizeof(w->msg), 0, &trunc);
	r.message = w->msg;
	r.raw_len = build_raw(w, sp, trailer, tn);
	r.raw = w->raw;
	return w->fn(&r, w->arg) ? 2 : 0;
}

/*
 * A record at p cut by the next one at next (a torn write): hand out its intact part, the message up to
 * "]LOG]!>" (close) or, without one, up to the cut, with the attributes ccm_attrs left in sp.  As emit.
 */
static int
walk_torn(struct walk *w, struct span *sp, const char *p, const char *close, const char *next)
{
	const char *body = p + sizeof(CCM_OPEN) - 1;

	sp->msg.p = body, sp->msg.n = (size_t)((close != NULL ? close : next) - body);
	sp->raw.p = p, sp->raw.n = (size_t)(next - p);
	while (sp->raw.n > 0 && (sp->raw.p[sp->raw.n - 1] == '\r' || sp->raw.p[sp->raw.n - 1] == '\n'))
		sp->raw.n--;
	return emit(w, sp, NULL, 0, 1);
}

static int
walk_ccm(struct walk *w, const char *b, size_t n)
{
	const char *p, *end = b + n, *next, *close;
	struct span sp;
	size_t used;
	int rc;

	p = memmem(b, n, CCM_OPEN, sizeof(CCM_OPEN) - 1);
	w->st->skipped_bytes += p ? (size_t)(p - b) : n;
	while (p != NULL) {
		const char *body = p + sizeof(CCM_OPEN) - 1;

		next = memmem(body, (size_t)(end - body), CCM_OPEN, sizeof(CCM_OPEN) - 1);
		if (next == NULL)
			next = end;
		memset(&sp, 0, sizeof(sp));
		close = memmem(body, (size_t)(next - body), CCM_CLOSE, sizeof(CCM_CLOSE) - 1);
		if (close != NULL && (used = ccm_attrs(close + sizeof(CCM_CLOSE) - 1,
		    (size_t)(next - close) - (sizeof(CCM_CLOSE) - 1), &sp)) != 0) {
			const char *tr = close + sizeof(CCM_CLOSE) - 1;

			sp.msg.p = body, sp.msg.n = (size_t)(close - body);
			sp.raw.p = p, sp.raw.n = (size_t)(tr + used - p);
			rc = emit(w, &sp, close, (size_t)(tr + used - close), 0);
		} else if (next < end)
			rc = walk_torn(w, &sp, p, close, next);
		else {	/* the last record, still being written or cut by the tail read */
			w->st->malformed++;
			w->st->skipped_bytes += (size_t)(next - p);
			rc = 0;
		}
		if (rc != 0)
			return rc;
		p = next < end ? next : NULL;
	}
	return 0;
}

static int
walk_site(struct walk *w, const char *b, size_t n)
{
	const char *end = b + n, *start = b, *m, *s = b;
	struct span sp;
	size_t used;
	int first = !(w->flags & LOGPARSE_F_WHOLE), rc;

	while ((m = memmem(s, (size_t)(end - s), SITE_MARK, sizeof(SITE_MARK) - 1)) != NULL) {
		memset(&sp, 0, sizeof(sp));
		if ((used = site_trailer(m, (size_t)(end - m), &sp)) == 0) {
			w->st->malformed++;
			s = m + 1;
			continue;
		}
		sp.msg.p = start, sp.msg.n = (size_t)(m - start);
		sp.raw.p = start, sp.raw.n = (size_t)(m + used - start);
		/* skip the leading newline(s) carried over from the previous trailer */
		while (sp.raw.n > 0 && (sp.raw.p[0] == '\r' || sp.raw.p[0] == '\n'))
			sp.raw.p++, sp.raw.n--;
		if (first) {
			w->st->skipped_bytes += (size_t)(m + used - start);
			first = 0;
		} else if ((rc = emit(w, &sp, m, used, 0)) != 0)
			return rc;
		start = s = m + used;
	}
	w->st->skipped_bytes += (size_t)(end - start);
	return 0;
}

int
logparse_each(const char *buf, size_t len, unsigned flags, size_t seq_base, logparse_record_fn fn, void *arg,
    struct logparse_stats *st, char *err, size_t errlen)
{
	struct logparse_stats dummy;
	struct walk *w = NULL;
	char *conv = NULL;
	size_t convlen = 0;
	int rc = -1, u;

	if (st == NULL) {
		memset(&dummy, 0, sizeof(dummy));
		st = &dummy;
	}
	if ((buf == NULL && len > 0) || fn == NULL)
		return util_err(err, errlen, "logparse: bad arguments");
	if (buf == NULL)
		buf = "";
	if (len > LOGPARSE_MAX_INPUT) {
		st->skipped_bytes += len - LOGPARSE_MAX_INPUT;
		st->truncated = 1;
		buf += len - LOGPARSE_MAX_INPUT;
		len = LOGPARSE_MAX_INPUT;
		flags &= ~(unsigned)LOGPARSE_F_WHOLE;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		util_err(err, errlen, "logparse: out of memory");
		goto done;
	}
	w->flags = flags, w->seq = seq_base, w->fn = fn, w->arg = arg, w->st = st;
	if ((u = from_utf16(buf, len, &conv, &convlen)) < 0) {
		util_err(err, errlen, "logparse: out of memory converting UTF-16");
		goto done;
	}
	st->utf16 = u;
	if (u) {
		buf = conv;
		len = convlen;
	} else if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((flags & LOGPARSE_F_CCM) || (!(flags & LOGPARSE_F_SITE) &&
	    memmem(buf, len, CCM_OPEN, sizeof(CCM_OPEN) - 1) != NULL))
		rc = walk_ccm(w, buf, len);
	else
		rc = walk_site(w, buf, len);
	if (rc == 1)	/* record cap */
		rc = 0;
	else if (rc == 2)
		rc = 1;
done:
	free(conv);
	free(w);
	return rc;
}
