/*
 * crash.c — the crash campaigns of issue 8 (items 5 and 6).
 *
 * The workload: batch number i writes two keys, "a%04u" and "b%04u" for
 * slot i % SLOTS, both with the value "i=<i>;" padded; a batch is applied
 * atomically, so a and b of a slot must always name the same i. A write
 * acknowledged with sync makes itself and every earlier batch durable: after
 * any crash or power loss, each slot must hold the last such batch of the
 * slot or a later one that was at least attempted.
 *
 * kill -9 (crash_campaign): a child runs the workload on a real directory
 * with sync writes (LSM: 32 KiB memtables, so flushes and compactions run;
 * Bitcask: 64 KiB files, auto merges plus one every 300 batches) and reports
 * each acknowledged batch through a pipe; the parent kills it after a random
 * 5-150 ms, then a second child verifies the directory (verify: only a torn
 * tail allowed), reopens it and checks every slot. The directory carries on
 * to the next kill.
 *
 * env_fault (fault_campaign): a scripted workload (writes with and without
 * sync, flush, compaction, close and reopen; Bitcask: merge; WAL: sync and
 * reopen) runs through env_fault in a child, with operation N armed:
 *  - power loss: every operation from N on fails (the machine stopped),
 *    then env_fault_power_loss (or _prefix: a random prefix of each file's
 *    unsynced appends survives);
 *  - EIO once at N: the workload carries on, then closes and a power loss
 *    follows, so a failed fsync that was later trusted shows as lost data
 *    (env_fault_set_sync_loses);
 *  - EIO from N on: the fault then clears and every acknowledged write
 *    (synced or not: the process did not crash) must be there.
 * N sweeps the workload's operations (every one with --power-step 1).
 */
#include "torture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bitcask/bitcask.h"
#include "env/env_fault.h"
#include "lsm/db.h"
#include "strata.h"
#include "wal/wal.h"

#define SLOTS 200
#define VPAD 240

enum { ENG_LSM = 0, ENG_BITCASK = 1, ENG_WAL = 2 };

static void make_batch(strata_batch *b, uint32_t i) {
  char k[16], v[VPAD + 32];
  int n = snprintf(v, sizeof v, "i=%u;", i);
  memset(v + n, 'a' + (char)(i % 26), VPAD);
  strata_batch_clear(b);
  snprintf(k, sizeof k, "a%04u", i % SLOTS);
  strata_batch_put(b, k, 5, v, (size_t)n + VPAD);
  snprintf(k, sizeof k, "b%04u", i % SLOTS);
  strata_batch_put(b, k, 5, v, (size_t)n + VPAD);
}

/* The batch number a value names; -1 if it is not one of ours. */
static long value_id(const void *v, size_t n) {
  char buf[24];
  size_t l = n < sizeof buf - 1 ? n : sizeof buf - 1;
  memcpy(buf, v, l);
  buf[l] = 0;
  unsigned id;
  char semi;
  if (sscanf(buf, "i=%u%c", &id, &semi) != 2 || semi != ';') return -1;
  char exp[VPAD + 32];
  int h = snprintf(exp, sizeof exp, "i=%u;", id);
  if ((size_t)h + VPAD != n) return -1;
  memset(exp + h, 'a' + (char)(id % 26), VPAD);
  return memcmp(exp, v, n) ? -1 : (long)id;
}

/* What the checker is told and tells. */
typedef struct check_arg {
  int engine;          /* ENG_* */
  const char *dir;     /* database */
  const long *need;    /* per slot: the smallest id allowed (-1: none) */
  long max_id;         /* the largest id attempted */
} check_arg;

typedef struct check_res {
  int32_t open_rc;     /* reopen status */
  uint32_t lost;       /* slots below their required id */
  uint32_t half;       /* slots whose a and b differ */
  uint32_t bad;        /* values not written / id too high or wrong slot */
  uint32_t verify_bad; /* damage beyond a torn tail */
  long next;           /* the largest id seen */
} check_res;

static void vdamage(void *arg, const strata_damage *d) {
  if (!(d->tail || d->kind == STRATA_DAMAGE_TORN_TAIL)) {
    ((check_res *)arg)->verify_bad++;
    fprintf(stderr, "torture: verify: %s @%" PRIu64 ": %s (%s)\n", d->file,
            d->offset, strata_damage_kind_name(d->kind), d->reason);
  }
}
static void vwal_damage(void *arg, const strata_wal_damage *d) {
  vdamage(arg, &d->damage);
}

typedef struct wal_view {
  long a[SLOTS], b[SLOTS]; /* ids per slot; -1 absent; -2 bad */
} wal_view;

static int wal_view_fn(void *arg, uint64_t seq, int op, const void *k,
                       size_t kl, const void *v, size_t vl) {
  (void)seq;
  wal_view *w = arg;
  unsigned s;
  char kb[8];
  if (kl != 5 || op != STRATA_OP_PUT) return 0;
  memcpy(kb, k, 5);
  kb[5] = 0;
  if (sscanf(kb + 1, "%04u", &s) != 1 || s >= SLOTS) return 0;
  long id = value_id(v, vl);
  if (kb[0] == 'a') w->a[s] = id < 0 ? -2 : id;
  if (kb[0] == 'b') w->b[s] = id < 0 ? -2 : id;
  return 0;
}

static void check_child(void *arg, int fd) {
  const check_arg *c = arg;
  check_res r;
  memset(&r, 0, sizeof r);
  r.next = -1;
  long a[SLOTS], b[SLOTS];
  for (int s = 0; s < SLOTS; s++) a[s] = b[s] = -1;
  if (c->engine == ENG_LSM) {
    strata_db_verify(c->dir, vdamage, &r);
    strata_options o;
    strata_options_init(&o);
    o.write_info_log = 0;
    o.on_damage = vdamage;
    o.damage_arg = &r;
    strata_db *db;
    r.open_rc = strata_db_open(c->dir, &o, &db);
    if (!r.open_rc) {
      for (int s = 0; s < SLOTS; s++) {
        char k[16];
        void *v;
        size_t vl;
        for (int w = 0; w < 2; w++) {
          snprintf(k, sizeof k, "%c%04u", w ? 'b' : 'a', s);
          int rc = strata_db_get(db, NULL, k, 5, &v, &vl);
          long id = rc == STRATA_OK ? value_id(v, vl) : rc == STRATA_NOT_FOUND ? -1 : -2;
          if (rc == STRATA_OK && id < 0) id = -2;
          if (rc == STRATA_OK) free(v);
          (w ? b : a)[s] = id;
        }
      }
      strata_db_close(db);
    }
  } else if (c->engine == ENG_BITCASK) {
    strata_bitcask_options o;
    strata_bitcask_options_init(&o);
    o.background_merge = 0;
    o.on_damage = vdamage;
    o.damage_arg = &r;
    strata_bitcask *db;
    r.open_rc = strata_bitcask_open(c->dir, &o, &db);
    if (!r.open_rc) {
      for (int s = 0; s < SLOTS; s++) {
        char k[16];
        void *v;
        size_t vl;
        for (int w = 0; w < 2; w++) {
          snprintf(k, sizeof k, "%c%04u", w ? 'b' : 'a', s);
          int rc = strata_bitcask_get(db, k, 5, &v, &vl);
          long id = rc == STRATA_OK ? value_id(v, vl) : rc == STRATA_NOT_FOUND ? -1 : -2;
          if (rc == STRATA_OK && id < 0) id = -2;
          if (rc == STRATA_OK) free(v);
          (w ? b : a)[s] = id;
        }
      }
      strata_bitcask_close(db);
    }
  } else {
    strata_wal_verify(c->dir, vwal_damage, &r, NULL);
    strata_wal_options o;
    strata_wal_options_init(&o);
    o.on_damage = vwal_damage;
    o.damage_arg = &r;
    strata_wal *w;
    r.open_rc = strata_wal_open(c->dir, &o, &w);
    if (!r.open_rc) {
      static wal_view view;
      for (int s = 0; s < SLOTS; s++) view.a[s] = view.b[s] = -1;
      if (strata_wal_replay(w, 0, wal_view_fn, &view)) r.bad++;
      memcpy(a, view.a, sizeof a);
      memcpy(b, view.b, sizeof b);
      strata_wal_close(w);
    }
  }
  if (r.open_rc == STRATA_NOT_FOUND) { /* never created: fine if nothing
                                         was acknowledged */
    int any = 0;
    for (int s = 0; s < SLOTS; s++) any |= c->need[s] >= 0;
    if (!any) r.open_rc = 0;
  }
  if (!r.open_rc) {
    for (int s = 0; s < SLOTS; s++) {
      if (a[s] != b[s]) {
        r.half++;
        fprintf(stderr, "torture: slot %d: a=%ld b=%ld (half a batch)\n", s,
                a[s], b[s]);
      }
      long x = a[s] < b[s] ? a[s] : b[s];
      if (a[s] == -2 || b[s] == -2 ||
          (x >= 0 && (x > c->max_id || x % SLOTS != s))) {
        r.bad++;
        continue;
      }
      if (c->need[s] >= 0 && (x < c->need[s])) {
        r.lost++;
        fprintf(stderr, "torture: slot %d: has %ld, acknowledged %ld\n", s, x,
                c->need[s]);
      }
      if (a[s] > r.next) r.next = a[s];
      if (b[s] > r.next) r.next = b[s];
    }
  }
  t_write_all(fd, &r, sizeof r);
}

static int run_check(int engine, const char *dir, const long *need,
                     long max_id, int timeout, check_res *r, crash_stats *st) {
  check_arg c = {engine, dir, need, max_id};
  size_t got;
  int out = t_run_child(check_child, &c, timeout, r, sizeof *r, &got);
  if (out != CHILD_OK || got != sizeof *r) {
    st->crashes++;
    return -1;
  }
  if (r->open_rc) {
    st->open_failed++;
    fprintf(stderr, "torture: reopen of %s failed: %s\n", dir,
            strata_strerror(r->open_rc));
  }
  st->lost_acked += r->lost;
  st->half_batch += r->half;
  st->bad_values += r->bad;
  st->verify_bad += r->verify_bad ? 1 : 0;
  return 0;
}

/* ---- kill -9 ------------------------------------------------------------- */

typedef struct writer_arg {
  int engine;      /* ENG_LSM or ENG_BITCASK */
  const char *dir; /* database */
  uint32_t first;  /* first batch id */
} writer_arg;

static void writer_child(void *arg, int fd) {
  const writer_arg *w = arg;
  strata_batch *b = strata_batch_create();
  if (w->engine == ENG_LSM) {
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.write_info_log = 0;
    o.write_buffer_size = 32 << 10;
    o.max_file_size = 64 << 10;
    strata_db *db;
    if (strata_db_open(w->dir, &o, &db)) _exit(3);
    strata_write_options wo = {1};
    for (uint32_t i = w->first;; i++) {
      make_batch(b, i);
      if (strata_db_write(db, &wo, b)) _exit(4);
      t_write_all(fd, &i, sizeof i);
      if (i % 500 == 499) strata_db_compact_range(db, NULL, 0, NULL, 0);
    }
  } else {
    strata_bitcask_options o;
    strata_bitcask_options_init(&o);
    o.sync = STRATA_BITCASK_SYNC_ALWAYS;
    o.max_file_size = 64 << 10;
    o.merge_dead_fraction = 0.3;
    o.merge_max_files = 4;
    strata_bitcask *db;
    if (strata_bitcask_open(w->dir, &o, &db)) _exit(3);
    for (uint32_t i = w->first;; i++) {
      make_batch(b, i);
      if (strata_bitcask_write(db, b)) _exit(4);
      t_write_all(fd, &i, sizeof i);
      if (i % 300 == 299) strata_bitcask_merge(db);
    }
  }
}

int crash_campaign(const torture_opts *to, int engine, crash_stats *st) {
  memset(st, 0, sizeof *st);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/crash-%d", to->tmp, engine);
  t_remove_tree(dir);
  long need[SLOTS];
  for (int s = 0; s < SLOTS; s++) need[s] = -1;
  uint32_t next = 0;
  trng r;
  trng_seed(&r, to->seed * 31 + (uint64_t)engine);
  for (uint32_t k = 0; k < to->kills; k++) {
    int p[2];
    if (pipe(p)) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      writer_arg w = {engine, dir, next};
      writer_child(&w, p[1]);
      _exit(0);
    }
    close(p[1]);
    struct timespec ts = {0, (long)(5 + trng_below(&r, 146)) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status)) {
      st->crashes++;
      fprintf(stderr, "torture: kill -9 %s: the writer exited by itself (%d)\n",
              engine ? "bitcask" : "lsm", WEXITSTATUS(status));
    }
    uint32_t id;
    long last = (long)next - 1;
    ssize_t n;
    while ((n = read(p[0], &id, sizeof id)) == (ssize_t)sizeof id) {
      need[id % SLOTS] = id;
      last = id;
    }
    close(p[0]);
    st->runs++;
    check_res cr;
    if (run_check(engine, dir, need, last + 1, to->timeout, &cr, st) == 0 &&
        cr.next >= 0 && (uint32_t)cr.next + 1 > next)
      next = (uint32_t)cr.next + 1;
    if ((long)next <= last + 1) next = (uint32_t)(last + 2);
  }
  if (!to->keep) t_remove_tree(dir);
  printf("kill -9 %s: %" PRIu64 " kills, %" PRIu64 " lost acknowledged, %" PRIu64
         " half batches, %" PRIu64 " crashes\n",
         engine ? "bitcask" : "lsm", st->runs, st->lost_acked, st->half_batch,
         st->crashes);
  return 0;
}

/* ---- env_fault ----------------------------------------------------------- */

typedef struct script_res {
  long need[SLOTS];    /* per slot: smallest id required after the event */
  long max_id;         /* largest id attempted */
  uint64_t ops;        /* env operations performed */
  uint32_t errors;     /* calls that returned an error */
  int32_t event_rc;    /* power loss status */
} script_res;

/* Runs the scripted workload through e; records what was acknowledged. */
static void script(env *e, int engine, const char *dir, script_res *sr,
                   int all_acked) {
  long acked[SLOTS];
  long synced_upto = -1; /* every id <= this was made durable */
  for (int s = 0; s < SLOTS; s++) acked[s] = sr->need[s] = -1;
  long acked_hist[1024];
  int nh = 0;
  sr->max_id = -1;
  strata_batch *b = strata_batch_create();
  uint32_t id = 0;
  for (int phase = 0; phase < 2; phase++) {
    int rc;
    strata_db *db = NULL;
    strata_bitcask *bc = NULL;
    strata_wal *w = NULL;
    if (engine == ENG_LSM) {
      strata_options o;
      strata_options_init(&o);
      o.create_if_missing = 1;
      o.write_info_log = 0;
      o.write_buffer_size = 16 << 10;
      rc = lsm_db_open_env(e, dir, &o, &db);
    } else if (engine == ENG_BITCASK) {
      strata_bitcask_options o;
      strata_bitcask_options_init(&o);
      o.background_merge = 0;
      o.max_file_size = 16 << 10;
      rc = bc_open(e, dir, &o, &bc);
    } else {
      strata_wal_options o;
      strata_wal_options_init(&o);
      o.sync = STRATA_WAL_SYNC_NONE;
      o.segment_size = 16 << 10;
      rc = wal_open_env(e, dir, &o, &w);
    }
    if (rc) {
      sr->errors++;
      break;
    }
    int n = phase ? 60 : 180;
    for (int j = 0; j < n; j++, id++) {
      make_batch(b, id);
      int sync = id % 3 == 2;
      sr->max_id = id;
      if (engine == ENG_LSM) {
        strata_write_options wo = {sync};
        rc = strata_db_write(db, &wo, b);
        if (!rc && j == 60) rc = strata_db_flush(db);
        if (!rc && j == 120) rc = strata_db_compact_range(db, NULL, 0, NULL, 0);
      } else if (engine == ENG_BITCASK) {
        rc = strata_bitcask_write(bc, b);
        if (!rc && sync) rc = strata_bitcask_sync(bc);
        if (!rc && j == 150) rc = strata_bitcask_merge(bc);
      } else {
        rc = strata_wal_append(w, b, NULL);
        if (!rc && sync) rc = strata_wal_sync(w);
      }
      if (rc) {
        sr->errors++;
        continue;
      }
      acked[id % SLOTS] = id;
      if (nh < 1024) acked_hist[nh++] = id;
      if (sync) synced_upto = id;
    }
    if (engine == ENG_LSM) {
      rc = strata_db_close(db);
    } else if (engine == ENG_BITCASK) {
      /* close does not sync under SYNC_NONE: sync first */
      rc = strata_bitcask_sync(bc);
      if (!rc) synced_upto = (long)id - 1;
      if (rc) sr->errors++;
      rc = strata_bitcask_close(bc);
    } else {
      rc = strata_wal_close(w); /* syncs (its contract) */
      if (!rc) synced_upto = (long)id - 1;
    }
    if (rc) sr->errors++;
  }
  strata_batch_destroy(b);
  /* required per slot: the last acknowledged batch <= synced_upto (all
   * acknowledged ones when the process did not crash) */
  for (int h = 0; h < nh; h++) {
    long x = acked_hist[h];
    if (all_acked || x <= synced_upto) sr->need[x % SLOTS] = x;
  }
  (void)acked;
  sr->ops = env_fault_ops(e);
}

typedef struct fault_arg {
  int engine, mode; /* ENG_*, mode of fault_campaign */
  const char *dir;  /* scratch database */
  uint64_t n;       /* operation to fail; 0: none (dry run) */
} fault_arg;

static void fault_child(void *arg, int fd) {
  const fault_arg *a = arg;
  static script_res sr;
  memset(&sr, 0, sizeof sr);
  t_remove_tree(a->dir);
  mkdir(a->dir, 0755);
  env *e = env_fault_create(env_posix());
  env_fault_set_sync_loses(e, 1);
  /* the directory itself is durable; its entries are not until synced */
  if (a->n) env_fault_fail_nth(e, a->n, a->mode != 2);
  script(e, a->engine, a->dir, &sr, a->mode == 3);
  env_fault_reset(e);
  if (a->mode == 0) sr.event_rc = env_fault_power_loss(e);
  if (a->mode == 1) sr.event_rc = env_fault_power_loss_prefix(e, a->n * 7 + 1);
  if (a->mode == 2) sr.event_rc = env_fault_power_loss(e);
  env_fault_destroy(e);
  t_write_all(fd, &sr, sizeof sr);
}

int fault_campaign(const torture_opts *to, int engine, int mode,
                   crash_stats *st) {
  static const char *names[3] = {"lsm", "bitcask", "wal"};
  static const char *modes[4] = {"power loss", "power loss (prefix)",
                                 "EIO once", "EIO sticky"};
  memset(st, 0, sizeof *st);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/fault-%d-%d", to->tmp, engine, mode);
  static script_res sr;
  size_t got;
  fault_arg fa = {engine, mode, dir, 0};
  if (t_run_child(fault_child, &fa, to->timeout, &sr, sizeof sr, &got) !=
          CHILD_OK ||
      got != sizeof sr) {
    st->crashes++;
    return -1;
  }
  uint64_t total = sr.ops;
  st->max_ops = total;
  uint64_t pts = to->power_points ? (uint64_t)to->power_points : 40;
  uint64_t step = to->power_step ? (uint64_t)to->power_step : total / pts + 1;
  for (uint64_t n = 1 + (to->seed % step); n <= total; n += step) {
    fa.n = n;
    int out = t_run_child(fault_child, &fa, to->timeout, &sr, sizeof sr, &got);
    st->runs++;
    if (out != CHILD_OK || got != sizeof sr) {
      st->crashes++;
      fprintf(stderr, "torture: %s %s at op %" PRIu64 ": the workload %s\n",
              names[engine], modes[mode], n,
              out == CHILD_HANG ? "hung" : "crashed");
      continue;
    }
    st->errors_returned += sr.errors;
    if (sr.event_rc) {
      st->crashes++;
      continue;
    }
    check_res cr;
    size_t lost0 = st->lost_acked, half0 = st->half_batch, ob0 = st->open_failed,
           vb0 = st->verify_bad, bad0 = st->bad_values;
    run_check(engine, dir, sr.need, sr.max_id, to->timeout, &cr, st);
    if (st->lost_acked != lost0 || st->half_batch != half0 ||
        st->open_failed != ob0 || st->verify_bad != vb0 ||
        st->bad_values != bad0)
      fprintf(stderr, "torture: ^ %s %s at op %" PRIu64 " of %" PRIu64 "\n",
              names[engine], modes[mode], n, total);
  }
  if (!to->keep) t_remove_tree(dir);
  printf("%s %s: %" PRIu64 " runs over %" PRIu64 " ops: %" PRIu64
         " lost acknowledged, %" PRIu64 " half batches, %" PRIu64
         " reopen failures, %" PRIu64 " crashes\n",
         names[engine], modes[mode], st->runs, total, st->lost_acked,
         st->half_batch, st->open_failed, st->crashes);
  return 0;
}
