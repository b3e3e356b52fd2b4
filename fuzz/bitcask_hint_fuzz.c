/*
 * bitcask_hint_fuzz.c — the Bitcask hint-entry decoder (bc_hint_decode) over
 * arbitrary bytes (a hint record payload after its type byte). It must never
 * crash or read out of bounds, and a decoded entry must re-encode and decode
 * to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitcask/bc_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *lim = data + size;
  while (p < lim) {
    bc_hint h;
    const uint8_t *next = bc_hint_decode(p, lim, &h);
    if (!next) break;
    if (next <= p || next > lim) abort();
    if (h.key < p || h.key + h.klen > next) abort();
    uint8_t *b = malloc(bc_hint_max_size(h.klen));
    if (!b) abort();
    uint8_t *end = bc_hint_encode(b, &h);
    bc_hint g;
    if (bc_hint_decode(b, end, &g) != end || g.kind != h.kind ||
        g.file_id != h.file_id || g.offset != h.offset || g.size != h.size ||
        g.sub != h.sub || g.ts != h.ts || g.expiry != h.expiry ||
        g.klen != h.klen || memcmp(g.key, h.key, h.klen) != 0)
      abort();
    free(b);
    p = next;
  }
  return 0;
}
