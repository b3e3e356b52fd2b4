/*
 * table_cache_test.c — the table cache keeps at most max_open tables open
 * beyond those in use, reuses open tables, closes evicted ones once
 * released, and reports open errors (a missing file).
 */
#include "sstable/compaction.h"
#include "sstable/table_builder.h"
#include "sstable/table_cache.h"
#include "test.h"

static void make(const char *dir, uint64_t number) {
  char name[512];
  sst_table_file_name(name, sizeof name, dir, number);
  strata_table_options o;
  strata_table_options_init(&o);
  sst_builder *b;
  CHECK_EQ(sst_builder_open(env_posix(), name, &o, &b), STRATA_OK);
  char k[16];
  int n = snprintf(k, sizeof k, "key%llu", (unsigned long long)number);
  CHECK_EQ(sst_builder_add(b, k, (size_t)n, "v", 1), STRATA_OK);
  CHECK_EQ(sst_builder_finish(b, NULL), STRATA_OK);
}

TEST(table_cache_bounds_open_tables) {
  const char *dir = test_tmpdir();
  for (uint64_t i = 1; i <= 10; i++)
    make(dir, i);
  strata_table_options o;
  strata_table_options_init(&o);
  sst_table_cache *c = sst_table_cache_create(env_posix(), dir, 3, &o);
  for (int round = 0; round < 3; round++)
    for (uint64_t i = 1; i <= 10; i++) {
      sst_table *t;
      sst_table_ref *r;
      CHECK_EQ(sst_table_cache_get(c, i, &t, &r), STRATA_OK);
      uint8_t *v;
      size_t vn;
      char k[16];
      int n = snprintf(k, sizeof k, "key%llu", (unsigned long long)i);
      CHECK_EQ(sst_table_get(t, (const uint8_t *)k, (size_t)n, &v, &vn),
               STRATA_OK);
      free(v);
      sst_table_cache_release(c, r);
      CHECK(sst_table_cache_open_count(c) <= 3);
    }
  /* References held: an evicted table stays usable until released. */
  sst_table *t1, *t2;
  sst_table_ref *r1, *r2, *r3;
  CHECK_EQ(sst_table_cache_get(c, 1, &t1, &r1), STRATA_OK);
  CHECK_EQ(sst_table_cache_get(c, 1, &t2, &r2), STRATA_OK);
  CHECK(t1 == t2); /* reused */
  for (uint64_t i = 2; i <= 5; i++) {
    sst_table *t;
    CHECK_EQ(sst_table_cache_get(c, i, &t, &r3), STRATA_OK);
    sst_table_cache_release(c, r3);
  }
  CHECK_EQ(sst_table_cache_open_count(c), 4); /* 3 listed + table 1 in use */
  uint8_t *v;
  size_t vn;
  CHECK_EQ(sst_table_get(t1, (const uint8_t *)"key1", 4, &v, &vn), STRATA_OK);
  free(v);
  sst_table_cache_release(c, r1);
  sst_table_cache_release(c, r2);
  CHECK_EQ(sst_table_cache_open_count(c), 3);
  sst_table_cache_evict(c, 5);
  CHECK_EQ(sst_table_cache_open_count(c), 2);
  sst_table *t;
  CHECK_EQ(sst_table_cache_get(c, 99, &t, &r3), STRATA_NOT_FOUND);
  sst_table_cache_destroy(c);
}
