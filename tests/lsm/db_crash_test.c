/*
 * db_crash_test.c — recovery of the LSM engine after crashes.
 *
 *  - crash_kill9_loop: a child process writes batches with sync=1 and
 *    reports each acknowledged batch through a pipe; the parent kills it with
 *    SIGKILL after a short random delay, reopens, and checks that the
 *    database holds exactly batches 1..c for some c at least the last
 *    acknowledged one: every acknowledged batch is there and no batch is
 *    half-applied (each batch also writes the key "last" = its id, so c is
 *    read back, and the whole database is compared with the model after c
 *    batches). The child picks up from "last", so the database grows
 *    across the 200+ kills, through flushes and compactions (64 KiB write
 *    buffer).
 *  - crash_power_loss_every_sync: a scripted workload (writes with and
 *    without sync, a flush, a compact_range, a reopen) runs through
 *    env_fault (lsm_db_open_env); for every K, a run "loses power" just
 *    after the K-th sync (fdatasync, fsync or directory sync): every later
 *    file operation fails (or just before it: the sync and every later
 *    operation fail), the handle is closed, env_fault_power_loss drops
 *    whatever was not synced, and the reopened database must again hold
 *    exactly writes 1..c with c at least the last synced acknowledged write.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_fault.h"
#include "lsm/db.h"
#include "strata.h"
#include "test.h"

/* ---- the deterministic workload ----------------------------------------- */

enum { NKEYS = 200 };

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  x ^= x >> 33;
  return x;
}

/* Batch `id` (>= 1): 2..7 operations on keys of [0, nkeys), each a put of
 * a value naming the batch or a delete; then "last" = id. */
static int batch_ops(uint64_t id, int nkeys, int *keys, int *puts) {
  uint64_t h = mix(id * 0x9e3779b97f4a7c15ULL);
  int n = 2 + (int)(h % 6);
  for (int i = 0; i < n; i++) {
    uint64_t r = mix(h + (uint64_t)i + 1);
    keys[i] = (int)(r % (uint64_t)nkeys);
    puts[i] = (r >> 20) % 5 != 0;
  }
  return n;
}

static size_t key_text(int k, char *buf) {
  return (size_t)sprintf(buf, "key%04d", k);
}
static size_t value_text(uint64_t id, int k, char *buf) {
  int n = sprintf(buf, "b%" PRIu64 "-k%d-", id, k);
  int len = 20 + (int)(mix(id ^ ((uint64_t)k << 40)) % 200);
  for (int i = n; i < len; i++)
    buf[i] = (char)('a' + (id + (uint64_t)i) % 26);
  return (size_t)(len > n ? len : n);
}

static strata_batch *make_batch(uint64_t id, int nkeys) {
  int keys[8], puts[8];
  int n = batch_ops(id, nkeys, keys, puts);
  strata_batch *b = strata_batch_create();
  char k[32], v[256];
  for (int i = 0; i < n; i++) {
    size_t kl = key_text(keys[i], k);
    if (puts[i])
      strata_batch_put(b, k, kl, v, value_text(id, keys[i], v));
    else
      strata_batch_delete(b, k, kl);
  }
  int vl = sprintf(v, "%" PRIu64, id);
  strata_batch_put(b, "last", 4, v, (size_t)vl);
  return b;
}

/* The model: which batch last put each key (0: absent). */
typedef struct model {
  uint64_t applied;   /* batches 1..applied applied */
  uint64_t by[NKEYS]; /* per key: the batch whose value it holds, or 0 */
} model;

static void model_apply(model *m, int nkeys) {
  uint64_t id = ++m->applied;
  int keys[8], puts[8];
  int n = batch_ops(id, nkeys, keys, puts);
  for (int i = 0; i < n; i++)
    m->by[keys[i]] = puts[i] ? id : 0;
}

/* "last" of the database: 0 if absent. -1 on an error. */
static int64_t read_last(strata_db *db) {
  void *v = NULL;
  size_t vl = 0;
  int rc = strata_db_get(db, NULL, "last", 4, &v, &vl);
  if (rc == STRATA_NOT_FOUND) return 0;
  if (rc != STRATA_OK) return -1;
  char buf[32] = {0};
  memcpy(buf, v, vl < 31 ? vl : 31);
  free(v);
  return strtoll(buf, NULL, 10);
}

/* Compares the whole database with model m (and "last" = m->applied). Returns
 * the number of differences, the first few reported with `what`. */
static int compare(strata_db *db, const model *m, int nkeys, const char *what) {
  int bad = 0;
  char k[32], v[256];
  strata_iterator *it = NULL;
  if (strata_db_iter_create(db, NULL, &it) != STRATA_OK) {
    test_fail(__FILE__, __LINE__, "%s: iter_create: %s", what,
              strata_last_error());
    return 1;
  }
  strata_iter_seek_first(it);
  for (int i = 0; i < nkeys; i++) {
    if (!m->by[i]) continue;
    size_t kl = key_text(i, k), vl = value_text(m->by[i], i, v);
    size_t gkl = 0, gvl = 0;
    const void *gk = strata_iter_valid(it) ? strata_iter_key(it, &gkl) : NULL;
    const void *gv = gk ? strata_iter_value(it, &gvl) : NULL;
    if (!gk || gkl != kl || memcmp(gk, k, kl) != 0 || gvl != vl ||
        memcmp(gv, v, vl) != 0) {
      if (bad++ < 5)
        test_fail(__FILE__, __LINE__,
                  "%s: after batch %" PRIu64 " want %s from batch %" PRIu64
                  ", iterator at '%.*s' = '%.*s'",
                  what, m->applied, k, m->by[i], gk ? (int)gkl : 0,
                  gk ? (const char *)gk : "",
                  gv ? (int)(gvl < 24 ? gvl : 24) : 0,
                  gv ? (const char *)gv : "");
      /* resynchronise: skip keys below k */
      while (strata_iter_valid(it)) {
        const void *x = strata_iter_key(it, &gkl);
        if (memcmp(x, k, gkl < kl ? gkl : kl) > 0 ||
            (memcmp(x, k, gkl < kl ? gkl : kl) == 0 && gkl >= kl))
          break;
        strata_iter_next(it);
      }
      if (strata_iter_valid(it)) {
        const void *x = strata_iter_key(it, &gkl);
        if (gkl == kl && memcmp(x, k, kl) == 0) strata_iter_next(it);
      }
      continue;
    }
    strata_iter_next(it);
  }
  /* then "last", and nothing after it */
  size_t gkl = 0, gvl = 0;
  if (m->applied) {
    const void *gk = strata_iter_valid(it) ? strata_iter_key(it, &gkl) : NULL;
    const void *gv = gk ? strata_iter_value(it, &gvl) : NULL;
    int vl = sprintf(v, "%" PRIu64, m->applied);
    if (!gk || gkl != 4 || memcmp(gk, "last", 4) != 0 || gvl != (size_t)vl ||
        memcmp(gv, v, gvl) != 0) {
      if (bad++ < 5) test_fail(__FILE__, __LINE__, "%s: want last=%s", what, v);
    } else {
      strata_iter_next(it);
    }
  }
  if (strata_iter_valid(it)) {
    const void *gk = strata_iter_key(it, &gkl);
    if (bad++ < 5)
      test_fail(__FILE__, __LINE__, "%s: unexpected key '%.*s' at the end",
                what, (int)gkl, (const char *)gk);
  }
  if (strata_iter_status(it) != STRATA_OK) {
    bad++;
    test_fail(__FILE__, __LINE__, "%s: iterator status %d: %s", what,
              strata_iter_status(it), strata_last_error());
  }
  strata_iter_destroy(it);
  return bad;
}

static strata_options small_options(void) {
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_buffer_size = 64 << 10;
  o.max_file_size = 64 << 10;
  return o;
}

/* ---- (a) kill -9 -------------------------------------------------------- */

enum { KILLS = 210 };

/* The child: continues the batch sequence after "last", each batch synced,
 * and writes each acknowledged id to fd. Never returns. */
static void child_writer(const char *dir, int fd) {
  strata_options o = small_options();
  strata_db *db = NULL;
  if (strata_db_open(dir, &o, &db) != STRATA_OK) _exit(3);
  int64_t last = read_last(db);
  if (last < 0) _exit(4);
  strata_write_options wo;
  strata_write_options_init(&wo);
  wo.sync = 1;
  for (uint64_t id = (uint64_t)last + 1;; id++) {
    strata_batch *b = make_batch(id, NKEYS);
    int rc = strata_db_write(db, &wo, b);
    strata_batch_destroy(b);
    if (rc != STRATA_OK) _exit(5);
    if (write(fd, &id, sizeof id) != (ssize_t)sizeof id) _exit(6);
  }
}

TEST(crash_kill9_loop) {
  char *dir = strdup(test_path("db"));
  static model m;
  memset(&m, 0, sizeof m);
  uint64_t acked = 0, kills = 0, writes_seen = 0;
  int failures = 0;
  for (int round = 0; round < KILLS && failures < 3; round++) {
    int p[2];
    if (pipe(p) != 0) {
      CHECK(0);
      break;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      child_writer(dir, p[1]);
    }
    close(p[1]);
    /* 1..40 ms; a few longer runs let flushes and compactions start */
    long us = 1000 + (long)(test_rand() % 39000);
    if (round % 25 == 24) us = 150000;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills++;
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      test_fail(__FILE__, __LINE__, "round %d: child ended with status %d",
                round, status);
      failures++;
    }
    uint64_t id;
    while (read(p[0], &id, sizeof id) == (ssize_t)sizeof id) {
      if (id != acked + 1 && id <= acked) {
        test_fail(__FILE__, __LINE__,
                  "round %d: acknowledged %" PRIu64 " after %" PRIu64, round,
                  id, acked);
        failures++;
      }
      acked = id;
      writes_seen++;
    }
    close(p[0]);

    strata_options o = small_options();
    strata_db *db = NULL;
    int rc = strata_db_open(dir, &o, &db);
    if (rc != STRATA_OK) {
      test_fail(__FILE__, __LINE__, "round %d: reopen: %s", round,
                strata_last_error());
      failures++;
      continue;
    }
    int64_t last = read_last(db);
    if (last < 0 || (uint64_t)last < acked || (uint64_t)last < m.applied) {
      test_fail(__FILE__, __LINE__,
                "round %d: last batch %" PRId64 " but %" PRIu64
                " was acknowledged (%" PRIu64 " seen before)",
                round, last, acked, m.applied);
      failures++;
    } else {
      /* at most one batch past the last acknowledgement: the one written
       * but not yet reported */
      if ((uint64_t)last > acked + 1) {
        test_fail(__FILE__, __LINE__,
                  "round %d: batch %" PRId64 " present, only %" PRIu64
                  " acknowledged",
                  round, last, acked);
        failures++;
      }
      while (m.applied < (uint64_t)last)
        model_apply(&m, NKEYS);
      char what[64];
      sprintf(what, "kill %d", round);
      if (compare(db, &m, NKEYS, what)) failures++;
      acked = m.applied;
    }
    if (strata_db_close(db) != STRATA_OK) failures++;
  }
  strata_options o = small_options();
  strata_db *db = NULL;
  strata_db_stats st = {0};
  if (strata_db_open(dir, &o, &db) == STRATA_OK) {
    strata_db_get_stats(db, &st);
    strata_db_close(db);
  }
  CHECK_EQ(strata_db_verify(dir, NULL, NULL), STRATA_OK);
  printf("kill-9: %" PRIu64 " kills, %" PRIu64 " batches acknowledged, %" PRIu64
         " in the database, %" PRIu64 " tables at the end, %d failures\n",
         kills, writes_seen, m.applied,
         st.files[0] + st.files[1] + st.files[2] + st.files[3], failures);
  CHECK(kills >= 200);
  CHECK(m.applied >= 200); /* the children did make progress */
  CHECK_EQ(failures, 0);
  free(dir);
}

/* ---- (b) power loss at every sync point --------------------------------- */

/* An env over env_fault that counts syncs and, just after the crash_at-th,
 * makes every later operation fail (the machine is off). */
typedef struct crash_env {
  env base;           /* ops = crash_ops, state = this */
  env *fault;         /* the env it forwards to: env_fault, or the POSIX
                         env under it */
  pthread_mutex_t mu; /* guards syncs */
  uint64_t syncs;     /* sync operations completed */
  uint64_t crash_at;  /* 0: never */
  int before;         /* 1: crash just before sync crash_at, 0: after */
  int nosync;         /* 1: syncs succeed without reaching the disk (under
                         env_fault, which keeps durability itself) */
  int crashed;        /* 1 once the power is off */
} crash_env;

typedef struct crash_file {
  env_file base;   /* owner = the crash_env, path */
  env_file *inner; /* the env_fault handle */
} crash_file;

#include <pthread.h>

static crash_env *ce_of(env *e) { return (crash_env *)e->state; }
static env_file *inner_of(env_file *f) { return ((crash_file *)f)->inner; }

/* Called around every sync: before it (rc < 0) and after it (its status).
 * The power goes off just before the crash_at-th sync (which then fails,
 * so what was appended since the last sync is lost) or just after it. */
static void at_sync(crash_env *ce, int rc) {
  pthread_mutex_lock(&ce->mu);
  if (rc < 0) {
    if (ce->crash_at && ce->before && ce->syncs + 1 == ce->crash_at &&
        !ce->crashed) {
      ce->crashed = 1;
      env_fault_fail_nth(ce->fault, 1, 1); /* this and every later op fail */
    }
  } else if (rc == STRATA_OK) {
    ce->syncs++;
    if (ce->crash_at && !ce->before && ce->syncs == ce->crash_at &&
        !ce->crashed) {
      ce->crashed = 1;
      env_fault_fail_nth(ce->fault, 1, 1); /* every later operation fails */
    }
  }
  pthread_mutex_unlock(&ce->mu);
}

static int wrap(env *e, env_file *inner, const char *path, env_file **out) {
  crash_file *f = calloc(1, sizeof *f);
  f->base.owner = e;
  f->base.path = strdup(path);
  f->inner = inner;
  *out = &f->base;
  return STRATA_OK;
}
static int c_open_read(env *e, const char *path, env_file **out) {
  env_file *in = NULL;
  int rc = env_open_read(ce_of(e)->fault, path, &in);
  return rc == STRATA_OK ? wrap(e, in, path, out) : rc;
}
static int c_open_append(env *e, const char *path, int flags, env_file **out) {
  env_file *in = NULL;
  int rc = env_open_append(ce_of(e)->fault, path, flags, &in);
  return rc == STRATA_OK ? wrap(e, in, path, out) : rc;
}
static int c_read(env_file *f, void *b, size_t n, size_t *got) {
  return env_read(inner_of(f), b, n, got);
}
static int c_pread(env_file *f, uint64_t off, void *b, size_t n, size_t *got) {
  return env_pread(inner_of(f), off, b, n, got);
}
static int c_appendv(env_file *f, const struct iovec *v, int n) {
  return env_appendv(inner_of(f), v, n);
}
static int c_datasync(env_file *f) {
  if (ce_of(f->owner)->nosync) return STRATA_OK;
  at_sync(ce_of(f->owner), -1);
  int rc = env_datasync(inner_of(f));
  at_sync(ce_of(f->owner), rc);
  return rc;
}
static int c_fsync(env_file *f) {
  if (ce_of(f->owner)->nosync) return STRATA_OK;
  at_sync(ce_of(f->owner), -1);
  int rc = env_fsync(inner_of(f));
  at_sync(ce_of(f->owner), rc);
  return rc;
}
static int c_file_size(env_file *f, uint64_t *size) {
  return env_file_size(inner_of(f), size);
}
static int c_preallocate(env_file *f, uint64_t off, uint64_t len) {
  return env_preallocate(inner_of(f), off, len);
}
static int c_truncate(env_file *f, uint64_t len) {
  return env_truncate(inner_of(f), len);
}
static int c_close(env_file *f) {
  int rc = env_close(inner_of(f));
  free(f->path);
  free(f);
  return rc;
}
static int c_remove(env *e, const char *path) {
  return env_remove(ce_of(e)->fault, path);
}
static int c_rename(env *e, const char *from, const char *to) {
  return env_rename(ce_of(e)->fault, from, to);
}
static int c_sync_dir(env *e, const char *dir) {
  if (ce_of(e)->nosync) return STRATA_OK;
  at_sync(ce_of(e), -1);
  int rc = env_sync_dir(ce_of(e)->fault, dir);
  at_sync(ce_of(e), rc);
  return rc;
}
static int c_mkdir(env *e, const char *path) {
  return env_mkdir(ce_of(e)->fault, path);
}
static int c_exists(env *e, const char *path) {
  return env_exists(ce_of(e)->fault, path);
}
static int c_size(env *e, const char *path, uint64_t *size) {
  return env_size(ce_of(e)->fault, path, size);
}
static int c_list_dir(env *e, const char *dir, char ***names, size_t *count) {
  return env_list_dir(ce_of(e)->fault, dir, names, count);
}
/* locks are the fault env's own handles: unlock goes straight to it */
static int c_lock(env *e, const char *path, env_lock **out) {
  return env_lock_file(ce_of(e)->fault, path, out);
}
static int c_unlock(env_lock *l) { return env_unlock_file(l); }

static const struct env_ops crash_ops = {
    c_open_read, c_open_append, c_read,      c_pread,       c_appendv,
    c_datasync,  c_fsync,       c_file_size, c_preallocate, c_truncate,
    c_close,     c_remove,      c_rename,    c_sync_dir,    c_mkdir,
    c_exists,    c_size,        c_list_dir,  c_lock,        c_unlock};

enum { PL_WRITES = 90, PL_KEYS = 40 };

/* Runs the script; returns the last write acknowledged (returned OK), sets
 * *synced to the last one acknowledged with sync. */
static uint64_t run_script(env *e, const char *dir, uint64_t *synced) {
  strata_options o = small_options();
  o.write_buffer_size = 16 << 10;
  strata_db *db = NULL;
  *synced = 0;
  if (lsm_db_open_env(e, dir, &o, &db) != STRATA_OK) return 0;
  uint64_t id, acked = 0;
  for (id = 1; id <= PL_WRITES; id++) {
    strata_write_options wo;
    strata_write_options_init(&wo);
    wo.sync = id % 3 == 0;
    strata_batch *b = make_batch(id, PL_KEYS);
    int rc = strata_db_write(db, &wo, b);
    strata_batch_destroy(b);
    if (rc != STRATA_OK) break;
    acked = id;
    if (wo.sync) *synced = id;
    if (id == 30 && strata_db_flush(db) != STRATA_OK) break;
    if (id == 60) {
      if (strata_db_close(db) != STRATA_OK) {
        db = NULL;
        break;
      }
      db = NULL;
      if (lsm_db_open_env(e, dir, &o, &db) != STRATA_OK) break;
    }
    if (id == 75 && strata_db_compact_range(db, NULL, 0, NULL, 0) != STRATA_OK)
      break;
  }
  strata_db_close(db);
  return acked;
}

static void remove_dir(const char *dir) {
  char **names = NULL;
  size_t n = 0;
  if (env_list_dir(env_posix(), dir, &names, &n) != STRATA_OK) return;
  for (size_t i = 0; i < n; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
    free(names[i]);
  }
  free(names);
  rmdir(dir);
}

TEST(crash_power_loss_every_sync) {
  char *dir = strdup(test_path("db"));
  crash_env ce;
  memset(&ce, 0, sizeof ce);
  pthread_mutex_init(&ce.mu, NULL);
  ce.base.ops = &crash_ops;
  ce.base.state = &ce;
  /* under env_fault, an env whose syncs are free: env_fault's own record of
   * what was synced is what the power loss keeps, the disk is not needed */
  crash_env fast;
  memset(&fast, 0, sizeof fast);
  pthread_mutex_init(&fast.mu, NULL);
  fast.base.ops = &crash_ops;
  fast.base.state = &fast;
  fast.fault = env_posix();
  fast.nosync = 1;

  /* the reference run: how many syncs the script makes */
  ce.fault = env_fault_create(&fast.base);
  uint64_t synced = 0;
  uint64_t writes = run_script(&ce.base, dir, &synced);
  uint64_t total_syncs = ce.syncs;
  CHECK_U64(writes, PL_WRITES);
  CHECK_U64(synced, PL_WRITES);
  env_fault_destroy(ce.fault);
  remove_dir(dir);
  CHECK(total_syncs >= PL_WRITES / 3);

  uint64_t runs = 0, failures = 0, lost_unsynced = 0;
  for (uint64_t run = 0; run < 2 * (total_syncs + 2) && failures < 3; run++) {
    uint64_t k = run / 2 + 1;
    ce.fault = env_fault_create(&fast.base);
    ce.syncs = 0;
    ce.crashed = 0;
    ce.crash_at = k;
    ce.before = run % 2;
    writes = run_script(&ce.base, dir, &synced);
    /* the power goes off: unsynced bytes and names are lost */
    int rc = env_fault_power_loss(ce.fault);
    env_fault_destroy(ce.fault);
    runs++;
    if (rc != STRATA_OK) {
      test_fail(__FILE__, __LINE__, "crash at sync %" PRIu64 ": power_loss: %s",
                k, strata_last_error());
      failures++;
      remove_dir(dir);
      continue;
    }
    strata_options o = small_options();
    o.create_if_missing = synced == 0; /* before the first sync the
                                          database may not exist yet */
    strata_db *db = NULL;
    rc = strata_db_open(dir, &o, &db);
    if (rc != STRATA_OK) {
      test_fail(__FILE__, __LINE__,
                "crash at sync %" PRIu64 " (write %" PRIu64 " synced): "
                "reopen: %s",
                k, synced, strata_last_error());
      failures++;
      remove_dir(dir);
      continue;
    }
    int64_t last = read_last(db);
    static model m;
    memset(&m, 0, sizeof m);
    /* a write whose sync failed was not acknowledged; it may be there */
    if (last < 0 || (uint64_t)last < synced || (uint64_t)last > writes + 1) {
      test_fail(__FILE__, __LINE__,
                "power loss %s sync %" PRIu64 ": last write %" PRId64
                " present, write %" PRIu64 " was synced, %" PRIu64
                " acknowledged",
                ce.before ? "before" : "after", k, last, synced, writes);
      failures++;
    } else {
      while (m.applied < (uint64_t)last)
        model_apply(&m, PL_KEYS);
      char what[64];
      sprintf(what, "power loss %s sync %" PRIu64,
              ce.before ? "before" : "after", k);
      if (compare(db, &m, PL_KEYS, what)) failures++;
      if (writes > (uint64_t)last) lost_unsynced += writes - (uint64_t)last;
    }
    strata_db_close(db);
    if (strata_db_verify(dir, NULL, NULL) != STRATA_OK) {
      test_fail(__FILE__, __LINE__,
                "crash at sync %" PRIu64 ": verify after recovery fails", k);
      failures++;
    }
    remove_dir(dir);
  }
  printf("power loss: %" PRIu64 " sync points, %" PRIu64 " crash runs, %" PRIu64
         " acknowledged unsynced writes lost, %" PRIu64 " failures\n",
         total_syncs, runs, lost_unsynced, failures);
  CHECK_U64(failures, 0);
  pthread_mutex_destroy(&ce.mu);
  pthread_mutex_destroy(&fast.mu);
  free(dir);
}
