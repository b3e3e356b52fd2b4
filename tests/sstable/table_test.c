/*
 * table_test.c — table builder and reader: round trips over random key sets
 * (bytewise and internal keys; no compression, Snappy, zstd), seek/next/prev
 * against a sorted reference, point lookups with and without the filter and
 * block cache, and the corruption matrix: a flipped byte in each block kind,
 * a wrong compression byte, damaged footer/index/metaindex, truncation at
 * every block boundary; salvage of a table whose index is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sstable/block.h"
#include "sstable/cache.h"
#include "sstable/ikey.h"
#include "sstable/salvage.h"
#include "sstable/sst_format.h"
#include "sstable/table_reader.h"
#include "test.h"
#include "util/coding.h"
#include "util/crc32c.h"

typedef struct ent {
  char k[24]; /* key text */
  size_t kn;  /* its length */
  uint8_t *v; /* value */
  size_t vn;  /* its length */
} ent;

/* n entries with keys "key%08d" (every other number, so gaps exist). */
static ent *make_ents(size_t n, size_t maxv) {
  ent *e = calloc(n, sizeof *e);
  for (size_t i = 0; i < n; i++) {
    e[i].kn = (size_t)snprintf(e[i].k, sizeof e[i].k, "key%08zu", 2 * i + 1);
    e[i].vn = (size_t)(test_rand() % (maxv + 1));
    e[i].v = malloc(e[i].vn + 1);
    for (size_t j = 0; j < e[i].vn; j++)
      e[i].v[j] = (uint8_t)(test_rand() % 3 ? 'a' + j % 7 : test_rand());
  }
  return e;
}

static void free_ents(ent *e, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(e[i].v);
  free(e);
}

static void write_table(const char *path, const strata_table_options *o, ent *e,
                        size_t n) {
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, o, &w), STRATA_OK);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ(strata_table_writer_add(w, e[i].k, e[i].kn, e[i].v, e[i].vn),
             STRATA_OK);
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
}

typedef struct dmg {
  int n;              /* reports */
  uint64_t off[64];   /* their offsets */
  uint64_t bytes[64]; /* their sizes */
  char block[64][16]; /* block kinds */
  char after[64][32]; /* range start ("" = from the start) */
  char upto[64][32];  /* range end ("" = to the end) */
} dmg;

static void on_dmg(void *arg, const strata_table_damage *d) {
  dmg *x = arg;
  if (x->n >= 64) return;
  x->off[x->n] = d->damage.offset;
  x->bytes[x->n] = d->damage.bytes;
  snprintf(x->block[x->n], 16, "%s", d->block);
  snprintf(x->after[x->n], 32, "%.*s", d->after ? (int)d->after_len : 0,
           d->after ? (const char *)d->after : "");
  snprintf(x->upto[x->n], 32, "%.*s", d->upto ? (int)d->upto_len : 0,
           d->upto ? (const char *)d->upto : "");
  x->n++;
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  CHECK_EQ(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void write_file(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK_EQ(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* Handles of the data blocks of a table image, and the footer. */
static size_t data_blocks(const uint8_t *img, size_t n, sst_handle *out,
                          size_t max, sst_footer *f) {
  CHECK_EQ(sst_footer_decode(img + n - SST_FOOTER, "t", f), STRATA_OK);
  sst_iter *it = sst_block_iter(img + f->index.offset, f->index.size, 0,
                                SST_CMP_BYTEWISE, "t", 0);
  size_t c = 0, vn;
  for (sst_iter_seek_first(it); sst_iter_valid(it) && c < max;
       sst_iter_next(it)) {
    const uint8_t *v = sst_iter_value(it, &vn);
    CHECK(sst_handle_decode(v, v + vn, &out[c]) != NULL);
    c++;
  }
  sst_iter_destroy(it);
  return c;
}

/* Reads every entry under skip; returns the count and checks each against
 * the reference (present entries must be exact; `lost` marks absentees). */
static size_t scan_all(const char *path, strata_table_options *o, ent *e,
                       size_t n, char *seen, dmg *d, int *status) {
  strata_table *t = NULL;
  memset(seen, 0, n);
  int rc = strata_table_open(path, o, on_dmg, d, &t);
  *status = rc;
  if (rc) return 0;
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  size_t count = 0, j = 0, kn, vn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it)) {
    const char *k = strata_table_iter_key(it, &kn);
    const void *v = strata_table_iter_value(it, &vn);
    while (j < n && (e[j].kn != kn || memcmp(e[j].k, k, kn) != 0))
      j++;
    CHECK(j < n);
    if (j < n) {
      CHECK_MEM(v, vn, e[j].v, e[j].vn);
      seen[j] = 1;
      j++;
    }
    count++;
  }
  *status = strata_table_iter_status(it);
  strata_table_iter_destroy(it);
  strata_table_close(t);
  return count;
}

static void check_round_trip(strata_table_options *o, size_t n, size_t maxv) {
  ent *e = make_ents(n, maxv);
  const char *path = test_path("rt.ldb");
  write_table(path, o, e, n);
  strata_table *t;
  CHECK_EQ(strata_table_open(path, o, NULL, NULL, &t), STRATA_OK);
  strata_table_iter *it;
  CHECK_EQ(strata_table_iter_create(t, &it), STRATA_OK);
  size_t i = 0, kn, vn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it), i++) {
    const void *k = strata_table_iter_key(it, &kn);
    const void *v = strata_table_iter_value(it, &vn);
    CHECK_MEM(k, kn, e[i].k, e[i].kn);
    CHECK_MEM(v, vn, e[i].v, e[i].vn);
  }
  CHECK_EQ(i, n);
  for (strata_table_iter_seek_last(it); strata_table_iter_valid(it);
       strata_table_iter_prev(it)) {
    i--;
    const void *k = strata_table_iter_key(it, &kn);
    CHECK_MEM(k, kn, e[i].k, e[i].kn);
  }
  CHECK_EQ(i, 0);
  /* Seek to every key and to the gap before it; get present and absent. */
  for (size_t j = 0; j < n; j += 1 + n / 300) {
    char gap[24];
    int gn = snprintf(gap, sizeof gap, "key%08zu", 2 * j);
    strata_table_iter_seek(it, gap, (size_t)gn);
    CHECK(strata_table_iter_valid(it));
    const void *k = strata_table_iter_key(it, &kn);
    CHECK_MEM(k, kn, e[j].k, e[j].kn);
    strata_table_iter_prev(it);
    if (j == 0) {
      CHECK(!strata_table_iter_valid(it));
    } else {
      CHECK(strata_table_iter_valid(it));
      k = strata_table_iter_key(it, &kn);
      CHECK_MEM(k, kn, e[j - 1].k, e[j - 1].kn);
    }
    void *val;
    CHECK_EQ(strata_table_get(t, e[j].k, e[j].kn, &val, &vn), STRATA_OK);
    CHECK_MEM(val, vn, e[j].v, e[j].vn);
    free(val);
    CHECK_EQ(strata_table_get(t, gap, (size_t)gn, &val, &vn), STRATA_NOT_FOUND);
  }
  strata_table_iter_seek(it, "zzz", 3);
  CHECK(!strata_table_iter_valid(it));
  CHECK_EQ(strata_table_iter_status(it), STRATA_OK);
  strata_table_iter_destroy(it);
  strata_table_close(t);
  free_ents(e, n);
}

TEST(table_round_trip_compressions) {
  strata_table_options o;
  strata_table_options_init(&o);
  for (int c = 0; c < 3; c++) {
    o.compression = (strata_compression)c;
    o.allow_zstd = 1;
    o.block_size = c == 0 ? 4096 : 1024;
    check_round_trip(&o, 3000, 200);
  }
  o.bloom_bits_per_key = 0;
  o.compression = STRATA_COMPRESSION_NONE;
  check_round_trip(&o, 10, 10);
  check_round_trip(&o, 1, 0);
  o.cache = strata_block_cache_create(64 << 10);
  check_round_trip(&o, 2000, 100);
  CHECK(sst_cache_usage(o.cache) <= (64 << 10) + 16 * 8192);
  strata_block_cache_destroy(o.cache);
}

TEST(table_empty_and_large_values) {
  strata_table_options o;
  strata_table_options_init(&o);
  check_round_trip(&o, 5, 1 << 20); /* values up to 1 MiB */
  const char *path = test_path("empty.ldb");
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
  strata_table *t;
  CHECK_EQ(strata_table_open(path, &o, NULL, NULL, &t), STRATA_OK);
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  strata_table_iter_seek_first(it);
  CHECK(!strata_table_iter_valid(it));
  strata_table_iter_destroy(it);
  void *v;
  size_t vn;
  CHECK_EQ(strata_table_get(t, "a", 1, &v, &vn), STRATA_NOT_FOUND);
  strata_table_close(t);
}

TEST(table_zstd_needs_opt_in) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.compression = STRATA_COMPRESSION_ZSTD;
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(test_path("z.ldb"), &o, &w),
           STRATA_INVALID_ARGUMENT);
}

TEST(table_keys_out_of_order) {
  strata_table_options o;
  strata_table_options_init(&o);
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(test_path("o.ldb"), &o, &w), STRATA_OK);
  CHECK_EQ(strata_table_writer_add(w, "b", 1, "", 0), STRATA_OK);
  CHECK_EQ(strata_table_writer_add(w, "a", 1, "", 0), STRATA_INVALID_ARGUMENT);
  CHECK_EQ(strata_table_writer_add(w, "b", 1, "", 0), STRATA_INVALID_ARGUMENT);
  strata_table_writer_abandon(w);
}

TEST(table_internal_keys_newest_wins) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.internal_keys = 1;
  const char *path = test_path("ik.ldb");
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
  sst_buf k = {0};
  char user[16], val[16];
  for (int i = 0; i < 500; i++) {
    snprintf(user, sizeof user, "u%05d", i);
    /* three versions each, newest first; every 7th key's newest is a
     * deletion */
    for (int s = 3; s >= 1; s--) {
      k.len = 0;
      int type = (i % 7 == 0 && s == 3) ? IKEY_DELETION : IKEY_VALUE;
      ikey_append(&k, user, 6, (uint64_t)(i * 10 + s), type);
      int vn = snprintf(val, sizeof val, "v%d.%d", i, s);
      CHECK_EQ(strata_table_writer_add(w, k.data, k.len, val, (size_t)vn),
               STRATA_OK);
    }
  }
  CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
  strata_table *t;
  CHECK_EQ(strata_table_open(path, &o, NULL, NULL, &t), STRATA_OK);
  for (int i = 0; i < 500; i++) {
    snprintf(user, sizeof user, "u%05d", i);
    void *v;
    size_t vn;
    int rc = strata_table_get(t, user, 6, &v, &vn);
    if (i % 7 == 0) {
      CHECK_EQ(rc, STRATA_NOT_FOUND);
    } else {
      CHECK_EQ(rc, STRATA_OK);
      int n = snprintf(val, sizeof val, "v%d.3", i);
      CHECK_MEM(v, vn, val, (size_t)n);
      free(v);
    }
  }
  void *v;
  size_t vn;
  CHECK_EQ(strata_table_get(t, "u00000x", 7, &v, &vn), STRATA_NOT_FOUND);
  strata_table_close(t);
  sst_buf_free(&k);
}

/* ---- the corruption matrix ---------------------------------------------- */

enum { NENT = 2000 };

static void build_damage_table(const char *path, ent **e) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.compression = STRATA_COMPRESSION_NONE;
  *e = make_ents(NENT, 40);
  write_table(path, &o, *e, NENT);
}

static strata_table_options skip_opts(void) {
  strata_table_options o;
  strata_table_options_init(&o);
  o.policy = STRATA_RECOVERY_SKIP;
  return o;
}

/* A flipped byte in data block b loses exactly that block under skip, the
 * report names its offset, bytes and key range; absolute stops; get on a
 * key of that block fails naming the offset. */
TEST(table_flipped_byte_in_each_data_block) {
  ent *e;
  const char *path = test_path("d.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  sst_handle h[512];
  sst_footer f;
  size_t nb = data_blocks(img, n, h, 512, &f);
  CHECK(nb > 10);
  char *seen = malloc(NENT);
  const char *bad = test_path("bad.ldb");
  for (size_t b = 0; b < nb; b++) {
    uint8_t *copy = malloc(n);
    memcpy(copy, img, n);
    copy[h[b].offset + test_rand() % (h[b].size + SST_TRAILER)] ^= 0x20;
    write_file(bad, copy, n);
    /* Entries of block b: the reference entries between its neighbours. */
    dmg d = {0};
    int st;
    strata_table_options o = skip_opts();
    size_t got = scan_all(bad, &o, e, NENT, seen, &d, &st);
    CHECK_EQ(st, STRATA_OK);
    CHECK_EQ(d.n, 1);
    CHECK_U64(d.off[0], h[b].offset);
    CHECK_U64(d.bytes[0], h[b].size + SST_TRAILER);
    CHECK_STR(d.block[0], "data");
    /* Lost entries are exactly those in (after, upto]. */
    size_t lost = 0;
    for (size_t i = 0; i < NENT; i++) {
      int in_range = (d.after[0][0] == 0 || strcmp(e[i].k, d.after[0]) > 0) &&
                     (d.upto[0][0] == 0 || strcmp(e[i].k, d.upto[0]) <= 0);
      CHECK_EQ(seen[i], !in_range);
      lost += !seen[i];
    }
    CHECK(lost > 0);
    CHECK_EQ(got + lost, NENT);
    /* absolute: the iterator stops with corruption. */
    strata_table_options a;
    strata_table_options_init(&a);
    dmg d2 = {0};
    scan_all(bad, &a, e, NENT, seen, &d2, &st);
    CHECK_EQ(st, STRATA_CORRUPTION);
    /* get of a lost key names file and offset. */
    strata_table *t;
    CHECK_EQ(strata_table_open(bad, &a, NULL, NULL, &t), STRATA_OK);
    for (size_t i = 0; i < NENT; i++) {
      int in_range = (d.after[0][0] == 0 || strcmp(e[i].k, d.after[0]) > 0) &&
                     (d.upto[0][0] == 0 || strcmp(e[i].k, d.upto[0]) <= 0);
      if (!in_range) continue;
      void *v;
      size_t vn;
      CHECK_EQ(strata_table_get(t, e[i].k, e[i].kn, &v, &vn),
               STRATA_CORRUPTION);
      char want[64];
      snprintf(want, sizeof want, "block at offset %llu",
               (unsigned long long)h[b].offset);
      CHECK(strstr(strata_last_error(), want) != NULL);
      CHECK(strstr(strata_last_error(), "bad.ldb") != NULL);
      break;
    }
    strata_table_close(t);
    free(copy);
  }
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* Damaged index, metaindex, footer: absolute refuses to open; skip salvages
 * every entry. A damaged filter block only costs the filter. */
TEST(table_damaged_index_metaindex_footer_filter) {
  ent *e;
  const char *path = test_path("m.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  sst_handle h[512];
  sst_footer f;
  data_blocks(img, n, h, 512, &f);
  struct {
    const char *name;  /* case */
    uint64_t at;       /* byte flipped */
    const char *block; /* expected report */
  } cases[] = {
      {"index", f.index.offset + f.index.size / 2, "index"},
      {"index trailer", f.index.offset + f.index.size + 2, "index"},
      {"metaindex", f.metaindex.offset + 3, "metaindex"},
      {"footer magic", n - 3, "footer"},
      {"footer handle", n - SST_FOOTER, NULL}, /* shows as any of them */
  };
  char *seen = malloc(NENT);
  const char *bad = test_path("bad.ldb");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint8_t *copy = malloc(n);
    memcpy(copy, img, n);
    copy[cases[c].at] ^= 0xff;
    write_file(bad, copy, n);
    strata_table_options a;
    strata_table_options_init(&a);
    strata_table *t = NULL;
    dmg d = {0};
    int rc = strata_table_open(bad, &a, on_dmg, &d, &t);
    if (strcmp(cases[c].name, "footer handle") != 0 || rc != STRATA_OK) {
      CHECK_MSG(rc == STRATA_CORRUPTION, "%s: absolute opened", cases[c].name);
      CHECK(d.n >= 1);
      if (d.n && cases[c].block) CHECK_STR(d.block[0], cases[c].block);
    }
    strata_table_close(t);
    memset(&d, 0, sizeof d);
    strata_table_options o = skip_opts();
    int st;
    size_t got = scan_all(bad, &o, e, NENT, seen, &d, &st);
    CHECK_EQ(st, STRATA_OK);
    CHECK_MSG(got == NENT, "%s: salvaged %zu of %d", cases[c].name, got, NENT);
    free(copy);
  }
  /* Filter block: reported, table fully readable, gets still right. */
  uint8_t *copy = malloc(n);
  memcpy(copy, img, n);
  sst_handle fh = {h[0].offset, 0};
  {
    sst_iter *mi = sst_block_iter(img + f.metaindex.offset, f.metaindex.size, 0,
                                  SST_CMP_BYTEWISE, "t", 0);
    size_t vn;
    sst_iter_seek_first(mi);
    CHECK(sst_iter_valid(mi));
    const uint8_t *v = sst_iter_value(mi, &vn);
    sst_handle_decode(v, v + vn, &fh);
    sst_iter_destroy(mi);
  }
  copy[fh.offset + 1] ^= 1;
  write_file(bad, copy, n);
  strata_table_options a;
  strata_table_options_init(&a);
  strata_table *t;
  dmg d = {0};
  CHECK_EQ(strata_table_open(bad, &a, on_dmg, &d, &t), STRATA_OK);
  CHECK_EQ(d.n, 1);
  CHECK_STR(d.block[0], "filter");
  void *v;
  size_t vn;
  CHECK_EQ(strata_table_get(t, e[7].k, e[7].kn, &v, &vn), STRATA_OK);
  free(v);
  strata_table_close(t);
  free(copy);
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* A destroyed index plus a damaged data block: salvage still yields every
 * intact block, and reports the damaged one as a gap with its key range. */
TEST(table_salvage_index_lost_and_block_damaged) {
  ent *e;
  const char *path = test_path("s.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  sst_handle h[512];
  sst_footer f;
  size_t nb = data_blocks(img, n, h, 512, &f);
  memset(img + f.index.offset, 0xee, f.index.size); /* index destroyed */
  size_t b = nb / 2;
  img[h[b].offset + 10] ^= 0x55;
  const char *bad = test_path("bad.ldb");
  write_file(bad, img, n);
  char *seen = malloc(NENT);
  dmg d = {0};
  int st;
  strata_table_options o = skip_opts();
  size_t got = scan_all(bad, &o, e, NENT, seen, &d, &st);
  CHECK_EQ(st, STRATA_OK);
  CHECK_EQ(d.n, 2); /* the index, then the gap of block b */
  CHECK_STR(d.block[0], "index");
  CHECK_U64(d.off[1], h[b].offset);
  CHECK_U64(d.bytes[1], h[b].size + SST_TRAILER);
  size_t lost = 0;
  for (size_t i = 0; i < NENT; i++) {
    int in_gap =
        strcmp(e[i].k, d.after[1]) > 0 && strcmp(e[i].k, d.upto[1]) < 0;
    CHECK_EQ(seen[i], !in_gap);
    lost += !seen[i];
  }
  CHECK(lost > 0);
  CHECK_EQ(got + lost, NENT);
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* Truncation at every block boundary (and mid-block): skip salvages every
 * block wholly before the cut; absolute refuses. */
TEST(table_truncated_at_every_block_boundary) {
  ent *e;
  const char *path = test_path("t.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  sst_handle h[512];
  sst_footer f;
  size_t nb = data_blocks(img, n, h, 512, &f);
  char *seen = malloc(NENT);
  const char *bad = test_path("bad.ldb");
  size_t expect = 0;
  for (size_t b = 0; b <= nb; b++) {
    uint64_t cut = b < nb ? h[b].offset : f.metaindex.offset;
    for (int mid = 0; mid < 2; mid++) {
      write_file(bad, img, (size_t)cut + (mid ? 7 : 0));
      strata_table_options a;
      strata_table_options_init(&a);
      strata_table *t = NULL;
      CHECK_EQ(strata_table_open(bad, &a, NULL, NULL, &t), STRATA_CORRUPTION);
      dmg d = {0};
      int st;
      strata_table_options o = skip_opts();
      size_t got = scan_all(bad, &o, e, NENT, seen, &d, &st);
      CHECK_EQ(st, STRATA_OK);
      CHECK_EQ(got, expect);
      for (size_t i = 0; i < NENT; i++)
        CHECK_EQ(seen[i], i < expect);
    }
    if (b < nb) {
      /* Entries of block b: count them from the block itself. */
      sst_iter *it = sst_block_iter(img + h[b].offset, h[b].size, 0,
                                    SST_CMP_BYTEWISE, "t", 0);
      for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
        expect++;
      sst_iter_destroy(it);
    }
  }
  CHECK_EQ(expect, NENT);
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* A compression byte that is not a known type, with a checksum that matches
 * it: reported as bad-type, never returned. Snappy bytes that do not
 * uncompress: corruption too. */
TEST(table_wrong_compression_byte) {
  ent *e;
  const char *path = test_path("c.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  sst_handle h[512];
  sst_footer f;
  data_blocks(img, n, h, 512, &f);
  int types[2] = {9, SST_COMPRESS_SNAPPY};
  char *seen = malloc(NENT);
  for (int c = 0; c < 2; c++) {
    uint8_t *copy = malloc(n);
    memcpy(copy, img, n);
    uint8_t *tr = copy + h[1].offset + h[1].size;
    tr[0] = (uint8_t)types[c];
    encode_fixed32(tr + 1, crc32c_mask(crc32c_value(copy + h[1].offset,
                                                    (size_t)h[1].size + 1)));
    const char *bad = test_path("bad.ldb");
    write_file(bad, copy, n);
    dmg d = {0};
    int st;
    strata_table_options o = skip_opts();
    size_t got = scan_all(bad, &o, e, NENT, seen, &d, &st);
    CHECK_EQ(st, STRATA_OK);
    CHECK_EQ(d.n, 1);
    CHECK_U64(d.off[0], h[1].offset);
    CHECK(got < NENT);
    free(copy);
  }
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* The CRC shift identity salvage relies on. */
TEST(salvage_crc_shift) {
  uint8_t buf[300];
  for (int i = 0; i < 300; i++)
    buf[i] = (uint8_t)test_rand();
  for (size_t a = 0; a < 300; a += 37) {
    uint32_t whole = crc32c_value(buf, 300);
    uint32_t ca = crc32c_value(buf, a), cb = crc32c_value(buf + a, 300 - a);
    CHECK_U64(sst_crc_shift(ca, 300 - a) ^ cb, whole);
  }
}

/* Random damage anywhere under skip: never crashes, never returns an entry
 * that is not in the reference (scan_all checks every value). */
TEST(table_random_damage_skip) {
  ent *e;
  const char *path = test_path("r.ldb");
  build_damage_table(path, &e);
  size_t n;
  uint8_t *img = read_file(path, &n);
  char *seen = malloc(NENT);
  const char *bad = test_path("bad.ldb");
  for (int round = 0; round < 40; round++) {
    uint8_t *copy = malloc(n);
    memcpy(copy, img, n);
    int flips = 1 + (int)(test_rand() % 4);
    for (int i = 0; i < flips; i++)
      copy[test_rand() % n] ^= (uint8_t)(1 + test_rand() % 255);
    write_file(bad, copy, n);
    dmg d = {0};
    int st;
    strata_table_options o = skip_opts();
    scan_all(bad, &o, e, NENT, seen, &d, &st);
    CHECK_EQ(st, STRATA_OK);
    free(copy);
  }
  free(seen);
  free(img);
  free_ents(e, NENT);
}

/* Salvage of Snappy and zstd tables with internal keys: the index destroyed
 * and one data block damaged; every other entry is found, in order. Also
 * backward iteration under skip passes over the damaged block. */
TEST(table_salvage_compressed_internal) {
  for (int comp = 1; comp <= 2; comp++) {
    strata_table_options o;
    strata_table_options_init(&o);
    o.compression = (strata_compression)comp;
    o.allow_zstd = 1;
    o.internal_keys = 1;
    o.block_size = 1024;
    const char *path = test_path("ci.ldb");
    strata_table_writer *w;
    CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
    sst_buf k = {0};
    for (int i = 0; i < 3000; i++) {
      char u[16], v[64];
      int un = snprintf(u, sizeof u, "u%06d", i);
      int vn = snprintf(v, sizeof v, "value-%d-%d-%d", i, i * 7, i * 13);
      k.len = 0;
      ikey_append(&k, u, (size_t)un, (uint64_t)i + 1, IKEY_VALUE);
      CHECK_EQ(strata_table_writer_add(w, k.data, k.len, v, (size_t)vn),
               STRATA_OK);
    }
    sst_buf_free(&k);
    CHECK_EQ(strata_table_writer_finish(w, NULL), STRATA_OK);
    size_t n;
    uint8_t *img = read_file(path, &n);
    sst_footer f;
    CHECK_EQ(sst_footer_decode(img + n - SST_FOOTER, "t", &f), STRATA_OK);
    /* Handles of the data blocks from the (compressed) index. */
    uint8_t *ib;
    size_t ibn;
    strata_damage_kind kind;
    CHECK_EQ(sst_read_block(NULL, img, n, "t", f.index, 1, &ib, &ibn, &kind),
             STRATA_OK);
    sst_handle h[256];
    size_t nb = 0, vn;
    sst_iter *ii = sst_block_iter(ib, ibn, 1, SST_CMP_INTERNAL, "t", 0);
    for (sst_iter_seek_first(ii); sst_iter_valid(ii) && nb < 256;
         sst_iter_next(ii)) {
      const uint8_t *v = sst_iter_value(ii, &vn);
      sst_handle_decode(v, v + vn, &h[nb++]);
    }
    sst_iter_destroy(ii);
    CHECK(nb > 5);
    size_t bad = nb / 3;
    img[h[bad].offset + h[bad].size / 2] ^= 0x08;
    const char *badp = test_path("cib.ldb");
    write_file(badp, img, n);
    strata_table_options so = o;
    so.policy = STRATA_RECOVERY_SKIP;
    /* Index intact: forward and backward lose the same block. */
    for (int pass = 0; pass < 2; pass++) {
      if (pass == 1) {
        memset(img + f.index.offset, 0, f.index.size);
        write_file(badp, img, n);
      }
      dmg d = {0};
      strata_table *t;
      CHECK_EQ(strata_table_open(badp, &so, on_dmg, &d, &t), STRATA_OK);
      CHECK_EQ(strata_table_salvaged(t), pass);
      strata_table_iter *it;
      strata_table_iter_create(t, &it);
      size_t fwd = 0, back = 0, kn;
      int last = -1, ordered = 1;
      for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
           strata_table_iter_next(it)) {
        const char *key = strata_table_iter_key(it, &kn);
        int i = atoi(key + 1);
        if (i <= last) ordered = 0;
        last = i;
        fwd++;
      }
      CHECK(ordered);
      CHECK_EQ(strata_table_iter_status(it), STRATA_OK);
      for (strata_table_iter_seek_last(it); strata_table_iter_valid(it);
           strata_table_iter_prev(it))
        back++;
      CHECK_EQ(strata_table_iter_status(it), STRATA_OK);
      CHECK_EQ(fwd, back);
      CHECK(fwd < 3000 && fwd > 2800);
      /* Index intact: one report (the block); salvage: the index report
       * and the gap. */
      CHECK_EQ(d.n, pass == 0 ? 1 : 2);
      CHECK_U64(d.off[d.n - 1], h[bad].offset);
      strata_table_iter_destroy(it);
      strata_table_close(t);
    }
    free(img);
  }
}

typedef struct bkv {
  uint8_t *k, *v; /* key, value */
  size_t kn, vn;  /* lengths */
} bkv;

static int bkv_cmp(const void *a, const void *b) {
  const bkv *x = a, *y = b;
  return ikey_bytewise(x->k, x->kn, y->k, y->kn);
}

/* Binary keys: the empty key, 64 KiB keys, bytes 0x00 and 0xff, shared
 * prefixes; a 1 MiB value. Round trip, seeks and gets. */
TEST(table_binary_keys_round_trip) {
  enum { N = 600 };
  bkv *e = calloc(N, sizeof *e);
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    size_t kn = (size_t)(test_rand() % 24);
    if (i == 0) kn = 0;
    if (i % 100 == 1) kn = 65536;
    e[n].k = malloc(kn + 1);
    for (size_t j = 0; j < kn; j++)
      e[n].k[j] = (uint8_t)(test_rand() % 3 == 0 ? 0xff * (test_rand() & 1)
                                                 : test_rand());
    e[n].kn = kn;
    e[n].vn = i == 7 ? (1u << 20) : (size_t)(test_rand() % 50);
    e[n].v = malloc(e[n].vn + 1);
    for (size_t j = 0; j < e[n].vn; j++)
      e[n].v[j] = (uint8_t)test_rand();
    n++;
  }
  qsort(e, n, sizeof *e, bkv_cmp);
  size_t w = 0; /* drop duplicate keys */
  for (size_t i = 0; i < n; i++) {
    if (w && bkv_cmp(&e[w - 1], &e[i]) == 0) {
      free(e[i].k);
      free(e[i].v);
      continue;
    }
    e[w++] = e[i];
  }
  n = w;
  strata_table_options o;
  strata_table_options_init(&o);
  o.block_size = 512;
  const char *path = test_path("bin.ldb");
  strata_table_writer *wr;
  CHECK_EQ(strata_table_writer_open(path, &o, &wr), STRATA_OK);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ(strata_table_writer_add(wr, e[i].k, e[i].kn, e[i].v, e[i].vn),
             STRATA_OK);
  CHECK_EQ(strata_table_writer_finish(wr, NULL), STRATA_OK);
  strata_table *t;
  CHECK_EQ(strata_table_open(path, &o, NULL, NULL, &t), STRATA_OK);
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  size_t i = 0, kn, vn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it), i++) {
    const void *k = strata_table_iter_key(it, &kn);
    const void *v = strata_table_iter_value(it, &vn);
    CHECK_MEM(k, kn, e[i].k, e[i].kn);
    CHECK_MEM(v, vn, e[i].v, e[i].vn);
  }
  CHECK_EQ(i, n);
  for (size_t j = 0; j < n; j++) {
    strata_table_iter_seek(it, e[j].k, e[j].kn);
    CHECK(strata_table_iter_valid(it));
    const void *k = strata_table_iter_key(it, &kn);
    CHECK_MEM(k, kn, e[j].k, e[j].kn);
    void *v;
    CHECK_EQ(strata_table_get(t, e[j].k, e[j].kn, &v, &vn), STRATA_OK);
    CHECK_MEM(v, vn, e[j].v, e[j].vn);
    free(v);
  }
  strata_table_iter_destroy(it);
  strata_table_close(t);
  for (size_t j = 0; j < n; j++) {
    free(e[j].k);
    free(e[j].v);
  }
  free(e);
}

/* Many threads on one table and one small shared block cache (so blocks are
 * evicted while other threads use them): every get and scan is exact. */
#include <pthread.h>

typedef struct reader_arg {
  strata_table *t; /* the shared table */
  ent *e;          /* the reference */
  int seed;        /* per-thread key choice */
  int errors;      /* mismatches seen */
} reader_arg;

static void *reader_main(void *p) {
  reader_arg *a = p;
  uint64_t x = (uint64_t)a->seed * 0x9e3779b97f4a7c15ull + 1;
  for (int i = 0; i < 3000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % NENT);
    void *v;
    size_t vn;
    if (strata_table_get(a->t, a->e[j].k, a->e[j].kn, &v, &vn) != STRATA_OK ||
        vn != a->e[j].vn || (vn && memcmp(v, a->e[j].v, vn) != 0))
      a->errors++;
    else
      free(v);
  }
  strata_table_iter *it;
  strata_table_iter_create(a->t, &it);
  size_t n = 0, kn;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it), n++) {
    const void *k = strata_table_iter_key(it, &kn);
    if (kn != a->e[n].kn || memcmp(k, a->e[n].k, kn) != 0) a->errors++;
  }
  if (n != NENT) a->errors++;
  strata_table_iter_destroy(it);
  return NULL;
}

TEST(table_concurrent_readers_shared_cache) {
  ent *e;
  const char *path = test_path("mt.ldb");
  build_damage_table(path, &e);
  strata_table_options o;
  strata_table_options_init(&o);
  o.cache = strata_block_cache_create(16 * 4096); /* a few blocks */
  strata_table *t;
  CHECK_EQ(strata_table_open(path, &o, NULL, NULL, &t), STRATA_OK);
  pthread_t th[4];
  reader_arg a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = (reader_arg){t, e, i + 1, 0};
    pthread_create(&th[i], NULL, reader_main, &a[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ(a[i].errors, 0);
  }
  strata_table_close(t);
  strata_block_cache_destroy(o.cache);
  free_ents(e, NENT);
}

/* Salvage cost: a 2 MiB table (the LSM's target file size) with its footer
 * destroyed is walked in near-linear time (a quadratic walk would take
 * hours here), and every entry comes back. */
#include <time.h>

TEST(table_salvage_cost_2mib) {
  strata_table_options o;
  strata_table_options_init(&o);
  const char *path = test_path("big.ldb");
  strata_table_writer *w;
  CHECK_EQ(strata_table_writer_open(path, &o, &w), STRATA_OK);
  enum { ENTRIES = 30000 };
  for (int i = 0; i < ENTRIES; i++) {
    char k[24], v[120];
    int kn = snprintf(k, sizeof k, "%016d", i);
    for (int j = 0; j < 110; j++)
      v[j] = (char)(j < 60 ? test_rand() : 'x');
    CHECK_EQ(strata_table_writer_add(w, k, (size_t)kn, v, 110), STRATA_OK);
  }
  uint64_t size;
  CHECK_EQ(strata_table_writer_finish(w, &size), STRATA_OK);
  CHECK(size > (2u << 20) - (256u << 10));
  size_t n;
  uint8_t *img = read_file(path, &n);
  memset(img + n - SST_FOOTER, 0, SST_FOOTER);
  write_file(path, img, n);
  free(img);
  o.policy = STRATA_RECOVERY_SKIP;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  strata_table *t;
  CHECK_EQ(strata_table_open(path, &o, NULL, NULL, &t), STRATA_OK);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("salvage of a %llu-byte table: %.3f s\n", (unsigned long long)size,
         secs);
  CHECK(secs < 60);
  CHECK(strata_table_salvaged(t));
  strata_table_iter *it;
  strata_table_iter_create(t, &it);
  int count = 0;
  for (strata_table_iter_seek_first(it); strata_table_iter_valid(it);
       strata_table_iter_next(it))
    count++;
  CHECK_EQ(count, ENTRIES);
  strata_table_iter_destroy(it);
  strata_table_close(t);
}
