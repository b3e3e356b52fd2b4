/*
 * bench_compare.c — `make bench`: strata-lsm and strata-bitcask beside
 * LevelDB, RocksDB, LMDB and SQLite on LevelDB's db_bench workloads, in the
 * same run (issue 7). Each engine's workloads run in a child process of their
 * own (so peak RSS, CPU time and bytes written are that engine's), each run
 * repeated (--reps, default 3, interleaved across engines) and reported as
 * median and min–max. The workloads and their key sequences are shared with
 * `strata bench` (bench/compare/bench_workload.c); the adapters are
 * bench/compare/bench_*.c.
 *
 * Cross-check: every engine gets the same keys and values, so readrandom,
 * seekrandom, readseq and readreverse must find the same keys with the same
 * values in every engine (the found count and a hash of what was read);
 * any disagreement is printed as "MISMATCH" on stderr and in RESULTS.md, and
 * the exit status is 1.
 *
 * Usage: bench_compare [--num N] [--reps R] [--engines a,b,..]
 *          [--workloads a,b,..] [--dir DIR] [--results RESULTS.md]
 *          [--plot results.png] [--large SIZE,SIZE,..] [--seconds S]
 * --num defaults to $BENCH_N or 1000000; --seconds (default $BENCH_SECONDS
 * or 5) caps the read workloads and deleterandom once past their first
 * BENCH_CHECK_OPS operations. --results replaces the section
 * "## Comparison (" (or, with --large, "## Scaling (") of that file, keeping
 * the rest; --plot draws the ops/s bar chart with gnuplot. --large runs the
 * workloads once per size for strata-lsm and LevelDB (`make bench-large`).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_engine.h"
#include "strata.h"

extern const bench_engine bench_leveldb, bench_rocksdb, bench_lmdb,
    bench_sqlite;

static const bench_engine *const all_engines[] = {
    &bench_leveldb, &bench_rocksdb,    &bench_lmdb,
    &bench_sqlite,  &bench_strata_lsm, &bench_strata_bitcask};
enum { MAX_ENGINES = 6, MAX_WORKLOADS = 32, MAX_REPS = 9, MAX_SIZES = 8 };

static const char *const default_workloads[] = {
    "fillseq",          "fillbatch",    "fillrandom",  "overwrite",
    "readrandom",       "readseq",      "readreverse", "seekrandom",
    "readwhilewriting", "deleterandom", "fillsync",    "fillsync-2t",
    "fillsync-4t",      "fillsync-8t"};

/* Everything measured, [size][rep][engine][workload]. */
typedef struct results {
  int nengines, nworkloads, reps, nsizes;
  const bench_engine *engines[MAX_ENGINES];
  const char *workloads[MAX_WORKLOADS];
  uint64_t sizes[MAX_SIZES];
  int ran[MAX_SIZES][MAX_REPS][MAX_ENGINES]; /* 1 if the child reported */
  bench_result r[MAX_SIZES][MAX_REPS][MAX_ENGINES][MAX_WORKLOADS];
} results;

static results R;
static int tty;
static double max_seconds = 5; /* cap of the read workloads (--seconds) */
static double t_start;
static int mismatches;
static char mismatch_text[8192];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- running ------------------------------------------------------------ */

typedef struct progress {
  int size, rep, engine; /* indices */
  int done;              /* workloads started so far */
} progress;

static void on_workload(void *arg, const char *w) {
  progress *p = arg;
  p->done++;
  if (!tty) return;
  double t = now() - t_start;
  fprintf(stderr,
          "\r\033[K[%d:%02d] N=%" PRIu64 " rep %d/%d  %-14s %-16s %2d/%d",
          (int)t / 60, (int)t % 60, R.sizes[p->size], p->rep + 1, R.reps,
          R.engines[p->engine]->name, w, p->done, R.nworkloads);
}

/* Runs one engine's workloads in a child process, which writes one
 * bench_result per workload into a pipe. */
static void run_child(const char *dir, int si, int rep, int ei) {
  int fd[2];
  if (pipe(fd) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    close(fd[0]);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, R.engines[ei]->name);
    progress p = {si, rep, ei, 0};
    bench_run run = {R.engines[ei], path, R.sizes[si], 0, max_seconds,
                     NULL,          0,    on_workload, &p};
    for (int w = 0; w < R.nworkloads; w++) {
      bench_result res;
      bench_workload_run(&run, R.workloads[w], &res);
      if (write(fd[1], &res, sizeof res) != (ssize_t)sizeof res) _exit(3);
    }
    bench_run_finish(&run);
    _exit(0);
  }
  close(fd[1]);
  int w = 0;
  bench_result res;
  size_t got = 0;
  char *buf = (char *)&res;
  for (;;) {
    ssize_t n = read(fd[0], buf + got, sizeof res - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    if (got == sizeof res) {
      if (w < R.nworkloads) R.r[si][rep][ei][w++] = res;
      got = 0;
    }
  }
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  R.ran[si][rep][ei] = w == R.nworkloads;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || w < R.nworkloads) {
    if (tty) fputc('\n', stderr);
    fprintf(stderr,
            "bench_compare: %s: the child process died (status %d) "
            "after %d workloads\n",
            R.engines[ei]->name, status, w);
    for (; w < R.nworkloads; w++) {
      bench_result *x = &R.r[si][rep][ei][w];
      memset(x, 0, sizeof *x);
      snprintf(x->name, sizeof x->name, "%s", R.workloads[w]);
      x->failed = 1;
      snprintf(x->note, sizeof x->note, "the process died");
    }
  }
}

/* ---- cross-check -------------------------------------------------------- */

static int checked(const char *w) {
  return !strcmp(w, "readrandom") || !strcmp(w, "seekrandom") ||
         !strcmp(w, "readseq") || !strcmp(w, "readreverse");
}

static void cross_check(int si, int rep) {
  for (int w = 0; w < R.nworkloads; w++) {
    if (!checked(R.workloads[w])) continue;
    const bench_result *ref = NULL;
    const char *ref_name = NULL;
    for (int e = 0; e < R.nengines; e++) {
      const bench_result *x = &R.r[si][rep][e][w];
      if (x->skipped || x->failed) continue;
      if (!ref) {
        ref = x, ref_name = R.engines[e]->name;
        continue;
      }
      if (x->check_found != ref->check_found || x->check != ref->check) {
        mismatches++;
        char line[512];
        snprintf(line, sizeof line,
                 "MISMATCH: N=%" PRIu64 " rep %d %s: %s found %" PRIu64
                 " (hash %016" PRIx64 "), %s found %" PRIu64
                 " (hash %016" PRIx64 ")\n",
                 R.sizes[si], rep + 1, R.workloads[w], ref_name,
                 ref->check_found, ref->check, R.engines[e]->name,
                 x->check_found, x->check);
        if (tty) fputc('\n', stderr);
        fprintf(stderr, "\n*** %s\n", line);
        if (strlen(mismatch_text) + strlen(line) < sizeof mismatch_text)
          strcat(mismatch_text, line);
      }
    }
  }
}

/* ---- statistics --------------------------------------------------------- */

typedef struct stat3 {
  int n;                /* runs that measured it */
  double med, min, max; /* of the value */
} stat3;

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef double (*metric_fn)(const bench_result *x);

static stat3 stat_of(int si, int e, int w, metric_fn f) {
  double v[MAX_REPS];
  stat3 s = {0, 0, 0, 0};
  for (int rep = 0; rep < R.reps; rep++) {
    const bench_result *x = &R.r[si][rep][e][w];
    if (!R.ran[si][rep][e] || x->skipped || x->failed) continue;
    v[s.n++] = f(x);
  }
  if (!s.n) return s;
  qsort(v, (size_t)s.n, sizeof v[0], cmp_d);
  s.min = v[0], s.max = v[s.n - 1];
  s.med = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2;
  return s;
}

static double m_ops(const bench_result *x) {
  return x->seconds > 0 ? (double)x->ops / x->seconds : 0;
}
static double m_mbs(const bench_result *x) {
  return x->seconds > 0 ? (double)x->bytes / 1048576.0 / x->seconds : 0;
}
static double m_rss(const bench_result *x) {
  return (double)x->rss_peak_kb / 1024.0;
}
static double m_disk(const bench_result *x) {
  return (double)x->disk_bytes / 1e6;
}
static double m_wamp(const bench_result *x) {
  return x->user_bytes ? (double)x->written_bytes / (double)x->user_bytes : -1;
}
static double m_cpu(const bench_result *x) { return x->cpu_seconds; }

/* 3 significant digits with k/M suffixes. */
static const char *human(double v, char *buf, size_t n) {
  if (v >= 1e6)
    snprintf(buf, n, "%.3gM", v / 1e6);
  else if (v >= 1e3)
    snprintf(buf, n, "%.3gk", v / 1e3);
  else
    snprintf(buf, n, "%.3g", v);
  return buf;
}

static const bench_result *first_result(int si, int e, int w) {
  for (int rep = 0; rep < R.reps; rep++)
    if (R.ran[si][rep][e]) return &R.r[si][rep][e][w];
  return NULL;
}

static int engine_index(const char *name) {
  for (int e = 0; e < R.nengines; e++)
    if (!strcmp(R.engines[e]->name, name)) return e;
  return -1;
}

static int is_strata(int e) {
  return !strncmp(R.engines[e]->name, "strata", 6);
}

/* One ops/s cell: "median (min–max)" and, for strata, the ratio to LevelDB. */
static void ops_cell(FILE *out, int si, int e, int w) {
  stat3 s = stat_of(si, e, w, m_ops);
  const bench_result *x = first_result(si, e, w);
  char a[16], b[16], c[16];
  if (!s.n) {
    fprintf(out, " %s |",
            x && x->skipped  ? "skipped"
            : x && x->failed ? "FAILED"
                             : "-");
    return;
  }
  fprintf(out, " %s", human(s.med, a, sizeof a));
  if (R.reps > 1)
    fprintf(out, " (%s–%s)", human(s.min, b, sizeof b),
            human(s.max, c, sizeof c));
  int l = engine_index("leveldb");
  if (is_strata(e) && l >= 0) {
    stat3 ls = stat_of(si, l, w, m_ops);
    if (ls.n && ls.med > 0) fprintf(out, " **%.2f×**", s.med / ls.med);
  }
  fprintf(out, " |");
}

/* ---- report ------------------------------------------------------------- */

static void machine(FILE *out) {
  char model[256] = "unknown CPU";
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10)) {
      char *p = strchr(line, ':');
      if (p) snprintf(model, sizeof model, "%s", p + 2);
      model[strcspn(model, "\n")] = 0;
      break;
    }
  if (f) fclose(f);
  unsigned long long mem = 0;
  f = fopen("/proc/meminfo", "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "MemTotal: %llu", &mem) == 1) break;
  if (f) fclose(f);
  struct utsname u;
  uname(&u);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  fprintf(out,
          "- Machine: %ld cores, %s, %.1f GiB RAM, %s %s %s; compiler gcc "
          "%s; load average at the end %.2f\n",
          sysconf(_SC_NPROCESSORS_ONLN), model, (double)mem / 1048576.0,
          u.sysname, u.release, u.machine, __VERSION__, load[0]);
}

static void settings(FILE *out) {
  for (int e = 0; e < R.nengines; e++) {
    fprintf(out, "- **%s** %s\n", R.engines[e]->name, R.engines[e]->version());
    R.engines[e]->describe(out);
  }
}

static void write_comparison(FILE *out, const char *cmd, const char *date) {
  int si = 0;
  fprintf(out, "## Comparison (`make bench`, bench/bench_compare.c)\n\n");
  fprintf(out, "- Command: `%s`; %s\n", cmd, date);
  machine(out);
  fprintf(out,
          "- %" PRIu64 " entries, 16-byte keys, 100-byte values (half "
          "compressible), fixed seed, the same key sequence for every "
          "engine; each engine's workloads run in a child process of their "
          "own, %d times (interleaved across engines); figures are medians "
          "(min–max). Database directory on the same disk as the build.\n",
          R.sizes[0], R.reps);
  fprintf(out,
          "- Workloads as LevelDB's db_bench: fill* start from an empty "
          "database; overwrite, readrandom, readseq, readreverse, "
          "seekrandom, readwhilewriting and deleterandom follow in that "
          "order on fillrandom's database; readrandom reads it reopened "
          "after background work settled. readwhilewriting counts the "
          "reader's gets while 1 thread writes random keys. fillsync: "
          "N/1000 synced random puts per thread; -Nt: N threads at once "
          "(group commit). Reads count found keys' bytes for MB/s. "
          "readrandom, seekrandom, readwhilewriting and deleterandom stop "
          "after %.0f s once past their first %d operations (--seconds, "
          "BENCH_SECONDS; their outcome is not read by later workloads), so "
          "the slow engines fit the time budget; ops/s is unaffected.\n",
          max_seconds, BENCH_CHECK_OPS);
  fprintf(out,
          "- Cross-check (the first %d gets of readrandom and seeks of "
          "seekrandom, and all of readseq and readreverse, find the same "
          "keys with the same values in every engine): %s\n\n",
          BENCH_CHECK_OPS,
          mismatches ? "**MISMATCH** (below)" : "all engines agree");
  if (mismatches) fprintf(out, "```\n%s```\n\n", mismatch_text);

  fprintf(out, "Settings:\n\n");
  settings(out);

  fprintf(out, "\n### ops/s (strata: **ratio to LevelDB** in this run)\n\n"
               "| workload |");
  for (int e = 0; e < R.nengines; e++)
    fprintf(out, " %s |", R.engines[e]->name);
  fprintf(out, "\n|---|");
  for (int e = 0; e < R.nengines; e++)
    fprintf(out, "---:|");
  fprintf(out, "\n");
  for (int w = 0; w < R.nworkloads; w++) {
    fprintf(out, "| %s |", R.workloads[w]);
    for (int e = 0; e < R.nengines; e++)
      ops_cell(out, si, e, w);
    fprintf(out, "\n");
  }

  fprintf(out,
          "\n### Per workload and engine (medians)\n\n"
          "MB/s: key+value bytes moved per second (MB = 2^20 bytes, as "
          "db_bench); peak RSS during the "
          "workload (VmHWM, reset before each); disk: bytes allocated to "
          "the database's files after it; write-amp: bytes the process "
          "passed to write calls (/proc/self/io wchar) over key+value bytes "
          "written, during the workload only (compaction debt left behind "
          "is not counted; LMDB's and SQLite's pwrite of pages counts); "
          "CPU: user+system seconds of the process, background threads "
          "included.\n\n"
          "| workload | engine | ops/s | MB/s | µs/op | peak RSS MiB | disk MB "
          "| write-amp | CPU s | note |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (int w = 0; w < R.nworkloads; w++)
    for (int e = 0; e < R.nengines; e++) {
      const bench_result *x = first_result(si, e, w);
      stat3 ops = stat_of(si, e, w, m_ops);
      char a[16];
      fprintf(out, "| %s | %s |", R.workloads[w], R.engines[e]->name);
      if (!ops.n) {
        fprintf(out, " - | - | - | - | - | - | - | %s |\n",
                x ? x->note : "not run");
        continue;
      }
      stat3 wa = stat_of(si, e, w, m_wamp);
      fprintf(out, " %s | %.1f | %.2f | %.0f | %.1f |",
              human(ops.med, a, sizeof a), stat_of(si, e, w, m_mbs).med,
              ops.med > 0 ? 1e6 / ops.med : 0, stat_of(si, e, w, m_rss).med,
              stat_of(si, e, w, m_disk).med);
      if (wa.med >= 0)
        fprintf(out, " %.2f |", wa.med);
      else
        fprintf(out, " - |");
      fprintf(out, " %.2f | %s |\n", stat_of(si, e, w, m_cpu).med,
              x ? x->note : "");
    }
  fprintf(out, "\n![ops/s per workload and engine](results.png)\n\n");
}

static void write_scaling(FILE *out, const char *cmd, const char *date) {
  fprintf(out, "## Scaling (`make bench-large`, bench/bench_compare.c)\n\n");
  fprintf(out, "- Command: `%s`; %s\n", cmd, date);
  machine(out);
  fprintf(out, "- The comparison's workloads at each size, one run each, "
               "ops/s (strata-lsm: **ratio to LevelDB**).\n");
  if (mismatches) fprintf(out, "- **MISMATCH**:\n```\n%s```\n", mismatch_text);
  fprintf(out, "\n| entries | engine |");
  for (int w = 0; w < R.nworkloads; w++)
    fprintf(out, " %s |", R.workloads[w]);
  fprintf(out, "\n|---:|---|");
  for (int w = 0; w < R.nworkloads; w++)
    fprintf(out, "---:|");
  fprintf(out, "\n");
  for (int si = 0; si < R.nsizes; si++)
    for (int e = 0; e < R.nengines; e++) {
      fprintf(out, "| %" PRIu64 " | %s |", R.sizes[si], R.engines[e]->name);
      for (int w = 0; w < R.nworkloads; w++)
        ops_cell(out, si, e, w);
      fprintf(out, "\n");
    }
  fprintf(out, "\n");
}

/* Replaces the section starting with `heading` (up to the next "## " line)
 * in `path` with `text`, or appends it. */
static int replace_section(const char *path, const char *heading,
                           const char *text) {
  FILE *f = fopen(path, "r");
  char *old = NULL;
  size_t len = 0;
  if (f) {
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    old = calloc((size_t)n + 1, 1);
    len = fread(old, 1, (size_t)n, f);
    fclose(f);
  } else {
    old = calloc(1, 1);
  }
  char *start = NULL;
  size_t hl = strlen(heading);
  for (char *p = old; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (!strncmp(p, heading, hl)) {
      start = p;
      break;
    }
  char *end = NULL;
  if (start) {
    for (char *p = strchr(start, '\n'); p; p = strchr(p + 1, '\n'))
      if (!strncmp(p + 1, "## ", 3)) {
        end = p + 1;
        break;
      }
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *o = fopen(tmp, "w");
  if (!o) {
    perror(tmp);
    free(old);
    return -1;
  }
  if (start) {
    fwrite(old, 1, (size_t)(start - old), o);
    fputs(text, o);
    if (end) fputs(end, o);
  } else {
    fwrite(old, 1, len, o);
    if (len && old[len - 1] != '\n') fputc('\n', o);
    if (len) fputc('\n', o);
    fputs(text, o);
  }
  free(old);
  if (fclose(o) != 0 || rename(tmp, path) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

/* The bar chart: median ops/s per workload per engine, log scale. */
static int plot(const char *png, const char *dir) {
  char data[4200];
  snprintf(data, sizeof data, "%s/results.dat", dir);
  FILE *f = fopen(data, "w");
  if (!f) return -1;
  fprintf(f, "workload");
  for (int e = 0; e < R.nengines; e++)
    fprintf(f, " %s", R.engines[e]->name);
  fprintf(f, "\n");
  for (int w = 0; w < R.nworkloads; w++) {
    fprintf(f, "%s", R.workloads[w]);
    for (int e = 0; e < R.nengines; e++) {
      stat3 s = stat_of(0, e, w, m_ops);
      if (s.n)
        fprintf(f, " %.1f", s.med);
      else
        fprintf(f, " ?");
    }
    fprintf(f, "\n");
  }
  fclose(f);
  FILE *g = popen("gnuplot", "w");
  if (!g) return -1;
  fprintf(g,
          "set terminal pngcairo size 1600,700 noenhanced font 'sans,10'\n"
          "set output '%s'\n"
          "set datafile missing '?'\n"
          "set style data histograms\n"
          "set style histogram clustered gap 1\n"
          "set style fill solid 0.9 border -1\n"
          "set logscale y\n"
          "set yrange [100:*]\n"
          "set grid ytics\n"
          "set ylabel 'ops/s (median of %d runs, log scale)'\n"
          "set title 'strata vs LevelDB, RocksDB, LMDB, SQLite: %" PRIu64
          " entries, 16-byte keys, 100-byte values'\n"
          "set xtics rotate by -30\n"
          "set key outside right top\n"
          "plot '%s' using 2:xtic(1) title columnheader(2)",
          png, R.reps, R.sizes[0], data);
  for (int e = 1; e < R.nengines; e++)
    fprintf(g, ", '' using %d title columnheader(%d)", e + 2, e + 2);
  fprintf(g, "\n");
  int rc = pclose(g);
  return rc == 0 ? 0 : -1;
}

/* ---- main --------------------------------------------------------------- */

static int split(char *s, const char **out, int max) {
  int n = 0;
  for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ","))
    out[n++] = t;
  return n;
}

static const bench_engine *find_engine(const char *name) {
  for (size_t i = 0; i < sizeof all_engines / sizeof all_engines[0]; i++)
    if (!strcmp(all_engines[i]->name, name)) return all_engines[i];
  return NULL;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_compare [--num N] [--reps R] [--engines a,b,..] "
          "[--workloads a,b,..]\n       [--dir DIR] [--results FILE.md] "
          "[--plot FILE.png] [--large SIZE,SIZE,..] [--seconds S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *env_n = getenv("BENCH_N");
  uint64_t num = env_n && *env_n ? strtoull(env_n, NULL, 10) : 1000000;
  const char *env_s = getenv("BENCH_SECONDS");
  if (env_s && *env_s) max_seconds = atof(env_s);
  const char *dir = "bench-compare-db", *results = NULL, *png = NULL;
  char *engines = NULL, *workloads = NULL, *large = NULL;
  R.reps = 3;
  char cmd[1024] = "";
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(cmd);
    snprintf(cmd + l, sizeof cmd - l, "%s%s", i ? " " : "", argv[i]);
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--num"))
      num = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--reps"))
      R.reps = atoi(v);
    else if (!strcmp(a, "--engines"))
      engines = strdup(v);
    else if (!strcmp(a, "--workloads"))
      workloads = strdup(v);
    else if (!strcmp(a, "--dir"))
      dir = v;
    else if (!strcmp(a, "--results"))
      results = v;
    else if (!strcmp(a, "--plot"))
      png = v;
    else if (!strcmp(a, "--seconds"))
      max_seconds = atof(v);
    else if (!strcmp(a, "--large"))
      large = strdup(v);
    else
      usage();
  }
  if (R.reps < 1 || R.reps > MAX_REPS || num < 1) usage();

  if (large) {
    const char *s[MAX_SIZES];
    R.nsizes = split(large, s, MAX_SIZES);
    for (int i = 0; i < R.nsizes; i++)
      R.sizes[i] = strtoull(s[i], NULL, 10);
    if (!engines) engines = strdup("strata-lsm,leveldb");
  } else {
    R.nsizes = 1;
    R.sizes[0] = num;
  }
  if (engines) {
    const char *names[MAX_ENGINES];
    int n = split(engines, names, MAX_ENGINES);
    for (int i = 0; i < n; i++) {
      const bench_engine *e = find_engine(names[i]);
      if (!e) {
        fprintf(stderr, "bench_compare: unknown engine '%s'\n", names[i]);
        return 2;
      }
      R.engines[R.nengines++] = e;
    }
  } else {
    for (int i = 0; i < MAX_ENGINES; i++)
      R.engines[R.nengines++] = all_engines[i];
  }
  if (workloads) {
    R.nworkloads = split(workloads, R.workloads, MAX_WORKLOADS);
  } else {
    R.nworkloads =
        (int)(sizeof default_workloads / sizeof default_workloads[0]);
    for (int i = 0; i < R.nworkloads; i++)
      R.workloads[i] = default_workloads[i];
  }
  for (int w = 0; w < R.nworkloads; w++)
    if (!bench_workload_known(R.workloads[w])) {
      fprintf(stderr, "bench_compare: unknown workload '%s'\n", R.workloads[w]);
      return 2;
    }

  tty = isatty(2);
  t_start = now();
  char mk[4200];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
  if (system(mk) != 0) return 2;

  printf("strata %s comparison benchmark\n", strata_version());
  settings(stdout);
  for (int si = 0; si < R.nsizes; si++)
    for (int rep = 0; rep < R.reps; rep++) {
      for (int e = 0; e < R.nengines; e++)
        run_child(dir, si, rep, e);
      cross_check(si, rep);
    }
  if (tty) fputc('\n', stderr);

  char date[64];
  time_t t = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
  char *text = NULL;
  size_t tlen = 0;
  FILE *m = open_memstream(&text, &tlen);
  if (large)
    write_scaling(m, cmd, date);
  else
    write_comparison(m, cmd, date);
  fclose(m);
  fputs(text, stdout);
  fprintf(stdout, "(%.0f s in all)\n", now() - t_start);
  int rc = 0;
  if (results && replace_section(
                     results, large ? "## Scaling (" : "## Comparison (", text))
    rc = 2;
  free(text);
  if (png && !large && plot(png, dir) != 0) {
    fprintf(stderr, "bench_compare: gnuplot failed to draw %s\n", png);
    rc = 2;
  }
  if (mismatches) {
    fprintf(stderr, "bench_compare: %d MISMATCH(ES) between engines\n",
            mismatches);
    rc = 1;
  }
  return rc;
}
