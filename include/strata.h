/*
 * strata.h — the public API of libstrata, and nothing else public.
 *
 * Conventions:
 *  - Functions that can fail return an int status code (STRATA_OK = 0 or one of
 *    the codes below). The detail of the last failure on this thread (a message
 *    naming the file and offset, and the OS errno if any) is kept and read with
 *    strata_last_error() / strata_last_errno().
 *  - Handles are opaque. Every close/free function accepts NULL.
 *  - Each function that hands out a pointer says who frees it and how long it
 *    lives.
 */
#ifndef STRATA_H
#define STRATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */

enum {
  STRATA_OK = 0,
  STRATA_NOT_FOUND = 1,        /* key or file absent */
  STRATA_CORRUPTION = 2,       /* damaged bytes, and the policy refused them */
  STRATA_IO_ERROR = 3,         /* the OS failed a call; see strata_last_errno */
  STRATA_INVALID_ARGUMENT = 4, /* the caller passed something unusable */
  STRATA_BUSY = 5,             /* locked by another opener */
  STRATA_NO_MEMORY = 6,        /* an allocation failed */
  STRATA_NOT_SUPPORTED = 7,    /* a format feature strata does not handle */
  STRATA_END = 8               /* an iterator or reader has no more items */
};

/* A static English description of a status code ("corruption", ...). */
const char *strata_strerror(int code);

/* The detailed message of the last failure on the calling thread, e.g.
 * "DB/000005.log: checksum mismatch at offset 8192". Valid until the next
 * failing strata call on this thread. Never NULL (empty when none). */
const char *strata_last_error(void);

/* The OS errno kept with the last failure on this thread (0 if none). */
int strata_last_errno(void);

/* The library's version string, e.g. "0.1.0". */
const char *strata_version(void);

/* ---- recovery policies (SPEC §2) --------------------------------------- */

typedef enum strata_recovery {
  STRATA_RECOVERY_ABSOLUTE = 0, /* any damage fails the read */
  STRATA_RECOVERY_TOLERATE_TAIL =
      1, /* drop a torn tail; fail on other damage */
  STRATA_RECOVERY_POINT_IN_TIME =
      2,                   /* stop at the first damage, keep the prefix */
  STRATA_RECOVERY_SKIP = 3 /* drop only what is damaged, carry on */
} strata_recovery;

/* "absolute", "tolerate-tail", "point-in-time", "skip". */
const char *strata_recovery_name(strata_recovery policy);
/* Parses a policy name; STRATA_INVALID_ARGUMENT if unknown. */
int strata_recovery_parse(const char *name, strata_recovery *out);

/* ---- damage reports ---------------------------------------------------- */

typedef enum strata_damage_kind {
  STRATA_DAMAGE_TORN_TAIL = 0,   /* an incomplete record at the very end */
  STRATA_DAMAGE_CHECKSUM = 1,    /* a fragment whose CRC32C does not match */
  STRATA_DAMAGE_ZEROED = 2,      /* a run of zero bytes where records belong */
  STRATA_DAMAGE_TRUNCATED = 3,   /* a file shorter than its structure says */
  STRATA_DAMAGE_MISSING = 4,     /* a file that should exist does not */
  STRATA_DAMAGE_BAD_LENGTH = 5,  /* a fragment length that overruns its block */
  STRATA_DAMAGE_BAD_TYPE = 6,    /* a fragment type outside FULL..LAST */
  STRATA_DAMAGE_ORPHAN = 7,      /* MIDDLE or LAST fragment with no FIRST */
  STRATA_DAMAGE_MISSING_END = 8, /* FIRST/MIDDLE not followed by its LAST */
  STRATA_DAMAGE_SEQUENCE_GAP =
      9, /* WAL: a hole in sequence numbers, or a step back */
  STRATA_DAMAGE_BAD_RECORD =
      10 /* WAL: a checksummed record that is not a batch */
} strata_damage_kind;

/* "torn-tail", "checksum", "zeroed", "truncated", "missing", "bad-length",
 * "bad-type", "orphan-fragment", "missing-end", "sequence-gap", "bad-record".
 * Never renamed. */
const char *strata_damage_kind_name(strata_damage_kind kind);

/* One dropped region of one file. Delivered through a strata_damage_fn; the
 * struct and its strings are valid only during the callback. */
typedef struct strata_damage {
  const char *file;        /* path of the damaged file */
  uint64_t offset;         /* first dropped byte, from the file's start */
  uint64_t bytes;          /* number of dropped bytes */
  strata_damage_kind kind; /* what the first damage in the region was */
  const char *reason;      /* one human-readable sentence of detail */
  uint64_t records;        /* logical records known to be lost (lower bound) */
  int tail;                /* 1 if nothing intact follows the region */
} strata_damage;

typedef void (*strata_damage_fn)(void *arg, const strata_damage *damage);

/* ---- the record log (SPEC §1 `log`; docs/formats/log.md) --------------- */

typedef struct strata_log_reader strata_log_reader;
typedef struct strata_log_writer strata_log_writer;

/* Where one logical record came from. */
typedef struct strata_log_record_info {
  uint64_t offset;    /* file offset of its first fragment's header */
  uint64_t end;       /* file offset just past its last fragment */
  uint32_t fragments; /* number of physical fragments (1 for FULL) */
} strata_log_record_info;

/* Opens a log file for reading under `policy`. Every dropped region is
 * reported to `on_damage` (may be NULL) before the record after it is
 * returned. Caller closes with strata_log_reader_close. */
int strata_log_reader_open(const char *path, strata_recovery policy,
                           strata_damage_fn on_damage, void *arg,
                           strata_log_reader **out);

/* Reads a log held in memory (not copied: `data` must outlive the reader);
 * `name` is used in reports. */
int strata_log_reader_open_mem(const void *data, size_t size, const char *name,
                               strata_recovery policy,
                               strata_damage_fn on_damage, void *arg,
                               strata_log_reader **out);

/* Next logical record. STRATA_OK: *data and *size hold it, valid until the next
 * call on this reader; `info` (may be NULL) says where it was. STRATA_END: no
 * more records (any tail drop has been reported). STRATA_CORRUPTION: the policy
 * refused to go on (the damage was reported first); STRATA_IO_ERROR: a read
 * failed. After a non-OK status every later call returns the same status. */
int strata_log_reader_next(strata_log_reader *r, const void **data,
                           size_t *size, strata_log_record_info *info);

void strata_log_reader_close(strata_log_reader *r);

/* Opens (creating if needed) a log file for appending. An existing file is
 * continued at its end, in its current block. Caller closes with
 * strata_log_writer_close. */
int strata_log_writer_open(const char *path, strata_log_writer **out);

/* Appends one record; the bytes are handed to the kernel before it returns
 * (no user-space buffering), so they survive a crash of the process. */
int strata_log_writer_add(strata_log_writer *w, const void *data, size_t size);

/* fdatasync()s the file (and the directory after the file was created). */
int strata_log_writer_sync(strata_log_writer *w);

/* Byte length of the file written so far. */
uint64_t strata_log_writer_size(const strata_log_writer *w);

/* Closes the file (without syncing). */
int strata_log_writer_close(strata_log_writer *w);

/* ---- write batches (LevelDB WriteBatch encoding; docs/formats/wal.md) -- */

enum { STRATA_OP_DELETE = 0, STRATA_OP_PUT = 1 };

/* Called once per operation of a batch. `value` is NULL for deletes. */
typedef int (*strata_batch_op_fn)(void *arg, int op, const void *key,
                                  size_t key_len, const void *value,
                                  size_t value_len);

/* Decodes a batch record: sequence (fixed64), count (fixed32), operations.
 * Calls `fn` per operation (stopping if it returns non-zero, which is then
 * returned). STRATA_CORRUPTION if the record is malformed or its count does
 * not match its operations; `fn` may have been called for a prefix. */
int strata_batch_decode(const void *rec, size_t size, uint64_t *sequence,
                        uint32_t *count, strata_batch_op_fn fn, void *arg);

/* Builds a batch record in that encoding. Create with strata_batch_create,
 * free with strata_batch_destroy (accepts NULL). */
typedef struct strata_batch strata_batch;
strata_batch *strata_batch_create(void); /* NULL when out of memory */
void strata_batch_destroy(strata_batch *b);
void strata_batch_clear(strata_batch *b); /* no operations, sequence 0 */
int strata_batch_put(strata_batch *b, const void *key, size_t key_len,
                     const void *value, size_t value_len);
int strata_batch_delete(strata_batch *b, const void *key, size_t key_len);
void strata_batch_set_sequence(strata_batch *b, uint64_t sequence);
uint64_t strata_batch_sequence(const strata_batch *b);
uint32_t strata_batch_count(const strata_batch *b);
/* The encoded record; valid until the batch is next changed or destroyed. */
const void *strata_batch_data(const strata_batch *b, size_t *size);

/* ==== Bitcask engine (SPEC §1 `bitcask`; docs/formats/bitcask.md) ======= */
/* A log-structured hash table: append-only data files NNNNNN.data (record
 * logs of put/tombstone entries), an in-memory key directory, hint files
 * NNNNNN.hint written by merge and, in the background, for each data file
 * closed by rotation, and a background merge. Every function may be
 * called from many threads on one handle at once. */

typedef struct strata_bitcask strata_bitcask;

typedef enum strata_bitcask_sync_mode {
  STRATA_BITCASK_SYNC_NONE = 0,    /* writes reach the kernel; sync on demand */
  STRATA_BITCASK_SYNC_ALWAYS = 1,  /* fdatasync before a write returns */
  STRATA_BITCASK_SYNC_INTERVAL = 2 /* as the WAL's: a background thread syncs
                                      at most sync_interval_ms after a write,
                                      or once sync_interval_bytes are unsynced;
                                      writers never wait for it; close syncs */
} strata_bitcask_sync_mode;

typedef struct strata_bitcask_options {
  strata_recovery recovery;      /* reading data files at open (default skip) */
  int create_if_missing;         /* 1: create the directory (default 1) */
  strata_bitcask_sync_mode sync; /* default STRATA_BITCASK_SYNC_NONE */
  uint32_t sync_interval_ms;     /* interval mode: max ms unsynced (100) */
  uint64_t sync_interval_bytes;  /* interval mode: max bytes unsynced (1 MiB) */
  uint64_t max_file_size;        /* rotate the active file past this (64 MiB) */
  double merge_dead_fraction;    /* auto-merge when a file is this dead (0.5) */
  uint32_t merge_max_files;   /* auto-merge at this many unmerged files (16) */
  int background_merge;       /* 1: thresholds start a merge thread (1) */
  int read_only;              /* 1: change no file; writes and merge fail */
  strata_damage_fn on_damage; /* every region dropped at open (may be NULL) */
  void *damage_arg;           /* its argument */
} strata_bitcask_options;

/* Fills in the defaults above. */
void strata_bitcask_options_init(strata_bitcask_options *o);

/* Opens (or creates) the database in directory `dir`; `o` may be NULL for the
 * defaults. STRATA_BUSY if another handle holds it, STRATA_CORRUPTION if the
 * policy refused damage. Close with strata_bitcask_close. */
int strata_bitcask_open(const char *dir, const strata_bitcask_options *o,
                        strata_bitcask **out);

/* Waits for a running merge, writes the hint files of rotated data files
 * still queued, closes the files, frees the handle (accepts NULL). Under
 * SYNC_INTERVAL it syncs what is pending; otherwise it does not sync: call
 * strata_bitcask_sync first for durability. */
int strata_bitcask_close(strata_bitcask *db);

/* Stores value under key (keys 0..65535 bytes, any bytes; values may be
 * empty). `expiry` is a unix time in seconds after which the key reads as
 * absent (0 = never). */
int strata_bitcask_put(strata_bitcask *db, const void *key, size_t klen,
                       const void *value, size_t vlen);
int strata_bitcask_put_expiring(strata_bitcask *db, const void *key,
                                size_t klen, const void *value, size_t vlen,
                                uint64_t expiry);

/* The value of key: STRATA_OK with *value (caller frees with free(); never
 * NULL, even for an empty value) and *vlen; STRATA_NOT_FOUND if absent,
 * deleted or expired; STRATA_CORRUPTION if its record fails its checksum
 * (damaged data is never returned). One positional read. */
int strata_bitcask_get(strata_bitcask *db, const void *key, size_t klen,
                       void **value, size_t *vlen);

/* Deletes key (writes a tombstone; STRATA_OK whether or not it existed). */
int strata_bitcask_delete(strata_bitcask *db, const void *key, size_t klen);

/* Applies every operation of a batch (strata_batch_*) atomically, as one log
 * record: after a crash either all of them or none are visible. */
int strata_bitcask_write(strata_bitcask *db, const strata_batch *batch);

/* Called per live key. Returning non-zero stops the walk (and is returned).
 * key and value are valid only during the call. */
typedef int (*strata_bitcask_kv_fn)(void *arg, const void *key, size_t klen,
                                    const void *value, size_t vlen);

/* Every live key and value, in no particular order. A key written during the
 * fold may or may not be seen. */
int strata_bitcask_fold(strata_bitcask *db, strata_bitcask_kv_fn fn, void *arg);

/* Live keys in [from, to) in bytewise order (descending if `reverse`), at most
 * `limit` (0 = no limit). from/to NULL = unbounded. */
int strata_bitcask_scan(strata_bitcask *db, const void *from, size_t from_len,
                        const void *to, size_t to_len, int reverse,
                        uint64_t limit, strata_bitcask_kv_fn fn, void *arg);

/* Makes every write so far durable: fdatasync of the active file and of any
 * file rotated since the last sync (under SYNC_NONE and SYNC_INTERVAL a
 * rotation does not sync,
 * so that no writer waits for a whole file to reach the disk). */
int strata_bitcask_sync(strata_bitcask *db);

/* Merges now, in the calling thread (waits for a background merge first):
 * the live entries of every data file but the active one are rewritten into
 * new files with hint files, and the old files are removed. */
int strata_bitcask_merge(strata_bitcask *db);

typedef struct strata_bitcask_stats {
  uint64_t keys;          /* live keys (puts not expired) */
  uint64_t tombstones;    /* deletions the key directory still holds */
  uint64_t files;         /* data files */
  uint64_t data_bytes;    /* bytes in the data files */
  uint64_t dead_bytes;    /* of which superseded or deleted entries */
  uint64_t keydir_bytes;  /* memory held by the key directory */
  uint64_t preads;        /* positional reads done by get so far */
  uint64_t merges;        /* merges completed by this handle */
  uint64_t hint_files;    /* data files loaded from their hint at open */
  uint64_t scanned_files; /* data files scanned at open */
  uint64_t dropped_bytes; /* bytes dropped at open */
  uint64_t drops;         /* regions dropped at open */
  uint64_t lost_keys;     /* keys whose newest record was lost (see below) */
  uint64_t rotation_hints; /* hint files of rotated files written so far */
  uint64_t interval_syncs; /* background syncs done (SYNC_INTERVAL) */
} strata_bitcask_stats;

int strata_bitcask_get_stats(strata_bitcask *db, strata_bitcask_stats *out);

/* Keys whose newest record was found damaged at open (its key was still
 * readable) while no newer record of the key survives: the value get returns
 * (if any) is older than the last one written. `timestamp` is the lost
 * record's. Called once per such key; returns how many there are. Keys whose
 * record was damaged beyond reading their key cannot be named: such regions
 * are still counted in the damage reports. */
typedef void (*strata_bitcask_lost_fn)(void *arg, const void *key, size_t klen,
                                       const char *file, uint64_t offset,
                                       uint64_t timestamp);
size_t strata_bitcask_lost_keys(strata_bitcask *db, strata_bitcask_lost_fn fn,
                                void *arg);
/* ==== end of the Bitcask engine ========================================= */
/* ==== sorted string tables (SPEC §1 `sstable`; docs/formats/table.md) ====
 * LevelDB's table format byte for byte. A table maps keys to values in
 * increasing key order; keys are either plain bytes (bytewise order) or
 * LevelDB internal keys (user key + fixed64 (sequence << 8 | type)), ordered
 * by user key ascending, then sequence descending. */

typedef enum strata_compression {
  STRATA_COMPRESSION_NONE = 0,   /* stored as is */
  STRATA_COMPRESSION_SNAPPY = 1, /* LevelDB 1.23's default */
  STRATA_COMPRESSION_ZSTD = 2    /* strata-only: LevelDB 1.23 cannot read it */
} strata_compression;

/* A sharded LRU cache of uncompressed blocks with a byte budget, shared by
 * every table opened with it. Thread-safe. Destroy after every table that
 * uses it is closed. */
typedef struct strata_block_cache strata_block_cache;
strata_block_cache *strata_block_cache_create(size_t capacity_bytes);
void strata_block_cache_destroy(strata_block_cache *c);

typedef struct strata_table_options {
  size_t block_size;      /* target data-block bytes before compression */
  int restart_interval;   /* entries between restart points */
  int bloom_bits_per_key; /* 0: no filter block; LevelDB uses 10 */
  strata_compression compression; /* writing: block compression */
  int allow_zstd;                 /* must be 1 for zstd to be written */
  int internal_keys;              /* 1: keys are LevelDB internal keys */
  strata_recovery policy;         /* reading: skip goes past a damaged block */
  int verify_checksums;           /* reading: verify every block's CRC32C */
  strata_block_cache *cache;      /* reading: shared block cache, or NULL */
} strata_table_options;

/* Defaults: 4096-byte blocks, restart every 16, 10 bloom bits per key, Snappy,
 * bytewise keys, policy absolute, checksums verified, no cache. */
void strata_table_options_init(strata_table_options *o);

/* A damaged block (or footer/index/metaindex) met while reading a table. */
typedef struct strata_table_damage {
  strata_damage damage; /* file, offset, bytes (trailer included), kind... */
  const char *block;    /* "data", "index", "metaindex", "filter", "footer" */
  const void *after;    /* lost keys are > this key; NULL: from the start */
  size_t after_len;     /* its length */
  const void *upto;     /* lost keys are <= this key; NULL: to the end */
  size_t upto_len;      /* its length */
} strata_table_damage;
/* Called per damaged region; the struct is valid during the call only. */
typedef void (*strata_table_damage_fn)(void *arg, const strata_table_damage *d);

typedef struct strata_table_writer strata_table_writer;
/* Creates (truncating) a table file. STRATA_INVALID_ARGUMENT for zstd without
 * allow_zstd. Finish or abandon with the calls below. */
int strata_table_writer_open(const char *path, const strata_table_options *o,
                             strata_table_writer **out);
/* Adds an entry; keys must strictly increase (STRATA_INVALID_ARGUMENT
 * otherwise). */
int strata_table_writer_add(strata_table_writer *w, const void *key,
                            size_t key_len, const void *value,
                            size_t value_len);
/* Writes filter, metaindex, index and footer, fsyncs the file and its
 * directory, closes and frees the writer. *file_size may be NULL. */
int strata_table_writer_finish(strata_table_writer *w, uint64_t *file_size);
/* Closes and frees without finishing (the file stays incomplete); NULL ok. */
void strata_table_writer_abandon(strata_table_writer *w);

typedef struct strata_table strata_table;
/* Opens a table. A damaged footer, index or metaindex is reported to
 * on_damage (may be NULL); under STRATA_RECOVERY_SKIP the table is then
 * salvaged (its intact data blocks found by walking the file from offset 0)
 * and opens; under the other policies open fails with STRATA_CORRUPTION.
 * Close with strata_table_close. */
int strata_table_open(const char *path, const strata_table_options *o,
                      strata_table_damage_fn on_damage, void *arg,
                      strata_table **out);
void strata_table_close(strata_table *t);
/* Point lookup. Bytewise tables: the exact key. Internal-key tables: `key` is
 * a user key and the newest version answers (a deletion is NOT_FOUND).
 * STRATA_OK: *value (malloc'd; caller frees with free()) and *value_len.
 * STRATA_NOT_FOUND; STRATA_CORRUPTION naming the file and block offset if the
 * block that would hold the key is damaged. */
int strata_table_get(strata_table *t, const void *key, size_t key_len,
                     void **value, size_t *value_len);
/* 1 if the table was opened by salvage (its index or footer is damaged). */
int strata_table_salvaged(const strata_table *t);

/* An iterator over a table. Under skip, a damaged data block is reported to
 * the table's on_damage and passed over; under the other policies the
 * iterator stops, not valid, with strata_table_iter_status() CORRUPTION. */
typedef struct strata_table_iter strata_table_iter;
int strata_table_iter_create(strata_table *t, strata_table_iter **out);
void strata_table_iter_destroy(strata_table_iter *it);
void strata_table_iter_seek_first(strata_table_iter *it);
void strata_table_iter_seek_last(strata_table_iter *it);
/* First entry with key >= `key` (a full internal key for such tables). */
void strata_table_iter_seek(strata_table_iter *it, const void *key,
                            size_t key_len);
void strata_table_iter_next(strata_table_iter *it);
void strata_table_iter_prev(strata_table_iter *it);
int strata_table_iter_valid(strata_table_iter *it);
/* Current key/value: valid until the iterator next moves. */
const void *strata_table_iter_key(strata_table_iter *it, size_t *len);
const void *strata_table_iter_value(strata_table_iter *it, size_t *len);
int strata_table_iter_status(strata_table_iter *it);

/* Splits a LevelDB internal key: 0 on success, -1 if malformed. */
int strata_internal_key_parse(const void *key, size_t len, size_t *user_len,
                              uint64_t *sequence, int *type);

/* One block as strata_table_inspect sees it. */
typedef struct strata_table_block_info {
  const char *kind; /* "data", "index", "metaindex", "filter" */
  uint64_t offset;  /* first byte of the block contents */
  uint64_t size;    /* bytes of contents (trailer excluded) */
  int compression;  /* the trailer's type byte */
  int checksum_ok;  /* 1 if the CRC32C matched and it uncompressed */
  uint64_t entries; /* entries parsed (0 for filter or damaged blocks) */
} strata_table_block_info;

/* Callbacks of strata_table_inspect; any may be NULL. */
typedef struct strata_table_visitor {
  void (*footer)(void *arg, int ok, uint64_t metaindex_offset,
                 uint64_t metaindex_size, uint64_t index_offset,
                 uint64_t index_size);
  void (*block)(void *arg, const strata_table_block_info *b);
  void (*entry)(void *arg, const strata_table_block_info *b, const void *key,
                size_t key_len, const void *value, size_t value_len);
  strata_table_damage_fn damage;
  void *arg; /* passed to every callback */
} strata_table_visitor;

/* Reads every block of a table file (verifying every checksum, whatever the
 * options), in file order: data blocks then filter, metaindex and index.
 * Damage is reported and passed over; a damaged footer or index makes it
 * salvage. Sets *damaged (may be NULL) to the number of damaged regions.
 * STRATA_OK unless the file cannot be read. */
int strata_table_inspect(const char *path, const strata_table_visitor *v,
                         uint64_t *damaged);
/* ==== end of sorted string tables ==== */
/* ==== write-ahead log (SPEC §1 `wal`; docs/formats/wal.md) =============== */
/* A WAL is a directory of numbered segment files NNNNNN.log in the record-log
 * format, one write batch per record, plus CHECKPOINT (the checkpointed and
 * truncated sequence numbers) and LOCK. Every batch gets consecutive sequence
 * numbers; sequence numbers are continuous across records and segments, so a
 * hole is damage. All functions are thread-safe on one handle: many
 * appenders (group commit: concurrent appenders share one write and one
 * fsync), readers (replay, iterate) concurrent with appends; truncation and
 * checkpoint are serialised with appends. */

typedef struct strata_wal strata_wal;

typedef enum strata_wal_sync_mode {
  STRATA_WAL_SYNC_ALWAYS = 0,   /* fdatasync before append returns */
  STRATA_WAL_SYNC_INTERVAL = 1, /* fdatasync at most every N ms or N bytes */
  STRATA_WAL_SYNC_NONE = 2      /* only on rotation, sync() and close */
} strata_wal_sync_mode;

/* One dropped region of a WAL, with the sequence numbers it cost. Valid only
 * during the callback. */
typedef struct strata_wal_damage {
  strata_damage damage; /* file, offset, bytes, kind, reason, records, tail */
  uint64_t segment;     /* number of the segment file (NNNNNN) */
  int lost_known;       /* 1 if the lost sequence range below is known */
  uint64_t lost_first;  /* first lost sequence number (inclusive) */
  uint64_t lost_last;   /* last lost one; lost_first > lost_last: none */
} strata_wal_damage;

typedef void (*strata_wal_damage_fn)(void *arg, const strata_wal_damage *d);

typedef struct strata_wal_options {
  uint64_t segment_size;     /* rotate past this many bytes (default 64 MiB) */
  strata_wal_sync_mode sync; /* default STRATA_WAL_SYNC_ALWAYS */
  uint32_t sync_interval_ms; /* interval mode: max ms unsynced (default 100) */
  uint64_t sync_interval_bytes; /* interval mode: max bytes unsynced (1 MiB) */
  strata_recovery recovery;     /* default STRATA_RECOVERY_POINT_IN_TIME */
  strata_wal_damage_fn on_damage; /* every drop, at open and on reads */
  void *damage_arg;               /* its argument */
} strata_wal_options;

/* Fills `o` with the defaults above. */
void strata_wal_options_init(strata_wal_options *o);

/* Opens (creating if needed) the WAL directory `dir` and recovers it under
 * o->recovery (NULL: defaults): a torn tail is cut off the last segment;
 * under point-in-time, everything after the first damage or sequence hole is
 * moved out of the log into NNNNNN-OFFSET.lost files; every drop is reported.
 * STRATA_CORRUPTION if the policy refuses; STRATA_BUSY if another handle has
 * it open. Close with strata_wal_close. */
int strata_wal_open(const char *dir, const strata_wal_options *o,
                    strata_wal **out);

/* Syncs, closes and frees; accepts NULL. No call may be running on it.
 * STRATA_IO_ERROR (the handle is freed all the same) if an earlier append
 * or sync failed: appends since the last successful sync may not be
 * durable. */
int strata_wal_close(strata_wal *w);

/* Appends `b` as one record (atomic). Its sequence field is set to the first
 * sequence number given to it, also stored in *first_seq (may be NULL); its
 * operations get first_seq .. first_seq+count-1. Durable on return with sync
 * `always`. After an I/O failure every later append fails (reopen to
 * recover). */
int strata_wal_append(strata_wal *w, strata_batch *b, uint64_t *first_seq);

/* Makes every append that returned so far durable. */
int strata_wal_sync(strata_wal *w);

/* The largest sequence number given out (0 if none ever). */
uint64_t strata_wal_last_sequence(strata_wal *w);

/* Records durably that everything up to `seq` has been applied elsewhere.
 * STRATA_INVALID_ARGUMENT if seq is past the last sequence number or below
 * the current checkpoint. */
int strata_wal_checkpoint(strata_wal *w, uint64_t seq);
/* The checkpointed sequence number (0 if none). */
uint64_t strata_wal_checkpointed(strata_wal *w);

/* Deletes every whole segment all of whose sequence numbers are <= seq (the
 * active segment is first rotated if it qualifies); never rewrites a file.
 * Sequence numbers continue after the deleted ones, even if all were. */
int strata_wal_truncate_front(strata_wal *w, uint64_t seq);

/* Discards every batch holding a sequence number > seq (batches are atomic,
 * so a batch straddling seq goes too); the next append continues right after
 * what is kept. STRATA_INVALID_ARGUMENT if seq is below the checkpoint. */
int strata_wal_truncate_back(strata_wal *w, uint64_t seq);

/* One operation of a committed batch; return non-zero to stop (returned). */
typedef int (*strata_wal_op_fn)(void *arg, uint64_t seq, int op,
                                const void *key, size_t key_len,
                                const void *value, size_t value_len);

/* Delivers, in order, each operation with sequence number > after_seq of
 * every batch whose append has returned (never a batch in flight). Damage met
 * is reported to the damage callback and handled under the open policy. */
int strata_wal_replay(strata_wal *w, uint64_t after_seq, strata_wal_op_fn fn,
                      void *arg);

/* One raw record and where it lies. Valid only during the callback. */
typedef struct strata_wal_record {
  uint64_t segment;  /* segment file number */
  uint64_t offset;   /* offset of its first fragment in the segment */
  uint64_t end;      /* offset just past its last fragment */
  uint64_t sequence; /* first sequence number of the batch */
  uint32_t count;    /* operations in it (0: an empty or bridge batch) */
  const void *data;  /* the encoded batch (docs/formats/wal.md) */
  size_t size;       /* its bytes */
} strata_wal_record;

typedef int (*strata_wal_record_fn)(void *arg, const strata_wal_record *r);

/* Delivers every committed record, in order, with its position. */
int strata_wal_iterate(strata_wal *w, strata_wal_record_fn fn, void *arg);
/* Reads every segment of the WAL directory `dir` under `skip` without
 * changing anything (no lock taken) and reports every damage, sequence holes
 * included; *records (may be NULL) gets the number of intact batches. */
int strata_wal_verify(const char *dir, strata_wal_damage_fn fn, void *arg,
                      uint64_t *records);
/* ==== end of write-ahead log ============================================ */

/* ==== the LSM-tree engine (SPEC §1 `lsm`; docs/formats/lsm.md) ==========
 * A LevelDB 1.23-compatible database directory: CURRENT, MANIFEST-NNNNNN,
 * NNNNNN.log (the WAL format), NNNNNN.ldb tables (.sst read too), LOCK and
 * LOG. LevelDB opens a database strata wrote and strata opens LevelDB's.
 * Every function may be called from many threads on one handle at once,
 * except that strata_db_close must be the last call on the handle. Keys and
 * values are any bytes (keys ordered bytewise, "leveldb.BytewiseComparator").
 */

typedef struct strata_db strata_db;
typedef struct strata_snapshot strata_snapshot;
typedef struct strata_iterator strata_iterator;

typedef enum strata_compaction_style {
  STRATA_COMPACTION_LEVELED = 0,     /* LevelDB's (default) */
  STRATA_COMPACTION_SIZE_TIERED = 1  /* fewer rewrites; LevelDB still opens
                                        the result */
} strata_compaction_style;

typedef struct strata_options {
  int create_if_missing;         /* 1: create the database (default 0) */
  int error_if_exists;           /* 1: fail if it exists (default 0) */
  int paranoid_checks;           /* 1: any damage met fails the operation,
                                    also at open (default 0) */
  size_t write_buffer_size;      /* memtable bytes before a flush (4 MiB) */
  int max_open_files;            /* table files kept open (1000) */
  size_t block_size;             /* table data-block bytes (4096) */
  int block_restart_interval;    /* keys between restart points (16) */
  size_t max_file_size;          /* table file size target (2 MiB) */
  size_t block_cache_size;       /* bytes of the block cache (8 MiB); 0: none */
  int bloom_bits_per_key;        /* bloom filter bits per key (10); 0: none */
  strata_compression compression; /* SNAPPY (default) or NONE; ZSTD makes
                                     tables LevelDB 1.23 cannot read */
  strata_compaction_style compaction_style; /* default LEVELED */
  strata_recovery recovery;      /* replaying WALs at open (point-in-time) */
  int write_info_log;            /* 1: keep DIR/LOG (default 1) */
  strata_damage_fn on_damage;    /* every region dropped at open or met by
                                    a read or compaction (may be NULL) */
  void *damage_arg;              /* its argument */
} strata_options;

/* Fills in the defaults above. */
void strata_options_init(strata_options *o);

typedef struct strata_read_options {
  int verify_checksums;            /* 1: verify every block read (default 1) */
  int fill_cache;                  /* 1: blocks read go to the cache (1) */
  const strata_snapshot *snapshot; /* read as of this snapshot; NULL: now */
} strata_read_options;

typedef struct strata_write_options {
  int sync; /* 1: the WAL is fdatasync'ed before the write returns (0) */
} strata_write_options;

/* Defaults; a NULL options pointer anywhere below means these. */
void strata_read_options_init(strata_read_options *o);
void strata_write_options_init(strata_write_options *o);

/* Opens the database in directory `dir` (o NULL: defaults, which do not
 * create it). STRATA_BUSY with a "locked" message if another handle, in this
 * or another process, holds it; STRATA_CORRUPTION if the MANIFEST is damaged
 * (the message points to `strata repair`) or the recovery policy refused a
 * damaged WAL. Drops made at open are reported to o->on_damage. Close with
 * strata_db_close. */
int strata_db_open(const char *dir, const strata_options *o, strata_db **out);

/* Waits for background work, closes every file, frees the handle (accepts
 * NULL). Snapshots and iterators must be released/destroyed first. */
int strata_db_close(strata_db *db);

/* Removes the database in `dir` (its files, then the directory if empty).
 * STRATA_BUSY if it is open. */
int strata_db_destroy(const char *dir);

int strata_db_put(strata_db *db, const strata_write_options *wo,
                  const void *key, size_t klen, const void *value,
                  size_t vlen);
/* Deletes key (STRATA_OK whether or not it existed). */
int strata_db_delete(strata_db *db, const strata_write_options *wo,
                     const void *key, size_t klen);
/* Applies every operation of the batch atomically, in order (the batch's
 * sequence field is ignored and left unchanged). Concurrent writers are
 * committed in groups: one WAL write (and one sync) for many. */
int strata_db_write(strata_db *db, const strata_write_options *wo,
                    const strata_batch *batch);

/* The value of key: STRATA_OK with *value (malloc'd, caller frees with
 * free(); never NULL, even when empty) and *vlen; STRATA_NOT_FOUND;
 * STRATA_CORRUPTION naming the file and offset when the block that holds the
 * key is damaged (an older version is never returned instead). */
int strata_db_get(strata_db *db, const strata_read_options *ro,
                  const void *key, size_t klen, void **value, size_t *vlen);

/* A consistent read view at the current sequence number. Owned by the
 * database: release it with strata_db_release_snapshot before closing. */
const strata_snapshot *strata_db_get_snapshot(strata_db *db);
void strata_db_release_snapshot(strata_db *db, const strata_snapshot *s);
/* The sequence number a snapshot reads at. */
uint64_t strata_snapshot_sequence(const strata_snapshot *s);

/* An iterator over the live keys as of ro->snapshot (or of now), merging
 * memtables and tables; deleted and overwritten versions are hidden. Not
 * valid until positioned. Destroy with strata_iter_destroy before closing
 * the database. One iterator is not for concurrent use by many threads. */
int strata_db_iter_create(strata_db *db, const strata_read_options *ro,
                          strata_iterator **out);
void strata_iter_destroy(strata_iterator *it);
void strata_iter_seek_first(strata_iterator *it);
void strata_iter_seek_last(strata_iterator *it);
/* The first key >= key. */
void strata_iter_seek(strata_iterator *it, const void *key, size_t klen);
void strata_iter_next(strata_iterator *it); /* valid iterators only */
void strata_iter_prev(strata_iterator *it); /* valid iterators only */
int strata_iter_valid(const strata_iterator *it);
/* Current key/value: valid until the iterator moves or is destroyed. */
const void *strata_iter_key(const strata_iterator *it, size_t *klen);
const void *strata_iter_value(const strata_iterator *it, size_t *vlen);
/* STRATA_OK, or why the iterator stopped (STRATA_CORRUPTION: a damaged
 * block; the message names the file and offset). */
int strata_iter_status(const strata_iterator *it);

/* Compacts every key in [begin, end] (NULL: unbounded) down the levels,
 * waiting until done. Also flushes the memtable. */
int strata_db_compact_range(strata_db *db, const void *begin, size_t blen,
                            const void *end, size_t elen);

/* Writes the memtable to a table now and waits (LevelDB's internal
 * TEST_CompactMemTable). */
int strata_db_flush(strata_db *db);

/* A property as text (malloc'd, caller frees with free()), or NULL for an
 * unknown name: "strata.stats" (per-level files/size, compactions, stalls),
 * "strata.num-files-at-levelN" (N = 0..6), "strata.sstables" (each level's
 * files with their key ranges), "strata.approximate-memory-usage" (bytes).
 * The "leveldb." spellings of the same names are accepted too. */
char *strata_db_get_property(strata_db *db, const char *name);

/* Approximate bytes of table files holding keys in [start, limit)
 * (memtables not counted), as LevelDB's GetApproximateSizes. */
int strata_db_approximate_size(strata_db *db, const void *start, size_t slen,
                               const void *limit, size_t llen, uint64_t *size);

typedef struct strata_db_stats {
  uint64_t files[7];          /* table files per level */
  uint64_t level_bytes[7];    /* bytes per level */
  uint64_t sequence;          /* last sequence number given out */
  uint64_t memtable_bytes;    /* approximate memory of the memtables */
  uint64_t flushes;           /* memtables written to tables */
  uint64_t compactions;       /* compactions done (trivial moves included) */
  uint64_t bytes_flushed;     /* table bytes written by flushes */
  uint64_t bytes_compacted;   /* table bytes written by compactions */
  uint64_t bytes_read_compaction; /* table bytes read by compactions */
  uint64_t wal_bytes;         /* bytes appended to WALs by this handle */
  uint64_t user_bytes;        /* key + value bytes of the writes */
  uint64_t stall_micros;      /* writers' time spent slowed or stopped */
  uint64_t slowdowns;         /* writes delayed 1 ms (level 0 at 8 files) */
  uint64_t stops;             /* writes that waited (level 0 at 12 files or
                                 both memtables full) */
  uint64_t wal_syncs;         /* fdatasyncs of the WAL */
  uint64_t group_commits;     /* WAL writes (each holding >= 1 batch) */
  uint64_t damage_regions;    /* damaged regions met (open, reads, compaction) */
  uint64_t dropped_bytes;     /* bytes dropped by WAL recovery at open */
} strata_db_stats;

int strata_db_get_stats(strata_db *db, strata_db_stats *out);

/* Checks the database in `dir` without changing it (no lock taken): CURRENT,
 * every MANIFEST record, that every live table exists and every block of it
 * passes its checksum, every live WAL. Each damaged region goes to fn (may be
 * NULL). STRATA_OK if clean, STRATA_CORRUPTION if damage was found, another
 * code if it could not be checked. */
int strata_db_verify(const char *dir, strata_damage_fn fn, void *arg);

/* Whether LevelDB 1.23 can open the LSM database in `dir` as it is: 1 if
 * yes, 0 if not, with *why (malloc'd, caller frees with free(); NULL when
 * compatible) naming each reason, "; "-separated: CURRENT without its
 * newline or not naming an existing MANIFEST, a MANIFEST record LevelDB
 * would refuse (a damaged record, an unknown tag), a comparator other than
 * leveldb.BytewiseComparator, a table block compressed with something other
 * than none or Snappy (zstd), a missing table, overlapping files in a level
 * >= 1. -1 with *why set when the directory cannot be read. */
int strata_db_leveldb_compatible(const char *dir, char **why);

/* The damage ledger (docs/formats/ledger.md): key ranges whose newest
 * versions were lost to damage (WAL regions dropped at open other than a
 * crash's torn tail; table blocks passed over under the skip policy), kept
 * in DIR/LEDGER (a file LevelDB ignores) until acknowledged. While a range
 * is listed, a get that would answer from older data inside it (or find
 * nothing) fails with STRATA_CORRUPTION, and an iterator that would pass
 * through it stops with STRATA_CORRUPTION: no value is served as current
 * when a newer one may have been lost. A WAL region's keys cannot be known,
 * so it is listed as the whole key space. */
typedef struct strata_lost_range {
  const void *lo;      /* lowest user key that may be affected; NULL: none */
  size_t lo_len;       /* its length */
  const void *hi;      /* highest user key that may be affected; NULL: none */
  size_t hi_len;       /* its length */
  uint64_t sequence;   /* last sequence number in use when it was lost */
  strata_damage damage; /* where and what (file, offset, bytes, kind,
                           reason) */
  uint64_t when;       /* unix time it was recorded */
} strata_lost_range;
/* Called per listed range; the struct lives during the call only. */
typedef void (*strata_lost_fn)(void *arg, const strata_lost_range *r);
/* Calls fn per listed range; returns how many there are. */
size_t strata_db_lost_ranges(strata_db *db, strata_lost_fn fn, void *arg);
/* The user has seen the losses: empties the ledger (durably); reads answer
 * from the surviving data again. */
int strata_db_acknowledge(strata_db *db);

/* One field of a MANIFEST record (a LevelDB VersionEdit). Tags: 1 comparator
 * name (key), 2 log number, 3 next file number, 4 last sequence, 5 compact
 * pointer (level, key), 6 deleted file (level, number), 7 new file (level,
 * number, size, key = smallest, key2 = largest internal key), 9 previous log
 * number. The struct and its keys are valid during the callback only. */
typedef struct strata_edit_field {
  int tag;           /* 1..7 or 9 */
  int level;         /* tags 5, 6, 7 */
  uint64_t number;   /* tags 2, 3, 4 (the sequence), 6, 7, 9 */
  uint64_t size;     /* tag 7: file bytes */
  const void *key;   /* tag 1: name; 5: key; 7: smallest */
  size_t key_len;    /* its length */
  const void *key2;  /* tag 7: largest */
  size_t key2_len;   /* its length */
} strata_edit_field;
typedef int (*strata_edit_fn)(void *arg, const strata_edit_field *f);

/* Decodes one MANIFEST record, calling fn (may be NULL: check only) per field
 * in record order (a non-zero return stops and is returned).
 * STRATA_CORRUPTION for an unknown tag or a field that overruns the record or
 * is otherwise malformed — tag 8, a level >= 7, an internal key shorter than
 * 8 bytes, a repeated tag 1, 2, 3, 4 or 9 (docs/formats/manifest.md) — with a
 * message naming the field and its offset; fields before it were delivered. */
int strata_manifest_edit_decode(const void *rec, size_t size, strata_edit_fn fn,
                                void *arg);
/* ==== end of the LSM-tree engine ========================================= */

/* ==== repair (SPEC §3 `repair`; docs/repair.md) ========================= */
/* Rebuilds a damaged database from whatever is intact, into a NEW directory
 * (the original is never changed), or in place (the new database is built
 * beside it, synced, then swapped in with renames; the original's files are
 * kept in DIR.damaged). The loss report is delivered event by event. */

typedef enum strata_repair_event_kind {
  STRATA_REPAIR_DAMAGE = 0,   /* a damaged region and what it cost */
  STRATA_REPAIR_DOUBTFUL = 1, /* a key left out: a damaged region could have
                                 held a newer version or its deletion, so
                                 its surviving (older) value may be stale */
  STRATA_REPAIR_IGNORED = 2   /* a file not used (e.g. a table the readable
                                 MANIFEST does not list: obsolete) */
} strata_repair_event_kind;

/* One event of the loss report; it and everything it points to are valid
 * during the callback only. Members not named for a kind are 0/NULL. */
typedef struct strata_repair_event {
  strata_repair_event_kind kind;
  const strata_damage *damage; /* DAMAGE: file, offset, bytes, kind, reason,
                                  records (lower bound), tail */
  const char *block;  /* DAMAGE in a table: "data", "index", "footer",
                         "metaindex", "filter", "table"; NULL otherwise */
  int costs_keys;     /* DAMAGE: 1 if records may be lost (0: e.g. a lost
                         index or filter, rebuilt from intact data blocks) */
  const void *lo;     /* DAMAGE: lost user keys are >= lo (NULL: unbounded) */
  size_t lo_len;      /* its length */
  const void *hi;     /* DAMAGE: lost user keys are <= hi (NULL: unbounded) */
  size_t hi_len;      /* its length */
  int seq_known;      /* DAMAGE: 1 if the lost sequence numbers are known to
                         lie in [seq_first, seq_last] (seq_last UINT64_MAX:
                         no upper bound, a lost tail) */
  uint64_t seq_first; /* first possibly lost sequence number */
  uint64_t seq_last;  /* last one */
  const void *key;    /* DOUBTFUL: the user key left out */
  size_t key_len;     /* its length */
  uint64_t sequence;  /* DOUBTFUL: sequence of the version left out (LSM) */
  const char *file;   /* DOUBTFUL: the file holding it (NULL if not found);
                         IGNORED: the file */
  const char *reason; /* DOUBTFUL, IGNORED: one sentence */
} strata_repair_event;

typedef void (*strata_repair_fn)(void *arg, const strata_repair_event *ev);

typedef struct strata_repair_options {
  int in_place;              /* 1: replace the original (default 0) */
  strata_repair_fn on_event; /* the loss report, event by event (may be
                                NULL) */
  void *arg;                 /* its argument */
} strata_repair_options;

void strata_repair_options_init(strata_repair_options *o);

/* What a repair did. Fill with strata_db_repair / strata_bitcask_repair;
 * free the strings with strata_repair_report_free. */
typedef struct strata_repair_report {
  char *path;                /* the repaired database (malloc'd) */
  char *backup;              /* in place: where the original's files went
                                (malloc'd), else NULL */
  int manifest_used;         /* LSM: 1 if a clean MANIFEST told which files
                                were live (0: every file in the directory) */
  uint64_t files_read;       /* tables, WALs or data files read */
  uint64_t files_ignored;    /* files not used (IGNORED events) */
  uint64_t entries_read;     /* intact versions read (puts and deletions) */
  uint64_t keys_written;     /* live keys in the repaired database */
  uint64_t damaged_regions;  /* DAMAGE events */
  uint64_t damaged_bytes;    /* their bytes */
  uint64_t records_lost;     /* records known lost (lower bound) */
  uint64_t doubtful_keys;    /* DOUBTFUL events (keys left out) */
  uint64_t tables_written;   /* LSM: tables of the repaired database */
  int level;                 /* LSM: the level they were placed at */
  uint64_t last_sequence;    /* LSM: the repaired MANIFEST's last sequence */
} strata_repair_report;

void strata_repair_report_free(strata_repair_report *r);

/* Repairs the LSM database in `dir` into `into` (NULL: "DIR.repaired"), which
 * must not exist or be empty. Salvages every intact entry of every table
 * (salvaging tables whose index or footer is lost) and of every WAL, using a
 * clean MANIFEST, when there is one, to know which files are live. Keeps the
 * newest version of each key and drops deletions; leaves out (and reports)
 * keys a damaged region could have overwritten or deleted; writes sorted,
 * disjoint tables into one level with a fresh MANIFEST and CURRENT (LevelDB
 * 1.23 opens the result), all synced. With o->in_place, `into` must be NULL.
 * STRATA_OK when repaired (damage or not); STRATA_BUSY if the database is
 * open; STRATA_NOT_FOUND if `dir` holds no database. `out` may be NULL. */
int strata_db_repair(const char *dir, const char *into,
                     const strata_repair_options *o, strata_repair_report *out);

/* The same for a Bitcask directory: every intact entry of every data file
 * (read under skip), the newest per key (deletions and expiry respected),
 * written to a new directory; keys whose newest record was lost are left
 * out and reported DOUBTFUL. */
int strata_bitcask_repair(const char *dir, const char *into,
                          const strata_repair_options *o,
                          strata_repair_report *out);
/* ==== end of repair ===================================================== */

#ifdef __cplusplus
}
#endif
#endif /* STRATA_H */
