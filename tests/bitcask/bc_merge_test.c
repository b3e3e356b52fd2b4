/*
 * bc_merge_test.c — merge under the fault-injecting env: the merge is failed
 * at every one of its env operations in turn (the failure is sticky, so it is
 * a crash at that point), then a power loss drops whatever was not synced,
 * and the directory must open with exactly the contents it had — no key lost,
 * none resurrected. Also: readers and writers keep going during a merge.
 */
#include <pthread.h>

#include "bc_test_util.h"
#include "bitcask/bitcask.h"
#include "env/env_fault.h"

/* Puts, overwrites and deletes spread over many files, one earlier merge
 * (so inputs include hinted files), deletions whose puts are in older files.
 */
static void build(const char *dir, model *m) {
  int rc;
  strata_bitcask *db = bc_open_small(dir, 2048, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  for (int i = 0; i < 120; i++) {
    char k[32], v[64];
    key_of(i, k);
    snprintf(v, sizeof v, "first-%d", i);
    put_s(db, k, v);
    model_set(m, i, v);
  }
  CHECK_EQ(strata_bitcask_merge(db), STRATA_OK);
  for (int i = 0; i < 120; i += 2) {
    char k[32], v[64];
    key_of(i, k);
    if (i % 3 == 0) {
      strata_bitcask_delete(db, k, strlen(k));
      model_set(m, i, NULL);
    } else {
      snprintf(v, sizeof v, "second-%d", i);
      put_s(db, k, v);
      model_set(m, i, v);
    }
  }
  put_s(db, "key000001", ""); /* an empty value survives merge */
  model_set(m, 1, "");
  CHECK_EQ(strata_bitcask_sync(db), STRATA_OK);
  strata_bitcask_close(db);
}

TEST(merge_crash_at_every_operation) {
  model m = {0};
  const char *base = test_path("base");
  build(base, &m);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/../work", base);
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = 2048;
  o.background_merge = 0;
  int finished = 0, points = 0, committed = 0;
  for (uint64_t n = 1; n < 5000 && !finished; n++) {
    rm_dir(dir);
    copy_dir(base, dir);
    env *fe = env_fault_create(env_posix());
    strata_bitcask *db = NULL;
    CHECK_EQ(bc_open(fe, dir, &o, &db), STRATA_OK);
    if (!db) break;
    env_fault_fail_nth(fe, n, 1);
    int rc = strata_bitcask_merge(db);
    env_fault_reset(fe);
    if (rc == STRATA_OK) CHECK_EQ(model_mismatches(db, &m), 0);
    strata_bitcask_close(db);
    env_fault_reset(fe);
    CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
    env_fault_destroy(fe);
    if (rc == STRATA_OK) finished = 1;
    points++;
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/MERGE", dir);
    committed += file_size_of(marker) >= 0; /* open must finish it */
    int orc;
    db = bc_open_small(dir, 2048, STRATA_RECOVERY_SKIP, &orc);
    CHECK_EQ(orc, STRATA_OK);
    if (db) {
      int bad = model_mismatches(db, &m);
      CHECK_MSG(bad == 0, "crash at merge operation %llu: %d keys wrong",
                (unsigned long long)n, bad);
      strata_bitcask_close(db);
    }
  }
  CHECK(finished);
  CHECK(points > 20);
  CHECK(committed > 0);
  /* after the completed merge the directory is compact and reopens from
   * hints */
  int rc;
  strata_bitcask *db = bc_open_small(dir, 2048, STRATA_RECOVERY_SKIP, &rc);
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK(s.hint_files > 0);
  CHECK_EQ(s.tombstones, 0);
  strata_bitcask_close(db);
  rm_dir(dir);
  model_free(&m);
}

/* Teaching fault: writers blocked during compaction. Puts and gets complete
 * while a merge of a few megabytes runs in another thread. */
typedef struct merger {
  strata_bitcask *db; /* the database */
  int done;           /* set when the merge returned */
  int rc;             /* its status */
} merger;

static void *merge_thread(void *p) {
  merger *m = p;
  m->rc = strata_bitcask_merge(m->db);
  __atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

TEST(writers_and_readers_progress_during_merge) {
  int rc;
  strata_bitcask *db = bc_open_small(test_path("db"), 1 << 20,
                                     STRATA_RECOVERY_SKIP, &rc);
  char v[200];
  memset(v, 'v', sizeof v - 1);
  v[sizeof v - 1] = 0;
  for (int i = 0; i < 30000; i++) {
    char k[32];
    snprintf(k, sizeof k, "old%06d", i);
    put_s(db, k, v);
  }
  merger m = {db, 0, -1};
  pthread_t t;
  pthread_create(&t, NULL, merge_thread, &m);
  int during = 0, total = 0;
  while (!__atomic_load_n(&m.done, __ATOMIC_ACQUIRE)) {
    char k[32];
    snprintf(k, sizeof k, "new%06d", total);
    CHECK_EQ(put_s(db, k, "fresh"), STRATA_OK);
    void *got = NULL;
    size_t gl;
    snprintf(k, sizeof k, "old%06d", total % 30000);
    CHECK_EQ(strata_bitcask_get(db, k, strlen(k), &got, &gl), STRATA_OK);
    free(got);
    total++;
    if (!__atomic_load_n(&m.done, __ATOMIC_ACQUIRE)) during++;
  }
  pthread_join(t, NULL);
  CHECK_EQ(m.rc, STRATA_OK);
  CHECK_MSG(during > 10, "only %d operations completed during the merge",
            during);
  for (int i = 0; i < total; i++) {
    char k[32], buf[8];
    snprintf(k, sizeof k, "new%06d", i);
    void *got = NULL;
    size_t gl = 0;
    CHECK_EQ(strata_bitcask_get(db, k, strlen(k), &got, &gl), STRATA_OK);
    CHECK_MEM(got, gl, "fresh", 5);
    free(got);
    (void)buf;
  }
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK_U64(s.keys, 30000 + (uint64_t)total);
  strata_bitcask_close(db);
}

/* Under sync none a rotation does not sync the old file (no writer stalls
 * behind a whole-file fdatasync); strata_bitcask_sync must then make every
 * rotated file durable, and a power loss after it loses nothing. */
TEST(sync_covers_rotated_files_after_power_loss) {
  const char *dir = test_path("db");
  env *fe = env_fault_create(env_posix());
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = 4096;
  o.background_merge = 0;
  strata_bitcask *db = NULL;
  CHECK_EQ(bc_open(fe, dir, &o, &db), STRATA_OK);
  model m = {0};
  for (int i = 0; i < 300; i++) {
    char k[32], v[64];
    key_of(i, k);
    snprintf(v, sizeof v, "value-%d-padding-padding", i);
    put_s(db, k, v);
    model_set(&m, i, v);
  }
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK(s.files > 3);
  CHECK_EQ(strata_bitcask_sync(db), STRATA_OK);
  for (int i = 300; i < 310; i++) { /* not synced: may be lost */
    char k[32];
    key_of(i, k);
    put_s(db, k, "unsynced");
  }
  strata_bitcask_close(db);
  CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
  env_fault_destroy(fe);
  int rc;
  db = bc_open_small(dir, 4096, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  CHECK_EQ(model_mismatches(db, &m), 0);
  strata_bitcask_close(db);
  model_free(&m);
}
