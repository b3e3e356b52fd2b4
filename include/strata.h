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
  STRATA_DAMAGE_TORN_TAIL = 0,  /* an incomplete record at the very end */
  STRATA_DAMAGE_CHECKSUM = 1,   /* a fragment whose CRC32C does not match */
  STRATA_DAMAGE_ZEROED = 2,     /* a run of zero bytes where records belong */
  STRATA_DAMAGE_TRUNCATED = 3,  /* a file shorter than its structure says */
  STRATA_DAMAGE_MISSING = 4,    /* a file that should exist does not */
  STRATA_DAMAGE_BAD_LENGTH = 5, /* a fragment length that overruns its block */
  STRATA_DAMAGE_BAD_TYPE = 6,   /* a fragment type outside FULL..LAST */
  STRATA_DAMAGE_ORPHAN = 7,     /* MIDDLE or LAST fragment with no FIRST */
  STRATA_DAMAGE_MISSING_END = 8 /* FIRST/MIDDLE not followed by its LAST */
} strata_damage_kind;

/* "torn-tail", "checksum", "zeroed", "truncated", "missing", "bad-length",
 * "bad-type", "orphan-fragment", "missing-end". Never renamed. */
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

/* Damage kinds of the WAL, beyond those of strata_damage_kind (stored in its
 * `kind` field); strata_damage_kind_name gives "sequence-gap" and
 * "bad-record". Never renamed. */
/* a hole in the sequence numbers, or a step back */
#define STRATA_DAMAGE_SEQUENCE_GAP ((strata_damage_kind)9)
/* a checksummed record that is not a valid write batch */
#define STRATA_DAMAGE_BAD_RECORD ((strata_damage_kind)10)

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

/* Syncs, closes and frees; accepts NULL. No call may be running on it. */
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

#ifdef __cplusplus
}
#endif
#endif /* STRATA_H */
