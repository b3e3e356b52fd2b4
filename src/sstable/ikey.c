/*
 * ikey.c — internal-key encoding and ordering (format in ikey.h). Nothing
 * here reads a file; a malformed internal key (short, bad type) is reported
 * by ikey_parse and never dereferenced past its length.
 */
#include "sstable/ikey.h"

#include <string.h>

#include "util/coding.h"

int ikey_bytewise(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

int ikey_compare(sst_cmp cmp, const uint8_t *a, size_t an, const uint8_t *b,
                 size_t bn) {
  if (cmp == SST_CMP_BYTEWISE || an < IKEY_TRAILER || bn < IKEY_TRAILER)
    return ikey_bytewise(a, an, b, bn);
  int c = ikey_bytewise(a, an - IKEY_TRAILER, b, bn - IKEY_TRAILER);
  if (c) return c;
  uint64_t ta = decode_fixed64(a + an - IKEY_TRAILER);
  uint64_t tb = decode_fixed64(b + bn - IKEY_TRAILER);
  return ta > tb ? -1 : ta < tb ? 1 : 0;
}

int ikey_append(sst_buf *dst, const void *user, size_t n, uint64_t seq,
                int type) {
  uint8_t t[IKEY_TRAILER];
  encode_fixed64(t, (seq << 8) | (uint64_t)(type & 0xff));
  if (sst_buf_add(dst, user, n)) return -1;
  return sst_buf_add(dst, t, sizeof t);
}

int ikey_parse(const uint8_t *k, size_t n, size_t *user_len, uint64_t *seq,
               int *type) {
  if (n < IKEY_TRAILER) return -1;
  uint64_t t = decode_fixed64(k + n - IKEY_TRAILER);
  *user_len = n - IKEY_TRAILER;
  *seq = t >> 8;
  *type = (int)(t & 0xff);
  return *type <= IKEY_VALUE ? 0 : -1;
}

size_t ikey_filter_len(sst_cmp cmp, size_t n) {
  return (cmp == SST_CMP_INTERNAL && n >= IKEY_TRAILER) ? n - IKEY_TRAILER : n;
}

/* Bytewise FindShortestSeparator on [0, *n) of s; updates *n. Returns 1 if
 * shortened (the last kept byte was incremented). */
static int bytewise_sep(uint8_t *s, size_t *n, const uint8_t *l, size_t ln) {
  size_t min = *n < ln ? *n : ln, i = 0;
  while (i < min && s[i] == l[i])
    i++;
  if (i >= min) return 0; /* one is a prefix of the other */
  if (s[i] < 0xff && s[i] + 1 < l[i]) {
    s[i]++;
    *n = i + 1;
    return 1;
  }
  return 0;
}

static int bytewise_succ(uint8_t *s, size_t *n) {
  for (size_t i = 0; i < *n; i++)
    if (s[i] != 0xff) {
      s[i]++;
      *n = i + 1;
      return 1;
    }
  return 0;
}

static int put_max_trailer(sst_buf *b, size_t user_n) {
  uint8_t t[IKEY_TRAILER];
  encode_fixed64(t, (IKEY_MAX_SEQUENCE << 8) | IKEY_SEEK_TYPE);
  b->len = user_n;
  return sst_buf_add(b, t, sizeof t);
}

int ikey_separator(sst_cmp cmp, sst_buf *start, const uint8_t *limit,
                   size_t ln) {
  if (cmp == SST_CMP_BYTEWISE || start->len < IKEY_TRAILER ||
      ln < IKEY_TRAILER) {
    if (cmp == SST_CMP_BYTEWISE)
      bytewise_sep(start->data, &start->len, limit, ln);
    return 0;
  }
  size_t un = start->len - IKEY_TRAILER;
  const uint8_t *s = start->data;
  size_t lu = ln - IKEY_TRAILER, min = un < lu ? un : lu, i = 0;
  while (i < min && s[i] == limit[i])
    i++;
  if (i >= min || s[i] == 0xff || s[i] + 1 >= limit[i] || i + 1 >= un)
    return 0; /* no strictly shorter user key */
  start->data[i]++;
  return put_max_trailer(start, i + 1);
}

int ikey_successor(sst_cmp cmp, sst_buf *key) {
  if (cmp == SST_CMP_BYTEWISE || key->len < IKEY_TRAILER) {
    if (cmp == SST_CMP_BYTEWISE) bytewise_succ(key->data, &key->len);
    return 0;
  }
  size_t un = key->len - IKEY_TRAILER, i = 0;
  while (i < un && key->data[i] == 0xff)
    i++;
  if (i >= un || i + 1 >= un) return 0; /* no strictly shorter user key */
  key->data[i]++;
  return put_max_trailer(key, i + 1);
}
