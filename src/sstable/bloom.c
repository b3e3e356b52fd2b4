/*
 * bloom.c — LevelDB's bloom filter and filter block.
 *
 * A filter: a bit array of max(64, n * bits_per_key) bits rounded up to
 * whole bytes, then one byte k = clamp(bits_per_key * 0.69, 1, 30), the
 * number of probes. Key h = Hash(key, seed 0xbc9f1d34); probe j sets bit
 * (h + j * delta) mod bits, delta = rotate-right(h, 17) (double hashing).
 *
 * The filter block: the filters back to back, then fixed32 offset of each
 * filter, fixed32 offset of that array, one byte base_lg (11): filter i
 * covers the data blocks whose offset lies in [i << 11, (i + 1) << 11).
 *
 * Damage: a filter block is only an accelerator. One that is malformed (its
 * array or offsets outside the block) or a filter with k > 30 answers "may
 * match", so damage never hides a key; the block's checksum is verified by
 * the table reader like any other block.
 */
#include "sstable/bloom.h"

#include "sstable/sst_format.h"
#include "util/coding.h"

uint32_t bloom_hash(const uint8_t *p, size_t n) {
  const uint32_t m = 0xc6a4a793u, seed = 0xbc9f1d34u;
  uint32_t h = seed ^ (uint32_t)(n * m);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    h += decode_fixed32(p + i);
    h *= m;
    h ^= h >> 16;
  }
  switch (n - i) {
  case 3: h += (uint32_t)p[i + 2] << 16; /* fall through */
  case 2: h += (uint32_t)p[i + 1] << 8;  /* fall through */
  case 1:
    h += p[i];
    h *= m;
    h ^= h >> 24;
    break;
  }
  return h;
}

int bloom_create(sst_buf *dst, int bits_per_key, const uint8_t *const *keys,
                 const size_t *lens, size_t n) {
  int k = (int)(bits_per_key * 0.69);
  if (k < 1) k = 1;
  if (k > 30) k = 30;
  size_t bits = n * (size_t)bits_per_key;
  if (bits < 64) bits = 64;
  size_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  if (sst_buf_reserve(dst, bytes + 1)) return -1;
  uint8_t *a = dst->data + dst->len;
  memset(a, 0, bytes);
  a[bytes] = (uint8_t)k;
  for (size_t i = 0; i < n; i++) {
    uint32_t h = bloom_hash(keys[i], lens[i]);
    uint32_t delta = (h >> 17) | (h << 15);
    for (int j = 0; j < k; j++) {
      uint32_t pos = (uint32_t)(h % bits);
      a[pos / 8] |= (uint8_t)(1u << (pos % 8));
      h += delta;
    }
  }
  dst->len += bytes + 1;
  return 0;
}

int bloom_may_match(const uint8_t *filter, size_t n, const uint8_t *key,
                    size_t kn) {
  if (n < 2) return 0;
  size_t bits = (n - 1) * 8;
  int k = filter[n - 1];
  if (k > 30) return 1; /* reserved for other encodings */
  uint32_t h = bloom_hash(key, kn);
  uint32_t delta = (h >> 17) | (h << 15);
  for (int j = 0; j < k; j++) {
    uint32_t pos = (uint32_t)(h % bits);
    if (!(filter[pos / 8] & (1u << (pos % 8)))) return 0;
    h += delta;
  }
  return 1;
}

void filter_builder_init(filter_builder *f, int bits_per_key) {
  memset(f, 0, sizeof *f);
  f->bits_per_key = bits_per_key;
}

void filter_builder_free(filter_builder *f) {
  sst_buf_free(&f->keys);
  sst_buf_free(&f->result);
  free(f->starts);
  free(f->offsets);
  memset(f, 0, sizeof *f);
}

static int push_offset(filter_builder *f) {
  if (f->noffsets == f->capoffsets) {
    size_t cap = f->capoffsets ? f->capoffsets * 2 : 16;
    uint32_t *o = realloc(f->offsets, cap * sizeof *o);
    if (!o) return -1;
    f->offsets = o;
    f->capoffsets = cap;
  }
  f->offsets[f->noffsets++] = (uint32_t)f->result.len;
  return 0;
}

static int generate(filter_builder *f) {
  if (push_offset(f)) return -1;
  if (f->nkeys == 0) return 0;
  const uint8_t **ks = malloc(f->nkeys * sizeof *ks);
  size_t *ls = malloc(f->nkeys * sizeof *ls);
  int rc = -1;
  if (ks && ls) {
    for (size_t i = 0; i < f->nkeys; i++) {
      size_t end = i + 1 < f->nkeys ? f->starts[i + 1] : f->keys.len;
      ks[i] = f->keys.data + f->starts[i];
      ls[i] = end - f->starts[i];
    }
    rc = bloom_create(&f->result, f->bits_per_key, ks, ls, f->nkeys);
  }
  free(ks);
  free(ls);
  f->nkeys = 0;
  f->keys.len = 0;
  return rc;
}

int filter_builder_start(filter_builder *f, uint64_t block_offset) {
  uint64_t index = block_offset >> SST_FILTER_BASE_LG;
  while (index > f->noffsets)
    if (generate(f)) return -1;
  return 0;
}

int filter_builder_add(filter_builder *f, const uint8_t *k, size_t n) {
  if (f->nkeys == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 64;
    size_t *s = realloc(f->starts, cap * sizeof *s);
    if (!s) return -1;
    f->starts = s;
    f->cap = cap;
  }
  f->starts[f->nkeys++] = f->keys.len;
  return sst_buf_add(&f->keys, k, n);
}

const uint8_t *filter_builder_finish(filter_builder *f, size_t *size) {
  if (f->nkeys && generate(f)) return NULL;
  uint32_t array = (uint32_t)f->result.len;
  if (sst_buf_reserve(&f->result, 4 * f->noffsets + 5)) return NULL;
  for (size_t i = 0; i < f->noffsets; i++) {
    encode_fixed32(f->result.data + f->result.len, f->offsets[i]);
    f->result.len += 4;
  }
  encode_fixed32(f->result.data + f->result.len, array);
  f->result.len += 4;
  f->result.data[f->result.len++] = SST_FILTER_BASE_LG;
  *size = f->result.len;
  return f->result.data;
}

void filter_reader_init(filter_reader *r, const uint8_t *data, size_t size) {
  memset(r, 0, sizeof *r);
  r->data = data;
  if (size < 5) return;
  r->base_lg = data[size - 1];
  uint32_t last = decode_fixed32(data + size - 5);
  if (last > size - 5 || r->base_lg > 40) return;
  r->offsets = last;
  r->num = (size - 5 - last) / 4;
  r->valid = 1;
}

int filter_reader_may_match(const filter_reader *r, uint64_t block_offset,
                            const uint8_t *key, size_t n) {
  if (!r->valid) return 1;
  uint64_t index = block_offset >> r->base_lg;
  if (index >= r->num) return 1;
  uint32_t start = decode_fixed32(r->data + r->offsets + 4 * index);
  uint32_t limit = decode_fixed32(r->data + r->offsets + 4 * index + 4);
  if (start <= limit && limit <= r->offsets)
    return bloom_may_match(r->data + start, limit - start, key, n);
  if (start == limit) return 0;
  return 1;
}
