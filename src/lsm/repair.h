/*
 * repair.h — what the parts of strata_db_repair share (repair.c reads the
 * damaged database; repair_out.c writes the new one and swaps it in).
 *
 * A damaged region that may have cost entries becomes a `rep_region`: the
 * internal keys it could have held (an interval of the internal-key order)
 * and the sequence numbers it could have held. A surviving version (u, s) of
 * user key u is left out as doubtful when some region could have held a
 * version (u, s') with s' > s: that lost version may have been newer, or its
 * deletion (docs/repair.md).
 */
#ifndef STRATA_LSM_REPAIR_H
#define STRATA_LSM_REPAIR_H

#include <stdint.h>

#include "env/env.h"
#include "lsm/memtable.h"
#include "sstable/sst_buf.h"
#include "sstable/table_reader.h"
#include "strata.h"

typedef struct rep_region {
  sst_buf lo;         /* internal key bound below (len 0: unbounded) */
  int lo_incl;        /* 1: lo itself may be lost; 0: only keys > lo */
  sst_buf hi;         /* internal key bound above, inclusive (len 0: none) */
  uint64_t seq_first; /* lost sequence numbers lie in [seq_first, seq_last] */
  uint64_t seq_last;
} rep_region;

/* The surviving batches of one WAL. */
typedef struct rep_wal {
  mem_table *mem;  /* its intact batches at their sequence numbers */
  char *path;      /* the file (malloc'd) */
  uint64_t lo, hi; /* smallest and largest sequence number in mem */
} rep_wal;

typedef struct rep_ctx {
  env *e;                         /* file system */
  const char *dir;                /* the damaged database */
  const strata_repair_options *o; /* the caller's options */
  strata_repair_report *rep;      /* filled as we go */
  rep_region *regions;            /* regions that may cost keys */
  size_t nregions, capregions;    /* held, allocated */
  sst_table **tables;             /* tables read (kept open for the merge) */
  size_t ntables, captables;      /* held, allocated */
  struct rep_wal *wals;           /* one per WAL read, newest WAL first */
  size_t nwals, capwals;          /* held, allocated */
  int quiet;                      /* 1: table damage was reported already */
  const uint8_t *tlo, *thi;       /* the MANIFEST's key range of the table being
                                     read (NULL: not known), clipping its
                                     regions */
  size_t tlon, thin;              /* their lengths */
  uint64_t max_seq;               /* largest sequence number seen or implied */
  strata_table_options topts;     /* options tables are read with */
} rep_ctx;

/* Sends one event to the caller (and counts DAMAGE events). */
void rep_event(rep_ctx *c, const strata_repair_event *ev);
/* Adds a region; lo/hi are internal keys (NULL: unbounded). */
int rep_add_region(rep_ctx *c, const uint8_t *lo, size_t lon, int lo_incl,
                   const uint8_t *hi, size_t hin, uint64_t seq_first,
                   uint64_t seq_last);
/* 1 if a region could hold a version of `user` newer than `seq`. */
int rep_doubtful(const rep_ctx *c, const uint8_t *user, size_t un,
                 uint64_t seq);

/* repair_wal.c: reads the WALs numbered numbers[0..n-1] (ascending) into
 * c->wals (newest first), reporting their damage and adding its regions. */
int rep_read_wals(rep_ctx *c, size_t n, const uint64_t *numbers);

/* repair_out.c: merges every source (c->tables, c->wals), keeps the newest
 * version per user key, drops deletions and doubtful keys, writes the new
 * database in `into` (which exists and is empty) and syncs it. */
int rep_write(rep_ctx *c, const char *into);
/* In place: `dir` → `backup`, `tmp` → `dir`, the parent synced after each. */
int rep_swap(env *e, const char *dir, const char *tmp, const char *backup);

#endif
