/*
 * leveldb_manifest_test.c — the VersionEdit codec against real LevelDB 1.23.
 * LevelDB (through its C API, at test time) writes a database with a small
 * write buffer, so that flushes and compactions spread tables over several
 * levels, and is reopened (each open starts a new MANIFEST with a full
 * snapshot). strata's log reader then reads the live MANIFEST, ve_decode
 * decodes every record, ve_encode re-encodes it to exactly LevelDB's bytes,
 * and every table of the live set the edits describe exists on disk. The
 * strata tool then dumps (--json) and verifies the same MANIFEST.
 */
#include "test.h"

#include "env/env.h"
#include "log/log_reader.h"
#include "lsm/version_edit.h"
#include "strata.h"

#include <leveldb/c.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NKEYS = 6000, VALUE_LEN = 100, MAXFILES = 4096 };

static void put_range(leveldb_t *db, int from, int to, int gen, char **err) {
  leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
  char key[32], value[VALUE_LEN];
  for (int i = from; i < to && !*err; i++) {
    snprintf(key, sizeof key, "key%06d", i);
    for (int j = 0; j < VALUE_LEN; j++)
      value[j] = (char)('a' + (i * 7 + j + gen) % 26);
    leveldb_put(db, wo, key, strlen(key), value, VALUE_LEN, err);
  }
  leveldb_writeoptions_destroy(wo);
}

/* Writes, overwrites, deletes, compacts and reopens a LevelDB database. */
static void leveldb_make(const char *dir) {
  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_write_buffer_size(o, 64 << 10);
  leveldb_options_set_max_file_size(o, 64 << 10);
  char *err = NULL;
  for (int round = 0; round < 3 && !err; round++) {
    leveldb_t *db = leveldb_open(o, dir, &err);
    CHECK_MSG(db && !err, "leveldb_open: %s", err ? err : "?");
    if (!db) break;
    put_range(db, round * 1000, NKEYS, round, &err);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    for (int i = 0; i < 200 && !err; i++) {
      char key[32];
      snprintf(key, sizeof key, "key%06d", (i * 13 + round) % NKEYS);
      leveldb_delete(db, wo, key, strlen(key), &err);
    }
    leveldb_writeoptions_destroy(wo);
    if (round == 1) leveldb_compact_range(db, "key001000", 9, "key003000", 9);
    if (round == 2) {
      /* deletions and deeper levels in the live MANIFEST, then a few new
       * tables above them */
      leveldb_compact_range(db, NULL, 0, NULL, 0);
      put_range(db, 0, 1500, 9, &err);
    }
    leveldb_close(db);
  }
  CHECK_MSG(!err, "leveldb: %s", err ? err : "");
  leveldb_free(err);
  leveldb_options_destroy(o);
}

/* The live MANIFEST's path, from CURRENT. */
static int manifest_path(const char *dir, char *out, size_t n) {
  char cur[4200], name[256] = {0};
  snprintf(cur, sizeof cur, "%s/CURRENT", dir);
  FILE *f = fopen(cur, "r");
  CHECK(f != NULL);
  if (!f) return -1;
  size_t got = fread(name, 1, sizeof name - 1, f);
  fclose(f);
  CHECK(got > 10 && name[got - 1] == '\n');
  CHECK(strncmp(name, "MANIFEST-", 9) == 0);
  if (got == 0) return -1;
  name[got - 1] = 0;
  snprintf(out, n, "%s/%s", dir, name);
  return 0;
}

typedef struct live {
  int level[MAXFILES];       /* level of each live file */
  uint64_t number[MAXFILES]; /* its number */
  uint64_t size[MAXFILES];   /* its size, bytes */
  int n;                     /* live files */
} live;

static void apply(live *l, const version_edit *e) {
  for (size_t i = 0; i < e->ndeleted; i++)
    for (int j = 0; j < l->n; j++)
      if (l->level[j] == e->deleted[i].level &&
          l->number[j] == e->deleted[i].number) {
        l->n--;
        l->level[j] = l->level[l->n];
        l->number[j] = l->number[l->n];
        l->size[j] = l->size[l->n];
        break;
      }
  for (size_t i = 0; i < e->nfiles && l->n < MAXFILES; i++) {
    l->level[l->n] = e->files[i].level;
    l->number[l->n] = e->files[i].number;
    l->size[l->n] = e->files[i].size;
    l->n++;
  }
}

/* Runs `strata ARGS` and returns its stdout (caller frees) and exit status. */
static char *run_strata(const char *args, int *status) {
  const char *bin = getenv("STRATA_BIN");
  CHECK_MSG(bin && *bin, "STRATA_BIN is not set");
  if (!bin || !*bin) return NULL;
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin, args);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return NULL;
  size_t cap = 1 << 16, n = 0, got;
  char *out = malloc(cap);
  while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
    n += got;
    if (n + 1 == cap) out = realloc(out, cap *= 2);
  }
  out[n] = 0;
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

TEST(leveldb_manifest_roundtrip) {
  char dir[4096], man[4400];
  snprintf(dir, sizeof dir, "%s", test_path("ldb"));
  leveldb_make(dir);
  if (manifest_path(dir, man, sizeof man)) return;

  log_reader *r = NULL;
  CHECK_EQ(log_reader_open(env_posix(), man, STRATA_RECOVERY_ABSOLUTE, NULL,
                           NULL, &r),
           STRATA_OK);
  if (!r) return;
  static live l;
  l.n = 0;
  const uint8_t *rec;
  size_t n;
  int records = 0, tags[10] = {0}, levels[VE_LEVELS] = {0};
  sst_buf enc = {0};
  int rc;
  while ((rc = log_reader_next(r, &rec, &n, NULL)) == STRATA_OK) {
    version_edit e;
    ve_init(&e);
    CHECK_EQ(ve_decode(&e, rec, n, man), STRATA_OK);
    if (records == 0) {
      /* the snapshot that opens every MANIFEST */
      CHECK(e.has_comparator);
      CHECK_MEM(e.comparator.data, e.comparator.len,
                "leveldb.BytewiseComparator", 26u);
    }
    tags[1] += e.has_comparator;
    tags[2] += e.has_log_number;
    tags[3] += e.has_next_file;
    tags[4] += e.has_last_sequence;
    tags[9] += e.has_prev_log;
    tags[5] += (int)e.npointers;
    tags[6] += (int)e.ndeleted;
    tags[7] += (int)e.nfiles;
    enc.len = 0;
    CHECK_EQ(ve_encode(&e, &enc), STRATA_OK);
    CHECK_MSG(enc.len == n && memcmp(enc.data, rec, n) == 0,
              "record %d (%zu bytes) re-encodes to different bytes (%zu)",
              records, n, enc.len);
    apply(&l, &e);
    ve_clear(&e);
    records++;
  }
  CHECK_EQ(rc, STRATA_END);
  log_reader_close(r);
  sst_buf_free(&enc);

  CHECK(records >= 2);
  CHECK(tags[1] >= 1 && tags[2] >= 1 && tags[3] >= 1 && tags[4] >= 1);
  CHECK(tags[5] >= 1); /* compactions leave compact pointers */
  CHECK(tags[6] >= 1); /* and delete the files they merged */
  CHECK(tags[7] >= 2);
  CHECK(l.n >= 2);
  for (int i = 0; i < l.n; i++) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%06" PRIu64 ".ldb", dir, l.number[i]);
    CHECK_MSG(access(path, F_OK) == 0, "live table %s is missing", path);
    FILE *f = fopen(path, "rb");
    if (f) {
      fseek(f, 0, SEEK_END);
      CHECK_U64((uint64_t)ftell(f), l.size[i]);
      fclose(f);
    }
    levels[l.level[i]]++;
  }
  int used = 0;
  for (int i = 0; i < VE_LEVELS; i++) {
    used += levels[i] > 0;
  }
  CHECK_MSG(used >= 2, "live tables sit in %d level(s)", used);

  /* the tool sees the same records and fields */
  char args[8192];
  int st;
  snprintf(args, sizeof args, "dump --json '%s'", man);
  char *out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  if (out) {
    CHECK_EQ(count_of(out, "\"fragments\":"), records);
    CHECK_EQ(count_of(out, "\"name\":\"new-file\""), tags[7]);
    CHECK_EQ(count_of(out, "\"name\":\"deleted-file\""), tags[6]);
    CHECK_EQ(count_of(out, "\"name\":\"compact-pointer\""), tags[5]);
    CHECK(strstr(out, "\"comparator\":\"leveldb.BytewiseComparator\"") != NULL);
    CHECK(strstr(out, "\"error\"") == NULL);
  }
  free(out);
  snprintf(args, sizeof args, "verify '%s'", man);
  out = run_strata(args, &st);
  CHECK_EQ(st, 0);
  free(out);
}
