/*
 * version_edit_test.c — the MANIFEST record codec (src/lsm/version_edit.c)
 * and the public strata_manifest_edit_decode: round trips, LevelDB's field
 * order and byte layout, and the named corruption matrix (truncation at every
 * byte, each tag's value overrun, unknown tag, tag 8, level 7, bad varints,
 * overrunning lengths, short internal keys, repeated fields).
 */
#include "test.h"

#include "lsm/version_edit.h"
#include "strata.h"
#include "util/coding.h"

#include <stdlib.h>

/* An internal key: user key + 8-byte trailer (seq << 8 | type). */
static size_t ikey(uint8_t *out, const char *user, uint64_t seq, int type) {
  size_t n = strlen(user);
  memcpy(out, user, n);
  encode_fixed64(out + n, seq << 8 | (uint64_t)type);
  return n + 8;
}

/* An edit with every kind of field. */
static void full_edit(version_edit *e) {
  uint8_t a[64], b[64];
  size_t an, bn;
  ve_init(e);
  CHECK_EQ(ve_set_comparator(e, "leveldb.BytewiseComparator"), STRATA_OK);
  ve_set_log_number(e, 12);
  ve_set_prev_log(e, 0);
  ve_set_next_file(e, 300);
  ve_set_last_sequence(e, (uint64_t)1 << 40);
  an = ikey(a, "ptr", 77, 1);
  CHECK_EQ(ve_add_pointer(e, 2, a, an), STRATA_OK);
  CHECK_EQ(ve_delete_file(e, 3, 9), STRATA_OK);
  CHECK_EQ(ve_delete_file(e, 1, 200), STRATA_OK);
  an = ikey(a, "apple", 5, 1);
  bn = ikey(b, "zebra", 99, 0);
  CHECK_EQ(ve_add_file(e, 0, 17, 4096, a, an, b, bn), STRATA_OK);
  an = ikey(a, "", 1, 1);       /* an empty user key is legal */
  memcpy(b, "\xff\x00\x01", 3); /* a user key with bytes of every kind */
  encode_fixed64(b + 3, 2 << 8 | 1);
  CHECK_EQ(ve_add_file(e, 6, 18, 1, a, an, b, 11), STRATA_OK);
}

static void encode(const version_edit *e, sst_buf *out) {
  out->len = 0;
  CHECK_EQ(ve_encode(e, out), STRATA_OK);
}

TEST(roundtrip_full) {
  version_edit e, d;
  sst_buf enc = {0}, enc2 = {0};
  full_edit(&e);
  encode(&e, &enc);
  ve_init(&d);
  CHECK_EQ(ve_decode(&d, enc.data, enc.len, "MANIFEST-000001"), STRATA_OK);
  CHECK(ve_equal(&e, &d));
  CHECK_MEM(d.comparator.data, d.comparator.len, "leveldb.BytewiseComparator",
            26u);
  CHECK_U64(d.last_sequence, (uint64_t)1 << 40);
  CHECK_EQ(d.nfiles, 2);
  CHECK_EQ(d.files[1].level, 6);
  CHECK_U64(d.files[1].number, 18);
  encode(&d, &enc2);
  CHECK_MEM(enc.data, enc.len, enc2.data, enc2.len);
  ve_clear(&e);
  ve_clear(&d);
  ve_clear(&d); /* accepts an empty edit */
  sst_buf_free(&enc);
  sst_buf_free(&enc2);
}

TEST(roundtrip_empty) {
  version_edit e, d;
  sst_buf enc = {0};
  ve_init(&e);
  encode(&e, &enc);
  CHECK_EQ(enc.len, 0);
  ve_init(&d);
  CHECK_EQ(ve_decode(&d, (const uint8_t *)"", 0, "m"), STRATA_OK);
  CHECK(ve_equal(&e, &d));
  sst_buf_free(&enc);
}

/* Many random edits, including many files and large numbers. */
TEST(roundtrip_random) {
  for (int round = 0; round < 300; round++) {
    version_edit e, d;
    sst_buf enc = {0}, enc2 = {0};
    ve_init(&e);
    uint64_t r = test_rand();
    if (r & 1) ve_set_comparator(&e, "leveldb.BytewiseComparator");
    if (r & 2) ve_set_log_number(&e, test_rand() >> (test_rand() % 64));
    if (r & 4) ve_set_prev_log(&e, test_rand() >> (test_rand() % 64));
    if (r & 8) ve_set_next_file(&e, test_rand() >> (test_rand() % 64));
    if (r & 16) ve_set_last_sequence(&e, test_rand() >> 8);
    int nf = (int)(test_rand() % 20), nd = (int)(test_rand() % 20),
        np = (int)(test_rand() % 8);
    uint8_t a[300], b[300];
    for (int i = 0; i < np; i++) {
      size_t n = 8 + test_rand() % 200;
      for (size_t j = 0; j < n; j++)
        a[j] = (uint8_t)test_rand();
      CHECK_EQ(ve_add_pointer(&e, (int)(test_rand() % 7), a, n), STRATA_OK);
    }
    for (int i = 0; i < nd; i++)
      CHECK_EQ(ve_delete_file(&e, (int)(test_rand() % 7), test_rand() % 50),
               STRATA_OK);
    for (int i = 0; i < nf; i++) {
      size_t an = 8 + test_rand() % 290, bn = 8 + test_rand() % 290;
      for (size_t j = 0; j < an; j++)
        a[j] = (uint8_t)test_rand();
      for (size_t j = 0; j < bn; j++)
        b[j] = (uint8_t)test_rand();
      CHECK_EQ(ve_add_file(&e, (int)(test_rand() % 7), test_rand(),
                           test_rand() >> (test_rand() % 64), a, an, b, bn),
               STRATA_OK);
    }
    encode(&e, &enc);
    ve_init(&d);
    CHECK_EQ(ve_decode(&d, enc.data, enc.len, "m"), STRATA_OK);
    CHECK(ve_equal(&e, &d));
    encode(&d, &enc2);
    CHECK_MEM(enc.data, enc.len, enc2.data, enc2.len);
    ve_clear(&e);
    ve_clear(&d);
    sst_buf_free(&enc);
    sst_buf_free(&enc2);
  }
}

/* The exact bytes, in LevelDB's order 1, 2, 9, 3, 4, 5, 6, 7 whatever order
 * the setters were called in. */
TEST(encoding_layout_and_order) {
  version_edit e;
  sst_buf enc = {0};
  ve_init(&e);
  uint8_t k[16];
  size_t kn = ikey(k, "k", 1, 1);
  ve_add_file(&e, 1, 5, 300, k, kn, k, kn);
  ve_delete_file(&e, 2, 4);
  ve_add_pointer(&e, 1, k, kn);
  ve_set_last_sequence(&e, 7);
  ve_set_next_file(&e, 6);
  ve_set_prev_log(&e, 0);
  ve_set_log_number(&e, 3);
  ve_set_comparator(&e, "c");
  encode(&e, &enc);
  static const uint8_t want[] = {
      0x01, 0x01, 'c', /* comparator "c" */
      0x02, 0x03,      /* log number 3 */
      0x09, 0x00,      /* prev log 0 */
      0x03, 0x06,      /* next file 6 */
      0x04, 0x07,      /* last sequence 7 */
      0x05, 0x01, 0x09, 'k',  0x01, 0x01, 0, 0, 0, 0, 0, 0, /* pointer */
      0x06, 0x02, 0x04,             /* delete level 2 #4 */
      0x07, 0x01, 0x05, 0xac, 0x02, /* new file level 1 #5 300 bytes */
      0x09, 'k',  0x01, 0x01, 0,    0,    0, 0, 0, 0, /* smallest */
      0x09, 'k',  0x01, 0x01, 0,    0,    0, 0, 0, 0, /* largest */
  };
  CHECK_MEM(enc.data, enc.len, want, sizeof want);
  ve_clear(&e);
  sst_buf_free(&enc);
}

/* Deleted files are LevelDB's set: ordered by (level, number), no
 * duplicates. */
TEST(deleted_files_are_a_set) {
  version_edit e;
  ve_init(&e);
  ve_delete_file(&e, 3, 1);
  ve_delete_file(&e, 1, 9);
  ve_delete_file(&e, 1, 2);
  ve_delete_file(&e, 3, 1);
  ve_delete_file(&e, 0, 100);
  ve_delete_file(&e, 1, 9);
  CHECK_EQ(e.ndeleted, 4);
  int lv[] = {0, 1, 1, 3};
  uint64_t nr[] = {100, 2, 9, 1};
  for (int i = 0; i < 4 && i < (int)e.ndeleted; i++) {
    CHECK_EQ(e.deleted[i].level, lv[i]);
    CHECK_U64(e.deleted[i].number, nr[i]);
  }
  ve_clear(&e);
}

TEST(setters_copy) {
  version_edit e;
  ve_init(&e);
  char name[8] = "abc";
  uint8_t k[16];
  size_t kn = ikey(k, "key", 3, 1);
  ve_set_comparator(&e, name);
  ve_add_pointer(&e, 0, k, kn);
  ve_add_file(&e, 0, 1, 2, k, kn, k, kn);
  name[0] = 'X';
  memset(k, 'Y', sizeof k);
  CHECK_MEM(e.comparator.data, e.comparator.len, "abc", 3u);
  CHECK_MEM(e.pointers[0].key.data, 3u, "key", 3u);
  CHECK_MEM(e.files[0].smallest.data, 3u, "key", 3u);
  CHECK_MEM(e.files[0].largest.data, 3u, "key", 3u);
  ve_clear(&e);
}

/* ---- the corruption matrix --------------------------------------------- */

/* Decodes rec expecting STRATA_CORRUPTION, an empty edit afterwards, and a
 * message holding `want` (the field and its offset). */
static void expect_corrupt(const uint8_t *rec, size_t n, const char *want,
                           int line) {
  version_edit d;
  ve_init(&d);
  uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
  memcpy(copy, rec, n);
  int rc = ve_decode(&d, copy, n, "MANIFEST-000007");
  if (rc != STRATA_CORRUPTION)
    test_fail(__FILE__, line, "decode returned %d, not corruption", rc);
  version_edit empty;
  ve_init(&empty);
  if (!ve_equal(&d, &empty) || d.files || d.deleted || d.pointers)
    test_fail(__FILE__, line, "edit not left empty");
  if (want && !strstr(strata_last_error(), want))
    test_fail(__FILE__, line, "message \"%s\" lacks \"%s\"",
              strata_last_error(), want);
  if (!strstr(strata_last_error(), "MANIFEST-000007"))
    test_fail(__FILE__, line, "message \"%s\" lacks the file name",
              strata_last_error());
  /* the public decoder refuses it too */
  rc = strata_manifest_edit_decode(copy, n, NULL, NULL);
  if (rc != STRATA_CORRUPTION)
    test_fail(__FILE__, line, "public decode returned %d", rc);
  ve_clear(&d);
  free(copy);
}
#define EXPECT_CORRUPT(rec, n, want) expect_corrupt(rec, n, want, __LINE__)

/* The offsets at which the fields of an encoded edit start. */
static size_t field_starts(const uint8_t *rec, size_t n, size_t *starts) {
  ve_parser p;
  ve_field f;
  size_t k = 0;
  ve_parser_init(&p, rec, n, NULL);
  while (ve_parser_next(&p, &f) == STRATA_OK)
    starts[k++] = f.offset;
  starts[k++] = n;
  return k;
}

/* Every prefix of a record either ends on a field boundary (and decodes to
 * the fields before it) or is corruption. */
TEST(truncated_at_every_offset) {
  version_edit e;
  sst_buf enc = {0};
  full_edit(&e);
  encode(&e, &enc);
  size_t starts[64];
  size_t ns = field_starts(enc.data, enc.len, starts);
  CHECK_EQ(ns, 11); /* 10 fields and the end */
  int boundaries = 0, corrupt = 0;
  for (size_t cut = 0; cut < enc.len; cut++) {
    int boundary = 0;
    for (size_t i = 0; i < ns; i++)
      boundary |= starts[i] == cut;
    if (boundary) {
      version_edit d;
      ve_init(&d);
      uint8_t *copy = malloc(cut ? cut : 1);
      memcpy(copy, enc.data, cut);
      CHECK_EQ(ve_decode(&d, copy, cut, "m"), STRATA_OK);
      free(copy);
      ve_clear(&d);
      boundaries++;
    } else {
      EXPECT_CORRUPT(enc.data, cut, "at offset");
      corrupt++;
    }
  }
  CHECK_EQ(boundaries, 10);
  CHECK_EQ(corrupt, (int)enc.len - 10);
  ve_clear(&e);
  sst_buf_free(&enc);
}

/* Each tag followed by a value cut short: the message names the field. */
TEST(each_tag_value_overrun) {
  struct {
    uint8_t rec[16];
    size_t n;
    const char *want;
  } cases[] = {
      {{1}, 1, "comparator (tag 1) at offset 0: name length"},
      {{1, 5, 'a', 'b'}, 4, "comparator (tag 1) at offset 0: name length 5"},
      {{2}, 1, "log number (tag 2) at offset 0: number"},
      {{2, 0x80}, 2, "log number (tag 2) at offset 0: number"},
      {{3, 0xff}, 2, "next file number (tag 3) at offset 0: number"},
      {{4, 0x81, 0x82}, 3, "last sequence (tag 4) at offset 0: sequence"},
      {{5}, 1, "compact pointer (tag 5) at offset 0: level"},
      {{5, 1}, 2, "compact pointer (tag 5) at offset 0: key length"},
      {{5, 1, 9, 'k'}, 4, "compact pointer (tag 5) at offset 0: key length 9"},
      {{6}, 1, "deleted file (tag 6) at offset 0: level"},
      {{6, 2}, 2, "deleted file (tag 6) at offset 0: file number"},
      {{7}, 1, "new file (tag 7) at offset 0: level"},
      {{7, 1}, 2, "new file (tag 7) at offset 0: file number"},
      {{7, 1, 5}, 3, "new file (tag 7) at offset 0: file size"},
      {{7, 1, 5, 0x80}, 4, "new file (tag 7) at offset 0: file size"},
      {{7, 1, 5, 9}, 4, "new file (tag 7) at offset 0: smallest key length"},
      {{7, 1, 5, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0},
       13,
       "new file (tag 7) at offset 0: largest key length"},
      {{7, 1, 5, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0},
       15,
       "new file (tag 7) at offset 0: largest key length 8"},
      {{9}, 1, "previous log number (tag 9) at offset 0: number"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    EXPECT_CORRUPT(cases[i].rec, cases[i].n, cases[i].want);
}

TEST(unknown_tag) {
  static const uint8_t a[] = {2, 1, 10, 0}; /* log number, then tag 10 */
  EXPECT_CORRUPT(a, sizeof a, "unknown tag 10 at offset 2");
  static const uint8_t b[] = {0};
  EXPECT_CORRUPT(b, sizeof b, "unknown tag 0 at offset 0");
  static const uint8_t c[] = {0x80, 0x01}; /* tag 128 */
  EXPECT_CORRUPT(c, sizeof c, "unknown tag 128 at offset 0");
}

TEST(tag_8_obsolete) {
  static const uint8_t a[] = {3, 4, 8, 1, 'x'};
  EXPECT_CORRUPT(a, sizeof a, "obsolete tag 8 (large value refs) at offset 2");
}

TEST(level_7) {
  static const uint8_t a[] = {6, 7, 1};
  EXPECT_CORRUPT(a, sizeof a, "deleted file (tag 6) at offset 0: level 7");
  static const uint8_t b[] = {2, 0, 5, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_CORRUPT(b, sizeof b, "compact pointer (tag 5) at offset 2: level 7");
  static const uint8_t c[] = {7, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 1};
  EXPECT_CORRUPT(c, sizeof c, "new file (tag 7) at offset 0: level 268435456");
  /* level 6 is the deepest legal one */
  static const uint8_t d[] = {6, 6, 1};
  version_edit e;
  ve_init(&e);
  CHECK_EQ(ve_decode(&e, d, sizeof d, "m"), STRATA_OK);
  CHECK_EQ(e.ndeleted, 1);
  ve_clear(&e);
}

TEST(bad_varint) {
  /* a tag varint32 of 6 bytes */
  static const uint8_t a[] = {0x82, 0x80, 0x80, 0x80, 0x80, 0x00};
  EXPECT_CORRUPT(a, sizeof a, "tag at offset 0: truncated or malformed");
  /* a varint32 over 32 bits */
  static const uint8_t b[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
  EXPECT_CORRUPT(b, sizeof b, "tag at offset 0");
  /* a varint64 of 11 bytes */
  static const uint8_t c[] = {3,    0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_CORRUPT(c, sizeof c,
                 "next file number (tag 3) at offset 0: number: "
                 "truncated or malformed varint at offset 1");
  /* the last byte of a record ends inside a tag */
  static const uint8_t d[] = {2, 5, 0x87};
  EXPECT_CORRUPT(d, sizeof d, "tag at offset 2");
}

TEST(length_prefix_overruns) {
  /* comparator name of 2^32-1 bytes in a 7-byte record */
  static const uint8_t a[] = {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
  EXPECT_CORRUPT(a, sizeof a, "name length 4294967295 at offset 1 overruns");
  /* a smallest key running one byte past the end */
  uint8_t b[32] = {7, 0, 1, 1, 9};
  EXPECT_CORRUPT(b, 5 + 8,
                 "smallest key length 9 at offset 4 overruns the "
                 "record (8 bytes left)");
}

TEST(internal_key_too_short) {
  static const uint8_t a[] = {5, 1, 0};
  EXPECT_CORRUPT(a, sizeof a, "key of 0 bytes at offset 2 is shorter");
  static const uint8_t b[] = {7, 1, 2, 3, 8, 0, 0, 0, 0, 0, 0,
                              0, 0, 7, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_CORRUPT(b, sizeof b, "largest key of 7 bytes at offset 13");
}

TEST(repeated_field) {
  static const uint8_t a[] = {2, 1, 3, 5, 2, 1};
  EXPECT_CORRUPT(a, sizeof a, "log number (tag 2) at offset 4: repeats");
  static const uint8_t b[] = {1, 1, 'a', 1, 1, 'a'};
  EXPECT_CORRUPT(b, sizeof b, "comparator (tag 1) at offset 3: repeats");
  /* tags 5, 6 and 7 may repeat */
  static const uint8_t c[] = {6, 1, 1, 6, 1, 2, 6, 0, 3};
  version_edit e;
  ve_init(&e);
  CHECK_EQ(ve_decode(&e, c, sizeof c, "m"), STRATA_OK);
  CHECK_EQ(e.ndeleted, 3);
  ve_clear(&e);
}

/* Random damage to encoded edits: never a crash; whatever decodes re-encodes
 * to bytes that decode to the same edit. */
TEST(random_damage_never_crashes) {
  version_edit e;
  sst_buf enc = {0}, enc2 = {0};
  full_edit(&e);
  encode(&e, &enc);
  int ok = 0, bad = 0;
  for (int round = 0; round < 20000; round++) {
    size_t n = enc.len;
    uint8_t *m = malloc(n);
    memcpy(m, enc.data, n);
    int flips = 1 + (int)(test_rand() % 3);
    for (int i = 0; i < flips; i++)
      m[test_rand() % n] ^= (uint8_t)(1 + test_rand() % 255);
    if (test_rand() % 4 == 0) n = test_rand() % n;
    version_edit d, d2;
    ve_init(&d);
    ve_init(&d2);
    int rc = ve_decode(&d, m, n, "m");
    if (rc == STRATA_OK) {
      ok++;
      enc2.len = 0;
      CHECK_EQ(ve_encode(&d, &enc2), STRATA_OK);
      CHECK_EQ(ve_decode(&d2, enc2.data, enc2.len, "m"), STRATA_OK);
      CHECK(ve_equal(&d, &d2));
    } else {
      CHECK_EQ(rc, STRATA_CORRUPTION);
      bad++;
    }
    ve_clear(&d);
    ve_clear(&d2);
    free(m);
  }
  CHECK(ok > 0);
  CHECK(bad > 0);
  ve_clear(&e);
  sst_buf_free(&enc);
  sst_buf_free(&enc2);
}

/* ---- the public decoder ------------------------------------------------- */

typedef struct seen {
  int tags[32];      /* tags delivered, in order */
  uint64_t nums[32]; /* their numbers */
  int n;             /* how many */
  int stop_after;    /* return 99 after this many (0: never) */
} seen;

static int collect(void *arg, const strata_edit_field *f) {
  seen *s = arg;
  s->tags[s->n] = f->tag;
  s->nums[s->n] = f->number;
  s->n++;
  return s->stop_after && s->n == s->stop_after ? 99 : 0;
}

TEST(public_decode_in_record_order) {
  /* an order LevelDB never writes: 7, 3, 6, 2 */
  uint8_t rec[64];
  size_t n = 0;
  static const uint8_t nf[] = {7, 4, 21, 100, 9, 'a', 1, 0, 0, 0, 0, 0,
                               0, 0, 9,  'b', 1, 0,   0, 0, 0, 0, 0, 0};
  memcpy(rec, nf, sizeof nf);
  n = sizeof nf;
  static const uint8_t rest[] = {3, 44, 6, 5, 2, 2, 33};
  memcpy(rec + n, rest, sizeof rest);
  n += sizeof rest;
  seen s = {0};
  CHECK_EQ(strata_manifest_edit_decode(rec, n, collect, &s), STRATA_OK);
  CHECK_EQ(s.n, 4);
  int want[] = {7, 3, 6, 2};
  uint64_t nums[] = {21, 44, 2, 33};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(s.tags[i], want[i]);
    CHECK_U64(s.nums[i], nums[i]);
  }
}

typedef struct newfile {
  strata_edit_field f;    /* the field */
  uint8_t k1[16], k2[16]; /* its keys, copied */
} newfile;

static int grab(void *arg, const strata_edit_field *f) {
  newfile *nf = arg;
  nf->f = *f;
  memcpy(nf->k1, f->key, f->key_len);
  memcpy(nf->k2, f->key2, f->key2_len);
  return 0;
}

TEST(public_decode_fields) {
  version_edit e;
  sst_buf enc = {0};
  ve_init(&e);
  uint8_t a[16], b[16];
  size_t an = ikey(a, "ab", 5, 1), bn = ikey(b, "yz", 9, 0);
  ve_add_file(&e, 3, 8, 1234, a, an, b, bn);
  encode(&e, &enc);
  newfile nf;
  memset(&nf, 0, sizeof nf);
  CHECK_EQ(strata_manifest_edit_decode(enc.data, enc.len, grab, &nf),
           STRATA_OK);
  CHECK_EQ(nf.f.tag, 7);
  CHECK_EQ(nf.f.level, 3);
  CHECK_U64(nf.f.number, 8);
  CHECK_U64(nf.f.size, 1234);
  CHECK_MEM(nf.k1, nf.f.key_len, a, an);
  CHECK_MEM(nf.k2, nf.f.key2_len, b, bn);
  ve_clear(&e);
  sst_buf_free(&enc);
}

TEST(public_decode_stops_and_delivers_prefix) {
  static const uint8_t rec[] = {2, 1, 3, 2, 4, 3, 6, 9, 1};
  seen s = {0};
  CHECK_EQ(strata_manifest_edit_decode(rec, sizeof rec, collect, &s),
           STRATA_CORRUPTION);
  CHECK_EQ(s.n, 3); /* 2, 3, 4 delivered before the level-9 deletion */
  CHECK(strstr(strata_last_error(), "deleted file (tag 6) at offset 6") !=
        NULL);
  seen t = {.stop_after = 2};
  CHECK_EQ(strata_manifest_edit_decode(rec, sizeof rec, collect, &t), 99);
  CHECK_EQ(t.n, 2);
  CHECK_EQ(strata_manifest_edit_decode(rec, 0, collect, &t), STRATA_OK);
}
