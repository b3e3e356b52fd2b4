/*
 * db_internal.h — what the files of the LSM engine share: db.c (open, close,
 * options, snapshots, properties), db_write.c (the writer queue, group
 * commit, memtable switch and write stalls), db_read.c (get and iterators),
 * db_bg.c (flush and compaction threads, obsolete files), db_recover.c (WAL
 * replay at open), db_verify.c. Not an interface for anything outside
 * src/lsm/.
 *
 * Locking: `mu` guards the memtable pointers, the writer queue, snapshots,
 * background state and stats; the version set has its own lock. Order: mu
 * may be held while taking vs.mu, never the reverse. compact_mu serializes
 * compactions (background and compact_range); it is taken without mu held.
 */
#ifndef STRATA_LSM_DB_INTERNAL_H
#define STRATA_LSM_DB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "log/log_writer.h"
#include "lsm/db.h"
#include "lsm/info_log.h"
#include "lsm/ledger.h"
#include "lsm/memtable.h"
#include "lsm/version.h"
#include "sstable/table_cache.h"

enum {
  L0_COMPACTION_TRIGGER = 4, /* level-0 files that start a compaction */
  L0_SLOWDOWN = 8,           /* ... that delay each write by 1 ms */
  L0_STOP = 12,              /* ... that stop writes until compacted */
  MAX_MEM_COMPACT_LEVEL = 2, /* deepest level a flush may go to */
  GROUP_MAX_BYTES = 1 << 20  /* bytes one group commit writes at most */
};

typedef struct db_writer {
  const strata_batch *batch; /* the writes; NULL: only make room (flush) */
  int sync;                  /* 1: fdatasync before done */
  int done;                  /* 1 once a leader wrote it */
  int status;                /* its outcome, once done */
  pthread_cond_t cv;         /* signalled when done or at the head */
  struct db_writer *next;    /* next in the queue */
} db_writer;

struct strata_snapshot {
  uint64_t seq;                        /* sequence number it reads at */
  struct strata_snapshot *prev, *next; /* the database's list, oldest first */
};

struct strata_db {
  env *e;                     /* all file access */
  char *dir;                  /* the directory */
  strata_options o;           /* options as opened (sanitized) */
  strata_table_options topts; /* how tables are written and read */
  env_lock *lock;             /* DIR/LOCK */
  lsm_info_log log;           /* DIR/LOG */
  lsm_vset vs;                /* versions and the MANIFEST */
  lsm_ledger ledger;          /* DIR/LEDGER: ranges lost to damage */
  sst_table_cache *tc;        /* open tables */
  strata_block_cache *cache;  /* block cache (owned), or NULL */
  pthread_mutex_t mu;         /* see above */
  pthread_cond_t bg_cv;       /* broadcast when background work ends */
  pthread_cond_t work_cv;     /* wakes the background threads */
  pthread_mutex_t compact_mu; /* one compaction at a time */
  mem_table *mem;             /* the memtable written now */
  mem_table *imm;             /* the one being flushed, or NULL */
  uint64_t imm_next_log;      /* log number that followed imm */
  log_writer *wal;            /* writer of the active WAL (leader only) */
  uint64_t wal_number;        /* its file number */
  int wal_dirty;              /* unsynced bytes in it */
  db_writer *head, *tail;     /* the writer queue */
  strata_batch *group;        /* the leader's group batch */
  _Atomic uint64_t last_seq;  /* last sequence number visible to reads */
  strata_snapshot snaps;      /* list head of live snapshots */
  int bg_error;               /* a background failure: writes refuse */
  char bg_msg[512];           /* its message */
  int closing;                /* tells background threads to stop */
  int compacting;             /* a compaction is running */
  int compact_kick;           /* the compaction thread should plan */
  lsm_file *seek_file;        /* a file read in vain too often (referenced),
                                 to compact when nothing is more urgent */
  int flush_running;          /* the flush thread is busy */
  pthread_t flush_thr;        /* flushes imm */
  pthread_t compact_thr;      /* automatic compactions */
  int threads;                /* 1 once both threads started */
  strata_db_stats st;         /* counters (under mu) */
  _Atomic uint64_t damage_regions; /* damage met anywhere */
};

/* ---- db.c ---------------------------------------------------------------- */
/* Records a background failure (first one wins) and logs it. mu held. */
void db_set_bg_error(strata_db *db, int rc);
/* The oldest sequence number any snapshot needs. mu held. */
uint64_t db_smallest_snapshot(strata_db *db);
/* Damage callback for tables and logs (counts and forwards). */
void db_on_damage(void *arg, const strata_damage *d);
void db_on_table_damage(void *arg, const strata_table_damage *d);

/* ---- db_write.c ---------------------------------------------------------- */
int db_write(strata_db *db, const strata_write_options *wo,
             const strata_batch *b);
/* Starts a new WAL DIR/<number>.log (mu held or during open). */
int db_new_wal(strata_db *db, uint64_t number);
/* Inserts an encoded batch into mem at its sequence numbers; *bytes (may be
 * NULL) gets the key + value bytes inserted. */
int db_insert_batch(mem_table *mem, const void *rec, size_t n, uint64_t *bytes);

/* ---- db_bg.c ------------------------------------------------------------- */
int db_start_threads(strata_db *db);
void db_stop_threads(strata_db *db);
/* Writes mem to a new table; *number 0 when mem was empty. */
int db_write_table(strata_db *db, mem_table *mem, uint64_t *number,
                   uint64_t *size, sst_buf *smallest, sst_buf *largest);
/* Deletes files no live version, pending output or live WAL needs. */
void db_delete_obsolete(strata_db *db);
/* Flushes the memtable and waits (strata_db_flush). */
int db_flush(strata_db *db);
int db_compact_range(strata_db *db, const uint8_t *b, size_t bn,
                     const uint8_t *e, size_t en);

/* ---- db_recover.c -------------------------------------------------------- */
/* Replays the live WALs into tables (recorded in `edit`), sets last_seq. */
int db_recover_wals(strata_db *db, version_edit *edit);

#endif
