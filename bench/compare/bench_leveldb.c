/*
 * bench_leveldb.c — LevelDB 1.23 (Debian libleveldb) as a bench_engine,
 * through its C API (leveldb/c.h), with LevelDB's defaults. LevelDB's log
 * writer flushes its buffer to the kernel after every record, so an unsynced
 * write has reached the kernel when Put returns; fillsync sets sync=true.
 */
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_engine.h"

typedef struct ldb {
  leveldb_t *db;              /* the database */
  leveldb_options_t *opt;     /* its options */
  leveldb_writeoptions_t *wo; /* sync per the run */
  leveldb_readoptions_t *ro;  /* defaults */
} ldb;

static int take_err(char *e, const char *what, char *err, size_t errlen) {
  if (!e) return 0;
  snprintf(err, errlen, "%s: %s", what, e);
  leveldb_free(e);
  return -1;
}

static void describe(FILE *out) {
  fprintf(out, "  LevelDB defaults (leveldb_options_create), "
               "create_if_missing=1: write_buffer_size=4 MiB, block cache "
               "8 MiB (built in), block_size=4096, no bloom filter, snappy, "
               "max_open_files=1000, max_file_size=2 MiB\n"
               "  read: verify_checksums=0 fill_cache=1\n"
               "  writes: the log record reaches the kernel before Put "
               "returns; fillsync: sync=1\n");
}

static const char *version(void) {
  static char v[32];
  snprintf(v, sizeof v, "%d.%d", leveldb_major_version(),
           leveldb_minor_version());
  return v;
}

static void *open_db(const char *dir, int sync, char *err, size_t errlen) {
  ldb *d = calloc(1, sizeof *d);
  d->opt = leveldb_options_create();
  leveldb_options_set_create_if_missing(d->opt, 1);
  char *e = NULL;
  d->db = leveldb_open(d->opt, dir, &e);
  if (take_err(e, "leveldb_open", err, errlen)) {
    leveldb_options_destroy(d->opt);
    free(d);
    return NULL;
  }
  d->wo = leveldb_writeoptions_create();
  leveldb_writeoptions_set_sync(d->wo, (unsigned char)sync);
  d->ro = leveldb_readoptions_create();
  return d;
}

static void close_db(void *p) {
  ldb *d = p;
  leveldb_close(d->db);
  leveldb_options_destroy(d->opt);
  leveldb_writeoptions_destroy(d->wo);
  leveldb_readoptions_destroy(d->ro);
  free(d);
}

/* LevelDB has no "compaction pending" property: idle once its stats text
 * (which counts every compaction's bytes) has not changed for 0.5 s. */
static void settle(void *p) {
  ldb *d = p;
  char *last = NULL;
  for (int stable = 0, i = 0; stable < 5 && i < 600; i++) {
    char *s = leveldb_property_value(d->db, "leveldb.stats");
    stable = last && s && strcmp(s, last) == 0 ? stable + 1 : 0;
    leveldb_free(last);
    last = s;
    struct timespec t = {0, 100000000L};
    nanosleep(&t, NULL);
  }
  leveldb_free(last);
}

static void *conn_open(void *db, char *err, size_t errlen) {
  (void)err, (void)errlen;
  return db;
}
static int conn_close(void *c, char *err, size_t errlen) {
  (void)c, (void)err, (void)errlen;
  return 0;
}

static int put(void *c, const char *k, size_t kl, const char *v, size_t vl,
               char *err, size_t errlen) {
  ldb *d = c;
  char *e = NULL;
  leveldb_put(d->db, d->wo, k, kl, v, vl, &e);
  return take_err(e, "put", err, errlen);
}

static int del(void *c, const char *k, size_t kl, char *err, size_t errlen) {
  ldb *d = c;
  char *e = NULL;
  leveldb_delete(d->db, d->wo, k, kl, &e);
  return take_err(e, "delete", err, errlen);
}

static int put_batch(void *c, const char *keys, const char *vals, size_t n,
                     char *err, size_t errlen) {
  ldb *d = c;
  leveldb_writebatch_t *b = leveldb_writebatch_create();
  for (size_t i = 0; i < n; i++)
    leveldb_writebatch_put(b, keys + i * BENCH_KEY_SIZE, BENCH_KEY_SIZE,
                           vals + i * BENCH_VALUE_SIZE, BENCH_VALUE_SIZE);
  char *e = NULL;
  leveldb_write(d->db, d->wo, b, &e);
  leveldb_writebatch_destroy(b);
  return take_err(e, "write", err, errlen);
}

static int get(void *c, const char *k, size_t kl, char *v, size_t *vl,
               char *err, size_t errlen) {
  ldb *d = c;
  char *e = NULL;
  size_t len = 0;
  char *val = leveldb_get(d->db, d->ro, k, kl, &len, &e);
  if (take_err(e, "get", err, errlen)) return -1;
  if (!val) return 0;
  *vl = len < BENCH_MAX_VALUE ? len : BENCH_MAX_VALUE;
  memcpy(v, val, *vl);
  leveldb_free(val);
  return 1;
}

static bench_iter *iter_open(void *c, char *err, size_t errlen) {
  (void)err, (void)errlen;
  ldb *d = c;
  return (bench_iter *)leveldb_create_iterator(d->db, d->ro);
}
#define IT(x) ((leveldb_iterator_t *)(x))
static void first(bench_iter *it) { leveldb_iter_seek_to_first(IT(it)); }
static void last(bench_iter *it) { leveldb_iter_seek_to_last(IT(it)); }
static void seek(bench_iter *it, const char *k, size_t kl) {
  leveldb_iter_seek(IT(it), k, kl);
}
static int valid(bench_iter *it) { return leveldb_iter_valid(IT(it)); }
static void next(bench_iter *it) { leveldb_iter_next(IT(it)); }
static void prev(bench_iter *it) { leveldb_iter_prev(IT(it)); }
static const char *key(bench_iter *it, size_t *len) {
  return leveldb_iter_key(IT(it), len);
}
static const char *value(bench_iter *it, size_t *len) {
  return leveldb_iter_value(IT(it), len);
}
static void iter_close(bench_iter *it) { leveldb_iter_destroy(IT(it)); }

const bench_engine bench_leveldb = {
    "leveldb", 1,         describe,   version, open_db,   close_db,
    settle,    conn_open, conn_close, put,     del,       put_batch,
    get,       iter_open, first,      last,    seek,      valid,
    next,      prev,      key,        value,   iter_close};
