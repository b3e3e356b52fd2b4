/*
 * db_api_test.c — the whole public API of the LSM engine (strata.h, "the
 * LSM-tree engine"), in plain C through strata.h only: open/close/destroy,
 * every option, create_if_missing and error_if_exists, the LOCK (a second
 * opener in this process and in another one gets STRATA_BUSY with "lock" in
 * the message), put/get/delete/write, empty keys and values, 1 MiB values,
 * snapshots, iterators (seek, first/last, next/prev, direction switches,
 * checked step by step against a sorted reference), every documented
 * property, approximate sizes, compact_range, flush, stats and verify.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strata.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static strata_db *open_db(const char *dir, const strata_options *o) {
  strata_db *db = NULL;
  int rc = strata_db_open(dir, o, &db);
  CHECK_MSG(rc == STRATA_OK, "open %s: %s (%s)", dir, strata_strerror(rc),
            strata_last_error());
  return db;
}

static strata_db *create_db(const char *dir) {
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  return open_db(dir, &o);
}

static void put_s(strata_db *db, const char *k, const char *v) {
  int rc = strata_db_put(db, NULL, k, strlen(k), v, strlen(v));
  CHECK_MSG(rc == STRATA_OK, "put %s: %s", k, strata_last_error());
}

/* 1 if key holds exactly `want` (NULL: must be absent). */
static int has(strata_db *db, const strata_read_options *ro, const char *k,
               const char *want) {
  void *v = NULL;
  size_t vl = 0;
  int rc = strata_db_get(db, ro, k, strlen(k), &v, &vl);
  int ok;
  if (!want)
    ok = rc == STRATA_NOT_FOUND;
  else
    ok = rc == STRATA_OK && vl == strlen(want) && memcmp(v, want, vl) == 0;
  if (!ok)
    test_fail(__FILE__, __LINE__, "get %s: rc %d (%s), got '%.*s', want '%s'",
              k, rc, strata_last_error(), rc == STRATA_OK ? (int)vl : 0,
              rc == STRATA_OK ? (const char *)v : "", want ? want : "(absent)");
  free(v);
  return ok;
}

static int file_exists(const char *dir, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

/* Number of files in dir whose name starts with prefix / ends with suffix. */
static int count_files(const char *dir, const char *prefix,
                       const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;
    if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (suffix && (len < sl || strcmp(e->d_name + len - sl, suffix) != 0))
      continue;
    n++;
  }
  closedir(d);
  return n;
}

static uint64_t prop_u64(strata_db *db, const char *name) {
  char *s = strata_db_get_property(db, name);
  CHECK_MSG(s != NULL, "property %s is NULL", name);
  if (!s) return UINT64_MAX;
  char *end = NULL;
  uint64_t v = strtoull(s, &end, 10);
  CHECK_MSG(end != s, "property %s: '%s' is not a number", name, s);
  free(s);
  return v;
}

static void key_of(int i, char *buf) { sprintf(buf, "key%06d", i); }
static void val_of(int i, int gen, char *buf, size_t n) {
  snprintf(buf, n, "value-%d-%06d-%0*d", gen, i, 20 + i % 50, i);
}

static int damage_calls;
static void count_damage(void *arg, const strata_damage *d) {
  (void)arg;
  (void)d;
  damage_calls++;
}

/* ---- options, open, close, destroy -------------------------------------- */

TEST(db_options_defaults) {
  strata_options o;
  memset(&o, 0x5a, sizeof o);
  strata_options_init(&o);
  CHECK_EQ(o.create_if_missing, 0);
  CHECK_EQ(o.error_if_exists, 0);
  CHECK_EQ(o.paranoid_checks, 0);
  CHECK_U64(o.write_buffer_size, 4u << 20);
  CHECK_EQ(o.max_open_files, 1000);
  CHECK_U64(o.block_size, 4096);
  CHECK_EQ(o.block_restart_interval, 16);
  CHECK_U64(o.max_file_size, 2u << 20);
  CHECK_U64(o.block_cache_size, 8u << 20);
  CHECK_EQ(o.bloom_bits_per_key, 10);
  CHECK_EQ(o.compression, STRATA_COMPRESSION_SNAPPY);
  CHECK_EQ(o.compaction_style, STRATA_COMPACTION_LEVELED);
  CHECK_EQ(o.recovery, STRATA_RECOVERY_POINT_IN_TIME);
  CHECK_EQ(o.write_info_log, 1);
  CHECK(o.on_damage == NULL);
  strata_read_options ro;
  memset(&ro, 0x5a, sizeof ro);
  strata_read_options_init(&ro);
  CHECK_EQ(ro.verify_checksums, 1);
  CHECK_EQ(ro.fill_cache, 1);
  CHECK(ro.snapshot == NULL);
  strata_write_options wo;
  memset(&wo, 0x5a, sizeof wo);
  strata_write_options_init(&wo);
  CHECK_EQ(wo.sync, 0);
}

TEST(db_open_create_and_files) {
  const char *dir = test_path("db");
  strata_db *db = NULL;
  /* defaults do not create; NULL options are the defaults */
  CHECK(strata_db_open(dir, NULL, &db) != STRATA_OK);
  CHECK(db == NULL);
  strata_options o;
  strata_options_init(&o);
  CHECK(strata_db_open(dir, &o, &db) != STRATA_OK);
  CHECK(strata_last_error()[0] != 0);
  o.create_if_missing = 1;
  db = open_db(dir, &o);
  CHECK(db != NULL);
  CHECK(file_exists(dir, "CURRENT"));
  CHECK(file_exists(dir, "LOCK"));
  CHECK(file_exists(dir, "LOG"));
  CHECK_EQ(count_files(dir, "MANIFEST-", NULL), 1);
  CHECK_EQ(count_files(dir, NULL, ".log"), 1);
  put_s(db, "a", "1");
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  CHECK_EQ(strata_db_close(NULL), STRATA_OK);

  /* CURRENT names the MANIFEST and ends with a newline */
  char p[4096], buf[64] = {0};
  snprintf(p, sizeof p, "%s/CURRENT", dir);
  FILE *f = fopen(p, "rb");
  CHECK(f != NULL);
  if (f) {
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    CHECK(n > 10 && strncmp(buf, "MANIFEST-", 9) == 0 && buf[n - 1] == '\n');
    buf[n - 1] = 0;
    CHECK(file_exists(dir, buf));
  }

  /* reopen without create; error_if_exists refuses */
  db = open_db(dir, NULL);
  has(db, NULL, "a", "1");
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  o.error_if_exists = 1;
  db = NULL;
  CHECK(strata_db_open(dir, &o, &db) != STRATA_OK);
  CHECK(db == NULL);
  o.error_if_exists = 0;
  db = open_db(dir, &o);
  has(db, NULL, "a", "1");

  /* destroy refuses an open database, then removes everything */
  CHECK_EQ(strata_db_destroy(dir), STRATA_BUSY);
  CHECK(file_exists(dir, "CURRENT"));
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  CHECK_EQ(strata_db_destroy(dir), STRATA_OK);
  CHECK(access(dir, F_OK) != 0);
  CHECK(strata_db_open(dir, NULL, &db) != STRATA_OK);
}

TEST(db_no_info_log) {
  const char *dir = test_path("db");
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_info_log = 0;
  strata_db *db = open_db(dir, &o);
  put_s(db, "k", "v");
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  CHECK(!file_exists(dir, "LOG"));
}

TEST(db_lock_same_process) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  strata_db *db2 = NULL;
  int rc = strata_db_open(dir, NULL, &db2);
  CHECK_EQ(rc, STRATA_BUSY);
  CHECK(db2 == NULL);
  CHECK_MSG(strstr(strata_last_error(), "lock") != NULL,
            "message without 'lock': %s", strata_last_error());
  /* the first handle still works, and after close the second open does */
  put_s(db, "x", "y");
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  db2 = open_db(dir, NULL);
  has(db2, NULL, "x", "y");
  strata_db_close(db2);
}

TEST(db_lock_other_process) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  put_s(db, "x", "y");
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    strata_db *other = NULL;
    int rc = strata_db_open(dir, NULL, &other);
    int code = rc == STRATA_BUSY && strstr(strata_last_error(), "lock") ? 0
               : rc == STRATA_OK                                        ? 1
                                                                        : 2;
    _exit(code);
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child open: status %d (1: opened a locked db, 2: not BUSY+lock)",
            status);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  /* unlocked now: another process opens it */
  pid = fork();
  if (pid == 0) {
    strata_db *other = NULL;
    int rc = strata_db_open(dir, NULL, &other);
    void *v = NULL;
    size_t vl = 0;
    if (rc == STRATA_OK) rc = strata_db_get(other, NULL, "x", 1, &v, &vl);
    int ok = rc == STRATA_OK && vl == 1 && memcmp(v, "y", 1) == 0;
    free(v);
    strata_db_close(other);
    _exit(ok ? 0 : 1);
  }
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- writes and reads --------------------------------------------------- */

TEST(db_put_get_delete_write) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  strata_write_options wo;
  strata_write_options_init(&wo);
  has(db, NULL, "a", NULL);
  put_s(db, "a", "1");
  put_s(db, "b", "2");
  has(db, NULL, "a", "1");
  put_s(db, "a", "3");
  has(db, NULL, "a", "3");
  CHECK_EQ(strata_db_delete(db, &wo, "a", 1), STRATA_OK);
  has(db, NULL, "a", NULL);
  CHECK_EQ(strata_db_delete(db, &wo, "never", 5), STRATA_OK);
  wo.sync = 1;
  CHECK_EQ(strata_db_put(db, &wo, "s", 1, "synced", 6), STRATA_OK);

  /* a batch applies in order: later operations win */
  strata_batch *b = strata_batch_create();
  CHECK(b != NULL);
  strata_batch_put(b, "c", 1, "x", 1);
  strata_batch_put(b, "d", 1, "4", 1);
  strata_batch_delete(b, "b", 1);
  strata_batch_put(b, "c", 1, "5", 1);
  strata_batch_delete(b, "d", 1);
  strata_batch_put(b, "d", 1, "6", 1);
  strata_batch_set_sequence(b, 12345);
  CHECK_EQ(strata_db_write(db, NULL, b), STRATA_OK);
  CHECK_U64(strata_batch_sequence(b), 12345); /* left unchanged */
  has(db, NULL, "b", NULL);
  has(db, NULL, "c", "5");
  has(db, NULL, "d", "6");
  /* an empty batch is fine */
  strata_batch_clear(b);
  CHECK_EQ(strata_db_write(db, &wo, b), STRATA_OK);
  strata_batch_destroy(b);

  strata_db_stats st;
  CHECK_EQ(strata_db_get_stats(db, &st), STRATA_OK);
  /* 3 puts, 2 deletes, 1 synced put, 6 batch operations */
  CHECK_U64(st.sequence, 12);
  CHECK(st.wal_syncs >= 1);
  CHECK(st.user_bytes > 0);
  CHECK(st.wal_bytes > st.user_bytes);
  CHECK(st.group_commits >= 1 && st.group_commits <= 9);
  CHECK_EQ(strata_db_close(db), STRATA_OK);

  /* everything survives a reopen (WAL replay) */
  db = open_db(dir, NULL);
  has(db, NULL, "a", NULL);
  has(db, NULL, "b", NULL);
  has(db, NULL, "c", "5");
  has(db, NULL, "d", "6");
  has(db, NULL, "s", "synced");
  CHECK_EQ(strata_db_get_stats(db, &st), STRATA_OK);
  CHECK_U64(st.sequence, 12);
  strata_db_close(db);
}

TEST(db_empty_keys_and_values) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  CHECK_EQ(strata_db_put(db, NULL, "", 0, "empty-key", 9), STRATA_OK);
  CHECK_EQ(strata_db_put(db, NULL, "ev", 2, "", 0), STRATA_OK);
  for (int round = 0; round < 3; round++) {
    void *v = NULL;
    size_t vl = 99;
    CHECK_EQ(strata_db_get(db, NULL, "", 0, &v, &vl), STRATA_OK);
    CHECK_MEM(v, vl, "empty-key", 9);
    free(v);
    v = NULL;
    CHECK_EQ(strata_db_get(db, NULL, "ev", 2, &v, &vl), STRATA_OK);
    CHECK(v != NULL); /* never NULL, even when empty */
    CHECK_U64(vl, 0);
    free(v);
    /* the empty key sorts first */
    strata_iterator *it = NULL;
    CHECK_EQ(strata_db_iter_create(db, NULL, &it), STRATA_OK);
    strata_iter_seek_first(it);
    CHECK(strata_iter_valid(it));
    size_t kl = 9;
    strata_iter_key(it, &kl);
    CHECK_U64(kl, 0);
    strata_iter_seek(it, "", 0);
    CHECK(strata_iter_valid(it));
    strata_iter_key(it, &kl);
    CHECK_U64(kl, 0);
    strata_iter_destroy(it);
    if (round == 0) CHECK_EQ(strata_db_flush(db), STRATA_OK);
    if (round == 1) {
      strata_db_close(db);
      db = open_db(dir, NULL);
    }
  }
  CHECK_EQ(strata_db_delete(db, NULL, "", 0), STRATA_OK);
  void *v = NULL;
  size_t vl;
  CHECK_EQ(strata_db_get(db, NULL, "", 0, &v, &vl), STRATA_NOT_FOUND);
  strata_db_close(db);
}

TEST(db_large_values) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  enum { MIB = 1 << 20 };
  unsigned char *big[3];
  for (int i = 0; i < 3; i++) {
    big[i] = malloc(MIB);
    for (size_t j = 0; j < MIB; j++)
      big[i][j] = (unsigned char)(test_rand() >> (j % 7 == 0 ? 3 : 40));
    char k[16];
    sprintf(k, "big%d", i);
    CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), big[i], MIB), STRATA_OK);
  }
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 3; i++) {
      char k[16];
      sprintf(k, "big%d", i);
      void *v = NULL;
      size_t vl = 0;
      CHECK_EQ(strata_db_get(db, NULL, k, strlen(k), &v, &vl), STRATA_OK);
      CHECK_MEM(v, vl, big[i], (size_t)MIB);
      free(v);
    }
    if (round == 0) { /* from the WAL */
      strata_db_close(db);
      db = open_db(dir, NULL);
    } else if (round == 1) { /* from tables */
      CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
    }
  }
  strata_db_close(db);
  for (int i = 0; i < 3; i++)
    free(big[i]);
}

/* ---- snapshots ---------------------------------------------------------- */

TEST(db_snapshots) {
  const char *dir = test_path("db");
  strata_db *db = create_db(dir);
  put_s(db, "k", "v1");
  put_s(db, "gone", "here");
  const strata_snapshot *s1 = strata_db_get_snapshot(db);
  CHECK(s1 != NULL);
  CHECK_U64(strata_snapshot_sequence(s1), 2);
  put_s(db, "k", "v2");
  CHECK_EQ(strata_db_delete(db, NULL, "gone", 4), STRATA_OK);
  put_s(db, "new", "n");
  const strata_snapshot *s2 = strata_db_get_snapshot(db);
  CHECK_U64(strata_snapshot_sequence(s2), 5);
  put_s(db, "k", "v3");

  strata_read_options r1, r2;
  strata_read_options_init(&r1);
  strata_read_options_init(&r2);
  r1.snapshot = s1;
  r2.snapshot = s2;
  for (int round = 0; round < 2; round++) {
    has(db, &r1, "k", "v1");
    has(db, &r1, "gone", "here");
    has(db, &r1, "new", NULL);
    has(db, &r2, "k", "v2");
    has(db, &r2, "gone", NULL);
    has(db, &r2, "new", "n");
    has(db, NULL, "k", "v3");
    /* an iterator at s1 sees exactly s1's keys */
    strata_iterator *it = NULL;
    CHECK_EQ(strata_db_iter_create(db, &r1, &it), STRATA_OK);
    strata_iter_seek_first(it);
    const char *want[][2] = {{"gone", "here"}, {"k", "v1"}};
    for (int i = 0; i < 2; i++) {
      CHECK(strata_iter_valid(it));
      if (!strata_iter_valid(it)) break;
      size_t kl, vl;
      const void *k = strata_iter_key(it, &kl);
      const void *v = strata_iter_value(it, &vl);
      CHECK_MEM(k, kl, want[i][0], strlen(want[i][0]));
      CHECK_MEM(v, vl, want[i][1], strlen(want[i][1]));
      strata_iter_next(it);
    }
    CHECK(!strata_iter_valid(it));
    CHECK_EQ(strata_iter_status(it), STRATA_OK);
    strata_iter_destroy(it);
    /* snapshots hold through flushes and compactions */
    if (round == 0)
      CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
  }
  strata_db_release_snapshot(db, s1);
  strata_db_release_snapshot(db, s2);
  /* with no snapshot left, compaction may drop the old versions; the newest
   * stay */
  CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
  has(db, NULL, "k", "v3");
  has(db, NULL, "gone", NULL);
  strata_db_close(db);
}

/* ---- iterators ---------------------------------------------------------- */

enum { NREF = 3000 };

typedef struct ref {
  int live[NREF]; /* 1 if key i exists */
  int gen[NREF];  /* generation of its value */
} ref;

/* Fills db with keys spread over the memtable and tables: all written, then
 * flushed, a third overwritten, a fifth deleted, compacted, more writes
 * left in the memtable. */
static void fill(strata_db *db, ref *r) {
  char k[32], v[128];
  memset(r, 0, sizeof *r);
  for (int i = 0; i < NREF; i++) {
    key_of(i, k);
    val_of(i, 0, v, sizeof v);
    CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), v, strlen(v)), STRATA_OK);
    r->live[i] = 1;
  }
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  for (int i = 0; i < NREF; i += 3) {
    key_of(i, k);
    val_of(i, 1, v, sizeof v);
    CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), v, strlen(v)), STRATA_OK);
    r->gen[i] = 1;
  }
  for (int i = 0; i < NREF; i += 5) {
    key_of(i, k);
    CHECK_EQ(strata_db_delete(db, NULL, k, strlen(k)), STRATA_OK);
    r->live[i] = 0;
  }
  CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
  for (int i = 1; i < NREF; i += 7) {
    key_of(i, k);
    if (i % 2) {
      val_of(i, 2, v, sizeof v);
      CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), v, strlen(v)), STRATA_OK);
      r->gen[i] = 2;
      r->live[i] = 1;
    } else {
      CHECK_EQ(strata_db_delete(db, NULL, k, strlen(k)), STRATA_OK);
      r->live[i] = 0;
    }
  }
}

/* Checks the iterator sits on reference key i (or is invalid for -1). */
static int at(strata_iterator *it, const ref *r, int i, int line) {
  char k[32], v[128];
  if (i < 0) {
    if (strata_iter_valid(it)) {
      size_t kl;
      const char *key = strata_iter_key(it, &kl);
      test_fail(__FILE__, line, "iterator valid at '%.*s', want the end",
                (int)kl, key);
      return 0;
    }
    return 1;
  }
  if (!strata_iter_valid(it)) {
    test_fail(__FILE__, line, "iterator invalid (status %d), want key %d",
              strata_iter_status(it), i);
    return 0;
  }
  key_of(i, k);
  val_of(i, r->gen[i], v, sizeof v);
  size_t kl, vl;
  const void *key = strata_iter_key(it, &kl);
  const void *val = strata_iter_value(it, &vl);
  if (kl != strlen(k) || memcmp(key, k, kl) != 0 || vl != strlen(v) ||
      memcmp(val, v, vl) != 0) {
    test_fail(__FILE__, line, "iterator at '%.*s'='%.*s', want '%s'='%s'",
              (int)kl, (const char *)key, (int)vl, (const char *)val, k, v);
    return 0;
  }
  return 1;
}

static int next_live(const ref *r, int i) {
  for (i++; i < NREF; i++)
    if (r->live[i]) return i;
  return -1;
}
static int prev_live(const ref *r, int i) {
  for (i--; i >= 0; i--)
    if (r->live[i]) return i;
  return -1;
}

TEST(db_iterators) {
  const char *dir = test_path("db");
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_buffer_size = 64 << 10;
  strata_db *db = open_db(dir, &o);
  static ref r;
  fill(db, &r);
  strata_iterator *it = NULL;
  CHECK_EQ(strata_db_iter_create(db, NULL, &it), STRATA_OK);
  CHECK(!strata_iter_valid(it)); /* not positioned yet */

  /* full forward and backward scans */
  int i = next_live(&r, -1), n = 0;
  for (strata_iter_seek_first(it); i >= 0; i = next_live(&r, i), n++) {
    if (!at(it, &r, i, __LINE__)) break;
    strata_iter_next(it);
  }
  at(it, &r, -1, __LINE__);
  CHECK_EQ(strata_iter_status(it), STRATA_OK);
  i = prev_live(&r, NREF);
  for (strata_iter_seek_last(it); i >= 0; i = prev_live(&r, i)) {
    if (!at(it, &r, i, __LINE__)) break;
    strata_iter_prev(it);
  }
  at(it, &r, -1, __LINE__);

  /* seeks: to existing, deleted and absent keys, before the first and past
   * the last */
  char k[32];
  for (int j = 0; j < NREF; j += 37) {
    key_of(j, k);
    strata_iter_seek(it, k, strlen(k));
    at(it, &r, r.live[j] ? j : next_live(&r, j), __LINE__);
    strcat(k, "!"); /* just past key j */
    strata_iter_seek(it, k, strlen(k));
    at(it, &r, next_live(&r, j), __LINE__);
  }
  strata_iter_seek(it, "a", 1);
  at(it, &r, next_live(&r, -1), __LINE__);
  strata_iter_seek(it, "zzz", 3);
  at(it, &r, -1, __LINE__);

  /* a random walk with direction switches */
  int cur = -1, bad = 0;
  for (int step = 0; step < 20000 && !bad; step++) {
    uint64_t x = test_rand() % 100;
    if (cur < 0 || x < 3) {
      int j = (int)(test_rand() % NREF);
      key_of(j, k);
      strata_iter_seek(it, k, strlen(k));
      cur = r.live[j] ? j : next_live(&r, j);
    } else if (x < 5) {
      strata_iter_seek_first(it);
      cur = next_live(&r, -1);
    } else if (x < 7) {
      strata_iter_seek_last(it);
      cur = prev_live(&r, NREF);
    } else if (x < 53) {
      strata_iter_next(it);
      cur = next_live(&r, cur);
    } else {
      strata_iter_prev(it);
      cur = prev_live(&r, cur);
    }
    bad = !at(it, &r, cur, __LINE__);
  }
  strata_iter_destroy(it);

  /* an iterator is a consistent view: writes after its creation are not
   * seen */
  CHECK_EQ(strata_db_iter_create(db, NULL, &it), STRATA_OK);
  for (int j = 0; j < NREF; j += 2) {
    key_of(j, k);
    CHECK_EQ(strata_db_delete(db, NULL, k, strlen(k)), STRATA_OK);
  }
  CHECK_EQ(strata_db_put(db, NULL, "aaa", 3, "x", 1), STRATA_OK);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  i = next_live(&r, -1);
  int seen = 0;
  for (strata_iter_seek_first(it); i >= 0; i = next_live(&r, i), seen++) {
    if (!at(it, &r, i, __LINE__)) break;
    strata_iter_next(it);
  }
  CHECK_EQ(seen, n);
  strata_iter_destroy(it);
  strata_db_close(db);
}

/* ---- properties, sizes, compaction, flush, stats, verify ---------------- */

TEST(db_properties_and_stats) {
  const char *dir = test_path("db");
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_buffer_size = 64 << 10;
  strata_db *db = open_db(dir, &o);
  static ref r;
  fill(db, &r);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);

  strata_db_stats st;
  CHECK_EQ(strata_db_get_stats(db, &st), STRATA_OK);
  uint64_t total_files = 0;
  for (int l = 0; l < 7; l++) {
    char name[64];
    sprintf(name, "strata.num-files-at-level%d", l);
    CHECK_U64(prop_u64(db, name), st.files[l]);
    sprintf(name, "leveldb.num-files-at-level%d", l);
    CHECK_U64(prop_u64(db, name), st.files[l]);
    total_files += st.files[l];
    CHECK(st.files[l] == 0 || st.level_bytes[l] > 0);
  }
  CHECK(total_files >= 1);
  CHECK_EQ(count_files(dir, NULL, ".ldb") + count_files(dir, NULL, ".sst"),
           (int)total_files);
  CHECK(st.flushes >= 2);
  CHECK(st.compactions >= 1);
  CHECK(st.bytes_flushed > 0);
  CHECK(st.user_bytes > 0);
  CHECK(st.sequence > (uint64_t)NREF);
  CHECK_U64(st.damage_regions, 0);
  CHECK_U64(st.dropped_bytes, 0);

  char *s = strata_db_get_property(db, "strata.stats");
  CHECK(s != NULL && strlen(s) > 0);
  free(s);
  s = strata_db_get_property(db, "leveldb.stats");
  CHECK(s != NULL);
  free(s);
  s = strata_db_get_property(db, "strata.sstables");
  CHECK(s != NULL);
  if (s) { /* every table file is listed */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      size_t len = strlen(e->d_name);
      if (len > 4 && strcmp(e->d_name + len - 4, ".ldb") == 0) {
        char num[32] = {0};
        snprintf(num, sizeof num, "%.*s", (int)(len - 4), e->d_name);
        while (num[0] == '0' && num[1]) /* listed as "7:" or "000007" */
          memmove(num, num + 1, strlen(num));
        CHECK_MSG(strstr(s, num) != NULL, "strata.sstables lacks %s",
                  e->d_name);
      }
    }
    if (d) closedir(d);
  }
  free(s);
  s = strata_db_get_property(db, "leveldb.sstables");
  CHECK(s != NULL);
  free(s);
  uint64_t mem = prop_u64(db, "strata.approximate-memory-usage");
  CHECK(mem > 0);
  CHECK(prop_u64(db, "leveldb.approximate-memory-usage") > 0);
  CHECK(strata_db_get_property(db, "strata.no-such-property") == NULL);
  CHECK(strata_db_get_property(db, "strata.num-files-at-level7") == NULL);

  /* approximate sizes: the whole range holds the table bytes, halves add
   * up, an empty range holds none */
  uint64_t all = 0, lo = 0, hi = 0, none = 7;
  CHECK_EQ(strata_db_approximate_size(db, "", 0, "z", 1, &all), STRATA_OK);
  uint64_t level_total = 0;
  for (int l = 0; l < 7; l++)
    level_total += st.level_bytes[l];
  CHECK_MSG(all > level_total / 2 && all <= level_total + 4096,
            "approximate size %" PRIu64 " vs %" PRIu64 " table bytes", all,
            level_total);
  char mid[32];
  key_of(NREF / 2, mid);
  CHECK_EQ(strata_db_approximate_size(db, "", 0, mid, strlen(mid), &lo),
           STRATA_OK);
  CHECK_EQ(strata_db_approximate_size(db, mid, strlen(mid), "z", 1, &hi),
           STRATA_OK);
  CHECK(lo > 0 && hi > 0);
  CHECK(lo + hi <= all + 8192 && lo + hi + 8192 >= all);
  CHECK_EQ(strata_db_approximate_size(db, "zz", 2, "zzz", 3, &none), STRATA_OK);
  CHECK_U64(none, 0);

  /* compact_range moves everything out of level 0 */
  CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
  CHECK_U64(prop_u64(db, "strata.num-files-at-level0"), 0);
  strata_db_stats st2;
  CHECK_EQ(strata_db_get_stats(db, &st2), STRATA_OK);
  CHECK(st2.compactions > st.compactions);
  CHECK(st2.bytes_compacted >= st.bytes_compacted);
  /* a bounded compact_range keeps the data */
  char a[32], b[32];
  key_of(100, a);
  key_of(200, b);
  CHECK_EQ(strata_db_compact_range(db, a, strlen(a), b, strlen(b)), STRATA_OK);
  for (int i = 0; i < NREF; i += 11) {
    char k[32], v[128];
    key_of(i, k);
    val_of(i, r.gen[i], v, sizeof v);
    has(db, NULL, k, r.live[i] ? v : NULL);
  }

  /* flush: the memtable becomes a table */
  put_s(db, "flushme", "1");
  CHECK_EQ(strata_db_get_stats(db, &st), STRATA_OK);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  CHECK_EQ(strata_db_get_stats(db, &st2), STRATA_OK);
  CHECK_U64(st2.flushes, st.flushes + 1);
  CHECK(st2.bytes_flushed > st.bytes_flushed);
  has(db, NULL, "flushme", "1");

  /* verify, open and closed: clean */
  damage_calls = 0;
  CHECK_EQ(strata_db_verify(dir, count_damage, NULL), STRATA_OK);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  CHECK_EQ(strata_db_verify(dir, count_damage, NULL), STRATA_OK);
  CHECK_EQ(strata_db_verify(dir, NULL, NULL), STRATA_OK);
  CHECK_EQ(damage_calls, 0);
  CHECK(strata_db_verify(test_path("absent"), NULL, NULL) != STRATA_OK);
}

/* Every option set away from its default: the database works, reopens, and
 * the options that change files show it. */
TEST(db_every_option) {
  for (int variant = 0; variant < 2; variant++) {
    char name[32];
    sprintf(name, "db%d", variant);
    const char *dir = test_path(name);
    char *d = strdup(dir);
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.paranoid_checks = 1;
    o.write_buffer_size = 32 << 10;
    o.max_open_files = 80;
    o.block_size = variant ? 256 : 16 << 10;
    o.block_restart_interval = variant ? 2 : 64;
    o.max_file_size = 64 << 10;
    o.block_cache_size = variant ? 0 : 1 << 20;
    o.bloom_bits_per_key = variant ? 0 : 16;
    o.compression =
        variant ? STRATA_COMPRESSION_NONE : STRATA_COMPRESSION_SNAPPY;
    o.compaction_style =
        variant ? STRATA_COMPACTION_SIZE_TIERED : STRATA_COMPACTION_LEVELED;
    o.recovery = variant ? STRATA_RECOVERY_ABSOLUTE : STRATA_RECOVERY_SKIP;
    o.write_info_log = variant;
    damage_calls = 0;
    o.on_damage = count_damage;
    strata_db *db = open_db(d, &o);
    static ref r;
    fill(db, &r);
    /* very compressible values: with Snappy the tables are much smaller */
    char k[32], v[1000];
    memset(v, 'x', sizeof v);
    for (int i = 0; i < 500; i++) {
      sprintf(k, "zip%05d", i);
      CHECK_EQ(strata_db_put(db, NULL, k, strlen(k), v, sizeof v), STRATA_OK);
    }
    CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
    uint64_t zsize = 0;
    CHECK_EQ(strata_db_approximate_size(db, "zip", 3, "zip~", 4, &zsize),
             STRATA_OK);
    if (variant)
      CHECK_MSG(zsize >= 500 * 1000, "uncompressed: %" PRIu64, zsize);
    else
      CHECK_MSG(zsize < 500 * 1000 / 4, "snappy: %" PRIu64, zsize);
    CHECK_EQ(strata_db_close(db), STRATA_OK);
    o.create_if_missing = 0;
    db = open_db(d, &o);
    for (int i = 0; i < NREF; i++) {
      char vv[128];
      key_of(i, k);
      val_of(i, r.gen[i], vv, sizeof vv);
      if (!has(db, NULL, k, r.live[i] ? vv : NULL)) break;
    }
    strata_read_options ro;
    strata_read_options_init(&ro);
    ro.verify_checksums = 0;
    ro.fill_cache = 0;
    key_of(1, k);
    char vv[128];
    val_of(1, r.gen[1], vv, sizeof vv);
    has(db, &ro, k, r.live[1] ? vv : NULL);
    CHECK_EQ(strata_db_close(db), STRATA_OK);
    CHECK_EQ(damage_calls, 0);
    CHECK_EQ(file_exists(d, "LOG"), variant);
    CHECK_EQ(strata_db_verify(d, NULL, NULL), STRATA_OK);
    free(d);
  }
}

/* Many threads on one handle: each writes its own keys and reads them
 * back while others flush and iterate. */
typedef struct worker {
  strata_db *db; /* shared handle */
  int id;        /* key prefix */
  int errors;    /* mismatches seen */
} worker;

static void *work(void *arg) {
  worker *w = arg;
  char k[32], v[64];
  for (int i = 0; i < 2000; i++) {
    sprintf(k, "t%d-%05d", w->id, i);
    sprintf(v, "v%d", i * w->id);
    if (strata_db_put(w->db, NULL, k, strlen(k), v, strlen(v)) != STRATA_OK)
      w->errors++;
    if (i % 3 == 0) {
      int j = i / 2;
      sprintf(k, "t%d-%05d", w->id, j);
      sprintf(v, "v%d", j * w->id);
      void *got = NULL;
      size_t gl = 0;
      if (strata_db_get(w->db, NULL, k, strlen(k), &got, &gl) != STRATA_OK ||
          gl != strlen(v) || memcmp(got, v, gl) != 0)
        w->errors++;
      free(got);
    }
    if (i % 500 == 499 && w->id == 0) strata_db_flush(w->db);
  }
  return NULL;
}

#include <pthread.h>

TEST(db_threads) {
  const char *dir = test_path("db");
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_buffer_size = 32 << 10;
  strata_db *db = open_db(dir, &o);
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){db, i, 0};
    pthread_create(&th[i], NULL, work, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ(w[i].errors, 0);
  }
  strata_iterator *it = NULL;
  CHECK_EQ(strata_db_iter_create(db, NULL, &it), STRATA_OK);
  int n = 0;
  for (strata_iter_seek_first(it); strata_iter_valid(it); strata_iter_next(it))
    n++;
  CHECK_EQ(n, 8000);
  strata_iter_destroy(it);
  strata_db_stats st;
  strata_db_get_stats(db, &st);
  CHECK_U64(st.sequence, 8000);
  strata_db_close(db);
}
