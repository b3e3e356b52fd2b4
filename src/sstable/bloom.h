/*
 * bloom.h — LevelDB's bloom filter ("leveldb.BuiltinBloomFilter2") and its
 * filter block (format in bloom.c), so that filters are interchangeable with
 * LevelDB's in both directions.
 */
#ifndef STRATA_SSTABLE_BLOOM_H
#define STRATA_SSTABLE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sst_buf.h"

/* LevelDB's Hash() with seed 0xbc9f1d34 (BloomHash). */
uint32_t bloom_hash(const uint8_t *p, size_t n);

/* Appends one filter over `n` keys (keys[i], lens[i]) at `bits_per_key` to
 * dst; -1 when out of memory. */
int bloom_create(sst_buf *dst, int bits_per_key, const uint8_t *const *keys,
                 const size_t *lens, size_t n);
/* 1 if the key may be in the filter, 0 if it is certainly not. A malformed or
 * unknown-parameter filter answers 1 (never a false negative). */
int bloom_may_match(const uint8_t *filter, size_t n, const uint8_t *key,
                    size_t kn);

/* Builds a filter block: call start(block_offset) before each data block's
 * keys, add_key per key, finish once. */
typedef struct filter_builder {
  int bits_per_key;  /* bloom bits per key */
  sst_buf keys;      /* keys of the pending filter, concatenated */
  size_t *starts;    /* start of each pending key in `keys` */
  size_t nkeys, cap; /* pending keys, slots allocated */
  sst_buf result;    /* filters built so far, then the whole block */
  uint32_t *offsets; /* start of each filter in `result` */
  size_t noffsets;   /* filters built */
  size_t capoffsets; /* slots allocated */
} filter_builder;

void filter_builder_init(filter_builder *f, int bits_per_key);
void filter_builder_free(filter_builder *f);
int filter_builder_start(filter_builder *f, uint64_t block_offset);
int filter_builder_add(filter_builder *f, const uint8_t *k, size_t n);
/* The finished block, valid until filter_builder_free; NULL out of memory. */
const uint8_t *filter_builder_finish(filter_builder *f, size_t *size);

/* Reads a filter block (not copied). A malformed block is accepted and
 * answers "may match" for every key. */
typedef struct filter_reader {
  const uint8_t *data; /* block contents */
  size_t offsets;      /* offset of the filter-offset array in data */
  size_t num;          /* number of filters */
  int base_lg;         /* log2 of the data-offset range per filter */
  int valid;           /* 0 if the block is malformed */
} filter_reader;

void filter_reader_init(filter_reader *r, const uint8_t *data, size_t size);
int filter_reader_may_match(const filter_reader *r, uint64_t block_offset,
                            const uint8_t *key, size_t n);

#endif
