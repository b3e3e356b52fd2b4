/*
 * bench_lmdb.c — LMDB (Debian liblmdb) as a bench_engine. Every write is its
 * own write transaction (fillbatch: 1000 per transaction), so each put has
 * reached the kernel (LMDB writes its dirty pages with pwrite at commit; no
 * MDB_WRITEMAP) when it returns. Unsynced workloads open the environment
 * with MDB_NOSYNC (commit does not fsync); fillsync without it (commit
 * fdatasyncs). MDB_NOTLS so that a thread may hold an iterator's read
 * transaction and a get's at once. Map size 64 GiB (address space only).
 */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_engine.h"

typedef struct lm_db {
  MDB_env *env; /* the environment */
  MDB_dbi dbi;  /* its main database */
} lm_db;

typedef struct lm_conn {
  lm_db *d;    /* the database */
  MDB_txn *rd; /* this thread's read transaction (reset between gets) */
} lm_conn;

typedef struct lm_iter {
  MDB_txn *txn;    /* read transaction of the iterator */
  MDB_cursor *cur; /* its cursor */
  MDB_val k, v;    /* current entry */
  int valid;       /* 1 if k, v hold an entry */
} lm_iter;

static int lm_err(int rc, const char *what, char *err, size_t errlen) {
  snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
  return -1;
}

static void describe(FILE *out) {
  fprintf(out, "  LMDB defaults, flags MDB_NOTLS (+ MDB_NOSYNC for unsynced "
               "workloads), mapsize=64 GiB, no MDB_WRITEMAP\n"
               "  writes: one write transaction per put (fillbatch: per 1000)"
               "; commit pwrites the pages to the kernel; fillsync: commit "
               "fdatasyncs (no MDB_NOSYNC)\n"
               "  reads: one read transaction per get (reset/renew)\n");
}

static const char *version(void) {
  static char v[16];
  int a, b, c;
  mdb_version(&a, &b, &c);
  snprintf(v, sizeof v, "%d.%d.%d", a, b, c);
  return v;
}

static void *open_db(const char *dir, int sync, char *err, size_t errlen) {
  lm_db *d = calloc(1, sizeof *d);
  int rc = mdb_env_create(&d->env);
  if (rc == 0) rc = mdb_env_set_mapsize(d->env, (size_t)64 << 30);
  if (rc == 0) rc = mdb_env_set_maxreaders(d->env, 256);
  if (rc == 0)
    rc = mdb_env_open(d->env, dir, MDB_NOTLS | (sync ? 0 : MDB_NOSYNC), 0644);
  MDB_txn *txn = NULL;
  if (rc == 0) rc = mdb_txn_begin(d->env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, NULL, 0, &d->dbi);
  if (rc == 0)
    rc = mdb_txn_commit(txn);
  else if (txn)
    mdb_txn_abort(txn);
  if (rc != 0) {
    lm_err(rc, "mdb_env_open", err, errlen);
    mdb_env_close(d->env);
    free(d);
    return NULL;
  }
  return d;
}

static void close_db(void *p) {
  lm_db *d = p;
  mdb_env_close(d->env);
  free(d);
}

static void settle(void *p) { (void)p; /* no background work */ }

static void *conn_open(void *db, char *err, size_t errlen) {
  (void)err, (void)errlen;
  lm_conn *c = calloc(1, sizeof *c);
  c->d = db;
  return c;
}

static int conn_close(void *p, char *err, size_t errlen) {
  (void)err, (void)errlen;
  lm_conn *c = p;
  if (c->rd) mdb_txn_abort(c->rd);
  free(c);
  return 0;
}

static int write_txn(lm_conn *c, const char *keys, const char *vals, size_t n,
                     int del, char *err, size_t errlen) {
  MDB_txn *txn;
  int rc = mdb_txn_begin(c->d->env, NULL, 0, &txn);
  if (rc != 0) return lm_err(rc, "mdb_txn_begin", err, errlen);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    MDB_val k = {BENCH_KEY_SIZE, (void *)(keys + i * BENCH_KEY_SIZE)};
    if (del) {
      rc = mdb_del(txn, c->d->dbi, &k, NULL);
      if (rc == MDB_NOTFOUND) rc = 0;
    } else {
      MDB_val v = {BENCH_VALUE_SIZE, (void *)(vals + i * BENCH_VALUE_SIZE)};
      rc = mdb_put(txn, c->d->dbi, &k, &v, 0);
    }
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lm_err(rc, del ? "mdb_del" : "mdb_put", err, errlen);
  }
  rc = mdb_txn_commit(txn);
  return rc ? lm_err(rc, "mdb_txn_commit", err, errlen) : 0;
}

static int put(void *c, const char *k, size_t kl, const char *v, size_t vl,
               char *err, size_t errlen) {
  (void)kl, (void)vl; /* always the bench sizes */
  return write_txn(c, k, v, 1, 0, err, errlen);
}
static int del(void *c, const char *k, size_t kl, char *err, size_t errlen) {
  (void)kl;
  return write_txn(c, k, NULL, 1, 1, err, errlen);
}
static int put_batch(void *c, const char *keys, const char *vals, size_t n,
                     char *err, size_t errlen) {
  return write_txn(c, keys, vals, n, 0, err, errlen);
}

static int get(void *p, const char *k, size_t kl, char *v, size_t *vl,
               char *err, size_t errlen) {
  lm_conn *c = p;
  int rc = c->rd ? mdb_txn_renew(c->rd)
                 : mdb_txn_begin(c->d->env, NULL, MDB_RDONLY, &c->rd);
  if (rc != 0) return lm_err(rc, "mdb_txn_begin", err, errlen);
  MDB_val key = {kl, (void *)k}, val;
  rc = mdb_get(c->rd, c->d->dbi, &key, &val);
  int found = 0;
  if (rc == 0) {
    *vl = val.mv_size < BENCH_MAX_VALUE ? val.mv_size : BENCH_MAX_VALUE;
    memcpy(v, val.mv_data, *vl);
    found = 1;
  } else if (rc != MDB_NOTFOUND) {
    found = lm_err(rc, "mdb_get", err, errlen);
  }
  mdb_txn_reset(c->rd);
  return found;
}

static bench_iter *iter_open(void *p, char *err, size_t errlen) {
  lm_conn *c = p;
  lm_iter *it = calloc(1, sizeof *it);
  int rc = mdb_txn_begin(c->d->env, NULL, MDB_RDONLY, &it->txn);
  if (rc == 0) rc = mdb_cursor_open(it->txn, c->d->dbi, &it->cur);
  if (rc != 0) {
    if (it->txn) mdb_txn_abort(it->txn);
    free(it);
    lm_err(rc, "cursor", err, errlen);
    return NULL;
  }
  return (bench_iter *)it;
}
#define IT(x) ((lm_iter *)(x))
static void move(bench_iter *p, MDB_cursor_op op) {
  lm_iter *it = IT(p);
  it->valid = mdb_cursor_get(it->cur, &it->k, &it->v, op) == 0;
}
static void first(bench_iter *it) { move(it, MDB_FIRST); }
static void last(bench_iter *it) { move(it, MDB_LAST); }
static void seek(bench_iter *p, const char *k, size_t kl) {
  lm_iter *it = IT(p);
  it->k.mv_size = kl;
  it->k.mv_data = (void *)k;
  move(p, MDB_SET_RANGE);
}
static int valid(bench_iter *it) { return IT(it)->valid; }
static void next(bench_iter *it) { move(it, MDB_NEXT); }
static void prev(bench_iter *it) { move(it, MDB_PREV); }
static const char *key(bench_iter *it, size_t *len) {
  *len = IT(it)->k.mv_size;
  return IT(it)->k.mv_data;
}
static const char *value(bench_iter *it, size_t *len) {
  *len = IT(it)->v.mv_size;
  return IT(it)->v.mv_data;
}
static void iter_close(bench_iter *p) {
  lm_iter *it = IT(p);
  mdb_cursor_close(it->cur);
  mdb_txn_abort(it->txn);
  free(it);
}

const bench_engine bench_lmdb = {
    "lmdb", 1,         describe,   version, open_db,   close_db,
    settle, conn_open, conn_close, put,     del,       put_batch,
    get,    iter_open, first,      last,    seek,      valid,
    next,   prev,      key,        value,   iter_close};
