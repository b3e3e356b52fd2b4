/*
 * memtable.h — the LSM engine's in-memory table: a skiplist of internal keys
 * (user key + fixed64 (sequence << 8 | type), ordered as in sstable/ikey.h)
 * whose nodes and entries live in one arena.
 *
 * Concurrency: one writer at a time (the caller serializes mem_add), any
 * number of readers (mem_get, iterators) at once with the writer, without
 * locks: a node is fully written before it is published with a release store,
 * readers load links with acquire. Nothing is ever removed; the whole table
 * is freed when its last reference goes.
 *
 * Entry encoding in the arena (LevelDB's memtable entry): varint32 internal
 * key length, internal key, varint32 value length, value.
 */
#ifndef STRATA_LSM_MEMTABLE_H
#define STRATA_LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sst_iter.h"

typedef struct mem_table mem_table;

enum { MEM_ABSENT = 0, MEM_FOUND = 1, MEM_DELETED = 2 };

/* A new empty table with one reference; NULL when out of memory. */
mem_table *mem_create(void);
void mem_ref(mem_table *m);
/* Drops a reference; the last one frees the table (accepts NULL). */
void mem_unref(mem_table *m);

/* Inserts (key, seq, type) -> value; type is IKEY_VALUE or IKEY_DELETION
 * (value empty). Writer only. STRATA_OK or STRATA_NO_MEMORY (table
 * unchanged). (key, seq) pairs are unique: the caller never repeats one
 * (if damaged input does, the later insert is the one found first).
 * STRATA_INVALID_ARGUMENT (table unchanged) for another type, a sequence
 * above IKEY_MAX_SEQUENCE, or a key or value of 4 GiB or more. */
int mem_add(mem_table *m, uint64_t seq, int type, const uint8_t *key, size_t kn,
            const uint8_t *value, size_t vn);

/* The newest version of `key` with sequence <= seq: MEM_FOUND with a copy of
 * its value (*value malloc'd, caller frees; never NULL), MEM_DELETED if that
 * version is a deletion, MEM_ABSENT if the table holds no such version;
 * STRATA_NO_MEMORY is returned as -1 when the copy fails. */
int mem_get(mem_table *m, const uint8_t *key, size_t kn, uint64_t seq,
            uint8_t **value, size_t *vn);

/* Bytes of memory held (arena blocks and skiplist overhead); may be read from
 * any thread. */
size_t mem_usage(const mem_table *m);
/* Entries inserted. */
uint64_t mem_entries(const mem_table *m);

/* An iterator over every entry in internal-key order (keys are internal
 * keys; values as stored); it takes a reference on m, dropped when destroyed.
 * Entries added after its creation may or may not be seen. NULL when out of
 * memory. */
sst_iter *mem_iter(mem_table *m);

#endif
