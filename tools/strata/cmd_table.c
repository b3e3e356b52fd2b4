/*
 * cmd_table.c — `strata dump` and `strata verify` for table files (*.ldb,
 * *.sst; LevelDB's table format), through strata_table_inspect: every block
 * is read with its checksum verified; a damaged footer or index makes the
 * library salvage the data blocks.
 *
 * dump, text (one item per line, tab-separated):
 *   footer<TAB>ok=yes|no<TAB>metaindex=OFFSET+SIZE<TAB>index=OFFSET+SIZE
 *   block<TAB>kind=K<TAB>offset=N<TAB>size=N<TAB>compression=none|snappy|zstd|N
 *        <TAB>checksum=ok|bad<TAB>entries=N
 *   entry<TAB>KEY<TAB>seq=N<TAB>type=put|del<TAB>VALUE   (internal keys)
 *   entry<TAB>KEY<TAB>VALUE                              (other keys)
 *   drop<TAB>block=K<TAB>offset=N<TAB>bytes=N<TAB>kind=K<TAB>after=KEY
 *        <TAB>upto=KEY<TAB>reason=R
 *   summary<TAB>file=F<TAB>blocks=N<TAB>entries=N<TAB>drops=N<TAB>dropped_bytes=N
 * Blocks come in file order, each data block followed by its entries. A key
 * is shown as an internal key (user key, sequence, type) when its last 8
 * bytes parse as one. With --json: {"file", "footer", "blocks": [...],
 * "records": [{"offset" (its block's), "length" (key + value bytes), "key",
 * "value", "sequence", "type"}], "drops": [...], "summary"}.
 *
 * verify uses cli_table_check (below) from cmd_verify.c, so tables are
 * reported like record logs, each region's reason naming the block kind and
 * the keys it covered.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct tdump {
  const cli_options *o;        /* hex, json */
  json_writer json;            /* with --json: the writer */
  uint64_t blocks;             /* blocks seen */
  uint64_t entries;            /* entries printed */
  strata_table_block_info *bv; /* with --json: the blocks, for later */
  size_t nb, capb;             /* blocks held, slots allocated */
  cli_drops drops;             /* damage, copied */
  cli_buf drop_ranges;         /* with --json: per drop "after\0upto\0" texts */
  int footer_ok;               /* footer callback: decoded */
  uint64_t fo[4];              /* metaindex offset/size, index offset/size */
} tdump;

static const char *compression_name(int c, char *buf, size_t n) {
  if (c == 0) return "none";
  if (c == 1) return "snappy";
  if (c == 2) return "zstd";
  snprintf(buf, n, "%d", c);
  return buf;
}

static void on_footer(void *arg, int ok, uint64_t mo, uint64_t ms, uint64_t io,
                      uint64_t is) {
  tdump *d = arg;
  d->footer_ok = ok;
  d->fo[0] = mo;
  d->fo[1] = ms;
  d->fo[2] = io;
  d->fo[3] = is;
  if (d->o->json) return;
  if (ok)
    printf("footer\tok=yes\tmetaindex=%" PRIu64 "+%" PRIu64 "\tindex=%" PRIu64
           "+%" PRIu64 "\n",
           mo, ms, io, is);
  else
    printf("footer\tok=no\n");
}

static void on_block(void *arg, const strata_table_block_info *b) {
  tdump *d = arg;
  d->blocks++;
  if (d->o->json) {
    if (d->nb == d->capb) {
      d->capb = d->capb ? d->capb * 2 : 16;
      d->bv = realloc(d->bv, d->capb * sizeof *d->bv);
      if (!d->bv) cli_out_of_memory();
    }
    d->bv[d->nb++] = *b;
    return;
  }
  char buf[16];
  printf("block\tkind=%s\toffset=%" PRIu64 "\tsize=%" PRIu64
         "\tcompression=%s\tchecksum=%s\tentries=%" PRIu64 "\n",
         b->kind, b->offset, b->size,
         compression_name(b->compression, buf, sizeof buf),
         b->checksum_ok ? "ok" : "bad", b->entries);
}

static void on_entry(void *arg, const strata_table_block_info *b,
                     const void *key, size_t kn, const void *value, size_t vn) {
  tdump *d = arg;
  size_t ul;
  uint64_t seq;
  int type;
  int internal = strata_internal_key_parse(key, kn, &ul, &seq, &type) == 0;
  d->entries++;
  if (d->o->json) {
    json_writer *w = &d->json;
    json_object_begin(w);
    json_key(w, "offset");
    json_uint(w, b->offset);
    json_key(w, "length");
    json_uint(w, kn + vn);
    json_key(w, "key");
    json_bytes(w, d->o->hex, key, internal ? ul : kn);
    if (internal) {
      json_key(w, "sequence");
      json_uint(w, seq);
      json_key(w, "type");
      json_str(w, type == 1 ? "put" : "del");
    }
    json_key(w, "value");
    json_bytes(w, d->o->hex, value, vn);
    json_object_end(w);
    return;
  }
  fputs("entry\t", stdout);
  cli_write_bytes(stdout, d->o->hex, 0, key, internal ? ul : kn);
  if (internal)
    printf("\tseq=%" PRIu64 "\ttype=%s", seq, type == 1 ? "put" : "del");
  putchar('\t');
  cli_write_bytes(stdout, d->o->hex, 0, value, vn);
  putchar('\n');
}

/* Writes a key of a damage range: the user key of an internal key (index
 * separators carry the maximum sequence, which says nothing), else the key. */
static void write_range_key(FILE *m, int hex, const void *k, size_t n) {
  size_t ul;
  uint64_t seq;
  int type;
  if (strata_internal_key_parse(k, n, &ul, &seq, &type) == 0) n = ul;
  cli_write_bytes(m, hex, 0, k, n);
}

/* The reason text of a table damage: block kind and key range (user keys
 * for internal-key tables), then the library's sentence. Caller frees. */
static char *damage_reason(const strata_table_damage *x, int hex) {
  char *text = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&text, &n);
  if (!m) cli_out_of_memory();
  fprintf(m, "%s block", x->block);
  if (x->after || x->upto) {
    fputs(", keys ", m);
    if (x->after) {
      fputs("after ", m);
      write_range_key(m, hex, x->after, x->after_len);
    }
    if (x->after && x->upto) fputs(" ", m);
    if (x->upto) {
      fputs("up to ", m);
      write_range_key(m, hex, x->upto, x->upto_len);
    }
  }
  fprintf(m, ": %s", x->damage.reason ? x->damage.reason : "");
  fclose(m);
  return text;
}

static void on_damage(void *arg, const strata_table_damage *x) {
  tdump *d = arg;
  char *reason = damage_reason(x, d->o ? d->o->hex : 0);
  strata_damage copy = x->damage;
  copy.reason = reason;
  cli_drops_collect(&d->drops, &copy);
  free(reason);
  if (d->o && d->o->json) {
    cli_buf_add(&d->drop_ranges, x->block, strlen(x->block) + 1);
    return;
  }
  if (!d->o) return;
  printf("drop\tblock=%s\toffset=%" PRIu64 "\tbytes=%" PRIu64 "\tkind=%s",
         x->block, x->damage.offset, x->damage.bytes,
         strata_damage_kind_name(x->damage.kind));
  fputs("\tafter=", stdout);
  if (x->after) cli_write_bytes(stdout, d->o->hex, 0, x->after, x->after_len);
  fputs("\tupto=", stdout);
  if (x->upto) cli_write_bytes(stdout, d->o->hex, 0, x->upto, x->upto_len);
  fputs("\treason=", stdout);
  cli_write_bytes(stdout, 0, 0, x->damage.reason, strlen(x->damage.reason));
  putchar('\n');
}

int cli_table_dump(const cli_options *o, const char *path) {
  tdump d;
  memset(&d, 0, sizeof d);
  d.o = o;
  json_init(&d.json, stdout);
  if (o->json) {
    json_object_begin(&d.json);
    json_key(&d.json, "file");
    json_str(&d.json, path);
    json_key(&d.json, "records");
    json_array_begin(&d.json);
  }
  strata_table_visitor v = {on_footer, on_block, on_entry, on_damage, &d};
  int st = strata_table_inspect(path, &v, NULL);
  if (o->json) {
    json_writer *w = &d.json;
    json_array_end(w);
    json_key(w, "footer");
    json_object_begin(w);
    json_key(w, "ok");
    json_bool(w, d.footer_ok);
    json_key(w, "metaindex_offset");
    json_uint(w, d.fo[0]);
    json_key(w, "metaindex_size");
    json_uint(w, d.fo[1]);
    json_key(w, "index_offset");
    json_uint(w, d.fo[2]);
    json_key(w, "index_size");
    json_uint(w, d.fo[3]);
    json_object_end(w);
    json_key(w, "blocks");
    json_array_begin(w);
    for (size_t i = 0; i < d.nb; i++) {
      char buf[16];
      json_object_begin(w);
      json_key(w, "kind");
      json_str(w, d.bv[i].kind);
      json_key(w, "offset");
      json_uint(w, d.bv[i].offset);
      json_key(w, "size");
      json_uint(w, d.bv[i].size);
      json_key(w, "compression");
      json_str(w, compression_name(d.bv[i].compression, buf, sizeof buf));
      json_key(w, "checksum_ok");
      json_bool(w, d.bv[i].checksum_ok);
      json_key(w, "entries");
      json_uint(w, d.bv[i].entries);
      json_object_end(w);
    }
    json_array_end(w);
    json_key(w, "drops");
    json_array_begin(w);
    const char *blk = d.drop_ranges.data;
    for (size_t i = 0; i < d.drops.n; i++) {
      json_object_begin(w);
      json_key(w, "block");
      json_str(w, blk ? blk : "");
      if (blk) blk += strlen(blk) + 1;
      json_key(w, "offset");
      json_uint(w, d.drops.v[i].offset);
      json_key(w, "bytes");
      json_uint(w, d.drops.v[i].bytes);
      json_key(w, "kind");
      json_str(w, strata_damage_kind_name(d.drops.v[i].kind));
      json_key(w, "reason");
      json_str(w, d.drops.v[i].reason);
      json_object_end(w);
    }
    json_array_end(w);
    json_key(w, "summary");
    json_object_begin(w);
    json_key(w, "blocks");
    json_uint(w, d.blocks);
    json_key(w, "entries");
    json_uint(w, d.entries);
    json_key(w, "drops");
    json_uint(w, d.drops.n);
    json_key(w, "dropped_bytes");
    json_uint(w, d.drops.bytes);
    json_object_end(w);
    json_key(w, "complete");
    json_bool(w, st == STRATA_OK);
    json_object_end(w);
    json_finish(w);
  } else {
    printf("summary\tfile=%s\tblocks=%" PRIu64 "\tentries=%" PRIu64
           "\tdrops=%zu\tdropped_bytes=%" PRIu64 "\n",
           path, d.blocks, d.entries, d.drops.n, d.drops.bytes);
  }
  free(d.bv);
  cli_buf_free(&d.drop_ranges);
  cli_drops_free(&d.drops);
  if (st != STRATA_OK) return cli_fail(st, path);
  return CLI_OK;
}

/* Counts intact entries of a table for verify. */
typedef struct tcheck {
  uint64_t entries; /* entries of intact data blocks */
} tcheck;

static void count_entry(void *arg, const strata_table_block_info *b,
                        const void *k, size_t kn, const void *v, size_t vn) {
  (void)b, (void)k, (void)kn, (void)v, (void)vn;
  ((tcheck *)arg)->entries++;
}

typedef struct tverify {
  tcheck c;         /* the count */
  cli_drops *drops; /* where damage goes */
} tverify;

static void count_entry_v(void *arg, const strata_table_block_info *b,
                          const void *k, size_t kn, const void *v, size_t vn) {
  count_entry(&((tverify *)arg)->c, b, k, kn, v, vn);
}

static void collect_damage(void *arg, const strata_table_damage *x) {
  tverify *t = arg;
  char *reason = damage_reason(x, 0);
  strata_damage copy = x->damage;
  copy.reason = reason;
  cli_drops_collect(t->drops, &copy);
  free(reason);
}

int cli_table_check(const char *path, cli_drops *drops, uint64_t *entries) {
  tverify t = {{0}, drops};
  strata_table_visitor v = {NULL, NULL, count_entry_v, collect_damage, &t};
  int st = strata_table_inspect(path, &v, NULL);
  *entries = t.c.entries;
  return st;
}
