/*
 * bc_keydir.h — the Bitcask key directory: an in-memory hash table from key
 * to where its newest entry is. Not thread-safe: the engine guards it with
 * its reader-writer lock (lookups under the read lock must not run while a
 * mutation runs).
 *
 * Memory: per key a 32-byte packed entry, the key with a 1-3 byte length
 * prefix in a chunked arena, and an 8-byte slot at a load of 3/8..3/4 — at
 * 16-byte keys about 60 bytes. Growing never copies entries or keys (they sit
 * in fixed chunks); the slot table doubles incrementally: the old table is
 * moved a few hundred slots per mutation, so no insert pays for a whole
 * rehash.
 */
#ifndef STRATA_BC_KEYDIR_H
#define STRATA_BC_KEYDIR_H

#include <stddef.h>
#include <stdint.h>

/* Where a key's newest entry is (unpacked). */
typedef struct bc_loc {
  uint32_t file_id; /* data file id (< 2^24) */
  uint64_t offset;  /* file offset of the first fragment holding the entry */
  uint32_t size;    /* bytes of the fragments holding the entry (< 2^31) */
  uint32_t sub;     /* entry's position in those fragments' payload */
  uint64_t ts;      /* entry timestamp (microseconds, unique) */
  uint32_t expiry;  /* unix seconds after which it is gone; 0 = never */
  int tombstone;    /* 1 if the entry is a deletion */
} bc_loc;

typedef struct bc_keydir bc_keydir;

bc_keydir *bc_keydir_create(void); /* NULL when out of memory */
void bc_keydir_destroy(bc_keydir *kd); /* accepts NULL */

/* Sizes the empty table for about n keys (a hint, e.g. from hint file
 * sizes at open), so loading does not resize. No-op once keys are held. */
int bc_keydir_reserve(bc_keydir *kd, size_t n);

/* Bytes of one chunk of entries or of keys. */
#define BC_KEYDIR_CHUNK ((size_t)2 << 20)

/* A pool of chunks whose pages another thread has already faulted in: while
 * open loads hint files, the decoding thread fills it (bc_keydir_pool_fill:
 * up to a few chunks) and the keydir takes its new chunks from it, so the
 * page faults of a growing directory (10M keys: 490 MiB, 120,000 faults)
 * leave the inserting thread. Set a pool only while no other thread uses
 * the keydir's chunks (they are freed with free()); fill may run on any one
 * thread. */
typedef struct bc_keydir_pool bc_keydir_pool;
bc_keydir_pool *bc_keydir_pool_create(void); /* NULL when out of memory */
void bc_keydir_pool_destroy(bc_keydir_pool *p); /* accepts NULL */
void bc_keydir_pool_fill(bc_keydir_pool *p);
void bc_keydir_set_pool(bc_keydir *kd, bc_keydir_pool *p); /* NULL: none */

/* Faults in part `part` of `parts` of the slot table (a large one, just
 * sized by bc_keydir_reserve), front to back: faulted in by random inserts,
 * each huge page is first mapped read-only then copied on the first write,
 * and a freshly zeroed page may come from memory the host has to back
 * first. Open splits this between its two threads before any insert; it
 * touches only slot memory and may run while another thread does the same
 * for another part, not while the keydir changes. */
void bc_keydir_populate(bc_keydir *kd, int part, int parts);

/* 1 and *out if the key is present (tombstones are present), else 0. */
int bc_keydir_get(const bc_keydir *kd, const void *key, size_t klen,
                  bc_loc *out);

/* Sets the key's location. If `only_newer`, an existing entry with a larger
 * timestamp is kept (recovery reads files in any order). *replaced (may be
 * NULL) receives the previous location and *had is set to 1 if there was one
 * (0 otherwise). Returns STRATA_OK, or STRATA_NO_MEMORY. */
int bc_keydir_put(bc_keydir *kd, const void *key, size_t klen,
                  const bc_loc *loc, int only_newer, bc_loc *replaced,
                  int *had);

/* The hash of a key, and bc_keydir_put with it precomputed: bulk loaders
 * hash a run of keys, bc_keydir_prefetch each, then put them, so the random
 * slot accesses overlap instead of stalling one after another. */
uint32_t bc_keydir_hash(const void *key, size_t klen);
void bc_keydir_prefetch(const bc_keydir *kd, uint32_t h);
int bc_keydir_put_hashed(bc_keydir *kd, uint32_t h, const void *key,
                         size_t klen, const bc_loc *loc, int only_newer,
                         bc_loc *replaced, int *had);

/* What bc_keydir_load did. */
enum {
  BC_KEYDIR_KEPT = 0,    /* the held entry is newer: nothing changed */
  BC_KEYDIR_ADDED = 1,   /* the key was new */
  BC_KEYDIR_REPLACED = 2 /* the held entry (*prev) was replaced */
};

/* Recovery's put: newest timestamp wins (a held entry with a larger
 * timestamp is kept, an equal one replaced, as bc_keydir_put with
 * only_newer), and *effect says which of the three happened. */
int bc_keydir_load(bc_keydir *kd, uint32_t h, const void *key, size_t klen,
                   const bc_loc *loc, bc_loc *prev, int *effect);

/* Replaces the location only if it still equals *expect (same file, offset,
 * timestamp); returns 1 if it did. */
int bc_keydir_replace_if(bc_keydir *kd, const void *key, size_t klen,
                         const bc_loc *expect, const bc_loc *loc);
/* Removes the key only if its location still equals *expect; 1 if it did. */
int bc_keydir_remove_if(bc_keydir *kd, const void *key, size_t klen,
                        const bc_loc *expect);

/* Keys held (tombstones included) and tombstones among them. */
size_t bc_keydir_count(const bc_keydir *kd);
size_t bc_keydir_tombstones(const bc_keydir *kd);
/* Bytes of memory the directory holds (tables, entries, key chunks). */
size_t bc_keydir_memory(const bc_keydir *kd);

/* Entries are numbered 0..bc_keydir_capacity()-1 and keep their number while
 * they live; a walk over the numbers visits every key once (plus free
 * numbers). Returns 1 for a live number with its key (valid until the next
 * mutation) and location, 0 for a free one. */
size_t bc_keydir_capacity(const bc_keydir *kd);
int bc_keydir_entry(const bc_keydir *kd, size_t i, const uint8_t **key,
                    size_t *klen, bc_loc *loc);

#endif
