/*
 * bc_keydir_test.c — the key directory against a reference model: inserts
 * through several incremental resizes, updates, only-newer puts, compare-and-
 * set replace and remove, iteration by entry number, and memory per key.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "bitcask/bc_keydir.h"
#include "strata.h"
#include "test.h"

enum { N = 200000 };

static bc_loc loc_of(uint32_t i, uint64_t ts) {
  bc_loc l;
  memset(&l, 0, sizeof l);
  l.file_id = i % 1000;
  l.offset = (uint64_t)i * 37;
  l.size = 100 + i % 50;
  l.sub = i % 7;
  l.ts = ts;
  l.expiry = i % 3 ? 0 : 1700000000u;
  l.tombstone = i % 11 == 0;
  return l;
}

TEST(keydir_model) {
  bc_keydir *kd = bc_keydir_create();
  static uint64_t ts[N];
  static unsigned char present[N];
  char k[32];
  for (uint32_t i = 0; i < N; i++) {
    snprintf(k, sizeof k, "%016x", i * 2654435761u);
    ts[i] = 10 + i;
    bc_loc l = loc_of(i, ts[i]);
    int had = 1;
    CHECK_EQ(bc_keydir_put(kd, k, 16, &l, 0, NULL, &had), STRATA_OK);
    CHECK_EQ(had, 0);
    present[i] = 1;
  }
  CHECK_U64(bc_keydir_count(kd), N);
  /* only-newer: an older entry is ignored, a newer one wins */
  for (uint32_t i = 0; i < N; i += 5) {
    snprintf(k, sizeof k, "%016x", i * 2654435761u);
    bc_loc old = loc_of(i + 1, 1);
    bc_keydir_put(kd, k, 16, &old, 1, NULL, NULL);
    bc_loc l;
    CHECK(bc_keydir_get(kd, k, 16, &l));
    CHECK_U64(l.ts, ts[i]);
    bc_loc nw = loc_of(i, ts[i] + N);
    bc_keydir_put(kd, k, 16, &nw, 1, NULL, NULL);
    ts[i] += N;
  }
  /* compare-and-set */
  for (uint32_t i = 0; i < N; i += 3) {
    snprintf(k, sizeof k, "%016x", i * 2654435761u);
    bc_loc wrong = loc_of(i, 999999999);
    bc_loc cur = loc_of(i, ts[i]);
    CHECK_EQ(bc_keydir_remove_if(kd, k, 16, &wrong), 0);
    if (i % 2) {
      CHECK_EQ(bc_keydir_remove_if(kd, k, 16, &cur), 1);
      present[i] = 0;
    } else {
      bc_loc moved = cur;
      moved.file_id = 4242;
      CHECK_EQ(bc_keydir_replace_if(kd, k, 16, &cur, &moved), 1);
    }
  }
  /* re-add some removed keys (reusing entry numbers) */
  for (uint32_t i = 3; i < N; i += 18) {
    snprintf(k, sizeof k, "%016x", i * 2654435761u);
    bc_loc l = loc_of(i, ts[i]);
    CHECK_EQ(bc_keydir_put(kd, k, 16, &l, 0, NULL, NULL), STRATA_OK);
    present[i] = 1;
  }
  size_t live = 0, tombs = 0;
  for (uint32_t i = 0; i < N; i++) {
    snprintf(k, sizeof k, "%016x", i * 2654435761u);
    bc_loc l;
    int got = bc_keydir_get(kd, k, 16, &l);
    CHECK_EQ(got, present[i]);
    if (got) {
      bc_loc want = loc_of(i, ts[i]);
      CHECK_U64(l.ts, want.ts);
      CHECK_U64(l.offset, want.offset);
      CHECK_EQ(l.size, want.size);
      CHECK_EQ(l.sub, want.sub);
      CHECK_EQ(l.expiry, want.expiry);
      CHECK_EQ(l.tombstone, want.tombstone);
      CHECK_EQ(l.file_id, i % 3 == 0 && i % 2 == 0 ? 4242u : want.file_id);
      live++;
      tombs += l.tombstone;
    }
  }
  CHECK_U64(bc_keydir_count(kd), live);
  CHECK_U64(bc_keydir_tombstones(kd), tombs);
  size_t seen = 0;
  for (size_t i = 0; i < bc_keydir_capacity(kd); i++) {
    const uint8_t *key;
    size_t kl;
    bc_loc l;
    if (bc_keydir_entry(kd, i, &key, &kl, &l)) {
      seen++;
      CHECK_EQ(kl, 16);
    }
  }
  CHECK_U64(seen, live);
  /* compact: under 100 bytes per key even at this small size */
  CHECK(bc_keydir_memory(kd) / live < 100);
  CHECK(!bc_keydir_get(kd, "absent", 6, &(bc_loc){0}));
  bc_keydir_destroy(kd);
}

TEST(keydir_reserve_then_fill) {
  bc_keydir *kd = bc_keydir_create();
  CHECK_EQ(bc_keydir_reserve(kd, 5000), STRATA_OK);
  char k[32];
  for (uint32_t i = 0; i < 5000; i++) {
    snprintf(k, sizeof k, "r%u", i);
    bc_loc l = loc_of(i, i + 1);
    CHECK_EQ(bc_keydir_put(kd, k, strlen(k), &l, 1, NULL, NULL), STRATA_OK);
  }
  for (uint32_t i = 0; i < 5000; i++) {
    snprintf(k, sizeof k, "r%u", i);
    bc_loc l;
    CHECK(bc_keydir_get(kd, k, strlen(k), &l));
    CHECK_U64(l.ts, i + 1);
  }
  CHECK_EQ(bc_keydir_reserve(kd, 1 << 20), STRATA_OK); /* no-op now */
  CHECK_U64(bc_keydir_count(kd), 5000);
  bc_keydir_destroy(kd);
}

/* bc_keydir_load says what it did: added, kept (the held entry is newer) or
 * replaced (with the previous location). */
TEST(keydir_load_effects) {
  bc_keydir *kd = bc_keydir_create();
  bc_loc a = loc_of(1, 100), prev;
  int eff = -1;
  uint32_t h = bc_keydir_hash("k", 1);
  CHECK_EQ(bc_keydir_load(kd, h, "k", 1, &a, &prev, &eff), STRATA_OK);
  CHECK_EQ(eff, BC_KEYDIR_ADDED);
  bc_loc older = loc_of(2, 50);
  CHECK_EQ(bc_keydir_load(kd, h, "k", 1, &older, &prev, &eff), STRATA_OK);
  CHECK_EQ(eff, BC_KEYDIR_KEPT);
  bc_loc l;
  CHECK(bc_keydir_get(kd, "k", 1, &l));
  CHECK_U64(l.ts, 100);
  bc_loc newer = loc_of(11, 200); /* a tombstone (11 % 11 == 0) */
  CHECK_EQ(bc_keydir_load(kd, h, "k", 1, &newer, &prev, &eff), STRATA_OK);
  CHECK_EQ(eff, BC_KEYDIR_REPLACED);
  CHECK_U64(prev.ts, 100);
  CHECK_EQ(prev.file_id, a.file_id);
  CHECK_EQ(prev.size, a.size);
  CHECK_U64(bc_keydir_tombstones(kd), 1);
  bc_loc same_ts = loc_of(3, 200); /* an equal timestamp replaces */
  CHECK_EQ(bc_keydir_load(kd, h, "k", 1, &same_ts, &prev, &eff), STRATA_OK);
  CHECK_EQ(eff, BC_KEYDIR_REPLACED);
  CHECK_U64(bc_keydir_tombstones(kd), 0);
  CHECK_U64(bc_keydir_count(kd), 1);
  bc_keydir_destroy(kd);
}

/* Wrong size estimates: far too small (the table grows while loading) and far
 * too large (it holds the keys all the same). */
TEST(keydir_reserve_wrong_estimates) {
  size_t est[2] = {10, 1 << 20};
  for (int t = 0; t < 2; t++) {
    bc_keydir *kd = bc_keydir_create();
    CHECK_EQ(bc_keydir_reserve(kd, est[t]), STRATA_OK);
    uint32_t n = t == 0 ? 100000 : 10;
    char k[32];
    for (uint32_t i = 0; i < n; i++) {
      snprintf(k, sizeof k, "w%u", i);
      bc_loc l = loc_of(i, i + 1), prev;
      int eff;
      CHECK_EQ(bc_keydir_load(kd, bc_keydir_hash(k, strlen(k)), k, strlen(k),
                              &l, &prev, &eff),
               STRATA_OK);
      CHECK_EQ(eff, BC_KEYDIR_ADDED);
    }
    CHECK_U64(bc_keydir_count(kd), n);
    for (uint32_t i = 0; i < n; i++) {
      snprintf(k, sizeof k, "w%u", i);
      bc_loc l;
      CHECK(bc_keydir_get(kd, k, strlen(k), &l));
      CHECK_U64(l.ts, i + 1);
    }
    bc_keydir_destroy(kd);
  }
}

typedef struct pool_arg {
  bc_keydir_pool *p; /* the pool */
  int stop;          /* set by the main thread (under mu) */
  pthread_mutex_t mu; /* guards stop */
} pool_arg;

static void *pool_filler(void *arg) {
  pool_arg *a = arg;
  for (;;) {
    pthread_mutex_lock(&a->mu);
    int stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    if (stop) return NULL;
    bc_keydir_pool_fill(a->p);
    usleep(100);
  }
}

/* Chunks made ready on another thread while keys go in: same contents, and
 * the chunks (from the pool or not) are all freed (ASan). */
TEST(keydir_pool_filled_by_another_thread) {
  bc_keydir *kd = bc_keydir_create();
  pool_arg a = {bc_keydir_pool_create(), 0, PTHREAD_MUTEX_INITIALIZER};
  CHECK(a.p != NULL);
  bc_keydir_set_pool(kd, a.p);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, pool_filler, &a), 0);
  enum { M = 300000 }; /* several entry and key chunks */
  char k[48];
  for (uint32_t i = 0; i < M; i++) {
    snprintf(k, sizeof k, "pool-key-%08u-padding", i);
    bc_loc l = loc_of(i, i + 1);
    CHECK_EQ(bc_keydir_put(kd, k, strlen(k), &l, 1, NULL, NULL), STRATA_OK);
  }
  pthread_mutex_lock(&a.mu);
  a.stop = 1;
  pthread_mutex_unlock(&a.mu);
  pthread_join(t, NULL);
  bc_keydir_set_pool(kd, NULL);
  bc_keydir_pool_destroy(a.p);
  for (uint32_t i = 0; i < M; i += 7) {
    snprintf(k, sizeof k, "pool-key-%08u-padding", i);
    bc_loc l;
    CHECK(bc_keydir_get(kd, k, strlen(k), &l));
    CHECK_U64(l.ts, i + 1);
  }
  CHECK_U64(bc_keydir_count(kd), M);
  bc_keydir_destroy(kd);
}
