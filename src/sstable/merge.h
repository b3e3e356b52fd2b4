/*
 * merge.h — a merging iterator over many sorted sources (heap-based, forward
 * and backward), as LevelDB's MergingIterator.
 */
#ifndef STRATA_SSTABLE_MERGE_H
#define STRATA_SSTABLE_MERGE_H

#include "sstable/ikey.h"
#include "sstable/sst_iter.h"

/* Merges `n` iterators ordered by `cmp` (takes ownership: they are destroyed
 * with the merging iterator, also on failure). Entries with equal keys come
 * from the lower-indexed source first when moving forward (sources are given
 * newest first), and in the reverse order when moving backward. The status
 * is the first non-OK status of any source. NULL when out of memory. */
sst_iter *sst_merge_iter(sst_iter **children, size_t n, sst_cmp cmp);

#endif
