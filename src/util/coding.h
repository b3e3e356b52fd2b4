/*
 * coding.h — little-endian fixed-width and LEB128 varint encodings, as in
 * LevelDB's util/coding (the formats are identical).
 *
 * Encoders write into a caller buffer that must be large enough (fixed32: 4,
 * fixed64: 8, varint32: up to 5, varint64: up to 10 bytes) and return the
 * pointer just past what they wrote. Decoders of bytes from disk are
 * bounds-checked: they never read at or beyond `limit` and return NULL when
 * the input is truncated or malformed (a varint32 longer than 5 bytes or
 * overflowing 32 bits, a varint64 longer than 10 bytes).
 */
#ifndef STRATA_UTIL_CODING_H
#define STRATA_UTIL_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { VARINT32_MAX = 5, VARINT64_MAX = 10 };

static inline void encode_fixed16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void encode_fixed32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void encode_fixed64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t decode_fixed16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t decode_fixed32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t decode_fixed64(const uint8_t *p) {
  return (uint64_t)decode_fixed32(p) | ((uint64_t)decode_fixed32(p + 4) << 32);
}

/* Encoders: return one past the last byte written. */
uint8_t *encode_varint32(uint8_t *dst, uint32_t v);
uint8_t *encode_varint64(uint8_t *dst, uint64_t v);

/* Number of bytes encode_varint64 writes for v. */
int varint_length(uint64_t v);

/* Bounds-checked decoders: read from [p, limit); on success store the value
 * and return one past its last byte; on truncation or malformation return
 * NULL and leave *v unspecified. */
const uint8_t *decode_varint32(const uint8_t *p, const uint8_t *limit,
                               uint32_t *v);
const uint8_t *decode_varint64(const uint8_t *p, const uint8_t *limit,
                               uint64_t *v);

/* A varint32 length followed by that many bytes (LevelDB's length-prefixed
 * slice). On success *data points into [p, limit) and *len is its length. */
const uint8_t *decode_length_prefixed(const uint8_t *p, const uint8_t *limit,
                                      const uint8_t **data, uint32_t *len);

#endif
