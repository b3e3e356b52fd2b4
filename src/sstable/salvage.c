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
 * Both sides are one 32-bit key per position: sort the left keys and look
 * each right key up. Cost: O(n) CRC and GF(2) multiplications (32 steps
 * each), O(n log n) for the sort, O(n) memory (three uint32 per byte of the
 * scanned region). Every match is then confirmed by recomputing its CRC
 * directly (random 32-bit coincidences among ~n^2/2 pairs are expected for
 * large n and are discarded here).
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
  uint32_t key; /* Z_{n-q}(C(q)) */
  uint32_t pos; /* q */
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
    if (c[mid].q < pos) lo = mid + 1;
    else hi = mid;
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
  size_t cap = 0, nreg = 0;
  if (end < SST_TRAILER) {
    if (end && push_region(out, nout, &cap, 0, end, -1))
      return st_error(STRATA_NO_MEMORY, "out of memory");
    return STRATA_OK;
  }
  size_t last = end - SST_TRAILER; /* highest trailer position / start */
  uint32_t *C = malloc((end + 1) * sizeof *C);
  keyed *left = malloc((last + 1) * sizeof *left);
  uint32_t *right = malloc((last + 1) * sizeof *right);
  cand *cs = NULL;
  size_t ncs = 0, capcs = 0;
  sst_region *regs = NULL;
  int rc = STRATA_NO_MEMORY;
  if (!C || !left || !right) goto done;
  C[0] = 0;
  for (size_t i = 0; i < end; i++) C[i + 1] = crc32c_extend(C[i], img + i, 1);
  uint32_t m = 1u << 31; /* x^(8(end-j)) */
  for (size_t j = end + 1; j-- > 0;) {
    if (j <= last) left[j] = (keyed){multmodp(m, C[j]), (uint32_t)j};
    if (j >= 1 && j - 1 <= last) {
      uint32_t t = crc32c_unmask(decode_fixed32(img + j));
      right[j - 1] = multmodp(m, C[j] ^ t);
    }
    m = multmodp(m, 0x00800000u);
  }
  qsort(left, last + 1, sizeof *left, by_key);
  for (size_t r = 0; r <= last; r++) {
    if (img[r] > SST_COMPRESS_ZSTD) continue;
    size_t lo = 0, hi = last + 1;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (left[mid].key < right[r]) lo = mid + 1;
      else hi = mid;
    }
    for (; lo <= last && left[lo].key == right[r] && left[lo].pos <= r; lo++) {
      uint32_t q = left[lo].pos;
      uint32_t crc = crc32c_value(img + q, r - q + 1);
      if (crc != crc32c_unmask(decode_fixed32(img + r + 1))) continue;
      if (ncs == capcs) {
        size_t nc = capcs ? capcs * 2 : 64;
        cand *x = realloc(cs, nc * sizeof *x);
        if (!x) goto done;
        cs = x;
        capcs = nc;
      }
      cs[ncs++] = (cand){q, (uint32_t)r, 0};
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
  free(left);
  free(right);
  free(cs);
  free(regs);
  (void)nreg;
  if (rc == STRATA_NO_MEMORY) return st_error(rc, "out of memory");
  return rc;
}
