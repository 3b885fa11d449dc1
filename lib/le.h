/*
 * le.h — little-endian integers in byte buffers, the one definition for every wire format dpfleet reads or
 * writes byte by byte (SMB2 and its security tokens, DCE/RPC PDUs: MS-SMB2 2.1, MS-NLMP 2.2, C706 12.6 with the
 * little-endian data representation).  The caller has checked that the bytes are there; these never fail.
 */
#ifndef DPFLEET_LE_H
#define DPFLEET_LE_H

#include <stdint.h>

static inline uint16_t
le_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
le_get32(const uint8_t *p)
{
	return (uint32_t)le_get16(p) | (uint32_t)le_get16(p + 2) << 16;
}

static inline uint64_t
le_get64(const uint8_t *p)
{
	return (uint64_t)le_get32(p) | (uint64_t)le_get32(p + 4) << 32;
}

static inline void
le_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
le_put32(uint8_t *p, uint32_t v)
{
	le_put16(p, (uint16_t)v);
	le_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void
le_put64(uint8_t *p, uint64_t v)
{
	le_put32(p, (uint32_t)v);
	le_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
