/*
 * sst_format.c — block handles and the 48-byte table footer (format in
 * sst_format.h). A footer whose magic or handles do not decode is reported as
 * corruption; the caller decides whether to salvage (salvage.h).
 */
#include "sstable/sst_format.h"

#include <string.h>

#include "util/coding.h"
#include "util/status.h"

uint8_t *sst_handle_encode(uint8_t *dst, const sst_handle *h) {
  dst = encode_varint64(dst, h->offset);
  return encode_varint64(dst, h->size);
}

const uint8_t *sst_handle_decode(const uint8_t *p, const uint8_t *limit,
                                 sst_handle *h) {
  p = decode_varint64(p, limit, &h->offset);
  if (!p) return NULL;
  return decode_varint64(p, limit, &h->size);
}

void sst_footer_encode(uint8_t out[SST_FOOTER], const sst_footer *f) {
  memset(out, 0, SST_FOOTER);
  uint8_t *p = sst_handle_encode(out, &f->metaindex);
  sst_handle_encode(p, &f->index);
  encode_fixed64(out + 40, SST_MAGIC);
}

int sst_footer_decode(const uint8_t in[SST_FOOTER], const char *file,
                      sst_footer *f) {
  if (decode_fixed64(in + 40) != SST_MAGIC)
    return ST_CORRUPT("%s: bad table magic number in footer", file);
  const uint8_t *p = sst_handle_decode(in, in + 40, &f->metaindex);
  if (p) p = sst_handle_decode(p, in + 40, &f->index);
  if (!p) return ST_CORRUPT("%s: malformed block handle in footer", file);
  return STRATA_OK;
}
