/*
 * bench_workload.c — LevelDB db_bench's workloads, run through a
 * bench_engine, with the figures the comparison reports (bench_engine.h).
 *
 * Determinism: workload W, thread t draws its key numbers from a generator
 * seeded with (hash of W, t); values are cut in turn from one fixed buffer
 * starting at a per-thread offset. So two engines given the same workloads
 * in the same order hold the same keys with the same values, and the reads
 * find the same keys: `check` sums a hash of every (key, value) read, in an
 * order-independent way (readseq and readreverse agree too).
 *
 * Process-wide measures (CPU time, bytes written, peak RSS) cover the whole
 * process: the comparison runs each engine in a child process of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_engine.h"

enum { VALUE_BUF = 1 << 20, BATCH = 1000 };

/* ---- keys, values, randomness ------------------------------------------- */

void bench_key(uint64_t i, char *k) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%016llu", (unsigned long long)i);
  memcpy(k, tmp + strlen(tmp) - BENCH_KEY_SIZE, BENCH_KEY_SIZE);
}

/* splitmix64: small, fast, and the same on every machine. */
typedef struct rng {
  uint64_t s; /* state */
} rng;
static uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}
static uint64_t kv_hash(const char *k, size_t kl, const char *v, size_t vl) {
  uint64_t h = fnv(0xCBF29CE484222325ull, k, kl);
  h = fnv(h ^ 0xFF, v, vl);
  return h ^ (h >> 29);
}

static rng rng_for(const char *workload, int thread) {
  rng r = {fnv(0xCBF29CE484222325ull, workload, strlen(workload)) ^
           (301u + (uint64_t)thread * 7919u)};
  return r;
}

/* The value buffer: 100-byte chunks, each 50 random printable bytes
 * repeated, so a compressor halves it. Built once. */
static char value_buf[VALUE_BUF + BENCH_VALUE_SIZE];
static pthread_once_t value_once = PTHREAD_ONCE_INIT;
static void value_init(void) {
  rng r = {42};
  for (size_t off = 0; off + BENCH_VALUE_SIZE <= sizeof value_buf;
       off += BENCH_VALUE_SIZE) {
    char *c = value_buf + off;
    for (int i = 0; i < BENCH_VALUE_SIZE / 2; i++)
      c[i] = (char)(' ' + rng_next(&r) % 95);
    memcpy(c + BENCH_VALUE_SIZE / 2, c, BENCH_VALUE_SIZE / 2);
  }
}

/* Successive values of one thread. */
typedef struct valgen {
  size_t pos; /* offset of the next value in value_buf */
} valgen;
static const char *value_next(valgen *g) {
  if (g->pos + BENCH_VALUE_SIZE > VALUE_BUF) g->pos = 0;
  const char *v = value_buf + g->pos;
  g->pos += BENCH_VALUE_SIZE;
  return v;
}
static valgen valgen_for(int thread) {
  pthread_once(&value_once, value_init);
  valgen g = {((size_t)thread * 977u * BENCH_VALUE_SIZE) % VALUE_BUF};
  return g;
}

/* ---- process measures --------------------------------------------------- */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
         (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/* Bytes passed to write system calls by the process so far ("wchar" of
 * /proc/self/io: what the engine wrote to its files, before the page cache
 * merges anything), 0 if unavailable. */
static uint64_t written_now(void) {
  FILE *f = fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  unsigned long long v = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "wchar: %llu", &v) == 1) break;
  fclose(f);
  return v;
}

/* Resets the peak RSS to the current RSS (Linux clear_refs "5"). */
static void rss_peak_reset(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return;
  if (write(fd, "5", 1) < 0) { /* older kernels: peak since start */
  }
  close(fd);
}

static uint64_t rss_peak_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[128];
  unsigned long long v = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %llu", &v) == 1) break;
  fclose(f);
  return v;
}

static uint64_t du_total;
static int du_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)path, (void)ftw;
  if (flag == FTW_F) du_total += (uint64_t)st->st_blocks * 512u;
  return 0;
}
/* Bytes allocated to the files under dir. */
static uint64_t disk_usage(const char *dir) {
  du_total = 0;
  nftw(dir, du_one, 16, FTW_PHYS);
  return du_total;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}
static void rm_tree(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the database of a run ---------------------------------------------- */

static void db_close(bench_run *r) {
  if (r->db) r->engine->close(r->db);
  r->db = NULL;
}

/* Makes r->db open with the given sync mode; fresh=1 empties it first. */
static int db_ready(bench_run *r, int sync, int fresh, char *err,
                    size_t errlen) {
  if (fresh) {
    db_close(r);
    rm_tree(r->dir);
  } else if (r->db && r->db_sync != sync) {
    db_close(r);
  }
  if (!r->db) {
    mkdir(r->dir, 0755);
    r->db = r->engine->open(r->dir, sync, err, errlen);
    if (!r->db) return -1;
    r->db_sync = sync;
  }
  return 0;
}

void bench_run_finish(bench_run *r) {
  db_close(r);
  rm_tree(r->dir);
}

/* ---- one thread's share of a workload ----------------------------------- */

typedef enum op_kind {
  OP_FILLSEQ,
  OP_FILLBATCH,
  OP_FILLRANDOM,
  OP_DELETE,
  OP_READRANDOM,
  OP_SEEKRANDOM,
  OP_READSEQ,
  OP_READREVERSE
} op_kind;

typedef struct worker {
  bench_run *run;       /* the run */
  const char *workload; /* seeds the key stream */
  op_kind kind;         /* what to do */
  int thread;           /* thread number (seeds too) */
  uint64_t ops;         /* operations to do */
  volatile int *stop;   /* non-NULL: do puts until *stop (writer) */
  uint64_t done;        /* operations done */
  uint64_t found;       /* reads that found their key */
  uint64_t check_found; /* of the first BENCH_CHECK_OPS */
  uint64_t check;       /* sum of kv_hash of what those read */
  double deadline;      /* >0: stop after this time, past the checked ops */
  uint64_t bytes;       /* bytes moved */
  uint64_t user_bytes;  /* bytes written */
  int failed;           /* 1 on error */
  char err[160];        /* the error */
} worker;

static void do_iterate(worker *w, void *conn) {
  const bench_engine *e = w->run->engine;
  bench_iter *it = e->iter_open(conn, w->err, sizeof w->err);
  if (!it) {
    w->failed = 1;
    return;
  }
  int fwd = w->kind == OP_READSEQ;
  if (fwd)
    e->iter_first(it);
  else
    e->iter_last(it);
  for (; e->iter_valid(it); fwd ? e->iter_next(it) : e->iter_prev(it)) {
    size_t kl, vl;
    const char *k = e->iter_key(it, &kl), *v = e->iter_value(it, &vl);
    w->check += kv_hash(k, kl, v, vl);
    w->bytes += kl + vl;
    w->done++;
    w->found++;
    w->check_found++;
  }
  e->iter_close(it);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  const bench_engine *e = w->run->engine;
  uint64_t num = w->run->num ? w->run->num : 1;
  void *conn = e->conn_open(w->run->db, w->err, sizeof w->err);
  if (!conn) {
    w->failed = 1;
    return NULL;
  }
  rng r = rng_for(w->workload, w->thread);
  valgen g = valgen_for(w->thread);
  char key[BENCH_KEY_SIZE], *vbuf = malloc(BENCH_MAX_VALUE);
  char *keys = NULL, *vals = NULL;
  bench_iter *it = NULL;
  if (w->kind == OP_FILLBATCH) {
    keys = malloc((size_t)BATCH * BENCH_KEY_SIZE);
    vals = malloc((size_t)BATCH * BENCH_VALUE_SIZE);
  }
  if (w->kind == OP_SEEKRANDOM) {
    it = e->iter_open(conn, w->err, sizeof w->err);
    if (!it) w->failed = 1;
  }
  if (w->kind == OP_READSEQ || w->kind == OP_READREVERSE) {
    do_iterate(w, conn);
    goto out;
  }
  for (uint64_t i = 0; !w->failed && (w->stop ? !*w->stop : i < w->ops);) {
    int rc = 0;
    int checked = i < BENCH_CHECK_OPS;
    if (w->deadline > 0 && !checked && (i & 1023) == 0 && now() > w->deadline)
      break;
    switch (w->kind) {
    case OP_FILLSEQ:
    case OP_FILLRANDOM:
      bench_key(w->kind == OP_FILLSEQ ? i : rng_next(&r) % num, key);
      rc = e->put(conn, key, BENCH_KEY_SIZE, value_next(&g), BENCH_VALUE_SIZE,
                  w->err, sizeof w->err);
      w->bytes += BENCH_KEY_SIZE + BENCH_VALUE_SIZE;
      w->user_bytes += BENCH_KEY_SIZE + BENCH_VALUE_SIZE;
      i++;
      break;
    case OP_FILLBATCH: {
      size_t n = w->ops - i < BATCH ? (size_t)(w->ops - i) : BATCH;
      for (size_t j = 0; j < n; j++) {
        bench_key(i + j, keys + j * BENCH_KEY_SIZE);
        memcpy(vals + j * BENCH_VALUE_SIZE, value_next(&g), BENCH_VALUE_SIZE);
      }
      rc = e->put_batch(conn, keys, vals, n, w->err, sizeof w->err);
      w->bytes += n * (BENCH_KEY_SIZE + BENCH_VALUE_SIZE);
      w->user_bytes += n * (BENCH_KEY_SIZE + BENCH_VALUE_SIZE);
      i += n;
      w->done += n - 1; /* one more below */
      break;
    }
    case OP_DELETE:
      bench_key(rng_next(&r) % num, key);
      rc = e->del(conn, key, BENCH_KEY_SIZE, w->err, sizeof w->err);
      w->user_bytes += BENCH_KEY_SIZE;
      i++;
      break;
    case OP_READRANDOM: {
      size_t vl = 0;
      bench_key(rng_next(&r) % num, key);
      int f =
          e->get(conn, key, BENCH_KEY_SIZE, vbuf, &vl, w->err, sizeof w->err);
      if (f < 0) {
        rc = -1;
      } else if (f > 0) {
        w->found++;
        if (checked) {
          w->check_found++;
          w->check += kv_hash(key, BENCH_KEY_SIZE, vbuf, vl);
        }
        w->bytes += BENCH_KEY_SIZE + vl;
      }
      i++;
      break;
    }
    case OP_SEEKRANDOM: {
      bench_key(rng_next(&r) % num, key);
      e->iter_seek(it, key, BENCH_KEY_SIZE);
      if (e->iter_valid(it)) {
        size_t kl, vl;
        const char *k = e->iter_key(it, &kl), *v = e->iter_value(it, &vl);
        if (kl == BENCH_KEY_SIZE && memcmp(k, key, kl) == 0) {
          w->found++;
          if (checked) {
            w->check_found++;
            w->check += kv_hash(k, kl, v, vl);
          }
        }
        w->bytes += kl + vl;
      }
      i++;
      break;
    }
    case OP_READSEQ:
    case OP_READREVERSE: break;
    }
    if (rc != 0) w->failed = 1;
    w->done++;
  }
out:
  if (it) e->iter_close(it);
  char cerr[160];
  if (e->conn_close(conn, cerr, sizeof cerr) != 0 && !w->failed) {
    w->failed = 1;
    snprintf(w->err, sizeof w->err, "%s", cerr);
  }
  free(vbuf);
  free(keys);
  free(vals);
  return NULL;
}

/* ---- workloads ---------------------------------------------------------- */

/* Parses "fillsync-Nt"; 0 if `name` is not one. */
static int sync_threads(const char *name) {
  int n = 0, len = 0;
  if (sscanf(name, "fillsync-%dt%n", &n, &len) == 1 &&
      (size_t)len == strlen(name) && n >= 1 && n <= 64)
    return n;
  return 0;
}

static const char *const plain[] = {
    "fillseq",      "fillbatch", "fillrandom",      "overwrite",
    "readrandom",   "readseq",   "readreverse",     "seekrandom",
    "deleterandom", "fillsync",  "readwhilewriting"};

int bench_workload_known(const char *name) {
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
    if (strcmp(plain[i], name) == 0) return 1;
  return sync_threads(name) > 0;
}

static int fail(bench_result *out, const char *what, const char *err) {
  out->failed = 1;
  snprintf(out->note, sizeof out->note, "%s: %s", what, err);
  return -1;
}

int bench_workload_run(bench_run *r, const char *name, bench_result *out) {
  const bench_engine *e = r->engine;
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name);
  if (!bench_workload_known(name)) return fail(out, name, "unknown workload");
  int ordered_only = !strcmp(name, "readseq") || !strcmp(name, "readreverse") ||
                     !strcmp(name, "seekrandom");
  if (ordered_only && !e->ordered) {
    out->skipped = 1;
    snprintf(out->note, sizeof out->note,
             "skipped: %s is a hash engine (no key order)", e->name);
    return 0;
  }
  if (r->progress) r->progress(r->progress_arg, name);

  int nthreads = 1, sync = 0, fresh = 0, reopen = 0;
  uint64_t ops = r->num;
  uint64_t reads = r->reads ? r->reads : r->num;
  op_kind kind = OP_FILLRANDOM;
  int rww = 0;
  if (!strcmp(name, "fillseq")) {
    kind = OP_FILLSEQ, fresh = 1;
  } else if (!strcmp(name, "fillbatch")) {
    kind = OP_FILLBATCH, fresh = 1;
  } else if (!strcmp(name, "fillrandom")) {
    kind = OP_FILLRANDOM, fresh = 1;
  } else if (!strcmp(name, "overwrite")) {
    kind = OP_FILLRANDOM;
  } else if (!strcmp(name, "readrandom")) {
    kind = OP_READRANDOM, reopen = 1, ops = reads;
  } else if (!strcmp(name, "seekrandom")) {
    kind = OP_SEEKRANDOM, ops = reads;
  } else if (!strcmp(name, "readseq")) {
    kind = OP_READSEQ;
  } else if (!strcmp(name, "readreverse")) {
    kind = OP_READREVERSE;
  } else if (!strcmp(name, "deleterandom")) {
    kind = OP_DELETE;
  } else if (!strcmp(name, "readwhilewriting")) {
    kind = OP_READRANDOM, rww = 1, ops = reads;
  } else { /* fillsync, fillsync-Nt: num/1000 synced puts per thread */
    kind = OP_FILLRANDOM, sync = 1, fresh = 1;
    ops = r->num / 1000 ? r->num / 1000 : 1;
    nthreads = sync_threads(name) ? sync_threads(name) : 1;
  }

  char err[160] = "";
  if (reopen) db_close(r);
  if (db_ready(r, sync, fresh, err, sizeof err) != 0)
    return fail(out, "open", err);
  if (reopen) e->settle(r->db);

  int total = nthreads + rww;
  worker *w = calloc((size_t)total, sizeof *w);
  pthread_t *tid = calloc((size_t)total, sizeof *tid);
  volatile int stop = 0;
  for (int t = 0; t < total; t++) {
    w[t].run = r;
    w[t].workload = name;
    w[t].kind = kind;
    w[t].thread = t;
    w[t].ops = ops;
  }
  if (rww) { /* thread 1 writes random keys until the reader is done */
    w[1].kind = OP_FILLRANDOM;
    w[1].stop = &stop;
  }

  rss_peak_reset();
  uint64_t wr0 = written_now();
  double cpu0 = cpu_now(), t0 = now();
  int capped =
      kind == OP_READRANDOM || kind == OP_SEEKRANDOM || kind == OP_DELETE;
  if (capped && r->max_seconds > 0)
    for (int t = 0; t < total; t++)
      w[t].deadline = t0 + r->max_seconds;
  if (total == 1) {
    worker_main(&w[0]);
  } else {
    for (int t = 0; t < total; t++)
      pthread_create(&tid[t], NULL, worker_main, &w[t]);
    pthread_join(tid[0], NULL);
    stop = 1;
    for (int t = 1; t < total; t++)
      pthread_join(tid[t], NULL);
  }
  out->seconds = now() - t0;
  out->cpu_seconds = cpu_now() - cpu0;
  out->written_bytes = written_now() - wr0;
  out->rss_peak_kb = rss_peak_kb();

  int readers = rww ? 1 : nthreads; /* the writer of rww is not counted */
  for (int t = 0; t < total; t++) {
    if (t < readers) {
      out->ops += w[t].done;
      out->found += w[t].found;
      out->check_found += w[t].check_found;
      out->check += w[t].check;
      out->bytes += w[t].bytes;
    }
    out->user_bytes += w[t].user_bytes;
    if (w[t].failed && !out->failed) fail(out, name, w[t].err);
  }
  if (rww && !out->failed)
    snprintf(out->note, sizeof out->note, "%llu writes alongside",
             (unsigned long long)w[1].done);
  free(w);
  free(tid);
  out->disk_bytes = disk_usage(r->dir);
  return out->failed ? -1 : 0;
}
