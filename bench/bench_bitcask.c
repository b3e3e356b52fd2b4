/*
 * bench_bitcask.c — `make bench-bitcask`: the Bitcask engine at 1M and 10M
 * keys (16-byte keys, 100-byte values, sync none): random puts/s, random
 * gets/s with the preads each cost, merge MB/s (after overwriting a quarter
 * of the keys), key-directory bytes per key, and open (recovery) time with
 * hint files and without them (data files scanned), after the merge and
 * before it (then the hints are those written for rotated files). Prints a Markdown table.
 *
 * Usage: bench_bitcask [KEYS...] (default 1000000 10000000); the database
 * lives in $BENCH_DIR (default ./bench-bitcask-db) and is removed after.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) {
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}

static void key_of(uint64_t i, char *k) {
  snprintf(k, 17, "%016" PRIx64, (uint64_t)(i * 0x9E3779B97F4A7C15ull));
}

static void rm_files(const char *dir, const char *ext) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t n = strlen(e->d_name), m = ext ? strlen(ext) : 0;
    if (e->d_name[0] == '.') continue;
    if (ext && (n < m || strcmp(e->d_name + n - m, ext) != 0)) continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
}

/* Moves the files of `from` whose names end with `ext` into `to`. */
static void move_files(const char *from, const char *to, const char *ext) {
  DIR *d = opendir(from);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t n = strlen(e->d_name), m = strlen(ext);
    if (n < m || strcmp(e->d_name + n - m, ext) != 0) continue;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s", from, e->d_name);
    snprintf(b, sizeof b, "%s/%s", to, e->d_name);
    rename(a, b);
  }
  if (d) closedir(d);
}

/* Drops the page cache of every file of dir (as after a reboot). */
static void drop_cache(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    int fd = open(p, O_RDONLY);
    if (fd < 0) continue;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  if (d) closedir(d);
}

static int die(const char *what, int rc) {
  fprintf(stderr, "bench_bitcask: %s: %s (%s)\n", what, strata_strerror(rc),
          strata_last_error());
  exit(1);
}

static double open_time(const char *dir, strata_bitcask_stats *s) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.background_merge = 0;
  o.max_file_size = 256ull << 20; /* as written: the newest file continues */
  strata_bitcask *db;
  double t0 = now();
  int rc = strata_bitcask_open(dir, &o, &db);
  double t = now() - t0;
  if (rc) die("open", rc);
  strata_bitcask_get_stats(db, s);
  strata_bitcask_close(db);
  return t;
}

static void run(uint64_t n, const char *dir) {
  rm_files(dir, NULL);
  rmdir(dir);
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.background_merge = 0;
  o.max_file_size = 256ull << 20;
  strata_bitcask *db;
  int rc = strata_bitcask_open(dir, &o, &db);
  if (rc) die("open", rc);
  char key[17], val[100];
  memset(val, 'v', sizeof val);
  /* random puts: keys in a random order (a bijective scramble of 0..n-1) */
  double t0 = now(), worst = 0;
  for (uint64_t i = 0; i < n; i++) {
    key_of(i, key);
    memcpy(val, key, 16);
    double a = now();
    if ((rc = strata_bitcask_put(db, key, 16, val, sizeof val))) die("put", rc);
    double d = now() - a;
    if (d > worst) worst = d; /* the keydir never rehashes all at once */
  }
  double put_s = now() - t0;
  strata_bitcask_stats s;
  strata_bitcask_get_stats(db, &s);
  double per_key = (double)s.keydir_bytes / (double)s.keys;
  /* random gets */
  uint64_t gets = n < 2000000 ? n : 2000000, p0 = s.preads;
  t0 = now();
  for (uint64_t i = 0; i < gets; i++) {
    key_of(next() % n, key);
    void *v;
    size_t vl;
    if ((rc = strata_bitcask_get(db, key, 16, &v, &vl))) die("get", rc);
    if (vl != sizeof val || memcmp(v, key, 16) != 0) die("get value", 2);
    free(v);
  }
  double get_s = now() - t0;
  strata_bitcask_get_stats(db, &s);
  double preads_per_get = (double)(s.preads - p0) / (double)gets;
  /* overwrite a quarter, then merge everything */
  for (uint64_t i = 0; i < n / 4; i++) {
    key_of(next() % n, key);
    memcpy(val, key, 16);
    if ((rc = strata_bitcask_put(db, key, 16, val, sizeof val))) die("put", rc);
  }
  /* open before merge: every file but the newest was closed by rotation
   * (close writes the hints still queued), with their hints and without */
  char save[4096];
  snprintf(save, sizeof save, "%s-hints", dir);
  mkdir(save, 0755);
  strata_bitcask_close(db);
  strata_bitcask_stats rh, rs;
  double rot_hints = open_time(dir, &rh);
  move_files(dir, save, ".hint");
  double rot_scan = open_time(dir, &rs);
  move_files(save, dir, ".hint");
  if ((rc = strata_bitcask_open(dir, &o, &db))) die("open", rc);
  strata_bitcask_get_stats(db, &s);
  uint64_t in_bytes = s.data_bytes;
  t0 = now();
  if ((rc = strata_bitcask_merge(db))) die("merge", rc);
  double merge_s = now() - t0;
  strata_bitcask_get_stats(db, &s);
  uint64_t out_bytes = s.data_bytes;
  strata_bitcask_close(db);
  strata_bitcask_stats hs, ss;
  double with_hints = open_time(dir, &hs);
  drop_cache(dir);
  double with_hints_cold = open_time(dir, &hs);
  rm_files(dir, ".hint");
  double without = open_time(dir, &ss);
  drop_cache(dir);
  double without_cold = open_time(dir, &ss);
  rmdir(save);
  printf("| %" PRIu64 " | %.0f | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f | %.3f / %.3f "
         "| %.3f / %.3f | %.1fx / %.1fx | %.3f / %.3f (%.1fx) |\n",
         n, (double)n / put_s, worst * 1e6, (double)gets / get_s,
         preads_per_get,
         (double)in_bytes / 1e6 / merge_s, per_key, (double)out_bytes / 1e6,
         with_hints, with_hints_cold, without, without_cold,
         without / with_hints, without_cold / with_hints_cold, rot_hints,
         rot_scan, rot_scan / rot_hints);
  fprintf(stderr,
          "  (%" PRIu64 " keys: merge read %.1f MB wrote %.1f MB in %.2f s; "
          "open with hints: %" PRIu64 " files from hints, %" PRIu64
          " scanned; open without: %" PRIu64 " scanned; before merge: %" PRIu64
          " from rotation hints, %" PRIu64 " scanned; without: %" PRIu64
          " scanned)\n",
          n, (double)in_bytes / 1e6, (double)out_bytes / 1e6, merge_s,
          hs.hint_files, hs.scanned_files, ss.scanned_files, rh.hint_files,
          rh.scanned_files, rs.scanned_files);
  rm_files(dir, NULL);
  rmdir(dir);
}

int main(int argc, char **argv) {
  const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "bench-bitcask-db";
  printf("| keys | puts/s | slowest put us | gets/s (random) | preads/get | merge MB/s | "
         "keydir bytes/key | data after merge MB | open with hints s (warm / "
         "cold) | open scanning s (warm / cold) | speed-up (warm / cold) | "
         "open before merge s, rotation hints / scanning (speed-up) |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  fflush(stdout);
  if (argc > 1)
    for (int i = 1; i < argc; i++)
      run(strtoull(argv[i], NULL, 10), dir);
  else {
    run(1000000, dir);
    fflush(stdout);
    run(10000000, dir);
  }
  return 0;
}
