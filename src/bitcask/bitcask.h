/*
 * bitcask.h — the Bitcask engine's internals shared by its files (bitcask.c:
 * open, recovery and the read/write paths; bc_merge.c: merge). The public API
 * is the strata_bitcask_* section of strata.h.
 *
 * Locking: `mu` (a reader-writer lock) guards the key directory and the file
 * table; readers hold it shared across their pread, so a file is never closed
 * under a reader. `wmu` serialises appends to the active file, the clock and
 * file-id allocation. `merge_mu` admits one merge at a time. Order: merge_mu,
 * then wmu, then mu; never the other way round.
 */
#ifndef STRATA_BITCASK_H
#define STRATA_BITCASK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bitcask/bc_entry.h"
#include "bitcask/bc_keydir.h"
#include "env/env.h"
#include "log/log_writer.h"
#include "strata.h"

/* One data file. */
typedef struct bc_file {
  uint32_t id;    /* file id: the NNNNNN of NNNNNN.data */
  env_file *rf;   /* handle for positional reads */
  uint64_t size;  /* bytes in the file (grows while active) */
  uint64_t dead;  /* bytes of superseded entries (estimate, <= size) */
  int from_merge; /* 1: written by merge, has a hint file */
  int unsynced;   /* 1: rotated without a sync (sync none); 2: its sync
                     failed, never durable; guarded by wmu */
  uint64_t live;  /* at open only: bytes the keydir's entries point at here */
} bc_file;

/* A key whose newest record was lost (strata_bitcask_lost_keys). */
typedef struct bc_lost {
  uint8_t *key;    /* its bytes; malloc'd */
  size_t klen;     /* its length */
  char *file;      /* path of the damaged data file; malloc'd */
  uint64_t offset; /* where the lost entry's bytes were */
  uint64_t ts;     /* the lost entry's timestamp */
} bc_lost;

struct strata_bitcask {
  env *e;                      /* all file access */
  char *dir;                   /* database directory */
  env_lock *lock;              /* DIR/LOCK, held while open */
  strata_bitcask_options opt;  /* options in force */
  pthread_rwlock_t mu;         /* guards kd, files, nfiles */
  pthread_mutex_t wmu;         /* guards active, active_id, next_id, clock */
  pthread_mutex_t merge_mu;    /* one merge at a time */
  bc_keydir *kd;               /* key -> newest entry */
  bc_file *files;              /* data files sorted by id */
  size_t nfiles, fcap;         /* files held, slots allocated */
  log_writer *active;          /* appends to the active data file */
  uint32_t active_id;          /* its id */
  uint32_t next_id;            /* next unused file id */
  uint64_t clock;              /* the last timestamp handed out */
  atomic_uint_fast64_t preads; /* positional reads by get */
  atomic_uint_fast64_t merges; /* merges completed */
  uint64_t hint_files;         /* files loaded from hints at open */
  uint64_t scanned_files;      /* files scanned at open */
  uint64_t dropped_bytes;      /* bytes dropped at open */
  uint64_t drops;              /* regions dropped at open */
  bc_lost *lost;               /* keys whose newest record was lost */
  size_t nlost;                /* how many */
  pthread_mutex_t bg_mu;       /* guards the fields below */
  pthread_t bg;                /* the background merge thread */
  int bg_started;              /* bg exists and has not been joined */
  int bg_running;              /* bg has not finished */
  int closing;                 /* close has begun: start no merge */
  pthread_mutex_t svc_mu;      /* guards the fields below (a leaf lock) */
  pthread_cond_t svc_cv;       /* wakes svc: hint queued, bytes due, stop */
  pthread_t svc;               /* service thread (bc_service.c) */
  int svc_started;             /* svc exists and has not been joined */
  int svc_stop;                /* close asks svc to drain its queue and end */
  uint32_t *hint_q;            /* rotated files awaiting their hint file */
  size_t hint_n, hint_cap;     /* queued, allocated */
  uint64_t unsynced_bytes;     /* sync interval: bytes appended, not synced */
  atomic_uint_fast64_t rotation_hints; /* hint files written after rotation */
  atomic_uint_fast64_t interval_syncs; /* syncs done by svc (interval mode) */
};

/* Opens through `e` (tests pass a fault-injecting env). */
int bc_open(env *e, const char *dir, const strata_bitcask_options *o,
            strata_bitcask **out);

/* "DIR/NNNNNN.ext" into buf (at least strlen(dir) + 32 bytes). */
void bc_file_path(char *buf, size_t n, const char *dir, uint32_t id,
                  const char *ext);

/* Open decodes hint files on a second thread when they hold at least this
 * many bytes in all (bc_recover.c); tests lower it to cover that path. */
extern uint64_t bc_hint_thread_min;

/* Index of file `id` in db->files, or -1. Caller holds mu. */
long bc_find_file(const strata_bitcask *db, uint32_t id);
/* Inserts a file (sorted); caller holds mu exclusively. */
int bc_add_file(strata_bitcask *db, const bc_file *f);

/* The key-directory location of entry `e`, found at payload bytes
 * [pos, pos+len) of the record whose first fragment is at `start` of data
 * file `file_id` and whose payload is `plen` bytes. */
void bc_loc_of_entry(bc_loc *l, uint32_t file_id, uint64_t start, size_t plen,
                     const bc_entry *e, uint32_t pos, uint32_t len);

/* Reads and verifies the entry at `loc` (caller holds mu, shared or
 * exclusive). On success *buf (caller frees with free()) holds the
 * fragments' payload and *e the entry inside it. STRATA_CORRUPTION if any
 * checksum fails or the entry is not the key's. */
int bc_read_entry(strata_bitcask *db, const bc_loc *loc, const void *key,
                  size_t klen, uint8_t **buf, bc_entry *e);

/* Rotates the active file (caller holds wmu, not mu). */
int bc_rotate(strata_bitcask *db);

/* Makes existing file `id` of `size` bytes the active file (open). */
int bc_open_active_existing(strata_bitcask *db, uint32_t id, uint64_t size);

/* Allocates a file id (caller holds wmu). */
uint32_t bc_new_file_id(strata_bitcask *db);

/* The merge (bc_merge.c). Caller holds nothing; takes merge_mu. If
 * `rotate`, the active file is closed first so everything is merged. */
int bc_merge_run(strata_bitcask *db, int rotate);

/* Finishes a merge interrupted after its commit: reads DIR/MERGE and removes
 * the input files it lists (bc_merge.c; called by open). */
int bc_merge_recover(env *e, const char *dir);

/* Starts a background merge if the thresholds say so (caller holds
 * nothing). */
void bc_maybe_merge(strata_bitcask *db);

/* The service thread (bc_service.c): writes the hint files of rotated data
 * files and, under STRATA_BITCASK_SYNC_INTERVAL, syncs in the background.
 * bc_service_init before anything is queued; bc_service_start once open has
 * loaded the files; bc_service_stop (close) writes the queued hints and joins
 * the thread; bc_service_destroy frees what init made (accepts a never
 * started service). */
void bc_service_init(strata_bitcask *db);
int bc_service_start(strata_bitcask *db);
void bc_service_stop(strata_bitcask *db);
void bc_service_destroy(strata_bitcask *db);
/* Queues data file `id`, just rotated out, for its hint file (caller holds
 * wmu). A failure to queue only means the file is scanned at the next open. */
void bc_service_queue_hint(strata_bitcask *db, uint32_t id);
/* Counts `n` bytes appended under the interval mode and wakes the thread when
 * sync_interval_bytes are due (caller holds wmu). */
void bc_service_note_bytes(strata_bitcask *db, uint64_t n);
/* Writes the hint file of immutable data file `id` (bc_hint_writer.c):
 * scans it under `absolute`, writes NNNNNN.hint.tmp, syncs it, renames it to
 * NNNNNN.hint and syncs the directory. Takes merge_mu (a merge does not remove
 * the file meanwhile). On any failure no hint file is left. */
int bc_write_rotation_hint(strata_bitcask *db, uint32_t id);

#endif
