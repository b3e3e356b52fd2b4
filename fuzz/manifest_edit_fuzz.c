/*
 * manifest_edit_fuzz.c — the MANIFEST record decoders over arbitrary bytes
 * (a record as read from disk). Neither may crash or read out of bounds;
 * ve_decode and the public strata_manifest_edit_decode must accept and refuse
 * the same records (they share one field parser) and the public one must
 * hand out only in-bounds keys; an accepted record must re-encode to bytes
 * that decode to the same edit, and re-encoding that edit must give the same
 * bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/version_edit.h"
#include "strata.h"

typedef struct seen {
  const uint8_t *base; /* the input */
  size_t size;         /* its length, bytes */
  size_t fields;       /* fields delivered */
} seen;

static int inside(const seen *s, const void *p, size_t n) {
  const uint8_t *q = p;
  return n == 0 ||
         (q >= s->base && n <= s->size && (size_t)(q - s->base) <= s->size - n);
}

static int on_field(void *arg, const strata_edit_field *f) {
  seen *s = arg;
  s->fields++;
  if (!inside(s, f->key, f->key_len) || !inside(s, f->key2, f->key2_len))
    abort();
  if ((f->tag < 1 || f->tag > 9 || f->tag == 8) || f->level < 0 ||
      f->level >= VE_LEVELS)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  version_edit e, d;
  sst_buf enc = {0}, enc2 = {0};
  seen s = {data, size, 0};
  ve_init(&e);
  ve_init(&d);
  int rc = ve_decode(&e, data, size, "fuzz");
  int prc = strata_manifest_edit_decode(data, size, on_field, &s);
  if (rc == STRATA_NO_MEMORY) goto out;
  if (rc != prc) abort();
  if (rc != STRATA_OK) {
    if (rc != STRATA_CORRUPTION) abort();
    version_edit empty;
    ve_init(&empty);
    if (!ve_equal(&e, &empty)) abort(); /* left empty on failure */
    goto out;
  }
  /* every field delivered (deleted files may collapse: they are a set) */
  size_t total = (size_t)(e.has_comparator + e.has_log_number + e.has_prev_log +
                          e.has_next_file + e.has_last_sequence) +
                 e.npointers + e.nfiles + e.ndeleted;
  if (s.fields < total || (e.ndeleted == 0 && s.fields != total)) abort();
  if (ve_encode(&e, &enc) != STRATA_OK) goto out;
  if (enc.len > size) abort(); /* canonical varints never grow */
  if (ve_decode(&d, enc.data, enc.len, "fuzz") != STRATA_OK) abort();
  if (!ve_equal(&e, &d)) abort();
  if (ve_encode(&d, &enc2) != STRATA_OK) goto out;
  if (enc2.len != enc.len || (enc.len && memcmp(enc.data, enc2.data, enc.len)))
    abort();
out:
  ve_clear(&e);
  ve_clear(&d);
  sst_buf_free(&enc);
  sst_buf_free(&enc2);
  return 0;
}
