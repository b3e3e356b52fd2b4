/*
 * bench_wal.c — write-ahead log throughput (`make bench-wal`).
 *
 * Measures, in one run on the machine at hand:
 *  - the fdatasync latency of a 100-byte append to a file in the bench
 *    directory (the floor of sync `always` for one thread);
 *  - appends/s and MB/s for sync none, interval (100 ms / 1 MiB) and always,
 *    with 1, 2, 4, 8 and 16 threads appending one-put batches (16-byte key,
 *    100-byte value) for a fixed time each: group commit lets concurrent
 *    appenders share one write and one fsync, so `always` grows with threads
 *    while every batch is still synced before its append returns;
 *  - replay MB/s of a 64 MiB WAL (1 KiB values), from the page cache.
 * Prints a markdown section; with `--results FILE` also writes it into FILE
 * as the "## WAL" section (replacing an earlier one, keeping the others).
 * `--quick` shortens every phase (for a smoke run).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char out[1 << 16];
static size_t outlen;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out + outlen, sizeof out - outlen, fmt, ap);
  va_end(ap);
  if (n > 0) {
    fwrite(out + outlen, 1, (size_t)n, stdout);
    fflush(stdout);
    outlen += (size_t)n;
  }
}

static void rm_rf(const char *dir) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "bench_wal: cannot remove %s\n", dir);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median and mean fdatasync latency (microseconds) of 100-byte appends. */
static void fsync_latency(const char *dir, int n, double *median,
                          double *mean) {
  char path[4200];
  snprintf(path, sizeof path, "%s/fsync.tmp", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  double *t = malloc((size_t)n * sizeof *t), sum = 0;
  char buf[100];
  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < n; i++) {
    double a = now();
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) break;
    fdatasync(fd);
    t[i] = (now() - a) * 1e6;
    sum += t[i];
  }
  close(fd);
  unlink(path);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  *median = t[n / 2];
  *mean = sum / n;
  free(t);
}

typedef struct worker {
  strata_wal *w;      /* the log */
  volatile int *stop; /* set when time is up */
  uint64_t appends;   /* batches appended */
  uint64_t bytes;     /* their encoded bytes */
  int failed;         /* an append failed */
  int id;             /* thread number */
} worker;

static void *append_loop(void *arg) {
  worker *k = arg;
  strata_batch *b = strata_batch_create();
  char key[17], val[100];
  memset(val, 'v', sizeof val);
  for (uint64_t i = 0; !*k->stop; i++) {
    snprintf(key, sizeof key, "%04d%012" PRIu64, k->id, i);
    strata_batch_clear(b);
    strata_batch_put(b, key, 16, val, sizeof val);
    if (strata_wal_append(k->w, b, NULL) != STRATA_OK) {
      k->failed = 1;
      break;
    }
    size_t size;
    strata_batch_data(b, &size);
    k->appends++;
    k->bytes += size;
  }
  strata_batch_destroy(b);
  return NULL;
}

static void run_appends(const char *dir, strata_wal_sync_mode mode, int threads,
                        double seconds, double *ops, double *mbs) {
  rm_rf(dir);
  strata_wal_options o;
  strata_wal_options_init(&o);
  o.sync = mode;
  strata_wal *w = NULL;
  if (strata_wal_open(dir, &o, &w) != STRATA_OK) {
    fprintf(stderr, "bench_wal: open: %s\n", strata_last_error());
    exit(1);
  }
  volatile int stop = 0;
  worker k[16];
  pthread_t th[16];
  double t0 = now();
  for (int i = 0; i < threads; i++) {
    memset(&k[i], 0, sizeof k[i]);
    k[i].w = w;
    k[i].stop = &stop;
    k[i].id = i;
    pthread_create(&th[i], NULL, append_loop, &k[i]);
  }
  usleep((useconds_t)(seconds * 1e6));
  stop = 1;
  uint64_t n = 0, bytes = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    n += k[i].appends;
    bytes += k[i].bytes;
    if (k[i].failed) fprintf(stderr, "bench_wal: %s\n", strata_last_error());
  }
  double el = now() - t0;
  strata_wal_close(w);
  *ops = (double)n / el;
  *mbs = (double)bytes / el / 1e6;
}

static int count_op(void *arg, uint64_t seq, int op, const void *key,
                    size_t klen, const void *value, size_t vlen) {
  (void)seq;
  (void)op;
  (void)key;
  (void)value;
  *(uint64_t *)arg += klen + vlen;
  return 0;
}

static void run_replay(const char *dir, uint64_t total, double *mbs,
                       double *ops_per_s) {
  rm_rf(dir);
  strata_wal_options o;
  strata_wal_options_init(&o);
  o.sync = STRATA_WAL_SYNC_NONE;
  strata_wal *w = NULL;
  strata_wal_open(dir, &o, &w);
  strata_batch *b = strata_batch_create();
  char key[17], val[1024];
  memset(val, 'r', sizeof val);
  uint64_t written = 0, n = 0;
  while (written < total) {
    snprintf(key, sizeof key, "%016" PRIu64, n++);
    strata_batch_clear(b);
    strata_batch_put(b, key, 16, val, sizeof val);
    strata_wal_append(w, b, NULL);
    size_t size;
    strata_batch_data(b, &size);
    written += size;
  }
  strata_batch_destroy(b);
  strata_wal_close(w);
  strata_wal_open(dir, &o, &w); /* the open itself reads every segment */
  uint64_t payload = 0;
  double t0 = now();
  strata_wal_replay(w, 0, count_op, &payload);
  double el = now() - t0;
  strata_wal_close(w);
  *mbs = (double)written / el / 1e6;
  *ops_per_s = (double)n / el;
}

/* Replaces (or appends) the "## WAL" section of `path` with `text`. */
static void write_results(const char *path, const char *text) {
  FILE *f = fopen(path, "rb");
  char *old = NULL;
  size_t len = 0;
  if (f) {
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    old = malloc(len + 1);
    len = fread(old, 1, len, f);
    old[len] = '\0';
    fclose(f);
  }
  f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "bench_wal: cannot write %s\n", path);
    free(old);
    return;
  }
  const char *start = NULL;
  if (old) {
    if (strncmp(old, "## WAL\n", 7) == 0)
      start = old;
    else if ((start = strstr(old, "\n## WAL\n")))
      start++;
  }
  if (!old) {
    fputs("# Benchmark results\n\n", f);
    fputs(text, f);
  } else if (!start) {
    fputs(old, f);
    if (len && old[len - 1] != '\n') fputc('\n', f);
    fputc('\n', f);
    fputs(text, f);
  } else {
    const char *end = strstr(start + 1, "\n## ");
    fwrite(old, 1, (size_t)(start - old), f);
    fputs(text, f);
    if (end) fputs(end + 1, f);
  }
  fclose(f);
  free(old);
}

int main(int argc, char **argv) {
  int quick = 0;
  const char *results = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--results") == 0 && i + 1 < argc) {
      results = argv[++i];
    } else {
      fprintf(stderr, "usage: %s [--quick] [--results FILE]\n", argv[0]);
      return 2;
    }
  }
  char base[4096];
  snprintf(base, sizeof base, "%s/strata-bench-wal-%d",
           getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "build-release",
           (int)getpid());
  mkdir(base, 0755);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/wal", base);
  double seconds = quick ? 0.3 : 1.5;

  double med, mean, load = 0;
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (fscanf(lf, "%lf", &load) != 1) load = 0;
    fclose(lf);
  }
  fsync_latency(base, quick ? 50 : 500, &med, &mean);
  emit("## WAL\n\n");
  emit("`make bench-wal` (bench/bench_wal.c): one-put batches, 16-byte key, "
       "100-byte value, %.1f s per cell, %ld cores. Segment size 64 MiB, "
       "preallocated. Directory: %s.\n\n",
       seconds, sysconf(_SC_NPROCESSORS_ONLN), base);
  emit("fdatasync latency of a 100-byte append on this machine: median "
       "%.0f us, mean %.0f us (%.0f syncs/s for one thread at best). Load "
       "average at the start: %.2f (the machine may be shared; sync `always` "
       "figures follow the disk's latency of the moment).\n\n",
       med, mean, 1e6 / med, load);
  emit("| sync | threads | appends/s | MB/s | vs 1 thread |\n");
  emit("|---|---:|---:|---:|---:|\n");
  const char *names[] = {"none", "interval", "always"};
  strata_wal_sync_mode modes[] = {
      STRATA_WAL_SYNC_NONE, STRATA_WAL_SYNC_INTERVAL, STRATA_WAL_SYNC_ALWAYS};
  int threads[] = {1, 2, 4, 8, 16};
  double always1 = 0, always8 = 0;
  for (int m = 0; m < 3; m++) {
    double one = 0;
    for (int t = 0; t < 5; t++) {
      double ops, mbs;
      run_appends(dir, modes[m], threads[t], seconds, &ops, &mbs);
      if (t == 0) one = ops;
      if (m == 2 && threads[t] == 1) always1 = ops;
      if (m == 2 && threads[t] == 8) always8 = ops;
      emit("| %s | %d | %.0f | %.2f | %.2fx |\n", names[m], threads[t], ops,
           mbs, ops / one);
    }
  }
  double rmbs, rops;
  run_replay(dir, quick ? (8u << 20) : (64u << 20), &rmbs, &rops);
  emit("\nGroup commit, sync `always`: 8 threads reach %.1fx the appends/s "
       "of 1 thread (target: at least 4x).\n\n",
       always1 > 0 ? always8 / always1 : 0);
  emit("Replay of a %d MiB WAL (1 KiB values, page cache warm): %.0f MB/s, "
       "%.0f batches/s.\n",
       quick ? 8 : 64, rmbs, rops);
  rm_rf(base);
  if (results) write_results(results, out);
  return 0;
}
