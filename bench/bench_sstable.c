/*
 * bench_sstable.c — `make bench-sstable`: the table builder and reader with
 * LevelDB's benchmark settings (16-byte keys, 100-byte values compressible
 * to about half, 4 KiB blocks, Snappy, 10-bit bloom filter).
 *
 * Measures: build rate (MB/s of key+value bytes, entries/s) and file size;
 * point lookups/s of present and absent keys with and without the bloom
 * filter and the block cache; full-scan MB/s. Prints a Markdown table (the
 * figures in bench/RESULTS.md come from it). Uses only the public API.
 *
 * Usage: bench_sstable [ENTRIES] [DIR]   (default 1000000, /tmp)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

/* 16 decimal digits (i < 10^16). */
static void key_of(uint64_t i, char k[17]) {
  for (int j = 15; j >= 0; j--) {
    k[j] = (char)('0' + i % 10);
    i /= 10;
  }
  k[16] = 0;
}

/* A 100-byte value, half random, half repeated (compresses to ~50%). */
static void value_of(uint64_t i, char v[100]) {
  uint64_t x = i * 0x2545f4914f6cdd1dull + 1;
  for (int j = 0; j < 50; j++) {
    x ^= x >> 13;
    x ^= x << 7;
    x ^= x >> 17;
    v[j] = (char)(' ' + x % 95);
  }
  memset(v + 50, 'x', 50);
}

static double build(const char *path, long n, int bloom, uint64_t *size) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.bloom_bits_per_key = bloom;
  strata_table_writer *w;
  if (strata_table_writer_open(path, &o, &w)) {
    fprintf(stderr, "open %s: %s\n", path, strata_last_error());
    exit(1);
  }
  char k[17], v[100];
  double t0 = now();
  for (long i = 0; i < n; i++) {
    key_of((uint64_t)i * 2, k); /* even keys present, odd ones absent */
    value_of((uint64_t)i, v);
    if (strata_table_writer_add(w, k, 16, v, 100)) {
      fprintf(stderr, "add: %s\n", strata_last_error());
      exit(1);
    }
  }
  if (strata_table_writer_finish(w, size)) {
    fprintf(stderr, "finish: %s\n", strata_last_error());
    exit(1);
  }
  return now() - t0;
}

/* Lookups/s of `m` random keys (present: even, absent: odd). */
static double lookups(const char *path, long n, long m, int present,
                      strata_block_cache *cache, long *found) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.cache = cache;
  strata_table *t;
  if (strata_table_open(path, &o, NULL, NULL, &t)) {
    fprintf(stderr, "open: %s\n", strata_last_error());
    exit(1);
  }
  char k[17];
  *found = 0;
  double t0 = now();
  for (long i = 0; i < m; i++) {
    uint64_t x = (next_rand() % (uint64_t)n) * 2 + (present ? 0 : 1);
    key_of(x, k);
    void *v;
    size_t vn;
    if (strata_table_get(t, k, 16, &v, &vn) == STRATA_OK) {
      (*found)++;
      free(v);
    }
  }
  double dt = now() - t0;
  strata_table_close(t);
  return (double)m / dt;
}

static double scan(const char *path, long *entries) {
  strata_table_options o;
  strata_table_options_init(&o);
  strata_table *t;
  strata_table_open(path, &o, NULL, NULL, &t);
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  double t0 = now();
  uint64_t bytes = 0;
  *entries = 0;
  size_t kn, vn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it)) {
    strata_table_iter_key(it, &kn);
    strata_table_iter_value(it, &vn);
    bytes += kn + vn;
    (*entries)++;
  }
  double dt = now() - t0;
  strata_table_iter_destroy(it);
  strata_table_close(t);
  return (double)bytes / dt / 1e6;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  char a[1024], b[1024];
  snprintf(a, sizeof a, "%s/bench_sstable_bloom.%d.ldb", dir, (int)getpid());
  snprintf(b, sizeof b, "%s/bench_sstable_nobloom.%d.ldb", dir, (int)getpid());
  uint64_t sa, sb;
  double ta = build(a, n, 10, &sa);
  build(b, n, 0, &sb);
  double raw = (double)n * 116;
  long m = n < 200000 ? n : 200000, found;
  strata_block_cache *cache = strata_block_cache_create(64u << 20);
  long warm; /* warm the cache with one pass */
  lookups(a, n, m, 1, cache, &warm);
  double p_bc = lookups(a, n, m, 1, cache, &found);
  long f1 = found;
  double p_b = lookups(a, n, m, 1, NULL, &found);
  double p_n = lookups(b, n, m, 1, NULL, &found);
  double a_bc = lookups(a, n, m, 0, cache, &found);
  long f_abs = found;
  double a_b = lookups(a, n, m, 0, NULL, &found);
  double a_n = lookups(b, n, m, 0, NULL, &found);
  long entries;
  double s = scan(a, &entries);
  printf("## SSTable\n\n");
  printf("`bench_sstable %ld`: %ld entries, 16-byte keys, 100-byte values "
         "(half compressible), 4 KiB blocks, Snappy, one table file.\n\n",
         n, n);
  printf("| measure | result |\n|---|---|\n");
  printf("| build (bloom 10 bits/key) | %.1f MB/s, %.0f entries/s |\n",
         raw / ta / 1e6, (double)n / ta);
  printf("| file size | %.1f MB (%.0f%% of raw key+value bytes) |\n",
         (double)sa / 1e6, 100.0 * (double)sa / raw);
  printf("| get, present keys, bloom + 64 MiB block cache (warm) | %.0f/s |\n",
         p_bc);
  printf("| get, present keys, bloom, no cache | %.0f/s |\n", p_b);
  printf("| get, present keys, no bloom, no cache | %.0f/s |\n", p_n);
  printf("| get, absent keys, bloom + cache | %.0f/s |\n", a_bc);
  printf("| get, absent keys, bloom, no cache | %.0f/s |\n", a_b);
  printf("| get, absent keys, no bloom, no cache | %.0f/s |\n", a_n);
  printf("| full scan | %.1f MB/s (%ld entries) |\n", s, entries);
  printf("\n(found %ld of %ld present lookups; %ld absent lookups answered "
         "present)\n",
         f1, m, f_abs);
  strata_block_cache_destroy(cache);
  remove(a);
  remove(b);
  return (f1 == m && f_abs == 0 && entries == n) ? 0 : 1;
}
