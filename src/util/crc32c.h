/*
 * crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by
 * LevelDB's log and table formats, plus LevelDB's checksum masking.
 *
 * The implementation uses the SSE4.2 crc32 instruction when the CPU has it
 * (detected once at run time) and a portable table-driven fallback otherwise.
 * Both are tested against the same known vectors.
 */
#ifndef STRATA_UTIL_CRC32C_H
#define STRATA_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of data[0..n) continuing from `crc` (the CRC of preceding bytes;
 * 0 to start). crc32c_extend(crc32c_extend(0, a), b) == crc32c(a ++ b). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c_value(const void *data, size_t n) {
  return crc32c_extend(0, data, n);
}

/* The two implementations, for tests and benchmarks. crc32c_hw must only be
 * called when crc32c_hw_available() is true. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t n);
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t n);
int crc32c_hw_available(void);

/* LevelDB's masking: storing the CRC of a string that itself contains CRCs
 * is problematic, so stored CRCs are rotated and offset. */
#define CRC32C_MASK_DELTA 0xa282ead8u

static inline uint32_t crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + CRC32C_MASK_DELTA;
}

static inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - CRC32C_MASK_DELTA;
  return (rot >> 17) | (rot << 15);
}

#endif
