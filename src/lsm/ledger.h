/*
 * ledger.h — the damage ledger of an LSM database (docs/formats/ledger.md):
 * the key ranges whose newest versions were lost to damage (a WAL region
 * dropped at open, a table block passed over under the skip policy), kept
 * durably in DIR/LEDGER until the user acknowledges them. While a range is
 * listed, a read that would answer from older data inside it fails with
 * STRATA_CORRUPTION instead of serving a possibly stale value.
 *
 * LevelDB ignores the file (it is not one of its file names), so the
 * directory stays LevelDB-compatible. Thread-safe.
 */
#ifndef STRATA_LSM_LEDGER_H
#define STRATA_LSM_LEDGER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "env/env.h"
#include "sstable/sst_buf.h"
#include "strata.h"

typedef struct lsm_lost {
  int has_lo, has_hi; /* 0: unbounded on that side */
  sst_buf lo, hi;     /* user keys, inclusive bounds (owned) */
  uint64_t seq_hi;    /* last sequence number in use when it was lost:
                         the lost versions are not newer */
  char *file;         /* the damaged file (owned) */
  uint64_t offset;    /* where the damage was */
  uint64_t bytes;     /* how much */
  int kind;           /* strata_damage_kind */
  char *reason;       /* what was found (owned) */
  uint64_t when;      /* unix seconds it was recorded */
} lsm_lost;

typedef struct lsm_ledger {
  env *e;              /* file system */
  char *dir;           /* database directory */
  pthread_mutex_t mu;  /* guards the entries */
  lsm_lost *v;         /* entries */
  size_t n, cap;       /* held, allocated */
  atomic_size_t count; /* n, readable without the lock (fast path) */
} lsm_ledger;

/* Loads DIR/LEDGER (absent: empty). A LEDGER that fails its checksums is
 * reported to fn and taken as one unbounded range: if what was lost cannot
 * be known, nothing older may be trusted until acknowledged. */
int lsm_ledger_open(lsm_ledger *l, env *e, const char *dir, strata_damage_fn fn,
                    void *arg);
void lsm_ledger_close(lsm_ledger *l);

/* Records a lost range (lo/hi NULL: unbounded) and rewrites DIR/LEDGER
 * durably (temporary file, fsync, rename, directory fsync). Damage already
 * listed (same file and offset: a block met again by another scan) is not
 * listed twice. */
int lsm_ledger_add(lsm_ledger *l, const uint8_t *lo, size_t lon,
                   const uint8_t *hi, size_t hin, uint64_t seq_hi,
                   const strata_damage *d);

/* 1 if a listed range holds user key k and the version found for it (its
 * sequence `seq`; 0 when none was found) is not newer than the loss: then a
 * newer version may have been lost, and the answer must not be served. *why
 * (whyn bytes) then says which damage it was. A version in the memtable was
 * written after every loss the ledger records; callers need not ask. */
int lsm_ledger_covers(lsm_ledger *l, const uint8_t *k, size_t kn, uint64_t seq,
                      char *why, size_t whyn);

/* 1 if a listed range intersects the user-key interval between a and b
 * (a NULL: from the start; b NULL: to the end), bounds `a_open`/`b_open`
 * excluded. */
int lsm_ledger_crosses(lsm_ledger *l, const uint8_t *a, size_t an, int a_open,
                       const uint8_t *b, size_t bn, int b_open, char *why,
                       size_t whyn);

/* Calls fn per entry, under the ledger's lock (fn must not call back). */
void lsm_ledger_list(lsm_ledger *l, void (*fn)(void *arg, const lsm_lost *e),
                     void *arg);

/* Empties the ledger and removes DIR/LEDGER durably. */
int lsm_ledger_clear(lsm_ledger *l);

#endif
