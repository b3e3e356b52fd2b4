/*
 * bench_engine.h — the benchmark's view of a key-value engine, and the
 * db_bench-style workloads run through it.
 *
 * Shared by bench/bench_compare.c (`make bench`: strata beside LevelDB,
 * RocksDB, LMDB and SQLite) and the tool's `strata bench`
 * (tools/strata/cmd_bench.c): both compile bench_workload.c and
 * bench_strata.c; only the harness compiles the other engines' adapters.
 * Nothing here includes strata internals: strata is reached through
 * include/strata.h like any other engine.
 *
 * Keys are 16 bytes, the decimal key number zero-padded ("%016llu", as
 * db_bench); values are 100 bytes cut from a fixed buffer of chunks that
 * compress to about half (db_bench's RandomGenerator with compression ratio
 * 0.5: each 100-byte chunk repeats 50 random bytes). Random key numbers come
 * from a fixed-seed generator, one stream per workload and thread, so every
 * engine sees the same key sequence.
 */
#ifndef STRATA_BENCH_ENGINE_H
#define STRATA_BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { BENCH_KEY_SIZE = 16, BENCH_VALUE_SIZE = 100, BENCH_MAX_VALUE = 4096 };
/* Reads whose outcome is cross-checked between engines (the first ones of
 * each read workload, which every engine does even under a time cap). */
enum { BENCH_CHECK_OPS = 100000 };

/* An iterator of an ordered engine; opaque to the runner. */
typedef struct bench_iter bench_iter;

/* One engine. A database handle (`db`) is opened once per database; each
 * thread works through its own connection (`conn`) of that handle (for
 * LevelDB-like engines the connection is the handle itself; SQLite opens
 * one sqlite3 connection per thread; LMDB keeps per-thread read
 * transactions). Every function returns 0 on success and -1 on failure
 * after writing a message into `err` (the connection's or the caller's). */
typedef struct bench_engine {
  const char *name; /* "leveldb", "strata-lsm", ... */
  int ordered;      /* 1: iterators (readseq, readreverse, seekrandom) */
  /* Lines "  setting: value" describing the settings used (stdout). */
  void (*describe)(FILE *out);
  /* Library version text, e.g. "1.23". */
  const char *(*version)(void);
  /* Opens (creating) the database in `dir`; sync=1: every write is durable
   * (fsync'ed) before it returns, sync=0: it has reached the kernel. */
  void *(*open)(const char *dir, int sync, char *err, size_t errlen);
  void (*close)(void *db);
  /* Waits until background work (flushes, compactions, merges) is idle. */
  void (*settle)(void *db);
  void *(*conn_open)(void *db, char *err, size_t errlen);
  /* Ends the connection; writes it still holds (SQLite's open
   * transaction) are committed first. */
  int (*conn_close)(void *conn, char *err, size_t errlen);
  int (*put)(void *conn, const char *k, size_t kl, const char *v, size_t vl,
             char *err, size_t errlen);
  int (*del)(void *conn, const char *k, size_t kl, char *err, size_t errlen);
  /* n puts applied atomically. */
  int (*put_batch)(void *conn, const char *keys, const char *vals, size_t n,
                   char *err, size_t errlen);
  /* 1 found (value copied into v, at most BENCH_MAX_VALUE bytes, its length
   * in *vl), 0 absent, -1 error. */
  int (*get)(void *conn, const char *k, size_t kl, char *v, size_t *vl,
             char *err, size_t errlen);
  /* Ordered engines only. Positioning and stepping; key/value valid until
   * the iterator moves. An iterator only steps in the direction it was
   * positioned for (next after first/seek, prev after last). */
  bench_iter *(*iter_open)(void *conn, char *err, size_t errlen);
  void (*iter_first)(bench_iter *it);
  void (*iter_last)(bench_iter *it);
  void (*iter_seek)(bench_iter *it, const char *k, size_t kl);
  int (*iter_valid)(bench_iter *it);
  void (*iter_next)(bench_iter *it);
  void (*iter_prev)(bench_iter *it);
  const char *(*iter_key)(bench_iter *it, size_t *len);
  const char *(*iter_value)(bench_iter *it, size_t *len);
  void (*iter_close)(bench_iter *it);
} bench_engine;

/* The engines built on strata's public API (bench_strata.c). */
extern const bench_engine bench_strata_lsm;
extern const bench_engine bench_strata_bitcask;

/* ---- workloads (bench_workload.c) --------------------------------------- */

/* What one workload measured. */
typedef struct bench_result {
  char name[24];          /* workload name ("fillsync-4t" for threads) */
  int skipped;            /* 1: not run (engine unordered); see note */
  int failed;             /* 1: an operation failed; see note */
  char note[160];         /* why skipped or failed, or "" */
  uint64_t ops;           /* operations done (all threads) */
  uint64_t found;         /* reads/seeks that found their key */
  uint64_t check_found;   /* of the first BENCH_CHECK_OPS reads/seeks (all
                             entries for readseq/readreverse) */
  uint64_t check;         /* hash of what those found, for cross-checking */
  double seconds;         /* wall time */
  double cpu_seconds;     /* user + system time of the whole process */
  uint64_t bytes;         /* key + value bytes moved by the operations */
  uint64_t user_bytes;    /* key + value bytes written by the caller */
  uint64_t written_bytes; /* bytes the process passed to write calls */
  uint64_t disk_bytes;    /* bytes of the files in the directory after */
  uint64_t rss_peak_kb;   /* peak resident set during the workload (KiB) */
} bench_result;

/* A run: one engine, one database directory, `num` entries. */
typedef struct bench_run {
  const bench_engine *engine; /* the engine */
  const char *dir;            /* database directory (created, removed) */
  uint64_t num;               /* entries (db_bench --num) */
  uint64_t reads;             /* reads of the read workloads (default num) */
  double max_seconds;         /* >0: readrandom, seekrandom, readwhilewriting
                                 and deleterandom stop after this long, once
                                 past BENCH_CHECK_OPS (their state is not
                                 read by later workloads) */
  void *db;                   /* the open database, or NULL */
  int db_sync;                /* sync mode the open database has */
  /* Called as each workload starts (may be NULL). */
  void (*progress)(void *arg, const char *workload);
  void *progress_arg; /* its argument */
} bench_run;

/* 1 if `name` is a workload: fillseq, fillbatch, fillrandom, overwrite,
 * readrandom, readseq, readreverse, seekrandom, deleterandom, fillsync,
 * readwhilewriting, fillsync-Nt (N threads each doing num/1000 synced
 * puts). */
int bench_workload_known(const char *name);

/* Runs workload `name` on r (opening, reopening or recreating the database
 * as the workload needs: fill* start from an empty database; readrandom
 * reads a reopened database after settle). Fills *out. Returns 0, or -1 if
 * the workload failed (out->failed and out->note say why). */
int bench_workload_run(bench_run *r, const char *name, bench_result *out);

/* Closes the database of r (if open) and removes its directory. */
void bench_run_finish(bench_run *r);

/* The 16-byte key of key number i, into k (not NUL-terminated). */
void bench_key(uint64_t i, char *k);

#endif
