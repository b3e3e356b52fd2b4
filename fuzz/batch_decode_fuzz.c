/*
 * batch_decode_fuzz.c — strata_batch_decode over arbitrary bytes (a WAL
 * record as read from disk). It must never crash or read out of bounds; a
 * successful decode must report exactly as many operations as the header's
 * count, each with in-bounds key and value pointers; and a decoded batch must
 * re-encode through the builder to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"

typedef struct seen {
  const uint8_t *base;   /* the input */
  size_t size;           /* its length, bytes */
  uint32_t ops;          /* operations reported */
  strata_batch *rebuilt; /* the same operations through the builder */
} seen;

static int inside(const seen *s, const void *p, size_t n) {
  const uint8_t *q = p;
  return n == 0 ||
         (q >= s->base && n <= s->size && (size_t)(q - s->base) <= s->size - n);
}

static int on_op(void *arg, int op, const void *key, size_t key_len,
                 const void *value, size_t value_len) {
  seen *s = arg;
  s->ops++;
  if (op != STRATA_OP_PUT && op != STRATA_OP_DELETE) abort();
  if (!inside(s, key, key_len) || !inside(s, value, value_len)) abort();
  if (op == STRATA_OP_DELETE && value) abort();
  if (op == STRATA_OP_PUT)
    strata_batch_put(s->rebuilt, key, key_len, value, value_len);
  else
    strata_batch_delete(s->rebuilt, key, key_len);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  seen s = {data, size, 0, strata_batch_create()};
  if (!s.rebuilt) return 0;
  uint64_t sequence = 0;
  uint32_t count = 0;
  int rc = strata_batch_decode(data, size, &sequence, &count, on_op, &s);
  if (rc == STRATA_OK) {
    if (s.ops != count) abort();
    strata_batch_set_sequence(s.rebuilt, sequence);
    size_t n;
    const void *enc = strata_batch_data(s.rebuilt, &n);
    /* LevelDB accepts redundant varint encodings (0x81 0x00 for 1), which
     * the builder never writes; only canonical input must round-trip. */
    if (n == size && memcmp(enc, data, n) != 0) abort();
    if (n > size) abort();
  } else if (rc != STRATA_CORRUPTION || s.ops != 0) {
    abort(); /* a damaged batch is refused before any operation is seen */
  }
  strata_batch_destroy(s.rebuilt);
  return 0;
}
