/*
 * bench_rocksdb.c — RocksDB (Debian librocksdb-dev) as a bench_engine,
 * through its C API (rocksdb/c.h), with RocksDB's defaults. With
 * manual_wal_flush off (the default) the WAL writer flushes to the kernel
 * after every write, so an unsynced write has reached the kernel when Put
 * returns; fillsync sets sync=true.
 */
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_engine.h"

typedef struct rdb {
  rocksdb_t *db;              /* the database */
  rocksdb_options_t *opt;     /* its options */
  rocksdb_writeoptions_t *wo; /* sync per the run */
  rocksdb_readoptions_t *ro;  /* defaults */
} rdb;

static int take_err(char *e, const char *what, char *err, size_t errlen) {
  if (!e) return 0;
  snprintf(err, errlen, "%s: %s", what, e);
  rocksdb_free(e);
  return -1;
}

static void describe(FILE *out) {
  fprintf(out, "  RocksDB defaults (rocksdb_options_create), "
               "create_if_missing=1: write_buffer_size=64 MiB, block-based "
               "table with its default block cache (32 MiB in 7.x), "
               "block_size=4096, no bloom filter, snappy, "
               "max_background_jobs=2, level compaction\n"
               "  read: verify_checksums=1 fill_cache=1\n"
               "  writes: the WAL record reaches the kernel before Put "
               "returns (manual_wal_flush=0); fillsync: sync=1\n");
}

static const char *version(void) {
#ifdef BENCH_ROCKSDB_VERSION
  return BENCH_ROCKSDB_VERSION;
#else
  return "?";
#endif
}

static void *open_db(const char *dir, int sync, char *err, size_t errlen) {
  rdb *d = calloc(1, sizeof *d);
  d->opt = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(d->opt, 1);
  char *e = NULL;
  d->db = rocksdb_open(d->opt, dir, &e);
  if (take_err(e, "rocksdb_open", err, errlen)) {
    rocksdb_options_destroy(d->opt);
    free(d);
    return NULL;
  }
  d->wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(d->wo, (unsigned char)sync);
  d->ro = rocksdb_readoptions_create();
  return d;
}

static void close_db(void *p) {
  rdb *d = p;
  rocksdb_close(d->db);
  rocksdb_options_destroy(d->opt);
  rocksdb_writeoptions_destroy(d->wo);
  rocksdb_readoptions_destroy(d->ro);
  free(d);
}

/* Idle when RocksDB reports no flush or compaction running or pending. */
static void settle(void *p) {
  rdb *d = p;
  static const char *const props[] = {
      "rocksdb.num-running-compactions", "rocksdb.compaction-pending",
      "rocksdb.num-running-flushes", "rocksdb.mem-table-flush-pending"};
  for (int i = 0; i < 1200; i++) {
    uint64_t busy = 0;
    for (size_t j = 0; j < sizeof props / sizeof props[0]; j++) {
      uint64_t v = 0;
      if (rocksdb_property_int(d->db, props[j], &v) == 0) busy += v;
    }
    if (!busy) return;
    struct timespec t = {0, 50000000L};
    nanosleep(&t, NULL);
  }
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
  rdb *d = c;
  char *e = NULL;
  rocksdb_put(d->db, d->wo, k, kl, v, vl, &e);
  return take_err(e, "put", err, errlen);
}

static int del(void *c, const char *k, size_t kl, char *err, size_t errlen) {
  rdb *d = c;
  char *e = NULL;
  rocksdb_delete(d->db, d->wo, k, kl, &e);
  return take_err(e, "delete", err, errlen);
}

static int put_batch(void *c, const char *keys, const char *vals, size_t n,
                     char *err, size_t errlen) {
  rdb *d = c;
  rocksdb_writebatch_t *b = rocksdb_writebatch_create();
  for (size_t i = 0; i < n; i++)
    rocksdb_writebatch_put(b, keys + i * BENCH_KEY_SIZE, BENCH_KEY_SIZE,
                           vals + i * BENCH_VALUE_SIZE, BENCH_VALUE_SIZE);
  char *e = NULL;
  rocksdb_write(d->db, d->wo, b, &e);
  rocksdb_writebatch_destroy(b);
  return take_err(e, "write", err, errlen);
}

static int get(void *c, const char *k, size_t kl, char *v, size_t *vl,
               char *err, size_t errlen) {
  rdb *d = c;
  char *e = NULL;
  size_t len = 0;
  char *val = rocksdb_get(d->db, d->ro, k, kl, &len, &e);
  if (take_err(e, "get", err, errlen)) return -1;
  if (!val) return 0;
  *vl = len < BENCH_MAX_VALUE ? len : BENCH_MAX_VALUE;
  memcpy(v, val, *vl);
  rocksdb_free(val);
  return 1;
}

static bench_iter *iter_open(void *c, char *err, size_t errlen) {
  (void)err, (void)errlen;
  rdb *d = c;
  return (bench_iter *)rocksdb_create_iterator(d->db, d->ro);
}
#define IT(x) ((rocksdb_iterator_t *)(x))
static void first(bench_iter *it) { rocksdb_iter_seek_to_first(IT(it)); }
static void last(bench_iter *it) { rocksdb_iter_seek_to_last(IT(it)); }
static void seek(bench_iter *it, const char *k, size_t kl) {
  rocksdb_iter_seek(IT(it), k, kl);
}
static int valid(bench_iter *it) { return rocksdb_iter_valid(IT(it)); }
static void next(bench_iter *it) { rocksdb_iter_next(IT(it)); }
static void prev(bench_iter *it) { rocksdb_iter_prev(IT(it)); }
static const char *key(bench_iter *it, size_t *len) {
  return rocksdb_iter_key(IT(it), len);
}
static const char *value(bench_iter *it, size_t *len) {
  return rocksdb_iter_value(IT(it), len);
}
static void iter_close(bench_iter *it) { rocksdb_iter_destroy(IT(it)); }

const bench_engine bench_rocksdb = {
    "rocksdb", 1,         describe,   version, open_db,   close_db,
    settle,    conn_open, conn_close, put,     del,       put_batch,
    get,       iter_open, first,      last,    seek,      valid,
    next,      prev,      key,        value,   iter_close};
