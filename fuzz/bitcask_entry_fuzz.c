/*
 * bitcask_entry_fuzz.c — the Bitcask data-record decoder (bc_record_walk,
 * bc_entry_decode_header) over arbitrary bytes, as read from a data file.
 * It must never crash or read out of bounds; every entry it reports must lie
 * inside the input, and a decoded entry must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitcask/bc_entry.h"
#include "strata.h"

typedef struct seen {
  const uint8_t *base; /* the input */
  size_t size;         /* its length */
} seen;

static int on_entry(void *arg, const bc_entry *e, uint32_t pos, uint32_t len) {
  seen *s = arg;
  if ((size_t)pos + len > s->size) abort();
  if (e->key < s->base || e->key + e->klen > s->base + s->size) abort();
  if (e->value < s->base || e->value + e->vlen > s->base + s->size) abort();
  size_t n = bc_entry_size(e->klen, e->vlen, e->expiry);
  uint8_t *b = malloc(n ? n : 1);
  if (!b) abort();
  bc_entry_encode(b, e->kind, e->ts, e->expiry, e->key, e->klen, e->value,
                  e->vlen);
  /* varints may be redundant in the input, so compare decoded fields */
  bc_entry f;
  if (!bc_entry_decode(b, b + n, &f) || f.klen != e->klen ||
      f.vlen != e->vlen || f.ts != e->ts || f.expiry != e->expiry ||
      memcmp(f.key, e->key, e->klen) != 0 ||
      (e->vlen && memcmp(f.value, e->value, e->vlen) != 0))
    abort();
  free(b);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  seen s = {data, size};
  bc_record_walk(data, size, on_entry, &s);
  for (size_t i = 0; i < size; i++) {
    bc_entry e;
    const uint8_t *p = bc_entry_decode_header(data + i, data + size, &e);
    if (p && (p < data || p > data + size)) abort();
  }
  return 0;
}
