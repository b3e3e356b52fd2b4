/*
 * version.h — the set of table files that make up the database at one moment
 * (a version: files per level), and the version set that keeps the current
 * version, the MANIFEST that records every change, and the counters stored
 * in it (next file number, log number, last sequence). LevelDB's Version and
 * VersionSet; format in docs/formats/manifest.md.
 *
 * Concurrency: the version set has its own mutex guarding `current`, the
 * list of live versions and the counters. Versions are immutable and
 * reference counted (atomically); a reader takes a reference on the current
 * version and reads it without locks. Changes go through lsm_vset_apply,
 * one at a time (an internal mutex serializes them).
 */
#ifndef STRATA_LSM_VERSION_H
#define STRATA_LSM_VERSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "env/env.h"
#include "log/log_writer.h"
#include "lsm/version_edit.h"
#include "sstable/compaction.h"
#include "sstable/table_cache.h"
#include "strata.h"

enum { LSM_LEVELS = SST_LEVELS };

/* One table file, shared by the versions that hold it. */
typedef struct lsm_file {
  sst_file f;               /* number, size, smallest/largest (into `keys`) */
  atomic_int refs;          /* versions holding it */
  atomic_int allowed_seeks; /* lookups that may read this file in vain
                               before it is compacted (LevelDB's seek
                               compaction): size / 16 KiB, at least 100 */
  int level;                /* its level in the version that created it */
  uint8_t keys[];           /* smallest then largest internal key */
} lsm_file;

typedef struct lsm_version lsm_version;
struct lsm_version {
  lsm_file **files[LSM_LEVELS]; /* level 0 by number ascending; deeper
                                   levels by smallest key, disjoint */
  size_t n[LSM_LEVELS];         /* files per level */
  atomic_int refs;              /* readers and the set holding it */
  struct lsm_vset *vs;          /* the set it belongs to */
  lsm_version *prev, *next;     /* the set's list of live versions */
};

typedef struct lsm_vset {
  env *e;                      /* file system */
  char *dir;                   /* database directory */
  pthread_mutex_t mu;          /* guards everything below but the writer */
  pthread_mutex_t apply_mu;    /* one lsm_vset_apply at a time */
  lsm_version *current;        /* newest version (one reference held) */
  lsm_version live;            /* list head of every version still alive */
  uint64_t next_file;          /* next file number to allocate */
  uint64_t manifest_number;    /* the MANIFEST being (or to be) written */
  uint64_t current_manifest;   /* the MANIFEST that CURRENT names */
  uint64_t log_number;         /* WALs below this number are obsolete */
  uint64_t prev_log;           /* kept for LevelDB (always 0 when written) */
  uint64_t last_sequence;      /* as recorded in the MANIFEST */
  sst_buf cursor[LSM_LEVELS];  /* compact pointers: where each level's next
                                  compaction starts */
  uint64_t *pending;           /* file numbers being written (never deleted
                                  as obsolete) */
  size_t npending, cappending; /* held, allocated */
  log_writer *manifest;        /* writer of the MANIFEST (NULL: a new one is
                                  started, with a full snapshot, at the next
                                  apply) */
  uint64_t manifest_bytes;     /* its size */
} lsm_vset;

/* A set with an empty current version (counters zero). */
int lsm_vset_init(lsm_vset *vs, env *e, const char *dir);
void lsm_vset_free(lsm_vset *vs);

/* Creates a new database: MANIFEST-000001 holding the comparator name, log
 * number 0, next file 2 and last sequence 0, then CURRENT. */
int lsm_vset_create(env *e, const char *dir);

/* Reads CURRENT and the MANIFEST it names. Damage anywhere but a torn last
 * record refuses (STRATA_CORRUPTION, message pointing to `strata repair`); a
 * torn last record (a crash during an append) is reported to on_damage and
 * dropped. The next lsm_vset_apply starts a new MANIFEST. */
int lsm_vset_recover(lsm_vset *vs, strata_damage_fn on_damage, void *arg);

/* Allocates a file number (under the set's mutex). */
uint64_t lsm_vset_new_number(lsm_vset *vs);
/* Marks a number as used (numbers found in the directory at open). */
void lsm_vset_mark_used(lsm_vset *vs, uint64_t number);
/* Pending outputs: numbers being written, protected from deletion. */
int lsm_vset_add_pending(lsm_vset *vs, uint64_t number);
void lsm_vset_remove_pending(lsm_vset *vs, uint64_t number);

/* Applies `edit` to the current version: fills in the log number and next
 * file number if the edit has none (last_sequence must be set by the
 * caller), appends it to the MANIFEST (starting a new MANIFEST with a full
 * snapshot, and pointing CURRENT at it, when there is none), syncs, and
 * only then installs the new version as current. On failure nothing is
 * installed and the MANIFEST writer is dropped (the next apply starts a new
 * one). */
int lsm_vset_apply(lsm_vset *vs, version_edit *edit);

/* The current version with a reference taken. */
lsm_version *lsm_vset_current(lsm_vset *vs);
void lsm_version_ref(lsm_version *v);
/* Drops a reference (accepts NULL); the last one frees the version. */
void lsm_version_unref(lsm_version *v);

/* The shape of `v` for the compaction planners; the arrays are malloc'd
 * (free with lsm_sst_version_free) and point into v's files. */
int lsm_sst_version(const lsm_version *v, sst_version *out);
void lsm_sst_version_free(sst_version *sv);

/* Calls fn for every table number held by any live version or pending. */
void lsm_vset_live_files(lsm_vset *vs, void (*fn)(void *, uint64_t), void *arg);

/* Looks up user key `key` as of sequence `seq` in v's tables: level 0
 * newest first, then one file per deeper level. STRATA_OK with *result
 * MEM_FOUND (*value malloc'd, caller frees), MEM_DELETED or MEM_ABSENT (as
 * memtable.h); another code on error: a damaged block fails the lookup
 * (never answered from an older version instead). */
int lsm_version_get(lsm_version *v, sst_table_cache *tc, const uint8_t *key,
                    size_t kn, uint64_t seq, int *result, uint8_t **value,
                    size_t *vn, uint64_t *found_seq, lsm_file **seek_due);
/* *found_seq gets the sequence number of the version that answered
 * (MEM_FOUND or MEM_DELETED), 0 otherwise. */
/* *seek_due (when not NULL on return) is a file whose allowed seeks ran out
 * during this lookup: it was read in vain before the key was found in a
 * later file, often enough that compacting it is cheaper than the reads. The
 * caller holds a reference on it (drop with lsm_file_unref). */
void lsm_file_unref(lsm_file *f);

/* 1 if some file of `level` overlaps user keys [lo, hi] (NULL: unbounded). */
int lsm_version_overlaps(const lsm_version *v, int level, const uint8_t *lo,
                         size_t lon, const uint8_t *hi, size_t hin);
/* Total bytes of files of `level` overlapping [lo, hi]. */
uint64_t lsm_version_overlap_bytes(const lsm_version *v, int level,
                                   const uint8_t *lo, size_t lon,
                                   const uint8_t *hi, size_t hin);

#endif
