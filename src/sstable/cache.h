/*
 * cache.h — the block cache: a sharded LRU map from (table id, block offset)
 * to an uncompressed, checksum-verified block, with a byte budget. Entries
 * are reference-counted: an entry evicted while in use is freed when its
 * last user releases it. Thread-safe (one mutex per shard). No disk bytes.
 */
#ifndef STRATA_SSTABLE_CACHE_H
#define STRATA_SSTABLE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"

typedef struct strata_block_cache sst_cache;
typedef struct sst_cache_entry sst_cache_entry;

/* A fresh id for a table's keys. */
uint64_t sst_cache_new_id(sst_cache *c);
/* The cached block, with a reference taken, or NULL. */
sst_cache_entry *sst_cache_lookup(sst_cache *c, uint64_t id, uint64_t off);
/* Inserts `data` (malloc'd; the cache takes it) and returns it referenced.
 * NULL when out of memory (data is freed then). */
sst_cache_entry *sst_cache_insert(sst_cache *c, uint64_t id, uint64_t off,
                                  uint8_t *data, size_t n);
const uint8_t *sst_cache_data(const sst_cache_entry *e, size_t *n);
void sst_cache_release(sst_cache *c, sst_cache_entry *e);
/* Bytes charged now. */
size_t sst_cache_usage(sst_cache *c);

#endif
