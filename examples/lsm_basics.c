/*
 * lsm_basics.c — open an LSM database, put, get, delete, close.
 *
 * The LSM engine keeps keys in order (bytewise) in a LevelDB 1.23-compatible
 * directory: LevelDB can open what this writes, and strata opens LevelDB's.
 * Pick it for ordered data, range scans, and data larger than memory.
 *
 *   build: cc lsm_basics.c $(pkg-config --cflags --libs strata)
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

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "lsm_basics.db";

  strata_options o;
  strata_options_init(&o); /* the defaults do not create the database */
  o.create_if_missing = 1;
  strata_db *db;
  check(strata_db_open(dir, &o, &db), "open");

  /* NULL write options: the defaults (no fdatasync per write; the WAL still
   * survives a crash of the process). Set .sync = 1 for power loss too. */
  check(strata_db_put(db, NULL, "apple", 5, "red", 3), "put");
  check(strata_db_put(db, NULL, "pear", 4, "green", 5), "put");

  /* get hands out a malloc'd copy: free it. */
  void *v;
  size_t vlen;
  check(strata_db_get(db, NULL, "apple", 5, &v, &vlen), "get");
  printf("apple = %.*s\n", (int)vlen, (char *)v);
  free(v);

  strata_write_options sync_write;
  strata_write_options_init(&sync_write);
  sync_write.sync = 1; /* durable before it returns */
  check(strata_db_delete(db, &sync_write, "apple", 5), "delete");

  int rc = strata_db_get(db, NULL, "apple", 5, &v, &vlen);
  printf("apple after delete: %s\n", strata_strerror(rc));
  if (rc != STRATA_NOT_FOUND) return 1;
  check(strata_db_close(db), "close");

  /* Reopen: the writes were recovered from the WAL (or tables). */
  check(strata_db_open(dir, &o, &db), "reopen");
  check(strata_db_get(db, NULL, "pear", 4, &v, &vlen), "get after reopen");
  printf("pear = %.*s (after reopening)\n", (int)vlen, (char *)v);
  free(v);
  check(strata_db_close(db), "close");
  return 0;
}
