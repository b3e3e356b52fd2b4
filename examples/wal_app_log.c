/*
 * wal_app_log.c — the write-ahead log as an application's durable log.
 *
 * An application keeps its state in memory (here: a few counters) and makes
 * every change durable by appending it to a WAL before applying it. Now and
 * then it saves its state elsewhere (a "checkpoint file") and tells the WAL
 * up to which sequence number that file covers; after a restart it loads the
 * saved state and replays only the batches after the checkpoint.
 *
 *   build: cc wal_app_log.c $(pkg-config --cflags --libs strata)
 *   run:   ./a.out DIR      (DIR is created; it must not hold anything else)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata.h>

/* Stops the program with the library's detailed message. */
static void check(int rc, const char *what) {
  if (rc == STRATA_OK) return;
  fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc),
          strata_last_error());
  exit(1);
}

/* Appends one atomic batch: "name" = "value" and, optionally, a delete. */
static uint64_t log_change(strata_wal *wal, const char *name, const char *value,
                           const char *deleted) {
  strata_batch *b = strata_batch_create();
  if (!b) exit(1);
  check(strata_batch_put(b, name, strlen(name), value, strlen(value)), "put");
  if (deleted) check(strata_batch_delete(b, deleted, strlen(deleted)), "del");
  uint64_t seq;
  /* Atomic: after a crash the whole batch is there or none of it. */
  check(strata_wal_append(wal, b, &seq), "append");
  strata_batch_destroy(b);
  return seq;
}

/* Replay callback: one operation of a committed batch, in order. */
static int apply(void *arg, uint64_t seq, int op, const void *key, size_t klen,
                 const void *value, size_t vlen) {
  int *applied = arg;
  if (op == STRATA_OP_PUT)
    printf("  replay %llu: set %.*s = %.*s\n", (unsigned long long)seq,
           (int)klen, (const char *)key, (int)vlen, (const char *)value);
  else
    printf("  replay %llu: delete %.*s\n", (unsigned long long)seq, (int)klen,
           (const char *)key);
  (*applied)++;
  return 0; /* non-zero would stop the replay */
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "wal_app_log.db";
  strata_wal_options o;
  strata_wal_options_init(&o); /* defaults: sync always, point-in-time */
  /* Here appends only reach the kernel, and the application calls
   * strata_wal_sync before it acknowledges them: one fdatasync for many
   * appends. (The default, STRATA_WAL_SYNC_ALWAYS, syncs in every append;
   * STRATA_WAL_SYNC_INTERVAL lets a background thread do it.) */
  o.sync = STRATA_WAL_SYNC_NONE;

  /* 1. Run: log three changes, checkpoint after the first two. */
  strata_wal *wal;
  check(strata_wal_open(dir, &o, &wal), "open");
  uint64_t s1 = log_change(wal, "alice", "10", NULL);
  uint64_t s2 = log_change(wal, "bob", "20", NULL);
  check(strata_wal_sync(wal), "sync"); /* s1 and s2 are durable now */
  /* ... the application saves {alice: 10, bob: 20} somewhere, then: */
  check(strata_wal_checkpoint(wal, s2), "checkpoint");
  uint64_t s3 = log_change(wal, "carol", "30", "alice");
  check(strata_wal_sync(wal), "sync");
  printf("logged batches at sequences %llu, %llu, %llu; checkpoint at %llu\n",
         (unsigned long long)s1, (unsigned long long)s2, (unsigned long long)s3,
         (unsigned long long)strata_wal_checkpointed(wal));
  check(strata_wal_close(wal), "close");

  /* 2. Restart: reopening recovers the log (a torn tail left by a crash is
   * cut off); replay what came after the checkpoint. */
  check(strata_wal_open(dir, &o, &wal), "reopen");
  uint64_t from = strata_wal_checkpointed(wal);
  int applied = 0;
  check(strata_wal_replay(wal, from, apply, &applied), "replay");
  printf("replayed %d operations after sequence %llu\n", applied,
         (unsigned long long)from);

  /* 3. Segments wholly covered by the checkpoint may be deleted. */
  check(strata_wal_truncate_front(wal, from), "truncate");
  check(strata_wal_close(wal), "close");
  return applied == 2 ? 0 : 1; /* carol's put and alice's delete */
}
