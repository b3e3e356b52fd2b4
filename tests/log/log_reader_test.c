/*
 * log_reader_test.c — the record-log reader: its corruption matrix under each
 * of the four recovery policies, truncation at every offset, zeroed sectors,
 * random bit flips, and logs stored inside values (which must never be
 * mistaken for records).
 */
#include "log_test_util.h"

static const strata_recovery policies[4] = {
    STRATA_RECOVERY_ABSOLUTE, STRATA_RECOVERY_TOLERATE_TAIL,
    STRATA_RECOVERY_POINT_IN_TIME, STRATA_RECOVERY_SKIP};

/* Damage cases checked, per policy (printed at the end of the run). */
static long cases_per_policy[4];

static uint8_t *copy_img(const wlog *w) {
  uint8_t *m = malloc(w->size ? w->size : 1);
  memcpy(m, w->img, w->size);
  return m;
}

/* Expectation for damage confined to record `bad` (mid-file, single record):
 * skip loses exactly that record and reports it as one region of exactly its
 * bytes; point-in-time keeps the prefix and reports the rest as one region;
 * absolute and tolerate-tail fail after returning the prefix. */
static void expect_single_record_loss(const wlog *w, const uint8_t *img,
                                      size_t size, int bad,
                                      strata_damage_kind kind) {
  for (int p = 0; p < 4; p++) {
    rres r;
    read_img(w, img, size, policies[p], &r);
    check_sound(w, size, &r);
    cases_per_policy[p]++;
    switch (policies[p]) {
    case STRATA_RECOVERY_ABSOLUTE:
    case STRATA_RECOVERY_TOLERATE_TAIL:
      CHECK_EQ(r.status, STRATA_CORRUPTION);
      CHECK_EQ(r.n, bad);
      CHECK_EQ(r.ndrops, 1);
      if (r.ndrops >= 1) {
        CHECK_U64(r.drops[0].offset, w->recs[bad].offset);
        CHECK_EQ(r.drops[0].kind, kind);
      }
      break;
    case STRATA_RECOVERY_POINT_IN_TIME:
      CHECK_EQ(r.status, STRATA_END);
      CHECK_EQ(r.n, bad);
      CHECK_EQ(r.ndrops, 1);
      if (r.ndrops >= 1) {
        CHECK_U64(r.drops[0].offset, w->recs[bad].offset);
        CHECK_U64(r.drops[0].bytes, size - w->recs[bad].offset);
        CHECK_U64(r.drops[0].records, (uint64_t)(w->n - bad));
        CHECK_EQ(r.drops[0].kind, kind);
        CHECK_EQ(r.drops[0].tail, 0);
      }
      break;
    case STRATA_RECOVERY_SKIP:
      CHECK_EQ(r.status, STRATA_END);
      CHECK_EQ(r.n, w->n - 1);
      CHECK(!returned(&r, bad));
      CHECK_EQ(r.ndrops, 1);
      if (r.ndrops >= 1) {
        CHECK_U64(r.drops[0].offset, w->recs[bad].offset);
        CHECK_U64(r.drops[0].bytes, w->recs[bad].end - w->recs[bad].offset);
        CHECK_U64(r.drops[0].records, 1);
        CHECK_EQ(r.drops[0].kind, kind);
      }
      break;
    }
  }
}

/* ---- clean reads ------------------------------------------------------- */

TEST(clean_log_every_policy) {
  size_t sizes[] = {0, 1, 100, 32761, 32760, 5, 40000, 7, 100000, 3, 0, 1000};
  wlog w;
  wlog_build(&w, 12, sizes, NULL);
  for (int p = 0; p < 4; p++) {
    rres r;
    read_img(&w, w.img, w.size, policies[p], &r);
    check_sound(&w, w.size, &r);
    CHECK_EQ(r.status, STRATA_END);
    CHECK_EQ(r.n, 12);
    CHECK_EQ(r.ndrops, 0);
  }
  wlog_free(&w);
}

TEST(empty_file) {
  wlog w;
  wlog_build(&w, 0, NULL, NULL);
  CHECK_U64(w.size, 0);
  for (int p = 0; p < 4; p++) {
    rres r;
    read_img(&w, w.img, 0, policies[p], &r);
    CHECK_EQ(r.status, STRATA_END);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(r.ndrops, 0);
  }
  wlog_free(&w);
}

TEST(file_source_matches_memory) {
  wlog w;
  wlog_uniform(&w, 100, 1000);
  const char *path = test_path("f.log");
  FILE *f = fopen(path, "wb");
  fwrite(w.img, 1, w.size, f);
  fclose(f);
  log_reader *r;
  CHECK_EQ(
      log_reader_open(env_posix(), path, STRATA_RECOVERY_SKIP, NULL, NULL, &r),
      STRATA_OK);
  const uint8_t *d;
  size_t n;
  strata_log_record_info info;
  int i = 0;
  while (log_reader_next(r, &d, &n, &info) == STRATA_OK) {
    CHECK(i < w.n);
    if (i < w.n) {
      CHECK_MEM(d, n, w.recs[i].data, w.recs[i].len);
      CHECK_U64(info.offset, w.recs[i].offset);
    }
    i++;
  }
  CHECK_EQ(i, 100);
  log_reader_close(r);
  CHECK_EQ(log_reader_open(env_posix(), test_path("missing.log"),
                           STRATA_RECOVERY_SKIP, NULL, NULL, &r),
           STRATA_NOT_FOUND);
  CHECK(strstr(strata_last_error(), "missing.log") != NULL);
  wlog_free(&w);
}

/* ---- the corruption matrix --------------------------------------------- */

/* Offset of fragment `k` (0-based) of record i. */
static uint64_t frag_offset(const wlog *w, int i, int k) {
  uint64_t off = w->recs[i].offset;
  for (int j = 0; j < k; j++) {
    uint32_t len = decode_fixed16(w->img + off + 4);
    off += LOG_HEADER_SIZE + len;
    if (LOG_BLOCK_SIZE - off % LOG_BLOCK_SIZE < LOG_HEADER_SIZE)
      off += LOG_BLOCK_SIZE - off % LOG_BLOCK_SIZE;
  }
  return off;
}

TEST(checksum_mismatch_in_full) {
  wlog w;
  wlog_uniform(&w, 60, 1000);
  uint8_t *m = copy_img(&w);
  m[w.recs[30].offset + LOG_HEADER_SIZE + 500] ^= 0x10;
  expect_single_record_loss(&w, m, w.size, 30, STRATA_DAMAGE_CHECKSUM);
  /* The stored checksum itself damaged. */
  memcpy(m, w.img, w.size);
  m[w.recs[30].offset + 1] ^= 0xff;
  expect_single_record_loss(&w, m, w.size, 30, STRATA_DAMAGE_CHECKSUM);
  free(m);
  wlog_free(&w);
}

/* Records of 100000 bytes: FIRST, MIDDLE, MIDDLE, LAST. */
TEST(checksum_mismatch_in_first_middle_last) {
  size_t sizes[] = {500, 100000, 500, 100000, 500};
  wlog w;
  wlog_build(&w, 5, sizes, NULL);
  CHECK_EQ(w.img[frag_offset(&w, 1, 0) + 6], LOG_FIRST);
  CHECK_EQ(w.img[frag_offset(&w, 1, 1) + 6], LOG_MIDDLE);
  CHECK_EQ(w.img[frag_offset(&w, 1, 2) + 6], LOG_MIDDLE);
  CHECK_EQ(w.img[frag_offset(&w, 1, 3) + 6], LOG_LAST);
  for (int k = 0; k < 4; k++) {
    uint8_t *m = copy_img(&w);
    m[frag_offset(&w, 1, k) + LOG_HEADER_SIZE + 3] ^= 0x01;
    expect_single_record_loss(&w, m, w.size, 1, STRATA_DAMAGE_CHECKSUM);
    free(m);
  }
  wlog_free(&w);
}

TEST(bad_length_overrunning_block) {
  wlog w;
  wlog_uniform(&w, 60, 1000);
  uint8_t *m = copy_img(&w);
  encode_fixed16(m + w.recs[20].offset + 4, 0xffff);
  expect_single_record_loss(&w, m, w.size, 20, STRATA_DAMAGE_BAD_LENGTH);
  free(m);
  wlog_free(&w);
}

/* A length damaged to a smaller or larger value inside the block: the
 * checksum proves the true end (rule A1) and only the record is lost. */
TEST(bad_length_within_block) {
  wlog w;
  wlog_uniform(&w, 60, 1000);
  const int deltas[] = {-1000, -999, -500, -1, 1, 7, 24, 1000};
  for (size_t k = 0; k < sizeof deltas / sizeof deltas[0]; k++) {
    uint8_t *m = copy_img(&w);
    uint8_t *h = m + w.recs[21].offset;
    encode_fixed16(h + 4, (uint16_t)(1000 + deltas[k]));
    expect_single_record_loss(&w, m, w.size, 21, STRATA_DAMAGE_CHECKSUM);
    free(m);
  }
  wlog_free(&w);
}

TEST(bad_type) {
  wlog w;
  wlog_uniform(&w, 60, 1000);
  const uint8_t types[] = {0, 5, 9, 0x81, 0xff};
  for (size_t k = 0; k < sizeof types; k++) {
    uint8_t *m = copy_img(&w);
    m[w.recs[25].offset + 6] = types[k];
    expect_single_record_loss(&w, m, w.size, 25, STRATA_DAMAGE_BAD_TYPE);
    free(m);
  }
  /* A type changed to another valid one: checksum proves it (A1). */
  uint8_t *m = copy_img(&w);
  m[w.recs[25].offset + 6] = LOG_LAST;
  expect_single_record_loss(&w, m, w.size, 25, STRATA_DAMAGE_CHECKSUM);
  free(m);
  wlog_free(&w);
}

/* A zeroed header in the middle: the rest of that block has no anchor, so
 * skip resumes at the next block; everything it drops is reported. */
TEST(zero_type_padding_mid_file) {
  wlog w;
  wlog_uniform(&w, 100, 1000);
  uint8_t *m = copy_img(&w);
  int bad = 10;
  memset(m + w.recs[bad].offset, 0, LOG_HEADER_SIZE);
  for (int p = 0; p < 4; p++) {
    rres r;
    read_img(&w, m, w.size, policies[p], &r);
    check_sound(&w, w.size, &r);
    cases_per_policy[p]++;
    CHECK_EQ(r.ndrops, 1);
    if (r.ndrops) CHECK_EQ(r.drops[0].kind, STRATA_DAMAGE_ZEROED);
    if (policies[p] == STRATA_RECOVERY_SKIP) {
      CHECK_EQ(r.status, STRATA_END);
      /* Every record starting in a later block comes back. */
      for (int i = 0; i < w.n; i++)
        if (w.recs[i].offset >= LOG_BLOCK_SIZE) CHECK(returned(&r, i));
      CHECK_U64(r.drops[0].offset, w.recs[bad].offset);
    } else if (policies[p] == STRATA_RECOVERY_POINT_IN_TIME) {
      CHECK_EQ(r.n, bad);
    } else {
      CHECK_EQ(r.status, STRATA_CORRUPTION);
      CHECK_EQ(r.n, bad);
    }
  }
  free(m);
  wlog_free(&w);
}

/* Builds a log image by hand: fragments with chosen types, correctly
 * checksummed. */
typedef struct hand {
  uint8_t img[4 * LOG_BLOCK_SIZE]; /* the image */
  size_t len;                      /* bytes used */
} hand;

static uint64_t hand_frag(hand *h, unsigned type, const void *p, uint16_t n) {
  uint64_t off = h->len;
  uint8_t t = (uint8_t)type;
  uint32_t crc = crc32c_extend(crc32c_value(&t, 1), p, n);
  encode_fixed32(h->img + off, crc32c_mask(crc));
  encode_fixed16(h->img + off + 4, n);
  h->img[off + 6] = t;
  memcpy(h->img + off + 7, p, n);
  h->len += 7u + n;
  return off;
}

/* Reads a hand-made image; returns the records' first bytes as a string
 * ("a", "b"...) to compare with the expectation. */
static void read_hand(const hand *h, strata_recovery policy, char *got,
                      rres *res) {
  memset(res, 0, sizeof *res);
  log_reader *r;
  CHECK_EQ(log_reader_open_mem(h->img, h->len, "hand.log", policy,
                               rres_on_damage, res, &r),
           STRATA_OK);
  const uint8_t *d;
  size_t n;
  int rc;
  size_t k = 0;
  while ((rc = log_reader_next(r, &d, &n, NULL)) == STRATA_OK)
    got[k++] = n ? (char)d[0] : '_';
  got[k] = 0;
  res->status = rc;
  log_reader_close(r);
}

/* The expected outcome of a hand-made case under each policy. */
typedef struct hand_expect {
  const char *records; /* first byte of each record returned */
  int status;          /* STRATA_END or STRATA_CORRUPTION */
  int drops;           /* drops reported */
} hand_expect;

static void check_hand(const hand *h, strata_damage_kind kind,
                       const hand_expect exp[4]) {
  for (int p = 0; p < 4; p++) {
    char got[64];
    rres r;
    read_hand(h, policies[p], got, &r);
    cases_per_policy[p]++;
    CHECK_MSG(strcmp(got, exp[p].records) == 0,
              "policy %s: got \"%s\" want \"%s\"",
              strata_recovery_name(policies[p]), got, exp[p].records);
    CHECK_EQ(r.status, exp[p].status);
    CHECK_EQ(r.ndrops, exp[p].drops);
    if (r.ndrops) CHECK_EQ(r.drops[0].kind, kind);
  }
}

TEST(unexpected_middle) {
  hand h = {.len = 0};
  hand_frag(&h, LOG_FULL, "a", 1);
  hand_frag(&h, LOG_MIDDLE, "xx", 2);
  hand_frag(&h, LOG_FULL, "b", 1);
  const hand_expect e[4] = {{"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_END, 1},
                            {"ab", STRATA_END, 1}};
  check_hand(&h, STRATA_DAMAGE_ORPHAN, e);
}

TEST(unexpected_last) {
  hand h = {.len = 0};
  hand_frag(&h, LOG_FULL, "a", 1);
  hand_frag(&h, LOG_LAST, "yy", 2);
  hand_frag(&h, LOG_FULL, "b", 1);
  const hand_expect e[4] = {{"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_END, 1},
                            {"ab", STRATA_END, 1}};
  check_hand(&h, STRATA_DAMAGE_ORPHAN, e);
}

TEST(first_without_last) {
  hand h = {.len = 0};
  hand_frag(&h, LOG_FULL, "a", 1);
  hand_frag(&h, LOG_FIRST, "zz", 2);
  hand_frag(&h, LOG_MIDDLE, "zz", 2);
  hand_frag(&h, LOG_FULL, "b", 1);
  hand_frag(&h, LOG_FIRST, "c1", 2);
  hand_frag(&h, LOG_LAST, "c2", 2);
  const hand_expect e[4] = {{"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_END, 1},
                            {"abc", STRATA_END, 1}};
  check_hand(&h, STRATA_DAMAGE_MISSING_END, e);
}

TEST(first_without_last_at_end_is_torn_tail) {
  hand h = {.len = 0};
  hand_frag(&h, LOG_FULL, "a", 1);
  hand_frag(&h, LOG_FIRST, "zz", 2);
  const hand_expect e[4] = {{"a", STRATA_CORRUPTION, 1},
                            {"a", STRATA_END, 1},
                            {"a", STRATA_END, 1},
                            {"a", STRATA_END, 1}};
  check_hand(&h, STRATA_DAMAGE_TORN_TAIL, e);
}

TEST(zero_filled_tail_is_torn_tail) {
  hand h = {.len = 0};
  hand_frag(&h, LOG_FULL, "a", 1);
  hand_frag(&h, LOG_FULL, "b", 1);
  memset(h.img + h.len, 0, 4096);
  h.len += 4096;
  const hand_expect e[4] = {{"ab", STRATA_CORRUPTION, 1},
                            {"ab", STRATA_END, 1},
                            {"ab", STRATA_END, 1},
                            {"ab", STRATA_END, 1}};
  check_hand(&h, STRATA_DAMAGE_TORN_TAIL, e);
}

/* A trailer of 1..6 zero bytes at the end of a block is not damage. */
TEST(block_trailer_is_skipped) {
  for (uint32_t left = 0; left < LOG_HEADER_SIZE; left++) {
    hand h = {.len = 0};
    static uint8_t big[LOG_BLOCK_SIZE];
    memset(big, 'p', sizeof big);
    hand_frag(&h, LOG_FULL, big, (uint16_t)(LOG_BLOCK_SIZE - 7 - left));
    memset(h.img + h.len, 0, left);
    h.len += left;
    hand_frag(&h, LOG_FULL, "q", 1);
    char got[8];
    rres r;
    read_hand(&h, STRATA_RECOVERY_ABSOLUTE, got, &r);
    CHECK_STR(got, "pq");
    CHECK_EQ(r.status, STRATA_END);
    CHECK_EQ(r.ndrops, 0);
  }
}

/* A damaged record in the last position is a torn tail only for the
 * policies that tolerate one. */
TEST(checksum_mismatch_in_last_record_is_tail) {
  wlog w;
  wlog_uniform(&w, 20, 1000);
  uint8_t *m = copy_img(&w);
  m[w.recs[19].offset + 100] ^= 4;
  for (int p = 0; p < 4; p++) {
    rres r;
    read_img(&w, m, w.size, policies[p], &r);
    check_sound(&w, w.size, &r);
    cases_per_policy[p]++;
    CHECK_EQ(r.n, 19);
    CHECK_EQ(r.ndrops, 1);
    if (r.ndrops) {
      CHECK_EQ(r.drops[0].kind, STRATA_DAMAGE_TORN_TAIL);
      CHECK_EQ(r.drops[0].tail, 1);
    }
    CHECK_EQ(r.status, policies[p] == STRATA_RECOVERY_ABSOLUTE
                           ? STRATA_CORRUPTION
                           : STRATA_END);
  }
  free(m);
  wlog_free(&w);
}

/* ---- truncation at every byte offset ----------------------------------- */

TEST(truncation_at_every_offset) {
  /* Text-like contents (no bytes 1..4, like most real values); the random
   * case is covered by the bit-flip tests. */
  size_t sizes[] = {10, 300, 0, 32000, 1, 700, 100};
  static uint8_t text[7][32000];
  uint8_t *contents[7];
  for (int i = 0; i < 7; i++) {
    for (size_t j = 0; j < sizes[i]; j++)
      text[i][j] = (uint8_t)(' ' + test_rand() % 95);
    contents[i] = text[i];
  }
  wlog w;
  wlog_build(&w, 7, sizes, contents);
  CHECK(w.size > LOG_BLOCK_SIZE);
  for (size_t t = 0; t <= w.size; t++) {
    /* Records wholly inside [0, t) must come back; a record cut at t is a
     * torn tail unless the cut falls in a zero trailer. */
    int whole = 0, cut = -1;
    uint64_t whole_end = 0;
    for (int i = 0; i < w.n; i++) {
      if (w.recs[i].end <= t) {
        whole++;
        whole_end = w.recs[i].end;
      } else if (w.recs[i].offset < t) {
        cut = i;
      }
    }
    for (int p = 0; p < 4; p++) {
      rres r;
      read_img(&w, w.img, t, policies[p], &r);
      check_sound(&w, t, &r);
      cases_per_policy[p]++;
      CHECK_EQ(r.n, whole);
      if (cut < 0 && t == whole_end) {
        CHECK_EQ(r.status, STRATA_END);
        CHECK_EQ(r.ndrops, 0);
        continue;
      }
      if (cut < 0) {
        /* Cut inside the zero trailer the writer put before the next record:
         * a torn append, costing no record. */
        CHECK_EQ(r.ndrops, 1);
        if (r.ndrops) {
          CHECK_EQ(r.drops[0].kind, STRATA_DAMAGE_TORN_TAIL);
          CHECK_U64(r.drops[0].offset, whole_end);
          CHECK_U64(r.drops[0].bytes, t - whole_end);
          CHECK_U64(r.drops[0].records, 0);
        }
        CHECK_EQ(r.status, policies[p] == STRATA_RECOVERY_ABSOLUTE
                               ? STRATA_CORRUPTION
                               : STRATA_END);
        continue;
      }
      CHECK_EQ(r.ndrops, 1);
      if (r.ndrops) {
        CHECK_EQ(r.drops[0].kind, STRATA_DAMAGE_TORN_TAIL);
        CHECK_U64(r.drops[0].offset, w.recs[cut].offset);
        CHECK_U64(r.drops[0].bytes, t - w.recs[cut].offset);
      }
      CHECK_EQ(r.status, policies[p] == STRATA_RECOVERY_ABSOLUTE
                             ? STRATA_CORRUPTION
                             : STRATA_END);
    }
  }
  wlog_free(&w);
}

/* ---- zeroed 4 KiB sectors ---------------------------------------------- */

TEST(zeroed_sector) {
  wlog w;
  wlog_uniform(&w, 200, 1000);
  for (uint64_t s = 4096; s + 4096 < w.size - 40000; s += 4096) {
    uint8_t *m = copy_img(&w);
    memset(m + s, 0, 4096);
    uint64_t resume =
        (s + 4096 + LOG_BLOCK_SIZE - 1) / LOG_BLOCK_SIZE * LOG_BLOCK_SIZE;
    int first_bad = rec_at(&w, s);
    for (int p = 0; p < 4; p++) {
      rres r;
      read_img(&w, m, w.size, policies[p], &r);
      check_sound(&w, w.size, &r);
      cases_per_policy[p]++;
      CHECK(r.ndrops >= 1);
      for (int i = 0; i < w.n; i++) {
        int overlaps = w.recs[i].offset < s + 4096 && w.recs[i].end > s;
        if (overlaps) CHECK(!returned(&r, i));
        if (i < first_bad) CHECK(returned(&r, i));
        if (policies[p] == STRATA_RECOVERY_SKIP && w.recs[i].offset >= resume)
          CHECK_MSG(returned(&r, i), "sector %llu: record %d lost",
                    (unsigned long long)s, i);
      }
      if (policies[p] == STRATA_RECOVERY_SKIP) CHECK_EQ(r.ndrops, 1);
    }
    free(m);
  }
  wlog_free(&w);
}

/* ---- one flipped byte in a log of 1 KiB records: at most 2 lost -------- */

TEST(single_flip_loses_at_most_two_records) {
  wlog w;
  wlog_uniform(&w, 200, 1024);
  int worst = 0;
  long flips = 0;
  /* Every byte of three whole records around a block boundary, and random
   * bytes elsewhere. */
  uint64_t lo = w.recs[30].offset, hi = w.recs[33].end;
  for (uint64_t off = lo; off < w.size - 2048; off++) {
    if (off >= hi) off += test_rand() % 2000;
    if (off >= w.size - 2048) break;
    uint8_t *m = copy_img(&w);
    m[off] ^= (uint8_t)(1u << (test_rand() % 8));
    rres r;
    read_img(&w, m, w.size, STRATA_RECOVERY_SKIP, &r);
    check_sound(&w, w.size, &r);
    cases_per_policy[3]++;
    flips++;
    CHECK_EQ(r.status, STRATA_END);
    int lost = w.n - r.n;
    if (lost > worst) worst = lost;
    CHECK_MSG(lost <= 2, "flip at %llu lost %d records",
              (unsigned long long)off, lost);
    free(m);
  }
  fprintf(stderr, "single flips: %ld, worst loss %d record(s)\n", flips, worst);
  CHECK(flips > 3000);
  wlog_free(&w);
}

/* ---- random bit flips under every policy ------------------------------- */

TEST(random_bit_flips) {
  wlog w;
  size_t sizes[300];
  for (int i = 0; i < 300; i++)
    sizes[i] = (size_t)(test_rand() % 3000);
  sizes[100] = 70000;
  wlog_build(&w, 300, sizes, NULL);
  for (int iter = 0; iter < 400; iter++) {
    uint8_t *m = copy_img(&w);
    int nflips = 1 + (int)(test_rand() % 4);
    for (int k = 0; k < nflips; k++)
      m[test_rand() % w.size] ^= (uint8_t)(1u << (test_rand() % 8));
    for (int p = 0; p < 4; p++) {
      rres r;
      read_img(&w, m, w.size, policies[p], &r);
      check_sound(&w, w.size, &r);
      cases_per_policy[p]++;
    }
    free(m);
  }
  wlog_free(&w);
}

/* ---- logs stored inside values ----------------------------------------- */

/* Encodes `n` small records as a log image (what a value might hold). */
static size_t encode_inner_log(uint8_t *dst, size_t cap, int n, int seed) {
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    uint8_t payload[40];
    uint16_t plen = (uint16_t)(1 + (seed + i * 7) % 39);
    for (uint16_t j = 0; j < plen; j++)
      payload[j] = (uint8_t)('A' + (i + j) % 26);
    if (len + 7 + plen > cap) break;
    uint8_t t = LOG_FULL;
    uint32_t crc = crc32c_extend(crc32c_value(&t, 1), payload, plen);
    encode_fixed32(dst + len, crc32c_mask(crc));
    encode_fixed16(dst + len + 4, plen);
    dst[len + 6] = t;
    memcpy(dst + len + 7, payload, plen);
    len += 7u + plen;
  }
  return len;
}

/* Values are [filler of k bytes][an encoded log], so that the encoded
 * records sit at every alignment relative to the outer records and blocks;
 * some values are exactly an encoded log. Every header byte is damaged in
 * turn (each bit, zeroed, 0xff), plus payload flips and zeroed headers;
 * nothing returned may be anything but a written record. */
TEST(embedded_logs_never_mistaken_for_records) {
  enum { N = 160 };
  static uint8_t vals[N][1400];
  uint8_t *contents[N];
  size_t sizes[N];
  for (int i = 0; i < N; i++) {
    size_t k = (size_t)(i * 37 % 300);
    memset(vals[i], 'f', k);
    size_t inner =
        encode_inner_log(vals[i] + k, sizeof vals[i] - k, 3 + i % 25, i);
    sizes[i] = (i % 5 == 0) ? inner : k + inner;
    if (i % 5 == 0) memmove(vals[i], vals[i] + k, inner);
    contents[i] = vals[i];
  }
  wlog w;
  wlog_build(&w, N, sizes, contents);
  long checks = 0;
  int worst = 0;
  for (int i = 1; i < N - 1; i++) {
    for (int f = 0; f < LOG_HEADER_SIZE; f++) {
      uint64_t at = w.recs[i].offset + (uint64_t)f;
      const uint8_t masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 0xff};
      for (size_t mk = 0; mk < sizeof masks + 1; mk++) {
        uint8_t *m = copy_img(&w);
        if (mk == sizeof masks)
          m[at] = 0;
        else
          m[at] ^= masks[mk];
        rres r;
        read_img(&w, m, w.size, STRATA_RECOVERY_SKIP, &r);
        check_sound(&w, w.size, &r);
        cases_per_policy[3]++;
        checks++;
        if (w.n - r.n > worst) worst = w.n - r.n;
        free(m);
      }
    }
    /* Payload flips, including inside the embedded records. */
    for (int k = 0; k < 6; k++) {
      uint8_t *m = copy_img(&w);
      uint64_t span = w.recs[i].end - w.recs[i].offset - LOG_HEADER_SIZE;
      m[w.recs[i].offset + LOG_HEADER_SIZE + test_rand() % span] ^= 0x20;
      rres r;
      read_img(&w, m, w.size, STRATA_RECOVERY_SKIP, &r);
      check_sound(&w, w.size, &r);
      cases_per_policy[3]++;
      checks++;
      free(m);
    }
    /* Checksum and length zeroed together. */
    uint8_t *m = copy_img(&w);
    memset(m + w.recs[i].offset, 0, 6);
    rres r;
    read_img(&w, m, w.size, STRATA_RECOVERY_SKIP, &r);
    check_sound(&w, w.size, &r);
    cases_per_policy[3]++;
    checks++;
    free(m);
  }
  fprintf(stderr, "embedded-log damage cases: %ld, worst loss %d records\n",
          checks, worst);
  wlog_free(&w);
}

/* A file that ends inside a zero trailer (the writer writes the trailer only
 * together with the next record): a torn append, reported, costing nothing. */
TEST(file_ending_in_trailer_is_torn_tail) {
  for (uint32_t left = 1; left < LOG_HEADER_SIZE; left++) {
    hand h = {.len = 0};
    static uint8_t big[LOG_BLOCK_SIZE];
    memset(big, 'p', sizeof big);
    hand_frag(&h, LOG_FULL, big, (uint16_t)(LOG_BLOCK_SIZE - 7 - 10));
    memset(h.img + h.len, 0, left);
    h.len += left;
    const hand_expect e[4] = {{"p", STRATA_CORRUPTION, 1},
                              {"p", STRATA_END, 1},
                              {"p", STRATA_END, 1},
                              {"p", STRATA_END, 1}};
    check_hand(&h, STRATA_DAMAGE_TORN_TAIL, e);
  }
}

/* The reader's report of the damage cases it ran (the closing line of the
 * run prints them). */
TEST(zz_report_case_counts) {
  fprintf(stderr,
          "damage cases checked per policy: absolute %ld, tolerate-tail %ld, "
          "point-in-time %ld, skip %ld\n",
          cases_per_policy[0], cases_per_policy[1], cases_per_policy[2],
          cases_per_policy[3]);
}
