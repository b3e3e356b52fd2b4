/*
 * bc_hint_load_test.c — open from hint files, on the decoder thread and
 * inline: many hinted files whose entries override each other across files,
 * tombstones in later hints shadowing older files, keys deleted and put
 * again; the contents, key and tombstone counts and every file's dead bytes
 * must be the same either way, the same contents as a scan of the data files,
 * and the dead bytes those of a walk over the key directory. A damaged hint
 * (flipped or cut) still falls back to its data file on the decoder thread,
 * and an open failed at any env operation while the decoder runs ends
 * cleanly (no hang, no leak under ASan).
 */
#include <stdio.h>

#include "bc_test_util.h"
#include "bitcask/bitcask.h"
#include "env/env_fault.h"

enum { KEYS = 2000 };

static void build_layers(const char *dir, model *m) {
  int rc;
  strata_bitcask *db = bc_open_small(dir, 4096, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  if (!db) return;
  char k[32], v[64];
  for (int i = 0; i < KEYS; i++) {
    key_of(i, k);
    snprintf(v, sizeof v, "a-%d", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
  CHECK_EQ(strata_bitcask_merge(db), STRATA_OK); /* merged, hinted files */
  for (int i = 0; i < KEYS; i += 3) { /* overrides in rotated files */
    key_of(i, k);
    snprintf(v, sizeof v, "b-%d", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
  for (int i = 0; i < KEYS; i += 5) { /* tombstones shadowing older files */
    key_of(i, k);
    CHECK_EQ(strata_bitcask_delete(db, k, strlen(k)), STRATA_OK);
    model_set(m, i, NULL);
  }
  for (int i = 0; i < KEYS; i += 10) { /* deleted, then put again */
    key_of(i, k);
    snprintf(v, sizeof v, "c-%d", i);
    CHECK_EQ(put_s(db, k, v), STRATA_OK);
    model_set(m, i, v);
  }
  strata_bitcask_close(db); /* writes the rotation hints still queued */
}

static int count_ext(const char *dir, const char *ext) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  size_t m = strlen(ext);
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    n += l > m && strcmp(e->d_name + l - m, ext) == 0;
  }
  if (d) closedir(d);
  return n;
}

/* Every file's dead bytes equal size minus what keydir entries point at
 * (the walk open did before it kept them while loading). */
static int dead_mismatches(strata_bitcask *db) {
  int bad = 0;
  pthread_rwlock_rdlock(&db->mu);
  uint64_t *live = calloc(db->nfiles ? db->nfiles : 1, sizeof *live);
  size_t cap = bc_keydir_capacity(db->kd);
  for (size_t i = 0; i < cap; i++) {
    const uint8_t *k;
    size_t kl;
    bc_loc l;
    if (!bc_keydir_entry(db->kd, i, &k, &kl, &l)) continue;
    long fi = bc_find_file(db, l.file_id);
    if (fi < 0)
      bad++;
    else
      live[fi] += l.size;
  }
  for (size_t i = 0; i < db->nfiles; i++) {
    const bc_file *f = &db->files[i];
    uint64_t want = f->size > live[i] ? f->size - live[i] : 0;
    if (f->dead != want) bad++;
  }
  free(live);
  pthread_rwlock_unlock(&db->mu);
  return bad;
}

static void open_check(const char *dir, const model *m, uint64_t thread_min,
                       strata_bitcask_stats *s) {
  bc_hint_thread_min = thread_min;
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = 4096;
  o.background_merge = 0;
  o.read_only = 1; /* the directory stays as built */
  strata_bitcask *db = NULL;
  CHECK_EQ(strata_bitcask_open(dir, &o, &db), STRATA_OK);
  memset(s, 0, sizeof *s);
  if (!db) return;
  CHECK_EQ(model_mismatches(db, m), 0);
  CHECK_EQ(dead_mismatches(db), 0);
  strata_bitcask_get_stats(db, s);
  strata_bitcask_close(db);
}

TEST(hint_load_threaded_inline_and_scan_agree) {
  model m = {0};
  const char *dir = test_path("db");
  build_layers(dir, &m);
  int hints = count_ext(dir, ".hint");
  CHECK(hints >= 8);
  strata_bitcask_stats th, in, sc;
  open_check(dir, &m, 0, &th);
  open_check(dir, &m, UINT64_MAX, &in);
  CHECK_U64(th.hint_files, (uint64_t)hints);
  CHECK_U64(in.hint_files, th.hint_files);
  CHECK_U64(in.scanned_files, th.scanned_files);
  CHECK_U64(in.keys, th.keys);
  CHECK_U64(in.tombstones, th.tombstones);
  CHECK(th.tombstones > 0); /* later hints hold tombstones */
  CHECK_U64(in.dead_bytes, th.dead_bytes);
  CHECK_U64(in.data_bytes, th.data_bytes);
  /* without hints: every file scanned, same contents */
  char aside[4096];
  snprintf(aside, sizeof aside, "%s/../aside", dir);
  mkdir(aside, 0755);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".hint")) {
      char a[4096], b[4096];
      snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
      snprintf(b, sizeof b, "%s/%s", aside, e->d_name);
      CHECK_EQ(rename(a, b), 0);
    }
  if (d) closedir(d);
  open_check(dir, &m, 0, &sc);
  CHECK_U64(sc.hint_files, 0);
  CHECK_U64(sc.keys, th.keys);
  rm_dir(aside);
  rm_dir(dir);
  model_free(&m);
  bc_hint_thread_min = 4 << 20;
}

/* A hint (8 or so, spread over the files) flipped in its middle, or cut
 * short by one byte: that file is scanned instead, the others still load
 * from hints. */
TEST(hint_load_threaded_damaged_hint_falls_back) {
  model m = {0};
  const char *base = test_path("base");
  build_layers(base, &m);
  int hints = count_ext(base, ".hint");
  CHECK(hints >= 8);
  char work[4096];
  snprintf(work, sizeof work, "%s/../work", base);
  char names[64][256];
  int n = 0;
  DIR *d = opendir(base);
  struct dirent *e;
  while (d && (e = readdir(d)) && n < 64)
    if (strstr(e->d_name, ".hint"))
      snprintf(names[n++], sizeof names[0], "%s", e->d_name);
  if (d) closedir(d);
  int step = n > 8 ? n / 8 : 1; /* 8 or so hints, spread */
  for (int i = 0; i < n; i += step)
    for (int cut = 0; cut < 2; cut++) {
      copy_dir(base, work);
      char h[4096];
      snprintf(h, sizeof h, "%s/%s", work, names[i]);
      long size = file_size_of(h);
      if (cut)
        CHECK_EQ(truncate(h, size - 1), 0);
      else
        flip_byte(h, size / 2);
      strata_bitcask_stats s;
      open_check(work, &m, 0, &s);
      CHECK_U64(s.hint_files, (uint64_t)hints - 1);
      CHECK_EQ(s.drops, 0); /* the data files are intact */
      rm_dir(work);
    }
  rm_dir(base);
  model_free(&m);
  bc_hint_thread_min = 4 << 20;
}

/* An open failed at its n-th env operation (each of the first 40, then every
 * 17th) while the decoder thread reads hints: it fails, or opens with the
 * right contents. */
TEST(hint_load_threaded_open_fails_cleanly) {
  model m = {0};
  const char *dir = test_path("db");
  build_layers(dir, &m);
  bc_hint_thread_min = 0;
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.max_file_size = 4096;
  o.background_merge = 0;
  o.read_only = 1;
  int opened = 0, failed = 0;
  for (uint64_t n = 1; n < 5000 && !opened; n += n < 40 ? 1 : 17) {
    env *fe = env_fault_create(env_posix());
    env_fault_fail_nth(fe, n, 1);
    strata_bitcask *db = NULL;
    int rc = bc_open(fe, dir, &o, &db);
    env_fault_reset(fe); /* reads work again: check what open loaded */
    if (rc == STRATA_OK) {
      CHECK_EQ(model_mismatches(db, &m), 0);
      strata_bitcask_close(db);
      opened = n > env_fault_ops(fe); /* no fault reached: done */
    } else {
      failed++;
    }
    env_fault_destroy(fe);
  }
  CHECK(opened);
  CHECK(failed > 20);
  bc_hint_thread_min = 4 << 20;
  rm_dir(dir);
  model_free(&m);
}

enum { FOLD_N = 10000 }; /* more than two blocks of 4096 entry numbers */

typedef struct fold_seen {
  unsigned char *seen;   /* times each key number was visited */
  int bad;               /* keys visited that are not key%06d */
  strata_bitcask *db;    /* to write during the fold */
  int writes;            /* writes done from inside the fold */
} fold_seen;

static int fold_fn(void *arg, const void *k, size_t kl, const void *v,
                   size_t vl) {
  fold_seen *f = arg;
  (void)v, (void)vl;
  char key[32];
  if (kl != 9 || memcmp(k, "key", 3) != 0) {
    f->bad++;
    return 0;
  }
  memcpy(key, k, kl);
  key[kl] = 0;
  int i = atoi(key + 3);
  if (i < 0 || i >= FOLD_N + 100) {
    f->bad++;
    return 0;
  }
  f->seen[i]++;
  if (f->writes < 50) { /* new keys and overwrites while folding */
    char nk[32];
    key_of(FOLD_N + f->writes, nk); /* a new key */
    put_s(f->db, nk, "during");
    put_s(f->db, key, "overwritten");
    f->writes++;
  }
  return 0;
}

/* fold walks the keydir a block of entry numbers at a time: over several
 * blocks, with deletions and writes during the fold, every key live
 * throughout is visited exactly once. */
TEST(fold_in_blocks_visits_each_live_key_once) {
  int rc;
  strata_bitcask *db =
      bc_open_small(test_path("db"), 1 << 20, STRATA_RECOVERY_SKIP, &rc);
  CHECK_EQ(rc, STRATA_OK);
  if (!db) return;
  enum { N = FOLD_N };
  unsigned char *seen = calloc(N + 100, 1);
  for (int i = 0; i < N; i++) {
    char k[32];
    key_of(i, k);
    put_s(db, k, "v");
  }
  for (int i = 0; i < N; i += 9) {
    char k[32];
    key_of(i, k);
    strata_bitcask_delete(db, k, strlen(k));
  }
  fold_seen f = {seen, 0, db, 0};
  CHECK_EQ(strata_bitcask_fold(db, fold_fn, &f), STRATA_OK);
  CHECK_EQ(f.bad, 0);
  CHECK_EQ(f.writes, 50);
  for (int i = 0; i < N; i++) /* live throughout (some overwritten) */
    CHECK_MSG(seen[i] == (i % 9 ? 1 : 0), "key %d visited %d times", i,
              seen[i]);
  for (int i = N; i < N + 50; i++)
    CHECK(seen[i] <= 1); /* written during the fold: at most once */
  free(seen);
  strata_bitcask_close(db);
}
