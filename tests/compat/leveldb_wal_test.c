/*
 * leveldb_wal_test.c — a strata WAL segment is a LevelDB log: LevelDB 1.23
 * (paranoid checks on) recovers a database whose logs are the segments
 * strata's WAL wrote, including the count-0 bridge batch a point-in-time
 * recovery writes (in a segment of its own), and continues numbering after
 * strata's last sequence number. LevelDB replays every log numbered at or
 * above its MANIFEST's log number, in number order, as the WAL reads its
 * segments.
 */
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "strata.h"

/* The highest-numbered NNNNNN.log of `dir` into out. 0 on success. */
static int newest_log(const char *dir, char *out, size_t outsz) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  unsigned long long best = 0;
  int found = 0;
  while ((e = readdir(d))) {
    unsigned long long num;
    char tail[8];
    if (sscanf(e->d_name, "%llu.%7s", &num, tail) == 2 &&
        strcmp(tail, "log") == 0 && (!found || num > best)) {
      best = num;
      found = 1;
    }
  }
  closedir(d);
  if (!found) return -1;
  snprintf(out, outsz, "%s/%06llu.log", dir, best);
  return 0;
}

static void put(strata_wal *w, int i) {
  char k[16], v[16];
  snprintf(k, sizeof k, "k%d", i);
  snprintf(v, sizeof v, "v%d", i);
  strata_batch *b = strata_batch_create();
  strata_batch_put(b, k, strlen(k), v, strlen(v));
  CHECK(strata_wal_append(w, b, NULL) == STRATA_OK);
  strata_batch_destroy(b);
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  CHECK(in && out);
  char buf[65536];
  size_t n;
  while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
    CHECK(fwrite(buf, 1, n, out) == n);
  if (in) fclose(in);
  if (out) fclose(out);
}

TEST(leveldb_recovers_a_strata_wal_segment_with_a_bridge) {
  char wal[4096], ldb[4096];
  snprintf(wal, sizeof wal, "%s", test_path("wal"));
  snprintf(ldb, sizeof ldb, "%s", test_path("ldb"));
  /* 20 batches; damage batch 15; point-in-time keeps 1..14 and bridges to
   * 21; then 21..25 */
  strata_wal *w = NULL;
  CHECK(strata_wal_open(wal, NULL, &w) == STRATA_OK);
  if (!w) return;
  for (int i = 1; i <= 20; i++)
    put(w, i);
  CHECK(strata_wal_close(w) == STRATA_OK);
  char seg[4200];
  snprintf(seg, sizeof seg, "%s/000001.log", wal);
  /* batch i is 7 + 12 + 1 + 1 + len("k<i>") + 1 + len("v<i>") bytes */
  uint64_t off = 0;
  for (int i = 1; i < 15; i++)
    off += 7 + 12 + 3 + 2 * (i < 10 ? 2 : 3);
  FILE *f = fopen(seg, "r+b");
  CHECK(f && fseek(f, (long)off + 20, SEEK_SET) == 0 && fputc('#', f) != EOF);
  if (f) fclose(f);
  CHECK(strata_wal_open(wal, NULL, &w) == STRATA_OK);
  if (!w) return;
  CHECK_U64(strata_wal_last_sequence(w), 20);
  for (int i = 21; i <= 25; i++)
    put(w, i);
  CHECK(strata_wal_close(w) == STRATA_OK);

  leveldb_options_t *o = leveldb_options_create();
  leveldb_options_set_create_if_missing(o, 1);
  leveldb_options_set_paranoid_checks(o, 1);
  char *err = NULL;
  leveldb_t *db = leveldb_open(o, ldb, &err);
  CHECK_MSG(db && !err, "leveldb_open: %s", err ? err : "?");
  leveldb_free(err);
  err = NULL;
  if (db) leveldb_close(db);
  char log[4200];
  CHECK_EQ(newest_log(ldb, log, sizeof log), 0);
  unsigned long long base = 0;
  CHECK(sscanf(log + strlen(ldb) + 1, "%llu", &base) == 1);
  /* segments 1 (batches 1..14) and 2 (the bridge, 21..25), as logs
   * base and base+1 */
  for (int s = 1; s <= 2; s++) {
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/%06d.log", wal, s);
    snprintf(to, sizeof to, "%s/%06llu.log", ldb, base + (unsigned)s - 1);
    CHECK(access(from, R_OK) == 0);
    copy_file(from, to);
  }

  db = leveldb_open(o, ldb, &err);
  CHECK_MSG(db && !err, "leveldb_open of a strata WAL segment: %s",
            err ? err : "?");
  leveldb_free(err);
  err = NULL;
  if (db) {
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    for (int i = 1; i <= 25; i++) {
      char k[16], v[16];
      snprintf(k, sizeof k, "k%d", i);
      snprintf(v, sizeof v, "v%d", i);
      size_t n = 0;
      char *got = leveldb_get(db, ro, k, strlen(k), &n, &err);
      CHECK(!err);
      int want = i < 15 || i > 20;
      CHECK_MSG((got != NULL) == want, "k%d: %s", i,
                got ? "present" : "absent");
      if (got && want) CHECK_MEM(got, n, v, strlen(v));
      leveldb_free(got);
    }
    /* LevelDB continues numbering after strata's last sequence number: a
     * new write must sort after every replayed one */
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_put(db, wo, "k1", 2, "new", 3, &err);
    CHECK(!err);
    size_t n = 0;
    char *got = leveldb_get(db, ro, "k1", 2, &n, &err);
    CHECK(got && n == 3 && memcmp(got, "new", 3) == 0);
    leveldb_free(got);
    leveldb_writeoptions_destroy(wo);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
  }
  leveldb_options_destroy(o);
}
