/*
 * cache_test.c — the sharded LRU block cache: the byte budget holds, the
 * most recently used entries survive, an entry evicted while referenced
 * stays readable until released, and replacing a key works.
 */
#include <stdlib.h>

#include "sstable/cache.h"
#include "test.h"

static uint8_t *block(size_t n, uint8_t fill) {
  uint8_t *b = malloc(n);
  memset(b, fill, n);
  return b;
}

TEST(cache_budget_and_lru) {
  sst_cache *c = strata_block_cache_create(16 * 1024); /* 1 KiB per shard */
  uint64_t id = sst_cache_new_id(c);
  for (uint64_t off = 0; off < 1000; off++) {
    sst_cache_entry *e =
        sst_cache_insert(c, id, off, block(100, (uint8_t)off), 100);
    CHECK(e != NULL);
    sst_cache_release(c, e);
    CHECK(sst_cache_usage(c) <= 16 * 1024);
  }
  /* The last one inserted is still there, with its bytes. */
  sst_cache_entry *e = sst_cache_lookup(c, id, 999);
  CHECK(e != NULL);
  if (e) {
    size_t n;
    const uint8_t *d = sst_cache_data(e, &n);
    CHECK_EQ(n, 100);
    CHECK_EQ(d[0], (uint8_t)999);
    sst_cache_release(c, e);
  }
  /* The first ones are gone. */
  CHECK(sst_cache_lookup(c, id, 0) == NULL);
  /* Another table's id does not see this one's blocks. */
  CHECK(sst_cache_lookup(c, sst_cache_new_id(c), 999) == NULL);
  strata_block_cache_destroy(c);
}

TEST(cache_evicted_while_referenced) {
  sst_cache *c = strata_block_cache_create(16 * 200);
  sst_cache_entry *held = sst_cache_insert(c, 1, 0, block(150, 7), 150);
  /* Flood every shard so entry (1, 0) is evicted. */
  for (uint64_t off = 1; off < 500; off++)
    sst_cache_release(c, sst_cache_insert(c, 1, off, block(150, 1), 150));
  size_t n;
  const uint8_t *d = sst_cache_data(held, &n);
  CHECK_EQ(n, 150);
  CHECK_EQ(d[149], 7); /* still readable (ASan checks it is not freed) */
  sst_cache_release(c, held);
  /* Replacing a key: the new block wins. */
  sst_cache_release(c, sst_cache_insert(c, 2, 5, block(10, 1), 10));
  sst_cache_release(c, sst_cache_insert(c, 2, 5, block(10, 2), 10));
  sst_cache_entry *e = sst_cache_lookup(c, 2, 5);
  CHECK(e != NULL);
  if (e) {
    CHECK_EQ(sst_cache_data(e, &n)[0], 2);
    sst_cache_release(c, e);
  }
  strata_block_cache_destroy(c);
}
