/*
 * smb2_io.c — the commands of smb2.h a scan sends once smb2_connect set up the session: TREE_CONNECT (MS-SMB2
 * 2.2.9), CREATE (2.2.13), READ (2.2.19), QUERY_DIRECTORY (2.2.33), IOCTL FSCTL_PIPE_TRANSCEIVE (2.2.31) and
 * CLOSE (2.2.15), on smb2.c's transport (smb2_send / smb2_wait, smb2_int.h).  Requests that need nothing from
 * each other go out together (every CREATE of a batch, then every READ), CLOSEs ride with the next requests
 * and are never waited for (tests/bench/README.md, "Protocol minimum").  Every offset and length a response gives is checked against
 * the message and against what was asked for.  Called by the scanner's per-host read plan; no global state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2.h"
#include "smb2_int.h"
#include "util.h"

#define ACCESS_FILE	0x00120089u	/* READ_DATA | READ_EA | READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE */
#define ACCESS_DIR	0x00100081u	/* LIST_DIRECTORY | READ_ATTRIBUTES | SYNCHRONIZE */
#define ACCESS_PIPE	0x0012019fu	/* generic read and write on a pipe */
#define OPT_DIRECTORY	0x00000001u	/* FILE_DIRECTORY_FILE */
#define OPT_NON_DIR	0x00000040u	/* FILE_NON_DIRECTORY_FILE */
#define FSCTL_PIPE_TRANSCEIVE	0x0011c017u
#define READ_WINDOW	32		/* READs in flight at once */

/* The body of a final response msg for command cmd, or -1 with err (dead): checks it answers cmd. */
static const uint8_t *
body_of(struct smb2_conn *c, const uint8_t *msg, size_t n, const struct smb2_hdr *h, uint16_t cmd, uint16_t ss,
    char *err, size_t errlen)
{
	const uint8_t	*b;

	if (h->command != cmd) {
		smb2_fail(c, 0, err, errlen, "SMB2 response of command %u to a request of command %u", h->command,
		    cmd);
		return NULL;
	}
	if ((b = smb2_body(msg, n, ss, err, errlen)) == NULL)
		smb2_fail(c, 0, NULL, 0, "body");
	return b;
}

int
smb2_tree_connect(struct smb2_conn *c, const char *share, uint32_t *tid, uint32_t *status, char *err,
    size_t errlen)
{
	char		 unc[600];
	struct smb2_hdr	 h;
	uint8_t		*path, *m = NULL, *resp = NULL;
	const uint8_t	*b;
	size_t		 plen, rn;
	uint64_t	 mid;
	int		 r = -1;

	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if ((size_t)snprintf(unc, sizeof(unc), "\\\\%s\\%s", c->server, share) >= sizeof(unc))
		return util_err(err, errlen, "share name too long");
	if ((path = smb2_utf16(unc, 0, &plen, err, errlen)) == NULL)
		return -1;
	if ((m = smb2_msg_new(8 + plen, err, errlen)) == NULL)
		goto done;
	le_put16(m + SMB2_HDR_LEN, 9);
	le_put16(m + SMB2_HDR_LEN + 4, SMB2_HDR_LEN + 8);
	le_put16(m + SMB2_HDR_LEN + 6, (uint16_t)plen);
	memcpy(m + SMB2_HDR_LEN + 8, path, plen);
	if (smb2_send(c, m, SMB2_HDR_LEN + 8 + plen, SMB2_TREE_CONNECT, 0, 1, 0, 0, &mid, err, errlen) == -1 ||
	    smb2_wait(c, mid, &resp, &rn, &h, err, errlen) == -1 ||
	    (b = body_of(c, resp, rn, &h, SMB2_TREE_CONNECT, 16, err, errlen)) == NULL)
		goto done;
	*status = h.status;
	*tid = h.tid;
	if (h.status == SMB2_ST_OK && (le_get32(b + 4) & 0x00008000u)) {	/* SMB2_SHAREFLAG_ENCRYPT_DATA */
		smb2_fail(c, 0, err, errlen, "server requires encryption");
		goto done;
	}
	r = 0;
done:
	free(path);
	free(m);
	free(resp);
	return r;
}

/* Send a CREATE (MS-SMB2 2.2.13) of name on tid; *mid. */
static int
create_send(struct smb2_conn *c, uint32_t tid, const char *name, uint32_t access, uint32_t options, int more,
    uint64_t *mid, char *err, size_t errlen)
{
	uint8_t	*name16, *m, *b;
	size_t	 nlen;
	int	 r;

	if ((name16 = smb2_utf16(name, 1, &nlen, err, errlen)) == NULL)
		return smb2_fail(c, 0, NULL, 0, "name");	/* err: the name's fault; not the connection's */
	if ((m = smb2_msg_new(56 + (nlen > 0 ? nlen : 8), err, errlen)) == NULL) {
		free(name16);
		return -1;
	}
	b = m + SMB2_HDR_LEN;
	le_put16(b, 57);
	le_put32(b + 4, 2);			/* ImpersonationLevel: Impersonation */
	le_put32(b + 24, access);
	le_put32(b + 32, 7);			/* FILE_SHARE_READ | WRITE | DELETE */
	le_put32(b + 36, 1);			/* FILE_OPEN */
	le_put32(b + 40, options);
	le_put16(b + 44, SMB2_HDR_LEN + 56);
	le_put16(b + 46, (uint16_t)nlen);
	memcpy(b + 56, name16, nlen);
	r = smb2_send(c, m, SMB2_HDR_LEN + 56 + (nlen > 0 ? nlen : 8), SMB2_CREATE, tid, 1, 0, more, mid, err,
	    errlen);
	free(name16);
	free(m);
	return r;
}

/* The CREATE response to mid: *status, and when it is OK *size and fid. */
static int
create_wait(struct smb2_conn *c, uint64_t mid, uint32_t *status, uint64_t *size, struct smb2_fid *fid,
    char *err, size_t errlen)
{
	struct smb2_hdr	 h;
	uint8_t		*resp;
	const uint8_t	*b;
	size_t		 rn;

	if (smb2_wait(c, mid, &resp, &rn, &h, err, errlen) == -1)
		return -1;
	if ((b = body_of(c, resp, rn, &h, SMB2_CREATE, 89, err, errlen)) == NULL) {
		free(resp);
		return -1;
	}
	*status = h.status;
	if (h.status == SMB2_ST_OK) {
		if (size != NULL)
			*size = le_get64(b + 48);
		memcpy(fid->b, b + 64, sizeof(fid->b));
	}
	free(resp);
	return 0;
}

/*
 * A CLOSE of fid, never waited for (its response is dropped when it comes) and not even written on its own: it
 * is held with the requests that leave next (smb2_send's more), so it costs no round trip of its own; when
 * nothing follows, smb2_close drops it with the connection, and the server closes the file then (MS-SMB2
 * 3.3.7.1).
 */
static int
close_send(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, char *err, size_t errlen)
{
	uint8_t		 m[SMB2_HDR_LEN + 24] = { 0 };
	uint64_t	 mid;

	le_put16(m + SMB2_HDR_LEN, 24);
	memcpy(m + SMB2_HDR_LEN + 8, fid->b, sizeof(fid->b));
	return smb2_send(c, m, sizeof(m), SMB2_CLOSE, tid, 1, 1, 1, &mid, err, errlen);
}

/* Send a READ (MS-SMB2 2.2.19) of len bytes at off. */
static int
read_send(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, uint64_t off, uint32_t len, int more,
    uint64_t *mid, char *err, size_t errlen)
{
	uint8_t	 m[SMB2_HDR_LEN + 49] = { 0 };

	le_put16(m + SMB2_HDR_LEN, 49);
	m[SMB2_HDR_LEN + 2] = 0x50;		/* Padding: data right after the response's fixed part */
	le_put32(m + SMB2_HDR_LEN + 4, len);
	le_put64(m + SMB2_HDR_LEN + 8, off);
	memcpy(m + SMB2_HDR_LEN + 16, fid->b, sizeof(fid->b));
	return smb2_send(c, m, sizeof(m), SMB2_READ, tid, smb2_charge(len), 0, more, mid, err, errlen);
}

/*
 * The READ response to mid (at most max bytes asked): *status; OK or BUFFER_OVERFLOW: the data (inside *resp,
 * which the caller frees) in *data, *dlen.
 */
static int
read_wait(struct smb2_conn *c, uint64_t mid, size_t max, uint8_t **resp, const uint8_t **data, size_t *dlen,
    uint32_t *status, char *err, size_t errlen)
{
	struct smb2_hdr	 h;
	const uint8_t	*b;
	size_t		 rn;

	*data = NULL;
	*dlen = 0;
	if (smb2_wait(c, mid, resp, &rn, &h, err, errlen) == -1)
		return -1;
	if ((b = body_of(c, *resp, rn, &h, SMB2_READ, 17, err, errlen)) == NULL)
		return -1;
	*status = h.status;
	/* a warning may come as an error response (MS-SMB2 2.2.2): then there is no data */
	if ((h.status != SMB2_ST_OK && h.status != SMB2_ST_BUFFER_OVERFLOW) || le_get16(b) != 17)
		return 0;
	if (le_get32(b + 4) > max)
		return smb2_fail(c, 0, err, errlen, "READ answered %u bytes for %zu asked", le_get32(b + 4), max);
	if (smb2_range(*resp, rn, b[2], le_get32(b + 4), data, err, errlen) == -1)
		return smb2_fail(c, 0, NULL, 0, "read");
	*dlen = le_get32(b + 4);
	return 0;
}

/* A batch of smb2_read_tails: per file its handle, where its tail starts and how much of it arrived. */
struct batch {
	struct smb2_fid	 fid[SMB2_BATCH_MAX];
	int		 open[SMB2_BATCH_MAX];
	uint64_t	 base[SMB2_BATCH_MAX];	/* file offset of data[0] */
	size_t		 end[SMB2_BATCH_MAX];	/* bytes of data valid: the tail, less after a short READ */
};

struct piece {
	size_t		 file;
	uint64_t	 off;
	uint32_t	 len;
	uint64_t	 mid;
};

/* Every CREATE sent together, then their answers (MS-SMB2 3.2.4.3); data allocated for the opened ones. */
static int
tails_create(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, size_t tail, struct batch *bt,
    char *err, size_t errlen)
{
	uint64_t	 mid[SMB2_BATCH_MAX];
	size_t		 i, want;

	for (i = 0; i < n; i++)
		if (create_send(c, tid, f[i].path, ACCESS_FILE, OPT_NON_DIR, i + 1 < n, &mid[i], err, errlen) == -1)
			return -1;
	for (i = 0; i < n; i++) {
		if (create_wait(c, mid[i], &f[i].status, &f[i].size, &bt->fid[i], err, errlen) == -1)
			return -1;
		if (f[i].status != SMB2_ST_OK)
			continue;
		bt->open[i] = 1;
		want = f[i].size < tail ? (size_t)f[i].size : tail;
		bt->base[i] = f[i].size - want;
		bt->end[i] = want;
		if ((f[i].data = malloc(want + 1)) == NULL)
			return smb2_fail(c, 0, err, errlen, "out of memory");
	}
	return 0;
}

/* The READ pieces of every opened file, each at most MaxReadSize; *np.  NULL with err. */
static struct piece *
tails_pieces(struct smb2_conn *c, size_t n, const struct batch *bt, size_t *np, char *err, size_t errlen)
{
	struct piece	*pc;
	size_t		 i, k = 0, total = 0, o;

	for (i = 0; i < n; i++)
		if (bt->open[i])
			total += (bt->end[i] + c->max_read - 1) / c->max_read;
	if ((pc = calloc(total + 1, sizeof(*pc))) == NULL) {
		smb2_fail(c, 0, err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		for (o = 0; bt->open[i] && o < bt->end[i]; o += c->max_read) {
			pc[k].file = i;
			pc[k].off = bt->base[i] + o;
			pc[k].len = (uint32_t)(bt->end[i] - o < c->max_read ? bt->end[i] - o : c->max_read);
			k++;
		}
	*np = k;
	return pc;
}

/* One READ answer into its file's data: a failure is the file's status, a short READ ends its data. */
static int
tails_take(struct smb2_conn *c, struct smb2_file *f, struct batch *bt, const struct piece *p, char *err,
    size_t errlen)
{
	uint8_t		*resp = NULL;
	const uint8_t	*data;
	size_t		 dlen, at = (size_t)(p->off - bt->base[p->file]);
	uint32_t	 st;

	if (read_wait(c, p->mid, p->len, &resp, &data, &dlen, &st, err, errlen) == -1) {
		free(resp);
		return -1;
	}
	if (st == SMB2_ST_END_OF_FILE)
		dlen = 0;		/* the file shrank since the CREATE: its data ends here */
	else if (st != SMB2_ST_OK && f[p->file].status == SMB2_ST_OK)
		f[p->file].status = st;
	if (st == SMB2_ST_OK || st == SMB2_ST_END_OF_FILE) {
		if (dlen > 0)
			memcpy(f[p->file].data + at, data, dlen);
		if (dlen < p->len && at + dlen < bt->end[p->file])
			bt->end[p->file] = at + dlen;
	}
	free(resp);
	return 0;
}

static int
tails_read(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, struct batch *bt, char *err,
    size_t errlen)
{
	struct piece	*pc;
	size_t		 np, sent = 0, done = 0;
	int		 r = -1;

	if ((pc = tails_pieces(c, n, bt, &np, err, errlen)) == NULL)
		return -1;
	while (done < np) {
		while (sent < np && sent - done < READ_WINDOW) {
			if (read_send(c, tid, &bt->fid[pc[sent].file], pc[sent].off, pc[sent].len,
			    sent + 1 < np && sent + 1 - done < READ_WINDOW, &pc[sent].mid, err, errlen) == -1)
				goto done;
			sent++;
		}
		if (tails_take(c, f, bt, &pc[done], err, errlen) == -1)
			goto done;
		done++;
	}
	r = 0;
done:
	free(pc);
	return r;
}

/* The names of the max-bounded listing, for smb2_list's callback. */
struct listing {
	int		(*cb)(const char *name, void *arg);
	void		*arg;
	size_t		 left;
};

static int
list_one(const char *name, void *arg)
{
	struct listing	*l = arg;

	if (l->left == 0)
		return 1;
	l->left--;
	return l->cb(name, l->arg) != 0 || l->left == 0;
}

/* Send one QUERY_DIRECTORY (MS-SMB2 2.2.33) of FileNamesInformation matching pat, the first with RESTART_SCANS. */
static int
list_send(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, const uint8_t *pat, size_t patlen,
    int first, int more, uint64_t *mid, char *err, size_t errlen)
{
	uint32_t	 outmax = c->max_trans < 65536 ? c->max_trans : 65536;
	uint8_t		*m;
	int		 r;

	if ((m = smb2_msg_new(32 + patlen, err, errlen)) == NULL)
		return smb2_fail(c, 0, NULL, 0, "oom");
	le_put16(m + SMB2_HDR_LEN, 33);
	m[SMB2_HDR_LEN + 2] = 12;		/* FileNamesInformation (MS-FSCC 2.4.28) */
	m[SMB2_HDR_LEN + 3] = first ? 0x01 : 0;	/* SMB2_RESTART_SCANS */
	memcpy(m + SMB2_HDR_LEN + 8, fid->b, sizeof(fid->b));
	le_put16(m + SMB2_HDR_LEN + 24, SMB2_HDR_LEN + 32);
	le_put16(m + SMB2_HDR_LEN + 26, (uint16_t)patlen);
	le_put32(m + SMB2_HDR_LEN + 28, outmax);
	memcpy(m + SMB2_HDR_LEN + 32, pat, patlen);
	r = smb2_send(c, m, SMB2_HDR_LEN + 32 + patlen, SMB2_QUERY_DIRECTORY, tid, smb2_charge(outmax), 0, more,
	    mid, err, errlen);
	free(m);
	return r;
}

/* The answer to list_send's request mid: *status, names to l (none once *stop is set). */
static int
list_take(struct smb2_conn *c, uint64_t mid, struct listing *l, uint32_t *status, int *stop, char *err,
    size_t errlen)
{
	uint32_t	 outmax = c->max_trans < 65536 ? c->max_trans : 65536;
	struct smb2_hdr	 h;
	uint8_t		*resp = NULL;
	const uint8_t	*b, *buf;
	size_t		 rn;
	int		 r = -1;

	if (smb2_wait(c, mid, &resp, &rn, &h, err, errlen) == -1 ||
	    (b = body_of(c, resp, rn, &h, SMB2_QUERY_DIRECTORY, 9, err, errlen)) == NULL)
		goto done;
	*status = h.status;
	if (h.status == SMB2_ST_OK && !*stop) {
		if (le_get32(b + 4) > outmax ||
		    smb2_range(resp, rn, le_get16(b + 2), le_get32(b + 4), &buf, err, errlen) == -1 ||
		    smb2_parse_names(buf, le_get32(b + 4), list_one, l, stop, err, errlen) == -1) {
			smb2_fail(c, 0, NULL, 0, "list");
			goto done;
		}
	}
	r = 0;
done:
	free(resp);
	return r;
}

/*
 * The listing of directory fid (open on tid) into l: the first two QUERY_DIRECTORYs already sent (mid[0..1]),
 * then one at a time while the last said STATUS_SUCCESS (see smb2_list).  *status: SMB2_ST_OK, or the
 * failure a QUERY_DIRECTORY gave other than "no (more) files".  The directory's CLOSE is held (close_send).
 */
static int
list_finish(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, const uint8_t *pat, size_t patlen,
    const uint64_t mid[2], struct listing *l, uint32_t *status, char *err, size_t errlen)
{
	uint32_t	 st = SMB2_ST_OK, st2 = SMB2_ST_OK;
	uint64_t	 m;
	int		 stop = 0;

	if (list_take(c, mid[0], l, &st, &stop, err, errlen) == -1 ||
	    list_take(c, mid[1], l, &st2, &stop, err, errlen) == -1)
		return -1;
	if (st == SMB2_ST_OK)
		st = st2;
	while (st == SMB2_ST_OK && !stop)
		if (list_send(c, tid, fid, pat, patlen, 0, 0, &m, err, errlen) == -1 ||
		    list_take(c, m, l, &st, &stop, err, errlen) == -1)
			return -1;
	*status = st != SMB2_ST_OK && st != SMB2_ST_NO_MORE_FILES && st != SMB2_ST_NO_SUCH_FILE ? st : SMB2_ST_OK;
	return close_send(c, tid, fid, err, errlen);
}

int
smb2_read_tails(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, size_t tail, char *err,
    size_t errlen)
{
	return smb2_read_tails_dir(c, tid, f, n, tail, NULL, err, errlen);
}

/* The listing of dl, its QUERY_DIRECTORY pair sent ahead of the READs when a file of the batch opened. */
static int
dir_start(struct smb2_conn *c, uint32_t tid, struct smb2_dirlist *dl, uint64_t dmid, const struct batch *bt,
    size_t n, const uint8_t *pat, size_t patlen, struct smb2_fid *dfid, uint64_t qmid[2], int *listing,
    char *err, size_t errlen)
{
	size_t	 i;
	int	 any = 0;

	*listing = 0;
	if (create_wait(c, dmid, &dl->status, NULL, dfid, err, errlen) == -1)
		return -1;
	if (dl->status != SMB2_ST_OK)
		return 0;
	for (i = 0; i < n; i++)
		any |= bt->open[i];
	if (!any || dl->max == 0)	/* no READ flight to ride: not listed */
		return close_send(c, tid, dfid, err, errlen);
	*listing = 1;
	return list_send(c, tid, dfid, pat, patlen, 1, 1, &qmid[0], err, errlen) == -1 ||
	    list_send(c, tid, dfid, pat, patlen, 0, 1, &qmid[1], err, errlen) == -1 ? -1 : 0;
}

int
smb2_read_tails_dir(struct smb2_conn *c, uint32_t tid, struct smb2_file *f, size_t n, size_t tail,
    struct smb2_dirlist *dl, char *err, size_t errlen)
{
	struct batch	 bt;
	struct smb2_fid	 dfid;
	struct listing	 l = { NULL, NULL, 0 };
	uint8_t		*pat = NULL;
	size_t		 i, patlen = 0;
	uint64_t	 dmid = 0, qmid[2] = { 0, 0 };
	int		 r = -1, listing = 0;

	memset(&bt, 0, sizeof(bt));
	for (i = 0; i < n && i < SMB2_BATCH_MAX; i++) {
		f[i].status = SMB2_ST_OK;
		f[i].size = 0;
		f[i].data = NULL;
		f[i].len = 0;
	}
	if (n < 1 || n > SMB2_BATCH_MAX || tail < 1 || tail > 8u << 20)
		return util_err(err, errlen, "smb2_read_tails: %zu files, tail %zu out of range", n, tail);
	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if (dl != NULL) {
		dl->status = SMB2_ST_OBJECT_NAME_NOT_FOUND;
		dl->listed = 0;
		l.cb = dl->cb;
		l.arg = dl->arg;
		l.left = dl->max;
		if ((pat = smb2_utf16(dl->pattern, 0, &patlen, err, errlen)) == NULL ||
		    create_send(c, tid, dl->dir, ACCESS_DIR, OPT_DIRECTORY, 1, &dmid, err, errlen) == -1)
			goto done;
	}
	if (tails_create(c, tid, f, n, tail, &bt, err, errlen) == -1 ||
	    (dl != NULL && dir_start(c, tid, dl, dmid, &bt, n, pat, patlen, &dfid, qmid, &listing, err,
	    errlen) == -1) ||
	    tails_read(c, tid, f, n, &bt, err, errlen) == -1 ||
	    (listing && list_finish(c, tid, &dfid, pat, patlen, qmid, &l, &dl->status, err, errlen) == -1))
		goto done;
	if (listing)
		dl->listed = 1;
	for (i = 0; i < n; i++)
		if (bt.open[i] && close_send(c, tid, &bt.fid[i], err, errlen) == -1)
			goto done;
	r = 0;
done:
	free(pat);
	for (i = 0; i < n; i++) {
		if (r == 0 && f[i].data != NULL && f[i].status == SMB2_ST_OK) {
			f[i].len = bt.end[i];
			f[i].data[f[i].len] = '\0';
			continue;
		}
		free(f[i].data);
		f[i].data = NULL;
	}
	return r;
}

/*
 * The first two QUERY_DIRECTORYs go out together: a folder whose matching names fit one answer (the usual
 * case: the pattern leaves a few history copies) is then read in one round trip, the second answering
 * STATUS_NO_MORE_FILES; a server works through one open's requests in order (MS-SMB2 3.3.5.18).  Further
 * ones follow one at a time while the last said STATUS_SUCCESS.
 */
int
smb2_list(struct smb2_conn *c, uint32_t tid, const char *dir, const char *pattern, size_t max,
    int (*cb)(const char *name, void *arg), void *arg, uint32_t *status, char *err, size_t errlen)
{
	struct listing	 l = { cb, arg, max };
	struct smb2_fid	 fid;
	uint8_t		*pat;
	size_t		 patlen;
	uint64_t	 mid[2];
	int		 r = -1;

	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if ((pat = smb2_utf16(pattern, 0, &patlen, err, errlen)) == NULL)
		return -1;
	if (create_send(c, tid, dir, ACCESS_DIR, OPT_DIRECTORY, 0, &mid[0], err, errlen) == -1 ||
	    create_wait(c, mid[0], status, NULL, &fid, err, errlen) == -1)
		goto done;
	r = 0;
	if (*status != SMB2_ST_OK)
		goto done;
	if (max == 0) {
		r = close_send(c, tid, &fid, err, errlen);
		goto done;
	}
	r = list_send(c, tid, &fid, pat, patlen, 1, 1, &mid[0], err, errlen) == -1 ||
	    list_send(c, tid, &fid, pat, patlen, 0, 0, &mid[1], err, errlen) == -1 ||
	    list_finish(c, tid, &fid, pat, patlen, mid, &l, status, err, errlen) == -1 ? -1 : 0;
done:
	free(pat);
	return r;
}

int
smb2_pipe_open(struct smb2_conn *c, uint32_t tid, const char *name, struct smb2_fid *fid, uint32_t *status,
    char *err, size_t errlen)
{
	uint64_t	 mid;

	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if (create_send(c, tid, name, ACCESS_PIPE, 0, 0, &mid, err, errlen) == -1)
		return -1;
	return create_wait(c, mid, status, NULL, fid, err, errlen);
}

/* The data of an IOCTL or READ answer copied out: *out malloc'd (caller frees), *outlen. */
static int
copy_out(struct smb2_conn *c, const uint8_t *data, size_t dlen, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	if ((*out = malloc(dlen + 1)) == NULL)
		return smb2_fail(c, 0, err, errlen, "out of memory");
	if (dlen > 0)
		memcpy(*out, data, dlen);
	*outlen = dlen;
	return 0;
}

int
smb2_pipe_transceive(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, const uint8_t *in,
    size_t inlen, size_t maxout, uint8_t **out, size_t *outlen, uint32_t *status, char *err, size_t errlen)
{
	struct smb2_hdr	 h;
	uint8_t		*m, *resp = NULL;
	const uint8_t	*b, *data;
	size_t		 rn;
	uint64_t	 mid;
	int		 r = -1;

	*out = NULL;
	*outlen = 0;
	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if (inlen > 65536 || inlen > c->max_trans || maxout < 1)
		return util_err(err, errlen, "pipe transceive of %zu bytes refused", inlen);
	maxout = maxout > c->max_trans ? c->max_trans : maxout;
	if ((m = smb2_msg_new(56 + inlen, err, errlen)) == NULL)
		return -1;
	le_put16(m + SMB2_HDR_LEN, 57);
	le_put32(m + SMB2_HDR_LEN + 4, FSCTL_PIPE_TRANSCEIVE);
	memcpy(m + SMB2_HDR_LEN + 8, fid->b, sizeof(fid->b));
	le_put32(m + SMB2_HDR_LEN + 24, SMB2_HDR_LEN + 56);
	le_put32(m + SMB2_HDR_LEN + 28, (uint32_t)inlen);
	le_put32(m + SMB2_HDR_LEN + 44, (uint32_t)maxout);
	le_put32(m + SMB2_HDR_LEN + 48, 1);	/* SMB2_0_IOCTL_IS_FSCTL */
	memcpy(m + SMB2_HDR_LEN + 56, in, inlen);
	if (smb2_send(c, m, SMB2_HDR_LEN + 56 + inlen, SMB2_IOCTL, tid, smb2_charge(inlen > maxout ? inlen : maxout),
	    0, 0, &mid, err, errlen) == -1 || smb2_wait(c, mid, &resp, &rn, &h, err, errlen) == -1 ||
	    (b = body_of(c, resp, rn, &h, SMB2_IOCTL, 49, err, errlen)) == NULL)
		goto done;
	*status = h.status;
	if ((h.status != SMB2_ST_OK && h.status != SMB2_ST_BUFFER_OVERFLOW) || le_get16(b) != 49) {
		r = 0;		/* an error response (MS-SMB2 2.2.2), also for a warning: no data */
		goto done;
	}
	if (le_get32(b + 36) > maxout ||
	    smb2_range(resp, rn, le_get32(b + 32), le_get32(b + 36), &data, err, errlen) == -1) {
		smb2_fail(c, 0, err, errlen, "IOCTL answer of %u bytes out of bounds", le_get32(b + 36));
		goto done;
	}
	r = copy_out(c, data, le_get32(b + 36), out, outlen, err, errlen);
done:
	free(m);
	free(resp);
	return r;
}

int
smb2_pipe_read(struct smb2_conn *c, uint32_t tid, const struct smb2_fid *fid, size_t max, uint8_t **out,
    size_t *outlen, uint32_t *status, char *err, size_t errlen)
{
	uint8_t		*resp = NULL;
	const uint8_t	*data;
	size_t		 dlen;
	uint64_t	 mid;
	int		 r = -1;

	*out = NULL;
	*outlen = 0;
	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if (max < 1)
		return util_err(err, errlen, "pipe read of 0 bytes");
	max = max > c->max_read ? c->max_read : max;
	if (read_send(c, tid, fid, 0, (uint32_t)max, 0, &mid, err, errlen) == -1 ||
	    read_wait(c, mid, max, &resp, &data, &dlen, status, err, errlen) == -1)
		goto done;
	r = 0;
	if (*status == SMB2_ST_OK || *status == SMB2_ST_BUFFER_OVERFLOW)
		r = copy_out(c, data, dlen, out, outlen, err, errlen);
done:
	free(resp);
	return r;
}
