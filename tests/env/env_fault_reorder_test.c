/*
 * env_fault_reorder_test.c — the ALICE-style power loss of env_fault (a
 * random prefix of each file's unsynced appends survives) and the failed-
 * fsync model (env_fault_set_sync_loses: a failed sync freezes what the file
 * can keep).
 */
#include "env/env_fault.h"
#include "test.h"

#include "strata.h"

#include <stdlib.h>

static void write_two(env *e, const char *path, const char *synced,
                      const char *unsynced) {
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &f), STRATA_OK);
  if (!f) return;
  CHECK_EQ(env_append(f, synced, strlen(synced)), STRATA_OK);
  CHECK_EQ(env_datasync(f), STRATA_OK);
  CHECK_EQ(env_append(f, unsynced, strlen(unsynced)), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
}

static size_t size_of(const char *path) {
  uint64_t n = 0;
  if (env_size(env_posix(), path, &n) != STRATA_OK) return (size_t)-1;
  return (size_t)n;
}

/* Over many seeds, each file keeps its synced bytes plus a prefix of its
 * unsynced ones; the prefixes vary (none, part, all) and differ per file. */
TEST(prefix_power_loss_keeps_a_prefix_per_file) {
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s", test_path("a"));
  snprintf(b, sizeof b, "%s", test_path("b"));
  int seen_none = 0, seen_all = 0, seen_part = 0, seen_differ = 0;
  for (uint64_t seed = 1; seed <= 64; seed++) {
    env *e = env_fault_create(env_posix());
    write_two(e, a, "synced", "0123456789");
    write_two(e, b, "synced", "0123456789");
    CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
    CHECK_EQ(env_fault_power_loss_prefix(e, seed), STRATA_OK);
    size_t na = size_of(a), nb = size_of(b);
    CHECK(na >= 6 && na <= 16);
    CHECK(nb >= 6 && nb <= 16);
    size_t len;
    FILE *f = fopen(a, "rb");
    char buf[32] = {0};
    len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK_EQ(len, na);
    CHECK(memcmp(buf, "synced0123456789", len) == 0);
    seen_none |= na == 6;
    seen_all |= na == 16;
    seen_part |= na > 6 && na < 16;
    seen_differ |= na != nb;
    env_fault_destroy(e);
  }
  CHECK(seen_none);
  CHECK(seen_all);
  CHECK(seen_part);
  CHECK(seen_differ);
}

/* A file created and never made durable by a directory sync still vanishes. */
TEST(prefix_power_loss_still_drops_undurable_names) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  snprintf(p, sizeof p, "%s", test_path("new"));
  write_two(e, p, "synced", "more");
  CHECK_EQ(env_fault_power_loss_prefix(e, 7), STRATA_OK);
  CHECK_EQ(env_exists(env_posix(), p), 0);
  env_fault_destroy(e);
}

/* After a failed fdatasync under sync_loses, a later successful sync
 * through the same handle does not make the file's data durable; without
 * it, it does; a handle opened afterwards syncs again. */
TEST(failed_sync_is_never_made_good_later) {
  for (int loses = 0; loses <= 1; loses++) {
    env *e = env_fault_create(env_posix());
    env_fault_set_sync_loses(e, loses);
    char p[4096];
    snprintf(p, sizeof p, "%s", test_path(loses ? "l1" : "l0"));
    env_file *f;
    CHECK_EQ(env_open_append(e, p, ENV_CREATE, &f), STRATA_OK);
    CHECK_EQ(env_append(f, "aaaa", 4), STRATA_OK);
    CHECK_EQ(env_datasync(f), STRATA_OK);
    CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
    CHECK_EQ(env_append(f, "bbbb", 4), STRATA_OK);
    env_fault_fail_nth(e, 1, 0);
    CHECK_EQ(env_datasync(f), STRATA_IO_ERROR);
    CHECK_EQ(env_append(f, "cccc", 4), STRATA_OK);
    CHECK_EQ(env_datasync(f), STRATA_OK); /* "succeeds" */
    CHECK_EQ(env_close(f), STRATA_OK);
    CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
    CHECK_EQ(size_of(p), loses ? 4 : 12);
    CHECK_EQ(env_open_append(e, p, 0, &f), STRATA_OK);
    CHECK_EQ(env_append(f, "dddd", 4), STRATA_OK);
    CHECK_EQ(env_datasync(f), STRATA_OK);
    CHECK_EQ(env_close(f), STRATA_OK);
    CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
    CHECK_EQ(size_of(p), loses ? 8 : 16);
    env_fault_destroy(e);
  }
}
