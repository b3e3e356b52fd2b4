/*
 * merge_test.c — the merging iterator against a sorted reference: random
 * sources (some empty, shared keys across sources), random walks mixing
 * next, prev and seek so that every direction change is exercised, and
 * internal keys where the newest version must come first.
 */
#include <stdlib.h>

#include "sstable/block.h"
#include "sstable/merge.h"
#include "strata.h"
#include "test.h"

typedef struct ref {
  char k[16]; /* key */
  int src;    /* source index */
} ref;

static int ref_cmp(const void *a, const void *b) {
  const ref *x = a, *y = b;
  int c = strcmp(x->k, y->k);
  return c ? c : x->src - y->src;
}

enum { NSRC = 5, MAXK = 200 };

TEST(merge_random_walks) {
  for (int round = 0; round < 30; round++) {
    sst_block_builder b[NSRC];
    ref all[NSRC * MAXK];
    size_t nall = 0;
    sst_iter *kids[NSRC];
    for (int s = 0; s < NSRC; s++) {
      sst_block_builder_init(&b[s], 4);
      int n = (int)(test_rand() % (s == 2 ? 1 : MAXK)); /* source 2 empty */
      int key = 0;
      for (int i = 0; i < n; i++) {
        key += 1 + (int)(test_rand() % 4);
        char k[16];
        snprintf(k, sizeof k, "%05d", key);
        char v = (char)('0' + s);
        sst_block_builder_add(&b[s], k, 5, &v, 1);
        memcpy(all[nall].k, k, 6);
        all[nall++].src = s;
      }
      size_t size;
      const uint8_t *d = sst_block_builder_finish(&b[s], &size);
      kids[s] = sst_block_iter(d, size, 0, SST_CMP_BYTEWISE, "m", 0);
    }
    qsort(all, nall, sizeof *all, ref_cmp);
    sst_iter *m = sst_merge_iter(kids, NSRC, SST_CMP_BYTEWISE);
    /* full scans */
    size_t i = 0, kn, vn;
    for (sst_iter_seek_first(m); sst_iter_valid(m); sst_iter_next(m), i++) {
      const uint8_t *k = sst_iter_key(m, &kn), *v = sst_iter_value(m, &vn);
      CHECK_MEM(k, kn, all[i].k, 5);
      CHECK_EQ(v[0] - '0', all[i].src);
    }
    CHECK_EQ(i, nall);
    for (sst_iter_seek_last(m); sst_iter_valid(m); sst_iter_prev(m)) {
      i--;
      const uint8_t *k = sst_iter_key(m, &kn), *v = sst_iter_value(m, &vn);
      CHECK_MEM(k, kn, all[i].k, 5);
      CHECK_EQ(v[0] - '0', all[i].src);
    }
    CHECK_EQ(i, 0);
    /* random walk */
    long pos = -1; /* index into all, or -1 / nall when not valid */
    for (int step = 0; step < 400 && nall; step++) {
      int op = (int)(test_rand() % 6);
      if (op == 0) {
        char k[16];
        snprintf(k, sizeof k, "%05d", (int)(test_rand() % 700));
        sst_iter_seek(m, (const uint8_t *)k, 5);
        pos = 0;
        while ((size_t)pos < nall && strcmp(all[pos].k, k) < 0)
          pos++;
      } else if (op <= 2 && pos >= 0 && (size_t)pos < nall) {
        sst_iter_next(m);
        pos++;
      } else if (pos >= 0 && (size_t)pos < nall) {
        sst_iter_prev(m);
        pos--;
      } else {
        sst_iter_seek_first(m);
        pos = 0;
      }
      if (pos < 0 || (size_t)pos >= nall) {
        CHECK(!sst_iter_valid(m));
        pos = -1;
        continue;
      }
      CHECK(sst_iter_valid(m));
      if (!sst_iter_valid(m)) break;
      const uint8_t *k = sst_iter_key(m, &kn), *v = sst_iter_value(m, &vn);
      CHECK_MEM(k, kn, all[pos].k, 5);
      CHECK_EQ(v[0] - '0', all[pos].src);
    }
    CHECK_EQ(sst_iter_status(m), STRATA_OK);
    sst_iter_destroy(m);
    for (int s = 0; s < NSRC; s++)
      sst_block_builder_free(&b[s]);
  }
}

/* Internal keys: the newest version (highest sequence) comes first, from
 * whichever source holds it. */
TEST(merge_internal_newest_first) {
  sst_block_builder b[2];
  sst_buf k = {0};
  sst_iter *kids[2];
  for (int s = 0; s < 2; s++) {
    sst_block_builder_init(&b[s], 16);
    for (int i = 0; i < 10; i++) {
      k.len = 0;
      char u[4];
      snprintf(u, sizeof u, "k%d", i);
      /* source 0 holds newer versions of even keys, source 1 of odd keys */
      uint64_t seq = (uint64_t)(((i % 2) == s) ? 100 + i : i);
      ikey_append(&k, u, 2, seq, IKEY_VALUE);
      sst_block_builder_add(&b[s], k.data, k.len, "", 0);
    }
    size_t size;
    const uint8_t *d = sst_block_builder_finish(&b[s], &size);
    kids[s] = sst_block_iter(d, size, 0, SST_CMP_INTERNAL, "m", 0);
  }
  sst_iter *m = sst_merge_iter(kids, 2, SST_CMP_INTERNAL);
  int n = 0;
  for (sst_iter_seek_first(m); sst_iter_valid(m); sst_iter_next(m), n++) {
    size_t kn, ul;
    const uint8_t *key = sst_iter_key(m, &kn);
    uint64_t seq;
    int type;
    CHECK_EQ(ikey_parse(key, kn, &ul, &seq, &type), 0);
    if (n % 2 == 0)
      CHECK(seq >= 100); /* first of each pair: newest */
    else
      CHECK(seq < 100);
  }
  CHECK_EQ(n, 20);
  sst_iter_destroy(m);
  sst_buf_free(&k);
  for (int s = 0; s < 2; s++)
    sst_block_builder_free(&b[s]);
}
