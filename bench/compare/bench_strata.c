/*
 * bench_strata.c — strata's two engines as bench_engines, through the public
 * API only (include/strata.h): strata-lsm (strata_db_*) and strata-bitcask
 * (strata_bitcask_*). Both with their documented defaults; sync mode from
 * the workload: an unsynced write has reached the kernel when the call
 * returns (neither engine buffers writes in user space), a synced one has
 * been fdatasync'ed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_engine.h"
#include "strata.h"

static void set_err(char *err, size_t errlen, const char *what, int rc) {
  const char *m = strata_last_error();
  snprintf(err, errlen, "%s: %s", what, m && *m ? m : strata_strerror(rc));
}

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static const char *strata_ver(void) { return strata_version(); }

/* ==== strata-lsm ========================================================= */

typedef struct lsm_db {
  strata_db *db;           /* the database */
  strata_write_options wo; /* sync per the run */
  strata_read_options ro;  /* defaults */
} lsm_db;

static void lsm_describe(FILE *out) {
  strata_options o;
  strata_options_init(&o);
  strata_read_options ro;
  strata_read_options_init(&ro);
  fprintf(out,
          "  strata defaults (strata_options_init), create_if_missing=1\n"
          "  write_buffer_size=%zu block_size=%zu block_cache_size=%zu "
          "bloom_bits_per_key=%d compression=%s max_open_files=%d "
          "max_file_size=%zu compaction=%s\n"
          "  read: verify_checksums=%d fill_cache=%d\n"
          "  writes: WAL write per write batch (reaches the kernel before "
          "the call returns); fillsync: sync=1 (fdatasync, group commit)\n",
          o.write_buffer_size, o.block_size, o.block_cache_size,
          o.bloom_bits_per_key,
          o.compression == STRATA_COMPRESSION_SNAPPY ? "snappy"
          : o.compression == STRATA_COMPRESSION_ZSTD ? "zstd"
                                                     : "none",
          o.max_open_files, o.max_file_size,
          o.compaction_style == STRATA_COMPACTION_LEVELED ? "leveled"
                                                          : "size-tiered",
          ro.verify_checksums, ro.fill_cache);
}

static void *lsm_open(const char *dir, int sync, char *err, size_t errlen) {
  lsm_db *d = calloc(1, sizeof *d);
  strata_options o;
  strata_options_init(&o);
  o.create_if_missing = 1;
  int rc = strata_db_open(dir, &o, &d->db);
  if (rc != STRATA_OK) {
    set_err(err, errlen, "strata_db_open", rc);
    free(d);
    return NULL;
  }
  strata_write_options_init(&d->wo);
  d->wo.sync = sync;
  strata_read_options_init(&d->ro);
  return d;
}

static void lsm_close(void *p) {
  lsm_db *d = p;
  if (!d) return;
  strata_db_close(d->db);
  free(d);
}

/* Idle once no flush or compaction has finished for half a second. */
static void lsm_settle(void *p) {
  lsm_db *d = p;
  uint64_t last = UINT64_MAX;
  for (int stable = 0, i = 0; stable < 5 && i < 600; i++) {
    strata_db_stats s;
    if (strata_db_get_stats(d->db, &s) != STRATA_OK) return;
    uint64_t cur = s.flushes + s.compactions;
    stable = cur == last ? stable + 1 : 0;
    last = cur;
    sleep_ms(100);
  }
}

static void *lsm_conn_open(void *db, char *err, size_t errlen) {
  (void)err, (void)errlen;
  return db;
}
static int lsm_conn_close(void *c, char *err, size_t errlen) {
  (void)c, (void)err, (void)errlen;
  return 0;
}

static int lsm_put(void *c, const char *k, size_t kl, const char *v, size_t vl,
                   char *err, size_t errlen) {
  lsm_db *d = c;
  int rc = strata_db_put(d->db, &d->wo, k, kl, v, vl);
  if (rc != STRATA_OK) set_err(err, errlen, "put", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int lsm_del(void *c, const char *k, size_t kl, char *err,
                   size_t errlen) {
  lsm_db *d = c;
  int rc = strata_db_delete(d->db, &d->wo, k, kl);
  if (rc != STRATA_OK) set_err(err, errlen, "delete", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int lsm_batch(void *c, const char *keys, const char *vals, size_t n,
                     char *err, size_t errlen) {
  lsm_db *d = c;
  strata_batch *b = strata_batch_create();
  int rc = b ? STRATA_OK : STRATA_NO_MEMORY;
  for (size_t i = 0; rc == STRATA_OK && i < n; i++)
    rc = strata_batch_put(b, keys + i * BENCH_KEY_SIZE, BENCH_KEY_SIZE,
                          vals + i * BENCH_VALUE_SIZE, BENCH_VALUE_SIZE);
  if (rc == STRATA_OK) rc = strata_db_write(d->db, &d->wo, b);
  strata_batch_destroy(b);
  if (rc != STRATA_OK) set_err(err, errlen, "write", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int lsm_get(void *c, const char *k, size_t kl, char *v, size_t *vl,
                   char *err, size_t errlen) {
  lsm_db *d = c;
  void *val = NULL;
  size_t len = 0;
  int rc = strata_db_get(d->db, &d->ro, k, kl, &val, &len);
  if (rc == STRATA_NOT_FOUND) return 0;
  if (rc != STRATA_OK) {
    set_err(err, errlen, "get", rc);
    return -1;
  }
  *vl = len < BENCH_MAX_VALUE ? len : BENCH_MAX_VALUE;
  memcpy(v, val, *vl);
  free(val);
  return 1;
}

static bench_iter *lsm_iter_open(void *c, char *err, size_t errlen) {
  lsm_db *d = c;
  strata_iterator *it = NULL;
  int rc = strata_db_iter_create(d->db, &d->ro, &it);
  if (rc != STRATA_OK) {
    set_err(err, errlen, "iterator", rc);
    return NULL;
  }
  return (bench_iter *)it;
}
static void lsm_first(bench_iter *it) {
  strata_iter_seek_first((strata_iterator *)it);
}
static void lsm_last(bench_iter *it) {
  strata_iter_seek_last((strata_iterator *)it);
}
static void lsm_seek(bench_iter *it, const char *k, size_t kl) {
  strata_iter_seek((strata_iterator *)it, k, kl);
}
static int lsm_valid(bench_iter *it) {
  return strata_iter_valid((strata_iterator *)it);
}
static void lsm_next(bench_iter *it) {
  strata_iter_next((strata_iterator *)it);
}
static void lsm_prev(bench_iter *it) {
  strata_iter_prev((strata_iterator *)it);
}
static const char *lsm_key(bench_iter *it, size_t *len) {
  return strata_iter_key((strata_iterator *)it, len);
}
static const char *lsm_value(bench_iter *it, size_t *len) {
  return strata_iter_value((strata_iterator *)it, len);
}
static void lsm_iter_close(bench_iter *it) {
  strata_iter_destroy((strata_iterator *)it);
}

const bench_engine bench_strata_lsm = {
    "strata-lsm", 1,          lsm_describe,  strata_ver,     lsm_open,
    lsm_close,    lsm_settle, lsm_conn_open, lsm_conn_close, lsm_put,
    lsm_del,      lsm_batch,  lsm_get,       lsm_iter_open,  lsm_first,
    lsm_last,     lsm_seek,   lsm_valid,     lsm_next,       lsm_prev,
    lsm_key,      lsm_value,  lsm_iter_close};

/* ==== strata-bitcask ===================================================== */

static void bc_describe(FILE *out) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  fprintf(out,
          "  strata defaults (strata_bitcask_options_init): "
          "max_file_size=%llu merge_dead_fraction=%.2f merge_max_files=%u "
          "background_merge=%d recovery=%s\n"
          "  writes: sync=none (each put is one write() to the active data "
          "file, no user-space buffer); fillsync: sync=always (fdatasync "
          "per put)\n",
          (unsigned long long)o.max_file_size, o.merge_dead_fraction,
          (unsigned)o.merge_max_files, o.background_merge,
          strata_recovery_name(o.recovery));
}

static void *bc_open(const char *dir, int sync, char *err, size_t errlen) {
  strata_bitcask_options o;
  strata_bitcask_options_init(&o);
  o.sync = sync ? STRATA_BITCASK_SYNC_ALWAYS : STRATA_BITCASK_SYNC_NONE;
  strata_bitcask *db = NULL;
  int rc = strata_bitcask_open(dir, &o, &db);
  if (rc != STRATA_OK) {
    set_err(err, errlen, "strata_bitcask_open", rc);
    return NULL;
  }
  return db;
}

static void bc_close(void *db) { strata_bitcask_close(db); }
static void bc_settle(void *db) { (void)db; /* close waited for a merge */ }
static void *bc_conn_open(void *db, char *err, size_t errlen) {
  (void)err, (void)errlen;
  return db;
}
static int bc_conn_close(void *c, char *err, size_t errlen) {
  (void)c, (void)err, (void)errlen;
  return 0;
}

static int bc_put(void *c, const char *k, size_t kl, const char *v, size_t vl,
                  char *err, size_t errlen) {
  int rc = strata_bitcask_put(c, k, kl, v, vl);
  if (rc != STRATA_OK) set_err(err, errlen, "put", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int bc_del(void *c, const char *k, size_t kl, char *err, size_t errlen) {
  int rc = strata_bitcask_delete(c, k, kl);
  if (rc != STRATA_OK) set_err(err, errlen, "delete", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int bc_batch(void *c, const char *keys, const char *vals, size_t n,
                    char *err, size_t errlen) {
  strata_batch *b = strata_batch_create();
  int rc = b ? STRATA_OK : STRATA_NO_MEMORY;
  for (size_t i = 0; rc == STRATA_OK && i < n; i++)
    rc = strata_batch_put(b, keys + i * BENCH_KEY_SIZE, BENCH_KEY_SIZE,
                          vals + i * BENCH_VALUE_SIZE, BENCH_VALUE_SIZE);
  if (rc == STRATA_OK) rc = strata_bitcask_write(c, b);
  strata_batch_destroy(b);
  if (rc != STRATA_OK) set_err(err, errlen, "write", rc);
  return rc == STRATA_OK ? 0 : -1;
}

static int bc_get(void *c, const char *k, size_t kl, char *v, size_t *vl,
                  char *err, size_t errlen) {
  void *val = NULL;
  size_t len = 0;
  int rc = strata_bitcask_get(c, k, kl, &val, &len);
  if (rc == STRATA_NOT_FOUND) return 0;
  if (rc != STRATA_OK) {
    set_err(err, errlen, "get", rc);
    return -1;
  }
  *vl = len < BENCH_MAX_VALUE ? len : BENCH_MAX_VALUE;
  memcpy(v, val, *vl);
  free(val);
  return 1;
}

const bench_engine bench_strata_bitcask = {.name = "strata-bitcask",
                                           .ordered = 0,
                                           .describe = bc_describe,
                                           .version = strata_ver,
                                           .open = bc_open,
                                           .close = bc_close,
                                           .settle = bc_settle,
                                           .conn_open = bc_conn_open,
                                           .conn_close = bc_conn_close,
                                           .put = bc_put,
                                           .del = bc_del,
                                           .put_batch = bc_batch,
                                           .get = bc_get};
