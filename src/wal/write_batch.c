/*
 * write_batch.c — the write-batch record: LevelDB's WriteBatch encoding, byte
 * for byte (docs/formats/wal.md, "Write batch record").
 *
 *   record    := sequence count operation*
 *   sequence  := fixed64 (little-endian): sequence number of the first op;
 *                op i (from 0) has sequence + i
 *   count     := fixed32 (little-endian): number of operations that follow
 *   operation := 0x01 varint32(key length) key varint32(value length) value
 *              | 0x00 varint32(key length) key
 *
 * Invariants of a built batch: rep always holds a complete, well-formed record
 * (at least the 12-byte header), and the count in its header equals the
 * number of operations in it.
 *
 * On damage: the decoder reads bytes that came from disk, so it trusts
 * nothing. A record shorter than the header, an unknown tag, a varint that is
 * truncated or longer than 5 bytes, a length that runs past the end, a count
 * different from the operations present, and bytes after the last operation
 * are all STRATA_CORRUPTION with a message naming the operation and offset.
 * The whole record is validated before the first callback, so a caller never
 * sees part of a damaged batch (stronger than strata.h promises).
 */
#include "wal/write_batch.h"

#include <stdlib.h>
#include <string.h>

#include "util/coding.h"
#include "util/status.h"

struct strata_batch {
  uint8_t *rep; /* the encoded record: header, then the operations */
  size_t size;  /* bytes of rep in use; always >= WRITE_BATCH_HEADER */
  size_t cap;   /* bytes allocated at rep */
};

enum { INITIAL_CAP = 64 };

strata_batch *strata_batch_create(void) {
  strata_batch *b = malloc(sizeof *b);
  if (!b) return NULL;
  b->rep = calloc(1, INITIAL_CAP);
  if (!b->rep) {
    free(b);
    return NULL;
  }
  b->size = WRITE_BATCH_HEADER;
  b->cap = INITIAL_CAP;
  return b;
}

void strata_batch_destroy(strata_batch *b) {
  if (!b) return;
  free(b->rep);
  free(b);
}

void strata_batch_clear(strata_batch *b) {
  memset(b->rep, 0, WRITE_BATCH_HEADER);
  b->size = WRITE_BATCH_HEADER;
}

void strata_batch_set_sequence(strata_batch *b, uint64_t sequence) {
  encode_fixed64(b->rep, sequence);
}

uint64_t strata_batch_sequence(const strata_batch *b) {
  return decode_fixed64(b->rep);
}

uint32_t strata_batch_count(const strata_batch *b) {
  return decode_fixed32(b->rep + 8);
}

const void *strata_batch_data(const strata_batch *b, size_t *size) {
  *size = b->size;
  return b->rep;
}

size_t write_batch_size(const strata_batch *b) { return b->size; }

/* Makes room for `extra` more bytes. */
static int reserve(strata_batch *b, size_t extra) {
  if (extra > SIZE_MAX - b->size)
    return st_error(STRATA_INVALID_ARGUMENT, "batch: record too large");
  size_t need = b->size + extra;
  if (need <= b->cap) return STRATA_OK;
  size_t cap = b->cap;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *rep = realloc(b->rep, cap);
  if (!rep)
    return st_error(STRATA_NO_MEMORY,
                    "batch: out of memory growing to %zu "
                    "bytes",
                    cap);
  b->rep = rep;
  b->cap = cap;
  return STRATA_OK;
}

static int check_op(const strata_batch *b, const void *key, size_t key_len,
                    const void *value, size_t value_len) {
  if ((!key && key_len) || (!value && value_len))
    return st_error(STRATA_INVALID_ARGUMENT, "batch: NULL key or value");
  if (key_len > UINT32_MAX || value_len > UINT32_MAX)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "batch: key or value longer than 4 GiB - 1");
  if (strata_batch_count(b) == UINT32_MAX)
    return st_error(STRATA_INVALID_ARGUMENT, "batch: too many operations");
  return STRATA_OK;
}

static uint8_t *put_slice(uint8_t *p, const void *data, size_t len) {
  p = encode_varint32(p, (uint32_t)len);
  if (len) memcpy(p, data, len);
  return p + len;
}

static int add_op(strata_batch *b, int tag, const void *key, size_t key_len,
                  const void *value, size_t value_len) {
  int rc = check_op(b, key, key_len, value, value_len);
  if (rc) return rc;
  /* key_len and value_len are below 2^32, so on 64-bit hosts this cannot
   * wrap; reserve() catches the 32-bit case. */
  size_t extra = 1 + VARINT32_MAX + key_len;
  if (tag == WRITE_BATCH_TAG_PUT) {
    if (value_len > SIZE_MAX - extra - VARINT32_MAX)
      return st_error(STRATA_INVALID_ARGUMENT, "batch: record too large");
    extra += VARINT32_MAX + value_len;
  }
  if ((rc = reserve(b, extra))) return rc;
  uint8_t *p = b->rep + b->size;
  *p++ = (uint8_t)tag;
  p = put_slice(p, key, key_len);
  if (tag == WRITE_BATCH_TAG_PUT) p = put_slice(p, value, value_len);
  b->size = (size_t)(p - b->rep);
  encode_fixed32(b->rep + 8, strata_batch_count(b) + 1);
  return STRATA_OK;
}

int strata_batch_put(strata_batch *b, const void *key, size_t key_len,
                     const void *value, size_t value_len) {
  return add_op(b, WRITE_BATCH_TAG_PUT, key, key_len, value, value_len);
}

int strata_batch_delete(strata_batch *b, const void *key, size_t key_len) {
  return add_op(b, WRITE_BATCH_TAG_DELETE, key, key_len, NULL, 0);
}

/* Reads one varint32-length-prefixed slice of operation `n` at *pp. */
static int read_slice(const uint8_t *base, const uint8_t **pp,
                      const uint8_t *limit, uint32_t n, const char *what,
                      const uint8_t **data, uint32_t *len) {
  const uint8_t *p = *pp;
  const uint8_t *q = decode_varint32(p, limit, len);
  if (!q)
    return ST_CORRUPT("batch: operation %u: %s length truncated or malformed "
                      "at offset %zu",
                      n, what, (size_t)(p - base));
  if (*len > (size_t)(limit - q))
    return ST_CORRUPT("batch: operation %u: %s length overruns record "
                      "(%u bytes at offset %zu, %zu left)",
                      n, what, *len, (size_t)(q - base), (size_t)(limit - q));
  *data = q;
  *pp = q + *len;
  return STRATA_OK;
}

/* Walks the operations after the header; counts them in *found and, when fn
 * is not NULL, calls it for each. */
static int walk(const uint8_t *base, size_t size, strata_batch_op_fn fn,
                void *arg, uint32_t *found) {
  const uint8_t *p = base + WRITE_BATCH_HEADER, *limit = base + size;
  uint32_t n = 0;
  while (p < limit) {
    if (n == UINT32_MAX)
      return ST_CORRUPT("batch: more than 2^32-1 operations");
    n++;
    size_t at = (size_t)(p - base);
    int tag = *p++;
    const uint8_t *key = NULL, *value = NULL;
    uint32_t key_len, value_len = 0;
    if (tag != WRITE_BATCH_TAG_PUT && tag != WRITE_BATCH_TAG_DELETE)
      return ST_CORRUPT("batch: operation %u: unknown tag 0x%02x at offset "
                        "%zu",
                        n, (unsigned)tag, at);
    int rc = read_slice(base, &p, limit, n, "key", &key, &key_len);
    if (rc) return rc;
    if (tag == WRITE_BATCH_TAG_PUT) {
      rc = read_slice(base, &p, limit, n, "value", &value, &value_len);
      if (rc) return rc;
    }
    if (fn && (rc = fn(arg, tag, key, key_len, value, value_len))) return rc;
  }
  *found = n;
  return STRATA_OK;
}

int strata_batch_decode(const void *rec, size_t size, uint64_t *sequence,
                        uint32_t *count, strata_batch_op_fn fn, void *arg) {
  const uint8_t *base = rec;
  if (!base && size) return st_error(STRATA_INVALID_ARGUMENT, "batch: NULL");
  if (size < WRITE_BATCH_HEADER)
    return ST_CORRUPT("batch: record of %zu bytes is shorter than the "
                      "%d-byte header",
                      size, WRITE_BATCH_HEADER);
  uint32_t want = decode_fixed32(base + 8), found = 0;
  if (sequence) *sequence = decode_fixed64(base);
  if (count) *count = want;
  int rc = walk(base, size, NULL, NULL, &found);
  if (rc) return rc;
  if (found != want)
    return ST_CORRUPT("batch: header count %u but record holds %u "
                      "operations",
                      want, found);
  return fn ? walk(base, size, fn, arg, &found) : STRATA_OK;
}

int write_batch_set_contents(strata_batch *b, const void *rec, size_t size) {
  int rc = strata_batch_decode(rec, size, NULL, NULL, NULL, NULL);
  if (rc) return rc;
  if (size > b->cap) {
    uint8_t *rep = realloc(b->rep, size);
    if (!rep)
      return st_error(STRATA_NO_MEMORY, "batch: out of memory (%zu bytes)",
                      size);
    b->rep = rep;
    b->cap = size;
  }
  memcpy(b->rep, rec, size);
  b->size = size;
  return STRATA_OK;
}

int write_batch_append(strata_batch *dst, const strata_batch *src) {
  uint32_t add = strata_batch_count(src), have = strata_batch_count(dst);
  if (add > UINT32_MAX - have)
    return st_error(STRATA_INVALID_ARGUMENT, "batch: too many operations");
  size_t body = src->size - WRITE_BATCH_HEADER;
  int rc = reserve(dst, body);
  if (rc) return rc;
  /* memmove: dst and src may be the same batch */
  memmove(dst->rep + dst->size, src->rep + WRITE_BATCH_HEADER, body);
  dst->size += body;
  encode_fixed32(dst->rep + 8, have + add);
  return STRATA_OK;
}
