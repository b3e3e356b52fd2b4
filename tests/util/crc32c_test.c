/*
 * crc32c_test.c — CRC-32C against the known vectors of RFC 3720 (B.4) and
 * LevelDB's crc32c_test, for both implementations; extend/one-shot
 * agreement; hardware == software on every short length and alignment and
 * across the interleaved paths' size boundaries; masking.
 */
#include "util/crc32c.h"

#include <stdlib.h>

#include "test.h"

static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)test_rand();
}

/* Checks `expect` through every entry point that is available. */
static void check_vector(const char *what, const uint8_t *data, size_t n,
                         uint32_t expect) {
  CHECK_MSG(crc32c_value(data, n) == expect, "%s: value %08x != %08x", what,
            crc32c_value(data, n), expect);
  CHECK_MSG(crc32c_sw(0, data, n) == expect, "%s: sw %08x != %08x", what,
            crc32c_sw(0, data, n), expect);
  if (crc32c_hw_available())
    CHECK_MSG(crc32c_hw(0, data, n) == expect, "%s: hw %08x != %08x", what,
              crc32c_hw(0, data, n), expect);
  /* The same bytes fed one at a time. */
  uint32_t crc = 0;
  for (size_t i = 0; i < n; i++)
    crc = crc32c_extend(crc, data + i, 1);
  CHECK_MSG(crc == expect, "%s: bytewise %08x != %08x", what, crc, expect);
}

TEST(rfc3720_vectors) {
  uint8_t buf[32];
  memset(buf, 0, sizeof buf);
  check_vector("32 zeros", buf, sizeof buf, 0x8a9136aa);
  memset(buf, 0xff, sizeof buf);
  check_vector("32 0xff", buf, sizeof buf, 0x62a8ab43);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)i;
  check_vector("ascending", buf, sizeof buf, 0x46dd794e);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)(31 - i);
  check_vector("descending", buf, sizeof buf, 0x113fdb5c);
}

TEST(iscsi_read_command) {
  static const uint8_t data[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  check_vector("iscsi read", data, sizeof data, 0xd9963a56);
}

TEST(check_value) {
  check_vector("123456789", (const uint8_t *)"123456789", 9, 0xe3069283);
  /* Values computed by an independent bit-at-a-time implementation. */
  check_vector("a", (const uint8_t *)"a", 1, 0xc1d04330);
  check_vector("foo", (const uint8_t *)"foo", 3, 0xcfc4ae1d);
  check_vector("hello world", (const uint8_t *)"hello world", 11, 0xc99465aa);
  CHECK(crc32c_value("a", 1) != crc32c_value("foo", 3));
}

TEST(empty_input) {
  uint8_t byte = 0x5a;
  CHECK_U64(crc32c_value(&byte, 0), 0);
  CHECK_U64(crc32c_sw(0, &byte, 0), 0);
  CHECK_U64(crc32c_extend(0x12345678, &byte, 0), 0x12345678);
  CHECK_U64(crc32c_sw(0x12345678, &byte, 0), 0x12345678);
  if (crc32c_hw_available()) {
    CHECK_U64(crc32c_hw(0, &byte, 0), 0);
    CHECK_U64(crc32c_hw(0x12345678, &byte, 0), 0x12345678);
  }
}

TEST(extend_at_every_split) {
  enum { N = 1000 };
  uint8_t buf[N];
  fill_random(buf, N);
  uint32_t whole = crc32c_value(buf, N);
  CHECK_U64(whole, crc32c_sw(0, buf, N));
  CHECK_U64(crc32c_extend(crc32c_value("hello ", 6), "world", 5),
            crc32c_value("hello world", 11));
  for (size_t i = 0; i <= N; i++) {
    uint32_t a = crc32c_extend(0, buf, i);
    CHECK_MSG(crc32c_extend(a, buf + i, N - i) == whole, "split %zu", i);
    uint32_t s = crc32c_sw(0, buf, i);
    CHECK_MSG(crc32c_sw(s, buf + i, N - i) == whole, "sw split %zu", i);
    if (crc32c_hw_available()) {
      uint32_t h = crc32c_hw(0, buf, i);
      CHECK_MSG(crc32c_hw(h, buf + i, N - i) == whole, "hw split %zu", i);
      /* The two implementations may be mixed mid-stream. */
      CHECK_MSG(crc32c_hw(s, buf + i, N - i) == whole, "sw+hw split %zu", i);
    }
  }
}

/* hw == sw on a copy of src[0..n) placed in an exact-size heap buffer, so
 * that ASan catches any read past the end, from initial value `init`. */
static void check_hw_sw(const uint8_t *src, size_t n, uint32_t init) {
  uint8_t *copy = malloc(n ? n : 1);
  CHECK(copy != NULL);
  if (copy == NULL) return;
  memcpy(copy, src, n);
  uint32_t sw = crc32c_sw(init, copy, n);
  CHECK_MSG(crc32c_hw(init, copy, n) == sw, "hw != sw, n=%zu init=%08x", n,
            init);
  CHECK_MSG(crc32c_extend(init, copy, n) == sw, "extend != sw, n=%zu", n);
  free(copy);
}

TEST(hw_matches_sw_short_unaligned) {
  if (!crc32c_hw_available()) {
    fprintf(stderr, "  (no SSE4.2: hw comparison skipped)\n");
    return;
  }
  enum { MAXLEN = 300, MAXOFF = 16 };
  uint8_t buf[MAXLEN + MAXOFF];
  fill_random(buf, sizeof buf);
  for (size_t off = 0; off < MAXOFF; off++)
    for (size_t n = 0; n <= MAXLEN; n++) {
      uint32_t init = (uint32_t)test_rand();
      CHECK_MSG(crc32c_hw(0, buf + off, n) == crc32c_sw(0, buf + off, n),
                "off=%zu n=%zu", off, n);
      CHECK_MSG(crc32c_hw(init, buf + off, n) == crc32c_sw(init, buf + off, n),
                "off=%zu n=%zu init=%08x", off, n, init);
    }
  for (size_t n = 0; n <= MAXLEN; n++)
    check_hw_sw(buf, n, 0);
}

/* The hardware path switches between three-stream runs of 3 x 8192 and
 * 3 x 256 bytes and a one-stream tail; probe each boundary. */
TEST(hw_matches_sw_large) {
  if (!crc32c_hw_available()) {
    fprintf(stderr, "  (no SSE4.2: hw comparison skipped)\n");
    return;
  }
  enum { MAX = 3 * 3 * 8192 + 4096 };
  static const size_t sizes[] = {767,
                                 768,
                                 769,
                                 775,
                                 776,
                                 1535,
                                 1536,
                                 1537,
                                 3 * 8192 - 1,
                                 3 * 8192,
                                 3 * 8192 + 1,
                                 3 * 8192 + 768,
                                 3 * 8192 + 775,
                                 6 * 8192 - 1,
                                 6 * 8192,
                                 6 * 8192 + 7,
                                 9 * 8192,
                                 MAX - 16};
  uint8_t *buf = malloc(MAX);
  CHECK(buf != NULL);
  if (buf == NULL) return;
  fill_random(buf, MAX);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    for (size_t off = 0; off < 9; off++) {
      size_t n = sizes[i];
      CHECK_MSG(crc32c_hw(0, buf + off, n) == crc32c_sw(0, buf + off, n),
                "n=%zu off=%zu", n, off);
      check_hw_sw(buf + off, n, (uint32_t)test_rand());
    }
  for (int i = 0; i < 200; i++) {
    size_t off = test_rand() % 64;
    size_t n = test_rand() % (MAX - off);
    check_hw_sw(buf + off, n, (uint32_t)test_rand());
  }
  free(buf);
}

TEST(detects_every_single_bit_flip) {
  enum { N = 256 };
  uint8_t buf[N];
  fill_random(buf, N);
  uint32_t good = crc32c_value(buf, N);
  for (size_t bit = 0; bit < 8 * N; bit++) {
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    CHECK_MSG(crc32c_value(buf, N) != good, "bit %zu", bit);
    CHECK_MSG(crc32c_sw(0, buf, N) != good, "sw bit %zu", bit);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_U64(crc32c_value(buf, N), good);
}

TEST(mask) {
  uint32_t crc = crc32c_value("foo", 3);
  CHECK(crc != crc32c_mask(crc));
  CHECK(crc != crc32c_mask(crc32c_mask(crc)));
  CHECK_U64(crc32c_unmask(crc32c_mask(crc)), crc);
  CHECK_U64(crc32c_unmask(crc32c_unmask(crc32c_mask(crc32c_mask(crc)))), crc);
  /* Known masked values (LevelDB's formula: rotate right 15, add delta). */
  CHECK_U64(crc32c_mask(0), 0xa282ead8);
  CHECK_U64(crc32c_mask(0xcfc4ae1d), 0xfebe8a61);
  CHECK_U64(crc32c_mask(crc32c_mask(0xcfc4ae1d)), 0xb746e855);
  CHECK_U64(crc32c_mask(0xc99465aa), 0x6dd87e00);
  CHECK_U64(crc32c_mask(0xc1d04330), 0x28e46e78);
  for (int i = 0; i < 10000; i++) {
    uint32_t v = (uint32_t)test_rand();
    CHECK_U64(crc32c_unmask(crc32c_mask(v)), v);
    CHECK_U64(crc32c_mask(crc32c_unmask(v)), v);
  }
}
