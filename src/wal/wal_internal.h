/*
 * wal_internal.h — what the files of the WAL share (wal.c: open, recovery,
 * append, sync, checkpoint, close; wal_scan.c: reading segments with the
 * recovery policy and sequence checks, replay, iterate, verify;
 * wal_truncate.c: truncate_front and truncate_back). Not an interface for
 * anything outside src/wal/.
 */
#ifndef STRATA_WAL_INTERNAL_H
#define STRATA_WAL_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "log/log_reader.h"
#include "log/log_writer.h"
#include "wal/wal.h"

enum {
  GROUP_MAX = 256,       /* batches written by one leader */
  GROUP_BYTES = 4 << 20, /* bytes written by one leader (soft) */
  SCAN_STOP = -1,        /* point-in-time stopped the scan */
  SCAN_FN = -2           /* the caller's callback stopped it */
};

typedef struct wal_seg {
  uint64_t number; /* file number (NNNNNN.log) */
  uint64_t first;  /* first sequence number in it (valid if has_records) */
  uint64_t end;    /* one past its last sequence number; when it holds no
                      record, the number due at its start */
  uint64_t size;   /* committed bytes: readers read no further */
  int has_records; /* 1 if it holds at least one batch */
} wal_seg;

typedef struct waiter {
  strata_batch *batch; /* the batch to append; NULL for an exclusive op */
  uint64_t first_seq;  /* sequence number given to it */
  int status;          /* outcome, valid once done */
  int done;            /* 1 when a leader completed it */
  pthread_cond_t cv;   /* signalled when done or at the head */
  struct waiter *next; /* next in the queue */
} waiter;

struct strata_wal {
  env *e;                 /* all file access */
  char *dir;              /* the directory */
  strata_wal_options opt; /* options as opened */
  env_lock *lock;         /* DIR/LOCK */
  pthread_mutex_t mu;     /* guards everything below except leader state */
  waiter *head, *tail;    /* the queue of appenders and exclusive ops */
  wal_seg *segs;          /* live segments, oldest first; last is active */
  size_t nseg, capseg;    /* segments held, slots allocated */
  uint64_t next_seq;      /* next sequence number to give out */
  wal_meta meta;          /* contents of CHECKPOINT */
  int failed;             /* an append failed: refuse further ones */
  int fail_status;        /* its status */
  char fail_msg[256];     /* its message */
  uint64_t unsynced;      /* bytes appended since the last sync */
  /* leader state: touched only by the thread at the head of the queue */
  log_writer *lw;        /* writer of the active (last) segment */
  uint64_t last_sync_ns; /* monotonic time of the last sync */
  /* interval mode */
  pthread_t bg;         /* background syncer */
  int bg_running;       /* bg was started */
  int closing;          /* tells bg to stop */
  pthread_cond_t bg_cv; /* wakes bg at close */
};

typedef struct wal_pending {
  strata_wal_damage d; /* the report, lost range not yet known */
  char *file;          /* owned copy of d.damage.file */
  char *reason;        /* owned copy of d.damage.reason */
} wal_pending;

typedef struct wal_scanner {
  strata_wal *w;           /* the log */
  strata_recovery policy;  /* the policy applied */
  int have_expected;       /* `expected` is known */
  uint64_t expected;       /* sequence number due next */
  uint64_t max_end;        /* one past the largest sequence number seen */
  uint64_t floor;          /* last number removed by truncate_front */
  wal_pending *p;          /* log damage awaiting the next good record */
  size_t np, cap;          /* pending held, slots allocated */
  uint64_t seg;            /* number of the segment being read */
  wal_seg *info;           /* its entry to fill in (open), or NULL */
  int seg_damage;          /* non-tail damage met in this segment */
  uint64_t seg_cut;        /* offset of the first such damage */
  int seg_tail;            /* damage with nothing intact after it met */
  int tail_torn;           /* it is a torn tail (garbage of a crash) */
  uint64_t tail_off;       /* its offset */
  uint64_t rec_end;        /* end of the last record read in this segment */
  int stop_gap;            /* point-in-time stopped at a WAL-level damage */
  int quiet;               /* report nothing (internal scans) */
  uint64_t stop_off;       /* point-in-time: first offset dropped */
  strata_wal_record_fn fn; /* per accepted record; may be NULL */
  void *arg;               /* its argument */
  int fn_rc;               /* what fn returned when it stopped the scan */
} wal_scanner;

/* ---- wal.c --------------------------------------------------------------- */

/* DIR/NNNNNN.log for segment `number`; caller frees (NULL: no memory). */
char *wal_seg_path(const strata_wal *w, uint64_t number);
/* Records and returns STRATA_NO_MEMORY. */
int wal_oom(void);
/* Fills w->segs with the segment files of the directory, in number order
 * (removing a CHECKPOINT.tmp left by a crash if `tidy`). */
int wal_list_segments(strata_wal *w, int tidy);
typedef int (*wal_exclusive_fn)(strata_wal *w, void *arg);
/* Runs `fn` alone: no append or other exclusive op runs meanwhile. */
int wal_run_exclusive(strata_wal *w, wal_exclusive_fn fn, void *arg);
/* Leader or exclusive op only: syncs and closes the active segment, starts
 * the next. */
int wal_rotate(strata_wal *w);

/* ---- wal_scan.c ---------------------------------------------------------- */

void wal_scanner_init(wal_scanner *sc, strata_wal *w);
void wal_scanner_free(wal_scanner *sc);
/* Delivers a report to the WAL's damage callback (unless quiet). */
void wal_emit(wal_scanner *sc, strata_wal_damage *d);
/* Reports the pending log damage; the lost range runs up to `next`
 * (exclusive) if `known`. */
void wal_flush_pending(wal_scanner *sc, int known, uint64_t next);
/* The strata_damage_fn given to log readers (arg: the scanner). */
void wal_on_log_damage(void *arg, const strata_damage *d);
/* Reports a WAL-level damage (not seen by the log reader) in the current
 * segment. */
void wal_damage(wal_scanner *sc, strata_damage_kind kind, uint64_t off,
                uint64_t bytes, uint64_t records, int known, uint64_t first,
                uint64_t last, const char *reason);
/* Reads every record of one segment (filling `info` if not NULL): 0,
 * SCAN_STOP, SCAN_FN or a STRATA_* status. */
int wal_scan_segment(wal_scanner *sc, log_reader *r, uint64_t number,
                     wal_seg *info);
/* Reads the first `size` bytes of a segment; caller frees *out. */
int wal_read_segment(strata_wal *w, uint64_t number, uint64_t size,
                     uint8_t **out);

#endif
