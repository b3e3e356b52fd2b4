/*
 * lsm_range.c — iterating over a range of keys, forwards and backwards.
 *
 * An iterator merges the memtables and every table into one sorted view
 * (deleted and overwritten versions hidden). Seek to the first key of the
 * range, walk while the key is below its end, then check why it stopped:
 * strata_iter_status() is STRATA_CORRUPTION if a damaged block cut the walk
 * short (damaged data is never returned).
 *
 *   build: cc lsm_range.c $(pkg-config --cflags --libs strata)
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

/* 1 if key (klen bytes) < the C string `end`, bytewise as the engine
 * orders keys. */
static int before_end(const void *key, size_t klen, const char *end) {
  size_t elen = strlen(end), n = klen < elen ? klen : elen;
  int c = memcmp(key, end, n);
  return c < 0 || (c == 0 && klen < elen);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "lsm_range.db";
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  strata_db *db;
  check(strata_db_open(dir, &o, &db), "open");

  /* Keys "user:000" .. "user:099". */
  for (int i = 0; i < 100; i++) {
    char key[16], value[16];
    snprintf(key, sizeof key, "user:%03d", i);
    snprintf(value, sizeof value, "name %d", i);
    check(strata_db_put(db, NULL, key, strlen(key), value, strlen(value)),
          "put");
  }
  check(strata_db_delete(db, NULL, "user:042", 8), "delete");

  strata_iterator *it;
  check(strata_db_iter_create(db, NULL, &it), "iterator");

  /* Forwards over [user:040, user:045). */
  int n = 0;
  printf("user:040 .. user:045:\n");
  for (strata_iter_seek(it, "user:040", 8); strata_iter_valid(it);
       strata_iter_next(it)) {
    size_t klen, vlen;
    const char *k = strata_iter_key(it, &klen); /* valid until it moves */
    const char *v = strata_iter_value(it, &vlen);
    if (!before_end(k, klen, "user:045")) break;
    printf("  %.*s = %.*s\n", (int)klen, k, (int)vlen, v);
    n++;
  }
  check(strata_iter_status(it), "iteration");

  /* Backwards: the last three keys. */
  printf("last three, descending:\n");
  int m = 0;
  for (strata_iter_seek_last(it); strata_iter_valid(it) && m < 3;
       strata_iter_prev(it), m++) {
    size_t klen;
    const char *k = strata_iter_key(it, &klen);
    printf("  %.*s\n", (int)klen, k);
  }
  check(strata_iter_status(it), "iteration");

  /* Iterators must be destroyed before the database is closed. */
  strata_iter_destroy(it);
  check(strata_db_close(db), "close");
  return n == 4 && m == 3 ? 0 : 1; /* user:042 was deleted */
}
