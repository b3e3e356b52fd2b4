/*
 * salvage.c — recovering a table's blocks when its footer, metaindex or
 * index is lost (LevelDB's table format; docs/formats/table.md).
 *
 * A block's length is stored only in the index. Without it, a block is
 * recognised by its trailer: bytes [q, r) are block contents if byte r is a
 * known compression type and the fixed32 at r+1 is the masked CRC32C of
 * bytes [q, r]. Trying every (q, r) directly costs O(n^2) CRC bytes. Instead
 * the CRC's linearity is used: with C(i) the CRC32C of the file's first i
 * bytes and Z_k(c) = c * x^(8k) mod P (appending k bytes' worth of shift),
 *   crc(bytes[q, r]) = C(r+1) ^ Z_{r+1-q}(C(q)),
 * so the trailer at r validates the block starting at q iff
 *   Z_{n-q}(C(q)) == Z_{n-r-1}(C(r+1) ^ t(r))      (t = the unmasked CRC).
 * Both sides are one 32-bit key per position: the trailer side only where
 * the byte is a known compression type (0, 1, 2), sorted; then each start
 * position's key is looked up among them (through a hash index). Cost: O(n)
 * table steps (about ten per byte: start-side keys follow each other by an
 * affine recurrence, see below), a GF(2) multiplication per trailer candidate,
 * O(t log t) to sort the t candidates and O(n) hash lookups; memory 4 bytes per
 * file byte plus 8 per trailer candidate. Every match is then confirmed by
 * computing the CRC of its bytes exactly, from the prefix CRCs in O(log n)
 * (random 32-bit coincidences among the pairs are expected for large files,
 * span anything, and are discarded there).
 *
 * Choosing the blocks: candidate blocks form chains (a block is followed by
 * the next one 5 bytes after its end). Walking from offset 0, at each point
 * the shortest candidate starting there is taken, preferring one whose chain
 * reaches the end of the region; where no candidate starts (a damaged
 * block), the walk resumes at the first later candidate whose chain reaches
 * the end (or, if none does, the first later candidate), and the bytes
 * skipped are a gap. Like the log reader's anchoring, a run of blocks that
 * merely validates inside a value is not preferred over a chain that
 * continues to the end of the table.
 */
#include "sstable/salvage.h"

#include <assert.h>
#include <stdlib.h>

#include "sstable/sst_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

#define POLY 0x82f63b78u

/* a * b mod P, both in CRC32C's reflected representation (x^0 = bit 31). */
static uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
  }
  return p;
}

uint32_t sst_crc_shift(uint32_t crc, uint64_t bytes) {
  uint32_t sq = 0x00800000u, r = 1u << 31; /* x^8, x^0 */
  for (; bytes; bytes >>= 1) {
    if (bytes & 1) r = multmodp(r, sq);
    sq = multmodp(sq, sq);
  }
  return multmodp(r, crc);
}

typedef struct keyed {
  uint32_t key; /* Z_{n-r-1}(C(r+1) ^ t(r)) */
  uint32_t pos; /* r, the trailer's position */
} keyed;

static int by_key(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct cand {
  uint32_t q, r; /* contents [q, r), trailer at r */
  int ok;        /* 1: its chain reaches the end */
} cand;

static int by_q(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->q != y->q) return x->q < y->q ? -1 : 1;
  return x->r < y->r ? -1 : x->r > y->r;
}

/* Index of the first candidate with q >= pos. */
static size_t lower_q(const cand *c, size_t n, uint64_t pos) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c[mid].q < pos)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int push_region(sst_region **v, size_t *n, size_t *cap, uint64_t off,
                       uint64_t size, int type) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    sst_region *r = realloc(*v, nc * sizeof *r);
    if (!r) return -1;
    *v = r;
    *cap = nc;
  }
  (*v)[(*n)++] = (sst_region){off, size, type};
  return 0;
}

int sst_salvage_scan(const uint8_t *img, size_t end, sst_region **out,
                     size_t *nout) {
  *out = NULL;
  *nout = 0;
  if (end > UINT32_MAX - 8)
    return st_error(STRATA_NOT_SUPPORTED, "table too large to salvage");
  size_t cap = 0;
  if (end < SST_TRAILER) {
    if (end && push_region(out, nout, &cap, 0, end, -1))
      return st_error(STRATA_NO_MEMORY, "out of memory");
    return STRATA_OK;
  }
  size_t last = end - SST_TRAILER; /* highest trailer position / start */
  uint32_t T[256]; /* one zero byte's worth of shift: Z_1 by table */
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t v = i;
    for (int k = 0; k < 8; k++)
      v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
    T[i] = v;
  }
  uint32_t *C = malloc((end + 1) * sizeof *C);
  keyed *right = NULL;
  size_t nright = 0;
  cand *cs = NULL;
  size_t ncs = 0, capcs = 0;
  sst_region *regs = NULL;
  uint32_t *hidx = NULL;
  int rc = STRATA_NO_MEMORY;
  if (!C) goto done;
  /* CRC32C of every prefix by the affine recurrence C(i+1) = Z_1(C(i)) ^
   * k0 ^ T[b_i] (k0 = Z_1(~0) ^ ~0: the pre/post inversion), so each step is
   * one table step. */
  const uint32_t k0 = ((0xffffffffu >> 8) ^ T[0xff]) ^ 0xffffffffu;
  C[0] = 0;
  for (size_t i = 0; i < end; i++)
    C[i + 1] = ((C[i] >> 8) ^ T[C[i] & 0xff]) ^ k0 ^ T[img[i]];
  assert(C[end] == crc32c_value(img, end));
  /* Trailer side: only positions whose type byte is a known compression
   * type can end a block (about 3 in 256 positions of compressed data). */
  for (size_t r = 0; r <= last; r++)
    nright += img[r] <= SST_COMPRESS_ZSTD;
  right = malloc((nright ? nright : 1) * sizeof *right);
  if (!right) goto done;
  nright = 0;
  uint32_t m = 1u << 31; /* x^(8(end-j)) */
  for (size_t j = end + 1; j-- > 0;) {
    if (j >= 1 && j - 1 <= last && img[j - 1] <= SST_COMPRESS_ZSTD) {
      uint32_t t = crc32c_unmask(decode_fixed32(img + j));
      right[nright++] = (keyed){multmodp(m, C[j] ^ t), (uint32_t)(j - 1)};
    }
    m = (m >> 8) ^ T[m & 0xff];
  }
  qsort(right, nright, sizeof *right, by_key);
  /* A hash index over the sorted keys (first index of each distinct key,
   * plus one; 0 = empty): a lookup per byte must not be a binary search
   * with its cache misses. Open addressing, load <= 1/2. */
  size_t hsize = 64;
  while (hsize < 2 * nright)
    hsize *= 2;
  hidx = calloc(hsize, sizeof *hidx);
  if (!hidx) goto done;
  for (size_t i = 0; i < nright; i++) {
    if (i && right[i].key == right[i - 1].key) continue;
    size_t h = (right[i].key * 0x9e3779b1u) & (hsize - 1);
    while (hidx[h])
      h = (h + 1) & (hsize - 1);
    hidx[h] = (uint32_t)i + 1;
  }
  /* Start side: every position q, its key K(q) = Z_{n-q}(C(q)) from the
   * next one's: K(q) = K(q+1) ^ Z_e(k0) ^ Z_e(T[b_q]) with e = n-1-q, where
   * Z_e(T[b]) is the XOR of Z_e(T[1 << i]) over the bits of b. Those nine
   * vectors advance by one table step per position: no multiplication. */
  uint32_t A = k0, B[8];
  for (int i = 0; i < 8; i++)
    B[i] = T[1u << i];
  uint32_t key = C[end];
  for (size_t j = end; j-- > 0;) {
    uint32_t b = img[j], d = A;
    for (int i = 0; i < 8; i++, b >>= 1)
      if (b & 1) d ^= B[i];
    key ^= d;
    A = (A >> 8) ^ T[A & 0xff];
    for (int i = 0; i < 8; i++)
      B[i] = (B[i] >> 8) ^ T[B[i] & 0xff];
    if (j > last) continue;
    size_t h = (key * 0x9e3779b1u) & (hsize - 1), lo = nright;
    for (; hidx[h]; h = (h + 1) & (hsize - 1))
      if (right[hidx[h] - 1].key == key) {
        lo = hidx[h] - 1;
        break;
      }
    uint32_t q = (uint32_t)j;
    for (; lo < nright && right[lo].key == key; lo++) {
      uint32_t r = right[lo].pos;
      if (r < q) continue;
      /* Exact check of the match: crc(bytes[q, r]) from the prefix CRCs
       * in O(log n), not O(r - q) (false matches can span the file). */
      uint32_t crc = C[r + 1] ^ sst_crc_shift(C[q], (uint64_t)r + 1 - q);
      if (crc != crc32c_unmask(decode_fixed32(img + r + 1))) continue;
      if (ncs == capcs) {
        size_t nc = capcs ? capcs * 2 : 64;
        cand *x = realloc(cs, nc * sizeof *x);
        if (!x) goto done;
        cs = x;
        capcs = nc;
      }
      cs[ncs++] = (cand){q, r, 0};
    }
  }
  if (ncs) qsort(cs, ncs, sizeof *cs, by_q);
  /* Chains: a candidate is ok if it ends at `end` or is followed by an ok
   * candidate. Later q first, so followers are decided before. */
  for (size_t i = ncs; i-- > 0;) {
    uint64_t next = (uint64_t)cs[i].r + SST_TRAILER;
    if (next == end) {
      cs[i].ok = 1;
      continue;
    }
    for (size_t j = lower_q(cs, ncs, next); j < ncs && cs[j].q == next; j++)
      if (cs[j].ok) {
        cs[i].ok = 1;
        break;
      }
  }
  size_t nr = 0, capr = 0;
  uint64_t p = 0;
  while (p < end) {
    size_t j = lower_q(cs, ncs, p), pick = ncs;
    for (size_t k = j; k < ncs && cs[k].q == p; k++)
      if (pick == ncs || (cs[k].ok && !cs[pick].ok)) pick = k;
    if (pick < ncs) {
      if (push_region(&regs, &nr, &capr, p, cs[pick].r - p, img[cs[pick].r]))
        goto done;
      p = (uint64_t)cs[pick].r + SST_TRAILER;
      continue;
    }
    size_t first = ncs, firstok = ncs;
    for (size_t k = j; k < ncs; k++) {
      if (first == ncs) first = k;
      if (cs[k].ok) {
        firstok = k;
        break;
      }
    }
    uint64_t resume = firstok < ncs ? cs[firstok].q
                      : first < ncs ? cs[first].q
                                    : end;
    if (push_region(&regs, &nr, &capr, p, resume - p, -1)) goto done;
    p = resume;
  }
  *out = regs;
  *nout = nr;
  regs = NULL;
  rc = STRATA_OK;
done:
  free(C);
  free(right);
  free(hidx);
  free(cs);
  free(regs);
  if (rc == STRATA_NO_MEMORY) return st_error(rc, "out of memory");
  return rc;
}
