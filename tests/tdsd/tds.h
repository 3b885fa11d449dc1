/*
 * tds.h — pure TDS 7.x (MS-TDS) packet and token codec for the dpfleet-tdsd test fixture: decoders for what a
 * client sends (packet header, PRELOGIN, LOGIN7, SQLBatch) and encoders for what a server answers (PRELOGIN
 * reply, ENVCHANGE, INFO/ERROR, LOGINACK, COLMETADATA, ROW values, DONE).  No I/O, no global state.
 */
#ifndef DPFLEET_TDS_H
#define DPFLEET_TDS_H

#include <stddef.h>
#include <stdint.h>

/* Packet types (MS-TDS 2.2.3.1.1). */
#define TDS_PKT_SQLBATCH	0x01
#define TDS_PKT_PRETDS7_LOGIN	0x02
#define TDS_PKT_RPC		0x03
#define TDS_PKT_REPLY		0x04
#define TDS_PKT_ATTENTION	0x06
#define TDS_PKT_BULK		0x07
#define TDS_PKT_TRANSMGR	0x0e
#define TDS_PKT_LOGIN7		0x10
#define TDS_PKT_SSPI		0x11
#define TDS_PKT_PRELOGIN	0x12

#define TDS_STATUS_EOM		0x01
#define TDS_HEADER_LEN		8
#define TDS_PACKET_MAX		32768	/* largest packet we accept or send */
#define TDS_PACKET_MIN		512

/* TDS versions as carried in LOGIN7 (little-endian DWORD read as a number). */
#define TDS_V70			0x70000000u
#define TDS_V71			0x71000000u
#define TDS_V71R1		0x71000001u
#define TDS_V72			0x72090002u
#define TDS_V73A		0x730a0003u
#define TDS_V73B		0x730b0003u
#define TDS_V74			0x74000004u
/* Major.minor as a comparable number: 0x700, 0x701, 0x702, 0x703, 0x704. */
#define TDS_LEVEL(v)		(0x700u + (((v) >> 24) & 0x0fu))

/* Token types (MS-TDS 2.2.7). */
#define TDS_TOK_COLMETADATA	0x81
#define TDS_TOK_ERROR		0xaa
#define TDS_TOK_INFO		0xab
#define TDS_TOK_LOGINACK	0xad
#define TDS_TOK_FEATUREEXTACK	0xae
#define TDS_TOK_ROW		0xd1
#define TDS_TOK_ENVCHANGE	0xe3
#define TDS_TOK_SSPI		0xed
#define TDS_TOK_DONE		0xfd

#define TDS_ENV_DATABASE	1
#define TDS_ENV_LANGUAGE	2
#define TDS_ENV_PACKETSIZE	4
#define TDS_ENV_COLLATION	7

#define TDS_DONE_FINAL		0x0000
#define TDS_DONE_MORE		0x0001
#define TDS_DONE_ERROR		0x0002
#define TDS_DONE_COUNT		0x0010
#define TDS_DONE_ATTN		0x0020
#define TDS_CURCMD_SELECT	0x00c1

/* Data types (MS-TDS 2.2.5.4). */
#define TDS_TYPE_INTN		0x26
#define TDS_TYPE_BITN		0x68
#define TDS_TYPE_FLTN		0x6d
#define TDS_TYPE_DATETIMN	0x6f
#define TDS_TYPE_NTEXT		0x63	/* long text before 7.2 (no PLP) */
#define TDS_TYPE_BIGVARCHAR	0xa7
#define TDS_TYPE_NVARCHAR	0xe7

/* PRELOGIN ENCRYPTION values (MS-TDS 2.2.6.5). */
#define TDS_PRELOGIN_ENCRYPT_OFF	0x00	/* encrypt LOGIN7 only */
#define TDS_PRELOGIN_ENCRYPT_ON		0x01	/* encrypt everything */
#define TDS_PRELOGIN_ENCRYPT_NOT_SUP	0x02	/* no TLS at all */
#define TDS_PRELOGIN_ENCRYPT_REQ	0x03	/* the server requires encryption: everything */

/* SQL_Latin1_General_CP1_CI_AS, the collation SQL Server reports by default. */
extern const uint8_t tds_collation_default[5];

/*
 * A bounded, growing output buffer.  tds_buf_init sets the hard cap; every put fails (returns -1, sets
 * `overflow`, keeps the bytes written so far) once the cap would be exceeded.  tds_buf_free releases data.
 */
struct tds_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 alloc;
	size_t	 max;
	int	 overflow;
};

void	 tds_buf_init(struct tds_buf *b, size_t max);
void	 tds_buf_free(struct tds_buf *b);
void	 tds_buf_reset(struct tds_buf *b);
int	 tds_put_bytes(struct tds_buf *b, const void *p, size_t n);
int	 tds_put_u8(struct tds_buf *b, uint8_t v);
int	 tds_put_u16le(struct tds_buf *b, uint16_t v);
int	 tds_put_u32le(struct tds_buf *b, uint32_t v);
int	 tds_put_u64le(struct tds_buf *b, uint64_t v);
int	 tds_put_u16be(struct tds_buf *b, uint16_t v);

/*
 * UTF-8 → UTF-16LE into b; invalid UTF-8 becomes U+FFFD.  Returns the number of UTF-16 code units written, or
 * -1 if the buffer cap was hit.  tds_utf16_units counts the units without writing.
 */
long	 tds_put_ucs2(struct tds_buf *b, const char *utf8, size_t len);
size_t	 tds_utf16_units(const char *utf8, size_t len);
/* The byte length of the longest prefix of utf8 that is at most max_units UTF-16 units (whole characters). */
size_t	 tds_utf8_prefix(const char *utf8, size_t len, size_t max_units);

/*
 * UTF-16LE (nbytes, must be even) → malloc'd NUL-terminated UTF-8 in *out (*outlen without the NUL).
 * Unpaired surrogates and embedded NUL become U+FFFD.  Returns 0, or -1 + err on odd length or allocation
 * failure (*out untouched).  The caller frees *out.
 */
int	 tds_utf16_to_utf8(const uint8_t *p, size_t nbytes, char **out, size_t *outlen, char *err, size_t errlen);

/* Packet header (MS-TDS 2.2.3.1). */
struct tds_header {
	uint8_t	 type;
	uint8_t	 status;
	uint16_t length;	/* including the 8-byte header */
	uint16_t spid;
	uint8_t	 packet_id;
	uint8_t	 window;
};

/* Decode 8 bytes; -1 + err when length < 8 or > TDS_PACKET_MAX. */
int	 tds_header_parse(const uint8_t p[TDS_HEADER_LEN], struct tds_header *h, char *err, size_t errlen);
void	 tds_header_put(uint8_t p[TDS_HEADER_LEN], const struct tds_header *h);

/* PRELOGIN (MS-TDS 2.2.6.5): the options we look at. */
struct tds_prelogin {
	int	 has_version;
	uint8_t	 version[6];
	int	 has_encryption;
	uint8_t	 encryption;
	int	 has_mars;
	uint8_t	 mars;
};

/* Parse a PRELOGIN payload (no packet header); -1 + err on any out-of-bounds option or missing terminator. */
int	 tds_prelogin_parse(const uint8_t *p, size_t n, struct tds_prelogin *pl, char *err, size_t errlen);
/* Encode our reply payload: VERSION, ENCRYPTION=encryption, INSTOPT "", THREADID, MARS=0.  -1 on cap. */
int	 tds_prelogin_reply(struct tds_buf *b, uint8_t encryption);
/*
 * The server's side of MS-TDS 2.2.6.5's encryption negotiation: what to answer a client that sent `client`,
 * for a server set to `server` -- ENCRYPT_NOT_SUP (no certificate), ENCRYPT_OFF (LOGIN7 encrypted, the rest
 * only if the client asks for ENCRYPT_ON) or ENCRYPT_REQ (everything encrypted).  Returns the value, or -1
 * when the connection must end: the server requires encryption and the client cannot (ENCRYPT_NOT_SUP), or
 * the client sent an unknown value.  The answer's meaning: NOT_SUP plain text, OFF only LOGIN7 encrypted,
 * ON or REQ everything encrypted.
 */
int	 tds_prelogin_encrypt_answer(uint8_t client, uint8_t server);

/* LOGIN7 (MS-TDS 2.2.6.4).  Strings are UTF-8, NUL-terminated; each field is at most 128 UTF-16 units. */
#define TDS_LOGIN_FIELD	(128 * 3 + 1)
struct tds_login7 {
	uint32_t tds_version;
	uint32_t packet_size;
	uint8_t	 option_flags3;
	int	 has_extension;	/* fExtension set and a FeatureExt block present */
	int	 integrated;	/* OptionFlags2.fIntSecurity: the SSPI field carries the first token */
	size_t	 sspi_off;	/* that token: offset and length inside the payload (checked) */
	size_t	 sspi_len;
	char	 hostname[TDS_LOGIN_FIELD];
	char	 username[TDS_LOGIN_FIELD];
	char	 password[TDS_LOGIN_FIELD];	/* de-obfuscated: wipe with tds_login7_clear */
	char	 appname[TDS_LOGIN_FIELD];
	char	 servername[TDS_LOGIN_FIELD];
	char	 language[TDS_LOGIN_FIELD];
	char	 database[TDS_LOGIN_FIELD];
};

/*
 * Parse a LOGIN7 payload.  Every offset/length is checked against the payload and the declared Length; a
 * field over 128 characters, a version below 7.0 or a truncated fixed part is an error (-1 + err; the struct
 * may be partly filled and must still be cleared).  With fIntSecurity (integrated security) the SSPI field
 * (ibSSPI/cbSSPI, cbSSPILong from 7.2 when cbSSPI is 0xFFFF) must be present and inside the payload: its place
 * goes to sspi_off/sspi_len; UserName and Password are then normally empty.
 */
int	 tds_login7_parse(const uint8_t *p, size_t n, struct tds_login7 *l, char *err, size_t errlen);
void	 tds_login7_clear(struct tds_login7 *l);
/* Obfuscate/de-obfuscate one password byte (MS-TDS 2.2.6.4: swap nibbles, XOR 0xA5). */
uint8_t	 tds_password_obfuscate(uint8_t c);
uint8_t	 tds_password_deobfuscate(uint8_t c);
/* The version a server reports in LOGINACK for a client's LOGIN7 version (clamped to 7.0..7.4). */
uint32_t tds_version_negotiate(uint32_t client);

/*
 * Parse an SQLBatch payload: for TDS >= 7.2 the ALL_HEADERS block is checked and skipped, then the UTF-16LE
 * text is converted to UTF-8 into malloc'd *sql (caller frees).  -1 + err on bad headers or odd length.
 */
int	 tds_sqlbatch_parse(const uint8_t *p, size_t n, uint32_t tds_version, char **sql, size_t *sqllen,
	    char *err, size_t errlen);

/* Token encoders.  All return 0, or -1 when the buffer cap is hit; strings are UTF-8. */
int	 tds_put_envchange(struct tds_buf *b, uint8_t type, const char *newval, const char *oldval);
int	 tds_put_envchange_collation(struct tds_buf *b, const uint8_t coll[5]);
/* token is TDS_TOK_INFO or TDS_TOK_ERROR; LineNumber is 2 bytes before 7.2, 4 after. */
int	 tds_put_message(struct tds_buf *b, uint32_t tds_version, uint8_t token, int32_t number, uint8_t state,
	    uint8_t cls, const char *msg, const char *server, const char *proc, int32_t line);
/* progname is a B_VARCHAR; progver 4 bytes (major, minor, build hi, build lo). */
int	 tds_put_loginack(struct tds_buf *b, uint32_t tds_version, const char *progname, const uint8_t progver[4]);
/* SSPI token (MS-TDS 2.2.7.22): 0xED, a USHORT length, then the security package's bytes (at most 65535). */
int	 tds_put_sspi(struct tds_buf *b, const uint8_t *p, size_t n);
/* FEATUREEXTACK with no features (just the terminator). */
int	 tds_put_featureextack_empty(struct tds_buf *b);
/* DoneRowCount is 4 bytes before 7.2, 8 after. */
int	 tds_put_done(struct tds_buf *b, uint32_t tds_version, uint16_t status, uint16_t curcmd, uint64_t rows);

/* One result column as sent in COLMETADATA. */
struct tds_column {
	uint8_t	 type;		/* TDS_TYPE_* */
	uint8_t	 size;		/* INTN 1/2/4/8, FLTN 4/8, DATETIMN 8, BITN 1 */
	uint16_t maxlen;	/* NVARCHAR/BIGVARCHAR bytes; 0xffff = MAX (PLP, 7.2+) */
	uint16_t flags;		/* 0x0001 nullable */
	char	 name[TDS_LOGIN_FIELD];
};

int	 tds_put_colmetadata(struct tds_buf *b, uint32_t tds_version, const struct tds_column *cols, size_t ncols);

/* ROW values: the caller writes TDS_TOK_ROW then one value per column in order. */
int	 tds_put_null(struct tds_buf *b, const struct tds_column *c);
int	 tds_put_int(struct tds_buf *b, const struct tds_column *c, int64_t v);	/* INTN/BITN */
int	 tds_put_float(struct tds_buf *b, const struct tds_column *c, double v);
int	 tds_put_datetime(struct tds_buf *b, int32_t days, uint32_t ticks);
/*
 * NVARCHAR (UTF-8 in, UTF-16LE out; PLP when maxlen is 0xffff, 7.2+), NTEXT (7.0/7.1 long text, with a dummy
 * text pointer) or BIGVARCHAR (bytes as given).  -1 when over maxlen or the cap.
 */
int	 tds_put_string(struct tds_buf *b, const struct tds_column *c, const char *s, size_t len);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS[.fff]" or with 'T' and optional 'Z' into DATETIME parts: days since
 * 1900-01-01 and 1/300-second ticks since midnight.  Returns 0, or -1 when not such a string or out of the
 * DATETIME range (1753..9999).
 */
int	 tds_datetime_parse(const char *s, int32_t *days, uint32_t *ticks);

#endif
