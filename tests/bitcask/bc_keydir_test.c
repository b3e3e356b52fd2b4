/*
 * bc_keydir_test.c — the key directory against a reference model: inserts
 * through several incremental resizes, updates, only-newer puts, compare-and-
 * set replace and remove, iteration by entry number, and memory per key.
 */
#include <stdlib.h>

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
