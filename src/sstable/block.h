/*
 * block.h — building and reading one table block (format in block.c).
 */
#ifndef STRATA_SSTABLE_BLOCK_H
#define STRATA_SSTABLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/ikey.h"
#include "sstable/sst_buf.h"
#include "sstable/sst_iter.h"

typedef struct sst_block_builder {
  sst_buf buf;        /* entries so far */
  uint32_t *restarts; /* offsets of restart entries */
  size_t nrestarts;   /* restarts in use */
  size_t caprestarts; /* restart slots allocated */
  int interval;       /* entries between restarts (>= 1) */
  int counter;        /* entries since the last restart */
  sst_buf last;       /* the last key added */
  size_t entries;     /* entries added */
  int finished;       /* 1 after finish until reset */
} sst_block_builder;

void sst_block_builder_init(sst_block_builder *b, int restart_interval);
void sst_block_builder_free(sst_block_builder *b);
void sst_block_builder_reset(sst_block_builder *b);
/* Adds an entry; keys must be added in increasing order. -1 out of memory. */
int sst_block_builder_add(sst_block_builder *b, const void *k, size_t kn,
                          const void *v, size_t vn);
/* Appends the restart array; returns the block contents (valid until the
 * builder changes), or NULL when out of memory. */
const uint8_t *sst_block_builder_finish(sst_block_builder *b, size_t *size);
/* Size the block would have if finished now. */
size_t sst_block_builder_size(const sst_block_builder *b);

/* Checks the restart array of a block. STRATA_OK or STRATA_CORRUPTION (message
 * names `file` and `offset`). */
int sst_block_check(const uint8_t *data, size_t size, const char *file,
                    uint64_t offset);

/* Checks a whole block in one forward pass (O(size)): the restart array,
 * every entry's lengths, entries ending exactly at the restart array, every
 * restart offset at an entry with shared == 0, and keys strictly increasing
 * under `cmp`. A block that passes iterates the same entries forward and
 * backward and seeks correctly. The table reader validates every block it
 * reads from disk once, so iterators over it (created per lookup) need not.
 * STRATA_OK or STRATA_CORRUPTION naming `file` and `offset`. */
int sst_block_validate(const uint8_t *data, size_t size, sst_cmp cmp,
                       const char *file, uint64_t offset);

/* One-shot seek without an iterator (for point lookups): finds the first
 * entry with key >= k. Returns 1 and sets the key (in `scratch`, which the
 * caller owns and frees; valid until scratch changes) and the value (inside
 * data); 0 if every key is < k; -STRATA_CORRUPTION when the block is
 * malformed (message naming file and offset); -STRATA_NO_MEMORY. */
int sst_block_find(const uint8_t *data, size_t size, sst_cmp cmp,
                   const uint8_t *k, size_t n, sst_buf *scratch,
                   const uint8_t **key, size_t *kn, const uint8_t **val,
                   size_t *vn, const char *file, uint64_t offset);

/* An iterator over block contents `data` (not copied; must outlive the
 * iterator unless `owned`, in which case it is free()d with the iterator).
 * Malformed entries make the iterator invalid with STRATA_CORRUPTION naming
 * `file` and `offset`. Returns NULL when out of memory (an owned buffer is
 * freed then). */
sst_iter *sst_block_iter(const uint8_t *data, size_t size, int owned,
                         sst_cmp cmp, const char *file, uint64_t offset);

#endif
