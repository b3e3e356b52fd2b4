/*
 * table_cache.h — the table cache: open tables of one database directory by
 * file number, at most `max_open` of them (so at most that many file
 * descriptors) beyond those in use, least recently used closed first.
 * Thread-safe. Reads no bytes itself (tables are opened by table_reader).
 */
#ifndef STRATA_SSTABLE_TABLE_CACHE_H
#define STRATA_SSTABLE_TABLE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "sstable/table_reader.h"

typedef struct sst_table_cache sst_table_cache;
typedef struct sst_table_ref sst_table_ref;

/* Tables DIR/NNNNNN.ldb opened with `o` (copied; o->cache may be shared).
 * NULL when out of memory. Destroy after every reference is released. */
sst_table_cache *sst_table_cache_create(env *e, const char *dir,
                                        size_t max_open,
                                        const strata_table_options *o);
void sst_table_cache_destroy(sst_table_cache *c);

/* Where the tables opened from now on report damage (set before use). */
void sst_table_cache_set_damage(sst_table_cache *c, strata_table_damage_fn fn,
                                void *arg);

/* The open table of file `number` (opening it if needed) with a reference
 * taken: *t is valid until sst_table_cache_release(c, *ref). Damage found
 * while opening goes to the options' policy (open errors are returned). */
int sst_table_cache_get(sst_table_cache *c, uint64_t number, sst_table **t,
                        sst_table_ref **ref);
void sst_table_cache_release(sst_table_cache *c, sst_table_ref *ref);
/* Forgets file `number` (after it is deleted); closes it once unused. */
void sst_table_cache_evict(sst_table_cache *c, uint64_t number);
/* Tables open now. */
size_t sst_table_cache_open_count(sst_table_cache *c);

#endif
