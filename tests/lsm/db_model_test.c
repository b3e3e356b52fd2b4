/*
 * db_model_test.c — the randomized model test of the LSM engine: 4 threads
 * of random puts, deletes, batches, snapshots (with reads at the snapshot
 * checked against the model's state when it was taken) and iterators
 * (checked against the model), on one handle, against an in-memory
 * reference; between rounds the database is reopened, compacted or flushed
 * and checked whole. A 64 KiB write buffer makes flushes and compactions
 * happen all along.
 *
 * The reference is exact because each thread owns its keys ("kT-NNNNN"),
 * and the shared keys ("s-NNNNN") are written, read and snapshotted only
 * under one mutex, which so also orders their model. A value is derived
 * from (owner, key, version): the model holds one version number per key
 * (0: absent), and a snapshot's model is a copy of those numbers.
 *
 * Prints "model: N ops, M checks, K mismatches"; passes only with K == 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "test.h"

enum {
  THREADS = 4,
  OWN_KEYS = 600,       /* keys per thread */
  SHARED_KEYS = 150,    /* keys written under the mutex */
  ROUNDS = 6,           /* reopen/compact/flush between rounds */
  OPS_PER_ROUND = 4500, /* per thread: 4 * 6 * 4500 = 108,000 */
  MAX_SNAPS = 3,        /* snapshots a thread holds at once */
  SHOWN = 10            /* mismatches printed */
};

static strata_db *g_db;
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static int shared_ver[SHARED_KEYS]; /* under shared_mu */
static int shared_next_ver;         /* under shared_mu */
static atomic_ullong g_ops, g_checks, g_mismatches;

/* ---- keys and values ---------------------------------------------------- */

#define SHARED_OWNER THREADS /* owner number of the shared keys */

static size_t key_of(int owner, int n, char *buf) {
  if (owner == SHARED_OWNER) return (size_t)sprintf(buf, "s-%05d", n);
  return (size_t)sprintf(buf, "k%d-%05d", owner, n);
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

/* The value of version `ver` (> 0) of a key: a header naming it, then a
 * pattern, 12..300 bytes in all. */
static size_t value_of(int owner, int n, int ver, char *buf) {
  uint64_t h =
      mix(((uint64_t)owner << 48) ^ ((uint64_t)n << 24) ^ (uint64_t)ver);
  int len = sprintf(buf, "o%d n%d v%d|", owner, n, ver);
  size_t want = 12 + h % 289;
  for (size_t i = (size_t)len; i < want; i++)
    buf[i] = (char)('a' + (h >> (i % 40)) % 26);
  return want > (size_t)len ? want : (size_t)len;
}

static void mismatch(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void mismatch(const char *fmt, ...) {
  unsigned long long n = atomic_fetch_add(&g_mismatches, 1);
  if (n >= SHOWN) return;
  va_list ap;
  va_start(ap, fmt);
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  test_fail(__FILE__, __LINE__, "model mismatch: %s", msg);
}

/* Checks a get of (owner, n) against version `ver` (0: absent). */
static void check_get(const strata_read_options *ro, int owner, int n, int ver,
                      const char *where) {
  char k[32], want[320];
  size_t kl = key_of(owner, n, k);
  void *v = NULL;
  size_t vl = 0;
  int rc = strata_db_get(g_db, ro, k, kl, &v, &vl);
  atomic_fetch_add(&g_checks, 1);
  if (ver == 0) {
    if (rc != STRATA_NOT_FOUND)
      mismatch("%s: get %s: rc %d (%s), want absent; got '%.*s'", where, k, rc,
               strata_last_error(),
               rc == STRATA_OK ? (int)(vl < 40 ? vl : 40) : 0,
               rc == STRATA_OK ? (char *)v : "");
  } else {
    size_t wl = value_of(owner, n, ver, want);
    if (rc != STRATA_OK)
      mismatch("%s: get %s: rc %d (%s), want version %d", where, k, rc,
               strata_last_error(), ver);
    else if (vl != wl || memcmp(v, want, wl) != 0)
      mismatch("%s: get %s: got '%.*s', want '%.*s'", where, k,
               (int)(vl < 40 ? vl : 40), (char *)v, 30, want);
  }
  free(v);
}

/* Walks the keys of `owner` (versions in vers[0..nkeys)) with `it` from
 * seek_first of the owner's range to its end; every live key in order. */
static void check_range(strata_iterator *it, int owner, const int *vers,
                        int nkeys, const char *where) {
  char prefix[8], k[32], want[320];
  size_t pl =
      (size_t)sprintf(prefix, owner == SHARED_OWNER ? "s-" : "k%d-", owner);
  strata_iter_seek(it, prefix, pl);
  for (int n = 0; n <= nkeys; n++) {
    if (n < nkeys && vers[n] == 0) continue;
    atomic_fetch_add(&g_checks, 1);
    int valid = strata_iter_valid(it);
    size_t kl = 0, vl = 0;
    const char *key = valid ? strata_iter_key(it, &kl) : NULL;
    int in_range = valid && kl >= pl && memcmp(key, prefix, pl) == 0;
    if (n == nkeys) { /* past the owner's last live key */
      if (in_range)
        mismatch("%s: iterator shows %.*s past the last live key", where,
                 (int)kl, key);
      break;
    }
    size_t wkl = key_of(owner, n, k);
    if (!in_range) {
      mismatch("%s: iterator at %.*s (valid %d, status %d), want %s", where,
               valid ? (int)kl : 0, valid ? key : "", valid,
               strata_iter_status(it), k);
      return;
    }
    const char *val = strata_iter_value(it, &vl);
    size_t wl = value_of(owner, n, vers[n], want);
    if (kl != wkl || memcmp(key, k, kl) != 0) {
      mismatch("%s: iterator at %.*s, want %s", where, (int)kl, key, k);
      return;
    }
    if (vl != wl || memcmp(val, want, wl) != 0) {
      mismatch("%s: iterator value of %s is '%.*s', want version %d", where, k,
               (int)(vl < 30 ? vl : 30), val, vers[n]);
      return;
    }
    strata_iter_next(it);
  }
  if (strata_iter_status(it) != STRATA_OK)
    mismatch("%s: iterator status %d: %s", where, strata_iter_status(it),
             strata_last_error());
}

/* A random seek inside the owner's range, then a random walk of next/prev,
 * each position checked; stops when the walk leaves the range. */
static void check_walk(strata_iterator *it, int owner, const int *vers,
                       int nkeys, uint64_t (*rnd)(void *), void *ra,
                       const char *where) {
  char prefix[8], k[32];
  size_t pl =
      (size_t)sprintf(prefix, owner == SHARED_OWNER ? "s-" : "k%d-", owner);
  int n = (int)(rnd(ra) % (uint64_t)nkeys);
  size_t kl0 = key_of(owner, n, k);
  strata_iter_seek(it, k, kl0);
  int cur = n;
  while (cur < nkeys && vers[cur] == 0)
    cur++;
  for (int step = 0; step < 40; step++) {
    atomic_fetch_add(&g_checks, 1);
    int valid = strata_iter_valid(it);
    size_t kl = 0;
    const char *key = valid ? strata_iter_key(it, &kl) : NULL;
    int in_range = valid && kl >= pl && memcmp(key, prefix, pl) == 0;
    if (cur < 0 || cur >= nkeys) {
      if (in_range)
        mismatch("%s: walk at %.*s, want out of the range", where, (int)kl,
                 key);
      return;
    }
    size_t wkl = key_of(owner, cur, k);
    if (!in_range || kl != wkl || memcmp(key, k, kl) != 0) {
      mismatch("%s: walk at %.*s (valid %d), want %s (step %d)", where,
               valid ? (int)kl : 0, valid ? key : "", valid, k, step);
      return;
    }
    char want[320];
    size_t vl, wl = value_of(owner, cur, vers[cur], want);
    const char *val = strata_iter_value(it, &vl);
    if (vl != wl || memcmp(val, want, wl) != 0) {
      mismatch("%s: walk value of %s differs (want version %d)", where, k,
               vers[cur]);
      return;
    }
    if (rnd(ra) % 2) {
      strata_iter_next(it);
      do
        cur++;
      while (cur < nkeys && vers[cur] == 0);
    } else {
      strata_iter_prev(it);
      do
        cur--;
      while (cur >= 0 && vers[cur] == 0);
    }
  }
}

/* ---- the threads -------------------------------------------------------- */

typedef struct snap {
  const strata_snapshot *s; /* NULL: slot free */
  int own[OWN_KEYS];        /* the owner's model when taken */
  int shared[SHARED_KEYS];  /* the shared model when taken */
} snap;

typedef struct thread_state {
  int id;                /* owner number */
  uint64_t rng;          /* xorshift state */
  int ver[OWN_KEYS];     /* the model of its keys: version, 0 = absent */
  int next_ver;          /* versions given out */
  snap snaps[MAX_SNAPS]; /* snapshots held */
} thread_state;

static uint64_t rnd(void *arg) {
  thread_state *t = arg;
  uint64_t x = t->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static void fail_status(const char *what, int rc) {
  mismatch("%s failed: rc %d: %s", what, rc, strata_last_error());
}

static void do_put(thread_state *t, int n) {
  char k[32], v[320];
  int ver = ++t->next_ver;
  size_t kl = key_of(t->id, n, k), vl = value_of(t->id, n, ver, v);
  strata_write_options wo;
  strata_write_options_init(&wo);
  wo.sync = rnd(t) % 500 == 0;
  int rc = strata_db_put(g_db, &wo, k, kl, v, vl);
  if (rc != STRATA_OK) fail_status("put", rc);
  t->ver[n] = ver;
}

static void do_delete(thread_state *t, int n) {
  char k[32];
  size_t kl = key_of(t->id, n, k);
  int rc = strata_db_delete(g_db, NULL, k, kl);
  if (rc != STRATA_OK) fail_status("delete", rc);
  t->ver[n] = 0;
}

/* A batch of 2..9 operations on its keys and, if `shared`, on shared keys
 * too (then under the mutex). */
static void do_batch(thread_state *t, int shared) {
  strata_batch *b = strata_batch_create();
  int nops = 2 + (int)(rnd(t) % 8);
  int ops_n[16], ops_ver[16], ops_owner[16];
  if (shared) pthread_mutex_lock(&shared_mu);
  for (int i = 0; i < nops; i++) {
    int owner = shared && rnd(t) % 2 ? SHARED_OWNER : t->id;
    int n = (int)(rnd(t) % (owner == SHARED_OWNER ? SHARED_KEYS : OWN_KEYS));
    char k[32], v[320];
    size_t kl = key_of(owner, n, k);
    int ver = 0;
    if (rnd(t) % 4) {
      ver = owner == SHARED_OWNER ? ++shared_next_ver : ++t->next_ver;
      size_t vl = value_of(owner, n, ver, v);
      strata_batch_put(b, k, kl, v, vl);
    } else {
      strata_batch_delete(b, k, kl);
    }
    ops_n[i] = n;
    ops_ver[i] = ver;
    ops_owner[i] = owner;
  }
  int rc = strata_db_write(g_db, NULL, b);
  if (rc != STRATA_OK) fail_status("write", rc);
  for (int i = 0; i < nops; i++) /* in order: later operations win */
    if (ops_owner[i] == SHARED_OWNER)
      shared_ver[ops_n[i]] = ops_ver[i];
    else
      t->ver[ops_n[i]] = ops_ver[i];
  if (shared) pthread_mutex_unlock(&shared_mu);
  strata_batch_destroy(b);
}

static void take_snapshot(thread_state *t) {
  for (int i = 0; i < MAX_SNAPS; i++) {
    snap *s = &t->snaps[i];
    if (s->s) continue;
    memcpy(s->own, t->ver, sizeof t->ver);
    pthread_mutex_lock(&shared_mu);
    s->s = strata_db_get_snapshot(g_db);
    memcpy(s->shared, shared_ver, sizeof shared_ver);
    pthread_mutex_unlock(&shared_mu);
    if (!s->s) mismatch("get_snapshot returned NULL");
    return;
  }
}

static void check_snapshot(thread_state *t, int release) {
  int i = (int)(rnd(t) % MAX_SNAPS);
  snap *s = &t->snaps[i];
  if (!s->s) return;
  strata_read_options ro;
  strata_read_options_init(&ro);
  ro.snapshot = s->s;
  for (int j = 0; j < 6; j++) {
    int n = (int)(rnd(t) % OWN_KEYS);
    check_get(&ro, t->id, n, s->own[n], "snapshot get");
    n = (int)(rnd(t) % SHARED_KEYS);
    check_get(&ro, SHARED_OWNER, n, s->shared[n], "snapshot get shared");
  }
  if (rnd(t) % 4 == 0) {
    strata_iterator *it = NULL;
    int rc = strata_db_iter_create(g_db, &ro, &it);
    if (rc != STRATA_OK) {
      fail_status("iter_create", rc);
    } else {
      if (rnd(t) % 2)
        check_range(it, t->id, s->own, OWN_KEYS, "snapshot scan");
      else
        check_range(it, SHARED_OWNER, s->shared, SHARED_KEYS,
                    "snapshot scan shared");
      check_walk(it, t->id, s->own, OWN_KEYS, rnd, t, "snapshot walk");
      strata_iter_destroy(it);
    }
  }
  if (release) {
    strata_db_release_snapshot(g_db, s->s);
    s->s = NULL;
  }
}

static void iterate_now(thread_state *t) {
  strata_iterator *it = NULL;
  int rc;
  if (rnd(t) % 5 == 0) { /* the shared keys: their model is exact only while
                            the mutex is held */
    pthread_mutex_lock(&shared_mu);
    rc = strata_db_iter_create(g_db, NULL, &it);
    if (rc == STRATA_OK) {
      check_range(it, SHARED_OWNER, shared_ver, SHARED_KEYS, "scan shared");
      strata_iter_destroy(it);
    }
    pthread_mutex_unlock(&shared_mu);
  } else {
    rc = strata_db_iter_create(g_db, NULL, &it);
    if (rc == STRATA_OK) {
      if (rnd(t) % 2)
        check_range(it, t->id, t->ver, OWN_KEYS, "scan");
      else
        check_walk(it, t->id, t->ver, OWN_KEYS, rnd, t, "walk");
      strata_iter_destroy(it);
    }
  }
  if (rc != STRATA_OK) fail_status("iter_create", rc);
}

static void *thread_main(void *arg) {
  thread_state *t = arg;
  for (int op = 0; op < OPS_PER_ROUND; op++) {
    uint64_t x = rnd(t) % 1000;
    int n = (int)(rnd(t) % OWN_KEYS);
    if (x < 380) {
      do_put(t, n);
    } else if (x < 520) {
      do_delete(t, n);
    } else if (x < 620) {
      do_batch(t, 0);
    } else if (x < 680) {
      do_batch(t, 1);
    } else if (x < 840) {
      check_get(NULL, t->id, n, t->ver[n], "get");
    } else if (x < 870) {
      pthread_mutex_lock(&shared_mu);
      int m = (int)(rnd(t) % SHARED_KEYS);
      check_get(NULL, SHARED_OWNER, m, shared_ver[m], "get shared");
      pthread_mutex_unlock(&shared_mu);
    } else if (x < 900) {
      take_snapshot(t);
    } else if (x < 950) {
      check_snapshot(t, rnd(t) % 3 == 0);
    } else if (x < 975) {
      iterate_now(t);
    } else if (t->id == 0 && x >= 990 && x < 992) {
      char a[32], b[32];
      int lo = (int)(rnd(t) % OWN_KEYS);
      size_t al = key_of((int)(rnd(t) % THREADS), lo, a);
      size_t bl = key_of((int)(rnd(t) % (THREADS + 1)), lo, b);
      int rc = strcmp(a, b) <= 0 ? strata_db_compact_range(g_db, a, al, b, bl)
                                 : strata_db_compact_range(g_db, b, bl, a, al);
      if (rc != STRATA_OK) fail_status("compact_range", rc);
    } else {
      check_get(NULL, t->id, n, t->ver[n], "get");
    }
    atomic_fetch_add(&g_ops, 1);
  }
  for (int i = 0; i < MAX_SNAPS; i++)
    if (t->snaps[i].s) {
      strata_db_release_snapshot(g_db, t->snaps[i].s);
      t->snaps[i].s = NULL;
    }
  return NULL;
}

/* ---- between rounds ----------------------------------------------------- */

static thread_state g_threads[THREADS];

/* Every key by get, and one full scan of the database in key order. */
static void check_all(const char *where) {
  for (int t = 0; t < THREADS; t++)
    for (int n = 0; n < OWN_KEYS; n++)
      check_get(NULL, t, n, g_threads[t].ver[n], where);
  for (int n = 0; n < SHARED_KEYS; n++)
    check_get(NULL, SHARED_OWNER, n, shared_ver[n], where);
  strata_iterator *it = NULL;
  int rc = strata_db_iter_create(g_db, NULL, &it);
  if (rc != STRATA_OK) {
    fail_status("iter_create", rc);
    return;
  }
  uint64_t live = 0, seen = 0;
  for (int t = 0; t < THREADS; t++) {
    check_range(it, t, g_threads[t].ver, OWN_KEYS, where);
    for (int n = 0; n < OWN_KEYS; n++)
      live += g_threads[t].ver[n] != 0;
  }
  check_range(it, SHARED_OWNER, shared_ver, SHARED_KEYS, where);
  for (int n = 0; n < SHARED_KEYS; n++)
    live += shared_ver[n] != 0;
  for (strata_iter_seek_first(it); strata_iter_valid(it); strata_iter_next(it))
    seen++;
  if (seen != live)
    mismatch("%s: full scan saw %llu keys, the model holds %llu", where,
             (unsigned long long)seen, (unsigned long long)live);
  strata_iter_destroy(it);
}

static strata_db *open_model_db(const char *dir) {
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  o.write_buffer_size = 64 << 10;
  o.max_file_size = 128 << 10;
  o.block_cache_size = 256 << 10;
  strata_db *db = NULL;
  int rc = strata_db_open(dir, &o, &db);
  CHECK_MSG(rc == STRATA_OK, "open: %s", strata_last_error());
  return db;
}

TEST(db_model_threads) {
  char *dir = strdup(test_path("db"));
  g_db = open_model_db(dir);
  if (!g_db) {
    free(dir);
    return;
  }
  for (int t = 0; t < THREADS; t++) {
    memset(&g_threads[t], 0, sizeof g_threads[t]);
    g_threads[t].id = t;
    g_threads[t].rng = test_rand() | 1;
  }
  for (int round = 0; round < ROUNDS; round++) {
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
      pthread_create(&th[t], NULL, thread_main, &g_threads[t]);
    for (int t = 0; t < THREADS; t++)
      pthread_join(th[t], NULL);
    check_all("after round");
    int rc = STRATA_OK;
    switch (round % 3) {
    case 0: /* reopen: WAL replay and the MANIFEST */
      rc = strata_db_close(g_db);
      g_db = rc == STRATA_OK ? open_model_db(dir) : g_db;
      break;
    case 1: rc = strata_db_compact_range(g_db, NULL, 0, NULL, 0); break;
    case 2: rc = strata_db_flush(g_db); break;
    }
    if (rc != STRATA_OK) fail_status("between rounds", rc);
    if (!g_db) break;
    check_all(round % 3 == 0   ? "after reopen"
              : round % 3 == 1 ? "after compact_range"
                               : "after flush");
  }
  strata_db_stats st;
  if (g_db && strata_db_get_stats(g_db, &st) == STRATA_OK)
    printf("model: stats: %" PRIu64 " flushes, %" PRIu64
           " compactions, L0..L3 files %" PRIu64 "/%" PRIu64 "/%" PRIu64
           "/%" PRIu64 ", %" PRIu64 " ms stalled (%" PRIu64
           " slowdowns, %" PRIu64 " stops), %" PRIu64 " WAL syncs\n",
           st.flushes, st.compactions, st.files[0], st.files[1], st.files[2],
           st.files[3], st.stall_micros / 1000, st.slowdowns, st.stops,
           st.wal_syncs);
  strata_db_close(g_db);
  g_db = NULL;
  /* a last reopen from scratch */
  g_db = open_model_db(dir);
  if (g_db) check_all("final reopen");
  strata_db_close(g_db);
  CHECK_EQ(strata_db_verify(dir, NULL, NULL), STRATA_OK);
  unsigned long long ops = atomic_load(&g_ops);
  printf("model: %llu ops, %llu checks, %llu mismatches\n", ops,
         (unsigned long long)atomic_load(&g_checks),
         (unsigned long long)atomic_load(&g_mismatches));
  CHECK(ops >= 100000);
  CHECK_U64(atomic_load(&g_mismatches), 0);
  free(dir);
}
