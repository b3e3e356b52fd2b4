/*
 * coding.c — LEB128 varints, as in LevelDB's util/coding.cc (byte-identical
 * encodings; docs/formats/ describe where each is used).
 *
 * Format: a value is written 7 bits at a time, least significant group first;
 * every byte but the last has its high bit (0x80) set. A varint32 takes 1..5
 * bytes, a varint64 1..10. A length-prefixed slice is a varint32 length
 * followed by that many bytes.
 *
 * Damage: the decoders read bytes from disk and treat them as hostile. They
 * never read at or beyond `limit`, and return NULL for
 *  - truncation: `limit` reached while the high bit says more bytes follow;
 *  - an over-long varint32 (a 5th byte with the high bit set) or one whose
 *    5th byte carries bits beyond bit 31 (only its low 4 bits are value);
 *  - an over-long varint64 (a 10th byte with the high bit set) or one whose
 *    10th byte carries bits beyond bit 63 (only its low bit is value);
 *  - a length prefix larger than the bytes left before `limit`.
 * LevelDB's encoders never produce the rejected forms.
 */
#include "util/coding.h"

uint8_t *encode_varint32(uint8_t *dst, uint32_t v) {
  while (v >= 0x80) {
    *dst++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *dst++ = (uint8_t)v;
  return dst;
}

uint8_t *encode_varint64(uint8_t *dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *dst++ = (uint8_t)v;
  return dst;
}

int varint_length(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    len++;
  }
  return len;
}

const uint8_t *decode_varint32(const uint8_t *p, const uint8_t *limit,
                               uint32_t *v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && p < limit; shift += 7) {
    uint32_t byte = *p++;
    /* The 5th byte holds bits 28..31: anything above 0x0f is either a
     * continuation (over-long) or bits beyond 32. */
    if (shift == 28 && byte > 0x0f) return NULL;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return p;
    }
  }
  return NULL;
}

const uint8_t *decode_varint64(const uint8_t *p, const uint8_t *limit,
                               uint64_t *v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    uint64_t byte = *p++;
    /* The 10th byte holds bit 63 only. */
    if (shift == 63 && byte > 0x01) return NULL;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return p;
    }
  }
  return NULL;
}

const uint8_t *decode_length_prefixed(const uint8_t *p, const uint8_t *limit,
                                      const uint8_t **data, uint32_t *len) {
  uint32_t n;
  p = decode_varint32(p, limit, &n);
  if (p == NULL || n > (size_t)(limit - p)) return NULL;
  *data = p;
  *len = n;
  return p + n;
}
