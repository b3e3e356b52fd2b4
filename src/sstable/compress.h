/*
 * compress.h — block compression: none (0), Snappy (1, LevelDB's default),
 * zstd (2, strata-only; LevelDB 1.23 cannot read it).
 */
#ifndef STRATA_SSTABLE_COMPRESS_H
#define STRATA_SSTABLE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sst_buf.h"

/* Compresses `in` with `type` into out (replacing its contents). Returns 0,
 * or -1 if the type is unknown or the library failed (store uncompressed). */
int sst_compress(int type, const uint8_t *in, size_t n, sst_buf *out);

/* Uncompresses a block of `type` into a malloc'd buffer (*out, *out_n;
 * caller frees). STRATA_OK; STRATA_CORRUPTION if the bytes do not
 * uncompress or the type is unknown (message names file and offset);
 * STRATA_NO_MEMORY. Type 0 copies. */
int sst_uncompress(int type, const uint8_t *in, size_t n, uint8_t **out,
                   size_t *out_n, const char *file, uint64_t offset);

#endif
