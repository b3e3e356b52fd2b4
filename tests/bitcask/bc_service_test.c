/*
 * bc_service_test.c — sync mode `interval` (the service thread): writes are
 * durable once the interval has elapsed, without the writer syncing; the
 * byte threshold wakes the thread early; close syncs what is pending. Power
 * loss is simulated with env_fault (unsynced bytes are dropped), and the same
 * runs under sync `none` lose the writes, so the checks can fail.
 */
#include <time.h>

#include "bc_test_util.h"
#include "bitcask/bitcask.h"
#include "env/env_fault.h"

enum { N = 100 };

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static uint64_t bg_syncs(strata_bitcask *db) {
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  return s.interval_syncs;
}

/* Bytes appended and not yet synced (0 once a sync ran after the last
 * write: syncs clear it under the write lock that appends take). */
static uint64_t pending_bytes(strata_bitcask *db) {
  pthread_mutex_lock(&db->svc_mu);
  uint64_t n = db->unsynced_bytes;
  pthread_mutex_unlock(&db->svc_mu);
  return n;
}

/* Opens `dir` through `fe` with the given sync settings. */
static strata_bitcask *open_fault(env *fe, const char *dir,
                                  strata_bitcask_sync_mode mode, uint32_t ms,
                                  uint64_t bytes) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.sync = mode;
  o.sync_interval_ms = ms;
  o.sync_interval_bytes = bytes;
  o.background_merge = 0;
  strata_bitcask *db = NULL;
  CHECK_EQ(bc_open(fe, dir, &o, &db), STRATA_OK);
  return db;
}

static void put_n(strata_bitcask *db, model *m) {
  for (int i = 0; i < N; i++) {
    char k[32], v[64];
    key_of(i, k);
    snprintf(v, sizeof v, "value-%d", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
}

/* Every later operation of `fe` fails (so close cannot sync), then power
 * loss; returns how many of the model's keys are wrong afterwards. */
static int crash_and_count(env *fe, strata_bitcask *db, const char *dir,
                           const model *m) {
  env_fault_fail_nth(fe, 1, 1);
  strata_bitcask_close(db);
  env_fault_reset(fe);
  CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
  strata_bitcask *r = NULL;
  CHECK_EQ(strata_bitcask_open(dir, NULL, &r), STRATA_OK);
  int bad = r ? model_mismatches(r, m) : N;
  strata_bitcask_close(r);
  return bad;
}

TEST(interval_writes_are_durable_after_the_interval) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  env *fe = env_fault_create(env_posix());
  model m = {0};
  strata_bitcask *db =
      open_fault(fe, dir, STRATA_BITCASK_SYNC_INTERVAL, 20, 1u << 30);
  put_n(db, &m);
  for (int t = 0; t < 500 && pending_bytes(db) > 0; t++)
    sleep_ms(10);
  CHECK_U64(pending_bytes(db), 0);
  CHECK(bg_syncs(db) >= 1);
  CHECK_EQ(crash_and_count(fe, db, dir, &m), 0);
  env_fault_destroy(fe);
  model_free(&m);
}

TEST(sync_none_loses_the_same_writes) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  env *fe = env_fault_create(env_posix());
  model m = {0};
  strata_bitcask *db = open_fault(fe, dir, STRATA_BITCASK_SYNC_NONE, 20, 1);
  put_n(db, &m);
  sleep_ms(100);
  CHECK_U64(bg_syncs(db), 0);
  CHECK_EQ(crash_and_count(fe, db, dir, &m), N);
  env_fault_destroy(fe);
  model_free(&m);
}

/* The interval is an hour: only the byte threshold can wake the thread. */
TEST(interval_bytes_wake_the_thread) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  env *fe = env_fault_create(env_posix());
  model m = {0};
  strata_bitcask *db =
      open_fault(fe, dir, STRATA_BITCASK_SYNC_INTERVAL, 3600000, 512);
  put_n(db, &m); /* about 3 KiB */
  for (int t = 0; t < 500 && bg_syncs(db) == 0; t++)
    sleep_ms(10);
  CHECK(bg_syncs(db) >= 1);
  /* the writes before the last sync are durable; later ones may not be */
  CHECK(crash_and_count(fe, db, dir, &m) < N);
  env_fault_destroy(fe);
  model_free(&m);
}

/* Nothing reaches the byte or time limit: close syncs what is pending. */
TEST(interval_close_syncs_pending_writes) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  env *fe = env_fault_create(env_posix());
  model m = {0};
  strata_bitcask *db =
      open_fault(fe, dir, STRATA_BITCASK_SYNC_INTERVAL, 3600000, 1u << 30);
  put_n(db, &m);
  CHECK_U64(bg_syncs(db), 0);
  CHECK_EQ(strata_bitcask_close(db), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(fe), STRATA_OK);
  strata_bitcask *r = NULL;
  CHECK_EQ(strata_bitcask_open(dir, NULL, &r), STRATA_OK);
  CHECK_EQ(model_mismatches(r, &m), 0);
  strata_bitcask_close(r);
  env_fault_destroy(fe);
  model_free(&m);
}

/* Rotation under interval does not sync in the writer; the thread syncs the
 * rotated files too (and writes their hints). */
TEST(interval_covers_rotated_files) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  env *fe = env_fault_create(env_posix());
  model m = {0};
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.sync = STRATA_BITCASK_SYNC_INTERVAL;
  o.sync_interval_ms = 20;
  o.max_file_size = 1024;
  o.background_merge = 0;
  strata_bitcask *db = NULL;
  CHECK_EQ(bc_open(fe, dir, &o, &db), STRATA_OK);
  put_n(db, &m);
  for (int t = 0; t < 500 && pending_bytes(db) > 0; t++)
    sleep_ms(10);
  CHECK_U64(pending_bytes(db), 0);
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK(s.files > 2);
  CHECK_EQ(crash_and_count(fe, db, dir, &m), 0);
  env_fault_destroy(fe);
  model_free(&m);
}
