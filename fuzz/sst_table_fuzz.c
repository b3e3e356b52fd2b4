/*
 * sst_table_fuzz.c — fuzz target for the table reader: footer, index,
 * metaindex, filter and data blocks, and salvage (src/sstable/
 * table_reader.c, salvage.c).
 *
 * Input: byte 0 chooses the run (bit 0: internal keys; bit 1: skip policy,
 * else absolute), the rest is a table file image.
 *
 * Invariants checked (abort() when one fails):
 *  - never a crash or a read outside the image (ASan);
 *  - open returns OK or CORRUPTION (absolute), OK (skip: a damaged footer,
 *    index or metaindex is salvaged) — or NO_MEMORY/NOT_SUPPORTED;
 *  - every damage report lies within the file;
 *  - a forward scan and a backward scan return the same entries in reverse
 *    when both end with STRATA_OK; under skip they always end with OK;
 *  - point lookups of every returned key (bytewise tables) find that key's
 *    value, or report corruption;
 *  - statuses are sticky: a non-OK iterator is not valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/sst_buf.h"
#include "sstable/table_reader.h"
#include "strata.h"

#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) abort();                                                      \
  } while (0)

enum { MAX_ENTRIES = 50000 };

static size_t image_size;

static void on_damage(void *arg, const strata_table_damage *d) {
  (void)arg;
  REQUIRE(d->damage.offset <= image_size);
  REQUIRE(d->damage.bytes <= image_size - d->damage.offset);
  REQUIRE(d->block != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = data[0] & 1;
  o.policy = (data[0] & 2) ? STRATA_RECOVERY_SKIP : STRATA_RECOVERY_ABSOLUTE;
  image_size = size - 1;
  sst_table *t = NULL;
  int rc = sst_table_open_mem(data + 1, size - 1, "fuzz.ldb", &o, on_damage,
                              NULL, &t);
  if (rc == STRATA_NO_MEMORY || rc == STRATA_NOT_SUPPORTED) return 0;
  if (o.policy == STRATA_RECOVERY_SKIP)
    REQUIRE(rc == STRATA_OK);
  else
    REQUIRE(rc == STRATA_OK || rc == STRATA_CORRUPTION);
  if (rc) return 0;
  sst_iter *it = sst_table_iter(t);
  REQUIRE(it != NULL);
  sst_buf *keys = calloc(MAX_ENTRIES, sizeof *keys);
  sst_buf *vals = calloc(MAX_ENTRIES, sizeof *vals);
  size_t count = 0;
  for (sst_iter_seek_first(it); sst_iter_valid(it) && count < MAX_ENTRIES;
       sst_iter_next(it)) {
    size_t kn, vn;
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    sst_buf_set(&keys[count], k, kn);
    sst_buf_set(&vals[count], v, vn);
    count++;
  }
  int fwd = sst_iter_status(it);
  if (fwd) REQUIRE(!sst_iter_valid(it));
  if (o.policy == STRATA_RECOVERY_SKIP) REQUIRE(fwd == STRATA_OK);
  if (fwd == STRATA_OK && count < MAX_ENTRIES) {
    size_t back = count;
    for (sst_iter_seek_last(it); sst_iter_valid(it); sst_iter_prev(it)) {
      size_t kn;
      const uint8_t *k = sst_iter_key(it, &kn);
      REQUIRE(back > 0);
      back--;
      REQUIRE(kn == keys[back].len &&
              (kn == 0 || memcmp(k, keys[back].data, kn) == 0));
    }
    if (sst_iter_status(it) == STRATA_OK) REQUIRE(back == 0);
  }
  sst_iter_destroy(it);
  /* Lookups: a bytewise table with sorted, distinct keys must find each. */
  int sorted = 1;
  for (size_t i = 1; i < count; i++)
    if (ikey_compare(sst_table_cmp(t), keys[i - 1].data, keys[i - 1].len,
                     keys[i].data, keys[i].len) >= 0)
      sorted = 0;
  for (size_t i = 0; i < count && i < 64 && !o.internal_keys && sorted &&
                     fwd == STRATA_OK && !sst_table_is_salvaged(t);
       i++) {
    uint8_t *v = NULL;
    size_t vn;
    int g = sst_table_get(t, keys[i].data, keys[i].len, &v, &vn);
    REQUIRE(g == STRATA_OK || g == STRATA_CORRUPTION ||
            g == STRATA_NOT_FOUND); /* a lying filter may hide it */
    if (g == STRATA_OK)
      REQUIRE(vn == vals[i].len &&
              (vn == 0 || memcmp(v, vals[i].data, vn) == 0));
    free(v);
  }
  for (size_t i = 0; i < count; i++) {
    sst_buf_free(&keys[i]);
    sst_buf_free(&vals[i]);
  }
  free(keys);
  free(vals);
  sst_table_close(t);
  return 0;
}
