/*
 * sst_buf.h — a growable byte buffer used by the table code for keys being
 * rebuilt from prefix-compressed entries and blocks being assembled. Not a
 * format; no disk bytes are interpreted here.
 */
#ifndef STRATA_SSTABLE_SST_BUF_H
#define STRATA_SSTABLE_SST_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sst_buf {
  uint8_t *data; /* the bytes (NULL while cap == 0) */
  size_t len;    /* bytes in use */
  size_t cap;    /* bytes allocated */
} sst_buf;

/* Makes room for `extra` more bytes; 0 on success, -1 when out of memory. */
static inline int sst_buf_reserve(sst_buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra)
    cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}
static inline int sst_buf_add(sst_buf *b, const void *p, size_t n) {
  if (sst_buf_reserve(b, n)) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}
static inline int sst_buf_set(sst_buf *b, const void *p, size_t n) {
  b->len = 0;
  return sst_buf_add(b, p, n);
}
static inline void sst_buf_free(sst_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

#endif
