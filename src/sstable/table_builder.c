/*
 * table_builder.c — writes a table in LevelDB's table format
 * (docs/formats/table.md):
 *   data blocks of about block_size bytes (before compression), each with
 *   its 5-byte trailer (type, masked CRC32C of contents + type); a filter
 *   block (LevelDB's bloom, one filter per 2 KiB of data offsets) named
 *   "filter.leveldb.BuiltinBloomFilter2" in the metaindex; the metaindex; the
 *   index block, whose keys are shortened separators (last key of block i <=
 *   separator < first key of block i+1) and values block handles; the footer.
 *
 * Invariants: keys strictly increase (checked); a block is compressed only if
 * that saves at least 1/8 of its bytes (as LevelDB); zstd is written only if
 * the options allow it. As in LevelDB, the metaindex and index blocks are
 * compressed like data blocks and the filter block never is, so that a
 * table strata writes from LevelDB's entries is LevelDB's table byte for
 * byte. The file is synced by finish.
 * There is no damage to handle here: this only writes.
 */
#include "sstable/table_builder.h"

#include <stdlib.h>
#include <string.h>

#include "sstable/block.h"
#include "sstable/bloom.h"
#include "sstable/compress.h"
#include "sstable/ikey.h"
#include "sstable/sst_format.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

struct strata_table_writer {
  env_file *file;          /* the output */
  char *path;              /* its path, for messages */
  strata_table_options o;  /* the options in force */
  sst_cmp cmp;             /* key ordering */
  uint64_t offset;         /* bytes written */
  sst_block_builder data;  /* the data block being filled */
  sst_block_builder index; /* the index block */
  filter_builder *filter;  /* NULL without a filter */
  sst_buf last;            /* last key added */
  uint64_t entries;        /* entries added */
  int pending_index;       /* 1: a data block was flushed, no index entry */
  sst_handle pending;      /* its handle */
  sst_buf scratch;         /* compression output */
  int status;              /* first failure; sticky */
};

int sst_builder_open(env *e, const char *path, const strata_table_options *o,
                     sst_builder **out) {
  *out = NULL;
  if (o->compression == STRATA_COMPRESSION_ZSTD && !o->allow_zstd)
    return st_error(STRATA_INVALID_ARGUMENT,
                    "%s: zstd tables cannot be read by LevelDB 1.23; set "
                    "allow_zstd to write one",
                    path);
  if ((unsigned)o->compression > STRATA_COMPRESSION_ZSTD)
    return st_error(STRATA_INVALID_ARGUMENT, "%s: unknown compression %d", path,
                    (int)o->compression);
  sst_builder *b = calloc(1, sizeof *b);
  if (!b || !(b->path = strdup(path))) {
    free(b);
    return st_error(STRATA_NO_MEMORY, "out of memory");
  }
  b->o = *o;
  if (b->o.block_size == 0) b->o.block_size = 4096;
  b->cmp = o->internal_keys ? SST_CMP_INTERNAL : SST_CMP_BYTEWISE;
  sst_block_builder_init(&b->data, o->restart_interval);
  sst_block_builder_init(&b->index, 1);
  if (o->bloom_bits_per_key > 0) {
    b->filter = malloc(sizeof *b->filter);
    if (!b->filter) {
      sst_builder_abandon(b);
      return st_error(STRATA_NO_MEMORY, "out of memory");
    }
    filter_builder_init(b->filter, o->bloom_bits_per_key);
  }
  int rc = env_open_append(e, path, ENV_CREATE | ENV_TRUNC, &b->file);
  if (rc) {
    sst_builder_abandon(b);
    return rc;
  }
  *out = b;
  return STRATA_OK;
}

static int oom(sst_builder *b) {
  return b->status = st_error(STRATA_NO_MEMORY, "out of memory");
}

/* Writes contents + trailer (compressing if asked and worthwhile). */
static int write_block(sst_builder *b, const uint8_t *c, size_t n, int type,
                       sst_handle *h) {
  if (type != SST_COMPRESS_NONE) {
    if (sst_compress(type, c, n, &b->scratch) == 0 &&
        b->scratch.len < n - n / 8) {
      c = b->scratch.data;
      n = b->scratch.len;
    } else {
      type = SST_COMPRESS_NONE;
    }
  }
  uint8_t trailer[SST_TRAILER];
  trailer[0] = (uint8_t)type;
  uint32_t crc = crc32c_extend(crc32c_value(c, n), trailer, 1);
  encode_fixed32(trailer + 1, crc32c_mask(crc));
  struct iovec iov[2] = {{(void *)c, n}, {trailer, SST_TRAILER}};
  int rc = env_appendv(b->file, iov, 2);
  if (rc) return b->status = rc;
  h->offset = b->offset;
  h->size = n;
  b->offset += n + SST_TRAILER;
  return STRATA_OK;
}

static int add_index_entry(sst_builder *b, const uint8_t *next, size_t nn) {
  if (next)
    ikey_separator(b->cmp, &b->last, next, nn);
  else
    ikey_successor(b->cmp, &b->last);
  uint8_t enc[SST_HANDLE_MAX];
  uint8_t *e = sst_handle_encode(enc, &b->pending);
  if (sst_block_builder_add(&b->index, b->last.data, b->last.len, enc,
                            (size_t)(e - enc)))
    return oom(b);
  b->pending_index = 0;
  return STRATA_OK;
}

static int flush(sst_builder *b) {
  if (b->data.entries == 0) return STRATA_OK;
  size_t n;
  const uint8_t *c = sst_block_builder_finish(&b->data, &n);
  if (!c) return oom(b);
  int rc = write_block(b, c, n, (int)b->o.compression, &b->pending);
  if (rc) return rc;
  sst_block_builder_reset(&b->data);
  b->pending_index = 1;
  if (b->filter && filter_builder_start(b->filter, b->offset)) return oom(b);
  return STRATA_OK;
}

int sst_builder_add(sst_builder *b, const void *k, size_t kn, const void *v,
                    size_t vn) {
  if (b->status) return b->status;
  if (b->entries && ikey_compare(b->cmp, b->last.data, b->last.len, k, kn) >= 0)
    return st_error(STRATA_INVALID_ARGUMENT, "%s: keys added out of order",
                    b->path);
  if (kn > UINT32_MAX / 2 || vn > UINT32_MAX / 2)
    return st_error(STRATA_INVALID_ARGUMENT, "%s: entry too large", b->path);
  if (b->pending_index && add_index_entry(b, k, kn)) return b->status;
  if (b->filter &&
      filter_builder_add(b->filter, k, ikey_filter_len(b->cmp, kn)))
    return oom(b);
  if (sst_buf_set(&b->last, k, kn) ||
      sst_block_builder_add(&b->data, k, kn, v, vn))
    return oom(b);
  b->entries++;
  if (sst_block_builder_size(&b->data) >= b->o.block_size) return flush(b);
  return STRATA_OK;
}

char *sst_builder_dir(const sst_builder *b) { return env_dirname(b->path); }

uint64_t sst_builder_entries(const sst_builder *b) { return b->entries; }

uint64_t sst_builder_file_size(const sst_builder *b) {
  return b->offset + sst_block_builder_size(&b->data);
}

int sst_builder_finish(sst_builder *b, uint64_t *file_size) {
  int rc = b->status ? b->status : flush(b);
  if (!rc && b->pending_index) rc = add_index_entry(b, NULL, 0);
  sst_handle fh = {0, 0}, mh, ih;
  sst_block_builder meta;
  sst_block_builder_init(&meta, 1);
  if (!rc && b->filter) {
    size_t n;
    const uint8_t *c = filter_builder_finish(b->filter, &n);
    rc = c ? write_block(b, c, n, SST_COMPRESS_NONE, &fh) : oom(b);
    if (!rc) {
      uint8_t enc[SST_HANDLE_MAX];
      uint8_t *e = sst_handle_encode(enc, &fh);
      if (sst_block_builder_add(&meta, SST_FILTER_META_KEY,
                                strlen(SST_FILTER_META_KEY), enc,
                                (size_t)(e - enc)))
        rc = oom(b);
    }
  }
  size_t n;
  const uint8_t *c;
  if (!rc) {
    c = sst_block_builder_finish(&meta, &n);
    rc = c ? write_block(b, c, n, (int)b->o.compression, &mh) : oom(b);
  }
  if (!rc) {
    c = sst_block_builder_finish(&b->index, &n);
    rc = c ? write_block(b, c, n, (int)b->o.compression, &ih) : oom(b);
  }
  sst_block_builder_free(&meta);
  if (!rc) {
    uint8_t foot[SST_FOOTER];
    sst_footer f = {mh, ih};
    sst_footer_encode(foot, &f);
    rc = env_append(b->file, foot, SST_FOOTER);
    b->offset += SST_FOOTER;
  }
  if (!rc) rc = env_fsync(b->file);
  if (!rc && file_size) *file_size = b->offset;
  int crc = env_close(b->file);
  b->file = NULL;
  if (!rc) rc = crc;
  sst_builder_abandon(b);
  return rc;
}

void sst_builder_abandon(sst_builder *b) {
  if (!b) return;
  env_close(b->file);
  sst_block_builder_free(&b->data);
  sst_block_builder_free(&b->index);
  if (b->filter) filter_builder_free(b->filter);
  free(b->filter);
  sst_buf_free(&b->last);
  sst_buf_free(&b->scratch);
  free(b->path);
  free(b);
}
