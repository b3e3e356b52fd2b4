/*
 * sst_block_fuzz.c — fuzz target for the table block reader
 * (src/sstable/block.c).
 *
 * Input: byte 0 chooses the key ordering (bit 0: internal keys) and, in its
 * upper bits, a seek target length; the rest is block contents.
 *
 * Invariants checked (abort() when one fails):
 *  - never a crash or a read outside the input (ASan);
 *  - a block that passes sst_block_validate scans forward without error,
 *    backward returns exactly the forward entries in reverse, and seek
 *    lands on the first key >= target with prev < target, the same entry
 *    sst_block_find returns;
 *  - a non-OK status leaves the iterator not valid, and statuses are only
 *    STRATA_OK or STRATA_CORRUPTION.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/block.h"
#include "sstable/ikey.h"
#include "strata.h"

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) abort();                                                      \
  } while (0)

enum { MAX_ENTRIES = 100000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  sst_cmp cmp = (data[0] & 1) ? SST_CMP_INTERNAL : SST_CMP_BYTEWISE;
  size_t tlen = (size_t)(data[0] >> 1) % 16;
  const uint8_t *blk = data + 1;
  size_t n = size - 1;
  uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overruns */
  if (n) memcpy(copy, blk, n);
  sst_iter *it = sst_block_iter(copy, n, 0, cmp, "fuzz", 0);
  if (!it) {
    free(copy);
    return 0;
  }
  /* A block that validates must iterate cleanly both ways and seek right. */
  int valid = sst_block_validate(copy, n, cmp, "fuzz", 0) == STRATA_OK;
  sst_buf *keys = calloc(MAX_ENTRIES, sizeof *keys);
  size_t count = 0;
  for (sst_iter_seek_first(it); sst_iter_valid(it) && count < MAX_ENTRIES;
       sst_iter_next(it)) {
    size_t kn, vn;
    const uint8_t *k = sst_iter_key(it, &kn);
    sst_iter_value(it, &vn);
    sst_buf_set(&keys[count++], k, kn);
  }
  int fwd = sst_iter_status(it);
  REQUIRE(fwd == STRATA_OK || fwd == STRATA_CORRUPTION);
  if (fwd) REQUIRE(!sst_iter_valid(it));
  if (valid) REQUIRE(fwd == STRATA_OK);
  if (valid && count < MAX_ENTRIES) {
    size_t back = count;
    for (sst_iter_seek_last(it); sst_iter_valid(it); sst_iter_prev(it)) {
      size_t kn;
      const uint8_t *k = sst_iter_key(it, &kn);
      REQUIRE(back > 0);
      back--;
      REQUIRE(kn == keys[back].len &&
              (kn == 0 || memcmp(k, keys[back].data, kn) == 0));
    }
    REQUIRE(sst_iter_status(it) == STRATA_OK);
    REQUIRE(back == 0);
  }
  /* Seek to a prefix of the input as target. */
  sst_iter *s = sst_block_iter(copy, n, 0, cmp, "fuzz", 0);
  if (s) {
    size_t t = tlen < n ? tlen : n;
    sst_iter_seek(s, copy, t);
    int st = sst_iter_status(s);
    REQUIRE(st == STRATA_OK || st == STRATA_CORRUPTION);
    if (sst_iter_valid(s)) {
      size_t kn;
      const uint8_t *k = sst_iter_key(s, &kn);
      if (valid) {
        REQUIRE(ikey_compare(cmp, k, kn, copy, t) >= 0);
        /* The one-shot lookup finds the same entry. */
        sst_buf scratch = {0};
        const uint8_t *fk, *fv;
        size_t fkn, fvn;
        REQUIRE(sst_block_find(copy, n, cmp, copy, t, &scratch, &fk, &fkn, &fv,
                               &fvn, "fuzz", 0) == 1);
        REQUIRE(fkn == kn && (kn == 0 || memcmp(fk, k, kn) == 0));
        sst_buf_free(&scratch);
        sst_iter_prev(s);
        if (sst_iter_valid(s)) {
          k = sst_iter_key(s, &kn);
          REQUIRE(ikey_compare(cmp, k, kn, copy, t) < 0);
        }
      }
    }
    sst_iter_destroy(s);
  }
  for (size_t i = 0; i < count; i++)
    sst_buf_free(&keys[i]);
  free(keys);
  sst_iter_destroy(it);
  free(copy);
  return 0;
}
