/*
 * compress.c — block compression through Debian's libsnappy (snappy-c.h) and
 * libzstd. The compressed bytes are those of LevelDB's format: a Snappy
 * block is raw snappy (no framing), as LevelDB writes it.
 *
 * Damage: a compressed block is only uncompressed after its checksum
 * matched, but the uncompressed length a Snappy or zstd header claims is
 * still bounded (SST_MAX_BLOCK) before anything is allocated, and a failure
 * to uncompress is corruption, never a crash.
 */
#include "sstable/compress.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <zstd.h>

#include "sstable/sst_format.h"
#include "util/status.h"

enum { SST_MAX_BLOCK = 1 << 30 }; /* refuse to uncompress beyond 1 GiB */

int sst_compress(int type, const uint8_t *in, size_t n, sst_buf *out) {
  out->len = 0;
  if (type == SST_COMPRESS_SNAPPY) {
    size_t cap = snappy_max_compressed_length(n);
    if (sst_buf_reserve(out, cap)) return -1;
    size_t got = cap;
    if (snappy_compress((const char *)in, n, (char *)out->data, &got) !=
        SNAPPY_OK)
      return -1;
    out->len = got;
    return 0;
  }
  if (type == SST_COMPRESS_ZSTD) {
    size_t cap = ZSTD_compressBound(n);
    if (sst_buf_reserve(out, cap)) return -1;
    size_t got = ZSTD_compress(out->data, cap, in, n, 1);
    if (ZSTD_isError(got)) return -1;
    out->len = got;
    return 0;
  }
  return -1;
}

int sst_uncompress(int type, const uint8_t *in, size_t n, uint8_t **out,
                   size_t *out_n, const char *file, uint64_t offset) {
  size_t len = 0;
  *out = NULL;
  *out_n = 0;
  if (type == SST_COMPRESS_NONE) {
    len = n;
  } else if (type == SST_COMPRESS_SNAPPY) {
    if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK ||
        len > SST_MAX_BLOCK)
      return ST_CORRUPT("%s: corrupted snappy block at offset %llu", file,
                        (unsigned long long)offset);
  } else if (type == SST_COMPRESS_ZSTD) {
    unsigned long long z = ZSTD_getFrameContentSize(in, n);
    if (z == ZSTD_CONTENTSIZE_ERROR || z == ZSTD_CONTENTSIZE_UNKNOWN ||
        z > SST_MAX_BLOCK)
      return ST_CORRUPT("%s: corrupted zstd block at offset %llu", file,
                        (unsigned long long)offset);
    len = (size_t)z;
  } else {
    return ST_CORRUPT("%s: unknown compression type %d in block at offset %llu",
                      file, type, (unsigned long long)offset);
  }
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return st_error(STRATA_NO_MEMORY, "out of memory");
  if (type == SST_COMPRESS_NONE) {
    if (n) memcpy(buf, in, n);
  } else if (type == SST_COMPRESS_SNAPPY) {
    size_t got = len;
    if (snappy_uncompress((const char *)in, n, (char *)buf, &got) !=
            SNAPPY_OK ||
        got != len) {
      free(buf);
      return ST_CORRUPT("%s: corrupted snappy block at offset %llu", file,
                        (unsigned long long)offset);
    }
  } else {
    size_t got = ZSTD_decompress(buf, len, in, n);
    if (ZSTD_isError(got) || got != len) {
      free(buf);
      return ST_CORRUPT("%s: corrupted zstd block at offset %llu", file,
                        (unsigned long long)offset);
    }
  }
  *out = buf;
  *out_n = len;
  return STRATA_OK;
}
