/*
 * write_batch_test.c — the write-batch record (src/wal/write_batch.c): round
 * trips through the builder and decoder, the decoder's named corruption
 * matrix, and the callback contract.
 */
#include "test.h"

#include <stdlib.h>

#include "strata.h"
#include "wal/write_batch.h"

/* ---- a callback that records every operation --------------------------- */

enum { MAX_OPS = 64 };

typedef struct recorded {
  int n;                 /* operations seen */
  int stop_after;        /* return 42 after this many (0: never) */
  int op[MAX_OPS];       /* STRATA_OP_PUT or STRATA_OP_DELETE */
  char *key[MAX_OPS];    /* malloc'd copies */
  size_t klen[MAX_OPS];  /* key lengths, bytes */
  char *value[MAX_OPS];  /* malloc'd copies; NULL for deletes */
  size_t vlen[MAX_OPS];  /* value lengths, bytes */
  int null_value_on_del; /* 1 while every delete came with value == NULL */
} recorded;

static char *dup_bytes(const void *p, size_t n) {
  char *d = malloc(n ? n : 1);
  if (n) memcpy(d, p, n);
  return d;
}

static int record_op(void *arg, int op, const void *key, size_t key_len,
                     const void *value, size_t value_len) {
  recorded *r = arg;
  if (r->n == 0) r->null_value_on_del = 1;
  if (r->n < MAX_OPS) {
    r->op[r->n] = op;
    r->key[r->n] = dup_bytes(key, key_len);
    r->klen[r->n] = key_len;
    r->value[r->n] = value ? dup_bytes(value, value_len) : NULL;
    r->vlen[r->n] = value_len;
  }
  if (op == STRATA_OP_DELETE && value) r->null_value_on_del = 0;
  r->n++;
  if (r->stop_after && r->n == r->stop_after) return 42;
  return 0;
}

static void recorded_free(recorded *r) {
  for (int i = 0; i < r->n && i < MAX_OPS; i++) {
    free(r->key[i]);
    free(r->value[i]);
  }
  memset(r, 0, sizeof *r);
}

static int decode(const void *rec, size_t size, uint64_t *seq, uint32_t *count,
                  recorded *r) {
  return strata_batch_decode(rec, size, seq, count, record_op, r);
}

/* A batch of: put("a","1"), delete("bb"), put("ccc","22"), sequence 7. */
static strata_batch *three_op_batch(void) {
  strata_batch *b = strata_batch_create();
  strata_batch_set_sequence(b, 7);
  strata_batch_put(b, "a", 1, "1", 1);
  strata_batch_delete(b, "bb", 2);
  strata_batch_put(b, "ccc", 3, "22", 2);
  return b;
}

/* A copy of b's encoding with room for `extra` more bytes. */
static uint8_t *copy_of(const strata_batch *b, size_t *size, size_t extra) {
  const void *d = strata_batch_data(b, size);
  uint8_t *c = malloc(*size + extra + 1);
  memcpy(c, d, *size);
  return c;
}

static void expect_corrupt(const uint8_t *rec, size_t size, const char *what) {
  recorded r = {0};
  int rc = decode(rec, size, NULL, NULL, &r);
  CHECK_MSG(rc == STRATA_CORRUPTION, "%s: decode returned %d, not corruption",
            what, rc);
  CHECK_MSG(r.n == 0, "%s: callback ran %d times on a corrupt batch", what,
            r.n);
  CHECK_MSG(strncmp(strata_last_error(), "batch: ", 7) == 0,
            "%s: message '%s' does not start with 'batch: '", what,
            strata_last_error());
  recorded_free(&r);
}

/* ---- round trips -------------------------------------------------------- */

TEST(round_trip_empty_batch) {
  strata_batch *b = strata_batch_create();
  size_t size;
  const uint8_t *d = strata_batch_data(b, &size);
  CHECK_EQ(size, 12);
  CHECK_EQ(strata_batch_count(b), 0);
  CHECK_U64(strata_batch_sequence(b), 0);
  for (int i = 0; i < 12; i++)
    CHECK_EQ(d[i], 0);
  uint64_t seq = 99;
  uint32_t count = 99;
  recorded r = {0};
  CHECK_EQ(decode(d, size, &seq, &count, &r), STRATA_OK);
  CHECK_U64(seq, 0);
  CHECK_EQ(count, 0);
  CHECK_EQ(r.n, 0);
  strata_batch_destroy(b);
  strata_batch_destroy(NULL);
}

TEST(round_trip_puts_and_deletes) {
  strata_batch *b = strata_batch_create();
  strata_batch_set_sequence(b, 0x0102030405060708ull);
  CHECK_EQ(strata_batch_put(b, "apple", 5, "red", 3), STRATA_OK);
  CHECK_EQ(strata_batch_delete(b, "banana", 6), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, "cherry", 6, "dark red", 8), STRATA_OK);
  CHECK_EQ(strata_batch_count(b), 3);
  CHECK_U64(strata_batch_sequence(b), 0x0102030405060708ull);
  size_t size;
  const uint8_t *d = strata_batch_data(b, &size);
  CHECK_EQ(d[0], 0x08); /* fixed64 little-endian */
  CHECK_EQ(d[7], 0x01);
  CHECK_EQ(d[8], 3);
  uint64_t seq;
  uint32_t count;
  recorded r = {0};
  CHECK_EQ(decode(d, size, &seq, &count, &r), STRATA_OK);
  CHECK_U64(seq, 0x0102030405060708ull);
  CHECK_EQ(count, 3);
  CHECK_EQ(r.n, 3);
  CHECK_EQ(r.op[0], STRATA_OP_PUT);
  CHECK_MEM(r.key[0], r.klen[0], "apple", 5);
  CHECK_MEM(r.value[0], r.vlen[0], "red", 3);
  CHECK_EQ(r.op[1], STRATA_OP_DELETE);
  CHECK_MEM(r.key[1], r.klen[1], "banana", 6);
  CHECK(r.value[1] == NULL);
  CHECK(r.null_value_on_del);
  CHECK_EQ(r.op[2], STRATA_OP_PUT);
  CHECK_MEM(r.value[2], r.vlen[2], "dark red", 8);
  recorded_free(&r);
  strata_batch_destroy(b);
}

TEST(round_trip_empty_keys_and_values) {
  strata_batch *b = strata_batch_create();
  CHECK_EQ(strata_batch_put(b, "", 0, "", 0), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, NULL, 0, NULL, 0), STRATA_OK);
  CHECK_EQ(strata_batch_delete(b, NULL, 0), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, "k", 1, "", 0), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, "", 0, "v", 1), STRATA_OK);
  size_t size;
  const void *d = strata_batch_data(b, &size);
  CHECK_EQ(size, 12 + 3 + 3 + 2 + 4 + 4);
  recorded r = {0};
  CHECK_EQ(decode(d, size, NULL, NULL, &r), STRATA_OK);
  CHECK_EQ(r.n, 5);
  CHECK_EQ(r.klen[0], 0);
  CHECK_EQ(r.vlen[0], 0);
  CHECK(r.value[0] != NULL); /* an empty value is not a delete */
  CHECK_EQ(r.op[2], STRATA_OP_DELETE);
  CHECK_MEM(r.key[3], r.klen[3], "k", 1);
  CHECK_EQ(r.vlen[3], 0);
  CHECK_EQ(r.klen[4], 0);
  CHECK_MEM(r.value[4], r.vlen[4], "v", 1);
  recorded_free(&r);
  strata_batch_destroy(b);
}

TEST(round_trip_one_mib_value) {
  size_t n = 1u << 20;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)(test_rand() & 0xff);
  strata_batch *b = strata_batch_create();
  CHECK_EQ(strata_batch_put(b, "big", 3, big, n), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, "after", 5, "x", 1), STRATA_OK);
  size_t size;
  const uint8_t *d = strata_batch_data(b, &size);
  /* header + tag + 1-byte key length + key + 3-byte value length (2^20) */
  CHECK_EQ(size, 12 + 1 + 1 + 3 + 3 + n + 1 + 1 + 5 + 1 + 1);
  CHECK_EQ(write_batch_size(b), size);
  recorded r = {0};
  CHECK_EQ(decode(d, size, NULL, NULL, &r), STRATA_OK);
  CHECK_EQ(r.n, 2);
  CHECK_MEM(r.value[0], r.vlen[0], big, n);
  CHECK_MEM(r.key[1], r.klen[1], "after", 5);
  recorded_free(&r);
  strata_batch_destroy(b);
  free(big);
}

TEST(round_trip_binary_keys) {
  strata_batch *b = strata_batch_create();
  unsigned char key[256], value[300];
  for (int i = 0; i < 256; i++)
    key[i] = (unsigned char)i;
  for (int i = 0; i < 300; i++)
    value[i] = (unsigned char)(255 - i % 256);
  CHECK_EQ(strata_batch_put(b, key, 256, value, 300), STRATA_OK);
  CHECK_EQ(strata_batch_delete(b, "\0\xff\n\t\\", 5), STRATA_OK);
  CHECK_EQ(strata_batch_put(b, "\x80", 1, "\0", 1), STRATA_OK);
  size_t size;
  const void *d = strata_batch_data(b, &size);
  recorded r = {0};
  CHECK_EQ(decode(d, size, NULL, NULL, &r), STRATA_OK);
  CHECK_EQ(r.n, 3);
  CHECK_MEM(r.key[0], r.klen[0], key, 256);
  CHECK_MEM(r.value[0], r.vlen[0], value, 300);
  CHECK_MEM(r.key[1], r.klen[1], "\0\xff\n\t\\", 5);
  CHECK_MEM(r.key[2], r.klen[2], "\x80", 1);
  CHECK_MEM(r.value[2], r.vlen[2], "\0", 1);
  recorded_free(&r);
  strata_batch_destroy(b);
}

TEST(clear_resets_operations_and_sequence) {
  strata_batch *b = three_op_batch();
  strata_batch_clear(b);
  size_t size;
  strata_batch_data(b, &size);
  CHECK_EQ(size, 12);
  CHECK_EQ(strata_batch_count(b), 0);
  CHECK_U64(strata_batch_sequence(b), 0);
  CHECK_EQ(strata_batch_put(b, "k", 1, "v", 1), STRATA_OK);
  CHECK_EQ(strata_batch_count(b), 1);
  strata_batch_destroy(b);
}

/* The worked example of docs/formats/wal.md, byte for byte. */
TEST(matches_documented_example) {
  static const uint8_t want[] = {0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x03,
                                 'c',  'a',  't',  0x04, 'm',  'e',  'o',
                                 'w',  0x00, 0x03, 'd',  'o',  'g'};
  strata_batch *b = strata_batch_create();
  strata_batch_set_sequence(b, 100);
  strata_batch_put(b, "cat", 3, "meow", 4);
  strata_batch_delete(b, "dog", 3);
  size_t size;
  const void *d = strata_batch_data(b, &size);
  CHECK_MEM(d, size, want, sizeof want);
  strata_batch_destroy(b);
}

TEST(builder_rejects_bad_arguments) {
  strata_batch *b = strata_batch_create();
  CHECK_EQ(strata_batch_put(b, NULL, 3, "v", 1), STRATA_INVALID_ARGUMENT);
  CHECK_EQ(strata_batch_put(b, "k", 1, NULL, 2), STRATA_INVALID_ARGUMENT);
  CHECK_EQ(strata_batch_delete(b, NULL, 1), STRATA_INVALID_ARGUMENT);
  CHECK_EQ(strata_batch_count(b), 0);
  size_t size;
  strata_batch_data(b, &size);
  CHECK_EQ(size, 12);
  strata_batch_destroy(b);
}

/* ---- the internal interface -------------------------------------------- */

TEST(append_concatenates_operations) {
  strata_batch *a = strata_batch_create(), *b = three_op_batch();
  strata_batch_set_sequence(a, 50);
  strata_batch_put(a, "x", 1, "y", 1);
  CHECK_EQ(write_batch_append(a, b), STRATA_OK);
  CHECK_EQ(strata_batch_count(a), 4);
  CHECK_U64(strata_batch_sequence(a), 50);
  CHECK_EQ(write_batch_append(a, a), STRATA_OK); /* self-append */
  CHECK_EQ(strata_batch_count(a), 8);
  size_t size;
  const void *d = strata_batch_data(a, &size);
  recorded r = {0};
  CHECK_EQ(decode(d, size, NULL, NULL, &r), STRATA_OK);
  CHECK_EQ(r.n, 8);
  CHECK_MEM(r.key[0], r.klen[0], "x", 1);
  CHECK_MEM(r.key[3], r.klen[3], "ccc", 3);
  CHECK_MEM(r.key[4], r.klen[4], "x", 1);
  CHECK_EQ(r.op[6], STRATA_OP_DELETE);
  recorded_free(&r);
  strata_batch_destroy(a);
  strata_batch_destroy(b);
}

TEST(set_contents_adopts_valid_record_only) {
  strata_batch *src = three_op_batch(), *b = strata_batch_create();
  size_t size;
  uint8_t *rec = copy_of(src, &size, 0);
  CHECK_EQ(write_batch_set_contents(b, rec, size), STRATA_OK);
  CHECK_EQ(strata_batch_count(b), 3);
  CHECK_U64(strata_batch_sequence(b), 7);
  rec[12] = 9; /* bad tag */
  CHECK_EQ(write_batch_set_contents(b, rec, size), STRATA_CORRUPTION);
  CHECK_EQ(strata_batch_count(b), 3); /* unchanged */
  size_t got;
  const void *d = strata_batch_data(b, &got);
  const void *want = strata_batch_data(src, &size);
  CHECK_MEM(d, got, want, size);
  free(rec);
  strata_batch_destroy(src);
  strata_batch_destroy(b);
}

/* ---- the decoder's corruption matrix ----------------------------------- */

TEST(corrupt_truncated_header) {
  uint8_t rec[12] = {0};
  for (size_t n = 0; n < 12; n++)
    expect_corrupt(rec, n, "truncated header");
  CHECK(strstr(strata_last_error(), "header") != NULL);
  CHECK_EQ(strata_batch_decode(rec, 12, NULL, NULL, NULL, NULL), STRATA_OK);
}

TEST(corrupt_truncated_at_every_offset) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  for (size_t n = 0; n < size; n++) {
    char what[64];
    snprintf(what, sizeof what, "truncated to %zu of %zu bytes", n, size);
    /* a fresh heap copy of exactly n bytes, so ASan sees any overread */
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, rec, n);
    expect_corrupt(cut, n, what);
    free(cut);
  }
  CHECK_EQ(strata_batch_decode(rec, size, NULL, NULL, NULL, NULL), STRATA_OK);
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_bad_tag) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  rec[12 + 5] = 0x07; /* operation 2's tag (after 01 01 'a' 01 '1') */
  expect_corrupt(rec, size, "bad tag");
  CHECK(strstr(strata_last_error(), "operation 2") != NULL);
  CHECK(strstr(strata_last_error(), "tag") != NULL);
  rec[12 + 5] = 0x02; /* the next tag up is also unknown */
  expect_corrupt(rec, size, "bad tag 2");
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_key_length_overrun) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  /* operation 3 starts at 12 + 5 + 4: 01 03 "ccc" 02 "22" */
  CHECK_EQ(rec[21], 0x01);
  rec[22] = 0x7f;
  expect_corrupt(rec, size, "key length overrun");
  CHECK(strstr(strata_last_error(), "operation 3: key length overruns "
                                    "record") != NULL);
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_value_length_overrun) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  CHECK_EQ(rec[26], 0x02); /* operation 3's value length */
  rec[26] = 0x03;
  expect_corrupt(rec, size, "value length overrun");
  CHECK(strstr(strata_last_error(), "operation 3: value length overruns") !=
        NULL);
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_count_too_high) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  rec[8] = 4;
  expect_corrupt(rec, size, "count too high");
  CHECK(strstr(strata_last_error(), "count") != NULL);
  rec[8] = 0xff, rec[11] = 0xff;
  expect_corrupt(rec, size, "count far too high");
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_count_too_low) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  rec[8] = 2;
  expect_corrupt(rec, size, "count too low");
  rec[8] = 0;
  expect_corrupt(rec, size, "count zero");
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_trailing_bytes) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 4);
  const uint8_t *tails[] = {(const uint8_t *)"\x01", (const uint8_t *)"\x00",
                            (const uint8_t *)"\xff",
                            (const uint8_t *)"\x01\x00\x00"};
  const size_t tail_len[] = {1, 1, 1, 3};
  for (int i = 0; i < 4; i++) {
    memcpy(rec + size, tails[i], tail_len[i]);
    expect_corrupt(rec, size + tail_len[i], "trailing bytes");
  }
  /* a trailing complete operation is a count mismatch */
  memcpy(rec + size, "\x00\x00", 2);
  expect_corrupt(rec, size + 2, "trailing delete");
  free(rec);
  strata_batch_destroy(b);
}

TEST(corrupt_overlong_varint) {
  /* key length as a 6-byte varint (0 padded out): longer than varint32 */
  const uint8_t six[] = {7, 0, 0,    0,    0,    0,    0,    0,    1,   0,
                         0, 0, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  expect_corrupt(six, sizeof six, "6-byte varint");
  /* a 5-byte varint whose value exceeds 32 bits */
  const uint8_t big[] = {7, 0, 0, 0,    0,    0,    0,    0,    1,
                         0, 0, 0, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1f};
  expect_corrupt(big, sizeof big, "varint over 32 bits");
  /* a varint cut off by the end of the record */
  const uint8_t cut[] = {7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x01, 0x80};
  expect_corrupt(cut, sizeof cut, "truncated varint");
  CHECK(strstr(strata_last_error(), "truncated or malformed") != NULL);
  /* a redundant but valid 2-byte encoding of 1 is accepted, as LevelDB does */
  const uint8_t ok[] = {7, 0, 0, 0, 0,    0,    0,    0,
                        1, 0, 0, 0, 0x00, 0x81, 0x00, 'k'};
  CHECK_EQ(strata_batch_decode(ok, sizeof ok, NULL, NULL, NULL, NULL),
           STRATA_OK);
}

TEST(corrupt_header_fields_still_reported) {
  strata_batch *b = three_op_batch();
  size_t size;
  uint8_t *rec = copy_of(b, &size, 0);
  rec[8] = 5;
  uint64_t seq = 0;
  uint32_t count = 0;
  CHECK_EQ(strata_batch_decode(rec, size, &seq, &count, NULL, NULL),
           STRATA_CORRUPTION);
  CHECK_U64(seq, 7);
  CHECK_EQ(count, 5);
  free(rec);
  strata_batch_destroy(b);
}

/* ---- the callback contract --------------------------------------------- */

TEST(callback_stops_early) {
  strata_batch *b = three_op_batch();
  size_t size;
  const void *d = strata_batch_data(b, &size);
  recorded r = {0};
  r.stop_after = 2;
  CHECK_EQ(decode(d, size, NULL, NULL, &r), 42);
  CHECK_EQ(r.n, 2);
  CHECK_MEM(r.key[1], r.klen[1], "bb", 2);
  recorded_free(&r);
  r.stop_after = 1;
  CHECK_EQ(decode(d, size, NULL, NULL, &r), 42);
  CHECK_EQ(r.n, 1);
  recorded_free(&r);
  strata_batch_destroy(b);
}

TEST(null_callback_only_validates) {
  strata_batch *b = three_op_batch();
  size_t size;
  const void *d = strata_batch_data(b, &size);
  uint32_t count = 0;
  CHECK_EQ(strata_batch_decode(d, size, NULL, &count, NULL, NULL), STRATA_OK);
  CHECK_EQ(count, 3);
  strata_batch_destroy(b);
}
