/*
 * crc32c.c — CRC-32C (Castagnoli), the checksum of LevelDB's log and table
 * formats (docs/formats/log.md).
 *
 * Convention: every entry point takes and returns a *finalized* CRC (the value
 * stored on disk before masking), as LevelDB's crc32c::Extend does. Internally
 * the running register is the finalized value xor 0xffffffff, so starting from
 * 0 is the standard initial value 0xffffffff, and
 * crc32c_extend(crc32c_extend(0, a), b) == crc32c_value(a ++ b).
 *
 * Two implementations compute the same function:
 *  - crc32c_sw: portable slicing-by-8 over eight 256-entry tables built once
 *    (pthread_once) from the reflected polynomial 0x82F63B78.
 *  - crc32c_hw: the SSE4.2 crc32 instruction. One crc32 has a latency of three
 *    cycles but a throughput of one per cycle, so the input is consumed in
 *    runs of 3 x 8 KiB (then 3 x 256 B), each run's three parts CRC'd as
 *    independent interleaved streams and then combined (about 3x faster than
 *    one stream); the tail goes 8 bytes, then 1 byte, at a time. Combining
 *    works because the CRC register is linear over GF(2):
 *    raw(init, A ++ B) == shift(raw(init, A), |B|) ^ raw(0, B),
 *    where shift() appends |B| zero bytes, applied here with four table
 *    lookups per combination (the method of Mark Adler's crc32c.c).
 *
 * crc32c_extend picks one of the two on its first call and caches the choice
 * in an atomic function pointer; racing first calls choose the same function,
 * so the race is benign.
 *
 * Input is arbitrary bytes; nothing here interprets them, so there is no
 * damage to handle.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#else
#define CRC32C_HAVE_X86 0
#endif

#define POLY 0x82F63B78u /* reflected Castagnoli polynomial */

enum {
  HW_LONG = 8192, /* bytes per stream in the large interleaved loop */
  HW_SHORT = 256  /* bytes per stream in the small interleaved loop */
};

/* sw_table[k][b]: the register after feeding byte b followed by k zero
 * bytes into a zero register. */
static uint32_t sw_table[8][256];
/* Operators appending HW_LONG / HW_SHORT zero bytes to a raw CRC, split by
 * the register's four bytes: shift(c) = t[0][c&ff] ^ ... ^ t[3][c>>24]. */
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Multiplies the 32x32 GF(2) matrix `mat` (column i = image of bit i) by
 * `vec`. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, mat++)
    if (vec & 1) sum ^= *mat;
  return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
  for (int n = 0; n < 32; n++)
    square[n] = gf2_times(mat, mat[n]);
}

/* Builds in `op` the operator appending `len` zero bytes; len must be a
 * power of two. */
static void zeros_operator(uint32_t op[32], size_t len) {
  uint32_t a[32], b[32];
  /* a: one zero bit. */
  a[0] = POLY;
  for (int n = 1; n < 32; n++)
    a[n] = 1u << (n - 1);
  gf2_square(b, a); /* two bits */
  gf2_square(a, b); /* four bits */
  gf2_square(b, a); /* one byte */
  uint32_t *cur = b, *other = a;
  for (; len > 1; len >>= 1) {
    gf2_square(other, cur);
    uint32_t *t = cur;
    cur = other;
    other = t;
  }
  memcpy(op, cur, sizeof a);
}

static void build_shift_table(uint32_t table[4][256], size_t len) {
  uint32_t op[32];
  zeros_operator(op, len);
  for (uint32_t n = 0; n < 256; n++) {
    table[0][n] = gf2_times(op, n);
    table[1][n] = gf2_times(op, n << 8);
    table[2][n] = gf2_times(op, n << 16);
    table[3][n] = gf2_times(op, n << 24);
  }
}

static void init_tables(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (POLY & (0u - (c & 1)));
    sw_table[0][n] = c;
  }
  for (int k = 1; k < 8; k++)
    for (int n = 0; n < 256; n++) {
      uint32_t prev = sw_table[k - 1][n];
      sw_table[k][n] = (prev >> 8) ^ sw_table[0][prev & 0xff];
    }
  build_shift_table(shift_long, HW_LONG);
  build_shift_table(shift_short, HW_SHORT);
}

static inline uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  const uint32_t(*t)[256] = (const uint32_t(*)[256])sw_table;
  uint32_t c = crc ^ 0xffffffffu;
  pthread_once(&tables_once, init_tables);
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo = c ^ load_le32(p), hi = load_le32(p + 4);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
        t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
        t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; n--, p++)
    c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
  return c ^ 0xffffffffu;
}

#if CRC32C_HAVE_X86

static inline uint32_t shift_crc(const uint32_t table[4][256], uint32_t c) {
  return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^
         table[2][(c >> 16) & 0xff] ^ table[3][c >> 24];
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* CRCs as many leading 3*len-byte runs of p[0..*n) as there are, as three
 * interleaved streams of len bytes each, continuing raw register c0; advances
 * *p and *n past them and returns the new raw register. len is a multiple of
 * 8 and `table` appends len zero bytes. */
__attribute__((target("sse4.2"), always_inline)) static inline uint64_t
crc_triples(uint64_t c0, const uint8_t **pp, size_t *np, size_t len,
            const uint32_t table[4][256]) {
  const uint8_t *p = *pp;
  size_t n = *np;
  for (; n >= 3 * len; n -= 3 * len, p += 2 * len) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t *end = p + len;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + len));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * len));
      p += 8;
    } while (p < end);
    c0 = shift_crc(table, (uint32_t)c0) ^ (uint32_t)c1;
    c0 = shift_crc(table, (uint32_t)c0) ^ (uint32_t)c2;
  }
  *pp = p;
  *np = n;
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t
crc32c_hw(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  uint64_t c0 = crc ^ 0xffffffffu;
  if (n >= 3 * HW_SHORT) pthread_once(&tables_once, init_tables);
  /* Align to 8 so the word loads below do not straddle cache lines. */
  while (n > 0 && ((uintptr_t)p & 7) != 0) {
    c0 = _mm_crc32_u8((uint32_t)c0, *p++);
    n--;
  }
  c0 = crc_triples(c0, &p, &n, HW_LONG, (const uint32_t(*)[256])shift_long);
  c0 = crc_triples(c0, &p, &n, HW_SHORT, (const uint32_t(*)[256])shift_short);
  for (; n >= 8; n -= 8, p += 8)
    c0 = _mm_crc32_u64(c0, load64(p));
  for (; n > 0; n--)
    c0 = _mm_crc32_u8((uint32_t)c0, *p++);
  return (uint32_t)c0 ^ 0xffffffffu;
}

int crc32c_hw_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}

#else /* !CRC32C_HAVE_X86 */

/* No crc32 instruction on this architecture: crc32c_hw_available() is 0, and
 * crc32c_hw computes the same function in software. */
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t n) {
  return crc32c_sw(crc, data, n);
}

int crc32c_hw_available(void) { return 0; }

#endif

typedef uint32_t (*crc32c_fn)(uint32_t crc, const void *data, size_t n);

static uint32_t crc32c_resolve(uint32_t crc, const void *data, size_t n);

/* The implementation crc32c_extend calls; crc32c_resolve until the first
 * call has chosen. */
static _Atomic(crc32c_fn) crc32c_impl = crc32c_resolve;

static uint32_t crc32c_resolve(uint32_t crc, const void *data, size_t n) {
  crc32c_fn fn = crc32c_hw_available() ? crc32c_hw : crc32c_sw;
  atomic_store_explicit(&crc32c_impl, fn, memory_order_release);
  return fn(crc, data, n);
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n) {
  return atomic_load_explicit(&crc32c_impl, memory_order_acquire)(crc, data, n);
}
