/*
 * salvage.h — finding the blocks of a table without its footer or index
 * (algorithm and cost in salvage.c).
 */
#ifndef STRATA_SSTABLE_SALVAGE_H
#define STRATA_SSTABLE_SALVAGE_H

#include <stddef.h>
#include <stdint.h>

/* One region of the file, in file order: a verified block or a gap. */
typedef struct sst_region {
  uint64_t offset; /* first byte (block contents or gap) */
  uint64_t size;   /* block contents (trailer excluded) or gap bytes */
  int type;        /* block: the trailer's compression byte; gap: -1 */
} sst_region;

/* Walks img[0, end) (end: the footer's start if the footer is intact, else
 * the file size) and splits it into verified blocks and gaps covering it
 * exactly. *out is malloc'd (caller frees). STRATA_OK or STRATA_NO_MEMORY. */
int sst_salvage_scan(const uint8_t *img, size_t end, sst_region **out,
                     size_t *n);

/* x^(8k) modulo the CRC32C polynomial applied to a CRC: the CRC of A || B
 * is sst_crc_shift(crc(A), |B|) ^ crc(B). Exposed for tests. */
uint32_t sst_crc_shift(uint32_t crc, uint64_t bytes);

#endif
