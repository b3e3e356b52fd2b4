/*
 * bc_hint_writer_test.c — hint files of data files closed by rotation: every
 * rotated file gets one, open loads them instead of scanning, tombstones in
 * them keep deleted keys deleted, and a truncated, damaged or half-written
 * rotation hint falls back to scanning with the same contents.
 */
#include <time.h>

#include "bc_test_util.h"

enum { NKEYS = 300 };

static int count_ext(const char *dir, const char *ext) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  size_t el = strlen(ext);
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l > el && strcmp(e->d_name + l - el, ext) == 0) n++;
  }
  if (d) closedir(d);
  return n;
}

/* Puts NKEYS keys in 4 KiB files, deletes every fifth and overwrites every
 * seventh (so tombstones sit in files newer than the puts they delete), then
 * writes filler so those files rotate too. Closes (which writes the queued
 * hints). */
static void build_rotated(const char *dir, model *m) {
  int rc;
  strata_bitcask *db = bc_open_small(dir, 4096, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  char k[32], v[64];
  for (int i = 0; i < NKEYS; i++) {
    key_of(i, k);
    snprintf(v, sizeof v, "first-%d-padding-padding-padding", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
  for (int i = 0; i < NKEYS; i += 5) {
    key_of(i, k);
    CHECK_EQ(strata_bitcask_delete(db, k, strlen(k)), STRATA_OK);
    model_set(m, i, NULL);
  }
  for (int i = 1; i < NKEYS; i += 7) {
    key_of(i, k);
    snprintf(v, sizeof v, "second-%d", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, i % 5 ? v : NULL);
    if (i % 5 == 0)
      CHECK_EQ(strata_bitcask_delete(db, k, strlen(k)), STRATA_OK);
  }
  for (int i = NKEYS; i < NKEYS + 100; i++) {
    key_of(i, k);
    snprintf(v, sizeof v, "filler-%d-padding-padding-padding", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
  CHECK_EQ(strata_bitcask_close(db), STRATA_OK);
}

TEST(rotation_writes_hints_and_open_uses_them) {
  model m = {0};
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  build_rotated(dir, &m);
  int ndata = count_ext(dir, ".data"), nhint = count_ext(dir, ".hint");
  CHECK(ndata >= 8);
  CHECK_EQ(nhint, ndata - 1); /* every file but the active one */
  CHECK_EQ(count_ext(dir, ".tmp"), 0);
  int rc;
  strata_bitcask *db = bc_open_small(dir, 4096, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK_U64(s.hint_files, (uint64_t)nhint);
  CHECK_U64(s.scanned_files, 1);
  CHECK_U64(s.drops, 0);
  CHECK_EQ(model_mismatches(db, &m), 0); /* deleted keys stay deleted */
  CHECK(s.tombstones > 0);
  /* writes after the reopen rotate and get hints too; a read-only open
   * writes none */
  char k[32];
  for (int i = 0; i < 200; i++) {
    key_of(i, k);
    CHECK_EQ(put_s(db, k, "third-padding-padding-padding-padding"), STRATA_OK);
    model_set(&m, i, "third-padding-padding-padding-padding");
  }
  CHECK_EQ(strata_bitcask_close(db), STRATA_OK);
  ndata = count_ext(dir, ".data");
  CHECK_EQ(count_ext(dir, ".hint"), ndata - 1);
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.read_only = 1;
  o.max_file_size = 4096;
  db = NULL;
  CHECK_EQ(strata_bitcask_open(dir, &o, &db), STRATA_OK);
  strata_bitcask_get_stats(db, &s);
  CHECK_U64(s.hint_files, (uint64_t)ndata - 1);
  CHECK_U64(s.scanned_files, 1);
  CHECK_EQ(model_mismatches(db, &m), 0);
  strata_bitcask_close(db);
  model_free(&m);
}

/* A hint holding tombstones: cut at every length, flip every third byte; each
 * time open scans that file instead and shows the same contents. */
TEST(rotation_hint_truncated_or_flipped_falls_back) {
  model m = {0};
  char base[4096], work[4096], hint[4096], h2[4096];
  snprintf(base, sizeof base, "%s", test_path("base"));
  snprintf(work, sizeof work, "%s", test_path("work"));
  build_rotated(base, &m);
  int nhint = count_ext(base, ".hint");
  CHECK(nhint >= 4);
  /* the rotated file written while deleting: a middle one */
  snprintf(hint, sizeof hint, "%06d.hint", nhint / 2 + 1);
  snprintf(h2, sizeof h2, "%s/%s", base, hint);
  long size = file_size_of(h2);
  CHECK(size > 50);
  int step = 1;
  for (long cut = 0; cut < 2 * size; cut += step) {
    copy_dir(base, work);
    snprintf(h2, sizeof h2, "%s/%s", work, hint);
    if (cut < size)
      CHECK_EQ(truncate(h2, cut), 0);
    else
      flip_byte(h2, cut - size);
    int rc;
    strata_bitcask *db = bc_open_small(work, 4096, STRATA_RECOVERY_SKIP, &rc);
    CHECK_EQ(rc, STRATA_OK);
    if (db) {
      int bad = model_mismatches(db, &m);
      CHECK_MSG(bad == 0, "cut/flip %ld: %d keys wrong", cut, bad);
      strata_bitcask_stats s;
      strata_bitcask_get_stats(db, &s);
      CHECK_U64(s.drops, 0);
      CHECK_MSG(s.scanned_files == 2 && s.hint_files == (uint64_t)nhint - 1,
                "cut/flip %ld: %llu scanned, %llu from hints", cut,
                (unsigned long long)s.scanned_files,
                (unsigned long long)s.hint_files);
    }
    strata_bitcask_close(db);
    rm_dir(work);
    step = cut + 1 >= size ? 3 : 1; /* every cut; every third flip */
  }
  model_free(&m);
}

/* A crash while writing a hint leaves NNNNNN.hint.tmp (any bytes): open
 * ignores and removes it, and scans that data file. */
TEST(half_written_rotation_hint_is_removed) {
  model m = {0};
  char dir[4096], hint[4096], tmp[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  build_rotated(dir, &m);
  int nhint = count_ext(dir, ".hint");
  snprintf(hint, sizeof hint, "%s/%06d.hint", dir, 2);
  snprintf(tmp, sizeof tmp, "%s/%06d.hint.tmp", dir, 2);
  long size = file_size_of(hint);
  CHECK(size > 10);
  CHECK_EQ(rename(hint, tmp), 0);
  CHECK_EQ(truncate(tmp, size / 2), 0);
  int rc;
  strata_bitcask *db = bc_open_small(dir, 4096, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK_U64(s.hint_files, (uint64_t)nhint - 1);
  CHECK_U64(s.scanned_files, 2);
  CHECK_EQ(model_mismatches(db, &m), 0);
  CHECK_EQ(file_size_of(tmp), -1);
  strata_bitcask_close(db);
  model_free(&m);
}

/* Files loaded from rotation hints are not merge outputs: after a reopen they
 * still count towards merge_max_files, so the next rotation starts a merge. */
TEST(rotated_files_still_count_for_merge_after_reopen) {
  model m = {0};
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", test_path("db"));
  build_rotated(dir, &m);
  int ndata = count_ext(dir, ".data");
  CHECK(ndata >= 8);
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = 4096;
  o.merge_max_files = 6;
  o.merge_dead_fraction = 2.0; /* never: only the file count can start it */
  strata_bitcask *db = NULL;
  CHECK_EQ(strata_bitcask_open(dir, &o, &db), STRATA_OK);
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  CHECK_U64(s.hint_files, (uint64_t)ndata - 1);
  char k[32];
  for (int i = 0; i < 200 && s.merges == 0; i++) {
    key_of(i, k);
    CHECK_EQ(put_s(db, k, "again-padding-padding-padding"), STRATA_OK);
    model_set(&m, i, "again-padding-padding-padding");
    strata_bitcask_get_stats(db, &s);
  }
  for (int t = 0; t < 500 && s.merges == 0; t++) {
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
    strata_bitcask_get_stats(db, &s);
  }
  CHECK(s.merges >= 1);
  CHECK_EQ(model_mismatches(db, &m), 0);
  CHECK_EQ(strata_bitcask_close(db), STRATA_OK);
  model_free(&m);
}
