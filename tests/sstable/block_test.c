/*
 * block_test.c — the block builder and reader: round trips over random key
 * sets (empty keys, long keys, binary bytes), seek/next/prev against a
 * sorted reference, restart intervals, and malformed blocks (every
 * truncation, flipped bytes in the restart array and entry headers) that
 * must be reported as corruption, never crash.
 */
#include <stdlib.h>

#include "sstable/block.h"
#include "sstable/bloom.h"
#include "sstable/ikey.h"
#include "test.h"
#include "util/status.h"

typedef struct kv {
  uint8_t *k, *v; /* key and value bytes */
  size_t kn, vn;  /* their lengths */
} kv;

static int kv_cmp(const void *a, const void *b) {
  const kv *x = a, *y = b;
  return ikey_bytewise(x->k, x->kn, y->k, y->kn);
}

/* n distinct random keys (sorted), some empty/long/binary. */
static kv *make_kvs(size_t n, size_t maxk, size_t maxv) {
  kv *v = calloc(n, sizeof *v);
  size_t got = 0;
  while (got < n) {
    size_t kn = (size_t)(test_rand() % (maxk + 1));
    if (test_rand() % 8 == 0) kn = (size_t)(test_rand() % 3);
    v[got].k = malloc(kn + 1);
    for (size_t i = 0; i < kn; i++)
      v[got].k[i] =
          (uint8_t)(test_rand() % 4 == 0 ? test_rand() : 'a' + test_rand() % 3);
    v[got].kn = kn;
    v[got].vn = (size_t)(test_rand() % (maxv + 1));
    v[got].v = malloc(v[got].vn + 1);
    for (size_t i = 0; i < v[got].vn; i++)
      v[got].v[i] = (uint8_t)test_rand();
    got++;
    if (got == n) {
      qsort(v, n, sizeof *v, kv_cmp);
      size_t w = 0; /* drop duplicates, then refill */
      for (size_t i = 0; i < n; i++) {
        if (w && kv_cmp(&v[w - 1], &v[i]) == 0) {
          free(v[i].k);
          free(v[i].v);
          continue;
        }
        v[w++] = v[i];
      }
      got = w;
    }
  }
  return v;
}

static void free_kvs(kv *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].k);
    free(v[i].v);
  }
  free(v);
}

static void check_block(kv *v, size_t n, int interval) {
  sst_block_builder b;
  sst_block_builder_init(&b, interval);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ(sst_block_builder_add(&b, v[i].k, v[i].kn, v[i].v, v[i].vn), 0);
  size_t size;
  const uint8_t *d = sst_block_builder_finish(&b, &size);
  CHECK_EQ(size, sst_block_builder_size(&b));
  sst_iter *it = sst_block_iter(d, size, 0, SST_CMP_BYTEWISE, "blk", 0);
  size_t i = 0, kn, vn;
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
    const uint8_t *k = sst_iter_key(it, &kn), *val = sst_iter_value(it, &vn);
    CHECK_MEM(k, kn, v[i].k, v[i].kn);
    CHECK_MEM(val, vn, v[i].v, v[i].vn);
  }
  CHECK_EQ(i, n);
  CHECK_EQ(sst_iter_status(it), STRATA_OK);
  i = n;
  for (sst_iter_seek_last(it); sst_iter_valid(it); sst_iter_prev(it)) {
    i--;
    const uint8_t *k = sst_iter_key(it, &kn);
    CHECK_MEM(k, kn, v[i].k, v[i].kn);
  }
  CHECK_EQ(i, 0);
  /* Seeks: to every key, and to a key just after each (k + "\0"). */
  for (size_t j = 0; j < n; j++) {
    sst_iter_seek(it, v[j].k, v[j].kn);
    CHECK(sst_iter_valid(it));
    const uint8_t *k = sst_iter_key(it, &kn);
    CHECK_MEM(k, kn, v[j].k, v[j].kn);
    uint8_t *after = malloc(v[j].kn + 1);
    memcpy(after, v[j].k, v[j].kn);
    after[v[j].kn] = 0;
    sst_iter_seek(it, after, v[j].kn + 1);
    if (j + 1 < n) {
      CHECK(sst_iter_valid(it));
      k = sst_iter_key(it, &kn);
      CHECK_MEM(k, kn, v[j + 1].k, v[j + 1].kn);
      sst_iter_prev(it);
      CHECK(sst_iter_valid(it));
      k = sst_iter_key(it, &kn);
      CHECK_MEM(k, kn, v[j].k, v[j].kn);
    } else {
      CHECK(!sst_iter_valid(it));
    }
    free(after);
  }
  /* sst_block_find agrees with the iterator's seek for every key and the
   * gap after it. */
  sst_buf scratch = {0};
  for (size_t j = 0; j < n; j++) {
    const uint8_t *fk, *fv;
    size_t fkn, fvn;
    CHECK_EQ(sst_block_find(d, size, SST_CMP_BYTEWISE, v[j].k, v[j].kn,
                            &scratch, &fk, &fkn, &fv, &fvn, "blk", 0),
             1);
    CHECK_MEM(fk, fkn, v[j].k, v[j].kn);
    CHECK_MEM(fv, fvn, v[j].v, v[j].vn);
    uint8_t *after = malloc(v[j].kn + 1);
    memcpy(after, v[j].k, v[j].kn);
    after[v[j].kn] = 0;
    int f = sst_block_find(d, size, SST_CMP_BYTEWISE, after, v[j].kn + 1,
                           &scratch, &fk, &fkn, &fv, &fvn, "blk", 0);
    CHECK_EQ(f, j + 1 < n ? 1 : 0);
    if (f == 1 && j + 1 < n) CHECK_MEM(fk, fkn, v[j + 1].k, v[j + 1].kn);
    free(after);
  }
  sst_buf_free(&scratch);
  sst_iter_destroy(it);
  sst_block_builder_free(&b);
}

TEST(block_round_trip_random) {
  int intervals[] = {1, 2, 16, 1000};
  for (int r = 0; r < 4; r++) {
    size_t n = 1 + (size_t)(test_rand() % 400);
    kv *v = make_kvs(n, 40, 100);
    check_block(v, n, intervals[r]);
    free_kvs(v, n);
  }
}

TEST(block_large_keys_and_values) {
  size_t n = 6;
  kv *v = make_kvs(n, 65536, 4);
  v[2].v = realloc(v[2].v, 1 << 20);
  v[2].vn = 1 << 20;
  memset(v[2].v, 'x', v[2].vn);
  check_block(v, n, 16);
  free_kvs(v, n);
}

TEST(block_empty) {
  sst_block_builder b;
  sst_block_builder_init(&b, 16);
  size_t size;
  const uint8_t *d = sst_block_builder_finish(&b, &size);
  CHECK_EQ(size, 8);
  sst_iter *it = sst_block_iter(d, size, 0, SST_CMP_BYTEWISE, "blk", 0);
  sst_iter_seek_first(it);
  CHECK(!sst_iter_valid(it));
  sst_iter_seek_last(it);
  CHECK(!sst_iter_valid(it));
  sst_iter_seek(it, (const uint8_t *)"a", 1);
  CHECK(!sst_iter_valid(it));
  CHECK_EQ(sst_iter_status(it), STRATA_OK);
  sst_iter_destroy(it);
  sst_block_builder_free(&b);
}

/* Walks a possibly malformed block every way; it must never crash and,
 * where it returns entries, they must be in order. */
static int walk_all(const uint8_t *d, size_t n) {
  sst_iter *it = sst_block_iter(d, n, 0, SST_CMP_BYTEWISE, "blk", 0);
  size_t count = 0, kn;
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
    sst_iter_key(it, &kn);
    count++;
  }
  for (sst_iter_seek_last(it); sst_iter_valid(it) && count < 100000;
       sst_iter_prev(it))
    count++;
  sst_iter_seek(it, (const uint8_t *)"b", 1);
  int st = sst_iter_status(it);
  sst_iter_destroy(it);
  return st;
}

TEST(block_corruption_matrix) {
  size_t n = 100;
  kv *v = make_kvs(n, 20, 20);
  sst_block_builder b;
  sst_block_builder_init(&b, 4);
  for (size_t i = 0; i < n; i++)
    sst_block_builder_add(&b, v[i].k, v[i].kn, v[i].v, v[i].vn);
  size_t size;
  const uint8_t *d = sst_block_builder_finish(&b, &size);
  uint8_t *copy = malloc(size);
  long corrupt_seen = 0;
  /* Every truncation: a heap copy of exactly that length, so ASan catches any
   * read past it. */
  for (size_t cut = 0; cut < size; cut++) {
    uint8_t *t = malloc(cut ? cut : 1);
    memcpy(t, d, cut);
    if (walk_all(t, cut) == STRATA_CORRUPTION) corrupt_seen++;
    free(t);
  }
  CHECK(corrupt_seen > 0);
  /* Restart count too large, zero, restart offsets out of range. */
  memcpy(copy, d, size);
  copy[size - 1] = 0x7f;
  CHECK_EQ(walk_all(copy, size), STRATA_CORRUPTION);
  memcpy(copy, d, size);
  memset(copy + size - 4, 0, 4);
  CHECK_EQ(walk_all(copy, size), STRATA_CORRUPTION);
  memcpy(copy, d, size);
  copy[size - 8 + 3] = 0x40; /* last restart offset huge */
  CHECK_EQ(walk_all(copy, size), STRATA_CORRUPTION);
  /* Entry header: a shared length beyond the previous key. */
  memcpy(copy, d, size);
  copy[0] = 50;
  CHECK_EQ(walk_all(copy, size), STRATA_CORRUPTION);
  /* Every single-byte flip: no crash. */
  for (size_t i = 0; i < size; i++) {
    memcpy(copy, d, size);
    copy[i] ^= (uint8_t)(1 + test_rand() % 255);
    walk_all(copy, size);
  }
  free(copy);
  sst_block_builder_free(&b);
  free_kvs(v, n);
}

TEST(internal_key_order) {
  sst_buf a = {0}, b = {0}, c = {0};
  ikey_append(&a, "k", 1, 100, IKEY_VALUE);
  ikey_append(&b, "k", 1, 5, IKEY_VALUE);
  ikey_append(&c, "l", 1, 200, IKEY_VALUE);
  CHECK(ikey_compare(SST_CMP_INTERNAL, a.data, a.len, b.data, b.len) < 0);
  CHECK(ikey_compare(SST_CMP_INTERNAL, b.data, b.len, c.data, c.len) < 0);
  size_t ul;
  uint64_t seq;
  int type;
  CHECK_EQ(ikey_parse(a.data, a.len, &ul, &seq, &type), 0);
  CHECK_EQ(ul, 1);
  CHECK_U64(seq, 100);
  CHECK_EQ(type, IKEY_VALUE);
  /* Separators: between "abcdef@5" and "abzz@9" comes "abd@max". */
  sst_buf s = {0}, l = {0};
  ikey_append(&s, "abcdef", 6, 5, IKEY_VALUE);
  ikey_append(&l, "abzz", 4, 9, IKEY_VALUE);
  ikey_separator(SST_CMP_INTERNAL, &s, l.data, l.len);
  CHECK_EQ(s.len, 3 + 8);
  CHECK_MEM(s.data, 3, "abd", 3);
  CHECK(ikey_compare(SST_CMP_INTERNAL, s.data, s.len, l.data, l.len) < 0);
  sst_buf_free(&a);
  sst_buf_free(&b);
  sst_buf_free(&c);
  sst_buf_free(&s);
  sst_buf_free(&l);
}

/* LevelDB's bloom_test: false positives at 10 bits/key stay near 1%. */
TEST(bloom_false_positive_rate) {
  enum { N = 10000, PROBES = 100000 };
  uint8_t(*keys)[4] = malloc(N * sizeof *keys);
  const uint8_t **kp = malloc(N * sizeof *kp);
  size_t *kl = malloc(N * sizeof *kl);
  for (uint32_t i = 0; i < N; i++) {
    memcpy(keys[i], &i, 4);
    kp[i] = keys[i];
    kl[i] = 4;
  }
  sst_buf f = {0};
  CHECK_EQ(bloom_create(&f, 10, kp, kl, N), 0);
  for (uint32_t i = 0; i < N; i++)
    CHECK(bloom_may_match(f.data, f.len, keys[i], 4));
  long fp = 0;
  for (uint32_t i = 0; i < PROBES; i++) {
    uint32_t k = i + 1000000000u;
    fp += bloom_may_match(f.data, f.len, (const uint8_t *)&k, 4);
  }
  double rate = (double)fp / PROBES;
  printf("bloom false-positive rate at 10 bits/key: %.4f%%\n", rate * 100);
  CHECK(rate < 0.02);
  CHECK(rate > 0.002);
  /* LevelDB's hash on known inputs (util/hash_test.cc). */
  const uint8_t d1[1] = {0x62};
  const uint8_t d2[2] = {0xc3, 0x97};
  const uint8_t d3[3] = {0xe2, 0x99, 0xa5};
  CHECK_U64(bloom_hash(NULL, 0), 0xbc9f1d34u);
  CHECK_U64(bloom_hash(d1, 1), 0xef1345c4u);
  CHECK_U64(bloom_hash(d2, 2), 0x5b663814u);
  CHECK_U64(bloom_hash(d3, 3), 0x323c078fu);
  sst_buf_free(&f);
  free(keys);
  free(kp);
  free(kl);
}

/* sst_block_validate: built blocks pass; a restart pointing inside an
 * entry, keys out of order, or a restart past the last entry fail. */
TEST(block_validate) {
  sst_block_builder b;
  sst_block_builder_init(&b, 2);
  const char *keys[] = {"apple", "apricot", "banana", "cherry", "date"};
  for (int i = 0; i < 5; i++)
    sst_block_builder_add(&b, keys[i], strlen(keys[i]), "v", 1);
  size_t n;
  const uint8_t *d = sst_block_builder_finish(&b, &n);
  CHECK_EQ(sst_block_validate(d, n, SST_CMP_BYTEWISE, "b", 0), STRATA_OK);
  uint8_t *c = malloc(n);
  /* Restarts are at entries 0, 2, 4; move the second one by one byte. */
  memcpy(c, d, n);
  size_t rs = n - 4 - 4 * 3;
  c[rs + 4] += 1;
  CHECK_EQ(sst_block_validate(c, n, SST_CMP_BYTEWISE, "b", 0),
           STRATA_CORRUPTION);
  /* Restart past the last entry. */
  memcpy(c, d, n);
  c[rs + 8] = (uint8_t)rs;
  c[rs + 9] = (uint8_t)(rs >> 8);
  CHECK_EQ(sst_block_validate(c, n, SST_CMP_BYTEWISE, "b", 0),
           STRATA_CORRUPTION);
  free(c);
  /* Keys out of order (a builder does not check; the reader must). */
  sst_block_builder_reset(&b);
  sst_block_builder_add(&b, "b", 1, "", 0);
  sst_block_builder_add(&b, "a", 1, "", 0);
  d = sst_block_builder_finish(&b, &n);
  CHECK_EQ(sst_block_validate(d, n, SST_CMP_BYTEWISE, "b", 0),
           STRATA_CORRUPTION);
  sst_block_builder_free(&b);
}
