/*
 * block.c — one block of a table (LevelDB's block format).
 *
 * Format: entries, then the restart array, then its length:
 *   entry    := varint32 shared, varint32 non_shared, varint32 value_len,
 *               key bytes [non_shared] (after the `shared` prefix of the
 *               previous key), value bytes [value_len]
 *   trailer  := fixed32 restart[num_restarts], fixed32 num_restarts
 * A restart entry has shared == 0; one every `interval` entries (16 by
 * default), the first at offset 0.
 *
 * Invariants of a built block: keys strictly increase under the table's
 * ordering; restart offsets increase and point at entries with shared == 0.
 *
 * Damage: bytes from disk are hostile. The restart array must fit in the
 * block, its first offset must be 0, and every restart offset used must lie
 * before the array (checked when used); every entry's three
 * lengths are checked against the current key and the end of the entry
 * region before use. Any violation makes the iterator invalid with
 * STRATA_CORRUPTION naming the file and the block's offset; nothing is
 * asserted on disk bytes.
 */
#include "sstable/block.h"

#include <stdlib.h>
#include <string.h>

#include "util/coding.h"
#include "util/status.h"

/* The three lengths of an entry header; NULL if malformed. The common case
 * (all three below 128, one byte each) is decoded inline, as LevelDB does. */
static inline const uint8_t *entry_header(const uint8_t *p,
                                          const uint8_t *limit,
                                          uint32_t *shared, uint32_t *non,
                                          uint32_t *vlen) {
  if (limit - p >= 3 && (p[0] | p[1] | p[2]) < 128) {
    *shared = p[0];
    *non = p[1];
    *vlen = p[2];
    return p + 3;
  }
  if (!(p = decode_varint32(p, limit, shared)) ||
      !(p = decode_varint32(p, limit, non)))
    return NULL;
  return decode_varint32(p, limit, vlen);
}

void sst_block_builder_init(sst_block_builder *b, int restart_interval) {
  memset(b, 0, sizeof *b);
  b->interval = restart_interval > 0 ? restart_interval : 16;
}

void sst_block_builder_free(sst_block_builder *b) {
  sst_buf_free(&b->buf);
  sst_buf_free(&b->last);
  free(b->restarts);
  b->restarts = NULL;
}

void sst_block_builder_reset(sst_block_builder *b) {
  b->buf.len = 0;
  b->last.len = 0;
  b->nrestarts = 0;
  b->counter = 0;
  b->entries = 0;
  b->finished = 0;
}

static int push_restart(sst_block_builder *b, uint32_t off) {
  if (b->nrestarts == b->caprestarts) {
    size_t cap = b->caprestarts ? b->caprestarts * 2 : 16;
    uint32_t *r = realloc(b->restarts, cap * sizeof *r);
    if (!r) return -1;
    b->restarts = r;
    b->caprestarts = cap;
  }
  b->restarts[b->nrestarts++] = off;
  return 0;
}

int sst_block_builder_add(sst_block_builder *b, const void *k, size_t kn,
                          const void *v, size_t vn) {
  size_t shared = 0;
  if (b->entries == 0 || b->counter >= b->interval) {
    if (push_restart(b, (uint32_t)b->buf.len)) return -1;
    b->counter = 0;
  } else {
    size_t min = kn < b->last.len ? kn : b->last.len;
    const uint8_t *kp = k;
    while (shared < min && b->last.data[shared] == kp[shared])
      shared++;
  }
  uint8_t hdr[3 * VARINT32_MAX], *p = hdr;
  p = encode_varint32(p, (uint32_t)shared);
  p = encode_varint32(p, (uint32_t)(kn - shared));
  p = encode_varint32(p, (uint32_t)vn);
  if (sst_buf_add(&b->buf, hdr, (size_t)(p - hdr)) ||
      sst_buf_add(&b->buf, (const uint8_t *)k + shared, kn - shared) ||
      sst_buf_add(&b->buf, v, vn) || sst_buf_set(&b->last, k, kn))
    return -1;
  b->counter++;
  b->entries++;
  return 0;
}

size_t sst_block_builder_size(const sst_block_builder *b) {
  if (b->finished) return b->buf.len;
  size_t r = b->nrestarts ? b->nrestarts : 1;
  return b->buf.len + 4 * r + 4;
}

const uint8_t *sst_block_builder_finish(sst_block_builder *b, size_t *size) {
  if (b->nrestarts == 0 && push_restart(b, 0)) return NULL;
  if (sst_buf_reserve(&b->buf, 4 * b->nrestarts + 4)) return NULL;
  for (size_t i = 0; i < b->nrestarts; i++) {
    encode_fixed32(b->buf.data + b->buf.len, b->restarts[i]);
    b->buf.len += 4;
  }
  encode_fixed32(b->buf.data + b->buf.len, (uint32_t)b->nrestarts);
  b->buf.len += 4;
  b->finished = 1;
  *size = b->buf.len;
  return b->buf.data;
}

int sst_block_check(const uint8_t *data, size_t size, const char *file,
                    uint64_t offset) {
  if (size < 4)
    return ST_CORRUPT("%s: block at offset %llu too short (%zu bytes)", file,
                      (unsigned long long)offset, size);
  uint32_t n = decode_fixed32(data + size - 4);
  if (n == 0 || n > (size - 4) / 4)
    return ST_CORRUPT("%s: bad restart count %u in block at offset %llu", file,
                      n, (unsigned long long)offset);
  if (decode_fixed32(data + size - 4 - 4 * (size_t)n) != 0)
    return ST_CORRUPT("%s: first restart is not 0 in block at offset %llu",
                      file, (unsigned long long)offset);
  return STRATA_OK;
}

int sst_block_validate(const uint8_t *data, size_t size, sst_cmp cmp,
                       const char *file, uint64_t offset) {
  int rc = sst_block_check(data, size, file, offset);
  if (rc) return rc;
  uint32_t n = decode_fixed32(data + size - 4);
  size_t rs = size - 4 - 4 * (size_t)n;
  const uint8_t *p = data, *limit = data + rs;
  sst_buf key = {0}, prev = {0};
  uint32_t next_restart = 0; /* index of the next restart expected */
  size_t entries = 0;
  const char *why = NULL;
  while (p < limit && !why) {
    size_t at = (size_t)(p - data);
    uint32_t shared, non, vlen;
    while (next_restart < n && decode_fixed32(limit + 4 * next_restart) < at)
      next_restart++, why = "restart offset inside an entry";
    if (why) break;
    int is_restart =
        next_restart < n && decode_fixed32(limit + 4 * next_restart) == at;
    if (!(p = entry_header(p, limit, &shared, &non, &vlen))) {
      why = "malformed entry header";
      break;
    }
    if (shared > key.len || (size_t)(limit - p) < (size_t)non + vlen ||
        (is_restart && shared != 0)) {
      why = "entry length overruns its block";
      break;
    }
    key.len = shared;
    if (sst_buf_add(&key, p, non)) {
      sst_buf_free(&key);
      sst_buf_free(&prev);
      return st_error(STRATA_NO_MEMORY, "out of memory");
    }
    if (entries &&
        ikey_compare(cmp, prev.data, prev.len, key.data, key.len) >= 0)
      why = "keys out of order";
    else if (sst_buf_set(&prev, key.data, key.len))
      why = "out of memory";
    if (is_restart) next_restart++;
    p += non + vlen;
    entries++;
  }
  if (!why && next_restart < n &&
      !(next_restart == n - 1 && entries == 0 &&
        decode_fixed32(limit + 4 * next_restart) == 0))
    why = "restart offset past the last entry";
  sst_buf_free(&key);
  sst_buf_free(&prev);
  if (why)
    return ST_CORRUPT("%s: %s in block at offset %llu", file, why,
                      (unsigned long long)offset);
  return STRATA_OK;
}

int sst_block_find(const uint8_t *data, size_t size, sst_cmp cmp,
                   const uint8_t *k, size_t n, sst_buf *scratch,
                   const uint8_t **key, size_t *kn, const uint8_t **val,
                   size_t *vn, const char *file, uint64_t offset) {
  if (sst_block_check(data, size, file, offset)) return -STRATA_CORRUPTION;
  uint32_t nres = decode_fixed32(data + size - 4);
  size_t rs = size - 4 - 4 * (size_t)nres;
  const uint8_t *limit = data + rs;
  const char *why = NULL;
  /* Binary search over restart keys, compared in place (shared == 0). */
  uint32_t lo = 0, hi = nres - 1;
  while (lo < hi && !why) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    uint32_t off = decode_fixed32(limit + 4 * (size_t)mid);
    uint32_t shared, non, vlen;
    const uint8_t *p =
        off < rs ? entry_header(data + off, limit, &shared, &non, &vlen) : NULL;
    if (!p || shared != 0 || (size_t)(limit - p) < (size_t)non + vlen) {
      why = "bad restart entry";
      break;
    }
    if (ikey_compare(cmp, p, non, k, n) < 0)
      lo = mid;
    else
      hi = mid - 1;
  }
  /* Linear scan from that restart. */
  uint32_t off = why ? 0 : decode_fixed32(limit + 4 * (size_t)lo);
  const uint8_t *p = data + (off <= rs ? off : rs);
  scratch->len = 0;
  while (!why && p < limit) {
    uint32_t shared, non, vlen;
    if (!(p = entry_header(p, limit, &shared, &non, &vlen)) ||
        shared > scratch->len || (size_t)(limit - p) < (size_t)non + vlen) {
      why = "malformed entry";
      break;
    }
    scratch->len = shared;
    if (sst_buf_add(scratch, p, non)) return -STRATA_NO_MEMORY;
    if (ikey_compare(cmp, scratch->data, scratch->len, k, n) >= 0) {
      *key = scratch->data ? scratch->data : (const uint8_t *)"";
      *kn = scratch->len;
      *val = p + non;
      *vn = vlen;
      return 1;
    }
    p += non + vlen;
  }
  if (!why && off > rs) why = "restart offset out of range";
  if (why) {
    ST_CORRUPT("%s: %s in block at offset %llu", file, why,
               (unsigned long long)offset);
    return -STRATA_CORRUPTION;
  }
  return 0;
}

/* ---- the iterator ------------------------------------------------------- */

typedef struct block_iter {
  sst_iter base;        /* interface */
  const uint8_t *data;  /* block contents */
  size_t size;          /* bytes of contents */
  int owned;            /* 1: data is free()d with the iterator */
  sst_cmp cmp;          /* key ordering */
  const char *file;     /* for messages */
  uint64_t offset;      /* block offset in the file, for messages */
  size_t restarts;      /* offset of the restart array (end of entries) */
  uint32_t nrestarts;   /* restart count */
  size_t cur;           /* offset of the current entry (== restarts: none) */
  size_t next_off;      /* offset just past the current entry */
  uint32_t restart_idx; /* restart region holding the current entry */
  sst_buf key;          /* the current key, rebuilt */
  const uint8_t *val;   /* the current value, inside data */
  size_t vlen;          /* its length */
  int status;           /* STRATA_OK or the damage met */
} block_iter;

static uint32_t restart_at(block_iter *b, uint32_t i) {
  return decode_fixed32(b->data + b->restarts + 4 * (size_t)i);
}

static void corrupt(block_iter *b, const char *what) {
  if (b->status == STRATA_OK)
    b->status = ST_CORRUPT("%s: %s in block at offset %llu", b->file, what,
                           (unsigned long long)b->offset);
  b->cur = b->next_off = b->restarts;
  b->key.len = 0;
}

/* Parses the entry at next_off (the key so far is that of the entry before
 * it). Returns 1 if positioned on it, 0 at the end or on damage. */
static int parse_next(block_iter *b) {
  b->cur = b->next_off;
  if (b->cur >= b->restarts) {
    b->cur = b->next_off = b->restarts;
    return 0;
  }
  const uint8_t *p = b->data + b->cur, *limit = b->data + b->restarts;
  uint32_t shared, non, vlen;
  if (!(p = entry_header(p, limit, &shared, &non, &vlen))) {
    corrupt(b, "malformed entry header");
    return 0;
  }
  if (shared > b->key.len || (size_t)(limit - p) < (size_t)non + vlen) {
    corrupt(b, "entry length overruns its block");
    return 0;
  }
  b->key.len = shared;
  if (sst_buf_add(&b->key, p, non)) {
    b->status = st_error(STRATA_NO_MEMORY, "out of memory");
    b->cur = b->next_off = b->restarts;
    return 0;
  }
  b->val = p + non;
  b->vlen = vlen;
  b->next_off = (size_t)(p + non + vlen - b->data);
  while (b->restart_idx + 1 < b->nrestarts &&
         restart_at(b, b->restart_idx + 1) <= b->cur)
    b->restart_idx++;
  return 1;
}

/* Positions before restart i. Restart offsets are checked as they are
 * used (checking all of them per iterator would cost O(restarts) per
 * lookup); one past the entries is corruption. */
static void seek_restart(block_iter *b, uint32_t i) {
  b->key.len = 0;
  b->restart_idx = i;
  b->next_off = restart_at(b, i);
  if (b->next_off > b->restarts) corrupt(b, "restart offset out of range");
}

static int bi_valid(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  return b->status == STRATA_OK && b->cur < b->restarts;
}

static void bi_first(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  if (b->status) return;
  seek_restart(b, 0);
  parse_next(b);
}

static void bi_next(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  if (bi_valid(it)) parse_next(b);
}

static void bi_last(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  if (b->status) return;
  seek_restart(b, b->nrestarts - 1);
  while (parse_next(b) && b->next_off < b->restarts) {
  }
}

static void bi_prev(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  if (!bi_valid(it)) return;
  size_t original = b->cur;
  uint32_t i = b->restart_idx;
  while (restart_at(b, i) >= original) {
    if (i == 0) { /* no entry before the first */
      b->cur = b->next_off = b->restarts;
      return;
    }
    i--;
  }
  seek_restart(b, i);
  while (parse_next(b) && b->next_off < original) {
  }
  if (b->status == STRATA_OK && b->next_off != original)
    corrupt(b, "entries do not chain");
}

static void bi_seek(sst_iter *it, const uint8_t *k, size_t n) {
  block_iter *b = (block_iter *)it;
  if (b->status) return;
  /* Binary search for the last restart whose key is < k. */
  uint32_t lo = 0, hi = b->nrestarts - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    seek_restart(b, mid);
    if (!parse_next(b)) {
      if (b->status == STRATA_OK) corrupt(b, "restart point at block end");
      return;
    }
    if (ikey_compare(b->cmp, b->key.data, b->key.len, k, n) < 0)
      lo = mid;
    else
      hi = mid - 1;
  }
  seek_restart(b, lo);
  while (parse_next(b))
    if (ikey_compare(b->cmp, b->key.data, b->key.len, k, n) >= 0) return;
}

static const uint8_t *bi_key(sst_iter *it, size_t *n) {
  block_iter *b = (block_iter *)it;
  *n = b->key.len;
  return b->key.data ? b->key.data : (const uint8_t *)""; /* never NULL */
}

static const uint8_t *bi_value(sst_iter *it, size_t *n) {
  block_iter *b = (block_iter *)it;
  *n = b->vlen;
  return b->val;
}

static int bi_status(sst_iter *it) { return ((block_iter *)it)->status; }

static void bi_destroy(sst_iter *it) {
  block_iter *b = (block_iter *)it;
  if (b->owned) free((void *)b->data);
  sst_buf_free(&b->key);
  free(b);
}

static const sst_iter_ops block_ops = {bi_valid,  bi_first,  bi_last, bi_seek,
                                       bi_next,   bi_prev,   bi_key,  bi_value,
                                       bi_status, bi_destroy};

sst_iter *sst_block_iter(const uint8_t *data, size_t size, int owned,
                         sst_cmp cmp, const char *file, uint64_t offset) {
  block_iter *b = calloc(1, sizeof *b);
  if (!b) {
    if (owned) free((void *)data);
    return NULL;
  }
  b->base.ops = &block_ops;
  b->data = data;
  b->size = size;
  b->owned = owned;
  b->cmp = cmp;
  b->file = file;
  b->offset = offset;
  b->status = sst_block_check(data, size, file, offset);
  if (b->status == STRATA_OK) {
    b->nrestarts = decode_fixed32(data + size - 4);
    b->restarts = size - 4 - 4 * (size_t)b->nrestarts;
  }
  b->cur = b->next_off = b->restarts;
  return &b->base;
}
