/*
 * db_iter.h — the user-facing view of an internal-key iterator (LevelDB's
 * DBIter): for each user key, the newest version with sequence <= `seq`;
 * keys whose newest such version is a deletion are hidden, as are older
 * versions. Forward and backward, seeks by user key.
 */
#ifndef STRATA_LSM_DB_ITER_H
#define STRATA_LSM_DB_ITER_H

#include <stdint.h>

#include "sstable/sst_iter.h"

/* Wraps `internal` (an iterator over internal keys in internal-key order,
 * e.g. a merging iterator over memtables and tables; owned: destroyed with
 * the result, also when this fails) as an iterator whose keys are user keys
 * and whose seek takes a user key. Its status is the internal iterator's
 * (a corruption stops it: not valid, status CORRUPTION), or
 * STRATA_CORRUPTION for an internal key that does not parse. NULL when out
 * of memory. */
sst_iter *db_iter_create(sst_iter *internal, uint64_t seq);

/* The sequence number of the version a db_iter shows now (0 if not valid).
 * `it` must come from db_iter_create. */
uint64_t db_iter_sequence(sst_iter *it);

#endif
