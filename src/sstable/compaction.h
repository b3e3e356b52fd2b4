/*
 * compaction.h — compaction strategies as planners the LSM engine calls:
 * pure functions over a description of the levels returning which files to
 * merge and where the outputs go, plus sst_compaction_run, which merges the
 * inputs into output tables, syncs them and their directory, and only then
 * reports the inputs deletable.
 *
 * Levels hold files described by number, size and smallest/largest internal
 * key. Level 0 files may overlap (newest = highest number); files of a level
 * > 0 are sorted and disjoint.
 */
#ifndef STRATA_SSTABLE_COMPACTION_H
#define STRATA_SSTABLE_COMPACTION_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "sstable/ikey.h"
#include "strata.h"

enum { SST_LEVELS = 7 };

/* One table file. Keys are internal keys, not owned by the struct (except
 * in an sst_compaction_result, which owns them). */
typedef struct sst_file {
  uint64_t number;         /* file number: DIR/NNNNNN.ldb */
  uint64_t size;           /* bytes */
  const uint8_t *smallest; /* smallest internal key */
  size_t smallest_len;     /* its length */
  const uint8_t *largest;  /* largest internal key */
  size_t largest_len;      /* its length */
} sst_file;

/* The shape of the tree: files per level. */
typedef struct sst_version {
  const sst_file *files[SST_LEVELS]; /* files of each level */
  size_t n[SST_LEVELS];              /* how many */
} sst_version;

/* LevelDB's rules (defaults by sst_leveled_defaults). */
typedef struct sst_leveled_opts {
  int l0_trigger;            /* level-0 file count that triggers (4) */
  uint64_t l1_bytes;         /* level 1 budget (10 MiB); level L: x10^(L-1) */
  uint64_t target_file_size; /* output file size (2 MiB) */
  uint64_t max_grandparent;  /* output split at this much grandparent
                                overlap (10 x target) */
} sst_leveled_opts;
void sst_leveled_defaults(sst_leveled_opts *o);

/* Size-tiered (RocksDB universal-style) rules. */
typedef struct sst_tiered_opts {
  int trigger;               /* compact when sorted runs >= this (4) */
  int min_merge;             /* merge at least this many runs (2) */
  int size_ratio_pct;        /* next run joins if <= (1 + pct/100) x sum (1) */
  int max_space_amp_pct;     /* all runs merge when newer/oldest >= pct (200) */
  uint64_t target_file_size; /* output file size (0: one file per run) */
} sst_tiered_opts;
void sst_tiered_defaults(sst_tiered_opts *o);

/* A planned compaction. Inputs are indices into the version's levels. */
typedef struct sst_plan {
  int level;                  /* first input level (-1: nothing to do) */
  int output_level;           /* where the outputs go */
  size_t *inputs[SST_LEVELS]; /* per level: indices of input files */
  size_t ninputs[SST_LEVELS]; /* how many per level */
  uint64_t max_output_size;   /* split outputs at this size (0: never) */
  uint64_t max_grandparent;   /* split when overlap with output_level+1
                                 exceeds this (0: never) */
  int trivial_move;   /* 1: one input file, nothing to merge with and little
                         grandparent overlap: the caller may move it to
                         output_level (LevelDB's IsTrivialMove) */
  double score;       /* why: >= 1 means over budget */
  const char *reason; /* "level0-files", "level-size", "size-ratio",
                         "space-amp" */
} sst_plan;

/* Plans the most urgent leveled compaction, if any (plan->level == -1 when
 * none is due). `cursor[L]` (may be NULL) is the largest key compacted last
 * at level L, for LevelDB's round-robin; plans start after it. Returns
 * STRATA_OK or STRATA_NO_MEMORY. Free with sst_plan_free. */
int sst_plan_leveled(const sst_version *v, const sst_leveled_opts *o,
                     const sst_file *const *cursor, sst_plan *plan);

/* Plans a size-tiered compaction: sorted runs are the level-0 files (each
 * its own run, newest first) then every non-empty level. The output goes to
 * the deepest level that keeps the runs in age order (so LevelDB can still
 * read the tree), as RocksDB's universal compaction does. */
int sst_plan_tiered(const sst_version *v, const sst_tiered_opts *o,
                    sst_plan *plan);

void sst_plan_free(sst_plan *plan);

/* The outputs of a compaction (owned: free with sst_compaction_result_free). */
typedef struct sst_compaction_result {
  sst_file *outputs;    /* new files, key order; keys malloc'd */
  size_t noutputs;      /* how many */
  uint64_t entries_in;  /* entries read */
  uint64_t entries_out; /* entries written */
  uint64_t dropped;     /* shadowed versions and tombstones dropped */
  int inputs_deletable; /* 1 once outputs and directory are synced */
} sst_compaction_result;

typedef struct sst_compaction_env {
  env *e;                            /* file system */
  const char *dir;                   /* the database directory */
  strata_table_options table;        /* options for reading and writing */
  uint64_t smallest_snapshot;        /* oldest sequence a reader may need */
  uint64_t (*new_number)(void *arg); /* allocates output file numbers */
  void *arg;                         /* for new_number */
  strata_table_damage_fn on_damage;  /* damage met in inputs (skip policy) */
  void *damage_arg;                  /* for on_damage */
} sst_compaction_env;

/* Runs `plan` over version `v`: merges the inputs newest first, keeps only
 * the newest version of each user key visible at smallest_snapshot, drops a
 * tombstone when no level below the output can hold its key (always at the
 * bottom level), writes outputs split per the plan, fsyncs each output and
 * then the directory, and only then sets inputs_deletable. On failure the
 * outputs written so far are removed and inputs_deletable stays 0. */
int sst_compaction_run(const sst_compaction_env *ce, const sst_version *v,
                       const sst_plan *plan, sst_compaction_result *res);
void sst_compaction_result_free(sst_compaction_result *res);

/* DIR/NNNNNN.ldb into buf (LevelDB's table file name). */
void sst_table_file_name(char *buf, size_t n, const char *dir, uint64_t number);

#endif
