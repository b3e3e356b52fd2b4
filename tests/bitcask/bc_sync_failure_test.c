/*
 * bc_sync_failure_test.c — a failed fdatasync is never made good by a later
 * one (issue 8 item 6; found by the torture I/O-error campaign, `torture
 * --campaign ioerr`: EIO once on the active file's fdatasync, then later
 * writes and a strata_bitcask_sync that returned OK although, on Linux, the
 * kernel may have dropped the pages of the failed sync). env_fault's
 * sync_loses models that: after a failed sync through a handle, later syncs
 * through it make nothing durable.
 */
#include "bitcask/bitcask.h"
#include "env/env_fault.h"
#include "test.h"

#include "strata.h"

#include <stdlib.h>

static strata_bitcask *open_env(env *e, const char *dir, uint64_t fsize) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.background_merge = 0;
  o.max_file_size = fsize;
  strata_bitcask *db = NULL;
  CHECK_EQ(bc_open(e, dir, &o, &db), STRATA_OK);
  return db;
}

static int has(const char *dir, const char *key) {
  strata_bitcask *db;
  if (strata_bitcask_open(dir, NULL, &db) != STRATA_OK) return -1;
  void *v = NULL;
  size_t vl;
  int rc = strata_bitcask_get(db, key, strlen(key), &v, &vl);
  free(v);
  strata_bitcask_close(db);
  return rc == STRATA_OK;
}

/* The active file's sync fails: every later sync fails too (reopen to
 * recover), so no write after the failure is reported durable. */
TEST(active_file_sync_failure_is_sticky) {
  const char *dir = test_path("db");
  env *e = env_fault_create(env_posix());
  env_fault_set_sync_loses(e, 1);
  strata_bitcask *db = open_env(e, dir, 1 << 20);
  if (!db) return;
  CHECK_EQ(strata_bitcask_put(db, "k1", 2, "v1", 2), STRATA_OK);
  CHECK_EQ(strata_bitcask_sync(db), STRATA_OK);
  CHECK_EQ(strata_bitcask_put(db, "k2", 2, "v2", 2), STRATA_OK);
  env_fault_fail_nth(e, 1, 0); /* the fdatasync */
  CHECK_EQ(strata_bitcask_sync(db), STRATA_IO_ERROR);
  int put3 = strata_bitcask_put(db, "k3", 2, "v3", 2);
  int sync3 = strata_bitcask_sync(db);
  CHECK_MSG(put3 != STRATA_OK || sync3 != STRATA_OK,
            "a sync after a failed sync reported k3 durable");
  strata_bitcask_close(db);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  env_fault_destroy(e);
  CHECK_EQ(has(dir, "k1"), 1);
  if (put3 == STRATA_OK && sync3 == STRATA_OK) CHECK_EQ(has(dir, "k3"), 1);
}

/* Same for a rotated file synced by strata_bitcask_sync (SYNC_NONE: rotation
 * does not sync it). */
TEST(rotated_file_sync_failure_is_sticky) {
  const char *dir = test_path("db");
  env *e = env_fault_create(env_posix());
  env_fault_set_sync_loses(e, 1);
  strata_bitcask *db = open_env(e, dir, 4096);
  if (!db) return;
  char key[16], val[600];
  memset(val, 'x', sizeof val);
  for (int i = 0; i < 12; i++) { /* a few rotations */
    snprintf(key, sizeof key, "k%02d", i);
    CHECK_EQ(strata_bitcask_put(db, key, strlen(key), val, sizeof val),
             STRATA_OK);
  }
  env_fault_fail_nth(e, 1, 0); /* the first rotated file's fdatasync */
  CHECK_EQ(strata_bitcask_sync(db), STRATA_IO_ERROR);
  CHECK_MSG(strata_bitcask_sync(db) != STRATA_OK,
            "a sync after a failed sync of a rotated file reported success");
  strata_bitcask_close(db);
  env_fault_destroy(e);
}
