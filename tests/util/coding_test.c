/*
 * coding_test.c — fixed-width and varint encodings: round trips, byte order,
 * lengths, and the decoders' corruption matrix (truncation at every prefix,
 * over-long varints, overflowing final bytes, length prefixes that overrun).
 * Inputs to decoders are placed in exact-size heap buffers so that ASan
 * reports any read at or past `limit`.
 */
#include "util/coding.h"

#include <stdlib.h>

#include "test.h"

/* A heap copy of src[0..n) with nothing after it; caller frees. */
static uint8_t *exact_copy(const uint8_t *src, size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  if (p == NULL) abort();
  memcpy(p, src, n);
  return p;
}

/* Values around every power of two below 2^bits, plus the extremes. */
static size_t interesting_values(uint64_t *out, int bits) {
  size_t n = 0;
  out[n++] = 0;
  out[n++] = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
  for (int k = 0; k < bits; k++) {
    uint64_t p = UINT64_C(1) << k;
    out[n++] = p - 1;
    out[n++] = p;
    out[n++] = p + 1;
  }
  return n;
}

TEST(fixed_byte_order) {
  uint8_t buf[8];
  encode_fixed16(buf, 0x0102);
  CHECK_MEM(buf, 2, "\x02\x01", 2);
  encode_fixed32(buf, 0x01020304u);
  CHECK_MEM(buf, 4, "\x04\x03\x02\x01", 4);
  encode_fixed64(buf, UINT64_C(0x0102030405060708));
  CHECK_MEM(buf, 8, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
  CHECK_U64(decode_fixed16((const uint8_t *)"\xff\x80"), 0x80ff);
  CHECK_U64(decode_fixed32((const uint8_t *)"\x01\x00\x00\x80"), 0x80000001u);
  CHECK_U64(decode_fixed64((const uint8_t *)"\x01\x00\x00\x00\x00\x00\x00\x80"),
            UINT64_C(0x8000000000000001));
}

TEST(fixed_round_trip) {
  uint8_t buf[8];
  for (uint32_t v = 0; v < 0x10000; v++) {
    encode_fixed16(buf, (uint16_t)v);
    CHECK_U64(decode_fixed16(buf), v);
  }
  uint64_t vals[3 + 3 * 64];
  size_t nv = interesting_values(vals, 64);
  for (int i = 0; i < 10000; i++) {
    uint64_t v = i < (int)nv ? vals[i] : test_rand();
    encode_fixed32(buf, (uint32_t)v);
    CHECK_U64(decode_fixed32(buf), (uint32_t)v);
    encode_fixed64(buf, v);
    CHECK_U64(decode_fixed64(buf), v);
  }
}

TEST(varint_length_boundaries) {
  CHECK_EQ(varint_length(0), 1);
  for (int k = 1; k <= 9; k++) {
    uint64_t edge = UINT64_C(1) << (7 * k);
    CHECK_EQ(varint_length(edge - 1), k);
    CHECK_EQ(varint_length(edge), k + 1);
  }
  CHECK_EQ(varint_length(UINT32_MAX), 5);
  CHECK_EQ(varint_length(UINT64_MAX), 10);
}

static void round_trip32(uint32_t v) {
  uint8_t tmp[VARINT32_MAX];
  uint8_t *end = encode_varint32(tmp, v);
  size_t len = (size_t)(end - tmp);
  CHECK_MSG(len == (size_t)varint_length(v), "len %zu for %u", len, v);
  uint8_t *buf = exact_copy(tmp, len);
  uint32_t got = ~v;
  const uint8_t *r = decode_varint32(buf, buf + len, &got);
  CHECK_MSG(r == buf + len && got == v, "varint32 %u -> %u", v, got);
  /* The same bytes as the start of a varint64. */
  uint64_t got64 = 0;
  r = decode_varint64(buf, buf + len, &got64);
  CHECK_MSG(r == buf + len && got64 == v, "varint32 %u as 64 -> %" PRIu64, v,
            got64);
  free(buf);
}

static void round_trip64(uint64_t v) {
  uint8_t tmp[VARINT64_MAX];
  uint8_t *end = encode_varint64(tmp, v);
  size_t len = (size_t)(end - tmp);
  CHECK_MSG(len == (size_t)varint_length(v), "len %zu for %" PRIu64, len, v);
  uint8_t *buf = exact_copy(tmp, len);
  uint64_t got = ~v;
  const uint8_t *r = decode_varint64(buf, buf + len, &got);
  CHECK_MSG(r == buf + len && got == v, "varint64 %" PRIu64 " -> %" PRIu64, v,
            got);
  /* As a varint32 it decodes exactly when it fits in 32 bits. */
  uint32_t got32 = 0;
  r = decode_varint32(buf, buf + len, &got32);
  if (v <= UINT32_MAX)
    CHECK_MSG(r == buf + len && got32 == v, "%" PRIu64 " as varint32", v);
  else
    CHECK_MSG(r == NULL, "%" PRIu64 " accepted as varint32", v);
  free(buf);
}

TEST(varint32_round_trip) {
  uint64_t vals[3 + 3 * 32];
  size_t nv = interesting_values(vals, 32);
  for (size_t i = 0; i < nv; i++)
    round_trip32((uint32_t)vals[i]);
  for (int i = 0; i < 100000; i++) {
    uint32_t v = (uint32_t)test_rand();
    round_trip32(v >> (test_rand() % 32)); /* all lengths, not only 5 */
  }
}

TEST(varint64_round_trip) {
  uint64_t vals[3 + 3 * 64];
  size_t nv = interesting_values(vals, 64);
  for (size_t i = 0; i < nv; i++)
    round_trip64(vals[i]);
  for (int i = 0; i < 100000; i++)
    round_trip64(test_rand() >> (test_rand() % 64));
}

/* Many varints back to back decode in order and end exactly at the end. */
TEST(varint_stream) {
  enum { N = 32 * 32 };
  uint8_t *buf = malloc(N * VARINT64_MAX);
  CHECK(buf != NULL);
  if (buf == NULL) return;
  uint8_t *p = buf;
  for (uint32_t i = 0; i < N; i++) {
    uint64_t v = ((uint64_t)(i / 32) << (i % 32)) * 0x10001u;
    p = (i & 1) ? encode_varint64(p, v) : encode_varint32(p, (uint32_t)v);
  }
  const uint8_t *limit = p, *q = buf;
  for (uint32_t i = 0; i < N && q != NULL; i++) {
    uint64_t v = ((uint64_t)(i / 32) << (i % 32)) * 0x10001u;
    if (i & 1) {
      uint64_t got;
      q = decode_varint64(q, limit, &got);
      CHECK_MSG(q != NULL && got == v, "item %u", i);
    } else {
      uint32_t got;
      q = decode_varint32(q, limit, &got);
      CHECK_MSG(q != NULL && got == (uint32_t)v, "item %u", i);
    }
  }
  CHECK(q == limit);
  free(buf);
}

/* Every proper prefix of a valid encoding is truncated: NULL, both in an
 * exact-size buffer (ASan guards the end) and inside a larger buffer whose
 * bytes past `limit` would complete the varint (catches reads past limit
 * without ASan). */
static void check_truncations(const uint8_t *enc, size_t len, int is64) {
  for (size_t k = 0; k < len; k++) {
    uint8_t *buf = exact_copy(enc, k);
    uint32_t v32;
    uint64_t v64;
    const uint8_t *r = is64 ? decode_varint64(buf, buf + k, &v64)
                            : decode_varint32(buf, buf + k, &v32);
    CHECK_MSG(r == NULL, "prefix %zu of %zu accepted", k, len);
    free(buf);
    r = is64 ? decode_varint64(enc, enc + k, &v64)
             : decode_varint32(enc, enc + k, &v32);
    CHECK_MSG(r == NULL, "prefix %zu of %zu accepted (in place)", k, len);
  }
}

TEST(corrupt_truncated_varints) {
  uint64_t vals[3 + 3 * 64];
  size_t nv = interesting_values(vals, 64);
  for (size_t i = 0; i < nv; i++) {
    uint8_t enc[VARINT64_MAX];
    size_t len = (size_t)(encode_varint64(enc, vals[i]) - enc);
    check_truncations(enc, len, 1);
    if (vals[i] <= UINT32_MAX) {
      len = (size_t)(encode_varint32(enc, (uint32_t)vals[i]) - enc);
      check_truncations(enc, len, 0);
    }
  }
}

TEST(corrupt_empty_input) {
  uint8_t byte = 0;
  uint32_t v32;
  uint64_t v64;
  const uint8_t *data;
  uint32_t len;
  CHECK(decode_varint32(&byte, &byte, &v32) == NULL);
  CHECK(decode_varint64(&byte, &byte, &v64) == NULL);
  CHECK(decode_length_prefixed(&byte, &byte, &data, &len) == NULL);
}

/* Decodes bytes[0..n) from an exact-size copy as a varint32. */
static const uint8_t *dec32(const char *bytes, size_t n, uint32_t *v,
                            size_t *used) {
  uint8_t *buf = exact_copy((const uint8_t *)bytes, n);
  const uint8_t *r = decode_varint32(buf, buf + n, v);
  *used = r ? (size_t)(r - buf) : 0;
  free(buf);
  return r;
}

static const uint8_t *dec64(const char *bytes, size_t n, uint64_t *v,
                            size_t *used) {
  uint8_t *buf = exact_copy((const uint8_t *)bytes, n);
  const uint8_t *r = decode_varint64(buf, buf + n, v);
  *used = r ? (size_t)(r - buf) : 0;
  free(buf);
  return r;
}

TEST(corrupt_overlong_varint32) {
  uint32_t v;
  size_t used;
  /* Six bytes: the 5th still says "more follows". */
  CHECK(dec32("\x80\x80\x80\x80\x80\x00", 6, &v, &used) == NULL);
  CHECK(dec32("\xff\xff\xff\xff\xff\x01", 6, &v, &used) == NULL);
  /* Five continuation bytes and nothing else. */
  CHECK(dec32("\x80\x80\x80\x80\x80", 5, &v, &used) == NULL);
  /* A long run of continuation bytes. */
  CHECK(dec32("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 12, &v,
              &used) == NULL);
}

TEST(corrupt_varint32_bits_beyond_32) {
  uint32_t v = 0;
  size_t used = 0;
  CHECK(dec32("\xff\xff\xff\xff\x0f", 5, &v, &used) != NULL);
  CHECK_U64(v, 0xffffffffu);
  CHECK_EQ(used, 5);
  CHECK(dec32("\x80\x80\x80\x80\x01", 5, &v, &used) != NULL);
  CHECK_U64(v, 1u << 28);
  CHECK(dec32("\xff\xff\xff\xff\x1f", 5, &v, &used) == NULL);
  CHECK(dec32("\xff\xff\xff\xff\x10", 5, &v, &used) == NULL);
  CHECK(dec32("\x80\x80\x80\x80\x10", 5, &v, &used) == NULL);
  CHECK(dec32("\x80\x80\x80\x80\x7f", 5, &v, &used) == NULL);
  /* 2^32 written as a varint64 is not a varint32. */
  uint8_t enc[VARINT64_MAX];
  size_t len = (size_t)(encode_varint64(enc, UINT64_C(1) << 32) - enc);
  CHECK(dec32((const char *)enc, len, &v, &used) == NULL);
}

/* LevelDB accepts non-minimal encodings (padding with 0x80 ... 0x00) as long
 * as they fit in the maximum length; so does strata. */
TEST(non_minimal_varints_accepted) {
  uint32_t v = 1;
  uint64_t v64 = 1;
  size_t used = 0;
  CHECK(dec32("\x80\x00", 2, &v, &used) != NULL);
  CHECK_U64(v, 0);
  CHECK_EQ(used, 2);
  CHECK(dec32("\x81\x80\x80\x80\x00", 5, &v, &used) != NULL);
  CHECK_U64(v, 1);
  CHECK(dec64("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 10, &v64, &used) !=
        NULL);
  CHECK_U64(v64, 0);
  CHECK_EQ(used, 10);
}

TEST(corrupt_overlong_varint64) {
  uint64_t v = 0;
  size_t used = 0;
  /* Eleven bytes. */
  CHECK(dec64("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, &v, &used) ==
        NULL);
  CHECK(dec64("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, &v, &used) ==
        NULL);
  /* Ten continuation bytes and nothing else. */
  CHECK(dec64("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", 10, &v, &used) ==
        NULL);
  /* The 10th byte holds only bit 63. */
  CHECK(dec64("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, &v, &used) !=
        NULL);
  CHECK_U64(v, UINT64_MAX);
  CHECK_EQ(used, 10);
  CHECK(dec64("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &v, &used) ==
        NULL);
  CHECK(dec64("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10, &v, &used) ==
        NULL);
}

/* Decodes a length-prefixed slice from an exact-size copy; returns the
 * number of bytes consumed, or -1 for NULL. */
static long dec_lp(const uint8_t *bytes, size_t n, uint32_t *len,
                   size_t *data_off) {
  uint8_t *buf = exact_copy(bytes, n);
  const uint8_t *data = NULL;
  const uint8_t *r = decode_length_prefixed(buf, buf + n, &data, len);
  long used = -1;
  if (r != NULL) {
    used = (long)(r - buf);
    *data_off = (size_t)(data - buf);
  }
  free(buf);
  return used;
}

TEST(length_prefixed) {
  static const uint32_t lens[] = {0, 1, 5, 127, 128, 300, 20000};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    uint32_t n = lens[i];
    uint8_t *enc = malloc(VARINT32_MAX + n + 1);
    CHECK(enc != NULL);
    if (enc == NULL) return;
    uint8_t *p = encode_varint32(enc, n);
    size_t hdr = (size_t)(p - enc);
    for (uint32_t j = 0; j < n; j++)
      p[j] = (uint8_t)(j * 7);
    size_t total = hdr + n;

    uint32_t len = 0;
    size_t off = 0;
    CHECK_EQ(dec_lp(enc, total, &len, &off), (long)total);
    CHECK_U64(len, n);
    CHECK_EQ(off, hdr);

    /* Followed by one more byte: consumes only its own bytes. */
    enc[total] = 0xee;
    CHECK_EQ(dec_lp(enc, total + 1, &len, &off), (long)total);

    /* The corruption matrix: every truncation fails. */
    for (size_t k = 0; k < total; k++)
      CHECK_MSG(dec_lp(enc, k, &len, &off) == -1, "len %u prefix %zu", n, k);
    free(enc);
  }
}

TEST(corrupt_length_prefix_overruns) {
  uint32_t len;
  size_t off;
  /* Length 4, three bytes. */
  CHECK_EQ(dec_lp((const uint8_t *)"\x04"
                                   "abc",
                  4, &len, &off),
           -1);
  /* Length 0xffffffff. */
  CHECK_EQ(dec_lp((const uint8_t *)"\xff\xff\xff\xff\x0f"
                                   "abc",
                  8, &len, &off),
           -1);
  /* Length 0x7fffffff: must not wrap a pointer computation. */
  CHECK_EQ(dec_lp((const uint8_t *)"\xff\xff\xff\xff\x07"
                                   "abc",
                  8, &len, &off),
           -1);
  /* A malformed prefix. */
  CHECK_EQ(dec_lp((const uint8_t *)"\xff\xff\xff\xff\x1f"
                                   "abc",
                  8, &len, &off),
           -1);
  CHECK_EQ(dec_lp((const uint8_t *)"\x80\x80\x80\x80\x80\x00", 6, &len, &off),
           -1);
  /* Exactly fills: accepted. */
  CHECK_EQ(dec_lp((const uint8_t *)"\x03"
                                   "abc",
                  4, &len, &off),
           4);
  CHECK_U64(len, 3);
}
