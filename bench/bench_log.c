/*
 * bench_log.c — throughput of the record log on this machine (`make
 * bench-log`; results in bench/RESULTS.md).
 *
 * Measures strata_log_writer_add with 100-byte and 4 KiB records, without
 * syncing and with a strata_log_writer_sync every 1000 records, and
 * strata_log_reader_next over the clean logs just written (~256 MiB each)
 * under point-in-time (the default of wal/lsm) and skip. Those reads find the
 * file in the page cache: they measure the reader's CPU cost plus copying from
 * the cache, not the disk. Reads of the same image from memory
 * (strata_log_reader_open_mem) separate the two. Beside them: this machine's
 * memcpy and CRC32C speed over large buffers, the bounds for a reader that
 * verifies every byte.
 *
 * MB is 10^6 bytes. "payload" counts the records' bytes, "file" the log's
 * bytes (headers and block trailers included). Each read figure is the best of
 * three runs; writes run once. Work happens in a fresh directory under
 * $TMPDIR (or /tmp) that is removed at the end.
 *
 * Usage: bench_log [--quick]     --quick: 16 MiB logs, short sync runs
 *
 * The only internal header used is util/crc32c.h, for the CRC baseline.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"
#include "util/crc32c.h"

enum { SYNC_EVERY = 1000, READ_RUNS = 3 };

typedef struct config {
  uint64_t log_bytes;  /* target file size of each no-sync log */
  double sync_seconds; /* time cap of each sync run */
  uint64_t base_bytes; /* buffer size of the memcpy / CRC baselines */
} config;

typedef struct row {
  const char *what; /* case description */
  uint64_t records; /* records written or read */
  uint64_t payload; /* payload bytes */
  uint64_t file;    /* file bytes */
  double secs;      /* elapsed seconds */
} row;

static char tmpdir[4096];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_log: %s: %s (%s)\n", what, strata_strerror(rc),
          strata_last_error());
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "bench_log: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static void fill_random(uint8_t *p, size_t n) {
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (size_t i = 0; i < n; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p[i] = (uint8_t)((x * 2685821657736338717ull) >> 56);
  }
}

static void print_header(void) {
  printf("%-44s %10s %10s %10s %12s\n", "case", "records", "MB/s", "MB/s",
         "records/s");
  printf("%-44s %10s %10s %10s %12s\n", "", "", "(payload)", "(file)", "");
}

static void print_row(const row *r) {
  printf("%-44s %10llu %10.0f %10.0f %12.0f\n", r->what,
         (unsigned long long)r->records, (double)r->payload / r->secs / 1e6,
         (double)r->file / r->secs / 1e6, (double)r->records / r->secs);
  fflush(stdout);
}

static void print_base(const char *what, uint64_t bytes, double secs) {
  printf("%-44s %10s %10.0f %10s %12s\n", what, "-", (double)bytes / secs / 1e6,
         "-", "-");
  fflush(stdout);
}

/* Writes records of `size` bytes from `src` (which holds size + 64 bytes)
 * until the file reaches `target` bytes or `cap` seconds pass (checked at
 * every sync), syncing every SYNC_EVERY records when `sync` is set. */
static row write_log(const char *path, const uint8_t *src, size_t size,
                     uint64_t target, int sync, double cap, const char *what) {
  strata_log_writer *w;
  int rc = strata_log_writer_open(path, &w);
  if (rc) die(path, rc);
  row r = {what, 0, 0, 0, 0};
  double t0 = now();
  while (strata_log_writer_size(w) < target) {
    if ((rc = strata_log_writer_add(w, src + r.records % 64, size)))
      die("strata_log_writer_add", rc);
    r.records++;
    if (sync && r.records % SYNC_EVERY == 0) {
      if ((rc = strata_log_writer_sync(w))) die("strata_log_writer_sync", rc);
      if (now() - t0 > cap) break;
    }
  }
  r.secs = now() - t0;
  r.payload = r.records * size;
  r.file = strata_log_writer_size(w);
  if ((rc = strata_log_writer_close(w))) die("strata_log_writer_close", rc);
  return r;
}

static void count_drop(void *arg, const strata_damage *d) {
  (void)d;
  ++*(uint64_t *)arg;
}

/* Reads every record (from the file, or from `mem` when not NULL); checks
 * that exactly `expect` records come back undamaged. Best of READ_RUNS. */
static row read_log(const char *path, const uint8_t *mem, uint64_t file_size,
                    strata_recovery policy, uint64_t expect, const char *what) {
  row best = {what, 0, 0, file_size, 0};
  for (int run = 0; run < READ_RUNS; run++) {
    uint64_t drops = 0, records = 0, payload = 0;
    double t0 = now();
    strata_log_reader *r;
    int rc = mem ? strata_log_reader_open_mem(mem, file_size, path, policy,
                                              count_drop, &drops, &r)
                 : strata_log_reader_open(path, policy, count_drop, &drops, &r);
    if (rc) die(path, rc);
    const void *data;
    size_t size;
    while ((rc = strata_log_reader_next(r, &data, &size, NULL)) == STRATA_OK) {
      records++;
      payload += size;
    }
    strata_log_reader_close(r);
    double secs = now() - t0;
    if (rc != STRATA_END) die("strata_log_reader_next", rc);
    if (records != expect || drops) {
      fprintf(stderr,
              "bench_log: %s: read %llu records with %llu drops, wrote %llu\n",
              path, (unsigned long long)records, (unsigned long long)drops,
              (unsigned long long)expect);
      exit(1);
    }
    if (run == 0 || secs < best.secs) {
      best.secs = secs;
      best.records = records;
      best.payload = payload;
    }
  }
  return best;
}

static uint8_t *slurp(const char *path, uint64_t size) {
  uint8_t *p = xmalloc(size ? size : 1);
  FILE *f = fopen(path, "rb");
  if (!f || fread(p, 1, size, f) != size) {
    fprintf(stderr, "bench_log: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return p;
}

static volatile uint32_t sink;

static void baselines(const config *c) {
  size_t n = (size_t)c->base_bytes;
  uint8_t *a = xmalloc(n), *b = xmalloc(n);
  fill_random(a, n);
  memset(b, 1, n);
  int reps = 4;
  double best = 1e9;
  for (int i = 0; i < reps; i++) {
    double t0 = now();
    memcpy(b, a, n);
    double s = now() - t0;
    sink += b[(size_t)i * 4099 % n];
    if (s < best) best = s;
  }
  print_base("memcpy (large buffer, bytes copied)", n, best);

  best = 1e9;
  for (int i = 0; i < reps; i++) {
    double t0 = now();
    sink += crc32c_extend(0, a, n);
    double s = now() - t0;
    if (s < best) best = s;
  }
  print_base(crc32c_hw_available() ? "crc32c_extend (SSE4.2 crc32 instruction)"
                                   : "crc32c_extend (no SSE4.2: software)",
             n, best);

  size_t m = n / 4;
  best = 1e9;
  for (int i = 0; i < 2; i++) {
    double t0 = now();
    sink += crc32c_sw(0, a, m);
    double s = now() - t0;
    if (s < best) best = s;
  }
  print_base("crc32c_sw (portable tables, reference)", m, best);
  free(a);
  free(b);
}

static void rm_tmpdir(void) {
  static const char *names[] = {"w100.log", "w4k.log", "s100.log", "s4k.log"};
  char path[4200];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
    unlink(path);
  }
  rmdir(tmpdir);
}

int main(int argc, char **argv) {
  config c = {256ull << 20, 10.0, 256ull << 20};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      c.log_bytes = 16ull << 20;
      c.sync_seconds = 1.0;
      c.base_bytes = 32ull << 20;
    } else {
      fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  snprintf(tmpdir, sizeof tmpdir, "%s/strata-bench-XXXXXX", base);
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "bench_log: mkdtemp %s: %s\n", tmpdir, strerror(errno));
    return 1;
  }
  atexit(rm_tmpdir);

  uint8_t *src = xmalloc(4096 + 64);
  fill_random(src, 4096 + 64);
  char p100[4200], p4k[4200], s100[4200], s4k[4200];
  snprintf(p100, sizeof p100, "%s/w100.log", tmpdir);
  snprintf(p4k, sizeof p4k, "%s/w4k.log", tmpdir);
  snprintf(s100, sizeof s100, "%s/s100.log", tmpdir);
  snprintf(s4k, sizeof s4k, "%s/s4k.log", tmpdir);

  printf("strata %s record-log benchmark%s: logs of %llu MiB in %s\n",
         strata_version(), c.log_bytes < (256ull << 20) ? " (--quick)" : "",
         (unsigned long long)(c.log_bytes >> 20), base);
  print_header();

  row w100 = write_log(p100, src, 100, c.log_bytes, 0, 0,
                       "write 100 B records, no sync");
  print_row(&w100);
  row w4k = write_log(p4k, src, 4096, c.log_bytes, 0, 0,
                      "write 4 KiB records, no sync");
  print_row(&w4k);
  row r = write_log(s100, src, 100, c.log_bytes, 1, c.sync_seconds,
                    "write 100 B records, sync every 1000");
  print_row(&r);
  unlink(s100);
  r = write_log(s4k, src, 4096, c.log_bytes, 1, c.sync_seconds,
                "write 4 KiB records, sync every 1000");
  print_row(&r);
  unlink(s4k);

  /* Reads of the two no-sync logs, which are in the page cache. */
  static const struct {
    strata_recovery policy;
    const char *name;
  } pol[] = {{STRATA_RECOVERY_POINT_IN_TIME, "point-in-time"},
             {STRATA_RECOVERY_SKIP, "skip"}};
  const struct {
    const char *path;
    const row *w;
    const char *size;
  } logs[] = {{p100, &w100, "100 B"}, {p4k, &w4k, "4 KiB"}};
  char what[128];
  for (size_t l = 0; l < 2; l++) {
    for (size_t p = 0; p < 2; p++) {
      snprintf(what, sizeof what, "read %s records, %s (page cache)",
               logs[l].size, pol[p].name);
      r = read_log(logs[l].path, NULL, logs[l].w->file, pol[p].policy,
                   logs[l].w->records, what);
      print_row(&r);
    }
    uint8_t *img = slurp(logs[l].path, logs[l].w->file);
    snprintf(what, sizeof what, "read %s records, point-in-time, in memory",
             logs[l].size);
    r = read_log(logs[l].path, img, logs[l].w->file,
                 STRATA_RECOVERY_POINT_IN_TIME, logs[l].w->records, what);
    print_row(&r);
    free(img);
  }
  unlink(p100);
  unlink(p4k);

  printf("machine baselines (%llu MiB buffers, best of several runs)\n",
         (unsigned long long)(c.base_bytes >> 20));
  baselines(&c);
  free(src);
  return 0;
}
