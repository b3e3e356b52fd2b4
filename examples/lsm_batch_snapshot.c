/*
 * lsm_batch_snapshot.c — atomic batches and consistent snapshots.
 *
 * A batch (strata_batch) applies many puts and deletes atomically: after a
 * crash either all of them are visible or none. A snapshot is a read view
 * frozen at one moment: reads through it ignore every later write.
 * Here: a transfer between two accounts, read through a snapshot taken
 * before it.
 *
 *   build: cc lsm_batch_snapshot.c $(pkg-config --cflags --libs strata)
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

/* The balance of `account` as of `snap` (NULL: now). */
static int balance(strata_db *db, const strata_snapshot *snap,
                   const char *account) {
  strata_read_options ro;
  strata_read_options_init(&ro);
  ro.snapshot = snap;
  void *v;
  size_t vlen;
  check(strata_db_get(db, &ro, account, strlen(account), &v, &vlen), "get");
  char text[32];
  snprintf(text, sizeof text, "%.*s", (int)vlen, (char *)v);
  free(v);
  return atoi(text);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "lsm_batch_snapshot.db";
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  strata_db *db;
  check(strata_db_open(dir, &o, &db), "open");
  check(strata_db_put(db, NULL, "alice", 5, "100", 3), "put");
  check(strata_db_put(db, NULL, "bob", 3, "50", 2), "put");

  /* Freeze a view before the transfer. */
  const strata_snapshot *before = strata_db_get_snapshot(db);

  /* Move 30 from alice to bob: both writes or neither. */
  strata_batch *b = strata_batch_create();
  if (!b) return 1;
  check(strata_batch_put(b, "alice", 5, "70", 2), "batch put");
  check(strata_batch_put(b, "bob", 3, "80", 2), "batch put");
  check(strata_batch_delete(b, "pending-transfer", 16), "batch delete");
  strata_write_options wo;
  strata_write_options_init(&wo);
  wo.sync = 1;
  check(strata_db_write(db, &wo, b), "write");
  strata_batch_destroy(b);

  printf("now:    alice %d, bob %d\n", balance(db, NULL, "alice"),
         balance(db, NULL, "bob"));
  printf("before: alice %d, bob %d (snapshot at sequence %llu)\n",
         balance(db, before, "alice"), balance(db, before, "bob"),
         (unsigned long long)strata_snapshot_sequence(before));
  int ok = balance(db, before, "alice") + balance(db, before, "bob") == 150 &&
           balance(db, NULL, "alice") + balance(db, NULL, "bob") == 150 &&
           balance(db, before, "bob") == 50;

  /* Snapshots belong to the database: release them before closing. */
  strata_db_release_snapshot(db, before);
  check(strata_db_close(db), "close");
  return ok ? 0 : 1;
}
