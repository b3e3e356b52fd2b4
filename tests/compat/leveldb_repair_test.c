/*
 * leveldb_repair_test.c — strata repair on databases LevelDB 1.23 wrote,
 * and LevelDB 1.23 (C API, paranoid_checks + verify_checksums) opening what
 * strata repair wrote.
 *
 * LevelDB writes NKEYS puts, overwrites every 7th, deletes every 11th,
 * compacts, then writes a few more (left in its WAL). Damage:
 *  - the MANIFEST: a byte flipped in its middle, truncated to half, deleted;
 *    CURRENT overwritten with junk (LevelDB itself then refuses to open the
 *    database);
 *  - the index block of the largest table: a byte flipped.
 * strata_db_repair writes a new directory; the original is unchanged (every
 * file's bytes); the report names the damaged file; LevelDB opens the
 * repaired database and reads every key of the model with its newest value,
 * every deleted key absent, and its iterator sees exactly the live keys.
 */
#include <dirent.h>
#include <leveldb/c.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"
#include "test.h"

enum { NKEYS = 20000 };

static int model[NKEYS]; /* newest version written, 0: deleted */

static int key_of(int i, char *b) { return sprintf(b, "k%07d", i); }
static int val_of(int i, int ver, char *b) {
  return sprintf(b, "v%d-%07d-%060d", ver, i, i);
}

static void make_leveldb(const char *dir) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_filter_policy(o, bloom);
  leveldb_options_set_write_buffer_size(o, 256 << 10);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  CHECK_MSG(err == NULL, "leveldb_open: %s", err ? err : "");
  if (!db) return;
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char k[32], v[128];
  for (int i = 0; i < NKEYS; i++) {
    int kn = key_of(i, k), vn = val_of(i, 1, v);
    leveldb_put(db, wo, k, (size_t)kn, v, (size_t)vn, &err);
    model[i] = 1;
  }
  for (int i = 0; i < NKEYS; i += 7) {
    int kn = key_of(i, k), vn = val_of(i, 2, v);
    leveldb_put(db, wo, k, (size_t)kn, v, (size_t)vn, &err);
    model[i] = 2;
  }
  for (int i = 0; i < NKEYS; i += 11) {
    int kn = key_of(i, k);
    leveldb_delete(db, wo, k, (size_t)kn, &err);
    model[i] = 0;
  }
  leveldb_compact_range(db, NULL, 0, NULL, 0);
  for (int i = 3; i < NKEYS; i += 101) { /* left in the WAL */
    int kn = key_of(i, k), vn = val_of(i, 3, v);
    leveldb_put(db, wo, k, (size_t)kn, v, (size_t)vn, &err);
    model[i] = 3;
  }
  CHECK(err == NULL);
  leveldb_close(db);
  leveldb_writeoptions_destroy(wo);
  leveldb_options_destroy(o);
  leveldb_filterpolicy_destroy(bloom);
}

/* A checksum of every file of dir (names and bytes). */
static uint64_t dir_sum(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  uint64_t h = 1469598103934665603ull;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    uint64_t fh = 1469598103934665603ull;
    for (const char *s = e->d_name; *s; s++)
      fh = (fh ^ (uint8_t)*s) * 1099511628211ull;
    FILE *f = fopen(p, "rb");
    int c;
    while (f && (c = fgetc(f)) != EOF)
      fh = (fh ^ (uint8_t)c) * 1099511628211ull;
    if (f) fclose(f);
    h += fh; /* order-independent */
  }
  closedir(d);
  return h;
}

static void flip(const char *path, long off) {
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, off, SEEK_SET);
  int c = fgetc(f);
  fseek(f, off, SEEK_SET);
  fputc(c ^ 0x20, f);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The file of dir with the largest size among names starting with prefix
 * and ending with suffix. */
static int find_file(const char *dir, const char *prefix, const char *suffix,
                     char *out, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  long best = -1;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name), sl = strlen(suffix);
    if (strncmp(e->d_name, prefix, strlen(prefix)) || l < sl ||
        strcmp(e->d_name + l - sl, suffix))
      continue;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (file_size(p) > best) {
      best = file_size(p);
      if (snprintf(out, n, "%s", p) >= (int)n) best = -1;
    }
  }
  closedir(d);
  return best >= 0;
}

typedef struct seen {
  int damage, costs, doubtful;
  char file[800];
} seen;

static void on_event(void *arg, const strata_repair_event *ev) {
  seen *s = arg;
  if (ev->kind == STRATA_REPAIR_DAMAGE) {
    if (!s->damage) snprintf(s->file, sizeof s->file, "%s", ev->damage->file);
    s->damage++;
    s->costs += ev->costs_keys;
  }
  if (ev->kind == STRATA_REPAIR_DOUBTFUL) s->doubtful++;
}

/* LevelDB opens dir (paranoid) and reads back the model. */
static void leveldb_reads_model(const char *dir) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_paranoid_checks(o, 1);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, dir, &err);
  CHECK_MSG(err == NULL, "LevelDB cannot open the repaired database: %s",
            err ? err : "");
  if (!db) {
    leveldb_free(err);
    leveldb_options_destroy(o);
    return;
  }
  leveldb_readoptions_t *ro = leveldb_readoptions_create();
  leveldb_readoptions_set_verify_checksums(ro, 1);
  int live = 0, bad = 0;
  for (int i = 0; i < NKEYS; i++) {
    char k[32], want[128];
    int kn = key_of(i, k);
    size_t vn = 0;
    char *v = leveldb_get(db, ro, k, (size_t)kn, &vn, &err);
    CHECK_MSG(err == NULL, "leveldb_get %s: %s", k, err ? err : "");
    if (err) {
      leveldb_free(err);
      err = NULL;
    }
    if (model[i]) {
      live++;
      int wn = val_of(i, model[i], want);
      if (!v || vn != (size_t)wn || memcmp(v, want, vn)) bad++;
    } else if (v) {
      bad++;
    }
    leveldb_free(v);
  }
  CHECK_EQ(bad, 0);
  leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
  int n = 0;
  for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
       leveldb_iter_next(it))
    n++;
  leveldb_iter_get_error(it, &err);
  CHECK(err == NULL);
  CHECK_EQ(n, live);
  leveldb_iter_destroy(it);
  /* a new write wins over every repaired version */
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char k[32];
  int kn = key_of(1, k);
  leveldb_put(db, wo, k, (size_t)kn, "fresh", 5, &err);
  CHECK(err == NULL);
  size_t vn = 0;
  char *v = leveldb_get(db, ro, k, (size_t)kn, &vn, &err);
  CHECK(v && vn == 5 && memcmp(v, "fresh", 5) == 0);
  leveldb_free(v);
  leveldb_writeoptions_destroy(wo);
  leveldb_readoptions_destroy(ro);
  leveldb_close(db);
  leveldb_options_destroy(o);
}

/* index: 1 damages the largest table's index; 0 the MANIFEST, as `how`
 * says: 0 a flipped byte, 1 truncated to half, 2 deleted, 3 CURRENT junk. */
static void repair_case(int index, int how) {
  char dir[512], into[512], victim[800];
  snprintf(dir, sizeof dir, "%s", test_path("ldb"));
  snprintf(into, sizeof into, "%s", test_path("repaired"));
  make_leveldb(dir);
  if (index) {
    CHECK(find_file(dir, "", ".ldb", victim, sizeof victim));
    /* the footer's index handle: find the index block */
    FILE *f = fopen(victim, "rb");
    CHECK(f != NULL);
    if (!f) return;
    long sz = file_size(victim);
    unsigned char foot[48];
    fseek(f, sz - 48, SEEK_SET);
    CHECK_EQ(fread(foot, 1, 48, f), 48);
    fclose(f);
    /* two varint handles: metaindex, then index (offset, size) */
    uint64_t vals[4] = {0};
    size_t p = 0;
    for (int j = 0; j < 4; j++)
      for (int shift = 0; p < 40; shift += 7) {
        vals[j] |= (uint64_t)(foot[p] & 0x7f) << shift;
        if (!(foot[p++] & 0x80)) break;
      }
    CHECK(vals[3] > 4 && vals[2] + vals[3] < (uint64_t)sz);
    flip(victim, (long)(vals[2] + vals[3] / 2));
  } else {
    CHECK(find_file(dir, "MANIFEST-", "", victim, sizeof victim));
    if (how == 0) flip(victim, file_size(victim) / 2);
    if (how == 1) CHECK_EQ(truncate(victim, file_size(victim) / 2), 0);
    if (how == 2) CHECK_EQ(unlink(victim), 0);
    if (how == 3) {
      snprintf(victim, sizeof victim, "%s/CURRENT", dir);
      FILE *f = fopen(victim, "wb");
      CHECK(f != NULL);
      if (f) {
        fputs("MANIFEST-00000x\n", f);
        fclose(f);
      }
    }
    /* LevelDB itself refuses it now */
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_paranoid_checks(o, 1);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    if (how != 1) CHECK(err != NULL); /* a cut MANIFEST may read as torn */
    leveldb_free(err);
    if (db) leveldb_close(db);
    leveldb_options_destroy(o);
  }
  uint64_t before = dir_sum(dir);
  seen s;
  memset(&s, 0, sizeof s);
  strata_repair_options ro;
  strata_repair_options_init(&ro);
  ro.on_event = on_event;
  ro.arg = &s;
  strata_repair_report rep;
  int rc = strata_db_repair(dir, into, &ro, &rep);
  CHECK_MSG(rc == STRATA_OK, "repair: %s", strata_last_error());
  if (rc) return;
  CHECK_U64(dir_sum(dir), before);
  CHECK(s.damage >= 1);
  CHECK_MSG(strcmp(s.file, victim) == 0, "reported %s, damaged %s", s.file,
            victim);
  CHECK_EQ(s.costs, 0);
  CHECK_EQ(s.doubtful, 0);
  CHECK_EQ(rep.manifest_used, index);
  CHECK(rep.level >= 1);
  leveldb_reads_model(into);
  strata_repair_report_free(&rep);
}

TEST(leveldb_opens_repair_of_damaged_manifest) { repair_case(0, 0); }
TEST(leveldb_opens_repair_of_truncated_manifest) { repair_case(0, 1); }
TEST(leveldb_opens_repair_of_deleted_manifest) { repair_case(0, 2); }
TEST(leveldb_opens_repair_of_damaged_current) { repair_case(0, 3); }
TEST(leveldb_opens_repair_of_damaged_table_index) { repair_case(1, 0); }
