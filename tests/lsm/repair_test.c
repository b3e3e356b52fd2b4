/*
 * repair_test.c — strata_db_repair on damaged LSM databases (docs/repair.md).
 *
 * A database is written with overwrites and deletions spread over several
 * tables (some compacted to deeper levels) and a WAL left unflushed; a model
 * keeps the newest value of every key. Then one kind of damage:
 *  - MANIFEST: a byte flipped in its middle, truncated to half, deleted;
 *    CURRENT overwritten with junk;
 *  - a table's index block: a byte flipped (found with strata_table_inspect);
 *  - a tombstone: k put in one table, deleted in a newer table whose data
 *    block holding the tombstone is damaged: k must not come back, and is
 *    reported doubtful;
 *  - a WAL region in the middle of the live WAL.
 * The repair goes to a new directory: every key of the model is read back
 * (strata, paranoid) with its newest value, deleted keys stay deleted, the
 * loss report lists the damage, and the original directory is byte for byte
 * unchanged. --in-place swaps the repaired database in and keeps the
 * original as DIR.damaged.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"
#include "test.h"
#include "util/coding.h"
#include "util/crc32c.h"

enum { NKEYS = 4000 };

/* model: version[i] = 0 deleted/never, else the version number written */
static int model[NKEYS];

static int key_of(int i, char *b) { return sprintf(b, "key%06d", i); }
static int val_of(int i, int ver, char *b) {
  return sprintf(b, "value-%06d-v%d-%080d", i, ver, i);
}

static int plain_blocks; /* 1: databases are created without compression */

static strata_db *open_db(const char *dir, int create) {
  strata_options o;
  strata_options_init(&o);
  if (plain_blocks) o.compression = STRATA_COMPRESSION_NONE;
  o.create_if_missing = create;
  o.paranoid_checks = !create;
  o.write_buffer_size = 64 << 10;
  strata_db *db = NULL;
  int rc = strata_db_open(dir, &o, &db);
  CHECK_MSG(rc == STRATA_OK, "open %s: %s", dir, strata_last_error());
  return db;
}

static void put(strata_db *db, int i, int ver) {
  char k[32], v[160];
  int kn = key_of(i, k), vn = val_of(i, ver, v);
  CHECK_EQ(strata_db_put(db, NULL, k, (size_t)kn, v, (size_t)vn), STRATA_OK);
  model[i] = ver;
}

static void del(strata_db *db, int i) {
  char k[32];
  int kn = key_of(i, k);
  CHECK_EQ(strata_db_delete(db, NULL, k, (size_t)kn), STRATA_OK);
  model[i] = 0;
}

/* Several tables across levels, overwrites, deletions, an unflushed WAL. */
static void make_db(const char *dir) {
  memset(model, 0, sizeof model);
  strata_db *db = open_db(dir, 1);
  for (int i = 0; i < NKEYS; i++)
    put(db, i, 1);
  CHECK_EQ(strata_db_compact_range(db, NULL, 0, NULL, 0), STRATA_OK);
  for (int i = 0; i < NKEYS; i += 7)
    put(db, i, 2);
  for (int i = 3; i < NKEYS; i += 11)
    del(db, i);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  for (int i = 5; i < NKEYS; i += 13)
    put(db, i, 3); /* left in the WAL */
  for (int i = 1; i < NKEYS; i += 17)
    del(db, i);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
}

/* ---- a byte-for-byte snapshot of a directory ---------------------------- */

typedef struct snap {
  char *name[64];
  char *data[64];
  size_t len[64];
  int n;
} snap;

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  fclose(f);
  return b;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void take_snap(const char *dir, snap *s) {
  memset(s, 0, sizeof *s);
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && s->n < 64) {
    if (e->d_name[0] == '.') continue;
    s->name[s->n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(s->name, (size_t)s->n, sizeof s->name[0], by_name);
  for (int i = 0; i < s->n; i++) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, s->name[i]);
    s->data[i] = slurp(p, &s->len[i]);
  }
}

static int snap_equal(const snap *a, const snap *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (strcmp(a->name[i], b->name[i]) || a->len[i] != b->len[i] ||
        memcmp(a->data[i], b->data[i], a->len[i]))
      return 0;
  return 1;
}

static void free_snap(snap *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->name[i]);
    free(s->data[i]);
  }
}

/* ---- the loss report ---------------------------------------------------- */

typedef struct events {
  int damage, costs, doubtful, ignored;
  int stopped; /* a table walk stopped early ("could not be read past") */
  char files[16][256]; /* damaged files (first 16) */
  char doubt[16][32];  /* doubtful keys (first 16) */
  char dfile[16][256]; /* the files holding their left-out versions */
} events;

static void on_event(void *arg, const strata_repair_event *ev) {
  events *e = arg;
  if (ev->kind == STRATA_REPAIR_DAMAGE) {
    if (e->damage < 16)
      snprintf(e->files[e->damage], sizeof e->files[0], "%s", ev->damage->file);
    e->damage++;
    e->costs += ev->costs_keys;
    if (ev->damage->reason && strstr(ev->damage->reason, "read past here"))
      e->stopped = 1;
  } else if (ev->kind == STRATA_REPAIR_DOUBTFUL) {
    if (e->doubtful < 16) {
      snprintf(e->doubt[e->doubtful], sizeof e->doubt[0], "%.*s",
               (int)ev->key_len, (const char *)ev->key);
      snprintf(e->dfile[e->doubtful], sizeof e->dfile[0], "%s",
               ev->file ? ev->file : "");
    }
    e->doubtful++;
  } else {
    e->ignored++;
  }
}

static int damaged_file_contains(const events *e, const char *part) {
  for (int i = 0; i < e->damage && i < 16; i++)
    if (strstr(e->files[i], part)) return 1;
  return 0;
}

static int repair(const char *dir, const char *into, int in_place, events *ev,
                  strata_repair_report *rep) {
  memset(ev, 0, sizeof *ev);
  strata_repair_options o;
  strata_repair_options_init(&o);
  o.in_place = in_place;
  o.on_event = on_event;
  o.arg = ev;
  int rc = strata_db_repair(dir, into, &o, rep);
  CHECK_MSG(rc == STRATA_OK, "repair: %s", strata_last_error());
  return rc;
}

/* Every key of the model reads back with its newest value (skipping the
 * keys listed in `skip`, e.g. doubtful ones); returns the keys found. */
static int check_model(const char *dir, const events *ev) {
  strata_db *db = open_db(dir, 0);
  if (!db) return 0;
  int found = 0;
  for (int i = 0; i < NKEYS; i++) {
    char k[32], want[160];
    int kn = key_of(i, k);
    int skip = 0;
    for (int j = 0; ev && j < ev->doubtful && j < 16; j++)
      skip |= strcmp(ev->doubt[j], k) == 0;
    void *v = NULL;
    size_t vn = 0;
    int rc = strata_db_get(db, NULL, k, (size_t)kn, &v, &vn);
    if (model[i]) {
      int wn = val_of(i, model[i], want);
      if (!skip) {
        CHECK_MSG(rc == STRATA_OK, "%s: %d (%s)", k, rc, strata_last_error());
        if (rc == STRATA_OK) CHECK_MEM(v, vn, want, (size_t)wn);
      }
      found += rc == STRATA_OK;
    } else {
      CHECK_MSG(rc == STRATA_NOT_FOUND, "%s: deleted key came back", k);
    }
    free(v);
  }
  strata_iterator *it = NULL;
  CHECK_EQ(strata_db_iter_create(db, NULL, &it), STRATA_OK);
  int n = 0;
  for (strata_iter_seek_first(it); strata_iter_valid(it); strata_iter_next(it))
    n++;
  CHECK_EQ(strata_iter_status(it), STRATA_OK);
  CHECK_EQ(n, found);
  strata_iter_destroy(it);
  strata_db_close(db);
  return found;
}

static int live_keys(void) {
  int n = 0;
  for (int i = 0; i < NKEYS; i++)
    n += model[i] != 0;
  return n;
}

static void flip(const char *path, long off) {
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, off, SEEK_SET);
  int c = fgetc(f);
  fseek(f, off, SEEK_SET);
  fputc(c ^ 0x40, f);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The path of the first file of `dir` whose name starts with / ends with. */
static int find_file(const char *dir, const char *prefix, const char *suffix,
                     char *out, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d))) {
    size_t l = strlen(e->d_name), sl = strlen(suffix);
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && l >= sl &&
        strcmp(e->d_name + l - sl, suffix) == 0) {
      snprintf(out, n, "%s/%s", dir, e->d_name);
      found = 1;
    }
  }
  closedir(d);
  return found;
}

static void manifest_case(int how) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  make_db(dir);
  char man[512];
  CHECK(find_file(dir, "MANIFEST-", "", man, sizeof man));
  char cur[600];
  snprintf(cur, sizeof cur, "%s/CURRENT", dir);
  long sz = file_size(man);
  if (how == 0) flip(man, sz / 2);
  if (how == 1) CHECK_EQ(truncate(man, sz / 2), 0);
  if (how == 2) CHECK_EQ(unlink(man), 0);
  if (how == 3) {
    FILE *f = fopen(cur, "wb");
    fputs("MANIFEST-junk", f);
    fclose(f);
  }
  snap before, after;
  take_snap(dir, &before);
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  take_snap(dir, &after);
  CHECK_MSG(snap_equal(&before, &after), "the original directory changed");
  free_snap(&before);
  free_snap(&after);
  CHECK_EQ(rep.manifest_used, 0);
  CHECK(ev.damage >= 1);
  CHECK(damaged_file_contains(&ev, how == 3 ? "CURRENT" : "MANIFEST-"));
  CHECK_EQ(ev.costs, 0);    /* MANIFEST damage costs no entry */
  CHECK_EQ(ev.doubtful, 0); /* so no key is in doubt */
  CHECK_EQ(check_model(into, &ev), live_keys());
  CHECK_U64(rep.keys_written, (uint64_t)live_keys());
  CHECK(rep.level >= 1);
  CHECK(rep.tables_written >= 1);
  CHECK_STR(rep.path, into);
  CHECK(strata_db_verify(into, NULL, NULL) == STRATA_OK);
  /* new writes win over the repaired versions (last sequence high enough) */
  strata_db *db = open_db(into, 0);
  char k[32];
  int kn = key_of(0, k);
  CHECK_EQ(strata_db_put(db, NULL, k, (size_t)kn, "fresh", 5), STRATA_OK);
  void *v = NULL;
  size_t vn = 0;
  CHECK_EQ(strata_db_get(db, NULL, k, (size_t)kn, &v, &vn), STRATA_OK);
  CHECK_MEM(v, vn, "fresh", 5);
  free(v);
  strata_db_close(db);
  strata_repair_report_free(&rep);
}

TEST(repair_manifest_flipped_byte) { manifest_case(0); }
TEST(repair_manifest_truncated) { manifest_case(1); }
TEST(repair_manifest_deleted) { manifest_case(2); }
TEST(repair_current_damaged) { manifest_case(3); }

typedef struct index_find {
  uint64_t off, size;
  int ok;
} index_find;

static void on_block(void *arg, const strata_table_block_info *b) {
  index_find *f = arg;
  if (strcmp(b->kind, "index") == 0) {
    f->off = b->offset;
    f->size = b->size;
    f->ok = 1;
  }
}

TEST(repair_table_index_flipped) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  make_db(dir);
  /* the largest table: the one compacted from every key */
  DIR *d = opendir(dir);
  struct dirent *e;
  char tbl[800] = "";
  long best = -1;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 4, ".ldb")) continue;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (file_size(p) > best) {
      best = file_size(p);
      snprintf(tbl, sizeof tbl, "%s", p);
    }
  }
  closedir(d);
  CHECK(best > 0);
  strata_table_visitor v;
  memset(&v, 0, sizeof v);
  index_find f = {0, 0, 0};
  v.block = on_block;
  v.arg = &f;
  CHECK_EQ(strata_table_inspect(tbl, &v, NULL), STRATA_OK);
  CHECK(f.ok && f.size > 4);
  flip(tbl, (long)(f.off + f.size / 2));
  CHECK(strata_db_verify(dir, NULL, NULL) == STRATA_CORRUPTION);
  snap before, after;
  take_snap(dir, &before);
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  take_snap(dir, &after);
  CHECK_MSG(snap_equal(&before, &after), "the original directory changed");
  free_snap(&before);
  free_snap(&after);
  CHECK_EQ(rep.manifest_used, 1);
  CHECK(damaged_file_contains(&ev, strrchr(tbl, '/') + 1));
  CHECK_EQ(ev.costs, 0); /* the index is rebuilt from intact data blocks */
  CHECK_EQ(ev.doubtful, 0);
  CHECK_EQ(check_model(into, &ev), live_keys());
  strata_repair_report_free(&rep);
}

/* The highest-numbered table of dir. */
static int newest_table(const char *dir, char *out, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  long best = -1;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 4, ".ldb")) continue;
    long num = atol(e->d_name);
    if (num > best) {
      best = num;
      if (snprintf(out, n, "%s/%s", dir, e->d_name) >= (int)n) best = -1;
    }
  }
  closedir(d);
  return best >= 0;
}

/* 1 if the table at path holds a deletion of `key`. */
static int holds_deletion(const char *path, const char *key) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  strata_table *t = NULL;
  if (strata_table_open(path, &o, NULL, NULL, &t)) return 0;
  strata_table_iter *it = NULL;
  strata_table_iter_create(t, &it);
  int found = 0;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it)) {
    size_t kn, ul;
    const char *k = strata_table_iter_key(it, &kn);
    uint64_t seq;
    int type;
    if (strata_internal_key_parse(k, kn, &ul, &seq, &type) == 0 && type == 0 &&
        ul == strlen(key) && memcmp(k, key, ul) == 0)
      found = 1;
  }
  strata_table_iter_destroy(it);
  strata_table_close(t);
  return found;
}

TEST(repair_never_resurrects_behind_a_lost_tombstone) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  memset(model, 0, sizeof model);
  strata_db *db = open_db(dir, 1);
  for (int i = 0; i < 100; i++)
    put(db, i, 1);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  del(db, 50); /* the tombstone, in a newer table */
  put(db, 60, 2);
  CHECK_EQ(strata_db_flush(db), STRATA_OK);
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  char tbl[512];
  CHECK(newest_table(dir, tbl, sizeof tbl));
  char k50[32];
  key_of(50, k50);
  CHECK_MSG(holds_deletion(tbl, k50), "setup: %s lacks the tombstone", tbl);
  flip(tbl, 5); /* its only data block */
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  CHECK(damaged_file_contains(&ev, strrchr(tbl, '/') + 1));
  CHECK(ev.costs >= 1);
  /* the lost block spanned key000050..key000060: each of those keys
   * survives only in the older table, so each is in doubt */
  CHECK_EQ(ev.doubtful, 11);
  int k50_doubted = 0;
  for (int j = 0; j < ev.doubtful && j < 16; j++) {
    k50_doubted |= strcmp(ev.doubt[j], k50) == 0;
    /* the left-out version lives in the older table */
    size_t fl = strlen(ev.dfile[j]);
    CHECK_MSG(fl > 4 && strcmp(ev.dfile[j] + fl - 4, ".ldb") == 0 &&
                  strcmp(ev.dfile[j], tbl) != 0,
              "doubtful %s from '%s'", ev.doubt[j], ev.dfile[j]);
  }
  CHECK(k50_doubted);
  CHECK_U64(rep.doubtful_keys, 11);
  strata_db *r = open_db(into, 0);
  for (int i = 0; i < 100 && r; i++) {
    char k[32], want[160];
    int kn = key_of(i, k);
    void *v = NULL;
    size_t vn;
    int rc = strata_db_get(r, NULL, k, (size_t)kn, &v, &vn);
    if (i >= 50 && i <= 60) {
      CHECK_MSG(rc == STRATA_NOT_FOUND, "%s came back from an older table", k);
    } else {
      int wn = val_of(i, 1, want);
      CHECK_EQ(rc, STRATA_OK);
      if (!rc) CHECK_MEM(v, vn, want, (size_t)wn);
    }
    free(v);
  }
  strata_db_close(r);
  strata_repair_report_free(&rep);
}

TEST(repair_wal_region_lost) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  memset(model, 0, sizeof model);
  strata_db *db = open_db(dir, 1);
  for (int i = 0; i < 300; i++)
    put(db, i, 1); /* one batch each, all in the WAL */
  CHECK_EQ(strata_db_close(db), STRATA_OK);
  char wal[512];
  CHECK(find_file(dir, "", ".log", wal, sizeof wal));
  long sz = file_size(wal);
  flip(wal, sz / 2);
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  CHECK(damaged_file_contains(&ev, ".log"));
  CHECK_EQ(ev.costs, 1);
  /* every key written before the lost batches could have been overwritten
   * or deleted by them: in doubt, left out; keys after it are kept */
  strata_db *r = open_db(into, 0);
  int kept = 0, first_kept = -1;
  for (int i = 0; i < 300 && r; i++) {
    char k[32], want[160];
    int kn = key_of(i, k);
    void *v = NULL;
    size_t vn;
    int rc = strata_db_get(r, NULL, k, (size_t)kn, &v, &vn);
    if (rc == STRATA_OK) {
      int wn = val_of(i, 1, want);
      CHECK_MEM(v, vn, want, (size_t)wn);
      if (first_kept < 0) first_kept = i;
      kept++;
    } else {
      CHECK_EQ(rc, STRATA_NOT_FOUND);
      CHECK_MSG(first_kept < 0, "%s missing after the damage", k);
    }
    free(v);
  }
  CHECK(first_kept > 0 && kept > 0);
  CHECK_U64(rep.keys_written, (uint64_t)kept);
  CHECK(ev.doubtful > 0 && ev.doubtful < first_kept);
  CHECK_STR(ev.dfile[0], wal); /* the left-out versions are in the WAL */
  CHECK_U64(rep.last_sequence, 300);
  strata_db_close(r);
  strata_repair_report_free(&rep);
}

TEST(repair_in_place) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  make_db(dir);
  char man[512];
  CHECK(find_file(dir, "MANIFEST-", "", man, sizeof man));
  flip(man, file_size(man) / 2);
  snap before, after;
  take_snap(dir, &before);
  events ev;
  strata_repair_report rep;
  if (repair(dir, NULL, 1, &ev, &rep)) return;
  char damaged[700];
  snprintf(damaged, sizeof damaged, "%s.damaged", dir);
  CHECK_STR(rep.path, dir);
  CHECK(rep.backup && strcmp(rep.backup, damaged) == 0);
  take_snap(damaged, &after);
  CHECK_MSG(snap_equal(&before, &after), "the original's files changed");
  free_snap(&before);
  free_snap(&after);
  CHECK_EQ(check_model(dir, &ev), live_keys());
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s.repairing", dir);
  CHECK(access(tmp, F_OK) != 0);
  /* a second in-place repair refuses to overwrite DIR.damaged */
  strata_repair_options o;
  strata_repair_options_init(&o);
  o.in_place = 1;
  CHECK_EQ(strata_db_repair(dir, NULL, &o, NULL), STRATA_INVALID_ARGUMENT);
  strata_repair_report_free(&rep);
}

TEST(repair_refuses_nonempty_target_and_open_db) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  make_db(dir);
  CHECK_EQ(strata_db_repair(dir, dir, NULL, NULL), STRATA_INVALID_ARGUMENT);
  strata_db *db = open_db(dir, 0);
  char x[512];
  snprintf(x, sizeof x, "%s", test_path("x"));
  CHECK_EQ(strata_db_repair(dir, x, NULL, NULL), STRATA_BUSY);
  CHECK(access(x, F_OK) != 0);
  strata_db_close(db);
  CHECK_EQ(strata_db_repair(test_path("nothing"), NULL, NULL, NULL),
           STRATA_NOT_FOUND);
}

TEST(repair_table_footer_lost) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  make_db(dir);
  char tbl[800] = "";
  long best = -1;
  DIR *d = opendir(dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 4, ".ldb")) continue;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (file_size(p) > best) {
      best = file_size(p);
      snprintf(tbl, sizeof tbl, "%s", p);
    }
  }
  closedir(d);
  CHECK(best > 100);
  CHECK_EQ(truncate(tbl, best - 30), 0); /* the footer and part of the index */
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  CHECK(damaged_file_contains(&ev, strrchr(tbl, '/') + 1));
  CHECK_EQ(ev.doubtful, 0); /* every data block was intact */
  CHECK_EQ(check_model(into, &ev), live_keys());
  strata_repair_report_free(&rep);
}

/* An index block whose checksum matches but whose first handle does not
 * decode: the table walk stops (not a skippable block). The repair still
 * succeeds, reports the table's range as lost, and whatever it keeps is the
 * newest value. */
TEST(repair_index_with_bad_handle) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  plain_blocks = 1; /* so the index block's bytes can be edited */
  make_db(dir);
  plain_blocks = 0;
  char tbl[800] = "";
  long best = -1;
  DIR *d = opendir(dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 4, ".ldb")) continue;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (file_size(p) > best) {
      best = file_size(p);
      snprintf(tbl, sizeof tbl, "%s", p);
    }
  }
  closedir(d);
  strata_table_visitor v;
  memset(&v, 0, sizeof v);
  index_find f = {0, 0, 0};
  v.block = on_block;
  v.arg = &f;
  CHECK_EQ(strata_table_inspect(tbl, &v, NULL), STRATA_OK);
  CHECK(f.ok && f.size > 8);
  size_t n;
  char *img = slurp(tbl, &n);
  if (!img || !f.ok) return;
  uint8_t *b = (uint8_t *)img + f.off;
  /* first entry: shared 0, non_shared, value length, key, value */
  CHECK_EQ(b[0], 0);
  size_t kl = b[1], vl = b[2];
  CHECK(kl < 128 && vl >= 2 && vl < 128);
  memset(b + 3 + kl, 0xff, vl); /* an unterminated varint */
  uint8_t *trailer = b + f.size;
  uint32_t crc = crc32c_mask(crc32c_value(b, (size_t)f.size + 1));
  encode_fixed32(trailer + 1, crc);
  FILE *out = fopen(tbl, "wb");
  fwrite(img, 1, n, out);
  fclose(out);
  free(img);
  events ev;
  strata_repair_report rep;
  char into[512];
  snprintf(into, sizeof into, "%s", test_path("fixed"));
  if (repair(dir, into, 0, &ev, &rep)) return;
  CHECK(damaged_file_contains(&ev, strrchr(tbl, '/') + 1));
  CHECK(ev.costs >= 1);
  CHECK(ev.stopped);
  strata_db *db = open_db(into, 0);
  int present = 0;
  for (int i = 0; i < NKEYS && db; i++) {
    char k[32], want[160];
    int kn = key_of(i, k);
    void *val = NULL;
    size_t vn = 0;
    int rc = strata_db_get(db, NULL, k, (size_t)kn, &val, &vn);
    if (rc == STRATA_OK) {
      present++;
      CHECK_MSG(model[i] != 0, "%s: deleted key came back", k);
      int wn = val_of(i, model[i], want);
      if (model[i]) CHECK_MEM(val, vn, want, (size_t)wn);
    } else {
      CHECK_EQ(rc, STRATA_NOT_FOUND);
    }
    free(val);
  }
  CHECK_U64(rep.keys_written, (uint64_t)present);
  strata_db_close(db);
  strata_repair_report_free(&rep);
}
