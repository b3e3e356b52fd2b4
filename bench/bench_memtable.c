/*
 * bench_memtable.c — speed of the LSM memtable on this machine (an internal
 * module, so this benchmark includes src/ headers).
 *
 * Inserts random 16-byte keys with 100-byte values (db_bench's sizes) at
 * sequences 1..n, then looks each key up in a different random order
 * (mem_get, which copies the value), then scans the table with its
 * iterator. Two table sizes: 24,000 entries (about LevelDB's default 4 MiB
 * write buffer, the size the engine's memtable reaches; repeated to make N
 * operations) and all N entries in one table (cache misses dominate). One
 * thread; wall-clock times, best of RUNS for gets and scans. Prints ops/s
 * and the table's memory use.
 *
 * Usage: bench_memtable [N]     (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lsm/memtable.h"
#include "sstable/ikey.h"
#include "strata.h"

enum { KEY = 16, VALUE = 100, RUNS = 3, SMALL = 24000 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

/* Inserts n keys into a fresh table `reps` times (timing all), then gets
 * and scans the last table `reps` times (best of RUNS); prints one block. */
static int run(const uint8_t *keys, const size_t *order, size_t n, size_t reps,
               const uint8_t *value) {
  mem_table *m = NULL;
  double t0 = now();
  for (size_t r = 0; r < reps; r++) {
    mem_unref(m);
    m = mem_create();
    if (m == NULL) return 1;
    for (size_t i = 0; i < n; i++)
      if (mem_add(m, i + 1, IKEY_VALUE, keys + i * KEY, KEY, value, VALUE)) {
        fprintf(stderr, "mem_add failed\n");
        return 1;
      }
  }
  double insert = now() - t0;

  double get = 1e30, scan = 1e30;
  size_t found = 0, scanned = 0;
  for (int run = 0; run < RUNS; run++) {
    found = 0;
    t0 = now();
    for (size_t r = 0; r < reps; r++)
      for (size_t i = 0; i < n; i++) {
        uint8_t *v;
        size_t vn;
        const uint8_t *k = keys + order[i] * KEY;
        if (mem_get(m, k, KEY, IKEY_MAX_SEQUENCE, &v, &vn) == MEM_FOUND) {
          found += vn == VALUE;
          free(v);
        }
      }
    double t = now() - t0;
    if (t < get) get = t;
    sst_iter *it = mem_iter(m);
    scanned = 0;
    t0 = now();
    for (size_t r = 0; r < reps; r++)
      for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
        scanned++;
    t = now() - t0;
    if (t < scan) scan = t;
    sst_iter_destroy(it);
  }
  if (found != n * reps || scanned != n * reps) {
    fprintf(stderr, "mismatch: found %zu, scanned %zu of %zu\n", found, scanned,
            n * reps);
    return 1;
  }
  double ops = (double)n * (double)reps;
  printf("memtable of %zu random %d-byte keys, %d-byte values (x%zu)\n", n, KEY,
         VALUE, reps);
  printf("  insert  %10.0f ops/s\n", ops / insert);
  printf("  get     %10.0f ops/s  (value copied)\n", ops / get);
  printf("  scan    %10.0f entries/s\n", ops / scan);
  printf("  memory  %.1f MiB (%.1f bytes/entry)\n",
         (double)mem_usage(m) / (1 << 20), (double)mem_usage(m) / (double)n);
  mem_unref(m);
  return 0;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
  if (n == 0) n = 1;
  uint8_t *keys = malloc(n * KEY);
  size_t *order = malloc(n * sizeof *order);
  uint8_t value[VALUE];
  if (!keys || !order) return 1;
  for (size_t i = 0; i < n * KEY; i += 8) {
    uint64_t r = next_rand();
    memcpy(keys + i, &r, 8);
  }
  for (size_t i = 0; i < VALUE; i++)
    value[i] = (uint8_t)next_rand();
  int rc = 0;
  /* The table at LevelDB's default write buffer (4 MiB, ~24k entries of
   * this size), then all n keys in one table. */
  size_t small = n < SMALL ? n : SMALL;
  for (int pass = 0; pass < 2 && !rc; pass++) {
    size_t cnt = pass == 0 ? small : n;
    for (size_t i = 0; i < cnt; i++)
      order[i] = i;
    for (size_t i = cnt - 1; i > 0; i--) {
      size_t j = (size_t)(next_rand() % (i + 1)), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    rc = run(keys, order, cnt, pass == 0 ? (n + cnt - 1) / cnt : 1, value);
  }
  free(keys);
  free(order);
  return rc;
}
