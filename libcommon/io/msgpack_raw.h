/* msgpack_raw.h — msgpack encoding by hand, for the tools that write millions of fixed-layout records a
 * second (lfm-pairs, lfm-mix: io/pairs.h, io/plan.h) and cannot afford msgpack-c's packer call per
 * field. Each helper writes one value at d and returns the byte after it; the caller provides the room.
 * The bytes are exactly those msgpack-c's packer writes for the same value (msgpack_pack_str of a short
 * string, msgpack_pack_int64 / msgpack_pack_uint64, msgpack_pack_float): tests/unit/test_codecs.c holds
 * them to that. static inline: the record loops depend on it. */
#ifndef LFM_MSGPACK_RAW_H
#define LFM_MSGPACK_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string of n < 32 bytes as a fixstr (what msgpack_pack_str + msgpack_pack_str_body write for it). */
static inline unsigned char *mp_put_key(unsigned char *d, const char *key, size_t n)
{
	*d++ = (unsigned char)(0xa0 | n); /* fixstr */
	memcpy(d, key, n);
	return d + n;
}

/* msgpack's smallest form of a non-negative integer, as msgpack-c's packer writes it (at most 9 bytes). */
static inline unsigned char *mp_put_uint(unsigned char *d, uint64_t v)
{
	if (v < 128) {
		*d++ = (unsigned char)v;
		return d;
	}
	int n = v < 256 ? 1 : v < 65536 ? 2 : v <= UINT32_MAX ? 4 : 8;
	*d++ = n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
	for (int k = n - 1; k >= 0; k--)
		*d++ = (unsigned char)(v >> 8 * k);
	return d;
}

/* msgpack's smallest form of an integer, as msgpack_pack_int64 writes it (at most 9 bytes). */
static inline unsigned char *mp_put_int(unsigned char *d, int64_t v)
{
	if (v >= 0)
		return mp_put_uint(d, (uint64_t)v);
	if (v >= -32) {
		*d++ = (unsigned char)(v & 0xff); /* negative fixint */
		return d;
	}
	int n = v >= -128 ? 1 : v >= -32768 ? 2 : v >= INT32_MIN ? 4 : 8;
	uint64_t u = (uint64_t)v;
	*d++ = n == 1 ? 0xd0 : n == 2 ? 0xd1 : n == 4 ? 0xd2 : 0xd3;
	for (int k = n - 1; k >= 0; k--)
		*d++ = (unsigned char)(u >> 8 * k);
	return d;
}

/* A float32, as msgpack_pack_float writes it (5 bytes). */
static inline unsigned char *mp_put_f32(unsigned char *d, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	*d++ = 0xca;
	for (int k = 3; k >= 0; k--)
		*d++ = (unsigned char)(u >> 8 * k);
	return d;
}

#endif
