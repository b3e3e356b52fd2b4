/*
 * env_fault_test.c — the fault-injecting env: the operation counter, failing
 * the Nth operation (once and sticky), torn appends, and the power-loss model
 * (unsynced data, non-durable creations, renames and removals).
 */
#include "env/env_fault.h"
#include "test.h"

#include "strata.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static int contains(const char *hay, const char *needle) {
  return strstr(hay, needle) != NULL;
}

/* Copies test_path(name) to a caller buffer (test_path's is shared). */
static const char *tp(char *buf, const char *name) {
  snprintf(buf, 4096, "%s", test_path(name));
  return buf;
}

/* Creates (or truncates) path through e, appends `synced` then syncs, then
 * appends `unsynced`, and closes. */
static void write_file(env *e, const char *path, const char *synced,
                       const char *unsynced) {
  env_file *f;
  CHECK_EQ(env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &f), STRATA_OK);
  if (!f) return;
  CHECK_EQ(env_append(f, synced, strlen(synced)), STRATA_OK);
  CHECK_EQ(env_datasync(f), STRATA_OK);
  CHECK_EQ(env_append(f, unsynced, strlen(unsynced)), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
}

/* The names in the test directory, joined by spaces. */
static const char *listing(void) {
  static char buf[4096];
  char **names = NULL;
  size_t n = 0;
  buf[0] = '\0';
  CHECK_EQ(env_list_dir(env_posix(), test_tmpdir(), &names, &n), STRATA_OK);
  for (size_t i = 0; i < n; i++) {
    if (i) strncat(buf, " ", sizeof buf - strlen(buf) - 1);
    strncat(buf, names[i], sizeof buf - strlen(buf) - 1);
  }
  env_free_list(names, n);
  return buf;
}

/* The content of path read through the POSIX env; "<absent>" if missing. */
static const char *content(const char *path) {
  static char buf[4096];
  env_file *f;
  size_t got = 0;
  if (env_open_read(env_posix(), path, &f) != STRATA_OK) return "<absent>";
  CHECK_EQ(env_read(f, buf, sizeof buf - 1, &got), STRATA_OK);
  buf[got] = '\0';
  env_close(f);
  return buf;
}

TEST(counts_every_operation) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  CHECK_U64(env_fault_ops(e), 0);
  env_file *f;
  CHECK_EQ(env_open_append(e, p, ENV_CREATE, &f), STRATA_OK); /* 1 */
  CHECK_EQ(env_append(f, "abc", 3), STRATA_OK);               /* 2 */
  CHECK_EQ(env_datasync(f), STRATA_OK);                       /* 3 */
  uint64_t size;
  CHECK_EQ(env_file_size(f, &size), STRATA_OK); /* 4 */
  CHECK_EQ(env_close(f), STRATA_OK);            /* 5 */
  CHECK_U64(env_fault_ops(e), 5);
  CHECK_EQ(env_exists(e, p), 1);                       /* 6 */
  CHECK_EQ(env_size(e, p, &size), STRATA_OK);          /* 7 */
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK); /* 8 */
  char **names;
  size_t n;
  CHECK_EQ(env_list_dir(e, test_tmpdir(), &names, &n), STRATA_OK); /* 9 */
  env_free_list(names, n);
  CHECK_EQ(env_open_read(e, p, &f), STRATA_OK); /* 10 */
  char buf[8];
  size_t got;
  CHECK_EQ(env_read(f, buf, 8, &got), STRATA_OK);     /* 11 */
  CHECK_EQ(env_pread(f, 1, buf, 8, &got), STRATA_OK); /* 12 */
  CHECK_EQ(env_close(f), STRATA_OK);                  /* 13 */
  env_lock *l;
  CHECK_EQ(env_lock_file(e, test_path("LOCK"), &l), STRATA_OK); /* 14 */
  CHECK_EQ(env_unlock_file(l), STRATA_OK);                      /* 15 */
  CHECK_U64(env_fault_ops(e), 15);
  /* Failed operations count too. */
  CHECK_EQ(env_open_read(e, test_path("missing"), &f), STRATA_NOT_FOUND);
  CHECK_U64(env_fault_ops(e), 16);
  env_fault_destroy(e);
  env_fault_destroy(NULL);
}

TEST(fail_nth_once) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  env_file *f;
  CHECK_EQ(env_open_append(e, p, ENV_CREATE, &f), STRATA_OK);
  env_fault_fail_nth(e, 2, 0); /* counted from now: the 2nd append */
  CHECK_EQ(env_append(f, "a", 1), STRATA_OK);
  CHECK_EQ(env_append(f, "b", 1), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), EIO);
  CHECK(contains(strata_last_error(), "injected fault at op 3"));
  CHECK(contains(strata_last_error(), p));
  CHECK_EQ(env_append(f, "c", 1), STRATA_OK); /* the N+1th succeeds */
  CHECK_EQ(env_append(f, "d", 1), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_STR(content(p), "acd"); /* the failed append wrote nothing */

  /* Any kind of operation: here a rename, which then has no effect. */
  env_fault_fail_nth(e, 1, 0);
  CHECK_EQ(env_rename(e, p, test_path("g")), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), EIO);
  CHECK_STR(content(p), "acd");
  /* exists cannot report an error: an injected fault answers 0. */
  env_fault_fail_nth(e, 1, 0);
  CHECK_EQ(env_exists(e, p), 0);
  CHECK_EQ(env_exists(e, p), 1);
  /* n == 0 disarms. */
  env_fault_fail_nth(e, 1, 0);
  env_fault_fail_nth(e, 0, 0);
  CHECK_EQ(env_exists(e, p), 1);
  env_fault_destroy(e);
}

TEST(fail_nth_sticky) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  env_file *f;
  CHECK_EQ(env_open_append(e, p, ENV_CREATE, &f), STRATA_OK);
  env_fault_fail_nth(e, 2, 1);
  CHECK_EQ(env_append(f, "a", 1), STRATA_OK);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(env_append(f, "b", 1), STRATA_IO_ERROR);
    CHECK_EQ(strata_last_errno(), EIO);
  }
  CHECK_EQ(env_datasync(f), STRATA_IO_ERROR);
  uint64_t size;
  CHECK_EQ(env_size(e, p, &size), STRATA_IO_ERROR);
  CHECK(contains(strata_last_error(), "injected fault at op 9"));
  /* close fails too but still releases the handle (ASan checks the leak) */
  CHECK_EQ(env_close(f), STRATA_IO_ERROR);
  env_fault_reset(e);
  CHECK_EQ(env_size(e, p, &size), STRATA_OK);
  CHECK_U64(size, 1);
  env_fault_destroy(e);
}

TEST(tear_append_at_byte) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  env_file *f;
  CHECK_EQ(env_open_append(e, p, ENV_CREATE, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "head-", 5), STRATA_OK);
  struct iovec v[3] = {
      {(void *)"abc", 3}, {(void *)"defg", 4}, {(void *)"hij", 3}};
  env_fault_tear_next_append(e, 5); /* inside the second buffer */
  CHECK_EQ(env_appendv(f, v, 3), STRATA_IO_ERROR);
  CHECK_EQ(strata_last_errno(), EIO);
  CHECK_STR(content(p), "head-abcde");
  CHECK_STR((const char *)v[1].iov_base, "defg"); /* caller's array intact */
  CHECK_U64(v[1].iov_len, 4);
  /* Only the next append: the one after is whole. */
  CHECK_EQ(env_appendv(f, v, 3), STRATA_OK);
  CHECK_STR(content(p), "head-abcdeabcdefghij");
  /* keep 0 writes nothing; reset disarms. */
  env_fault_tear_next_append(e, 0);
  CHECK_EQ(env_append(f, "zz", 2), STRATA_IO_ERROR);
  env_fault_tear_next_append(e, 1);
  env_fault_reset(e);
  CHECK_EQ(env_append(f, "!", 1), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_STR(content(p), "head-abcdeabcdefghij!");
  env_fault_destroy(e);
}

TEST(power_loss_drops_unsynced_data) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  write_file(e, p, "synced", "-lost");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_STR(content(p), "synced-lost");
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "synced");
  /* Reopened after the loss: synced appends stay, fsync counts as a sync. */
  env_file *f;
  CHECK_EQ(env_open_append(e, p, 0, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "+more", 5), STRATA_OK);
  CHECK_EQ(env_fsync(f), STRATA_OK);
  CHECK_EQ(env_append(f, "+gone", 5), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "synced+more");
  env_fault_destroy(e);
}

TEST(power_loss_file_existing_before) {
  char p[4096];
  tp(p, "old");
  write_file(env_posix(), p, "before", "");
  env *e = env_fault_create(env_posix());
  env_file *f;
  CHECK_EQ(env_open_append(e, p, 0, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "-unsynced", 9), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "before"); /* existing length counts as synced */
  env_fault_destroy(e);
}

TEST(power_loss_creation_needs_dir_sync) {
  env *e = env_fault_create(env_posix());
  char a[4096], b[4096];
  tp(a, "a");
  tp(b, "b");
  write_file(e, a, "0123456789", "xyz"); /* never dir-synced: vanishes */
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "<absent>");

  write_file(e, b, "0123456789", "xyz");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(b), "0123456789"); /* stays, at its synced length */

  /* A directory sync before the creation does not count. */
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  write_file(e, a, "late", "");
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "<absent>");
  CHECK_STR(content(b), "0123456789");

  /* The sync of another directory does not count either. */
  char sub[4096];
  tp(sub, "sub");
  CHECK_EQ(env_mkdir(e, sub), STRATA_OK);
  write_file(e, a, "x", "");
  CHECK_EQ(env_sync_dir(e, sub), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "<absent>");
  env_fault_destroy(e);
}

TEST(power_loss_undoes_rename_without_dir_sync) {
  env *e = env_fault_create(env_posix());
  char a[4096], b[4096];
  tp(a, "a");
  tp(b, "b");
  write_file(e, a, "old", "+unsynced");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_rename(e, a, b), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "old");
  CHECK_STR(content(b), "<absent>");

  CHECK_EQ(env_rename(e, a, b), STRATA_OK);
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "<absent>");
  CHECK_STR(content(b), "old");
  env_fault_destroy(e);
}

/* LevelDB's CURRENT: write a temporary, sync it, rename it over CURRENT, sync
 * the directory. A loss before the directory sync keeps the old CURRENT. */
TEST(power_loss_rename_over_existing) {
  env *e = env_fault_create(env_posix());
  char cur[4096], tmp[4096];
  tp(cur, "CURRENT");
  tp(tmp, "CURRENT.tmp");
  write_file(e, cur, "v1", "");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);

  write_file(e, tmp, "v2", "");
  CHECK_EQ(env_rename(e, tmp, cur), STRATA_OK);
  CHECK_STR(content(cur), "v2");
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(cur), "v1");
  CHECK_STR(content(tmp), "<absent>");

  write_file(e, tmp, "v2", "");
  CHECK_EQ(env_rename(e, tmp, cur), STRATA_OK);
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(cur), "v2");
  CHECK_STR(content(tmp), "<absent>");

  /* A swap through a third name, undone as a whole. */
  char x[4096];
  tp(x, "x");
  write_file(e, x, "X", "");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_rename(e, cur, tmp), STRATA_OK);
  CHECK_EQ(env_rename(e, x, cur), STRATA_OK);
  CHECK_EQ(env_rename(e, tmp, x), STRATA_OK);
  CHECK_STR(content(cur), "X");
  CHECK_STR(content(x), "v2");
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(cur), "v2");
  CHECK_STR(content(x), "X");
  CHECK_STR(content(tmp), "<absent>");
  CHECK_STR(listing(), "CURRENT x"); /* no temporary left behind */
  env_fault_destroy(e);
}

TEST(power_loss_rename_across_directories) {
  env *e = env_fault_create(env_posix());
  char d1[4096], d2[4096], a[4096], b[4096];
  tp(d1, "d1");
  tp(d2, "d2");
  CHECK_EQ(env_mkdir(e, d1), STRATA_OK);
  CHECK_EQ(env_mkdir(e, d2), STRATA_OK);
  tp(a, "d1/a");
  tp(b, "d2/b");
  write_file(e, a, "data", "-tail");
  CHECK_EQ(env_sync_dir(e, d1), STRATA_OK);
  CHECK_EQ(env_rename(e, a, b), STRATA_OK);
  /* Only the new directory is synced: both names survive. */
  CHECK_EQ(env_sync_dir(e, d2), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(a), "data");
  CHECK_STR(content(b), "data");
  CHECK_STR(listing(), "d1 d2");
  env_fault_destroy(e);
}

TEST(power_loss_restores_removed_file) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  write_file(e, p, "keep", "-drop");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_remove(e, p), STRATA_OK);
  CHECK_EQ(env_exists(e, p), 0);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "keep"); /* the removal was not durable */

  CHECK_EQ(env_remove(e, p), STRATA_OK);
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "<absent>");

  /* A file created and removed without any directory sync: nothing. */
  write_file(e, p, "tmp", "");
  CHECK_EQ(env_remove(e, p), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "<absent>");
  env_fault_destroy(e);
}

TEST(power_loss_after_truncate) {
  env *e = env_fault_create(env_posix());
  char p[4096];
  tp(p, "f");
  write_file(e, p, "0123456789", "");
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  env_file *f;
  CHECK_EQ(env_open_append(e, p, 0, &f), STRATA_OK);
  CHECK_EQ(env_truncate(f, 4), STRATA_OK);
  CHECK_EQ(env_append(f, "abcdef", 6), STRATA_OK); /* unsynced again */
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "0123");
  /* Reopening with ENV_TRUNC cuts the synced content just the same. */
  CHECK_EQ(env_open_append(e, p, ENV_TRUNC, &f), STRATA_OK);
  CHECK_EQ(env_append(f, "new", 3), STRATA_OK);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_STR(content(p), "");
  env_fault_destroy(e);
}

TEST(power_loss_refused_with_open_file) {
  env *e = env_fault_create(env_posix());
  env_file *f;
  CHECK_EQ(env_open_append(e, test_path("f"), ENV_CREATE, &f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_INVALID_ARGUMENT);
  CHECK_EQ(env_close(f), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  CHECK_EQ(env_exists(e, test_path("f")), 0);
  env_fault_destroy(e);
}

struct worker {
  env *e;          /* the shared fault env */
  char path[4096]; /* this thread's file */
};

static void *work(void *arg) {
  struct worker *w = arg;
  env_file *f;
  if (env_open_append(w->e, w->path, ENV_CREATE, &f) != STRATA_OK) return arg;
  for (int i = 0; i < 200; i++)
    env_append(f, "0123456789", 10);
  env_datasync(f);
  env_close(f);
  return NULL;
}

TEST(concurrent_operations_all_counted) {
  enum { T = 4 };
  env *e = env_fault_create(env_posix());
  struct worker w[T];
  pthread_t t[T];
  for (int i = 0; i < T; i++) {
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    w[i].e = e;
    tp(w[i].path, name);
    CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < T; i++) {
    void *r;
    pthread_join(t[i], &r);
    CHECK(r == NULL);
  }
  CHECK_U64(env_fault_ops(e), T * 203);
  CHECK_EQ(env_sync_dir(e, test_tmpdir()), STRATA_OK);
  CHECK_EQ(env_fault_power_loss(e), STRATA_OK);
  for (int i = 0; i < T; i++) {
    uint64_t size = 0;
    CHECK_EQ(env_size(env_posix(), w[i].path, &size), STRATA_OK);
    CHECK_U64(size, 2000);
  }
  env_fault_destroy(e);
}
