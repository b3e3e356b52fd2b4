/*
 * leveldb_db_test.c — whole LSM databases shared with real LevelDB 1.23
 * (through its C API), both sides checking every checksum:
 *
 *  - leveldb_db_read_by_strata: LevelDB writes a database with several
 *    levels (64 KiB write buffer, compact_range, more writes after), with
 *    overwrites and deletes and a live WAL not yet flushed; strata opens it
 *    (paranoid checks) and reads every key by get and by a full scan
 *    (forward and backward) against the reference.
 *  - strata_db_read_by_leveldb: strata writes such a database; LevelDB opens
 *    it with paranoid_checks and reads with verify_checksums: every key by
 *    get and a full iterator scan equal the reference.
 *  - leveldb_strata_take_turns: strata and LevelDB write the same database
 *    in turns, five rounds each; after each round the other one opens it
 *    and its full scan (and gets) match the reference.
 */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strata.h"
#include "test.h"

enum { NK = 5000 };

/* The reference: per key the generation of its value (0: absent). */
typedef struct ref {
  uint32_t gen[NK]; /* value generation of each key, 0 = absent */
  uint32_t next;    /* generations given out */
} ref;

static size_t key_of(int i, char *buf) {
  return (size_t)sprintf(buf, "key%06d", i);
}
static size_t val_of(int i, uint32_t gen, char *buf) {
  int n = sprintf(buf, "v%u-%d-", gen, i);
  int len = 30 + (int)((gen * 2654435761u + (uint32_t)i * 40503u) % 250);
  for (int j = n; j < len; j++)
    buf[j] = (char)('a' + (gen + (uint32_t)j * 7u) % 26);
  return (size_t)len;
}

/* ---- one interface over both engines ------------------------------------ */

typedef struct kv {
  int leveldb;                   /* 1: LevelDB, 0: strata */
  strata_db *sdb;                /* strata's handle */
  leveldb_t *ldb;                /* LevelDB's handle */
  leveldb_options_t *lo;         /* its options */
  leveldb_filterpolicy_t *bloom; /* its filter policy */
  leveldb_writeoptions_t *lwo;   /* its write options */
  leveldb_readoptions_t *lro;    /* verify_checksums, fill_cache off */
} kv;

static int kv_open(kv *h, const char *dir, int leveldb) {
  memset(h, 0, sizeof *h);
  h->leveldb = leveldb;
  if (!leveldb) {
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.paranoid_checks = 1;
    o.write_buffer_size = 64 << 10;
    o.max_file_size = 64 << 10;
    int rc = strata_db_open(dir, &o, &h->sdb);
    CHECK_MSG(rc == STRATA_OK, "strata open %s: %s", dir, strata_last_error());
    return rc == STRATA_OK;
  }
  h->lo = leveldb_options_create();
  h->bloom = leveldb_filterpolicy_create_bloom(10);
  leveldb_options_set_create_if_missing(h->lo, 1);
  leveldb_options_set_paranoid_checks(h->lo, 1);
  leveldb_options_set_write_buffer_size(h->lo, 64 << 10);
  leveldb_options_set_max_file_size(h->lo, 64 << 10);
  leveldb_options_set_filter_policy(h->lo, h->bloom);
  h->lwo = leveldb_writeoptions_create();
  h->lro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(h->lro, 1);
  leveldb_readoptions_set_fill_cache(h->lro, 0);
  char *err = NULL;
  h->ldb = leveldb_open(h->lo, dir, &err);
  CHECK_MSG(err == NULL, "leveldb open %s: %s", dir, err ? err : "");
  leveldb_free(err);
  return h->ldb != NULL;
}

static void kv_close(kv *h) {
  if (!h->leveldb) {
    CHECK_EQ(strata_db_close(h->sdb), STRATA_OK);
    return;
  }
  leveldb_close(h->ldb);
  leveldb_options_destroy(h->lo);
  leveldb_filterpolicy_destroy(h->bloom);
  leveldb_writeoptions_destroy(h->lwo);
  leveldb_readoptions_destroy(h->lro);
}

static void kv_put(kv *h, ref *r, int i) {
  char k[32], v[300];
  uint32_t gen = ++r->next;
  size_t kl = key_of(i, k), vl = val_of(i, gen, v);
  if (!h->leveldb) {
    CHECK_EQ(strata_db_put(h->sdb, NULL, k, kl, v, vl), STRATA_OK);
  } else {
    char *err = NULL;
    leveldb_put(h->ldb, h->lwo, k, kl, v, vl, &err);
    CHECK(err == NULL);
    leveldb_free(err);
  }
  r->gen[i] = gen;
}

static void kv_del(kv *h, ref *r, int i) {
  char k[32];
  size_t kl = key_of(i, k);
  if (!h->leveldb) {
    CHECK_EQ(strata_db_delete(h->sdb, NULL, k, kl), STRATA_OK);
  } else {
    char *err = NULL;
    leveldb_delete(h->ldb, h->lwo, k, kl, &err);
    CHECK(err == NULL);
    leveldb_free(err);
  }
  r->gen[i] = 0;
}

/* A batch of n random puts and deletes. */
static void kv_batch(kv *h, ref *r, int n) {
  strata_batch *sb = strata_batch_create();
  leveldb_writebatch_t *lb = leveldb_writebatch_create();
  for (int j = 0; j < n; j++) {
    int i = (int)(test_rand() % NK);
    char k[32], v[300];
    size_t kl = key_of(i, k);
    if (test_rand() % 4) {
      uint32_t gen = ++r->next;
      size_t vl = val_of(i, gen, v);
      strata_batch_put(sb, k, kl, v, vl);
      leveldb_writebatch_put(lb, k, kl, v, vl);
      r->gen[i] = gen;
    } else {
      strata_batch_delete(sb, k, kl);
      leveldb_writebatch_delete(lb, k, kl);
      r->gen[i] = 0;
    }
  }
  if (!h->leveldb) {
    CHECK_EQ(strata_db_write(h->sdb, NULL, sb), STRATA_OK);
  } else {
    char *err = NULL;
    leveldb_write(h->ldb, h->lwo, lb, &err);
    CHECK(err == NULL);
    leveldb_free(err);
  }
  strata_batch_destroy(sb);
  leveldb_writebatch_destroy(lb);
}

/* compact_range over [a, b] (keys by index; -1: unbounded). */
static void kv_compact(kv *h, int a, int b) {
  char ka[32], kb[32];
  size_t al = a >= 0 ? key_of(a, ka) : 0, bl = b >= 0 ? key_of(b, kb) : 0;
  if (!h->leveldb)
    CHECK_EQ(strata_db_compact_range(h->sdb, a >= 0 ? ka : NULL, al,
                                     b >= 0 ? kb : NULL, bl),
             STRATA_OK);
  else
    leveldb_compact_range(h->ldb, a >= 0 ? ka : NULL, al, b >= 0 ? kb : NULL,
                          bl);
}

static int kv_files_at(kv *h, int level) {
  char name[64];
  sprintf(name, "leveldb.num-files-at-level%d", level);
  char *s = h->leveldb ? leveldb_property_value(h->ldb, name)
                       : strata_db_get_property(h->sdb, name);
  int n = s ? atoi(s) : -1;
  if (h->leveldb)
    leveldb_free(s);
  else
    free(s);
  return n;
}

/* Levels holding at least one table. */
static int kv_levels(kv *h) {
  int n = 0;
  for (int l = 0; l < 7; l++)
    n += kv_files_at(h, l) > 0;
  return n;
}

/* Every key by get (absent ones too), then a full forward scan and a full
 * backward one. Returns the number of differences. */
static int kv_check(kv *h, const ref *r, const char *what) {
  int bad = 0;
  char k[32], v[300];
  for (int i = 0; i < NK; i++) {
    size_t kl = key_of(i, k);
    char *got = NULL;
    size_t gl = 0;
    int found;
    if (!h->leveldb) {
      void *g = NULL;
      int rc = strata_db_get(h->sdb, NULL, k, kl, &g, &gl);
      if (rc != STRATA_OK && rc != STRATA_NOT_FOUND && bad++ < 5)
        test_fail(__FILE__, __LINE__, "%s: strata get %s: %s", what, k,
                  strata_last_error());
      found = rc == STRATA_OK;
      got = g;
    } else {
      char *err = NULL;
      got = leveldb_get(h->ldb, h->lro, k, kl, &gl, &err);
      if (err && bad++ < 5)
        test_fail(__FILE__, __LINE__, "%s: leveldb get %s: %s", what, k, err);
      leveldb_free(err);
      found = got != NULL;
    }
    size_t vl = r->gen[i] ? val_of(i, r->gen[i], v) : 0;
    if (found != (r->gen[i] != 0) ||
        (found && (gl != vl || memcmp(got, v, vl) != 0))) {
      if (bad++ < 5)
        test_fail(__FILE__, __LINE__, "%s: get %s: found %d, want %s", what, k,
                  found, r->gen[i] ? "a value" : "absent");
    }
    if (h->leveldb)
      leveldb_free(got);
    else
      free(got);
  }
  for (int dir = 0; dir < 2; dir++) {
    strata_iterator *si = NULL;
    leveldb_iterator_t *li = NULL;
    if (!h->leveldb) {
      CHECK_EQ(strata_db_iter_create(h->sdb, NULL, &si), STRATA_OK);
      if (!si) return bad + 1;
      dir ? strata_iter_seek_last(si) : strata_iter_seek_first(si);
    } else {
      li = leveldb_create_iterator(h->ldb, h->lro);
      dir ? leveldb_iter_seek_to_last(li) : leveldb_iter_seek_to_first(li);
    }
    for (int j = 0; j <= NK; j++) {
      int i = dir ? NK - 1 - j : j;
      if (j < NK && !r->gen[i]) continue;
      int valid = h->leveldb ? leveldb_iter_valid(li) : strata_iter_valid(si);
      if (j == NK) {
        if (valid && bad++ < 5)
          test_fail(__FILE__, __LINE__, "%s: scan %d goes past the end", what,
                    dir);
        break;
      }
      size_t kl = key_of(i, k), vl = val_of(i, r->gen[i], v);
      size_t gkl = 0, gvl = 0;
      const char *gk = NULL, *gv = NULL;
      if (valid && h->leveldb) {
        gk = leveldb_iter_key(li, &gkl);
        gv = leveldb_iter_value(li, &gvl);
      } else if (valid) {
        gk = strata_iter_key(si, &gkl);
        gv = strata_iter_value(si, &gvl);
      }
      if (!valid || gkl != kl || memcmp(gk, k, kl) != 0 || gvl != vl ||
          memcmp(gv, v, vl) != 0) {
        if (bad++ < 5)
          test_fail(__FILE__, __LINE__, "%s: scan %s: at '%.*s', want %s", what,
                    dir ? "backward" : "forward", valid ? (int)gkl : 0,
                    valid ? gk : "(end)", k);
        break;
      }
      if (h->leveldb)
        dir ? leveldb_iter_prev(li) : leveldb_iter_next(li);
      else
        dir ? strata_iter_prev(si) : strata_iter_next(si);
    }
    if (h->leveldb) {
      char *err = NULL;
      leveldb_iter_get_error(li, &err);
      if (err && bad++ < 5)
        test_fail(__FILE__, __LINE__, "%s: leveldb iterator: %s", what, err);
      leveldb_free(err);
      leveldb_iter_destroy(li);
    } else {
      if (strata_iter_status(si) != STRATA_OK && bad++ < 5)
        test_fail(__FILE__, __LINE__, "%s: strata iterator: %s", what,
                  strata_last_error());
      strata_iter_destroy(si);
    }
  }
  return bad;
}

/* Bytes in the directory's *.log files (the live WAL). */
static uint64_t wal_bytes(const char *dir) {
  DIR *d = opendir(dir);
  uint64_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0) continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0) n += (uint64_t)st.st_size;
  }
  if (d) closedir(d);
  return n;
}

/* The database of (a) and (b): every key written, compacted down, a third
 * overwritten, a fifth deleted, a range compacted, then a few more writes
 * that go to level 0 and above, then a few more that stay in the memtable
 * and the WAL. */
static void write_leveled(kv *h, ref *r) {
  for (int i = 0; i < NK; i++)
    kv_put(h, r, i);
  kv_compact(h, -1, -1);
  for (int i = 0; i < NK; i += 3)
    kv_put(h, r, i);
  for (int i = 1; i < NK; i += 5)
    kv_del(h, r, i);
  kv_compact(h, NK / 4, NK / 2);
  for (int i = 0; i < NK; i += 2) /* ~400 KB: flushes above the compacted */
    kv_put(h, r, i);
  for (int j = 0; j < 40; j++)
    kv_batch(h, r, 8);
  for (int i = 2; i < NK; i += 97)
    kv_put(h, r, i);
  for (int i = 4; i < NK; i += 89)
    kv_del(h, r, i);
}

TEST(leveldb_db_read_by_strata) {
  const char *dir = test_path("db");
  static ref r;
  memset(&r, 0, sizeof r);
  kv h;
  if (!kv_open(&h, dir, 1)) return;
  write_leveled(&h, &r);
  int levels = kv_levels(&h);
  CHECK_MSG(levels >= 2, "LevelDB's database has %d levels", levels);
  kv_check(&h, &r, "leveldb itself");
  kv_close(&h);
  uint64_t wal = wal_bytes(dir);
  CHECK_MSG(wal > 0, "no live WAL");

  if (!kv_open(&h, dir, 0)) return;
  CHECK_EQ(kv_check(&h, &r, "strata reads leveldb"), 0);
  kv_close(&h);
  CHECK_EQ(strata_db_verify(dir, NULL, NULL), STRATA_OK);
  printf("leveldb -> strata: %d levels, %" PRIu64 " WAL bytes, %u writes\n",
         levels, wal, r.next);
}

TEST(strata_db_read_by_leveldb) {
  const char *dir = test_path("db");
  static ref r;
  memset(&r, 0, sizeof r);
  kv h;
  if (!kv_open(&h, dir, 0)) return;
  write_leveled(&h, &r);
  int levels = kv_levels(&h);
  CHECK_MSG(levels >= 2, "strata's database has %d levels", levels);
  kv_check(&h, &r, "strata itself");
  kv_close(&h);
  uint64_t wal = wal_bytes(dir);
  CHECK_MSG(wal > 0, "no live WAL");

  if (!kv_open(&h, dir, 1)) return;
  CHECK_EQ(kv_check(&h, &r, "leveldb reads strata"), 0);
  kv_close(&h);
  printf("strata -> leveldb: %d levels, %" PRIu64 " WAL bytes, %u writes\n",
         levels, wal, r.next);
}

TEST(leveldb_strata_take_turns) {
  const char *dir = test_path("db");
  static ref r;
  memset(&r, 0, sizeof r);
  int total_bad = 0;
  for (int round = 0; round < 10; round++) {
    int writer = round % 2; /* 0: strata, 1: LevelDB */
    kv h;
    if (!kv_open(&h, dir, writer)) return;
    /* the writer first checks what the other left, then writes */
    char what[64];
    sprintf(what, "round %d: %s before writing", round,
            writer ? "leveldb" : "strata");
    total_bad += kv_check(&h, &r, what);
    int n = 600 + (int)(test_rand() % 600);
    for (int j = 0; j < n; j++) {
      int i = (int)(test_rand() % NK);
      uint64_t x = test_rand() % 10;
      if (x < 6)
        kv_put(&h, &r, i);
      else if (x < 8)
        kv_del(&h, &r, i);
      else
        kv_batch(&h, &r, 5);
    }
    if (round % 3 == 2) kv_compact(&h, -1, -1);
    kv_close(&h);
    if (!kv_open(&h, dir, !writer)) return;
    sprintf(what, "round %d: %s reads", round, writer ? "strata" : "leveldb");
    total_bad += kv_check(&h, &r, what);
    kv_close(&h);
  }
  CHECK_EQ(total_bad, 0);
  CHECK_EQ(strata_db_verify(dir, NULL, NULL), STRATA_OK);
  printf("take turns: 10 rounds, %u writes, %d mismatches\n", r.next,
         total_bad);
}
