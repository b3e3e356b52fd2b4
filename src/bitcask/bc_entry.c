/*
 * bc_entry.c — the payload encodings of Bitcask data and hint records
 * (docs/formats/bitcask.md).
 *
 * Data entry:  kind (1) | timestamp (fixed64) | expiry (varint64) |
 *              key length (varint32) | value length (varint32) | key |
 *              header checksum (fixed32: masked CRC32C of every byte before
 *              it) | value
 * Data record: one entry (kind PUT or TOMBSTONE), or BATCH (1) | count
 *              (varint32) | count entries.
 * Hint entry:  kind (1) | file id (varint32) | offset (varint64) | size
 *              (varint32) | sub (varint32) | timestamp (fixed64) | expiry
 *              (varint64) | key length (varint32) | key
 *
 * Deletion is a kind, never a value: a PUT with an empty value is a value.
 * The header checksum lets recovery name the key of a record whose value was
 * damaged (the record log's checksum covers the whole record). Damage: any
 * length that overruns its buffer, an unknown kind, a tombstone with a value,
 * or a header checksum mismatch makes the decoder return NULL.
 */
#include "bitcask/bc_entry.h"

#include <string.h>

#include "bitcask/bc_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

size_t bc_entry_size(size_t klen, size_t vlen, uint64_t expiry) {
  return BC_ENTRY_FIXED + (size_t)varint_length(expiry) +
         (size_t)varint_length(klen) + (size_t)varint_length(vlen) + klen +
         vlen;
}

uint8_t *bc_entry_encode(uint8_t *dst, int kind, uint64_t ts, uint64_t expiry,
                         const void *key, size_t klen, const void *value,
                         size_t vlen) {
  uint8_t *p = dst;
  *p++ = (uint8_t)kind;
  encode_fixed64(p, ts);
  p += 8;
  p = encode_varint64(p, expiry);
  p = encode_varint32(p, (uint32_t)klen);
  p = encode_varint32(p, (uint32_t)vlen);
  if (klen) memcpy(p, key, klen);
  p += klen;
  encode_fixed32(p, crc32c_mask(crc32c_value(dst, (size_t)(p - dst))));
  p += 4;
  if (vlen) memcpy(p, value, vlen);
  return p + vlen;
}

const uint8_t *bc_entry_decode_header(const uint8_t *p, const uint8_t *limit,
                                      bc_entry *e) {
  const uint8_t *start = p;
  if (limit - p < 9) return NULL;
  e->kind = p[0];
  if (e->kind != BC_KIND_PUT && e->kind != BC_KIND_TOMBSTONE) return NULL;
  e->ts = decode_fixed64(p + 1);
  p += 9;
  if (!(p = decode_varint64(p, limit, &e->expiry))) return NULL;
  if (!(p = decode_varint32(p, limit, &e->klen))) return NULL;
  if (!(p = decode_varint32(p, limit, &e->vlen))) return NULL;
  if (e->klen > BC_MAX_KEY || (size_t)(limit - p) < (size_t)e->klen + 4)
    return NULL;
  e->key = p;
  p += e->klen;
  if (crc32c_unmask(decode_fixed32(p)) !=
      crc32c_value(start, (size_t)(p - start)))
    return NULL;
  if (e->kind == BC_KIND_TOMBSTONE && e->vlen != 0) return NULL;
  e->value = p + 4;
  return p + 4;
}

const uint8_t *bc_entry_decode(const uint8_t *p, const uint8_t *limit,
                               bc_entry *e) {
  if (!(p = bc_entry_decode_header(p, limit, e))) return NULL;
  if ((size_t)(limit - p) < e->vlen) return NULL;
  return p + e->vlen;
}

int bc_record_walk(const uint8_t *rec, size_t n, bc_entry_fn fn, void *arg) {
  const uint8_t *p = rec, *limit = rec + n;
  uint32_t count = 1;
  if (n == 0) return ST_CORRUPT("bitcask: empty data record");
  if (rec[0] == BC_KIND_BATCH) {
    if (!(p = decode_varint32(rec + 1, limit, &count)))
      return ST_CORRUPT("bitcask: bad batch count");
  }
  for (uint32_t i = 0; i < count; i++) {
    bc_entry e;
    const uint8_t *next = bc_entry_decode(p, limit, &e);
    if (!next)
      return ST_CORRUPT("bitcask: malformed entry %u at payload byte %zu", i,
                        (size_t)(p - rec));
    if (fn) {
      int rc = fn(arg, &e, (uint32_t)(p - rec), (uint32_t)(next - p));
      if (rc) return rc;
    }
    p = next;
  }
  if (p != limit)
    return ST_CORRUPT("bitcask: %zu trailing bytes in data record",
                      (size_t)(limit - p));
  return STRATA_OK;
}

size_t bc_hint_max_size(size_t klen) {
  return 1 + VARINT32_MAX * 4 + VARINT64_MAX * 2 + 8 + klen;
}

uint8_t *bc_hint_encode(uint8_t *dst, const bc_hint *h) {
  uint8_t *p = dst;
  *p++ = (uint8_t)h->kind;
  p = encode_varint32(p, h->file_id);
  p = encode_varint64(p, h->offset);
  p = encode_varint32(p, h->size);
  p = encode_varint32(p, h->sub);
  encode_fixed64(p, h->ts);
  p += 8;
  p = encode_varint64(p, h->expiry);
  p = encode_varint32(p, h->klen);
  if (h->klen) memcpy(p, h->key, h->klen);
  return p + h->klen;
}

const uint8_t *bc_hint_decode(const uint8_t *p, const uint8_t *limit,
                              bc_hint *h) {
  if (p >= limit) return NULL;
  h->kind = *p++;
  if (h->kind != BC_KIND_PUT && h->kind != BC_KIND_TOMBSTONE) return NULL;
  if (!(p = decode_varint32(p, limit, &h->file_id))) return NULL;
  if (!(p = decode_varint64(p, limit, &h->offset))) return NULL;
  if (!(p = decode_varint32(p, limit, &h->size))) return NULL;
  if (!(p = decode_varint32(p, limit, &h->sub))) return NULL;
  if (limit - p < 8) return NULL;
  h->ts = decode_fixed64(p);
  p += 8;
  if (!(p = decode_varint64(p, limit, &h->expiry))) return NULL;
  if (!(p = decode_varint32(p, limit, &h->klen))) return NULL;
  if (h->klen > BC_MAX_KEY || (size_t)(limit - p) < h->klen) return NULL;
  if (h->file_id > BC_MAX_FILE_ID || h->size == 0 || h->sub >= h->size)
    return NULL;
  h->key = p;
  return p + h->klen;
}
