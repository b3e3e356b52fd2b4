/*
 * sst_format.h — constants of LevelDB's table format (docs/formats/table.md,
 * which follows Debian leveldb-doc's table_format.md byte for byte).
 *
 *   [data block 1] ... [data block N] [filter block] [metaindex] [index]
 *   [footer: metaindex handle, index handle, zero padding to 40 bytes,
 *            magic 0xdb4775248b80fb57 as fixed64 LE]                 48 bytes
 *
 * Every block is followed by a 5-byte trailer: compression type (1 byte) and
 * the masked CRC32C of the block contents followed by that type byte. A block
 * handle is varint64 offset, varint64 size (size excludes the trailer).
 */
#ifndef STRATA_SSTABLE_SST_FORMAT_H
#define STRATA_SSTABLE_SST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SST_MAGIC 0xdb4775248b80fb57ull
#define SST_FILTER_META_KEY "filter.leveldb.BuiltinBloomFilter2"

enum {
  SST_TRAILER = 5,         /* type byte + masked CRC32C */
  SST_FOOTER = 48,         /* 2 handles padded to 40 + 8-byte magic */
  SST_HANDLE_MAX = 20,     /* two varint64s */
  SST_FILTER_BASE_LG = 11, /* one filter per 2 KiB of data-block offsets */
  SST_COMPRESS_NONE = 0,   /* LevelDB kNoCompression */
  SST_COMPRESS_SNAPPY = 1, /* LevelDB kSnappyCompression */
  SST_COMPRESS_ZSTD = 2    /* upstream LevelDB kZstdCompression (not 1.23) */
};

/* Where a block lives: `size` bytes at `offset`, trailer after them. */
typedef struct sst_handle {
  uint64_t offset; /* first byte of the block contents in the file */
  uint64_t size;   /* bytes of contents, trailer excluded */
} sst_handle;

/* The decoded footer. */
typedef struct sst_footer {
  sst_handle metaindex; /* the metaindex block */
  sst_handle index;     /* the index block */
} sst_footer;

/* Appends the handle's encoding to dst (room for SST_HANDLE_MAX); returns
 * one past its end. */
uint8_t *sst_handle_encode(uint8_t *dst, const sst_handle *h);
/* Decodes a handle from [p, limit); NULL if malformed. */
const uint8_t *sst_handle_decode(const uint8_t *p, const uint8_t *limit,
                                 sst_handle *h);
/* Encodes the 48-byte footer. */
void sst_footer_encode(uint8_t out[SST_FOOTER], const sst_footer *f);
/* Decodes a footer; STRATA_CORRUPTION (with a message naming `file`) on a bad
 * magic or malformed handles. */
int sst_footer_decode(const uint8_t in[SST_FOOTER], const char *file,
                      sst_footer *f);

#endif
