/*
 * bench_memtable.c — speed of the LSM memtable on this machine (an internal
 * module, so this benchmark includes src/ headers).
 *
 * Inserts N random 16-byte keys with 100-byte values (db_bench's sizes) at
 * sequences 1..N, then looks each key up in a different random order
 * (mem_get, which copies the value), then scans the table once with its
 * iterator. One thread; times are wall-clock, best of RUNS for gets and the
 * scan. Prints ops/s and the table's memory use.
 *
 * Usage: bench_memtable [N]     (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lsm/memtable.h"
#include "sstable/ikey.h"
#include "strata.h"

enum { KEY = 16, VALUE = 100, RUNS = 3 };

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
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = (size_t)(next_rand() % (i + 1)), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }

  mem_table *m = mem_create();
  double t0 = now();
  for (size_t i = 0; i < n; i++)
    if (mem_add(m, i + 1, IKEY_VALUE, keys + i * KEY, KEY, value, VALUE)) {
      fprintf(stderr, "mem_add failed\n");
      return 1;
    }
  double insert = now() - t0;

  double get = 1e30, scan = 1e30;
  size_t found = 0, scanned = 0;
  for (int r = 0; r < RUNS; r++) {
    found = 0;
    t0 = now();
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
    for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
      scanned++;
    t = now() - t0;
    if (t < scan) scan = t;
    sst_iter_destroy(it);
  }
  if (found != n || scanned != n) {
    fprintf(stderr, "mismatch: found %zu, scanned %zu of %zu\n", found, scanned,
            n);
    return 1;
  }
  printf("memtable, %zu random %d-byte keys, %d-byte values\n", n, KEY, VALUE);
  printf("  insert  %10.0f ops/s  (%.3f s)\n", (double)n / insert, insert);
  printf("  get     %10.0f ops/s  (%.3f s, value copied)\n", (double)n / get,
         get);
  printf("  scan    %10.0f entries/s  (%.3f s)\n", (double)n / scan, scan);
  printf("  memory  %.1f MiB (%.1f bytes/entry)\n",
         (double)mem_usage(m) / (1 << 20), (double)mem_usage(m) / (double)n);
  mem_unref(m);
  free(keys);
  free(order);
  return 0;
}
