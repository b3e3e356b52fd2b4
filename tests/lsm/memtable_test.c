/*
 * memtable_test.c — the memtable's skiplist: internal-key order, get at every
 * sequence, deletions, random keys (with zero bytes and shared prefixes
 * around the 8-byte cached prefix) against a sorted reference, iterator
 * forward / backward / seek, empty keys and values, a large value, bad
 * arguments, references, and one writer racing three readers that must only
 * ever see complete entries and a table that grows monotonically.
 */
#include "lsm/memtable.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "sstable/ikey.h"
#include "strata.h"
#include "test.h"
#include "util/coding.h"

/* The value stored with sequence `seq`: 8 bytes of seq, then a pattern;
 * 8..47 bytes long. */
static size_t make_value(uint64_t seq, uint8_t *v) {
  size_t n = 8 + (size_t)(seq % 40);
  encode_fixed64(v, seq);
  for (size_t i = 8; i < n; i++)
    v[i] = (uint8_t)(seq * 31 + i);
  return n;
}

static int value_ok(const uint8_t *v, size_t n, uint64_t seq) {
  uint8_t want[64];
  size_t wn = make_value(seq, want);
  return n == wn && memcmp(v, want, n) == 0;
}

static void put(mem_table *m, uint64_t seq, const char *k, const char *v) {
  CHECK_EQ(mem_add(m, seq, IKEY_VALUE, (const uint8_t *)k, strlen(k),
                   (const uint8_t *)v, strlen(v)),
           STRATA_OK);
}

static void del(mem_table *m, uint64_t seq, const char *k) {
  CHECK_EQ(
      mem_add(m, seq, IKEY_DELETION, (const uint8_t *)k, strlen(k), NULL, 0),
      STRATA_OK);
}

/* mem_get as a string: "value", "<deleted>" or "<absent>". */
static const char *get(mem_table *m, const char *k, uint64_t seq) {
  static char out[256];
  uint8_t *v;
  size_t vn;
  int r = mem_get(m, (const uint8_t *)k, strlen(k), seq, &v, &vn);
  if (r == MEM_ABSENT) return "<absent>";
  if (r == MEM_DELETED) return "<deleted>";
  CHECK_EQ(r, MEM_FOUND);
  CHECK(v != NULL && vn < sizeof out);
  memcpy(out, v, vn);
  out[vn] = 0;
  free(v);
  return out;
}

TEST(empty_table) {
  mem_table *m = mem_create();
  CHECK(m != NULL);
  CHECK_STR(get(m, "a", 100), "<absent>");
  CHECK_STR(get(m, "", IKEY_MAX_SEQUENCE), "<absent>");
  CHECK_U64(mem_entries(m), 0);
  CHECK(mem_usage(m) > 0);
  mem_ref(m); /* two references: one unref leaves it usable */
  mem_unref(m);
  CHECK_STR(get(m, "a", 100), "<absent>");
  sst_iter *it = mem_iter(m);
  sst_iter_seek_first(it);
  CHECK(!sst_iter_valid(it));
  sst_iter_seek_last(it);
  CHECK(!sst_iter_valid(it));
  sst_iter_seek(it, (const uint8_t *)"a\1\0\0\0\0\0\0\0", 9);
  CHECK(!sst_iter_valid(it));
  CHECK_EQ(sst_iter_status(it), STRATA_OK);
  sst_iter_destroy(it);
  mem_unref(m);
  mem_unref(NULL);
}

TEST(get_at_each_sequence) {
  mem_table *m = mem_create();
  put(m, 1, "b", "b1");
  put(m, 2, "a", "a2");
  put(m, 3, "b", "b3");
  del(m, 4, "b");
  put(m, 5, "c", "c5");
  del(m, 6, "a");
  put(m, 7, "b", "b7");
  put(m, 8, "a", "a8");
  static const char *want[9][3] = {
      {"<absent>", "<absent>", "<absent>"},
      {"<absent>", "b1", "<absent>"},
      {"a2", "b1", "<absent>"},
      {"a2", "b3", "<absent>"},
      {"a2", "<deleted>", "<absent>"},
      {"a2", "<deleted>", "c5"},
      {"<deleted>", "<deleted>", "c5"},
      {"<deleted>", "b7", "c5"},
      {"a8", "b7", "c5"},
  };
  for (uint64_t s = 0; s <= 8; s++) {
    CHECK_STR(get(m, "a", s), want[s][0]);
    CHECK_STR(get(m, "b", s), want[s][1]);
    CHECK_STR(get(m, "c", s), want[s][2]);
    CHECK_STR(get(m, "", s), "<absent>");
    CHECK_STR(get(m, "aa", s), "<absent>");
    CHECK_STR(get(m, "d", s), "<absent>");
  }
  CHECK_STR(get(m, "b", IKEY_MAX_SEQUENCE), "b7");
  CHECK_STR(get(m, "b", UINT64_MAX), "b7");
  CHECK_U64(mem_entries(m), 8);
  mem_unref(m);
}

/* The iterator yields internal keys in order, newest version first. */
TEST(iterator_order) {
  mem_table *m = mem_create();
  put(m, 1, "b", "b1");
  put(m, 2, "a", "a2");
  put(m, 3, "b", "b3");
  del(m, 4, "b");
  static const struct {
    const char *k;
    uint64_t seq;
    int type;
    const char *v;
  } want[] = {{"a", 2, IKEY_VALUE, "a2"},
              {"b", 4, IKEY_DELETION, ""},
              {"b", 3, IKEY_VALUE, "b3"},
              {"b", 1, IKEY_VALUE, "b1"}};
  sst_iter *it = mem_iter(m);
  size_t i = 0, kn, vn, ul;
  uint64_t seq;
  int type;
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    CHECK(i < 4);
    if (i >= 4) break;
    CHECK_EQ(ikey_parse(k, kn, &ul, &seq, &type), 0);
    CHECK_MEM(k, ul, want[i].k, strlen(want[i].k));
    CHECK_U64(seq, want[i].seq);
    CHECK_EQ(type, want[i].type);
    CHECK_MEM(v, vn, want[i].v, strlen(want[i].v));
  }
  CHECK_EQ(i, 4);
  for (sst_iter_seek_last(it); sst_iter_valid(it); sst_iter_prev(it)) {
    i--;
    const uint8_t *k = sst_iter_key(it, &kn);
    CHECK_EQ(ikey_parse(k, kn, &ul, &seq, &type), 0);
    CHECK_U64(seq, want[i].seq);
  }
  CHECK_EQ(i, 0);
  /* Seek to ("b", 3): lands on b@3; ("b", 5) on b@4; a short target (no
   * internal key) on the first entry of user key >= it. */
  sst_buf t = {0};
  ikey_append(&t, "b", 1, 3, IKEY_SEEK_TYPE);
  sst_iter_seek(it, t.data, t.len);
  CHECK(sst_iter_valid(it));
  if (sst_iter_valid(it)) {
    ikey_parse(sst_iter_key(it, &kn), kn, &ul, &seq, &type);
    CHECK_U64(seq, 3);
  }
  t.len = 0;
  ikey_append(&t, "b", 1, 5, IKEY_SEEK_TYPE);
  sst_iter_seek(it, t.data, t.len);
  CHECK(sst_iter_valid(it));
  if (sst_iter_valid(it)) {
    ikey_parse(sst_iter_key(it, &kn), kn, &ul, &seq, &type);
    CHECK_U64(seq, 4);
  }
  sst_iter_seek(it, (const uint8_t *)"b", 1);
  CHECK(sst_iter_valid(it));
  if (sst_iter_valid(it)) {
    ikey_parse(sst_iter_key(it, &kn), kn, &ul, &seq, &type);
    CHECK_U64(seq, 4);
  }
  sst_buf_free(&t);
  /* The iterator holds a reference: the table outlives mem_unref. */
  mem_unref(m);
  sst_iter_seek_first(it);
  CHECK(sst_iter_valid(it));
  sst_iter_destroy(it);
}

TEST(empty_keys_values_and_large_value) {
  mem_table *m = mem_create();
  put(m, 1, "", "");
  put(m, 2, "", "x");
  put(m, 3, "k", "");
  size_t big = 3u << 20;
  uint8_t *bv = malloc(big);
  for (size_t i = 0; i < big; i++)
    bv[i] = (uint8_t)(i * 7 + 3);
  CHECK_EQ(mem_add(m, 4, IKEY_VALUE, (const uint8_t *)"big", 3, bv, big),
           STRATA_OK);
  CHECK_STR(get(m, "", 1), "");
  CHECK_STR(get(m, "", 2), "x");
  CHECK_STR(get(m, "k", 3), "");
  CHECK_STR(get(m, "k", 2), "<absent>");
  uint8_t *v;
  size_t vn;
  CHECK_EQ(mem_get(m, (const uint8_t *)"big", 3, 9, &v, &vn), MEM_FOUND);
  CHECK_MEM(v, vn, bv, big);
  free(v);
  CHECK(mem_usage(m) > big);
  sst_iter *it = mem_iter(m);
  sst_iter_seek_first(it);
  size_t kn;
  CHECK(sst_iter_valid(it));
  sst_iter_key(it, &kn);
  CHECK_EQ(kn, IKEY_TRAILER);
  sst_iter_value(it, &vn);
  CHECK_EQ(vn, 1); /* "" @2 = "x" comes first */
  sst_iter_destroy(it);
  free(bv);
  mem_unref(m);
}

TEST(bad_arguments) {
  mem_table *m = mem_create();
  CHECK_EQ(mem_add(m, 1, 7, (const uint8_t *)"a", 1, NULL, 0),
           STRATA_INVALID_ARGUMENT);
  CHECK_EQ(mem_add(m, IKEY_MAX_SEQUENCE + 1, IKEY_VALUE, (const uint8_t *)"a",
                   1, NULL, 0),
           STRATA_INVALID_ARGUMENT);
  CHECK_U64(mem_entries(m), 0);
  CHECK_STR(get(m, "a", UINT64_MAX), "<absent>");
  /* A repeated (key, sequence), as a damaged WAL could replay: kept, the
   * later insert found first, order intact. */
  put(m, 5, "a", "first");
  put(m, 5, "a", "second");
  put(m, 4, "a", "older");
  CHECK_STR(get(m, "a", 5), "second");
  CHECK_STR(get(m, "a", 4), "older");
  sst_iter *it = mem_iter(m);
  int n = 0;
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
    n++;
  CHECK_EQ(n, 3);
  sst_iter_seek_last(it);
  sst_iter_prev(it);
  size_t vn;
  const uint8_t *v = sst_iter_value(it, &vn);
  CHECK(sst_iter_valid(it) && vn == 5 && memcmp(v, "first", 5) == 0);
  sst_iter_destroy(it);
  mem_unref(m);
}

/* ---- random keys against a sorted reference ---------------------------- */

typedef struct rent {
  uint8_t k[20]; /* user key */
  size_t kn;     /* its length */
  uint64_t seq;  /* sequence (unique) */
  int type;      /* IKEY_VALUE or IKEY_DELETION */
} rent;

static int rent_cmp(const void *a, const void *b) {
  const rent *x = a, *y = b;
  int c = ikey_bytewise(x->k, x->kn, y->k, y->kn);
  if (c) return c;
  return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Keys of 0..19 bytes from {0x00, 'a', 'b', 0xff}: many shared prefixes,
 * keys equal in their first 8 bytes, and zero bytes that pad like the
 * cached prefix does. */
static void random_key(uint8_t *k, size_t *kn) {
  static const uint8_t alpha[4] = {0x00, 'a', 'b', 0xff};
  *kn = (size_t)(test_rand() % 20);
  for (size_t i = 0; i < *kn; i++)
    k[i] = alpha[test_rand() % (i < 6 ? 2 : 4)];
}

static void check_entry(sst_iter *it, const rent *r) {
  size_t kn, vn, ul;
  uint64_t seq;
  int type;
  const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
  CHECK_EQ(ikey_parse(k, kn, &ul, &seq, &type), 0);
  CHECK_MEM(k, ul, r->k, r->kn);
  CHECK_U64(seq, r->seq);
  CHECK_EQ(type, r->type);
  if (r->type == IKEY_VALUE)
    CHECK(value_ok(v, vn, seq));
  else
    CHECK_EQ(vn, 0);
}

TEST(random_keys_against_reference) {
  enum { N = 20000 };
  rent *ref = malloc(N * sizeof *ref);
  mem_table *m = mem_create();
  uint8_t v[64];
  for (size_t i = 0; i < N; i++) {
    rent *r = &ref[i];
    random_key(r->k, &r->kn);
    r->seq = i + 1;
    r->type = test_rand() % 5 == 0 ? IKEY_DELETION : IKEY_VALUE;
    size_t vn = r->type == IKEY_VALUE ? make_value(r->seq, v) : 0;
    CHECK_EQ(mem_add(m, r->seq, r->type, r->k, r->kn, v, vn), STRATA_OK);
  }
  /* Gets at random sequences, by brute force over the unsorted ref. */
  for (int q = 0; q < 300; q++) {
    const rent *probe = &ref[test_rand() % N];
    uint64_t s = test_rand() % (N + 2);
    const rent *best = NULL;
    for (size_t i = 0; i < N; i++)
      if (ref[i].seq <= s && ref[i].kn == probe->kn &&
          memcmp(ref[i].k, probe->k, probe->kn) == 0 &&
          (!best || ref[i].seq > best->seq))
        best = &ref[i];
    uint8_t *got;
    size_t gn;
    int r = mem_get(m, probe->k, probe->kn, s, &got, &gn);
    if (!best) {
      CHECK_EQ(r, MEM_ABSENT);
    } else if (best->type == IKEY_DELETION) {
      CHECK_EQ(r, MEM_DELETED);
    } else {
      CHECK_EQ(r, MEM_FOUND);
      if (r == MEM_FOUND) CHECK(value_ok(got, gn, best->seq));
      free(got);
    }
  }
  qsort(ref, N, sizeof *ref, rent_cmp);
  sst_iter *it = mem_iter(m);
  size_t i = 0;
  for (sst_iter_seek_first(it); sst_iter_valid(it) && i < N; sst_iter_next(it))
    check_entry(it, &ref[i++]);
  CHECK_EQ(i, N);
  CHECK(!sst_iter_valid(it));
  for (sst_iter_seek_last(it); sst_iter_valid(it) && i > 0; sst_iter_prev(it))
    check_entry(it, &ref[--i]);
  CHECK_EQ(i, 0);
  CHECK(!sst_iter_valid(it));
  /* Seeks to random internal keys, then a few steps either way. */
  sst_buf t = {0};
  for (int q = 0; q < 2000; q++) {
    rent target;
    random_key(target.k, &target.kn);
    target.seq = test_rand() % (N + 2);
    t.len = 0;
    ikey_append(&t, target.k, target.kn, target.seq, IKEY_SEEK_TYPE);
    size_t lo = 0, hi = N; /* first ref >= target (seq order breaks ties) */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      int c = ikey_bytewise(ref[mid].k, ref[mid].kn, target.k, target.kn);
      if (c < 0 || (c == 0 && ref[mid].seq > target.seq))
        lo = mid + 1;
      else
        hi = mid;
    }
    sst_iter_seek(it, t.data, t.len);
    long pos = (long)lo;
    for (int step = 0; step < 6; step++) {
      if (pos < 0 || pos >= N) {
        CHECK(!sst_iter_valid(it));
        break;
      }
      CHECK(sst_iter_valid(it));
      if (!sst_iter_valid(it)) break;
      check_entry(it, &ref[pos]);
      if (test_rand() % 2) {
        sst_iter_next(it);
        pos++;
      } else {
        sst_iter_prev(it);
        pos--;
      }
    }
  }
  sst_buf_free(&t);
  sst_iter_destroy(it);
  CHECK_U64(mem_entries(m), N);
  mem_unref(m);
  free(ref);
}

/* ---- one writer, three readers ----------------------------------------- */

/* Fewer entries under ThreadSanitizer, which slows every access ~10x. */
#if defined(__SANITIZE_THREAD__)
enum { CN = 25000, CK = 3000, READERS = 3 };
#else
enum { CN = 60000, CK = 3000, READERS = 3 };
#endif

typedef struct shared {
  mem_table *m;         /* the table */
  uint8_t keys[CK][16]; /* distinct 16-byte user keys */
  uint32_t kidx[CN];    /* key of the entry with sequence i + 1 */
  _Atomic size_t done;  /* entries published (release by the writer) */
  _Atomic int failures; /* checks failed in reader threads */
} shared;

static void rfail(shared *s, int cond) {
  if (!cond) atomic_fetch_add(&s->failures, 1);
}

/* Scans the whole table: strictly increasing internal keys, each entry
 * complete and matching its sequence, at least `min` entries. */
static void reader_scan(shared *s, uint64_t *rng) {
  size_t min = atomic_load_explicit(&s->done, memory_order_acquire);
  sst_iter *it = mem_iter(s->m);
  size_t count = 0, pn = 0, kn, vn, ul;
  uint8_t prev[24];
  uint64_t seq;
  int type;
  for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    rfail(s, ikey_parse(k, kn, &ul, &seq, &type) == 0 && ul == 16 && seq >= 1 &&
                 seq <= CN);
    if (seq < 1 || seq > CN) break;
    rfail(s, memcmp(k, s->keys[s->kidx[seq - 1]], 16) == 0);
    rfail(s, value_ok(v, vn, seq));
    if (count) rfail(s, ikey_compare(SST_CMP_INTERNAL, prev, pn, k, kn) < 0);
    memcpy(prev, k, kn);
    pn = kn;
    count++;
  }
  rfail(s, count >= min);
  /* A short backward walk from a random place. */
  *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
  size_t j = (size_t)(*rng >> 33) % CN;
  uint8_t t[24];
  memcpy(t, s->keys[s->kidx[j]], 16);
  encode_fixed64(t + 16, (uint64_t)(j + 1) << 8 | IKEY_SEEK_TYPE);
  sst_iter_seek(it, t, 24);
  pn = 0;
  for (int step = 0; step < 50 && sst_iter_valid(it); step++) {
    const uint8_t *k = sst_iter_key(it, &kn);
    if (pn) rfail(s, ikey_compare(SST_CMP_INTERNAL, k, kn, prev, pn) < 0);
    memcpy(prev, k, kn);
    pn = kn;
    sst_iter_prev(it);
  }
  sst_iter_destroy(it);
}

static void *reader(void *arg) {
  shared *s = arg;
  uint64_t rng = (uint64_t)(uintptr_t)&rng;
  for (int round = 0;; round++) {
    size_t c = atomic_load_explicit(&s->done, memory_order_acquire);
    if (c == 0) continue;
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    size_t j = (size_t)(rng >> 33) % c;
    const uint8_t *key = s->keys[s->kidx[j]];
    uint8_t *v;
    size_t vn;
    /* At sequence j + 1 the newest version is entry j itself. */
    int r = mem_get(s->m, key, 16, j + 1, &v, &vn);
    rfail(s, r == MEM_FOUND && value_ok(v, vn, j + 1));
    free(v);
    /* At the newest sequence: entry j or a later version of its key. */
    r = mem_get(s->m, key, 16, IKEY_MAX_SEQUENCE, &v, &vn);
    rfail(s, r == MEM_FOUND && vn >= 8);
    if (r == MEM_FOUND && vn >= 8) {
      uint64_t seq = decode_fixed64(v);
      rfail(s, seq > j && seq <= CN && s->kidx[seq - 1] == s->kidx[j] &&
                   value_ok(v, vn, seq));
    }
    free(v);
    if (round % 8000 == 0) reader_scan(s, &rng);
    if (c == CN) break;
  }
  reader_scan(s, &rng);
  return NULL;
}

TEST(one_writer_three_readers) {
  shared *s = calloc(1, sizeof *s);
  s->m = mem_create();
  for (int i = 0; i < CK; i++)
    for (int b = 0; b < 16; b++)
      s->keys[i][b] = (uint8_t)test_rand();
  for (int i = 0; i < CN; i++)
    s->kidx[i] = (uint32_t)(test_rand() % CK);
  atomic_init(&s->done, 0);
  atomic_init(&s->failures, 0);
  pthread_t t[READERS];
  for (int i = 0; i < READERS; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, reader, s), 0);
  uint8_t v[64];
  size_t last_usage = mem_usage(s->m);
  for (size_t i = 0; i < CN; i++) {
    size_t vn = make_value(i + 1, v);
    CHECK_EQ(mem_add(s->m, i + 1, IKEY_VALUE, s->keys[s->kidx[i]], 16, v, vn),
             STRATA_OK);
    atomic_store_explicit(&s->done, i + 1, memory_order_release);
    size_t u = mem_usage(s->m);
    CHECK(u >= last_usage);
    last_usage = u;
  }
  for (int i = 0; i < READERS; i++)
    pthread_join(t[i], NULL);
  CHECK_EQ(atomic_load(&s->failures), 0);
  CHECK_U64(mem_entries(s->m), CN);
  mem_unref(s->m);
  free(s);
}
