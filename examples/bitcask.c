/*
 * bitcask.c — the Bitcask engine: a hash index over append-only files.
 *
 * Every key lives in an in-memory directory that points at its newest record
 * on disk, so a read is one positional read; writes only append. Pick it
 * when the keys fit in RAM and point reads dominate (scans are sorted in
 * memory first).
 *
 *   build: cc bitcask.c $(pkg-config --cflags --libs strata)
 *   run:   ./a.out DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata.h>

static void check(int rc, const char *what) {
  if (rc == STRATA_OK) return;
  fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc),
          strata_last_error());
  exit(1);
}

/* Scan callback: key and value are valid during the call only. */
static int print_kv(void *arg, const void *key, size_t klen, const void *value,
                    size_t vlen) {
  (void)arg;
  printf("  %.*s = %.*s\n", (int)klen, (const char *)key, (int)vlen,
         (const char *)value);
  return 0;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "bitcask.db";
  strata_bitcask_options o;
  strata_bitcask_options_init(&o); /* creates the directory; skip recovery */
  o.sync = STRATA_BITCASK_SYNC_INTERVAL; /* a background thread syncs */

  strata_bitcask *db;
  check(strata_bitcask_open(dir, &o, &db), "open");
  check(strata_bitcask_put(db, "apple", 5, "red", 3), "put");
  check(strata_bitcask_put(db, "banana", 6, "yellow", 6), "put");
  check(strata_bitcask_put(db, "cherry", 6, "dark red", 8), "put");
  check(strata_bitcask_delete(db, "banana", 6), "delete"); /* a tombstone */

  /* get hands out a malloc'd copy: free it. */
  void *v;
  size_t vlen;
  check(strata_bitcask_get(db, "apple", 5, &v, &vlen), "get");
  printf("apple = %.*s\n", (int)vlen, (char *)v);
  free(v);
  int rc = strata_bitcask_get(db, "banana", 6, &v, &vlen);
  printf("banana: %s\n", rc == STRATA_NOT_FOUND ? "deleted" : "still there?");
  if (rc != STRATA_NOT_FOUND) return 1;

  /* Several changes as one atomic record. */
  strata_batch *b = strata_batch_create();
  if (!b) return 1;
  check(strata_batch_put(b, "date", 4, "brown", 5), "batch");
  check(strata_batch_delete(b, "cherry", 6), "batch");
  check(strata_bitcask_write(db, b), "write");
  strata_batch_destroy(b);

  /* Keys in order, from "b" on (NULL bounds are open). */
  printf("keys from \"b\":\n");
  check(strata_bitcask_scan(db, "b", 1, NULL, 0, 0, 0, print_kv, NULL), "scan");

  /* Merge rewrites the live entries of older files and drops dead ones. */
  check(strata_bitcask_sync(db), "sync");
  check(strata_bitcask_merge(db), "merge");
  strata_bitcask_stats st;
  check(strata_bitcask_get_stats(db, &st), "stats");
  printf("%llu live keys, %llu data files\n", (unsigned long long)st.keys,
         (unsigned long long)st.files);
  check(strata_bitcask_close(db), "close");
  return st.keys == 2 ? 0 : 1;
}
