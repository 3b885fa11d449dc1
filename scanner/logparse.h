/*
 * logparse.h — ConfigMgr log parsing (CCM "<![LOG[...]LOG]!>" and site-server "$$<comp><time><thread=>" forms),
 * pure functions over a byte buffer, bounded and fuzzed.  See logparse.c for the formats and assumptions.
 *
 * Ownership: nothing returned here is heap-allocated; result structs are plain values the caller owns.
 * struct logparse_pxe and struct logparse_certmgr_hit are large (~170 KiB): allocate them on the heap.
 */
#ifndef DPFLEET_LOGPARSE_H
#define DPFLEET_LOGPARSE_H

#include <stddef.h>
#include <time.h>

#include "consts.h"
#include "util.h"

#define LOGPARSE_MAX_INPUT	(8u * 1024 * 1024)	/* larger buffers: only their last 8 MiB are read */
#define LOGPARSE_MAX_RECORDS	200000			/* records considered per call; more → truncated=1 */
#define LOGPARSE_MSG_MAX	4096			/* per-record message, incl. NUL */
#define LOGPARSE_RAW_MAX	4096			/* per-record raw text, incl. NUL */
#define LOGPARSE_COMP_MAX	64
#define LOGPARSE_FQDN_MAX	DPF_FQDN_MAX
#define LOGPARSE_ISO_LEN	UTIL_ISO_LEN
#define LOGPARSE_EVIDENCE_MAX	DPF_EVIDENCE_MAX

/* flags */
#define LOGPARSE_F_WHOLE	0x1	/* buf starts at offset 0 of the file: its first record is complete */
#define LOGPARSE_F_CCM		0x2	/* force the CCM format (default: detect) */
#define LOGPARSE_F_SITE		0x4	/* force the site-server format */

/* Evidence kinds, in priority order (lower sorts first in an evidence set). */
enum logparse_kind {
	LOGPARSE_K_CERT_ERROR = 1,	/* SMSPXE record containing 80092002 (KB 4469580) */
	LOGPARSE_K_EXPIRED_CERT,	/* SMSPXE 800B0101, "Failed to validate PXEClientKey certificate" (KB 4511618),
					   or "Certificate [...] has expired." */
	LOGPARSE_K_MP_INIT,		/* "PXE Provider failed to initialize MP connection" (also when the same
					   record carries 80092002: counted as a cert error too) */
	LOGPARSE_K_CERTMGR_DENIED,	/* CertMgr.log 0x80070005 naming a server */
};

/*
 * One parsed record as handed to a callback.  message/raw point into scratch memory valid only during the
 * callback; both are NUL-terminated, valid UTF-8, capped, control characters replaced (message: newlines become
 * spaces; raw: newlines kept, CR dropped).
 */
struct logparse_record {
	int		 time_ok;	/* 0: date/time/bias unparsable or no bias written; time = 0 and iso = "" */
	time_t		 time;		/* UTC: local time + bias minutes (Windows bias: +300 = UTC-5) */
	char		 iso[LOGPARSE_ISO_LEN];
	int		 bias;		/* minutes, as written (missing → 0) */
	int		 local_time;	/* 1: valid date/time but no bias written: the zone is unknown, so
					   time_ok = 0 and local holds the local time ("YYYY-MM-DDTHH:MM:SS", no Z) */
	char		 local[LOGPARSE_ISO_LEN];	/* "" unless local_time */
	int		 torn;		/* 1: the record was cut by the next "<![LOG[" (a torn write): message is
					   its intact part, attributes only those complete before the cut */
	char		 component[LOGPARSE_COMP_MAX];
	int		 type;		/* 1 info, 2 warning, 3 error, 0 unknown (always 0 in the site format) */
	unsigned long	 thread;
	const char	*message;
	size_t		 message_len;
	const char	*raw;
	size_t		 raw_len;
	size_t		 seq;		/* position in the stream (0-based), breaks ties between equal times */
};

/* Parse statistics, added to (not reset) by each call. */
struct logparse_stats {
	size_t		 records;	/* records handed out (well-formed and torn) */
	size_t		 malformed;	/* record markers whose header/trailer could not be parsed */
	size_t		 bad_time;	/* records (torn included) whose date/time was invalid or missing */
	size_t		 local_time;	/* records with a valid local time but no bias (zone unknown) */
	size_t		 torn;		/* records cut by the next "<![LOG[" whose intact part was kept */
	size_t		 skipped_bytes;	/* leading partial record, bytes outside records */
	int		 truncated;	/* input or record cap hit */
	int		 utf16;		/* last input was UTF-16LE (BOM or detected) */
};

/* A stored evidence record (a copy, unlike struct logparse_record). */
struct logparse_evidence {
	int		 kind;		/* enum logparse_kind */
	int		 time_ok;
	time_t		 time;
	char		 iso[LOGPARSE_ISO_LEN];
	int		 local_time;	/* as in struct logparse_record */
	char		 local[LOGPARSE_ISO_LEN];
	int		 torn;
	int		 type;
	unsigned long	 thread;
	size_t		 seq;
	char		 component[LOGPARSE_COMP_MAX];
	char		 message[LOGPARSE_MSG_MAX];
	char		 raw[LOGPARSE_RAW_MAX];
};

/*
 * Up to LOGPARSE_EVIDENCE_MAX records, sorted: kind ascending, then newest first (time, then seq).  When full,
 * a new record displaces the lowest-ranked one of a kind that keeps another line: every kind seen keeps at
 * least its newest line however many lines of a higher kind arrive.
 */
struct logparse_evset {
	size_t			 n;
	struct logparse_evidence ev[LOGPARSE_EVIDENCE_MAX];
};

/*
 * Callback for logparse_each: return 0 to continue, non-zero to stop (logparse_each then returns that value).
 */
typedef int (*logparse_record_fn)(const struct logparse_record *rec, void *arg);

/*
 * Parse buf[0..len) and call fn for each well-formed record, and each CCM record cut short by the next
 * "<![LOG[" (torn = 1: a torn write; a cut record at the very end is not handed out), in file order.  Handles UTF-8, ANSI (bytes that
 * are not valid UTF-8 are read as Windows-1252; C1 controls become '?'), UTF-16LE with a BOM or detected by its
 * NUL pattern (also at an odd offset, as a tail read may land), CRLF.  Without LOGPARSE_F_WHOLE a partial
 * leading record is skipped (CCM: bytes before the first "<![LOG["; site format: the first record, whose start
 * is unknown).
 * Returns the callback's non-zero value if it stopped the walk, 0 when done, -1 with err on bad arguments or
 * allocation failure (st may then hold partial counts).  st may be NULL.  seq numbers start at seq_base.
 */
int	 logparse_each(const char *buf, size_t len, unsigned flags, size_t seq_base, logparse_record_fn fn,
	    void *arg, struct logparse_stats *st, char *err, size_t errlen);

/* SMSPXE.log evidence for one DP, accumulated over one or more buffers. */
struct logparse_pxe {
	int		 cert_errors;		/* records containing 80092002 (MP-init records included) */
	int		 last_error_ok;		/* 1 when some cert error had a valid time */
	time_t		 last_error;		/* newest cert error time (UTC), 0 if none */
	char		 last_error_iso[LOGPARSE_ISO_LEN];	/* "" if none */
	int		 expired_cert;		/* records with 800B0101 / PXEClientKey validation failure /
						   "Certificate [...] has expired." */
	time_t		 last_expired;
	int		 mp_init_failures;	/* "PXE Provider failed to initialize MP connection" */
	size_t		 next_seq;		/* internal: seq of the next record fed */
	struct logparse_stats	stats;
	struct logparse_evset	evidence;	/* cert errors first, newest first */
};

/* Reset out to "nothing seen". */
void	 logparse_pxe_init(struct logparse_pxe *out);

/*
 * Add the records of one SMSPXE buffer to out (feed SMSPXE.lo_ before SMSPXE.log so that later records rank as
 * newer when times tie).  Returns 0, or -1 with err (bad arguments, allocation failure); on -1, out may hold
 * part of this buffer's counts.
 */
int	 logparse_smspxe(const char *buf, size_t len, unsigned flags, struct logparse_pxe *out,
	    char *err, size_t errlen);

/*
 * CertMgr.log: call fn(fqdn, rec, arg) for every "Cannot get copy of security registry key on server (FQDN)
 * (0x80070005)" or "Failed to get the copy of Security registry key on server FQDN (0x80070005)" record; fqdn is
 * lowercased and holds only [a-z0-9.-_].  fn returns 0 to continue.  Returns as logparse_each.
 */
typedef int (*logparse_denied_fn)(const char *fqdn, const struct logparse_record *rec, void *arg);
int	 logparse_certmgr(const char *buf, size_t len, unsigned flags, logparse_denied_fn fn, void *arg,
	    struct logparse_stats *st, char *err, size_t errlen);

/* What CertMgr.log says about one host. */
struct logparse_certmgr_hit {
	int		 count;
	int		 last_ok;
	time_t		 last;
	char		 last_iso[LOGPARSE_ISO_LEN];
	struct logparse_stats	stats;
	struct logparse_evset	evidence;	/* newest first */
};

/*
 * Fill out (reset first) with the denied records naming fqdn: case-insensitive equality, or the log names a
 * short host name equal to fqdn's first label.  Returns 0, or -1 with err (out then undefined).
 */
int	 logparse_certmgr_host(const char *buf, size_t len, unsigned flags, const char *fqdn,
	    struct logparse_certmgr_hit *out, char *err, size_t errlen);

/* Match rule used by logparse_certmgr_host, exported for callers that aggregate many hosts: 1 match, 0 not. */
int	 logparse_host_match(const char *logged, const char *fqdn);

#endif
