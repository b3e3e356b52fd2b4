/*
 * bench_sqlite.c — SQLite (Debian libsqlite3) as a bench_engine: one table
 * kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID in DIR/db.sqlite, WAL
 * journal mode, one connection per thread. Unsynced workloads commit every
 * 1000 writes (as the issue asks) with synchronous=NORMAL (in WAL mode a
 * commit writes its frames to the kernel but does not fsync): so up to 999
 * writes sit in SQLite's page cache, in user space, unlike every other
 * engine here — a kill -9 may lose them. fillsync: synchronous=FULL and one
 * transaction per write (commit fsyncs the WAL).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "bench_engine.h"

enum { TXN_WRITES = 1000 };

typedef struct sq_db {
  char path[4096]; /* DIR/db.sqlite */
  int sync;        /* 1: every write its own synced transaction */
} sq_db;

typedef struct sq_conn {
  sq_db *d;          /* the database */
  sqlite3 *db;       /* this thread's connection */
  sqlite3_stmt *ins; /* INSERT OR REPLACE */
  sqlite3_stmt *del; /* DELETE */
  sqlite3_stmt *get; /* SELECT v WHERE k = ? */
  int pending;       /* writes in the open transaction */
} sq_conn;

typedef struct sq_iter {
  sq_conn *c;         /* its connection */
  sqlite3_stmt *asc;  /* all rows ascending */
  sqlite3_stmt *desc; /* all rows descending */
  sqlite3_stmt *from; /* rows >= ? ascending */
  sqlite3_stmt *cur;  /* the statement being stepped */
  int valid;          /* 1 if cur is on a row */
} sq_iter;

static int sq_err(sqlite3 *db, const char *what, char *err, size_t errlen) {
  snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "?");
  return -1;
}

static void describe(FILE *out) {
  fprintf(out, "  SQLite defaults (page cache 2000 KiB, 4096-byte pages) "
               "with journal_mode=WAL; table kv(k BLOB PRIMARY KEY, v BLOB) "
               "WITHOUT ROWID; one connection per thread, busy_timeout=60 s\n"
               "  writes: BEGIN IMMEDIATE .. COMMIT every 1000 writes, "
               "synchronous=NORMAL (NOT equal durability: up to 999 writes "
               "wait in user space); fillsync: synchronous=FULL, one "
               "transaction per write\n");
}

static const char *version(void) { return sqlite3_libversion(); }

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
  char *e = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &e) == SQLITE_OK) return 0;
  snprintf(err, errlen, "%s: %s", sql, e ? e : "?");
  sqlite3_free(e);
  return -1;
}

static void *conn_open(void *p, char *err, size_t errlen) {
  sq_db *d = p;
  sq_conn *c = calloc(1, sizeof *c);
  c->d = d;
  if (sqlite3_open(d->path, &c->db) != SQLITE_OK) {
    sq_err(c->db, "sqlite3_open", err, errlen);
    sqlite3_close(c->db);
    free(c);
    return NULL;
  }
  sqlite3_busy_timeout(c->db, 60000);
  if (exec(c->db, "PRAGMA journal_mode=WAL", err, errlen) ||
      exec(c->db,
           d->sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
           err, errlen) ||
      exec(c->db,
           "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) "
           "WITHOUT ROWID",
           err, errlen) ||
      sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO kv VALUES(?,?)", -1,
                         &c->ins, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db, "DELETE FROM kv WHERE k=?", -1, &c->del,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db, "SELECT v FROM kv WHERE k=?", -1, &c->get,
                         NULL) != SQLITE_OK) {
    if (!*err) sq_err(c->db, "prepare", err, errlen);
    sqlite3_finalize(c->ins);
    sqlite3_finalize(c->del);
    sqlite3_finalize(c->get);
    sqlite3_close(c->db);
    free(c);
    return NULL;
  }
  return c;
}

static int commit(sq_conn *c, char *err, size_t errlen) {
  if (!c->pending) return 0;
  c->pending = 0;
  return exec(c->db, "COMMIT", err, errlen);
}

static int conn_close(void *p, char *err, size_t errlen) {
  sq_conn *c = p;
  int rc = commit(c, err, errlen);
  sqlite3_finalize(c->ins);
  sqlite3_finalize(c->del);
  sqlite3_finalize(c->get);
  sqlite3_close(c->db);
  free(c);
  return rc;
}

static void *open_db(const char *dir, int sync, char *err, size_t errlen) {
  sq_db *d = calloc(1, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s/db.sqlite", dir);
  d->sync = sync;
  void *c = conn_open(d, err, errlen); /* creates the table */
  if (!c) {
    free(d);
    return NULL;
  }
  conn_close(c, err, errlen);
  return d;
}

static void close_db(void *p) { free(p); }
static void settle(void *p) { (void)p; }

/* Runs one write statement inside the current transaction (opening one),
 * committing every TXN_WRITES (sync: every write). */
static int write_one(sq_conn *c, sqlite3_stmt *st, char *err, size_t errlen) {
  if (!c->pending && exec(c->db, "BEGIN IMMEDIATE", err, errlen)) return -1;
  c->pending++;
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq_err(c->db, "write", err, errlen);
  if (c->d->sync || c->pending >= TXN_WRITES) return commit(c, err, errlen);
  return 0;
}

static int put(void *p, const char *k, size_t kl, const char *v, size_t vl,
               char *err, size_t errlen) {
  sq_conn *c = p;
  sqlite3_bind_blob(c->ins, 1, k, (int)kl, SQLITE_STATIC);
  sqlite3_bind_blob(c->ins, 2, v, (int)vl, SQLITE_STATIC);
  return write_one(c, c->ins, err, errlen);
}

static int del(void *p, const char *k, size_t kl, char *err, size_t errlen) {
  sq_conn *c = p;
  sqlite3_bind_blob(c->del, 1, k, (int)kl, SQLITE_STATIC);
  return write_one(c, c->del, err, errlen);
}

static int put_batch(void *p, const char *keys, const char *vals, size_t n,
                     char *err, size_t errlen) {
  sq_conn *c = p;
  if (commit(c, err, errlen) || exec(c->db, "BEGIN IMMEDIATE", err, errlen))
    return -1;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_blob(c->ins, 1, keys + i * BENCH_KEY_SIZE, BENCH_KEY_SIZE,
                      SQLITE_STATIC);
    sqlite3_bind_blob(c->ins, 2, vals + i * BENCH_VALUE_SIZE, BENCH_VALUE_SIZE,
                      SQLITE_STATIC);
    int rc = sqlite3_step(c->ins);
    sqlite3_reset(c->ins);
    if (rc != SQLITE_DONE) {
      sq_err(c->db, "insert", err, errlen);
      exec(c->db, "ROLLBACK", err, errlen);
      return -1;
    }
  }
  return exec(c->db, "COMMIT", err, errlen);
}

static int get(void *p, const char *k, size_t kl, char *v, size_t *vl,
               char *err, size_t errlen) {
  sq_conn *c = p;
  sqlite3_bind_blob(c->get, 1, k, (int)kl, SQLITE_STATIC);
  int rc = sqlite3_step(c->get), found = 0;
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(c->get, 0);
    *vl = n < BENCH_MAX_VALUE ? n : BENCH_MAX_VALUE;
    if (*vl) memcpy(v, sqlite3_column_blob(c->get, 0), *vl);
    found = 1;
  } else if (rc != SQLITE_DONE) {
    found = sq_err(c->db, "select", err, errlen);
  }
  sqlite3_reset(c->get);
  return found;
}

static bench_iter *iter_open(void *p, char *err, size_t errlen) {
  sq_conn *c = p;
  sq_iter *it = calloc(1, sizeof *it);
  it->c = c;
  if (sqlite3_prepare_v2(c->db, "SELECT k,v FROM kv ORDER BY k", -1, &it->asc,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db, "SELECT k,v FROM kv ORDER BY k DESC", -1,
                         &it->desc, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(c->db, "SELECT k,v FROM kv WHERE k>=? ORDER BY k", -1,
                         &it->from, NULL) != SQLITE_OK) {
    sq_err(c->db, "prepare", err, errlen);
    sqlite3_finalize(it->asc);
    sqlite3_finalize(it->desc);
    sqlite3_finalize(it->from);
    free(it);
    return NULL;
  }
  return (bench_iter *)it;
}
#define IT(x) ((sq_iter *)(x))
static void step(sq_iter *it) {
  it->valid = sqlite3_step(it->cur) == SQLITE_ROW;
}
static void start(bench_iter *p, sqlite3_stmt *st) {
  sq_iter *it = IT(p);
  if (it->cur) sqlite3_reset(it->cur);
  it->cur = st;
  step(it);
}
static void first(bench_iter *it) { start(it, IT(it)->asc); }
static void last(bench_iter *it) { start(it, IT(it)->desc); }
static void seek(bench_iter *p, const char *k, size_t kl) {
  sq_iter *it = IT(p);
  if (it->cur) sqlite3_reset(it->cur);
  it->cur = NULL;
  sqlite3_bind_blob(it->from, 1, k, (int)kl, SQLITE_TRANSIENT);
  start(p, it->from);
}
static int valid(bench_iter *it) { return IT(it)->valid; }
static void next(bench_iter *it) { step(IT(it)); }
static void prev(bench_iter *it) { step(IT(it)); } /* cur is descending */
static const char *key(bench_iter *p, size_t *len) {
  sq_iter *it = IT(p);
  const char *k = sqlite3_column_blob(it->cur, 0);
  *len = (size_t)sqlite3_column_bytes(it->cur, 0);
  return k;
}
static const char *value(bench_iter *p, size_t *len) {
  sq_iter *it = IT(p);
  const char *v = sqlite3_column_blob(it->cur, 1);
  *len = (size_t)sqlite3_column_bytes(it->cur, 1);
  return v;
}
static void iter_close(bench_iter *p) {
  sq_iter *it = IT(p);
  sqlite3_finalize(it->asc);
  sqlite3_finalize(it->desc);
  sqlite3_finalize(it->from);
  free(it);
}

const bench_engine bench_sqlite = {
    "sqlite", 1,         describe,   version, open_db,   close_db,
    settle,   conn_open, conn_close, put,     del,       put_batch,
    get,      iter_open, first,      last,    seek,      valid,
    next,     prev,      key,        value,   iter_close};
