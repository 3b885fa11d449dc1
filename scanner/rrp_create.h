/*
 * rrp_create.h — MS-RRP CreateKey (opnum 6), for tests only (test_rrp, fuzz_rrp, rpc_smbd_test): the
 * scanner never creates a registry key, and dpfleet-scanner is not linked with rrp_create.c.
 */
#ifndef DPFLEET_RRP_CREATE_H
#define DPFLEET_RRP_CREATE_H

#include "rrp.h"

/* Subkey created (or opened if present) under parent; class empty, no security attributes.  As rrp_enc_*. */
int	 rrp_enc_create_key(struct dbuf *out, const struct rrp_handle *parent, const char *path,
	    uint32_t access, char *err, size_t errlen);
/* *disposition: 1 created, 2 opened existing, 0 if the server returned no disposition.  As rrp_dec_*. */
int	 rrp_dec_create_key(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *disposition,
	    uint32_t *werr, char *err, size_t errlen);
/*
 * Create (or open) HKLM\key for reading and writing, then close both handles: as rrp_write_raw (0 with *st,
 * RRP_KEY_ABSENT when a parent is missing; -1 with err on a transport or decoding failure, after which no
 * close is attempted).
 */
int	 rrp_create_key(const struct rrp_io *io, const char *key, enum rrp_status *st, uint32_t *werr,
	    char *err, size_t errlen);

#endif
