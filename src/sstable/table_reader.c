/*
 * table_reader.c — reads a table in LevelDB's table format
 * (docs/formats/table.md): the 48-byte footer at the end gives the metaindex
 * and index handles; the metaindex may name the filter block
 * ("filter.leveldb.BuiltinBloomFilter2"); the index maps each data block's
 * separator key (>= every key in the block, < every key of the next) to its
 * handle. Every block ends with a 5-byte trailer: compression type and the
 * masked CRC32C of contents + type.
 *
 * Invariants: a block is used only after its CRC matched (unless the caller
 * turned verification off, LevelDB's default, which strata does not share)
 * and it uncompressed to a well-formed block; every handle is checked
 * against the file size before any read.
 *
 * Damage:
 *  - footer, metaindex or index unreadable: reported (block "footer",
 *    "metaindex" or "index"); under skip the table is salvaged: the whole
 *    file is read, its verified blocks found by salvage.c, and an in-memory
 *    index is built from the intact data blocks (their last keys); every gap
 *    between them is reported with the keys around it. Under the other
 *    policies open fails with STRATA_CORRUPTION.
 *  - a damaged filter block is reported and ignored (lookups then read the
 *    data block: slower, never wrong).
 *  - a damaged data block: get fails with STRATA_CORRUPTION naming the file
 *    and block offset; an iterator under skip reports the block (offset,
 *    bytes with trailer, and the index keys bounding it) and moves on; under
 *    the other policies it stops with STRATA_CORRUPTION.
 */
#include "sstable/table_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/block.h"
#include "sstable/bloom.h"
#include "sstable/cache.h"
#include "sstable/compress.h"
#include "sstable/salvage.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

struct strata_table {
  env_file *file;                   /* the table (NULL after salvage) */
  char *name;                       /* its path, for messages */
  uint64_t size;                    /* file size, bytes */
  strata_table_options o;           /* the options in force */
  sst_cmp cmp;                      /* key ordering */
  strata_table_damage_fn on_damage; /* damage reports, or NULL */
  void *arg;                        /* for on_damage */
  uint8_t *index;                   /* index block contents (owned) */
  size_t index_n;                   /* its bytes */
  uint8_t *filter;                  /* filter block contents, or NULL */
  filter_reader fr;                 /* reader over `filter` */
  uint8_t *img;                     /* whole file when salvaged, else NULL */
  int salvaged;                     /* 1: opened by salvage */
  uint64_t cache_id;                /* this table's keys in o.cache */
  int footer_ok;                    /* 1: the footer decoded */
  sst_footer footer;                /* it, when footer_ok */
};

static void report(sst_table *t, const char *block, uint64_t off,
                   uint64_t bytes, strata_damage_kind kind, const char *why,
                   const uint8_t *after, size_t an, const uint8_t *upto,
                   size_t un) {
  if (!t->on_damage) return;
  if (off > t->size) off = t->size; /* a handle may point past the end */
  if (bytes > t->size - off) bytes = t->size - off;
  strata_table_damage d;
  memset(&d, 0, sizeof d);
  d.damage.file = t->name;
  d.damage.offset = off;
  d.damage.bytes = bytes;
  d.damage.kind = kind;
  d.damage.reason = why;
  d.block = block;
  d.after = after;
  d.after_len = an;
  d.upto = upto;
  d.upto_len = un;
  t->on_damage(t->arg, &d);
}

int sst_read_block(env_file *f, const uint8_t *img, uint64_t file_size,
                   const char *name, sst_handle h, int verify, uint8_t **out,
                   size_t *n, strata_damage_kind *kind) {
  *out = NULL;
  *n = 0;
  *kind = STRATA_DAMAGE_TRUNCATED;
  if (h.offset > file_size || h.size > file_size - h.offset ||
      file_size - h.offset - h.size < SST_TRAILER)
    return ST_CORRUPT("%s: block at offset %llu (%llu bytes) extends past the "
                      "end of the file",
                      name, (unsigned long long)h.offset,
                      (unsigned long long)h.size);
  size_t len = (size_t)h.size + SST_TRAILER;
  uint8_t *raw = NULL;
  const uint8_t *p;
  if (img) {
    p = img + h.offset;
  } else {
    raw = malloc(len);
    if (!raw) return st_error(STRATA_NO_MEMORY, "out of memory");
    size_t got = 0;
    int rc = env_pread(f, h.offset, raw, len, &got);
    if (rc) {
      free(raw);
      return rc;
    }
    if (got != len) {
      free(raw);
      return ST_CORRUPT("%s: truncated block read at offset %llu", name,
                        (unsigned long long)h.offset);
    }
    p = raw;
  }
  int type = p[h.size];
  if (verify) {
    uint32_t want = crc32c_unmask(decode_fixed32(p + h.size + 1));
    if (crc32c_value(p, (size_t)h.size + 1) != want) {
      free(raw);
      *kind = STRATA_DAMAGE_CHECKSUM;
      return ST_CORRUPT("%s: checksum mismatch in block at offset %llu", name,
                        (unsigned long long)h.offset);
    }
  }
  int rc;
  if (type == SST_COMPRESS_NONE && raw) {
    *out = raw; /* contents are a prefix of raw */
    *n = (size_t)h.size;
    return STRATA_OK;
  }
  rc = sst_uncompress(type, p, (size_t)h.size, out, n, name, h.offset);
  if (rc == STRATA_CORRUPTION)
    *kind = type > SST_COMPRESS_ZSTD ? STRATA_DAMAGE_BAD_TYPE
                                     : STRATA_DAMAGE_BAD_LENGTH;
  free(raw);
  return rc;
}

/* A block for iteration: from the cache or freshly read. *hold is what to
 * hand to release_block. */
static int get_block(sst_table *t, sst_handle h, const uint8_t **data,
                     size_t *n, void **hold, strata_damage_kind *kind) {
  *hold = NULL;
  if (t->o.cache) {
    sst_cache_entry *e = sst_cache_lookup(t->o.cache, t->cache_id, h.offset);
    if (e) {
      *data = sst_cache_data(e, n);
      *hold = e;
      return STRATA_OK;
    }
  }
  uint8_t *buf;
  int rc = sst_read_block(t->file, t->img, t->size, t->name, h,
                          t->o.verify_checksums, &buf, n, kind);
  if (rc) return rc;
  if ((rc = sst_block_validate(buf, *n, t->cmp, t->name, h.offset)) !=
      STRATA_OK) {
    *kind = STRATA_DAMAGE_BAD_LENGTH;
    free(buf);
    return rc;
  }
  if (t->o.cache) {
    sst_cache_entry *e =
        sst_cache_insert(t->o.cache, t->cache_id, h.offset, buf, *n);
    if (!e) return st_error(STRATA_NO_MEMORY, "out of memory");
    *data = sst_cache_data(e, n);
    *hold = e;
    return STRATA_OK;
  }
  *data = buf;
  *hold = buf;
  return STRATA_OK;
}

static void release_block(sst_table *t, void *hold) {
  if (!hold) return;
  if (t->o.cache)
    sst_cache_release(t->o.cache, hold);
  else
    free(hold);
}

/* ---- open --------------------------------------------------------------- */

static int read_at(sst_table *t, uint64_t off, uint8_t *buf, size_t n,
                   size_t *got) {
  if (t->img) {
    *got = off >= t->size ? 0 : (size_t)(t->size - off < n ? t->size - off : n);
    if (*got) memcpy(buf, t->img + off, *got);
    return STRATA_OK;
  }
  return env_pread(t->file, off, buf, n, got);
}

static int read_meta(sst_table *t, sst_handle mh) {
  uint8_t *m;
  size_t n;
  strata_damage_kind kind;
  int rc =
      sst_read_block(t->file, t->img, t->size, t->name, mh, 1, &m, &n, &kind);
  if (rc == STRATA_OK)
    rc = sst_block_validate(m, n, SST_CMP_BYTEWISE, t->name, mh.offset);
  if (rc) {
    free(m);
    return rc;
  }
  sst_iter *it = sst_block_iter(m, n, 1, SST_CMP_BYTEWISE, t->name, mh.offset);
  if (!it) return st_error(STRATA_NO_MEMORY, "out of memory");
  const char *fk = SST_FILTER_META_KEY;
  sst_iter_seek(it, (const uint8_t *)fk, strlen(fk));
  size_t kn, vn;
  sst_handle fh;
  if (sst_iter_valid(it)) {
    const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
    if (kn == strlen(fk) && memcmp(k, fk, kn) == 0 &&
        sst_handle_decode(v, v + vn, &fh)) {
      uint8_t *f;
      size_t fn;
      if (sst_read_block(t->file, t->img, t->size, t->name, fh, 1, &f, &fn,
                         &kind) == STRATA_OK) {
        t->filter = f;
        filter_reader_init(&t->fr, f, fn);
      } else {
        report(t, "filter", fh.offset, fh.size + SST_TRAILER, kind,
               strata_last_error(), NULL, 0, NULL, 0);
      }
    }
  }
  rc = sst_iter_status(it);
  sst_iter_destroy(it);
  return rc;
}

/* Salvage: read the whole file, find the intact data blocks, index them. */
static int salvage(sst_table *t, uint64_t end) {
  sst_region *regs = NULL;
  size_t nregs = 0;
  int rc = sst_salvage_scan(t->img, (size_t)end, &regs, &nregs);
  if (rc) return rc;
  /* Classify: data blocks parse and are not index-like (every value a
   * handle of a region of this file). */
  int *is_data = calloc(nregs ? nregs : 1, sizeof *is_data);
  sst_buf *first = calloc(nregs ? nregs : 1, sizeof *first);
  sst_buf *lastk = calloc(nregs ? nregs : 1, sizeof *lastk);
  sst_block_builder ib;
  sst_block_builder_init(&ib, 1);
  if (!is_data || !first || !lastk) {
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < nregs; i++) {
    if (regs[i].type < 0) continue;
    sst_handle h = {regs[i].offset, regs[i].size};
    uint8_t *b;
    size_t n;
    strata_damage_kind kind;
    if (sst_read_block(NULL, t->img, t->size, t->name, h, 1, &b, &n, &kind))
      continue;
    /* Well-formed under either ordering (a table opened without knowing
     * its keys, as by strata_table_inspect, may hold internal keys). */
    if (sst_block_validate(b, n, t->cmp, t->name, h.offset) != STRATA_OK &&
        sst_block_validate(b, n, 1 - t->cmp, t->name, h.offset) != STRATA_OK) {
      free(b); /* verified bytes, but not a block: the filter, or junk */
      continue;
    }
    sst_iter *it = sst_block_iter(b, n, 1, t->cmp, t->name, h.offset);
    if (!it) continue;
    size_t entries = 0, handles = 0, kn, vn;
    for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
      const uint8_t *k = sst_iter_key(it, &kn), *v = sst_iter_value(it, &vn);
      if (entries == 0) sst_buf_set(&first[i], k, kn);
      sst_buf_set(&lastk[i], k, kn);
      entries++;
      sst_handle x;
      const uint8_t *e = sst_handle_decode(v, v + vn, &x);
      if (e == v + vn)
        for (size_t j = 0; j < nregs; j++)
          if (regs[j].offset == x.offset &&
              (regs[j].type >= 0 ? regs[j].size == x.size
                                 : x.size + SST_TRAILER <= regs[j].size)) {
            handles++;
            break;
          }
    }
    if (sst_iter_status(it) == STRATA_OK && entries > 0 && handles < entries)
      is_data[i] = 1;
    sst_iter_destroy(it);
  }
  /* Gaps: each run of regions between two data blocks that holds a gap. */
  const uint8_t *after = NULL;
  size_t an = 0;
  for (size_t i = 0; i < nregs; i++) {
    int known = t->footer_ok && (regs[i].offset == t->footer.index.offset ||
                                 regs[i].offset == t->footer.metaindex.offset);
    if (regs[i].type < 0 && !known) { /* index/metaindex: reported already */
      size_t j = i + 1;
      while (j < nregs && !is_data[j])
        j++;
      char why[160];
      snprintf(why, sizeof why,
               "%llu bytes at offset %llu hold no intact block: keys between "
               "the neighbouring intact blocks are lost",
               (unsigned long long)regs[i].size,
               (unsigned long long)regs[i].offset);
      report(t, "data", regs[i].offset, regs[i].size, STRATA_DAMAGE_CHECKSUM,
             why, after, an, j < nregs ? first[j].data : NULL,
             j < nregs ? first[j].len : 0);
    }
    if (is_data[i]) {
      after = lastk[i].data;
      an = lastk[i].len;
      uint8_t enc[SST_HANDLE_MAX];
      sst_handle h = {regs[i].offset, regs[i].size};
      uint8_t *e = sst_handle_encode(enc, &h);
      if (sst_block_builder_add(&ib, lastk[i].data, lastk[i].len, enc,
                                (size_t)(e - enc))) {
        rc = st_error(STRATA_NO_MEMORY, "out of memory");
        goto out;
      }
    }
  }
  size_t n;
  const uint8_t *c = sst_block_builder_finish(&ib, &n);
  if (!c || !(t->index = malloc(n))) {
    rc = st_error(STRATA_NO_MEMORY, "out of memory");
    goto out;
  }
  memcpy(t->index, c, n);
  t->index_n = n;
  t->salvaged = 1;
out:
  for (size_t i = 0; first && lastk && i < nregs; i++) {
    sst_buf_free(&first[i]);
    sst_buf_free(&lastk[i]);
  }
  free(first);
  free(lastk);
  free(is_data);
  free(regs);
  sst_block_builder_free(&ib);
  return rc;
}

static int open_salvage(sst_table *t, uint64_t end) {
  if (!t->img) {
    t->img = malloc(t->size ? t->size : 1);
    if (!t->img) return st_error(STRATA_NO_MEMORY, "out of memory");
    size_t got = 0;
    int rc = env_pread(t->file, 0, t->img, (size_t)t->size, &got);
    if (rc) return rc;
    if (got != t->size)
      return st_error(STRATA_IO_ERROR, "%s: short read while salvaging",
                      t->name);
  }
  free(t->filter);
  t->filter = NULL;
  memset(&t->fr, 0, sizeof t->fr);
  free(t->index);
  t->index = NULL;
  return salvage(t, end);
}

static int open_common(sst_table *t);

static sst_table *new_table(const char *path, const strata_table_options *o,
                            strata_table_damage_fn on_damage, void *arg) {
  sst_table *t = calloc(1, sizeof *t);
  if (!t || !(t->name = strdup(path))) {
    free(t);
    return NULL;
  }
  t->o = *o;
  t->cmp = o->internal_keys ? SST_CMP_INTERNAL : SST_CMP_BYTEWISE;
  t->on_damage = on_damage;
  t->arg = arg;
  if (o->cache) t->cache_id = sst_cache_new_id(o->cache);
  return t;
}

int sst_table_open(env *e, const char *path, const strata_table_options *o,
                   strata_table_damage_fn on_damage, void *arg,
                   sst_table **out) {
  *out = NULL;
  sst_table *t = new_table(path, o, on_damage, arg);
  if (!t) return st_error(STRATA_NO_MEMORY, "out of memory");
  int rc = env_open_read(e, path, &t->file);
  if (!rc) rc = env_file_size(t->file, &t->size);
  if (!rc) rc = open_common(t);
  if (rc) {
    sst_table_close(t);
    return rc;
  }
  *out = t;
  return STRATA_OK;
}

int sst_table_open_mem(const uint8_t *data, size_t size, const char *name,
                       const strata_table_options *o,
                       strata_table_damage_fn on_damage, void *arg,
                       sst_table **out) {
  *out = NULL;
  sst_table *t = new_table(name, o, on_damage, arg);
  if (!t || !(t->img = malloc(size ? size : 1))) {
    sst_table_close(t);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  if (size) memcpy(t->img, data, size);
  t->size = size;
  int rc = open_common(t);
  if (rc) {
    sst_table_close(t);
    return rc;
  }
  *out = t;
  return STRATA_OK;
}

static int open_common(sst_table *t) {
  const char *path = t->name;
  const strata_table_options *o = &t->o;
  int rc = STRATA_OK;
  /* Footer, then index, then metaindex (and its filter). */
  const char *what = "footer";
  uint64_t end = t->size, doff = 0, dbytes = t->size;
  strata_damage_kind kind = STRATA_DAMAGE_TRUNCATED;
  sst_footer f;
  uint8_t foot[SST_FOOTER];
  size_t got = 0;
  if (t->size < SST_FOOTER) {
    rc = ST_CORRUPT("%s: file too short to be a table (%llu bytes)", path,
                    (unsigned long long)t->size);
  } else if (!(rc = read_at(t, t->size - SST_FOOTER, foot, SST_FOOTER, &got)) &&
             got == SST_FOOTER) {
    doff = t->size - SST_FOOTER;
    dbytes = SST_FOOTER;
    kind = STRATA_DAMAGE_CHECKSUM;
    rc = sst_footer_decode(foot, path, &f);
    if (rc == STRATA_OK) {
      t->footer_ok = 1;
      t->footer = f;
    }
    if (decode_fixed64(foot + 40) == SST_MAGIC) end = t->size - SST_FOOTER;
  }
  if (rc == STRATA_OK) {
    what = "index";
    doff = f.index.offset;
    dbytes = f.index.size + SST_TRAILER;
    rc = sst_read_block(t->file, t->img, t->size, path, f.index, 1, &t->index,
                        &t->index_n, &kind);
    if (rc == STRATA_OK &&
        (rc = sst_block_validate(t->index, t->index_n, t->cmp, path,
                                 f.index.offset)))
      kind = STRATA_DAMAGE_BAD_LENGTH;
  }
  if (rc == STRATA_OK) {
    what = "metaindex";
    doff = f.metaindex.offset;
    dbytes = f.metaindex.size + SST_TRAILER;
    rc = read_meta(t, f.metaindex);
    if (rc == STRATA_CORRUPTION) kind = STRATA_DAMAGE_CHECKSUM;
  }
  if (rc == STRATA_CORRUPTION) {
    char why[512];
    snprintf(why, sizeof why, "%s", strata_last_error());
    report(t, what, doff, dbytes, kind, why, NULL, 0, NULL, 0);
    if (o->policy == STRATA_RECOVERY_SKIP) {
      rc = open_salvage(t, end);
    } else {
      rc = st_error(STRATA_CORRUPTION, "%s", why);
    }
  }
  return rc;
}

void sst_table_close(sst_table *t) {
  if (!t) return;
  env_close(t->file);
  free(t->index);
  free(t->filter);
  free(t->img);
  free(t->name);
  free(t);
}

sst_cmp sst_table_cmp(const sst_table *t) { return t->cmp; }
const char *sst_table_name(const sst_table *t) { return t->name; }
int sst_table_is_salvaged(const sst_table *t) { return t->salvaged; }
uint64_t sst_table_file_size(const sst_table *t) { return t->size; }

/* ---- the two-level iterator --------------------------------------------- */

typedef struct table_iter {
  sst_iter base;     /* interface */
  sst_table *t;      /* the table */
  sst_iter *index;   /* over t->index */
  sst_iter *data;    /* current data block, or NULL */
  void *hold;        /* what keeps data's bytes alive */
  uint64_t data_off; /* offset of the current data block */
  uint64_t reported; /* offset+1 of the last damaged block reported */
  int status;        /* sticky failure */
} table_iter;

static void set_data(table_iter *ti, sst_iter *data, void *hold) {
  sst_iter_destroy(ti->data);
  release_block(ti->t, ti->hold);
  ti->data = data;
  ti->hold = hold;
}

/* Reports the block under the index iterator as damaged (skip), or makes
 * the iterator fail. */
static void block_damage(table_iter *ti, sst_handle h, strata_damage_kind kind,
                         int rc) {
  sst_table *t = ti->t;
  if (t->o.policy != STRATA_RECOVERY_SKIP) {
    ti->status = rc;
    return;
  }
  if (ti->reported == h.offset + 1) return;
  ti->reported = h.offset + 1;
  char why[512];
  snprintf(why, sizeof why, "%s", strata_last_error());
  size_t kn, an = 0;
  const uint8_t *k = sst_iter_key(ti->index, &kn);
  sst_buf upto = {0}, after = {0};
  sst_buf_set(&upto, k, kn);
  sst_iter *tmp = sst_block_iter(t->index, t->index_n, 0, t->cmp, t->name, 0);
  if (tmp) {
    sst_iter_seek(tmp, upto.data, upto.len);
    if (sst_iter_valid(tmp)) sst_iter_prev(tmp);
    if (sst_iter_valid(tmp)) {
      const uint8_t *a = sst_iter_key(tmp, &an);
      sst_buf_set(&after, a, an);
    }
    sst_iter_destroy(tmp);
  }
  report(t, "data", h.offset, h.size + SST_TRAILER, kind, why,
         after.len || an ? after.data : NULL, after.len, upto.data, upto.len);
  sst_buf_free(&upto);
  sst_buf_free(&after);
}

static void init_data(table_iter *ti) {
  if (!sst_iter_valid(ti->index)) {
    if (sst_iter_status(ti->index)) ti->status = sst_iter_status(ti->index);
    set_data(ti, NULL, NULL);
    return;
  }
  size_t vn;
  const uint8_t *v = sst_iter_value(ti->index, &vn);
  sst_handle h;
  if (!sst_handle_decode(v, v + vn, &h)) {
    set_data(ti, NULL, NULL);
    ti->status = ST_CORRUPT("%s: bad block handle in index", ti->t->name);
    return;
  }
  if (ti->data && ti->data_off == h.offset) return;
  const uint8_t *d;
  size_t n;
  void *hold;
  strata_damage_kind kind = STRATA_DAMAGE_CHECKSUM;
  set_data(ti, NULL, NULL);
  int rc = get_block(ti->t, h, &d, &n, &hold, &kind);
  if (rc) {
    if (rc == STRATA_CORRUPTION)
      block_damage(ti, h, kind, rc);
    else
      ti->status = rc;
    return;
  }
  sst_iter *it = sst_block_iter(d, n, 0, ti->t->cmp, ti->t->name, h.offset);
  if (!it) {
    release_block(ti->t, hold);
    ti->status = st_error(STRATA_NO_MEMORY, "out of memory");
    return;
  }
  set_data(ti, it, hold);
  ti->data_off = h.offset;
}

/* A data block whose entries fail to parse after its checksum matched. */
static int data_broken(table_iter *ti) {
  if (!ti->data || sst_iter_status(ti->data) == STRATA_OK) return 0;
  int rc = sst_iter_status(ti->data);
  size_t vn;
  const uint8_t *v = sst_iter_value(ti->index, &vn);
  sst_handle h = {ti->data_off, 0};
  sst_handle_decode(v, v + vn, &h);
  set_data(ti, NULL, NULL);
  block_damage(ti, h, STRATA_DAMAGE_BAD_LENGTH, rc);
  return 1;
}

/* Moves past empty or damaged data blocks (each damaged one is reported by
 * data_broken) in the direction given: forward onto the first entry of the
 * next usable block, or backward onto the last entry of the previous one. */
static void skip_blocks(table_iter *ti, int backward) {
  while (!ti->status && (!ti->data || !sst_iter_valid(ti->data))) {
    data_broken(ti);
    if (ti->status) break;
    if (!sst_iter_valid(ti->index)) {
      if (sst_iter_status(ti->index)) ti->status = sst_iter_status(ti->index);
      set_data(ti, NULL, NULL);
      return;
    }
    if (backward)
      sst_iter_prev(ti->index);
    else
      sst_iter_next(ti->index);
    init_data(ti);
    if (!ti->data) continue;
    if (backward)
      sst_iter_seek_last(ti->data);
    else
      sst_iter_seek_first(ti->data);
  }
}

static void skip_forward(table_iter *ti) { skip_blocks(ti, 0); }
static void skip_backward(table_iter *ti) { skip_blocks(ti, 1); }

static int ti_valid(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  return !ti->status && ti->data && sst_iter_valid(ti->data);
}

static void ti_first(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  if (ti->status) return;
  sst_iter_seek_first(ti->index);
  init_data(ti);
  if (ti->data) sst_iter_seek_first(ti->data);
  skip_forward(ti);
}

static void ti_last(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  if (ti->status) return;
  sst_iter_seek_last(ti->index);
  init_data(ti);
  if (ti->data) sst_iter_seek_last(ti->data);
  skip_backward(ti);
}

static void ti_seek(sst_iter *it, const uint8_t *k, size_t n) {
  table_iter *ti = (table_iter *)it;
  if (ti->status) return;
  sst_iter_seek(ti->index, k, n);
  init_data(ti);
  if (ti->data) sst_iter_seek(ti->data, k, n);
  skip_forward(ti);
}

static void ti_next(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  if (!ti_valid(it)) return;
  sst_iter_next(ti->data);
  skip_forward(ti);
}

static void ti_prev(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  if (!ti_valid(it)) return;
  sst_iter_prev(ti->data);
  skip_backward(ti);
}

static const uint8_t *ti_key(sst_iter *it, size_t *n) {
  return sst_iter_key(((table_iter *)it)->data, n);
}
static const uint8_t *ti_value(sst_iter *it, size_t *n) {
  return sst_iter_value(((table_iter *)it)->data, n);
}
static int ti_status(sst_iter *it) { return ((table_iter *)it)->status; }

static void ti_destroy(sst_iter *it) {
  table_iter *ti = (table_iter *)it;
  set_data(ti, NULL, NULL);
  sst_iter_destroy(ti->index);
  free(ti);
}

static const sst_iter_ops table_ops = {ti_valid,  ti_first,  ti_last, ti_seek,
                                       ti_next,   ti_prev,   ti_key,  ti_value,
                                       ti_status, ti_destroy};

sst_iter *sst_table_iter(sst_table *t) {
  table_iter *ti = calloc(1, sizeof *ti);
  if (!ti) return NULL;
  ti->base.ops = &table_ops;
  ti->t = t;
  ti->index = sst_block_iter(t->index, t->index_n, 0, t->cmp, t->name, 0);
  if (!ti->index) {
    free(ti);
    return NULL;
  }
  return &ti->base;
}

/* ---- point lookups ------------------------------------------------------ */

/* Finds the first entry >= k in the one block the index names. */
static int lookup(sst_table *t, const uint8_t *k, size_t n, const uint8_t *user,
                  size_t un, uint8_t **key, size_t *kn, uint8_t **value,
                  size_t *vn) {
  sst_buf scratch = {0};
  const uint8_t *ik, *iv;
  size_t ikn, ivn;
  int f = sst_block_find(t->index, t->index_n, t->cmp, k, n, &scratch, &ik,
                         &ikn, &iv, &ivn, t->name, 0);
  sst_handle h;
  int rc = STRATA_NOT_FOUND;
  if (f < 0)
    rc = f == -STRATA_NO_MEMORY ? st_error(STRATA_NO_MEMORY, "out of memory")
                                : STRATA_CORRUPTION;
  else if (f == 1 && !sst_handle_decode(iv, iv + ivn, &h))
    rc = ST_CORRUPT("%s: bad block handle in index", t->name);
  if (f != 1 || rc != STRATA_NOT_FOUND) {
    sst_buf_free(&scratch);
    return rc;
  }
  if (t->filter && !filter_reader_may_match(&t->fr, h.offset, user, un)) {
    sst_buf_free(&scratch);
    return STRATA_NOT_FOUND;
  }
  const uint8_t *d;
  size_t dn;
  void *hold;
  strata_damage_kind kind;
  rc = get_block(t, h, &d, &dn, &hold, &kind);
  if (rc) {
    sst_buf_free(&scratch);
    return rc;
  }
  const uint8_t *fkey, *fval;
  size_t fk, fv;
  f = sst_block_find(d, dn, t->cmp, k, n, &scratch, &fkey, &fk, &fval, &fv,
                     t->name, h.offset);
  rc = f == -STRATA_NO_MEMORY ? st_error(STRATA_NO_MEMORY, "out of memory")
       : f < 0                ? STRATA_CORRUPTION
                              : STRATA_NOT_FOUND;
  if (f == 1 && ikey_filter_len(t->cmp, fk) == un &&
      (un == 0 || memcmp(fkey, user, un) == 0)) {
    *key = malloc(fk ? fk : 1);
    *value = malloc(fv ? fv : 1);
    if (!*key || !*value) {
      free(*key);
      free(*value);
      *key = *value = NULL;
      rc = st_error(STRATA_NO_MEMORY, "out of memory");
    } else {
      if (fk) memcpy(*key, fkey, fk);
      if (fv) memcpy(*value, fval, fv);
      *kn = fk;
      *vn = fv;
      rc = STRATA_OK;
    }
  }
  release_block(t, hold);
  sst_buf_free(&scratch);
  return rc;
}

int sst_table_get_internal(sst_table *t, const uint8_t *ikey, size_t n,
                           uint8_t **key, size_t *kn, uint8_t **value,
                           size_t *vn) {
  *key = *value = NULL;
  size_t un = ikey_filter_len(t->cmp, n);
  return lookup(t, ikey, n, ikey, un, key, kn, value, vn);
}

int sst_table_get(sst_table *t, const uint8_t *k, size_t n, uint8_t **value,
                  size_t *vn) {
  *value = NULL;
  *vn = 0;
  uint8_t *key = NULL;
  size_t kn;
  int rc;
  if (t->cmp == SST_CMP_BYTEWISE) {
    rc = lookup(t, k, n, k, n, &key, &kn, value, vn);
  } else {
    sst_buf target = {0};
    if (ikey_append(&target, k, n, IKEY_MAX_SEQUENCE, IKEY_SEEK_TYPE)) {
      sst_buf_free(&target);
      return st_error(STRATA_NO_MEMORY, "out of memory");
    }
    rc = lookup(t, target.data, target.len, k, n, &key, &kn, value, vn);
    sst_buf_free(&target);
    size_t ul;
    uint64_t seq;
    int type;
    if (rc == STRATA_OK &&
        (ikey_parse(key, kn, &ul, &seq, &type) || type == IKEY_DELETION)) {
      free(*value);
      *value = NULL;
      *vn = 0;
      rc = STRATA_NOT_FOUND;
    }
  }
  free(key);
  return rc;
}

void sst_table_index_block(const sst_table *t, const uint8_t **data,
                           size_t *n) {
  *data = t->index;
  *n = t->index_n;
}

int sst_table_footer(const sst_table *t, sst_footer *f) {
  if (t->footer_ok) *f = t->footer;
  return t->footer_ok;
}

int sst_table_read(sst_table *t, sst_handle h, uint8_t **out, size_t *n,
                   strata_damage_kind *kind, int *type) {
  *type = -1;
  if (h.offset <= t->size && h.size < t->size - h.offset) {
    uint8_t b;
    size_t got = 0;
    if (t->img)
      *type = t->img[h.offset + h.size];
    else if (env_pread(t->file, h.offset + h.size, &b, 1, &got) == STRATA_OK &&
             got == 1)
      *type = b;
  }
  return sst_read_block(t->file, t->img, t->size, t->name, h, 1, out, n, kind);
}
